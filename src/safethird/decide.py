"""The public ``decide()`` API: the rule set (findings and the procedure, from ``law/``)
evaluated for one case or a table, with its explanation."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from safethird import __version__ as ENGINE_VERSION
from safethird import facts as facts_mod
from safethird.law import aca, clp, procedure, transit_bar
from safethird.law.data import Law, load_law
from safethird.law.geography import sector_conflict
from safethird.law.not_encoded import Caution, cautions
from safethird.law.procedure import PATHWAYS as PATHWAYS  # re-exported: the pathway codes
from safethird.law.variants import apply_variants, parse_variants
from safethird.logic.evaluate import Evaluation, clause_trace, fact_values, read_fact
from safethird.logic.expr import Clause, Expr, Quantifier
from safethird.logic.finding import (
    APPLIES,
    UNDETERMINED,
    DecisionTable,
    Finding,
    finding_columns,
    finding_value,
    outcomes,
    table_column,
    table_value,
)
from safethird.logic.vectorize import evaluate_frame

SCHEMA = "safethird.determination/1"


@dataclass(frozen=True)
class Rules:
    law: Law
    findings: tuple[Finding, ...]
    pathway: DecisionTable
    # what the engine does not decide (law/not_encoded.py): a clause each, shown unless false
    cautions: tuple[Caution, ...] = ()

    @cached_property
    def nodes(self) -> dict[str, Expr]:
        return outcomes(self.findings, self.pathway) | {c.node: c.clause for c in self.cautions}

    @cached_property
    def warnings_column(self) -> pl.Expr:
        """The warnings given on each row: their measure (or code), joined by ';'."""
        return pl.concat_str(
            [pl.when(pl.col(c.node).fill_null(True)).then(pl.lit(c.measure or c.code))
             for c in self.cautions] or [pl.lit(None, dtype=pl.String)],
            separator=";", ignore_nulls=True).alias("warnings")

    @cached_property
    def derived_columns(self) -> list[pl.Expr]:
        """Status, reason, citation and partner of each finding, and the pathway, over the
        node columns (built once: building them costs more than running them on a chunk)."""
        return [c for f in self.findings for c in finding_columns(f)] \
            + [table_column(self.pathway)]

    @cached_property
    def agreement_column(self) -> pl.Expr:
        """The partner's agreement on the row's as-of date (Law.agreement_for)."""
        out: pl.Expr = pl.lit(None, dtype=pl.String)
        for partner in dict.fromkeys(a.partner for a in self.law.agreements):
            mine = [a for a in self.law.agreements if a.partner == partner]
            by_day: pl.Expr = pl.lit(mine[0].id)
            for a in mine[1:]:  # in order: a later one replaces an earlier one from its start
                by_day = pl.when(pl.col("as_of") >= a.order_from).then(pl.lit(a.id)) \
                    .otherwise(by_day)
            out = pl.when(pl.col("aca.partner") == partner).then(by_day).otherwise(out)
        return out.alias("aca.agreement")

    @cached_property
    def partners_column(self) -> pl.Expr:
        """``aca.partners``: every partner that could receive the person (';'-joined), when
        an agreement applies."""
        aca_f = self.finding("aca")
        return pl.when(pl.col("aca.status") == APPLIES).then(pl.concat_str(
            [pl.when(pl.col(f"aca.partner.{p}").fill_null(False)).then(pl.lit(p))
             for p, _ in aca_f.partners] or [pl.lit(None, dtype=pl.String)],
            separator=";", ignore_nulls=True)).alias("aca.partners")

    def finding(self, name: str) -> Finding:
        return next(f for f in self.findings if f.name == name)


_RULES: dict[tuple[str, tuple[str, ...]], Rules] = {}


def rules(variant: str | Iterable[str] | None = None, law: Law | None = None) -> Rules:
    """The rule trees for the law (with variants applied), built once per law version."""
    base = law or load_law()
    key = (base.version, parse_variants(variant))
    if key not in _RULES:
        law = apply_variants(base, variant)
        aca_f, tb_f = aca.rule(law), transit_bar.rule(law)
        clp_f = clp.rule(law) if law.clp is not None else None
        findings = (aca_f, tb_f) if clp_f is None else (aca_f, tb_f, clp_f)
        _RULES[key] = Rules(law, findings, procedure.pathway(aca_f, tb_f, clp_f, law),
                            cautions(law))
    return _RULES[key]


# --- one case --------------------------------------------------------------------------------

OUTPUTS = ("aca", "transit_bar", "pathway")


def _values(r: Rules, ev: Evaluation) -> dict[str, Any]:
    return {name: ev.value(node) for name, node in r.nodes.items()}


def _outcome(r: Rules, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f.name: finding_value(f, values) for f in r.findings}
    out["pathway"] = table_value(r.pathway, values)
    return out


def _summary(outcome: Mapping[str, Any]) -> tuple:
    return (outcome["aca"]["status"], outcome["aca"]["reason"], outcome["aca"]["partner"],
            outcome["transit_bar"]["status"], outcome["transit_bar"]["reason"],
            outcome["pathway"])


def evaluate_record(r: Rules, record: dict[str, Any], as_of: dt.date
                    ) -> tuple[dict[str, Any], Evaluation]:
    ev = Evaluation(record, as_of)
    return _outcome(r, _values(r, ev)), ev


@dataclass
class FindingResult:
    status: str
    reason: str
    citations: list[str]
    because: list[str]
    trace: list[dict[str, Any]]
    partner: str | None = None
    agreement: str | None = None
    # every partner that could receive the person, in the law data's order (partner first);
    # and those that could, depending on unknown facts or law (None: not a partner finding)
    partners: list[str] | None = None
    partners_possible: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"status": self.status}
        if self.partner is not None or self.agreement is not None:
            d |= {"partner": self.partner, "agreement": self.agreement}
        if self.partners is not None:
            d |= {"partners": self.partners, "partners_possible": self.partners_possible}
        return d | {"reason": self.reason, "citations": self.citations,
                    "because": self.because, "trace": self.trace}


@dataclass
class Determination:
    """One person's determination, as of a date: findings, pathway, missing facts and the
    changes that would alter the outcome."""

    case_id: str | None
    as_of: dt.date
    law_version: str
    variants: tuple[str, ...]
    findings: dict[str, FindingResult]
    pathway: str
    missing_facts: list[str]
    counterfactuals: list[dict[str, Any]]
    # {"code", "measure", "message", "citations"}: what the engine knows it does not decide
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # {"fact", "value", "findings"}: unknown facts filled by a stated assumption
    assumptions: list[dict[str, Any]] = field(default_factory=list)
    engine_version: str = ENGINE_VERSION
    facts: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "case_id": self.case_id,
            "as_of": self.as_of.isoformat(),
            "law_version": self.law_version,
            "engine_version": self.engine_version,
            "variant": ",".join(self.variants) or None,
            "findings": {k: v.to_dict() for k, v in self.findings.items()},
            "pathway": self.pathway,
            "missing_facts": self.missing_facts,
            "counterfactuals": self.counterfactuals,
            "warnings": self.warnings,
            "assumptions": self.assumptions,
        }

    def __str__(self) -> str:
        from safethird.explain import render_text

        return render_text(self)

    def _repr_markdown_(self) -> str:  # notebooks
        return "```\n" + str(self) + "\n```"


def _format_value(v: Any) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_format_value(x) for x in v) + "]"
    return str(v)


def _verdict(v: Any) -> str:
    return {True: "Yes", False: "No", None: "Unknown"}[v]


def _facts_line(node: Expr, ev: Evaluation) -> str:
    shown = ", ".join(f"{k} = {_format_value(v)}" for k, v in fact_values(node, ev).items()
                      if k != "as_of")
    return f" (facts: {shown})" if shown else ""


def _sub_clauses(node: Expr) -> list[Clause]:
    """The clauses directly under ``node`` (not nested in another clause)."""
    out: list[Clause] = []

    def visit(n: Expr) -> None:
        if isinstance(n, Quantifier):
            return  # leg-level clauses have a value per leg, shown in the trace
        for c in n.children():
            if isinstance(c, Clause):
                out.append(c)
            elif not isinstance(c, Quantifier):
                visit(c)

    visit(node)
    return list({id(c): c for c in out}.values())


def _explain_finding(r: Rules, f: Finding, ev: Evaluation, result: dict[str, Any]
                     ) -> FindingResult:
    because: list[str] = []
    citations: list[str] = [f.citation]
    for reason in f.reasons:
        v = ev.value(reason.clause)
        shown = reason.shows if reason.shows is not None else reason.clause.expr
        subs = _sub_clauses(shown)
        because.append(f"{_verdict(v)} — {reason.clause.text} [{reason.clause.citation}]"
                       + ("" if subs else _facts_line(shown, ev)))
        for sub in subs:
            sv = ev.value(sub)
            if v is not False or sv is not False or len(subs) <= 3:
                because.append(f"    · {_verdict(sv)} — {sub.text} [{sub.citation}]"
                               + _facts_line(sub, ev))
        if v is True and reason.code == result["reason"]:
            citations.append(reason.clause.citation)
            break
    if result["status"] == APPLIES:
        because.append(f"Therefore: {f.applies.text} [{f.applies.citation}]")
        citations.append(f.applies.citation)
    for note in f.notes:
        if ev.value(note) is not False:
            because.append(f"Open question — {note.text} [{note.citation}]")
    trace = [
        {"id": c.id, "text": c.text, "citation": c.citation, "value": v,
         "facts": {k: _jsonable(x) for k, x in fact_values(c, ev).items()}}
        for c, v in clause_trace(_finding_root(f), ev)
    ]
    partner = result.get("partner")
    found = r.law.agreement_for(partner, ev.as_of) if partner else None
    agreement = found.id if found else None
    receiving = {p: ev.value(c) for p, c in f.partners}
    sure = [p for p, v in receiving.items() if v is True] if result["status"] == APPLIES else []
    maybe = [p for p, v in receiving.items() if v is None] \
        if result["status"] != "does_not_apply" else []
    return FindingResult(result["status"], result["reason"], _dedupe(citations), because, trace,
                         partner if f.partners else None, agreement if f.partners else None,
                         sure if f.partners else None, maybe if f.partners else None)


def _finding_root(f: Finding) -> Expr:
    from safethird.logic.expr import And

    return And(tuple(r.clause for r in f.reasons))


def _dedupe(xs: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(xs))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


# --- missing facts and counterfactuals --------------------------------------------------------

def _fact_paths(r: Rules, record: dict[str, Any]) -> list[str]:
    """Concrete fact paths the rules read for this case, in the order they are written."""
    route = record.get("route")
    out: dict[str, None] = {}
    for node in r.nodes.values():
        for n in node.walk():
            if isinstance(n, Quantifier) and route is None:
                out["route"] = None
            if hasattr(n, "path"):
                path = n.path  # type: ignore[attr-defined]
                if path.startswith("route[]."):
                    for i in range(len(route or [])):
                        out[path.replace("[]", f"[{i}]")] = None
                else:
                    out[path] = None
    return list(out)


def _get(record: dict[str, Any], path: str) -> Any:
    if path.startswith("route["):
        i, name = int(path[6:path.index("]")]), path.split(".", 1)[1]
        return record["route"][i].get(name)
    return read_fact(record, path)


def _set(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    rec = copy.deepcopy(record)
    if path.startswith("route["):
        i, name = int(path[6:path.index("]")]), path.split(".", 1)[1]
        rec["route"][i][name] = value
    elif path.startswith("fear_of_receiving_country."):
        rec.setdefault("fear_of_receiving_country", {})
        rec["fear_of_receiving_country"][path.split(".", 1)[1]] = value
    elif "." in path:
        head, tail = path.split(".", 1)
        rec[head] = dict(rec.get(head) or {}) | {tail: value}
    else:
        rec[path] = value
    return rec


def _law_dates(r: Rules) -> list[dt.date]:
    from safethird.logic.expr import Const

    dates = {n.value for node in r.nodes.values() for n in node.walk()
             if isinstance(n, Const) and isinstance(n.value, dt.date)}
    return sorted(d for d in dates if dt.date(1990, 1, 1) < d < dt.date(2100, 1, 1))


def _candidates(r: Rules, record: dict[str, Any], path: str) -> list[Any]:
    """Values worth trying for a fact: every value of a small domain; for open domains, the
    values the law itself distinguishes (partners, change dates, circuits)."""
    partners = [a.partner for a in r.law.agreements]
    if path == "route":
        return [[], [{"country": "MX", "entered": None, "left": None, "protection_claim": None}]]
    spec = facts_mod.spec(path.replace("[", "[]").split("]")[0] + "]." + path.split(".", 1)[1]
                          if path.startswith("route[") else path)
    if spec.kind == "bool":
        return [True, False]
    if spec.kind == "enum":
        return list(spec.values)
    if spec.kind == "countries":
        return [[p] for p in partners] + [["MX"], []]
    if spec.kind == "country":
        seen = [*partners, "MX", *(record.get("nationalities") or []),
                *(leg.get("country") for leg in record.get("route") or [])]
        return [c for c in dict.fromkeys(seen) if c]
    if spec.kind == "state":
        return ["CA", "AZ", "NM", "TX"]
    if spec.kind == "date":
        if path == "arrival.date":
            return [d + dt.timedelta(days=k) for d in _law_dates(r) for k in (-1, 0)]
        if path.startswith("route["):
            return _leg_date_candidates(r, record, int(path[6:path.index("]")]))
        return []
    return []


def _leg_date_candidates(r: Rules, record: dict[str, Any], i: int) -> list[dt.date]:
    """For a transit leg: the days around which its country's treaty status changed (what
    exception (iii) turns on), for both versions of the rule."""
    country = (record.get("route") or [{}])[i].get("country")
    if country is None:
        return []
    days: set[dt.date] = set()
    for version in r.law.transit_bar.versions:
        e, latest = r.law.party_window(country, version.exception_iii_instruments)
        for d in (e, latest):
            if d is not None and dt.date(1950, 1, 1) < d < dt.date(2100, 1, 1):
                days |= {d - dt.timedelta(days=1), d}
    return sorted(days)


def possible(record: dict[str, Any], as_of: dt.date) -> bool:
    """Facts that could all be true at once (what case validation would accept)."""
    if record.get("unaccompanied_child") and record.get("family_unit"):
        return False
    arrival = record.get("arrival") or {}
    if sector_conflict(arrival.get("sector"), arrival.get("state"), arrival.get("border")):
        return False
    arrived = (record.get("arrival") or {}).get("date")
    if arrived is not None:
        if arrived > as_of:
            return False
        for leg in record.get("route") or []:
            if any(d is not None and d > arrived for d in (leg.get("entered"), leg.get("left"))):
                return False
    return True


def _probe(r: Rules, record: dict[str, Any], as_of: dt.date, path: str, value: Any
           ) -> dict[str, Any] | None:
    changed = _set(record, path, value)
    return evaluate_record(r, changed, as_of)[0] if possible(changed, as_of) else None


def missing_facts(r: Rules, record: dict[str, Any], as_of: dt.date, outcome: Mapping[str, Any]
                  ) -> list[str]:
    """Unknown facts that could still change the outcome, the most decisive first: those that
    can change the pathway before those that only change a finding; then by the share of their
    values that settle the pathway, then by how many findings they settle, then in the order
    the law reads them."""
    base = _summary(outcome)
    scored = []
    for order, path in enumerate(_fact_paths(r, record)):
        if path == "as_of" or _get(record, path) is not None:
            continue
        results = [o for v in _candidates(r, record, path)
                   if (o := _probe(r, record, as_of, path, v)) is not None]
        if not results or all(_summary(o) == base for o in results):
            continue
        settles_pathway = sum(o["pathway"] != UNDETERMINED for o in results) / len(results)
        settles_findings = sum((o["aca"]["status"] != "unknown") + (
            o["transit_bar"]["status"] != "unknown") for o in results) / len(results)
        moves_pathway = any(o["pathway"] != outcome["pathway"] for o in results)
        scored.append((not moves_pathway, -settles_pathway, -settles_findings, order, path))
    if not scored and _undecided(outcome):
        return _settling_facts(r, record, as_of)
    return [path for *_, path in sorted(scored)]


def _undecided(outcome: Mapping[str, Any]) -> bool:
    return outcome["pathway"] == UNDETERMINED or any(
        outcome[k]["status"] == "unknown" for k in ("aca", "transit_bar"))


def _settling_facts(r: Rules, record: dict[str, Any], as_of: dt.date) -> list[str]:
    """When no single fact changes an undetermined outcome (it takes two together), the unknown
    facts that settle some of the conditions it waits on, in the order the law reads them: an
    undetermined answer always says what to ask."""
    base = _values(r, Evaluation(record, as_of))
    out = []
    for path in _fact_paths(r, record):
        if path == "as_of" or _get(record, path) is not None:
            continue
        for v in _candidates(r, record, path):
            changed = _set(record, path, v)
            if not possible(changed, as_of):
                continue
            values = _values(r, Evaluation(changed, as_of))
            if any(base[k] is None and values[k] is not None for k in base):
                out.append(path)
                break
    return out


def counterfactuals(r: Rules, record: dict[str, Any], as_of: dt.date,
                    outcome: Mapping[str, Any], limit: int = 12, pair_budget: int = 300
                    ) -> list[dict[str, Any]]:
    """The smallest changes of known facts that change the pathway: single facts, else pairs.

    Pairs are tried in the law's order within ``pair_budget`` evaluations: the number of pairs
    grows with the square of the known facts and the law's candidate values (over a minute for a
    2026 case with a dozen agreements), and a pathway that no single change settles usually
    turns on unknown facts (the missing facts), not on known ones."""
    base = outcome["pathway"]
    changes = []
    for path in _fact_paths(r, record):
        current = _get(record, path)
        if path == "as_of" or current is None:
            continue
        for v in _candidates(r, record, path):
            if v != current:
                changes.append((path, current, v))
    singles = []
    seen: set[tuple[str, str]] = set()
    for path, old, new in changes:
        o = _probe(r, record, as_of, path, new)
        # one change per fact and resulting pathway: the first value, in the law's order
        if o is not None and o["pathway"] not in (base, UNDETERMINED) and \
                (path, o["pathway"]) not in seen:
            seen.add((path, o["pathway"]))
            singles.append({"change": {path: _jsonable(new)}, "from": {path: _jsonable(old)},
                            "pathway": o["pathway"]})
    if singles:
        return singles[:limit]
    pairs = []
    for (p1, o1, v1), (p2, o2, v2) in itertools.combinations(changes, 2):
        if p1 == p2:
            continue
        changed = _set(_set(record, p1, v1), p2, v2)
        if not possible(changed, as_of):
            continue
        pair_budget -= 1
        if pair_budget < 0:
            break
        o = evaluate_record(r, changed, as_of)[0]
        if o["pathway"] not in (base, UNDETERMINED):
            pairs.append({"change": {p1: _jsonable(v1), p2: _jsonable(v2)},
                          "from": {p1: _jsonable(o1), p2: _jsonable(o2)},
                          "pathway": o["pathway"]})
            if len(pairs) >= limit:
                break
    return pairs


# --- public API -------------------------------------------------------------------------------

def decide(case: facts_mod.Case | Mapping[str, Any], as_of: str | dt.date | None = None,
           variant: str | Iterable[str] | None = None, *, law: Law | None = None,
           explain: bool = True) -> Determination:
    """Decide one case as of a date (default: the case's own ``as_of``, else today).

    ``case`` is a :class:`safethird.facts.Case` or a mapping with the fields of CONTRACT.md;
    unknown facts may be left out. Raises :class:`safethird.facts.CaseError` on bad input."""
    if not isinstance(case, facts_mod.Case):
        case = facts_mod.parse_case(dict(case))
    day = _as_of(as_of, case)
    r = rules(variant, law)
    record = facts_mod.to_record(case)
    outcome, ev = evaluate_record(r, record, day)
    found = {f.name: _explain_finding(r, f, ev, outcome[f.name]) for f in r.findings}
    _state_branches(r, record, day, outcome, found)
    return Determination(
        case_id=case.id, as_of=day, law_version=r.law.version, variants=r.law.variants,
        findings=found, pathway=outcome["pathway"],
        missing_facts=missing_facts(r, record, day, outcome) if explain else [],
        counterfactuals=counterfactuals(r, record, day, outcome) if explain else [],
        warnings=[c.entry() for c in r.cautions if ev.value(c.clause) is not False],
        facts=record)


def _state_branches(r: Rules, record: dict[str, Any], as_of: dt.date,
                    outcome: Mapping[str, Any], found: dict[str, FindingResult]) -> None:
    """An unknown decision of an authority that the pathway turns on: say what follows either
    way, on the finding the procedure names (the decisions are declared in the procedure)."""
    for d in procedure.AUTHORITY_DECISIONS:
        if _get(record, d.fact) is not None or d.finding not in found:
            continue
        yes = evaluate_record(r, _set(record, d.fact, True), as_of)[0]["pathway"]
        no = evaluate_record(r, _set(record, d.fact, False), as_of)[0]["pathway"]
        if yes != no:
            found[d.finding].because.append(
                f"Either way ({d.fact} unknown) — {d.if_true}: {yes}; {d.if_false}: {no} "
                f"[{d.citation}]")


def _as_of(as_of: str | dt.date | None, case: facts_mod.Case) -> dt.date:
    if isinstance(as_of, str):
        try:
            return dt.date.fromisoformat(as_of)
        except ValueError:
            raise facts_mod.CaseError("as_of", f"not an ISO 8601 date: {as_of!r}") from None
    return as_of or case.as_of or dt.date.today()


def decide_frame(frame: pl.DataFrame | pl.LazyFrame, as_of: str | dt.date | None = None,
                 variant: str | Iterable[str] | None = None, *, law: Law | None = None,
                 keep_clauses: bool = False) -> pl.LazyFrame:
    """The same rules over a table in the column form of ``facts.COLUMNS`` (vectorized).

    Adds ``aca.status``, ``aca.reason``, ``aca.citation``, ``aca.partner``, ``aca.agreement``,
    ``transit_bar.status``, ``transit_bar.reason``, ``transit_bar.citation``, ``pathway``,
    ``warnings`` (the measures or codes warned of, joined by ';'; empty when none) (and,
    with ``keep_clauses``, one column per clause of the rules)."""
    r = rules(variant, law)
    lf = frame.lazy()
    default = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    if "as_of" not in lf.collect_schema().names():
        lf = lf.with_columns(pl.lit(default, dtype=pl.Date).alias("as_of"))
    elif default is not None:
        lf = lf.with_columns(pl.col("as_of").fill_null(pl.lit(default, dtype=pl.Date)))
    nodes = r.nodes
    lf = evaluate_frame(lf, nodes)
    lf = lf.with_columns(r.derived_columns).with_columns(r.agreement_column, r.warnings_column,
                                                         r.partners_column)
    if not keep_clauses:
        lf = lf.drop(list(nodes))
    return lf
