"""Law data: agreements, the transit-bar timeline and treaty status, loaded and typed.

The YAML/CSV files under ``law/data`` are the law as data; this module reads them into typed
objects (pydantic, strict: a misspelt key or a malformed date is an error naming the file) and
derives what the rules look up, e.g. the dates from which a country was a party to a treaty.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from safethird import yamltext

Confidence = Literal["checked", "secondary", "to_verify"]
# how strong the source of a fact is (shared/law digests): an instrument, court or agency text;
# a major outlet or analysis that tracks it; a single low-quality page
Strength = Literal["primary", "secondary", "weak"]
Border = Literal["southern_land", "northern_land", "air", "sea"]
Instrument = Literal["refugee_convention", "refugee_protocol", "torture_convention"]
INSTRUMENTS: tuple[Instrument, ...] = ("refugee_convention", "refugee_protocol",
                                       "torture_convention")
NEVER = dt.date.max  # a country never party: party from "the end of time"
EARLIEST = dt.date.min


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(_Model):
    title: str
    url: str
    kind: Strength
    read: str | None = None
    note: str | None = None
    status_date: str | dt.date | None = None
    # a file in a public repository, pinned to a commit
    repo: str | None = None
    path: str | None = None
    commit: str | None = None


class Sourced(_Model):
    sources: tuple[str, ...] = Field(min_length=1)
    confidence: Confidence
    strength: Strength | None = None
    note: str | None = None


class DatedFact(Sourced):
    # a full date, or "YYYY-MM" where only the month is known, or null where unknown
    date: dt.date | str | None


class Window(Sourced):
    from_: dt.date = Field(alias="from")
    until: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.until is None or day < self.until)


class AppliesFrom(Sourced):
    from_: dt.date = Field(alias="from")
    # the agreement is invoked against people already in the US when it took effect (the 2025
    # agreements in section 240 proceedings): the first arrival covered is the implementing
    # rule's (84 FR 63994), before the agreement's signature
    pending_cases: bool = False


Border = Literal["southern_land", "northern_land", "air", "sea"]
Place = Literal["port_of_entry", "between_ports"]
Sector = Literal["san_diego", "el_centro", "yuma", "tucson", "el_paso", "big_bend", "del_rio",
                 "laredo", "rio_grande_valley"]


class OperationPhase(Window):
    """Whom, and where, the US actually applied an agreement to in one period. Every limit is
    optional: None = no limit (every nationality, state, border, place, sector)."""

    nationalities: tuple[str, ...] | None
    groups: tuple[Literal["single_adult", "family_unit"], ...] = ("single_adult", "family_unit")
    arrival_states: tuple[str, ...] | None
    borders: tuple[Border, ...] | None = None
    places: tuple[Place, ...] | None = None
    sectors: tuple[Sector, ...] | None = None


class AgreementException(Sourced):
    id: Literal["unaccompanied_child", "admission_document", "visa_exempt", "partner_national",
                "criminal_record"]
    text: str
    citation: str


class LegalStatus(Sourced):
    """What the instrument is, apart from whether it is operated: an agreement in force under
    INA 208(a)(2)(A); signed and not yet in force; reported only; disputed by the partner; a
    non-binding memorandum. ``basis`` unknown = whether it is an agreement the statute and
    8 CFR 208.30(e)(7) / 1240.11(h) can rest on is not settled by the sources."""

    value: Literal["in_force", "signed_not_in_force", "reported", "disputed",
                   "non_binding_memorandum"]
    basis: Literal["ina_208_a_2_A", "unknown"]


class NationalityScope(Sourced):
    """The nationalities an agreement itself limits transfers to (beyond the statute's own
    exclusion of the partner's nationals): ``covered`` certainly; ``uncertain`` — whether the
    agreement covers them is not settled by the sources (the answer stays unknown); every
    other nationality is outside the agreement."""

    text: str
    citation: str
    covered: tuple[str, ...]
    uncertain: tuple[str, ...] = ()


class Limit(Sourced):
    """A term of the agreement the engine records and does not decide on (a cap on transfers,
    the partner's veto over each referral): for the reader and the simulation."""

    id: str
    text: str


class Agreement(_Model):
    id: str
    title: str
    partner: str
    statute: str
    federal_register: str
    signed: DatedFact
    entry_into_force: DatedFact
    applies_to_arrivals: AppliesFrom
    suspended: DatedFact
    terminated: DatedFact
    operation: tuple[OperationPhase, ...]
    operation_note: str | None = None
    operation_sources: tuple[str, ...] = ()
    exceptions: tuple[AgreementException, ...]
    legal_status: LegalStatus | None = None  # None: in force under INA 208(a)(2)(A) (2019)
    nationality_scope: NationalityScope | None = None
    limits: tuple[Limit, ...] = ()

    def excepts(self, exception: str) -> bool:
        return any(e.id == exception for e in self.exceptions)

    @property
    def in_force_from(self) -> dt.date | None:
        """The first day the agreement could be applied: for one invoked against pending cases,
        its entry into force (else its first operation), not the first arrival it covers."""
        if not self.applies_to_arrivals.pending_cases:
            return self.applies_to_arrivals.from_
        if isinstance(self.entry_into_force.date, dt.date):
            return self.entry_into_force.date
        return min((p.from_ for p in self.operation), default=None)

    @property
    def order_from(self) -> dt.date:
        """Where the agreement stands in the law data's order: the first arrival it covers,
        or, for one invoked against pending cases, when it was concluded or first operated."""
        if not self.applies_to_arrivals.pending_cases:
            return self.applies_to_arrivals.from_
        dates = [d for d in (self.signed.date, *(p.from_ for p in self.operation))
                 if isinstance(d, dt.date)]
        return min(dates) if dates else self.applies_to_arrivals.from_

    @property
    def in_force_until(self) -> dt.date | None:
        """First day the agreement was no longer applied (suspension, else termination)."""
        ends = [d.date for d in (self.suspended, self.terminated) if isinstance(d.date, dt.date)]
        return min(ends) if ends else None


class RuleVersion(Window):
    id: str
    citation: str
    ended_by: str | None = None
    exception_i: str
    exception_iii_instruments: tuple[Instrument, ...]
    exception_iii_text: str


class Vacatur(Window):
    version: str
    order: str


class CourtScope(_Model):
    kind: Literal["nationwide", "circuits", "metering_class"]
    circuits: tuple[str, ...] = ()


class CourtOrder(Window):
    id: str
    version: str
    order: str
    scope: CourtScope
    # a stay of this order: while it holds, the order does not bar applying the rule
    stayed: tuple[Window, ...] = ()


class Remedy(Sourced):
    """A court order that is not a window of the rule's legal effect (e.g. an order to reopen
    decided cases): recorded with its source, not evaluated."""

    id: str
    date: dt.date
    order: str


class OpenQuestion(Sourced):
    """A reading the encoding follows that is faithful to the text but open: ``law check``
    lists it, and the explanation flags it where it applies."""

    id: str
    text: str


class TransitBarLaw(_Model):
    id: str
    title: str
    provision: str
    applies_to_entries: AppliesFrom
    versions: tuple[RuleVersion, ...]
    vacated: tuple[Vacatur, ...]
    court_orders: tuple[CourtOrder, ...]
    remedies: tuple[Remedy, ...] = ()
    open_questions: tuple[OpenQuestion, ...] = ()


class Measure(Sourced):
    """A measure that may reach a case and that the engine does not decide (a warning)."""

    id: str
    title: str
    citations: tuple[str, ...] = Field(min_length=1)
    # the arrivals it could reach: from (first day) / until (first day no longer), borders
    from_: dt.date = Field(alias="from")
    until: dt.date | None = None
    borders: tuple[Border, ...]
    status: str  # its legal status as of ``status_date`` (the newest source read)
    status_date: dt.date
    message: str


class Horizon(Sourced):
    """The date the law data was last reviewed: the newest source it rests on."""

    reviewed_through: dt.date


class NotEncodedLaw(_Model):
    horizon: Horizon
    measures: tuple[Measure, ...]


class LitigationEvent(Window):
    id: str
    event: str
    effect: Literal["none", "vacated", "enjoined"]


class ContinuingEffect(Sourced):
    minor_filed_after: dt.date


class ClpLaw(_Model):
    """8 CFR 208.33 / 1208.33 (rules/clp.yaml)."""

    id: str
    title: str
    provision: str
    effective: AppliesFrom
    entries: Window
    title42_ended_day: dt.date
    treaty_instruments: tuple[Instrument, ...]
    continuing_effect: ContinuingEffect
    vacated: tuple[Window, ...]
    litigation: tuple[LitigationEvent, ...]


class VisaExemption(Sourced):
    """Nationals who could enter the United States without a visa from ``from`` until (not
    including) ``until`` (visa-exemptions.yaml). ``outright``: every citizen (8 CFR 212.1(a));
    ``visa_waiver_program`` / ``compact``: only one who meets the instrument's own conditions."""

    id: str
    kind: Literal["outright", "visa_waiver_program", "compact"]
    nationalities: tuple[str, ...] = Field(min_length=1)
    from_: dt.date = Field(alias="from")
    until: dt.date | None = None
    designated: dt.date | None = None  # the designation's own date, where it differs
    instrument: str
    citation: str


class NotImplementedDesignation(Sourced):
    """A designation never put into effect (Romania 2025): recorded, exempting no one."""

    id: str
    nationalities: tuple[str, ...] = Field(min_length=1)
    designated: dt.date
    rescinded: dt.date | None = None
    instrument: str


class ExcludedNationalities(Sourced):
    nationalities: tuple[str, ...] = Field(min_length=1)
    citation: str


class VisaExemptionLaw(_Model):
    """Who was not required to obtain a visa, by nationality and arrival date."""

    id: str
    title: str
    provision: str
    covers: Window  # arrivals before ``from`` are not encoded: the derived answer is unknown
    program_excluded_nationalities: ExcludedNationalities
    exemptions: tuple[VisaExemption, ...]
    not_implemented: tuple[NotImplementedDesignation, ...] = ()


@dataclass(frozen=True)
class TreatyStatus:
    """One country's status under one instrument: deposit date as written, with its source."""

    value: str  # "YYYY-MM-DD" | "YYYY-MM" | "YYYY" | "none" | "unknown"
    sources: tuple[str, ...]

    def deposit_bounds(self) -> tuple[dt.date, dt.date] | None:
        """(earliest, latest) possible deposit day; None if never a party; raises if unknown."""
        v = self.value
        if v == "none":
            return None
        if v == "unknown":
            raise LookupError("unknown")
        parts = [int(p) for p in v.split("-")]
        if len(parts) == 3:
            d = dt.date(*parts)
            return d, d
        if len(parts) == 2:
            y, m = parts
            last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
            return dt.date(y, m, 1), last
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)


@dataclass(frozen=True)
class Country:
    alpha2: str
    alpha3: str
    name: str
    sovereign: str
    treaties: dict[str, TreatyStatus]
    notes: str


# When a treaty enters into force for a State that joins it (the treaties' own articles).
TREATY_IN_FORCE: dict[str, tuple[dt.date, int]] = {
    "refugee_convention": (dt.date(1954, 4, 22), 90),   # art. 43
    "refugee_protocol": (dt.date(1967, 10, 4), 0),      # art. VIII
    "torture_convention": (dt.date(1987, 6, 26), 30),   # art. 27
}


@dataclass(frozen=True)
class Law:
    sources: dict[str, Source]
    agreements: tuple[Agreement, ...]
    transit_bar: TransitBarLaw
    countries: dict[str, Country]
    files: dict[str, bytes] = field(repr=False)
    not_encoded: NotEncodedLaw | None = None
    clp: ClpLaw | None = None
    visas: VisaExemptionLaw | None = None
    # options changed by policy variants (see variants.py)
    party_from: Literal["entry_into_force", "deposit"] = "entry_into_force"
    aca_requires_transit: bool = False
    variants: tuple[str, ...] = ()

    def agreement_for(self, partner: str, day: dt.date) -> Agreement | None:
        """The agreement a receiving partner is reported under on a date: the latest of that
        partner's agreements concluded by then (else its first)."""
        mine = [a for a in self.agreements if a.partner == partner]
        current = [a for a in mine if a.order_from <= day]
        return (current or mine or [None])[-1 if current else 0]

    def with_(self, **changes: Any) -> Law:
        return replace(self, **changes)

    def party_window(self, alpha2: str, instruments: Iterable[str]
                     ) -> tuple[dt.date, dt.date] | tuple[None, None]:
        """(E, L) for "party to at least one of ``instruments``": the country was certainly a
        party to none of them before E, and certainly a party to one of them from L on.
        NEVER if never a party. (None, None) if the country is not in the table."""
        country = self.countries.get(alpha2)
        if country is None:
            return None, None
        earliest, latest = NEVER, NEVER
        for inst in instruments:
            try:
                bounds = country.treaties[inst].deposit_bounds()
            except LookupError:
                earliest = EARLIEST  # status unknown: could have been party at any time
                continue
            if bounds is None:
                continue
            lo, hi = (self._party_day(inst, d) for d in bounds)
            earliest, latest = min(earliest, lo), min(latest, hi)
        return earliest, latest

    def _party_day(self, instrument: str, deposit: dt.date) -> dt.date:
        if self.party_from == "deposit":
            return deposit
        treaty_in_force, lag = TREATY_IN_FORCE[instrument]
        return max(treaty_in_force, deposit + dt.timedelta(days=lag))

    @cached_property
    def version(self) -> str:
        """Hash of the law data, the rule modules and the engine, plus the variant options
        (computed once per Law: a variant makes a new Law, so a new hash)."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode())
            h.update(self.files[name])
        h.update(f"{self.party_from}|{self.aca_requires_transit}|{self.variants}".encode())
        return h.hexdigest()[:16]


class LawDataError(ValueError):
    pass


def _data_dir() -> Path:
    return Path(str(resources.files("safethird.law").joinpath("data")))


def _validate(model: type[BaseModel], data: Any, name: str) -> Any:
    return yamltext.checked(model, data, name, LawDataError)


def _read_countries(text: str, name: str) -> dict[str, Country]:
    out: dict[str, Country] = {}
    for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            treaties = {
                inst: TreatyStatus(row[inst].strip(), tuple(
                    s.strip() for s in row[f"{inst}_source"].split(";") if s.strip()))
                for inst in INSTRUMENTS
            }
            out[row["alpha2"]] = Country(row["alpha2"], row["alpha3"], row["name"],
                                         row.get("sovereign", "") or "", treaties,
                                         row.get("notes", "") or "")
        except KeyError as exc:
            raise LawDataError(f"{name} line {i}: missing column {exc}") from None
    return out


def _rule_files() -> dict[str, bytes]:
    pkg = resources.files("safethird")
    files = {}
    for rel in ("law/aca.py", "law/transit_bar.py", "law/treaties.py", "law/entry.py",
                "law/uac.py", "law/procedure.py", "law/geography.py", "law/clp.py",
                "law/not_encoded.py", "law/visas.py", "decide.py",
                "logic/expr.py", "logic/evaluate.py", "logic/vectorize.py"):
        p = pkg.joinpath(rel)
        if p.is_file():
            files[rel] = p.read_bytes()
    return files


@cache
def load_law(data_dir: str | None = None) -> Law:
    root = Path(data_dir) if data_dir else _data_dir()
    files: dict[str, bytes] = {}
    sources: dict[str, Source] = {}
    for p in sorted(root.glob("sources*.yaml")):
        files[p.name] = p.read_bytes()
        raw = yamltext.load(files[p.name]) or {}
        for sid, entry in raw.items():
            if sid in sources:
                raise LawDataError(f"{p.name}: source id {sid} defined twice")
            sources[sid] = _validate(Source, entry, f"{p.name}: {sid}")
    agreements = []
    for p in sorted((root / "agreements").glob("*.yaml")):
        files[f"agreements/{p.name}"] = p.read_bytes()
        agreements.append(_validate(Agreement, yamltext.load(files[f"agreements/{p.name}"]),
                                    f"agreements/{p.name}"))
    tb_path = root / "rules" / "transit-bar.yaml"
    files["rules/transit-bar.yaml"] = tb_path.read_bytes()
    transit_bar = _validate(TransitBarLaw, yamltext.load(files["rules/transit-bar.yaml"]),
                            "rules/transit-bar.yaml")
    countries: dict[str, Country] = {}
    cpath = root / "countries.csv"
    if cpath.exists():
        files["countries.csv"] = cpath.read_bytes()
        countries = _read_countries(files["countries.csv"].decode("utf-8"), "countries.csv")
    ne_path = root / "rules" / "not-encoded.yaml"
    not_encoded = None
    if ne_path.exists():
        files["rules/not-encoded.yaml"] = ne_path.read_bytes()
        not_encoded = _validate(NotEncodedLaw, yamltext.load(files["rules/not-encoded.yaml"]),
                                "rules/not-encoded.yaml")
    clp_path = root / "rules" / "clp.yaml"
    clp = None
    if clp_path.exists():
        files["rules/clp.yaml"] = clp_path.read_bytes()
        clp = _validate(ClpLaw, yamltext.load(files["rules/clp.yaml"]), "rules/clp.yaml")
    visas_path = root / "visa-exemptions.yaml"
    visas = None
    if visas_path.exists():
        files["visa-exemptions.yaml"] = visas_path.read_bytes()
        visas = _validate(VisaExemptionLaw, yamltext.load(files["visa-exemptions.yaml"]),
                          "visa-exemptions.yaml")
    files["circuits.yaml"] = (root / "circuits.yaml").read_bytes()
    if (root / "geography.yaml").exists():
        files["geography.yaml"] = (root / "geography.yaml").read_bytes()
    files |= _rule_files()
    agreements.sort(key=lambda a: (a.order_from, a.id))
    return Law(sources, tuple(agreements), transit_bar, countries, files,
               not_encoded=not_encoded, clp=clp, visas=visas)
