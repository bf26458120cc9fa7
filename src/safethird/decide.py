"""The public ``decide()`` API: the rule set (findings and the procedure, from ``law/``)
evaluated for one case or a table, with its explanation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from safethird import __version__ as ENGINE_VERSION
from safethird import assume as assume_mod
from safethird import facts as facts_mod
from safethird.law import procedure
from safethird.law.data import Law, load_law
from safethird.law.not_encoded import Caution, cautions
from safethird.law.procedure import PATHWAYS as PATHWAYS  # re-exported: the pathway codes
from safethird.law.variants import apply_variants, parse_variants
from safethird.logic import exact
from safethird.logic.compile import Program
from safethird.logic.evaluate import Evaluation
from safethird.logic.explanation import FindingResult as FindingResult  # re-exported
from safethird.logic.explanation import explain_finding
from safethird.logic.expr import Expr
from safethird.logic.finding import (
    APPLIES,
    UNDETERMINED,
    DecisionTable,
    Finding,
    finding_columns,
    finding_value,
    table_column,
    table_value,
)
from safethird.logic.finding import (
    UNKNOWN as UNKNOWN_STATUS,
)
from safethird.logic.reasoning import ExactView, Reasoner
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
    def reasoner(self) -> Reasoner:
        """The generic reasoning (logic/reasoning.py) over these findings, with what the
        procedure declares about its facts; the warnings' clauses are evaluated with them."""
        return Reasoner(self.findings, self.pathway, procedure.DECLARATIONS,
                        {c.node: c.clause for c in self.cautions})

    @property
    def nodes(self) -> dict[str, Expr]:
        return self.reasoner.nodes

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
        return self.reasoner.evaluate(record, as_of, given)

    @property
    def program(self) -> Program:
        return self.reasoner.program

    @property
    def problem(self) -> exact.Problem:
        return self.reasoner.problem

    def agreement_of(self, partner: str, as_of: dt.date) -> str | None:
        found = self.law.agreement_for(partner, as_of)
        return found.id if found else None


_RULES: dict[tuple[str, tuple[str, ...]], Rules] = {}


def rules(variant: str | Iterable[str] | None = None, law: Law | None = None) -> Rules:
    """The rule trees for the law (with variants applied), built once per law version."""
    base = law or load_law()
    key = (base.version, parse_variants(variant))
    if key not in _RULES:
        law = apply_variants(base, variant)
        findings, pathway = procedure.rule_set(law)
        _RULES[key] = Rules(law, findings, pathway, cautions(law))
    return _RULES[key]


# --- one case --------------------------------------------------------------------------------

OUTPUTS = ("aca", "transit_bar", "pathway")


def _values(r: Rules, ev: Evaluation) -> dict[str, Any]:
    return {name: ev.value(node) for name, node in r.nodes.items()}


def _outcome(r: Rules, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f.name: finding_value(f, values) for f in r.findings}
    out["pathway"] = table_value(r.pathway, values)
    return out


def evaluate_record(r: Rules, record: dict[str, Any], as_of: dt.date
                    ) -> tuple[dict[str, Any], Evaluation]:
    ev = Evaluation(record, as_of)
    return _outcome(r, _values(r, ev)), ev


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
    rs = r.reasoner
    given = facts_mod.to_record(case)
    record, filled = assume_mod.apply(given, assume or {})
    record = rs.declarations.fill(record)
    # with an explanation, one pass gives the outputs, the clause trace and what could change
    # them (logic/compile.py); without, the outputs are enough
    analysed = r.program.analyse(record, day) if explain else None
    ws = rs.explore(record, day, analysed.outputs() if analysed else None)
    outcome = rs.outcome(ws)
    ev = analysed.evaluation() if analysed else _Outputs(rs, record, day, ws)
    view = ExactView(rs, ev, ws)
    found = {f.name: explain_finding(f, view, outcome[f.name], r.agreement_of, explain)
             for f in r.findings}
    branches: list[dict[str, Any]] = []
    qs: list[dict[str, Any]] = []
    if explain:
        for f in r.findings:
            found[f.name].holds_regardless = rs.holds_regardless(ws, f)
        statuses = {name: x.status for name, x in found.items()}
        for name, lines in rs.unless_stated_lines(given, statuses).items():
            found[name].because += lines
        branches, lines_of = rs.branches(ws, found)
        for name, lines in lines_of.items():
            found[name].because += lines
        qs = rs.questions(ws, record, day)
    assumptions = rs.assumption_uses(given, filled, day, outcome, _filled) \
        if filled else []
    return Determination(
        case_id=case.id, as_of=day, law_version=r.law.version, variants=r.law.variants,
        findings=found, pathway=outcome["pathway"],
        missing_facts=[q["fact"] for q in qs],
        counterfactuals=rs.counterfactuals(record, day, outcome["pathway"], identity=identity,
                                           analysed=analysed) if explain else [],
        warnings=[c.entry() for c in r.cautions if ev.value(c.clause) is not False],
        assumptions=assumptions, questions=qs, branches=branches,
        exact=ws.complete, facts=record)


