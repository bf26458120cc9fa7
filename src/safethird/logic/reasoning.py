"""Reasoning over any rule set: the exact outcome over the worlds the facts allow, the missing
facts as ranked questions, the branches an authority's decision opens, the counterfactuals, and
which stated assumptions an answer needed.

A rule set is findings (logic/finding.py) and a decision table (the pathway), with what the
procedure declares about some of its facts (:class:`Declarations`): decisions of an authority
shown both ways, decisions counted as not made unless stated, outcomes of stages still to come
("not shown"), identity facts, and what facts can be true at once. Nothing here names a
provision: adding one is a rule module and its data (``law/``), never an edit here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from safethird.logic import exact
from safethird.logic import questions as questions_mod
from safethird.logic.compile import Program, compile_rules
from safethird.logic.domains import pattern
from safethird.logic.expr import Clause, Expr, Fact, IsTrue, Quantifier
from safethird.logic.finding import (
    APPLIES,
    DOES_NOT_APPLY,
    UNDETERMINED,
    DecisionTable,
    Finding,
    finding_value,
    outcomes,
    table_value,
)
from safethird.logic.finding import UNKNOWN as UNKNOWN_STATUS

Record = dict[str, Any]


# --- what a procedure declares about its facts ----------------------------------------------

@dataclass(frozen=True)
class AuthorityDecision:
    """A decision of an authority the pathway turns on: not a fact about the person to ask,
    but a branch the explanation states both ways."""

    fact: str
    finding: str  # the finding whose explanation carries the branches
    if_true: str
    if_false: str
    citation: str


@dataclass(frozen=True)
class UnlessStated:
    """A rare discretionary decision of an authority: counted as not made unless the case
    says it was (never asked of the person)."""

    fact: str
    value: bool
    text: str  # how the memo says it
    citation: str


def _always(record: Record, as_of: dt.date) -> bool:
    return True


@dataclass(frozen=True)
class Declarations:
    authority: tuple[AuthorityDecision, ...] = ()
    unless_stated: tuple[UnlessStated, ...] = ()
    # facts (or families ``prefix.*``) whose unknown means "not shown": the outcome of a stage
    # still to come; never split on, asked only when stating them would change the answer
    not_shown: tuple[str, ...] = ()
    # fact patterns a counterfactual changes only on request (who the person is, not what
    # can be verified or corrected)
    identity: tuple[str, ...] = ()
    # whether facts could all be true at once (what case validation accepts)
    possible: Callable[[Record, dt.date], bool] = _always

    def fill(self, record: Record) -> Record:
        """The case with the decisions it does not state counted as not made."""
        missing = [d for d in self.unless_stated if record.get(d.fact) is None]
        return record if not missing else record | {d.fact: d.value for d in missing}


# --- the worlds of one case -----------------------------------------------------------------

@dataclass
class CaseWorlds:
    """One exploration per finding and one for the pathway (each splits only the facts its
    own answer waits on)."""

    findings: dict[str, exact.Worlds]
    pathway: exact.Worlds
    base: Mapping[str, Any]  # the Kleene values of the case as given

    @property
    def complete(self) -> bool:
        return self.pathway.complete and all(w.complete for w in self.findings.values())

    def all(self) -> list[exact.Worlds]:
        return [self.pathway, *self.findings.values()]


class ExactView:
    """A case's evaluation, with each output node's value over every world (a reason that is
    false whatever the unknown facts are reads as false)."""

    __slots__ = ("_owner", "_worlds", "as_of", "ev", "quantifiers", "record")

    def __init__(self, reasoner: Reasoner, ev: Any, ws: CaseWorlds):
        self.ev = ev
        self._owner = reasoner._owner
        self._worlds = [*ws.findings.values(), ws.pathway]
        self.record, self.as_of, self.quantifiers = ev.record, ev.as_of, ev.quantifiers

    @property
    def route(self) -> list[dict[str, Any]] | None:
        return self.ev.route

    def value(self, node: Expr, leg: int | None = None) -> Any:
        found = self._owner.get(id(node)) if leg is None else None
        if found is not None:
            return self._worlds[found[1]].node(found[0])
        return self.ev.value(node, leg)


def answer_shown(path: str, v: Any) -> Any:
    """A fact's value as a user is shown it (a route as its countries)."""
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return [leg.get("country") for leg in v]
    return jsonable(v)


def jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


class Reasoner:
    """The reasoning over one rule set (built once per rule set; every method is per case)."""

    def __init__(self, findings: Sequence[Finding], pathway: DecisionTable,
                 declarations: Declarations, extra: Mapping[str, Expr] | None = None):
        self.findings = tuple(findings)
        self.pathway = pathway
        self.declarations = declarations
        # every output node: the findings' reasons, the pathway's rows, and ``extra`` (nodes
        # the caller evaluates with them, e.g. warnings)
        self.nodes: dict[str, Expr] = outcomes(self.findings, pathway) | dict(extra or {})
        self.pathway_part = 2 * len(self.findings)
        # id(output node) → (its name, which exploration decides it: a finding's index, or
        # the pathway's after them)
        self._owner: dict[int, tuple[str, int]] = {}
        for i, f in enumerate(self.findings):
            for name, node in f.nodes().items():
                self._owner[id(node)] = (name, i)
        for name, node in pathway.nodes().items():
            self._owner.setdefault(id(node), (name, len(self.findings)))
        self.name_of = {id(node): name for name, node in self.nodes.items()}
        self._reason_columns = {f.name: tuple((x.code, f.column(x.code)) for x in f.reasons)
                                for f in self.findings}

    @cached_property
    def program(self) -> Program:
        """The rule set compiled to Python (logic/compile.py): the same trees, ~100x faster.
        The findings' notes are compiled with them (an explanation reads them too)."""
        notes = {f"{f.name}.note.{n.id}": n for f in self.findings for n in f.notes}
        return compile_rules(self.nodes | notes)

    def evaluate(self, record: Record, as_of: dt.date,
                 given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The Kleene value of every output node for one case (``given`` nodes as given)."""
        return self.program.values(record, as_of, given)

    @cached_property
    def problem(self) -> exact.Problem:
        parts: list[tuple[str, ...]] = []
        decisive = []
        for f in self.findings:
            reasons = tuple(f.column(x.code) for x in f.reasons)
            decisive.append(len(parts))
            parts += [reasons, reasons]
        decisive.append(len(parts))
        parts.append(tuple(f"{self.pathway.name}.{code}" for code, _ in self.pathway.rows))
        order: dict[str, None] = {}
        met: set[int] = set()
        for node in self.nodes.values():
            for n in node.distinct(met):
                if isinstance(n, Quantifier):
                    order.setdefault("route", None)
                path = getattr(n, "path", None)
                if isinstance(path, str):
                    order.setdefault(path, None)
        order.pop("as_of", None)
        d = self.declarations
        fixed = frozenset(x.fact for x in d.unless_stated) | {"as_of"} | frozenset(d.not_shown)
        # as finding_value and table_value read them (the test of the exact engine holds the
        # two equal), without building a dictionary per finding: this runs once per world
        plan = [(tuple(self._reason_columns[f.name]), f.applies_code) for f in self.findings]
        rows = tuple((code, f"{self.pathway.name}.{code}") for code, _ in self.pathway.rows)

        def outcome(values: Mapping[str, Any]) -> tuple:
            out: list[Any] = []
            for columns, applies in plan:
                status = reason = None
                every_false = True
                for code, col in columns:
                    v = values[col]
                    if v is True:
                        status, reason = DOES_NOT_APPLY, code
                        break
                    if v is not False:
                        every_false = False
                else:
                    if every_false:
                        status, reason = APPLIES, applies
                out += [status, reason]
            pathway = None
            for code, col in rows:
                v = values[col]
                if v is None:
                    break
                if v:
                    pathway = code
                    break
            out.append(pathway)
            return tuple(out)

        monotone = compile_rules(self.nodes, monotone=True)

        def trace(record: Record, as_of: dt.date,
                  given: Mapping[str, Any] | None = None) -> Any:
            return monotone.waits_on(record, as_of, given)

        return exact.Problem(self.nodes, self.evaluate, outcome, tuple(decisive), tuple(parts),
                             d.possible, trace, fixed=fixed, order=tuple(order))

    # --- the exact outcome --------------------------------------------------------------

    def explore(self, record: Record, as_of: dt.date, base: Mapping[str, Any] | None = None,
                budget: int = 600, outcome_only: bool = False) -> CaseWorlds:
        """``budget``: worlds per answer. A case with a few facts open needs tens; a nearly
        empty one (a new interview) would need thousands, and its answers are open anyway: the
        search stops there, keeps them unknown and says so (``complete``). ``outcome_only``:
        only the outcome is wanted (not what to ask), so a search stops as soon as two worlds
        disagree."""
        problem = self.problem
        base = problem.evaluate(record, as_of, None) if base is None else base
        out = problem.outcome(base)
        if all(out[i] is not None for i in problem.decisive):
            # Kleene logic is sound: what it settles holds in every world, so there is one
            # world to show (no fact to split on)
            leaf = exact.Leaf({}, out, base, record)

            def one(parts: tuple[int, ...]) -> exact.Worlds:
                return exact.Worlds(problem, record, base, [leaf], True, {}, parts, as_of)
            return CaseWorlds({f.name: one((2 * i,)) for i, f in enumerate(self.findings)},
                              one((self.pathway_part,)), base)
        found = {f.name: exact.explore(problem, record, as_of, budget, base, parts=[2 * i],
                                       agree_only=outcome_only)
                 for i, f in enumerate(self.findings)}
        # what each finding settled holds in every world: the pathway's search starts from it
        given = {}
        for f in self.findings:
            w = found[f.name]
            if w.complete:
                for name in f.nodes():
                    v = w.node(name)
                    if v is not None and base.get(name) is None:
                        given[name] = v
        pathway = exact.explore(problem, record, as_of, budget,
                                problem.evaluate(record, as_of, given) if given else base,
                                parts=[self.pathway_part], given=given,
                                agree_only=outcome_only)
        return CaseWorlds(found, pathway, base)

    def outcome(self, ws: CaseWorlds) -> dict[str, Any]:
        """The findings and the pathway over every world: settled where all worlds agree."""
        out: dict[str, Any] = {}
        for i, f in enumerate(self.findings):
            w = ws.findings[f.name]
            if len(w.leaves) == 1 and w.leaves[0].outcome[2 * i] is not None:
                # one world (what the facts settle): its status and first reason that holds
                leaf = w.leaves[0]
                status = leaf.outcome[2 * i]
                partner = next((p for p, _ in f.partners
                                if leaf.values[f"{f.name}.partner.{p}"] is True), None) \
                    if status == APPLIES else None
                out[f.name] = {"status": status, "reason": leaf.outcome[2 * i + 1],
                               "partner": partner}
                continue
            statuses = w.parts(2 * i)
            status = statuses[0] if len(statuses) == 1 and statuses[0] is not None \
                else UNKNOWN_STATUS
            reason = UNDETERMINED
            if status != UNKNOWN_STATUS:
                # the first reason that holds in every world; else (a different reason in
                # different worlds) the last of them: what holds when the earlier ones, which
                # turn on facts still unknown, turn out not to
                columns = self._reason_columns[f.name]
                everywhere = next((code for code, col in columns if w.node(col) is True), None)
                if everywhere is not None:
                    reason = everywhere
                else:
                    reasons = [x for x in w.parts(2 * i + 1) if x is not None]
                    order = [code for code, _ in columns] + [f.applies_code]
                    reason = max(reasons, key=order.index) if reasons else UNDETERMINED
            partner = None
            if status == APPLIES:
                partner = next((p for p, _ in f.partners
                                if w.node(f"{f.name}.partner.{p}") is True), None)
            out[f.name] = {"status": status, "reason": reason, "partner": partner}
        pathway = ws.pathway.part(self.pathway_part)
        out["pathway"] = pathway if pathway is not None else UNDETERMINED
        return out

    def holds_regardless(self, ws: CaseWorlds, f: Finding) -> list[str]:
        """The unknown facts a finding settled over its worlds reads without depending on."""
        if finding_value(f, ws.base)["status"] != UNKNOWN_STATUS:
            return []  # settled already by the facts given: nothing was split on
        return questions_mod.regardless(ws.findings[f.name], [f.column(x.code)
                                                              for x in f.reasons])

    def unless_stated_lines(self, given: Record, statuses: Mapping[str, str]
                            ) -> dict[str, list[str]]:
        """For each finding that applies and reads a decision counted as not made unless
        stated (and the case does not state it): the line that says so."""
        out: dict[str, list[str]] = {}
        for d in self.declarations.unless_stated:
            if exact.get(given, d.fact) is not None:
                continue
            for f in self.findings:
                reads = any(d.fact in self.problem.reads[name] for name in f.nodes())
                if reads and statuses[f.name] == APPLIES:
                    out.setdefault(f.name, []).append(f"This holds {d.text} [{d.citation}]")
        return out

    # --- what is still to ask -----------------------------------------------------------

    def questions(self, ws: CaseWorlds, record: Record, as_of: dt.date) -> list[dict[str, Any]]:
        """The missing facts as questions; a decision of an authority the outcome waits on
        comes last, marked ``authority`` (it is recorded when known, not asked of the person;
        ``branches`` say what follows either way)."""
        authority = {d.fact for d in self.declarations.authority}
        # a finding settled over every world is no reason to ask anything ("why we ask")
        settled = frozenset(name for i, f in enumerate(self.findings)
                            if ws.findings[f.name].part(2 * i) is not None
                            for name in f.nodes())
        qs = [q.to_dict() for q in questions_mod.questions(
            ws.pathway, list(ws.findings.values()), self.pathway_part, answer=answer_shown,
            decided=settled)]
        qs = self._not_shown(record, as_of, qs) + qs
        for q in qs:
            q["authority"] = q["fact"] in authority
        return sorted(qs, key=lambda q: (q["authority"], not q["alone"]))

    def _not_shown(self, record: Record, as_of: dt.date, asked: list[dict[str, Any]]
                   ) -> list[dict[str, Any]]:
        """The outcome of a stage still to come (e.g. decided by a screening) is not a world
        to split on: unknown, it reads "not shown". It is still a missing fact when stating it
        would change the outcome: the question the stage answers."""
        not_shown = frozenset(self.declarations.not_shown)
        if not not_shown:
            return []
        problem, n = self.problem, self.pathway_part
        names = [f"{self.pathway.name}.{code}" for code, _ in self.pathway.rows] + [
            f.column(x.code) for f in self.findings for x in f.reasons]
        have = {q["fact"] for q in asked}
        # those an answer still waits on, in the reading where "not shown" is not an answer
        candidates = [p for p in exact.waits_on(problem, record, as_of, names)
                      if exact.is_fixed(p, not_shown) and p not in have]
        if not candidates:
            return []
        kleene = problem.outcome(problem.evaluate(record, as_of, None))
        # compared with the case's own (Kleene) outcome: the probe is one too
        now = tuple(kleene[i] for i in problem.decisive)

        def entry(path: str, settles: list[dict[str, Any]], with_: list[str]
                  ) -> dict[str, Any]:
            clauses = self._clauses_reading(path)
            return {"fact": path, "alone": len(settles) == 2, "settles": settles,
                    "with": with_, "clauses": [c.id for c in clauses][:3],
                    "citations": list(dict.fromkeys(c.citation for c in clauses))[:3]}

        out = []
        for path in candidates:
            settles = []
            changes = False
            for value in (True, False):
                got = problem.outcome(problem.evaluate(exact.put(record, path, value), as_of))
                if tuple(got[i] for i in problem.decisive) != now:
                    changes = True
                if got[n] is not None:
                    settles.append({"value": value, "pathway": got[n]})
            if changes:
                out.append(entry(path, settles, []))
        if not out and len(candidates) > 1:
            # none changes the answer alone (another one remains): all of them together
            together = record
            for path in candidates:
                together = exact.put(together, path, True)
            got = problem.outcome(problem.evaluate(together, as_of, None))
            if tuple(got[i] for i in problem.decisive) != now:
                out = [entry(p, [], [q for q in candidates if q != p]) for p in candidates]
        return out

    def _clauses_reading(self, path: str) -> list[Clause]:
        reads = self.problem.reads
        return [c for name, c in self.nodes.items()
                if isinstance(c, Clause) and path in reads[name]]

    def branches(self, ws: CaseWorlds, shown: Iterable[str]
                 ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        """An unknown decision of an authority the pathway turns on: what follows either way;
        and the line each finding's explanation gains (``shown``: the findings explained)."""
        out: list[dict[str, Any]] = []
        lines: dict[str, list[str]] = {}
        shown = set(shown)
        w = ws.pathway
        for d in self.declarations.authority:
            if d.fact not in w.choices or d.finding not in shown:
                continue
            got = {}
            for value in (True, False):
                vals = {leaf.outcome[self.pathway_part] for leaf in w.consistent(d.fact, value)}
                got[value] = next(iter(vals)) if len(vals) == 1 and None not in vals \
                    else UNDETERMINED
            if got[True] == got[False]:
                continue
            out += [{"fact": d.fact, "value": True, "text": d.if_true, "pathway": got[True]},
                    {"fact": d.fact, "value": False, "text": d.if_false, "pathway": got[False]}]
            lines.setdefault(d.finding, []).append(
                f"Either way ({d.fact} unknown) — {d.if_true}: {got[True]}; {d.if_false}: "
                f"{got[False]} [{d.citation}]")
        return out, lines

    # --- what would change the outcome --------------------------------------------------

    def pathway_of(self, record: Record, as_of: dt.date, budget: int = 60,
                   probe: _Probe | None = None, paths: Sequence[str] = ()) -> str:
        """The pathway of a changed case: settled already by its own facts, or over its worlds
        within a small budget (a change whose answer needs a longer search is not proposed: it
        is not the kind of change a screener can act on). ``probe``: the case before the change
        of ``paths`` (only what reads them is evaluated again)."""
        if probe is not None:
            p, values = probe.kleene(record, paths)
        else:
            values = self.evaluate(record, as_of)
            p = table_value(self.pathway, values)
        if p == UNDETERMINED and budget:
            n = self.pathway_part
            base = values if isinstance(values, dict) else dict(
                zip(self.program.names, values, strict=True))
            w = exact.explore(self.problem, record, as_of, budget=budget, base=base,
                              parts=[n], agree_only=True)
            found = w.part(n) if w.complete else None
            p = UNDETERMINED if found is None else found
        return p

    def _pathway_mask(self, analysed: Any) -> int | None:
        """The facts (bits of ``program.fact_bits``) whose change alone could change the
        pathway the case's own facts settle: those of its rows up to the first that holds
        (a later row decides only if one of them changes); None if they do not settle it.
        ``analysed``: the case's ``Program.analyse``."""
        rows = [f"{self.pathway.name}.{code}" for code, _ in self.pathway.rows]
        got = analysed.sensitivity(rows)
        mask = 0
        for name in rows:
            value, m = got[name]
            mask |= m
            if value is None:
                return None
            if value is True:
                return mask
        return None

    @cached_property
    def _under_is_true(self) -> frozenset[str]:
        """The facts read under "known to be true" (the one reading that is not monotone)."""
        out: set[str] = set()
        seen: set[int] = set()
        for root in self.nodes.values():
            for n in root.distinct(seen):
                if isinstance(n, IsTrue):
                    out |= {m.path for m in n.distinct() if isinstance(m, Fact)}
        return frozenset(out)

    @cached_property
    def _row_index(self) -> tuple[tuple[str, int], ...]:
        names = self.program.names
        return tuple((code, names.index(f"{self.pathway.name}.{code}"))
                     for code, _ in self.pathway.rows)

    def _change_candidates(self, record: Record, as_of: dt.date, path: str,
                           current: Any) -> list[Any]:
        """The other classes of a known fact's value (a date: the nearest ones either side)."""
        blank = exact.put(record, path, None)
        values = self.problem.analysis.classes(blank, path, as_of)
        if isinstance(current, dt.date):
            before = [d for d in values if d < current][-3:]
            after = [d for d in values if d > current][:3]
            values = before + after
        return [v for v in values if v != current]

    def is_identity(self, path: str) -> bool:
        ids = self.declarations.identity
        return pattern(path) in ids or path in ids

    def counterfactuals(self, record: Record, as_of: dt.date, pathway: str, limit: int = 12,
                        pair_budget: int = 150, identity: bool = False,
                        analysed: Any = None) -> list[dict[str, Any]]:
        """The smallest changes of known facts that change the pathway: single facts, else
        pairs. Facts a screener can verify or correct come first; identity facts only with
        ``identity``. Each change is decided on the same exact semantics, within a budget (a
        pair search grows with the square of the facts). ``analysed``: the case's
        ``Program.analyse``, when already made."""
        possible = self.declarations.possible
        analysed = analysed or self.program.analyse(record, as_of)
        probe = _Probe(self, record, as_of, analysed.values)
        # from an open pathway, a change counts when the changed facts settle it by themselves
        budget = 0 if pathway == UNDETERMINED else 60
        every = [path for path in exact.slots(self.problem, record, self.problem.order)
                 if path not in self.problem.fixed and (identity or not self.is_identity(path))
                 and exact.get(record, path) is not None]
        tried: dict[str, list[Any]] = {}

        def values(path: str) -> list[Any]:
            if path not in tried:
                tried[path] = self._change_candidates(record, as_of, path,
                                                      exact.get(record, path))
            return tried[path]

        # Only when the case's own facts settle the pathway can a fact be ruled out untried
        # (settled only over the worlds, a blank fact would still read unknown): by the
        # compiled sets of the facts that could move each row, then, for a fact with several
        # values, by Kleene monotonicity (settled with the fact blank, no value moves it)
        mask = self._pathway_mask(analysed)
        blankable = mask is not None
        bits = self.program.fact_bits
        changes = []
        for path in every:
            if blankable and not bits.get(pattern(path), -1) & mask:
                continue
            vs = values(path)
            # a blank costs one probe: worth it only before several values are tried
            if blankable and len(vs) > 2 and not probe.may_change((path,)):
                continue
            changes += [(path, exact.get(record, path), v) for v in vs]
        singles = []
        seen: set[tuple[str, Any]] = set()
        for path, old, new in changes:
            changed = exact.put(record, path, new)
            if not possible(changed, as_of):
                continue
            p = self.pathway_of(changed, as_of, budget, probe, (path,))
            # every class of value that changes it (two states in different circuits are two
            # classes); for a date, the nearest day either side
            key = (path, p) if isinstance(new, dt.date) else (path, exact._key(new))
            if p not in (pathway, UNDETERMINED) and key not in seen:
                seen.add(key)
                singles.append({"change": {path: answer_shown(path, new)},
                                "from": {path: answer_shown(path, old)}, "pathway": p})
        if singles:
            return singles[:limit]
        if blankable:  # no single fact can: the pairs are tried over every known fact
            changes = [(path, exact.get(record, path), v) for path in every
                       for v in values(path)]
        pairs = []
        two: dict[tuple[str, str], bool] = {}
        for (p1, o1, v1), (p2, o2, v2) in itertools.combinations(changes, 2):
            if p1 == p2:
                continue
            if blankable:
                if (p1, p2) not in two:
                    two[p1, p2] = probe.may_change((p1, p2))
                if not two[p1, p2]:
                    continue
            changed = exact.put(exact.put(record, p1, v1), p2, v2)
            if not possible(changed, as_of):
                continue
            pair_budget -= 1
            if pair_budget < 0:
                break
            p = self.pathway_of(changed, as_of, budget // 2, probe, (p1, p2))
            if p not in (pathway, UNDETERMINED):
                pairs.append({"change": {p1: answer_shown(p1, v1), p2: answer_shown(p2, v2)},
                              "from": {p1: answer_shown(p1, o1), p2: answer_shown(p2, o2)},
                              "pathway": p})
                if len(pairs) >= limit:
                    break
        return pairs

    # --- stated assumptions -------------------------------------------------------------

    def assumption_uses(self, given: Record, filled: Mapping[str, Any], as_of: dt.date,
                        outcome: Mapping[str, Any],
                        apply: Callable[[Record, Mapping[str, Any]], Record]
                        ) -> list[dict[str, Any]]:
        """Each assumption with the findings (and the pathway) whose answer needed it: those
        that come out otherwise when that one fact is left unknown. ``apply`` fills a record
        with assumptions."""
        out = []
        for path, value in filled.items():
            others = {k: v for k, v in filled.items() if k != path}
            record = self.declarations.fill(apply(given, others))
            without = self.outcome(self.explore(record, as_of, budget=1000))
            used = [f.name for f in self.findings
                    if without[f.name]["status"] != outcome[f.name]["status"]]
            if without["pathway"] != outcome["pathway"]:
                used.append("pathway")
            out.append({"fact": path, "value": jsonable(value), "findings": used})
        return out



class _Probe:
    """A case, evaluated once, and its variants that change a few facts: a variant's values are
    computed again only where they read a changed fact (logic/compile.py ``changed``)."""

    def __init__(self, reasoner: Reasoner, record: Record, as_of: dt.date, base: tuple):
        self.reasoner, self.record, self.as_of = reasoner, record, as_of
        self.program = reasoner.program
        self.base = base  # the case's case-level values (``Program.analyse``)

    def _patterns(self, paths: Sequence[str]) -> list[str]:
        out = []
        for path in paths:
            if path == "route":  # a new route: every leg fact too
                out += [p for p in self.program.fact_bits if p.startswith("route")]
            else:
                out.append(pattern(path))
        return out

    def kleene(self, record: Record, paths: Sequence[str]) -> tuple[str, tuple]:
        """The Kleene pathway of ``record``, which differs from the case in ``paths`` only,
        and its output values (in ``program.names`` order)."""
        values = self.program.changed(record, self.as_of, self.base, self._patterns(paths))
        for code, i in self.reasoner._row_index:
            v = values[i]
            if v is None:
                return UNDETERMINED, values
            if v:
                return code, values
        return UNDETERMINED, values

    def may_change(self, paths: Sequence[str]) -> bool:
        """Whether some values of ``paths`` could change a pathway the case settles. Kleene
        logic is monotone (what is settled with a fact unknown stays so whatever its value),
        so they can only if it reads unknown with them left unknown; except under "known to
        be true", where unknown counts as false: those facts are always tried."""
        if any(pattern(p) in self.reasoner._under_is_true or p == "route" for p in paths):
            return True
        record = self.record
        for path in paths:
            record = exact.put(record, path, None)
        return self.kleene(record, paths)[0] == UNDETERMINED
