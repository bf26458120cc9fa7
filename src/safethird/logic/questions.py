"""Missing facts, ranked, with what each answer would settle; and the facts that could not
change an answer (what it holds regardless of).

Read off the worlds of :mod:`safethird.logic.exact`: a fact is missing when the outcome depends
on it in some world. The one that settles most comes first: a fact with an answer that settles
the pathway alone before one that needs another fact with it, then by the share of its answers
that settle the pathway, then by how many parts of the outcome its answers settle on average,
then in the order the law reads the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safethird.logic.exact import Worlds, unknown_slots
from safethird.logic.expr import Clause


@dataclass
class Question:
    fact: str
    alone: bool  # some answer settles the pathway by itself
    settles: list[dict[str, Any]]  # [{"value", "pathway"}] the answers that settle the pathway
    with_: list[str] = field(default_factory=list)  # facts needed with it otherwise
    clauses: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "alone": self.alone, "settles": self.settles,
                "with": self.with_, "clauses": self.clauses, "citations": self.citations}


def questions(w: Worlds, others: Sequence[Worlds], pathway_part: int,
              not_asked: frozenset[str] = frozenset(), answer: Any = None,
              decided: frozenset[str] = frozenset()) -> list[Question]:
    """The missing facts as questions, ranked: those of the pathway's worlds ``w``, then those
    only the other parts' worlds (the findings) depend on. ``not_asked`` facts (decisions of an
    authority) are left out. ``answer`` turns a class value into what the user is shown.
    ``decided``: output nodes of answers settled over every world, never a reason to ask."""
    show = answer or _plain
    problem = w.problem
    rank = {p: i for i, p in enumerate(problem.order)}
    everyone = [w, *others]
    relevant = list(dict.fromkeys(f for x in everyone for f in x.relevant()
                                  if f not in not_asked and _top(f) not in not_asked))
    scored = []
    for f in relevant:
        tried = w.choices.get(f, [])
        settled = []
        by_value = []
        for v in tried:
            by_value.append((v, w.settles(f, _hashable(v)).get(pathway_part)))
        for v, pathway in _merge(f, by_value, show):
            if pathway is not None:
                settled.append({"value": v, "pathway": pathway})
        share = sum(p is not None for _, p in by_value) / len(by_value) if by_value else 0.0
        parts, n = 0, 0
        for x in others:
            for v in x.choices.get(f, []):
                parts += len(x.settles(f, _hashable(v)))
                n += 1
        avg = parts / n if n else 0.0
        moves = f in w.relevant()
        every = bool(by_value) and all(p is not None for _, p in by_value)
        scored.append(((not settled, not moves, -share, -avg, rank.get(_pattern(f), len(rank)),
                        f), f, settled, every))
    scored.sort(key=lambda x: x[0])
    out = []
    names_of = _nodes_reading(w, frozenset(problem.part_nodes[pathway_part]) | decided) \
        if scored else {}
    rows_of: dict[str, list[Clause]] | None = None
    for _, f, settled, _every in scored:
        with_ = [] if settled else _together(w, f, [g for g in relevant if g != f],
                                             pathway_part)
        clauses = names_of.get(f, [])[:3]  # "why we ask": the first clauses it can settle
        if not clauses:  # a fact only the procedure reads (not an open finding): its rows
            if rows_of is None:
                rows_of = _nodes_reading(w, decided)
            clauses = rows_of.get(f, [])[:1]  # the first row that reads it
        out.append(Question(f, bool(settled), settled, with_, [c.id for c in clauses],
                            list(dict.fromkeys(c.citation for c in clauses))))
    return out


def _together(w: Worlds, f: str, others: Sequence[str], part: int) -> list[str]:
    """The facts that, answered with ``f``, can settle the pathway: some pair of answers
    leaves worlds that all agree on it."""
    out = []
    for g in others:
        done = False
        for v in w.choices.get(f, []):
            with_v = w.consistent(f, _hashable(v))
            for u in w.choices.get(g, []):
                u = _hashable(u)
                # every leaf consistent with both answers gives the same settled pathway
                first, agree = None, True
                for leaf in with_v:
                    if g in leaf.assigned and leaf.assigned[g] != u:
                        continue
                    p = leaf.outcome[part]
                    if p is None or (first is not None and p != first):
                        agree = False
                        break
                    first = p
                if agree and first is not None:
                    done = True
                    break
            if done:
                break
        if done:
            out.append(g)
    return out


def _nodes_reading(w: Worlds, skip: frozenset[str] = frozenset()) -> dict[str, list[Clause]]:
    """For each unknown fact, the output clauses still unknown in the case that read it (not
    those of ``skip``: the pathway's rows, which read every fact of the findings)."""
    out: dict[str, list[Clause]] = {}
    problem = w.problem
    for name, node in problem.nodes.items():
        if name in skip or w.base.get(name) is not None or not isinstance(node, Clause):
            continue
        for s in unknown_slots(problem, _record_of(w), [name]):
            lst = out.setdefault(s, [])
            if all(c.id != node.id for c in lst):
                lst.append(node)
    return out


def _record_of(w: Worlds) -> Mapping[str, Any]:
    return w.record


def regardless(w: Worlds, names: Sequence[str] = ()) -> list[str]:
    """The unknown facts an answer waited on (those the search split on) when it came out the
    same whatever they are."""
    relevant = set(w.relevant())
    return [f for f in w.choices if f not in relevant]


def _top(path: str) -> str:
    return path.split("[", 1)[0] if path.startswith("route[") else path


def _pattern(path: str) -> str:
    from safethird.logic.domains import pattern

    return pattern(path)


def _hashable(v: Any) -> Any:
    from safethird.logic.exact import _key

    return _key(v)


def _merge(path: str, by_value: list[tuple[Any, Any]], show: Any) -> list[tuple[Any, Any]]:
    """(answer as shown, pathway) for each class of answers. Days are tried one either side
    of each day the law compares them with, so the days that give the same pathway are merged
    into the interval they form (its last day inclusive)."""
    days = sorted((v, p) for v, p in by_value if isinstance(v, dt.date))
    if not days:
        return [(show(path, v), p) for v, p in by_value]
    out: list[tuple[Any, Any]] = []
    start = None
    for i, (day, p) in enumerate(days):
        lo = start if start is not None else (
            None if i == 0 else days[i - 1][0] + dt.timedelta(days=1))
        if i + 1 < len(days) and days[i + 1][1] == p:
            start = lo if lo is not None else _FIRST
            continue
        start = None
        hi = None if i + 1 == len(days) else day
        out.append((_interval(None if lo is _FIRST else lo, hi), p))
    return out


_FIRST = dt.date.min


def _interval(lo: dt.date | None, hi: dt.date | None) -> str:
    if lo is None and hi is None:
        return "any date"
    if lo is None:
        return f"on or before {hi.isoformat()}"  # type: ignore[union-attr]
    if hi is None:
        return f"on or after {lo.isoformat()}"
    if lo == hi:
        return lo.isoformat()
    return f"from {lo.isoformat()} through {hi.isoformat()}"


def _plain(path: str, v: Any) -> Any:
    """A value as the user reads it (a route as its countries)."""
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return [leg.get("country") for leg in v]
    return v
