"""The public ``decide()`` API: the rule set (findings and the procedure, from ``law/``)
evaluated for one case or a table, with its explanation."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from safethird import __version__ as ENGINE_VERSION
from safethird import assume as assume_mod
from safethird import facts as facts_mod
from safethird.law import aca, clp, procedure, transit_bar
from safethird.law.data import Law, load_law
from safethird.law.geography import sector_conflict
from safethird.law.not_encoded import Caution, cautions
from safethird.law.procedure import PATHWAYS as PATHWAYS  # re-exported: the pathway codes
from safethird.law.variants import apply_variants, parse_variants
from safethird.logic import exact
from safethird.logic import questions as questions_mod
from safethird.logic.compile import Program, compile_rules
from safethird.logic.evaluate import Evaluation, add_years, clause_trace, fact_values
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
from safethird.logic.finding import (
    UNKNOWN as UNKNOWN_STATUS,
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

    def evaluate(self, record: dict[str, Any], as_of: dt.date,
                 given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The Kleene value of every output node for one case (``given`` nodes as given)."""
        return self.program.values(record, as_of, given)

    @cached_property
    def program(self) -> Program:
        """The rule set compiled to Python (logic/compile.py): the same trees, ~100x faster."""
        return compile_rules(self.nodes)

    @cached_property
    def problem(self) -> exact.Problem:
        return _problem(self)


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
    # the unknown facts this finding reads whose answers cannot change it
    holds_regardless: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"status": self.status}
        if self.partner is not None or self.agreement is not None:
            d |= {"partner": self.partner, "agreement": self.agreement}
        if self.partners is not None:
            d |= {"partners": self.partners, "partners_possible": self.partners_possible}
        d |= {"reason": self.reason, "citations": self.citations,
              "because": self.because, "trace": self.trace}
        if self.holds_regardless:
            d["holds_regardless"] = self.holds_regardless
        return d


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
    # the missing facts as questions: {"fact", "alone", "settles": [{"value", "pathway"}],
    # "with", "clauses", "citations"}, in the order of missing_facts
    questions: list[dict[str, Any]] = field(default_factory=list)
    # an unknown decision of an authority, both ways: {"fact", "value", "text", "pathway"}
    branches: list[dict[str, Any]] = field(default_factory=list)
    # False when the search over the unknown facts hit its budget (an unknown may then be one
    # that a longer search would settle)
    exact: bool = True
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
            "questions": self.questions,
            "branches": self.branches,
            "exact": self.exact,
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


_ROOTS: dict[int, tuple[Finding, Expr]] = {}


def _finding_root(f: Finding) -> Expr:
    """All the finding's reasons under one node (kept: the trace reads it once per rule set)."""
    from safethird.logic.expr import And

    got = _ROOTS.get(id(f))
    if got is None or got[0] is not f:
        got = _ROOTS[id(f)] = (f, And(tuple(r.clause for r in f.reasons)))
    return got[1]


def _dedupe(xs: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(xs))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


# --- the exact reasoning over this rule set -------------------------------------------------

def _fact_paths(r: Rules, record: dict[str, Any]) -> list[str]:
    """Concrete fact paths the rules read for this case, in the order they are written."""
    return exact.slots(r.problem, record, r.problem.order)


_get, _set = exact.get, exact.put


def possible(record: dict[str, Any], as_of: dt.date) -> bool:
    """Facts that could all be true at once (what case validation would accept)."""
    if record.get("unaccompanied_child") and record.get("family_unit"):
        return False
    arrival = record.get("arrival") or {}
    if sector_conflict(arrival.get("sector"), arrival.get("state"), arrival.get("border")):
        return False
    arrived = arrival.get("date")
    born = record.get("birth_date")
    if born is not None and (born > as_of or (arrived is not None and born > arrived)):
        return False
    if born is not None and arrived is not None and record.get("unaccompanied_child") and \
            add_years(born, 18) <= arrived:
        return False  # a child is under 18 (6 U.S.C. 279(g)(2)): not an adult's finding
    if arrived is not None:
        if arrived > as_of:
            return False
        for leg in record.get("route") or []:
            if any(d is not None and d > arrived for d in (leg.get("entered"), leg.get("left"))):
                return False
    for leg in record.get("route") or []:
        entered, left = leg.get("entered"), leg.get("left")
        if entered is not None and left is not None and left < entered:
            return False
        if any(d is not None and d > as_of for d in (entered, left)):
            return False
    return True