def _filled(record: dict[str, Any], assume: Mapping[str, Any]) -> dict[str, Any]:
    return assume_mod.apply(record, assume)[0]


class _Outputs:
    """The output nodes' values of a case without its clause trace (what ``decide`` needs
    when no explanation is asked for): the Kleene values the search started from."""

    __slots__ = ("_names", "_values", "as_of", "quantifiers", "record")

    def __init__(self, rs: Reasoner, record: dict[str, Any], as_of: dt.date, ws: Any):
        self.record, self.as_of, self.quantifiers = record, as_of, {}
        self._names, self._values = rs.name_of, ws.base

    @property
    def route(self) -> list[dict[str, Any]] | None:
        return self.record.get("route")

    def value(self, node: Expr, leg: int | None = None) -> Any:
        return self._values[self._names[id(node)]]


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
    patches: list[pl.DataFrame] = []
    from safethird.logic import exact_frame

    if not with_missing and todo.height >= exact_frame.MIN_ROWS:
        # the open rows' worlds as rows, decided by the vectorized rules (logic/exact_frame.py);
        # the rows it cannot split are decided one by one below
        index = exact_frame.INDEX
        got, back = exact_frame.frame_exact(r.reasoner, facts_mod.possible_expr) \
            .decide(todo.select(*fact_cols, pl.col("__i").alias(index)))
        got = got.rename({index: "__i"}).join(todo.select("__i", "as_of"), on="__i")
        for f in r.findings:
            cites = {x.code: f"{f.citation}; {x.clause.citation}" for x in f.reasons}
            status, reason = pl.col(f"{f.name}.status"), pl.col(f"{f.name}.reason")
            got = got.with_columns(pl.when(status == APPLIES)
                                   .then(pl.lit(f"{f.citation}; {f.applies.citation}"))
                                   .otherwise(reason.replace_strict(cites, default=None,
                                                                    return_dtype=pl.String))
                                   .alias(f"{f.name}.citation"))
            if f.partners:
                pairs = got.select(f"{f.name}.partner", "as_of").unique()
                agreement = [(r.law.agreement_for(p, day) if p else None)
                             for p, day in pairs.iter_rows()]
                got = got.join(pairs.with_columns(pl.Series(
                    f"{f.name}.agreement", [a.id if a else None for a in agreement],
                    dtype=pl.String)), on=[f"{f.name}.partner", "as_of"], how="left",
                    nulls_equal=True)
        patches.append(got.select("__i", *columns).cast({"__i": pl.UInt32}
                                                         | {c: df.schema[c] for c in columns}))
        todo = todo.filter(pl.col("__i").is_in(back))
    for i, row in zip(todo["__i"], todo.select(fact_cols).iter_rows(named=True), strict=True):
        record = facts_mod.unflatten(row)
        # the case's id decides nothing: rows with the same facts are decided once
        key = exact._key({k: v for k, v in record.items() if k != "id"})
        if key not in done:
            done[key] = _exact_row(r, record, with_missing)
        updates["__i"].append(i)
        for c in columns:
            updates[c].append(done[key].get(c))
    patches.append(pl.DataFrame(updates, schema={"__i": pl.UInt32, **{c: df.schema[c]
                                                                       for c in columns}}))
    patch = pl.concat(patches)
    # "__i" is the row's position: the patch's values go in place (a join on a million rows
    # costs more than the exact pass)
    return df.drop("__i").with_columns(df[c].clone().scatter(patch["__i"], patch[c])
                                       for c in columns)


def _exact_row(r: Rules, record: dict[str, Any], with_missing: bool) -> dict[str, Any]:
    """One row's derived columns as ``decide`` gives them (exact)."""
    day = record["as_of"]
    rs = r.reasoner
    record = rs.declarations.fill(record)
    ws = rs.explore(record, day, outcome_only=not with_missing)
    outcome = rs.outcome(ws)
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
        qs = rs.questions(ws, record, day)
        out["missing_facts"] = ";".join(q["fact"] for q in qs)
    return out
