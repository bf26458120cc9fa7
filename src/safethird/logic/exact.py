"""Exact answers over unknown facts.

Kleene logic is sound but not complete: "unknown or false" may be false whatever the unknown is
("one residence can exclude at most one of two different transit countries"). Here an output is
``unknown`` only if two possible worlds — assignments of the unknown facts, consistent with the
known ones and with what validation accepts — give it different values.

The worlds are explored by splitting: evaluate (Kleene) with the facts as they are; if some
output is still unsettled, split one unknown fact it reads into the classes the rules can tell
apart (:mod:`safethird.logic.domains`) and go on in each branch. The leaves partition the worlds,
each with a settled outcome (or an outcome the law itself leaves open). From the leaves:

- an output is settled when every leaf gives it the same value;
- a fact matters (is a missing fact) when two leaves with different outcomes differ in that fact
  alone among the facts both fixed — then two worlds that differ only in it differ in outcome;
- answering a fact settles an output when every leaf consistent with the answer agrees on it.

Nothing here names a provision: the rule set is given as a :class:`Problem`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from safethird.logic.domains import Analysis, pattern
from safethird.logic.evaluate import Monotone, read_fact
from safethird.logic.evaluate import _reads as reads_of
from safethird.logic.expr import Expr, Fact, Quantifier

Record = dict[str, Any]
Values = Mapping[str, Any]
# the outcome of a case: a tuple of parts (a finding's status and reason, the pathway); a part
# that is None is unsettled
Outcome = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    """A rule set as the exact reasoning sees it."""

    nodes: Mapping[str, Expr]  # the output nodes, by name
    # Kleene values of the output nodes; ``given`` output nodes take the values given (what
    # holds in every world, found by an earlier exploration)
    evaluate: Callable[[Record, dt.date, Mapping[str, Any] | None], Values]
    outcome: Callable[[Values], Outcome]
    # which parts must be settled (statuses and the pathway; a reason may vary between worlds)
    decisive: tuple[int, ...]
    # the output nodes each part is derived from
    part_nodes: tuple[tuple[str, ...], ...]
    possible: Callable[[Record, dt.date], bool]
    # the monotone values of one case's nodes (for what an unknown answer waits on), with
    # ``given`` output nodes as given: an object with ``value(node, leg)`` and ``route``, and
    # optionally ``legs_of(quantifier)`` (the body's value on each leg)
    trace: Callable[[Record, dt.date, Mapping[str, Any] | None], Any] | None = None
    # facts that are never split on (answered by the law data, or counted as not done unless
    # stated): the reasoning leaves them as they are
    fixed: frozenset[str] = frozenset()
    # the order in which the law reads the facts (for ties and for listing)
    order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.trace is None:  # the interpreter's monotone reading
            object.__setattr__(self, "trace", lambda record, as_of, given: _seeded(
                self, Monotone(record, as_of), given))
        object.__setattr__(self, "analysis", Analysis(self.nodes.values()))
        object.__setattr__(self, "reads", {name: _reads(node)
                                           for name, node in self.nodes.items()})

    analysis: Analysis = field(init=False, repr=False)
    reads: dict[str, frozenset[str]] = field(init=False, repr=False)


def _reads(node: Expr) -> frozenset[str]:
    out: set[str] = set()
    for n in node.distinct():
        if isinstance(n, Fact):
            out.add(n.path)
        elif isinstance(n, Quantifier):
            out.add("route")
    return frozenset(out)


# --- facts by concrete path ------------------------------------------------------------------

def get(record: Mapping[str, Any], path: str) -> Any:
    if path.startswith("route["):
        i, name = int(path[6:path.index("]")]), path.split(".", 1)[1]
        return record["route"][i].get(name)
    return read_fact(dict(record), path)


def put(record: Mapping[str, Any], path: str, value: Any) -> Record:
    """A copy of ``record`` with one fact set (copying only what changes)."""
    rec = dict(record)
    if path.startswith("route["):
        i, name = int(path[6:path.index("]")]), path.split(".", 1)[1]
        legs = list(rec["route"])
        legs[i] = dict(legs[i]) | {name: value}
        rec["route"] = legs
    elif path.startswith("fear_of_receiving_country."):
        rec["fear_of_receiving_country"] = dict(rec.get("fear_of_receiving_country") or {}) \
            | {path.split(".", 1)[1]: value}
    elif "." in path:
        head, tail = path.split(".", 1)
        rec[head] = dict(rec.get(head) or {}) | {tail: value}
    else:
        rec[path] = value
    return rec


def slots(problem: Problem, record: Mapping[str, Any], patterns: Iterable[str]) -> list[str]:
    """The concrete fact paths of ``patterns`` in this record, in the given order."""
    route = record.get("route")
    out: list[str] = []
    for p in patterns:
        if p.startswith("route[]."):
            out.extend(p.replace("[]", f"[{i}]") for i in range(len(route or [])))
        else:
            out.append(p)
    return out


# --- exploring the worlds --------------------------------------------------------------------

@dataclass
class Leaf:
    assigned: dict[str, Any]  # the facts fixed on the way here
    outcome: Outcome
    values: Values
    record: Record | None = None  # the facts at this leaf


@dataclass
class Worlds:
    """The leaves of one exploration, and what follows from them."""

    problem: Problem
    record: Record  # the case as given
    base: Values  # the Kleene values of the case as given
    leaves: list[Leaf]
    complete: bool  # False when the exploration hit its budget (then: unknown is kept)
    choices: dict[str, list[Any]]  # the class values tried for each fact split on
    decisive: tuple[int, ...] = ()  # the parts this exploration settles
    as_of: dt.date = dt.date.min

    def part(self, i: int) -> Any:
        if len(self.leaves) == 1:
            return self.leaves[0].outcome[i]
        vals = {leaf.outcome[i] for leaf in self.leaves}
        return next(iter(vals)) if len(vals) == 1 else None

    def parts(self, i: int) -> list[Any]:
        return list(dict.fromkeys(leaf.outcome[i] for leaf in self.leaves))

    def node(self, name: str) -> Any:
        if len(self.leaves) == 1:
            return self.leaves[0].values[name]
        vals = {leaf.values[name] for leaf in self.leaves}
        return next(iter(vals)) if len(vals) == 1 else None

    @property
    def outcome(self) -> Outcome:
        return tuple(self.part(i) for i in range(len(self.leaves[0].outcome)))

    def settled(self) -> bool:
        out = self.outcome
        return all(out[i] is not None for i in self.decisive)

    def _key(self, leaf: Leaf) -> tuple:
        return tuple(leaf.outcome[i] for i in self.decisive)

    @cached_property
    def _relevant(self) -> list[str]:
        return self._find_relevant()

    def relevant(self) -> list[str]:
        return self._relevant

    def _find_relevant(self) -> list[str]:
        """The facts on which the outcome depends in some world, in the order first split on."""
        found: dict[str, None] = {}
        groups: dict[tuple, list[Leaf]] = {}
        for leaf in self.leaves:
            groups.setdefault(self._key(leaf), []).append(leaf)
        missing = object()
        for (_, g1), (_, g2) in itertools.combinations(groups.items(), 2):
            for a in g1:
                for b in g2:
                    bb = b.assigned
                    only, n = None, 0
                    for s, v in a.assigned.items():  # stop at a second difference
                        u = bb.get(s, missing)
                        if u is not missing and u != v:
                            n += 1
                            if n > 1:
                                break
                            only = s
                    if n == 1:
                        found[only] = None
        return [s for s in self.choices if s in found]

    @cached_property
    def _consistent(self) -> dict[tuple[str, Any], list[Leaf]]:
        return {}

    def consistent(self, path: str, value: Any) -> list[Leaf]:
        """The leaves whose worlds include one where ``path`` has ``value`` (and the facts
        could all be true at once). Kept per answer: the questions ask it again for each
        fact they pair it with."""
        key = (path, value)
        got = self._consistent.get(key)
        if got is None:
            got = self._consistent[key] = self._find_consistent(path, value)
        return got

    def _find_consistent(self, path: str, value: Any) -> list[Leaf]:
        out = []
        for leaf in self.leaves:
            if path in leaf.assigned:
                if leaf.assigned[path] == value:
                    out.append(leaf)
            elif leaf.record is None or _can_be(self, leaf.record, path, value):
                out.append(leaf)
        return out

    def settles(self, path: str, value: Any) -> dict[int, Any]:
        """The parts settled by answering ``path`` with ``value`` (index → value)."""
        leaves = self.consistent(path, value)
        out = {}
        for i in self.decisive:
            vals = {leaf.outcome[i] for leaf in leaves}
            if len(vals) == 1 and None not in vals:
                out[i] = next(iter(vals))
        return out


def explore(problem: Problem, record: Record, as_of: dt.date, budget: int = 2000,
            base: Values | None = None, parts: Sequence[int] | None = None,
            given: Mapping[str, Any] | None = None, agree_only: bool = False) -> Worlds:
    """Split the unknown facts the unsettled ``parts`` of the outcome read (default: every
    decisive part) until each leaf settles them. ``given``: output nodes whose value is known
    to hold in every world. ``agree_only``: only whether every world agrees matters, so the
    search stops at the first leaf that disagrees with an earlier one (its worlds are then
    incomplete and its parts unsettled)."""
    given = given or {}
    base = problem.evaluate(record, as_of, given) if base is None else base
    leaves: list[Leaf] = []
    choices: dict[str, list[Any]] = {}
    spent = [0]
    complete = [True]
    decisive = tuple(problem.decisive if parts is None else parts)
    rank = {p: i for i, p in enumerate(problem.order)}

    seen: set[tuple] = set()  # the outcomes of the leaves so far (``agree_only``)

    def leaf(leaf: Leaf) -> None:
        leaves.append(leaf)
        if agree_only:
            seen.add(tuple(leaf.outcome[i] for i in decisive))
            if len(seen) > 1:
                complete[0] = False

    def walk(rec: Record, values: Values, assigned: dict[str, Any]) -> None:
        if agree_only and len(seen) > 1:
            return
        out = problem.outcome(values)
        open_parts = [i for i in decisive if out[i] is None]
        if not open_parts:
            leaf(Leaf(assigned, out, values, rec))
            return
        path = _split_on(problem, rec, as_of, values, open_parts, rank, given)
        if path is None:  # what is still open, the law itself leaves open
            leaf(Leaf(assigned, out, values))
            return
        if spent[0] >= budget:
            complete[0] = False
            leaf(Leaf(assigned, out, values))
            return
        tried = choices.setdefault(path, [])
        branches = 0
        for v in problem.analysis.classes(rec, path, as_of):
            nxt = put(rec, path, v)
            if not problem.possible(nxt, as_of):
                continue
            if v not in tried:
                tried.append(v)
            spent[0] += 1
            branches += 1
            walk(nxt, problem.evaluate(nxt, as_of, given), assigned | {path: _key(v)})
        if not branches:  # no value fits the other facts: keep the leaf as it is
            leaf(Leaf(assigned, out, values))

    walk(record, base, {})
    return Worlds(problem, record, base, leaves, complete[0], choices, decisive, as_of)


def _can_be(w: Worlds, record: Record, path: str, value: Any) -> bool:
    """Whether a fact unknown at a leaf can take ``value`` there (a class key as stored)."""
    if path == "route" or isinstance(value, tuple):
        return True  # lists and routes: not checked (their keys are not the values)
    try:
        return w.problem.possible(put(record, path, value), w.as_of)
    except (KeyError, IndexError, TypeError):
        return True


def _seeded(problem: Problem, ev: Monotone, given: Mapping[str, Any] | None) -> Monotone:
    for name, v in (given or {}).items():  # a node that holds in every world waits on nothing
        ev.seed(problem.nodes[name], v)
    return ev


def _key(v: Any) -> Any:
    """A hashable form of a fact value (a route or a list of nationalities)."""
    if isinstance(v, list):
        return tuple(_key(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _key(x)) for k, x in v.items()))
    return v


def is_fixed(path: str, fixed: frozenset[str]) -> bool:
    """``fixed`` names facts, or families of them as ``prefix.*``."""
    return path in fixed or (path.split(".", 1)[0] + ".*") in fixed or pattern(path) in fixed


def unknown_slots(problem: Problem, record: Mapping[str, Any], names: Iterable[str]
                  ) -> list[str]:
    """The unknown facts read by the output nodes ``names`` (free ones only)."""
    pats: dict[str, None] = {}
    for name in names:
        for p in problem.reads[name]:
            pats[p] = None
    out = []
    route = record.get("route")
    for p in sorted(pats):  # the reads are sets: a fixed order, whatever the hash seed
        if is_fixed(p, problem.fixed):
            continue
        if p == "route":
            if route is None:
                out.append("route")
            continue
        if p.startswith("route[]."):
            if route is None:
                continue
            out.extend(s for s in slots(problem, record, [p]) if get(record, s) is None)
        elif get(record, p) is None:
            out.append(p)
    return out


def _split_on(problem: Problem, rec: Record, as_of: dt.date, values: Values,
              open_parts: Sequence[int], rank: Mapping[str, int],
              given: Mapping[str, Any]) -> str | None:
    """The unknown fact to split on: the one most often met under the unknown nodes the open
    parts are derived from, descending only through nodes whose value is still unknown (a node
    already settled cannot change whatever the facts under it are); the route last (it opens
    new facts of its own)."""
    ev = problem.trace(rec, as_of, given)  # a node that holds in every world waits on nothing
    score: dict[str, int] = {}
    seen: set[tuple[int, int | None]] = set()
    for i in open_parts:
        for name in problem.part_nodes[i]:
            if values[name] is None:
                _support(ev, problem.nodes[name], None, score, seen, problem.fixed)
    if not score:
        return None
    return min(score, key=lambda s: (s == "route", -score[s],
                                     rank.get(pattern(s), len(rank)), s))


def waits_on(problem: Problem, record: Record, as_of: dt.date, names: Iterable[str],
             given: Mapping[str, Any] | None = None) -> list[str]:
    """Every unknown fact (fixed ones included) the nodes ``names`` wait on, in the monotone
    reading: the facts whose statement could still change them."""
    ev = problem.trace(record, as_of, given)
    score: dict[str, int] = {}
    seen: set[tuple[int, int | None]] = set()
    for name in names:
        _support(ev, problem.nodes[name], None, score, seen, frozenset())
    return list(score)


def _support(ev: Any, node: Expr, leg: int | None, score: dict[str, int],
             seen: set[tuple[int, int | None]], fixed: frozenset[str]) -> None:
    key = (id(node), leg)
    if key in seen:
        return
    seen.add(key)
    if isinstance(node, Fact):
        if node.is_leg:
            value = (ev.route or [])[leg].get(node.path.removeprefix("route[].")) \
                if leg is not None else None
        else:
            value = read_fact(ev.record, node.path)
        if value is None and not is_fixed(node.path, fixed):
            path = node.path.replace("[]", f"[{leg}]") if node.is_leg else node.path
            score[path] = score.get(path, 0) + 1
        return
    try:
        if ev.value(node, leg) is not None:
            return
    except KeyError:  # a value this evaluation does not hold: read what lies under it
        pass
    if isinstance(node, Quantifier) and leg is None:
        route = ev.route
        if route is None:
            score["route"] = score.get("route", 0) + 1
            return
        legs_of = getattr(ev, "legs_of", None)
        if legs_of is None:
            for i in range(len(route)):
                _support(ev, node.body, i, score, seen, fixed)
            return
        # on each leg still unknown: the unknown facts its body reads
        paths, _ = reads_of(node.body)
        for i, v in enumerate(legs_of(node)):
            if v is not None:
                continue
            for path, is_leg in paths:
                value = route[i].get(path.removeprefix("route[].")) if is_leg \
                    else read_fact(ev.record, path)
                if value is None and not is_fixed(path, fixed):
                    at = path.replace("[]", f"[{i}]") if is_leg else path
                    score[at] = score.get(at, 0) + 1
        return
    for child in node.children():
        _support(ev, child, leg, score, seen, fixed)
