"""``safethird law check``: the law data must be sourced, dated in order, and well-formed.

Errors (the check fails): a fact without a source or citing an unknown source, dates out of
order, an unknown country or state code, a rule clause without a citation, a country missing from
the treaty table. Warnings (reported, not failing): facts marked ``to_verify``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from pydantic import BaseModel

from safethird.facts import country_codes
from safethird.law.circuits import STATE_CIRCUIT
from safethird.law.data import INSTRUMENTS, DatedFact, Law, Sourced
from safethird.logic.expr import Clause


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _sourced(law: Law, r: Report, where: str, fact: Sourced) -> None:
    for s in fact.sources:
        if s not in law.sources:
            r.errors.append(f"{where}: cites unknown source {s!r}")
    if fact.confidence == "to_verify":
        r.warnings.append(f"{where}: to verify — {fact.note or '(no note)'}")
    r.counts["facts"] = r.counts.get("facts", 0) + 1


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def _check_agreements(law: Law, r: Report) -> None:
    codes = country_codes()
    for a in law.agreements:
        w = f"agreements/{a.id}"
        if a.partner not in codes:
            r.errors.append(f"{w}: partner {a.partner!r} is not an ISO 3166-1 alpha-2 code")
        for name in ("signed", "entry_into_force", "suspended", "terminated"):
            f: DatedFact = getattr(a, name)
            _sourced(law, r, f"{w}.{name}", f)
            if isinstance(f.date, str):
                parts = f.date.split("-")
                if not (len(parts) in (1, 2) and all(p.isdigit() for p in parts)):
                    r.errors.append(f"{w}.{name}: {f.date!r} is not a date, YYYY-MM or YYYY")
        _sourced(law, r, f"{w}.applies_to_arrivals", a.applies_to_arrivals)
        signed, start = _date(a.signed.date), a.applies_to_arrivals.from_
        eif = _date(a.entry_into_force.date)
        if signed and eif and eif < signed:
            r.errors.append(f"{w}: entry into force {eif} before signature {signed}")
        if signed and start < signed and not a.applies_to_arrivals.pending_cases:
            r.errors.append(f"{w}: applies to arrivals from {start}, before signature {signed}")
        end = a.in_force_until
        if end and end <= start:
            r.errors.append(f"{w}: suspended {end} before it applied {start}")
        if not a.operation and not a.operation_sources:
            r.errors.append(f"{w}: no operation and no source saying it was never operated")
        for s in a.operation_sources:
            if s not in law.sources:
                r.errors.append(f"{w}.operation_sources: unknown source {s!r}")
        for i, p in enumerate(a.operation):
            pw = f"{w}.operation[{i}]"
            _sourced(law, r, pw, p)
            if p.until is not None and p.until <= p.from_:
                r.errors.append(f"{pw}: until {p.until} is not after from {p.from_}")
            if p.from_ < start:
                r.errors.append(f"{pw}: operated from {p.from_}, before it applied ({start})")
            if end and (p.until is None or p.until > end):
                r.errors.append(f"{pw}: operated past the suspension {end}")
            for c in p.nationalities or ():
                if c not in codes:
                    r.errors.append(f"{pw}: unknown country code {c!r}")
            for st in p.arrival_states or ():
                if st not in STATE_CIRCUIT:
                    r.errors.append(f"{pw}: unknown state {st!r}")
            if p.sectors is not None and p.borders is not None \
                    and "southern_land" not in p.borders:
                r.errors.append(f"{pw}: Border Patrol sectors, but not the southern land border")
        for part in (a.legal_status, a.nationality_scope, *a.limits):
            if part is not None:
                _sourced(law, r, f"{w}.{type(part).__name__}", part)
        for c in (*a.nationality_scope.covered, *a.nationality_scope.uncertain) \
                if a.nationality_scope else ():
            if c not in codes:
                r.errors.append(f"{w}.nationality_scope: unknown country code {c!r}")
        for e in a.exceptions:
            _sourced(law, r, f"{w}.exceptions.{e.id}", e)
            if not e.citation.strip():
                r.errors.append(f"{w}.exceptions.{e.id}: no citation")


def _check_transit_bar(law: Law, r: Report) -> None:
    tb = law.transit_bar
    _sourced(law, r, "transit-bar.applies_to_entries", tb.applies_to_entries)
    versions = sorted(tb.versions, key=lambda v: v.from_)
    for v in versions:
        _sourced(law, r, f"transit-bar.versions.{v.id}", v)
        if v.until is not None and v.until <= v.from_:
            r.errors.append(f"transit-bar.versions.{v.id}: ends before it starts")
    for a, b in itertools.pairwise(versions):
        if a.until is None or a.until > b.from_:
            r.errors.append(f"transit-bar.versions: {a.id} overlaps {b.id}")
    ids = {v.id for v in tb.versions}
    for v in tb.vacated:
        _sourced(law, r, f"transit-bar.vacated.{v.version}", v)
        if v.version not in ids:
            r.errors.append(f"transit-bar.vacated: unknown version {v.version!r}")
    for o in tb.court_orders:
        w = f"transit-bar.court_orders.{o.id}"
        _sourced(law, r, w, o)
        if o.version not in ids:
            r.errors.append(f"{w}: unknown version {o.version!r}")
        if o.until is not None and o.until <= o.from_:
            r.errors.append(f"{w}: until {o.until} is not after from {o.from_}")
        version = next((v for v in tb.versions if v.id == o.version), None)
        if version and (o.from_ < version.from_):
            r.errors.append(f"{w}: starts before its rule version took effect")
        for i, stay in enumerate(o.stayed):
            _sourced(law, r, f"{w}.stayed[{i}]", stay)
            if stay.until is not None and stay.until <= stay.from_:
                r.errors.append(f"{w}.stayed[{i}]: until {stay.until} is not after {stay.from_}")
            if stay.from_ < o.from_ or (o.until is not None and stay.from_ >= o.until):
                r.errors.append(f"{w}.stayed[{i}]: starts outside the order's window")
        circuits = set(STATE_CIRCUIT.values())
        for c in o.scope.circuits:
            if c not in circuits:
                r.errors.append(f"{w}: unknown circuit {c!r}")
    for m in tb.remedies:
        _sourced(law, r, f"transit-bar.remedies.{m.id}", m)
    for q in tb.open_questions:
        _sourced(law, r, f"transit-bar.open_questions.{q.id}", q)
        r.warnings.append(f"transit-bar.open_questions.{q.id}: open — {q.text}")


def _check_visas(law: Law, r: Report) -> None:
    """Every exemption sourced, on known country codes, inside the data's own window, and no
    nationality exempt twice at once (two readings of one day)."""
    v = law.visas
    if v is None:
        r.errors.append("visa-exemptions.yaml: missing (the nationalities not required to obtain "
                        "a visa, read by the agreements' document exception)")
        return
    codes = country_codes()
    _sourced(law, r, "visa-exemptions.covers", v.covers)
    _sourced(law, r, "visa-exemptions.program_excluded_nationalities",
             v.program_excluded_nationalities)
    listed = [*v.program_excluded_nationalities.nationalities]
    for e in v.exemptions:
        w = f"visa-exemptions.{e.id}"
        _sourced(law, r, w, e)
        listed += e.nationalities
        if not e.citation.strip():
            r.errors.append(f"{w}: no citation")
        if e.from_ < v.covers.from_:
            r.errors.append(f"{w}: from {e.from_}, before the data's first day {v.covers.from_}")
        if e.until is not None and e.until <= e.from_:
            r.errors.append(f"{w}: until {e.until} is not after from {e.from_}")
        if e.designated is not None and e.designated > e.from_:
            r.errors.append(f"{w}: applies from {e.from_}, before its designation {e.designated}")
    for a, b in itertools.combinations(v.exemptions, 2):
        both = set(a.nationalities) & set(b.nationalities)
        a_end, b_end = a.until or dt.date.max, b.until or dt.date.max
        if both and a.from_ < b_end and b.from_ < a_end:
            r.errors.append(f"visa-exemptions: {sorted(both)} in both {a.id} and {b.id} at once")
    for d in v.not_implemented:
        w = f"visa-exemptions.not_implemented.{d.id}"
        _sourced(law, r, w, d)
        listed += d.nationalities
        if d.rescinded is not None and d.rescinded < d.designated:
            r.errors.append(f"{w}: rescinded {d.rescinded} before its designation {d.designated}")
    for c in dict.fromkeys(listed):
        if c not in codes:
            r.errors.append(f"visa-exemptions: unknown country code {c!r}")
    r.counts["visa_exemptions"] = len(v.exemptions)


def _check_geography(law: Law, r: Report) -> None:
    from safethird.law.geography import geography

    for name, f in geography().sectors.items():
        _sourced(law, r, f"geography.sectors.{name}", f)
        for st in f.states:
            if st not in STATE_CIRCUIT:
                r.errors.append(f"geography.sectors.{name}: unknown state {st!r}")


def _check_countries(law: Law, r: Report) -> None:
    codes = country_codes()
    if not law.countries:
        r.errors.append("countries.csv: missing")
        return
    for code in sorted(codes - set(law.countries)):
        r.errors.append(f"countries.csv: ISO 3166-1 country {code} has no row")
    for code, c in law.countries.items():
        w = f"countries.csv {code}"
        if code not in codes:
            r.errors.append(f"{w}: not an ISO 3166-1 alpha-2 code")
        if c.sovereign and c.sovereign not in codes:
            r.errors.append(f"{w}: sovereign {c.sovereign!r} unknown")
        for inst in INSTRUMENTS:
            t = c.treaties[inst]
            try:
                t.deposit_bounds()
            except LookupError:
                r.counts["treaty_unknown"] = r.counts.get("treaty_unknown", 0) + 1
                continue
            except ValueError:
                r.errors.append(f"{w}: {inst} {t.value!r} is not a date, 'none' or 'unknown'")
                continue
            r.counts["treaty_facts"] = r.counts.get("treaty_facts", 0) + 1
            if not t.sources:
                r.errors.append(f"{w}: {inst} = {t.value} has no source")
            for s in t.sources:
                if s not in law.sources:
                    r.errors.append(f"{w}: {inst} cites unknown source {s!r}")


def _check_rules(law: Law, r: Report) -> None:
    from safethird.decide import rules
    from safethird.law.variants import VARIANTS

    for variant in [None, *VARIANTS]:
        tree = rules(variant, law)
        for node in tree.nodes.values():
            for n in node.walk():
                if isinstance(n, Clause) and not n.citation.strip():
                    r.errors.append(f"rule clause {n.id}: no citation")
    r.counts["clauses"] = len({n.id for node in rules(None, law).nodes.values()
                               for n in node.walk() if isinstance(n, Clause)})


def _dates(obj: object, where: str) -> list[tuple[str, dt.date]]:
    """Every date in a piece of law data, with where it sits."""
    if isinstance(obj, dt.date):
        return [(where, obj)]
    if isinstance(obj, BaseModel):
        return [d for name in type(obj).model_fields
                for d in _dates(getattr(obj, name), f"{where}.{name}")]
    if isinstance(obj, tuple | list):
        return [d for i, x in enumerate(obj)
                for d in _dates(x, f"{where}.{getattr(x, 'id', None) or f'[{i}]'}")]
    return []


def _check_not_encoded(law: Law, r: Report) -> None:
    """The warnings' data is sourced, and no fact is dated after the law horizon (the date the
    law data was last reviewed: a later fact means the horizon was not moved with it)."""
    ne = law.not_encoded
    if ne is None:
        r.errors.append("rules/not-encoded.yaml: missing (the law horizon and the measures the "
                        "engine does not decide)")
        return
    _sourced(law, r, "not-encoded.horizon", ne.horizon)
    for m in ne.measures:
        w = f"not-encoded.{m.id}"
        _sourced(law, r, w, m)
        if m.until is not None and m.until <= m.from_:
            r.errors.append(f"{w}: until {m.until} is not after from {m.from_}")
    horizon = ne.horizon.reviewed_through
    items: list[tuple[str, object]] = [(f"agreements/{a.id}", a) for a in law.agreements]
    items += [("transit-bar", law.transit_bar), ("not-encoded", ne.measures)]
    if law.visas is not None:
        items.append(("visa-exemptions", law.visas))
    if law.clp is not None:
        items.append(("clp", law.clp))
        for part in (law.clp.effective, law.clp.entries, law.clp.continuing_effect,
                     *law.clp.vacated, *law.clp.litigation):
            _sourced(law, r, f"clp.{getattr(part, 'id', type(part).__name__)}", part)
    for where, obj in items:
        for path, day in _dates(obj, where):
            if day > horizon:
                r.errors.append(f"{path}: dated {day}, after the law horizon {horizon} "
                                f"(rules/not-encoded.yaml horizon.reviewed_through)")


def check(law: Law) -> Report:
    r = Report()
    for sid, s in law.sources.items():
        if not s.url.strip():
            r.errors.append(f"source {sid}: no url")
    _check_agreements(law, r)
    _check_transit_bar(law, r)
    _check_geography(law, r)
    _check_visas(law, r)
    _check_countries(law, r)
    _check_not_encoded(law, r)
    _check_rules(law, r)
    r.counts["sources"] = len(law.sources)
    return r