def _problem(r: Rules) -> exact.Problem:
    parts: list[tuple[str, ...]] = []
    decisive = []
    for f in r.findings:
        reasons = tuple(f.column(x.code) for x in f.reasons)
        decisive.append(len(parts))
        parts += [reasons, reasons]
    decisive.append(len(parts))
    parts.append(tuple(f"{r.pathway.name}.{code}" for code, _ in r.pathway.rows))
    order: dict[str, None] = {}
    for node in r.nodes.values():
        for n in node.walk():
            if isinstance(n, Quantifier):
                order.setdefault("route", None)
            path = getattr(n, "path", None)
            if isinstance(path, str):
                order.setdefault(path, None)
    order.pop("as_of", None)
    fixed = frozenset(d.fact for d in procedure.UNLESS_STATED) | {"as_of"} \
        | frozenset(procedure.NOT_SHOWN)

    def evaluate(record: dict[str, Any], as_of: dt.date,
                 given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return r.evaluate(record, as_of, given)

    def outcome(values: Mapping[str, Any]) -> tuple:
        out: list[Any] = []
        for f in r.findings:
            v = finding_value(f, values)
            known = v["status"] != UNKNOWN_STATUS
            out += [v["status"] if known else None, v["reason"] if known else None]
        p = table_value(r.pathway, values)
        out.append(None if p == UNDETERMINED else p)
        return tuple(out)

    monotone = compile_rules(r.nodes, monotone=True)

    def trace(record: dict[str, Any], as_of: dt.date,
              given: Mapping[str, Any] | None = None) -> Any:
        return monotone.waits_on(record, as_of, given)

    return exact.Problem(r.nodes, evaluate, outcome, tuple(decisive), tuple(parts), possible,
                         trace, fixed=fixed, order=tuple(order))


@dataclass
class _Worlds:
    """The worlds of one case: one exploration per finding and one for the pathway (each
    splits only the facts its own answer waits on)."""

    findings: dict[str, exact.Worlds]
    pathway: exact.Worlds

    @property
    def complete(self) -> bool:
        return self.pathway.complete and all(w.complete for w in self.findings.values())

    def all(self) -> list[exact.Worlds]:
        return [self.pathway, *self.findings.values()]


def _explore(r: Rules, record: dict[str, Any], as_of: dt.date,
             base: Mapping[str, Any] | None = None, budget: int = 600) -> _Worlds:
    """``budget``: worlds per answer. A case with a few facts open needs tens; a nearly empty
    one (a new interview) would need thousands, and its answers are open anyway: the search
    stops there, keeps them unknown and says so (``exact``)."""
    base = r.problem.evaluate(record, as_of, None) if base is None else base
    found = {f.name: exact.explore(r.problem, record, as_of, budget, base, parts=[2 * i])
             for i, f in enumerate(r.findings)}
    # what each finding settled holds in every world: the pathway's search starts from it
    given = {}
    for f in r.findings:
        w = found[f.name]
        if w.complete:
            for name in f.nodes():
                v = w.node(name)
                if v is not None and base.get(name) is None:
                    given[name] = v
    n = 2 * len(r.findings)
    pathway = exact.explore(r.problem, record, as_of, budget,
                            r.problem.evaluate(record, as_of, given) if given else base,
                            parts=[n], given=given)
    return _Worlds(found, pathway)


def _exact_outcome(r: Rules, ws: _Worlds) -> dict[str, Any]:
    """The findings and the pathway over every world: settled where all worlds agree."""
    out: dict[str, Any] = {}
    for i, f in enumerate(r.findings):
        w = ws.findings[f.name]
        statuses = w.parts(2 * i)
        status = statuses[0] if len(statuses) == 1 and statuses[0] is not None \
            else UNKNOWN_STATUS
        reason = UNDETERMINED
        if status != UNKNOWN_STATUS:
            # the first reason that holds in every world; else (a different reason in
            # different worlds) the last of them: what holds when the earlier ones, which turn
            # on facts still unknown, turn out not to
            everywhere = [x.code for x in f.reasons if w.node(f.column(x.code)) is True]
            reasons = [x for x in w.parts(2 * i + 1) if x is not None]
            order = [x.code for x in f.reasons] + [f.applies_code]
            reason = everywhere[0] if everywhere else \
                max(reasons, key=order.index) if reasons else UNDETERMINED
        partner = None
        if status == APPLIES:
            partner = next((p for p, _ in f.partners
                            if w.node(f"{f.name}.partner.{p}") is True), None)
        out[f.name] = {"status": status, "reason": reason, "partner": partner}
    pathway = ws.pathway.part(len(r.findings) * 2)
    out["pathway"] = pathway if pathway is not None else UNDETERMINED
    return out


def _answer_shown(path: str, v: Any) -> Any:
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return [leg.get("country") for leg in v]
    return _jsonable(v)


def _questions(r: Rules, ws: _Worlds, record: dict[str, Any], as_of: dt.date,
               outcome: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The missing facts as questions; a decision of an authority the outcome waits on comes
    last, marked ``authority`` (it is recorded when known, not asked of the person; the
    determination's ``branches`` say what follows either way)."""
    authority = {d.fact for d in procedure.AUTHORITY_DECISIONS}
    qs = [q.to_dict() for q in questions_mod.questions(
        ws.pathway, list(ws.findings.values()), len(r.findings) * 2, answer=_answer_shown)]
    qs = _not_shown(r, record, as_of, outcome, qs) + qs
    for q in qs:
        q["authority"] = q["fact"] in authority
    return sorted(qs, key=lambda q: (q["authority"], not q["alone"]))


def _not_shown(r: Rules, record: dict[str, Any], as_of: dt.date, outcome: Mapping[str, Any],
               asked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outcome of a stage still to come (fear of the partner, decided by the threshold
    screening) is not a world to split on: unknown, it reads "not shown". It is still a
    missing fact when stating it would change the outcome: the question the stage answers."""
    n = len(r.findings) * 2
    names = [f"{r.pathway.name}.{code}" for code, _ in r.pathway.rows] + [
        f.column(x.code) for f in r.findings for x in f.reasons]
    have = {q["fact"] for q in asked}
    kleene = r.problem.outcome(r.problem.evaluate(record, as_of, None))
    # compared with the case's own (Kleene) outcome: the probe is one too
    now = tuple(kleene[i] for i in r.problem.decisive)
    out = []
    not_shown = frozenset(procedure.NOT_SHOWN)
    # those an answer still waits on, in the reading where "not shown" is not yet an answer
    candidates = [p for p in exact.waits_on(r.problem, record, as_of, names)
                  if exact.is_fixed(p, not_shown) and p not in have]
    def entry(path: str, settles: list[dict[str, Any]], with_: list[str]) -> dict[str, Any]:
        clauses = [c for c in r.nodes.values()
                   if isinstance(c, Clause) and path in r.problem.reads[_name_of(r, c)]]
        return {"fact": path, "alone": len(settles) == 2, "settles": settles, "with": with_,
                "clauses": [c.id for c in clauses][:3],
                "citations": list(dict.fromkeys(c.citation for c in clauses))[:3]}

    for path in candidates:
        settles = []
        changes = False
        for value in (True, False):
            got = r.problem.outcome(r.problem.evaluate(_set(record, path, value), as_of, None))
            if tuple(got[i] for i in r.problem.decisive) != now:
                changes = True
            if got[n] is not None:
                settles.append({"value": value, "pathway": got[n]})
        if changes:
            out.append(entry(path, settles, []))
    if not out and len(candidates) > 1:
        # none changes the answer alone (another partner remains): all of them stated together
        together = record
        for path in candidates:
            together = _set(together, path, True)
        got = r.problem.outcome(r.problem.evaluate(together, as_of, None))
        if tuple(got[i] for i in r.problem.decisive) != now:
            out = [entry(p, [], [q for q in candidates if q != p]) for p in candidates]
    return out


def _name_of(r: Rules, node: Expr) -> str:
    return next(name for name, n in r.nodes.items() if n is node)


def _branches(r: Rules, ws: _Worlds, found: dict[str, FindingResult]
              ) -> list[dict[str, Any]]:
    """An unknown decision of an authority the pathway turns on: what follows either way (the
    decisions are declared in the procedure)."""
    out: list[dict[str, Any]] = []
    i = len(r.findings) * 2
    w = ws.pathway
    for d in procedure.AUTHORITY_DECISIONS:
        if d.fact not in w.choices or d.finding not in found:
            continue
        got = {}
        for value in (True, False):
            vals = {leaf.outcome[i] for leaf in w.consistent(d.fact, value)}
            got[value] = next(iter(vals)) if len(vals) == 1 and None not in vals \
                else UNDETERMINED
        if got[True] == got[False]:
            continue
        out += [{"fact": d.fact, "value": True, "text": d.if_true, "pathway": got[True]},
                {"fact": d.fact, "value": False, "text": d.if_false, "pathway": got[False]}]
        found[d.finding].because.append(
            f"Either way ({d.fact} unknown) — {d.if_true}: {got[True]}; {d.if_false}: "
            f"{got[False]} [{d.citation}]")
    return out


def _pathway_of(r: Rules, record: dict[str, Any], as_of: dt.date, budget: int = 60
                ) -> str:
    """The pathway of a changed case: settled already by the case's own facts, or over its
    worlds within a small budget (a change whose answer needs a longer search is not
    proposed: it is not the kind of change a screener can act on)."""
    n = len(r.findings) * 2
    base = r.problem.evaluate(record, as_of, None)
    p = r.problem.outcome(base)[n]
    if p is None and budget:
        w = exact.explore(r.problem, record, as_of, budget=budget, base=base, parts=[n])
        p = w.part(n) if w.complete else None
    return UNDETERMINED if p is None else p


def _change_candidates(r: Rules, record: dict[str, Any], as_of: dt.date, path: str,
                       current: Any) -> list[Any]:
    """The other classes of a known fact's value (a date: the nearest ones either side)."""
    blank = _set(record, path, None)
    values = r.problem.analysis.classes(blank, path, as_of)
    if isinstance(current, dt.date):
        before = [d for d in values if d < current][-3:]
        after = [d for d in values if d > current][:3]
        values = before + after
    return [v for v in values if v != current]


def counterfactuals(r: Rules, record: dict[str, Any], as_of: dt.date,
                    outcome: Mapping[str, Any], limit: int = 12, pair_budget: int = 150,
                    identity: bool = False) -> list[dict[str, Any]]:
    """The smallest changes of known facts that change the pathway: single facts, else pairs.

    Facts a screener can verify or correct come first; identity facts (nationality, the
    countries of the route, residence) only with ``identity``. Each change is decided on the
    same exact semantics, within a budget (a pair search grows with the square of the facts)."""
    base = outcome["pathway"]
    # from an open pathway, a change counts when the changed facts settle it by themselves
    budget = 0 if base == UNDETERMINED else 60
    changes = []
    for path in _fact_paths(r, record):
        if path in r.problem.fixed or (not identity and _is_identity(path)):
            continue
        current = _get(record, path)
        if current is None:
            continue
        for v in _change_candidates(r, record, as_of, path, current):
            changes.append((path, current, v))
    singles = []
    seen: set[tuple[str, Any]] = set()
    for path, old, new in changes:
        changed = _set(record, path, new)
        if not possible(changed, as_of):
            continue
        p = _pathway_of(r, changed, as_of, budget)
        # every class of value that changes it (Texas and New Mexico are different circuits);
        # for a date, the nearest day either side
        key = (path, p) if isinstance(new, dt.date) else (path, exact._key(new))
        if p not in (base, UNDETERMINED) and key not in seen:
            seen.add(key)
            singles.append({"change": {path: _answer_shown(path, new)},
                            "from": {path: _answer_shown(path, old)}, "pathway": p})
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
        p = _pathway_of(r, changed, as_of, budget // 2)
        if p not in (base, UNDETERMINED):
            pairs.append({"change": {p1: _answer_shown(p1, v1), p2: _answer_shown(p2, v2)},
                          "from": {p1: _answer_shown(p1, o1), p2: _answer_shown(p2, o2)},
                          "pathway": p})
            if len(pairs) >= limit:
                break
    return pairs


IDENTITY = ("nationalities", "route", "route[].country")


def _is_identity(path: str) -> bool:
    from safethird.logic.domains import pattern

    return pattern(path) in IDENTITY or path == "route"


# --- public API -------------------------------------------------------------------------------

def decide(case: facts_mod.Case | Mapping[str, Any], as_of: str | dt.date | None = None,
           variant: str | Iterable[str] | None = None, *, law: Law | None = None,
           explain: bool = True, assume: Mapping[str, Any] | None = None,
           identity: bool = False) -> Determination:
    """Decide one case as of a date (default: the case's own ``as_of``, else today).

    ``case`` is a :class:`safethird.facts.Case` or a mapping with the fields of CONTRACT.md;
    unknown facts may be left out. ``assume`` fills unknown facts with stated values (each is
    listed in the determination, with the findings that depended on it). ``identity`` lets the
    counterfactuals change identity facts too (nationality, the countries of the route).
    Raises :class:`safethird.facts.CaseError` on bad input."""
    if not isinstance(case, facts_mod.Case):
        case = facts_mod.parse_case(dict(case))
    day = _as_of(as_of, case)
    r = rules(variant, law)
    given = facts_mod.to_record(case)
    record, filled = assume_mod.apply(given, assume or {})
    record = procedure.unless_stated(record)
    base = r.problem.evaluate(record, day, None)
    ws = _explore(r, record, day, base)
    outcome = _exact_outcome(r, ws)
    ev = r.program.evaluation(record, day)
    view = _ExactView(r, ev, ws)
    found = {f.name: _explain_finding(r, f, view, outcome[f.name]) for f in r.findings}
    for f in r.findings:
        if base_status(f, base) == UNKNOWN_STATUS and \
                outcome[f.name]["status"] != UNKNOWN_STATUS:
            found[f.name].holds_regardless = questions_mod.regardless(
                ws.findings[f.name], [f.column(x.code) for x in f.reasons])
    for d in procedure.UNLESS_STATED:
        if exact.get(given, d.fact) is not None:
            continue
        for f in r.findings:
            reads = any(d.fact in r.problem.reads[name] for name in f.nodes())
            if reads and found[f.name].status == APPLIES:
                found[f.name].because.append(f"This holds {d.text} [{d.citation}]")
    branches = _branches(r, ws, found)
    qs = _questions(r, ws, record, day, outcome) if explain else []
    assumptions = _assumption_uses(r, given, filled, day, outcome) if filled else []
    return Determination(
        case_id=case.id, as_of=day, law_version=r.law.version, variants=r.law.variants,
        findings=found, pathway=outcome["pathway"],
        missing_facts=[q["fact"] for q in qs],
        counterfactuals=counterfactuals(r, record, day, outcome, identity=identity)
        if explain else [],
        warnings=[c.entry() for c in r.cautions if ev.value(c.clause) is not False],
        assumptions=assumptions, questions=qs, branches=branches,
        exact=ws.complete, facts=record)


def base_status(f: Finding, values: Mapping[str, Any]) -> str:
    return finding_value(f, values)["status"]


class _ExactView:
    """The case's evaluation, with each output clause's value over every world (a reason that
    is false whatever the unknown facts are reads as false)."""

    def __init__(self, r: Rules, ev: Any, ws: _Worlds):
        self.ev = ev
        self._worlds: dict[int, tuple[str, exact.Worlds]] = {}
        for f in r.findings:
            for name, node in f.nodes().items():
                self._worlds[id(node)] = (name, ws.findings[f.name])
        for name, node in r.pathway.nodes().items():
            self._worlds.setdefault(id(node), (name, ws.pathway))
        self.record, self.as_of, self.quantifiers = ev.record, ev.as_of, ev.quantifiers

    @property
    def route(self) -> list[dict[str, Any]] | None:
        return self.ev.route

    def value(self, node: Expr, leg: int | None = None) -> Any:
        found = self._worlds.get(id(node)) if leg is None else None
        if found is not None:
            return found[1].node(found[0])
        return self.ev.value(node, leg)


def _assumption_uses(r: Rules, given: dict[str, Any], filled: Mapping[str, Any],
                     day: dt.date, outcome: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each assumption with the findings (and the pathway) whose answer needed it: those that
    come out otherwise when that one fact is left unknown."""
    out = []
    for path, value in filled.items():
        others = {k: v for k, v in filled.items() if k != path}
        record, _ = assume_mod.apply(given, others)
        record = procedure.unless_stated(record)
        without = _exact_outcome(r, _explore(r, record, day, budget=1000))
        used = [f.name for f in r.findings
                if without[f.name]["status"] != outcome[f.name]["status"]]
        if without["pathway"] != outcome["pathway"]:
            used.append("pathway")
        out.append({"fact": path, "value": _jsonable(value), "findings": used})
    return out


def _as_of(as_of: str | dt.date | None, case: facts_mod.Case) -> dt.date:
    if isinstance(as_of, str):
        try:
            return dt.date.fromisoformat(as_of)
        except ValueError:
            raise facts_mod.CaseError("as_of", f"not an ISO 8601 date: {as_of!r}") from None
    return as_of or case.as_of or dt.date.today()


def decide_frame(frame: pl.DataFrame | pl.LazyFrame, as_of: str | dt.date | None = None,
                 variant: str | Iterable[str] | None = None, *, law: Law | None = None,
                 keep_clauses: bool = False, exact_rows: bool = True,
                 with_missing: bool = False) -> pl.LazyFrame:
    """The same rules over a table in the column form of ``facts.COLUMNS``.

    Adds ``aca.status``, ``aca.reason``, ``aca.citation``, ``aca.partner``, ``aca.agreement``,
    ``transit_bar.status``, ``transit_bar.reason``, ``transit_bar.citation``, ``pathway``,
    ``warnings`` (the measures or codes warned of, joined by ';'; empty when none) (and,
    with ``keep_clauses``, one column per clause of the rules, Kleene-valued).

    Every row is decided by the vectorized rules (Kleene logic); a row they leave unknown
    somewhere is decided again on the exact semantics of ``decide`` (``exact_rows``), from the
    same rule trees, once per distinct set of facts. ``with_missing`` adds ``missing_facts``
    (';'-joined, ranked, as ``decide`` gives them)."""
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
    if exact_rows or with_missing:
        return _exact_rows(r, lf.collect(), with_missing).lazy()
    return lf


_DERIVED = ("status", "reason", "citation", "partner")


def _exact_rows(r: Rules, df: pl.DataFrame, with_missing: bool) -> pl.DataFrame:
    """The rows the vectorized rules left unknown somewhere, decided on the exact semantics."""
    names = [f.name for f in r.findings]
    open_rows = pl.any_horizontal([pl.col(f"{n}.status") == UNKNOWN_STATUS for n in names]
                                  + [pl.col("pathway") == UNDETERMINED])
    if with_missing:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("missing_facts"))
    df = df.with_row_index("__i")
    todo = df.filter(open_rows)
    if todo.height == 0:
        return df.drop("__i")
    fact_cols = [c for c in todo.columns if c in facts_mod.COLUMNS or
                 c.startswith(facts_mod.FEAR_PREFIX)]
    updates: dict[str, list[Any]] = {"__i": []}
    columns = [f"{n}.{k}" for n in names for k in _DERIVED if f"{n}.{k}" in df.columns] \
        + ["aca.agreement", "aca.partners", "pathway"] + (["missing_facts"] if with_missing
                                                          else [])
    columns = list(dict.fromkeys(c for c in columns if c in df.columns))
    for c in columns:
        updates[c] = []
    done: dict[Any, dict[str, Any]] = {}
    for i, row in zip(todo["__i"], todo.select(fact_cols).iter_rows(named=True), strict=True):
        record = facts_mod.unflatten(row)
        key = exact._key(record)
        if key not in done:
            done[key] = _exact_row(r, record, with_missing)
        updates["__i"].append(i)
        for c in columns:
            updates[c].append(done[key].get(c))
    patch = pl.DataFrame(updates, schema={"__i": pl.UInt32, **{c: df.schema[c]
                                                                for c in columns}})
    return df.update(patch, on="__i", include_nulls=True).drop("__i")


def _exact_row(r: Rules, record: dict[str, Any], with_missing: bool) -> dict[str, Any]:
    """One row's derived columns as ``decide`` gives them (exact)."""
    day = record["as_of"]
    record = procedure.unless_stated(record)
    ws = _explore(r, record, day)
    outcome = _exact_outcome(r, ws)
    out: dict[str, Any] = {"pathway": outcome["pathway"]}
    for f in r.findings:
        o = outcome[f.name]
        out[f"{f.name}.status"], out[f"{f.name}.reason"] = o["status"], o["reason"]
        reason = next((x for x in f.reasons if x.code == o["reason"]), None)
        out[f"{f.name}.citation"] = (f"{f.citation}; {reason.clause.citation}" if reason
                                     else f"{f.citation}; {f.applies.citation}"
                                     if o["status"] == APPLIES else None)
        if f.partners:
            out[f"{f.name}.partner"] = o["partner"]
            found = r.law.agreement_for(o["partner"], day) if o["partner"] else None
            out[f"{f.name}.agreement"] = found.id if found else None
            sure = [p for p, _ in f.partners
                    if ws.findings[f.name].node(f"{f.name}.partner.{p}") is True]
            out[f"{f.name}.partners"] = ";".join(sure) if o["status"] == APPLIES else None
    if with_missing:
        qs = _questions(r, ws, record, day, outcome)
        out["missing_facts"] = ";".join(q["fact"] for q in qs)
    return out
