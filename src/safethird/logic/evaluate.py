"""Per-case evaluation of rule trees, Kleene three-valued (``None`` = unknown), with a trace."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from safethird.logic.expr import (
    AddYears,
    And,
    Clause,
    Compare,
    Const,
    Contains,
    Either,
    Expr,
    Fact,
    In,
    IsEmpty,
    IsTrue,
    Lookup,
    Not,
    Or,
    Overlaps,
    Param,
    Quantifier,
)

_OPS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def kleene_and(values: Iterable[Any]) -> bool | None:
    vals = list(values)
    if any(v is False for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def kleene_or(values: Iterable[Any]) -> bool | None:
    vals = list(values)
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False


def kleene_not(value: Any) -> bool | None:
    return None if value is None else not value


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # Feb. 29 in a year that has none: the last day of February
        return d.replace(year=d.year + years, day=28)


def read_fact(record: dict[str, Any], path: str) -> Any:
    """The value of a case fact by path; absent anywhere along the path = unknown (None)."""
    value: Any = record
    for part in path.split(".", 1) if path.startswith("fear_of_receiving_country.") else \
            path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass
class LegValue:
    """A quantifier's result with the value of its body on each leg (for the trace)."""

    value: bool | None
    legs: list[bool | None]


class Evaluation:
    """Evaluates nodes of one case, sharing results between outputs that reuse a clause."""

    def __init__(self, record: dict[str, Any], as_of: dt.date):
        self.record = record
        self.as_of = as_of
        self._cache: dict[tuple[int, int | None], Any] = {}
        self.quantifiers: dict[int, LegValue] = {}

    @property
    def route(self) -> list[dict[str, Any]] | None:
        return self.record.get("route")

    def seed(self, node: Expr, value: Any) -> None:
        """Take ``value`` as the case-level value of ``node`` (one known by other means)."""
        self._cache[(id(node), None)] = value

    def value(self, node: Expr, leg: int | None = None) -> Any:
        key = (id(node), leg)
        if key in self._cache:
            return self._cache[key]
        result = self._eval(node, leg)
        self._cache[key] = result
        return result

    def _eval(self, node: Expr, leg: int | None) -> Any:
        v = self.value
        match node:
            case Const(value=value):
                return value
            case Param():
                return self.as_of
            case Fact(path=path) if node.is_leg:
                if leg is None:
                    raise ValueError(f"leg fact {path} outside a quantifier")
                return (self.route or [])[leg].get(path.removeprefix("route[]."))
            case Fact(path=path):
                return read_fact(self.record, path)
            case Clause(expr=expr):
                return v(expr, leg)
            case And(args=args):
                return kleene_and(v(a, leg) for a in args)
            case Or(args=args):
                return kleene_or(v(a, leg) for a in args)
            case Not(arg=arg):
                return kleene_not(v(arg, leg))
            case IsTrue(arg=arg):
                return v(arg, leg) is True
            case Either(true_if=t, false_if=f):
                if v(t, leg) is True:
                    return True
                return False if v(f, leg) is True else None
            case Compare(op=op, left=left, right=right):
                a, b = v(left, leg), v(right, leg)
                return None if a is None or b is None else _OPS[op](a, b)
            case In(value=value, values=values):
                x = v(value, leg)
                return None if x is None else x in values
            case Contains(items=items, item=item):
                xs, x = v(items, leg), v(item, leg)
                return None if xs is None or x is None else x in xs
            case Overlaps(items=items, values=values):
                xs = v(items, leg)
                return None if xs is None else any(x in values for x in xs)
            case AddYears(date=date, years=years):
                d = v(date, leg)
                return None if d is None else add_years(d, years)
            case IsEmpty(items=items):
                xs = v(items, leg)
                return None if xs is None else len(xs) == 0
            case Lookup(mapping=mapping, key=key):
                k = v(key, leg)
                return None if k is None else mapping.get(k)
            case Quantifier(kind=kind, body=body):
                route = self.route
                if route is None:
                    self.quantifiers[id(node)] = LegValue(None, [])
                    return None
                legs = [v(body, i) for i in range(len(route))]
                result = kleene_or(legs) if kind == "any" else kleene_and(legs)
                self.quantifiers[id(node)] = LegValue(result, legs)
                return result
        raise TypeError(f"cannot evaluate {type(node).__name__}")


class Monotone(Evaluation):
    """The same evaluation with "known to be true" read as the value itself: where the rules
    say "if shown" (a fact not shown counts as not established), this one still says that the
    answer waits on the fact. The exact reasoning uses it to find the facts an unknown answer
    waits on, never for an answer."""

    def _eval(self, node: Expr, leg: int | None) -> Any:
        if isinstance(node, IsTrue):
            return self.value(node.arg, leg)
        return super()._eval(node, leg)


def evaluate(node: Expr, record: dict[str, Any], as_of: dt.date) -> Any:
    return Evaluation(record, as_of).value(node)


# What a tree reads never changes: read once per node (trees live as long as their rule set).
_READS: dict[int, tuple[Expr, tuple[tuple[str, bool], ...], bool]] = {}
_CLAUSES: dict[int, tuple[Expr, tuple[Clause, ...]]] = {}


def _reads(node: Expr) -> tuple[tuple[tuple[str, bool], ...], bool]:
    """The fact paths under a node in the order written (with whether each is a leg fact), and
    whether it quantifies over the route."""
    got = _READS.get(id(node))
    if got is None or got[0] is not node:
        paths: dict[str, bool] = {}
        quantifies = False
        seen: set[int] = set()
        stack = [node]
        order: list[Expr] = []
        while stack:  # depth first, children in order, each shared node once
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            order.append(n)
            stack.extend(reversed(n.children()))
        for n in order:
            if isinstance(n, Fact):
                paths.setdefault(n.path, n.is_leg)
            elif isinstance(n, Quantifier):
                quantifies = True
        got = (node, tuple(paths.items()), quantifies)
        _READS[id(node)] = got
    return got[1], got[2]


def fact_values(node: Expr, ev: Evaluation) -> dict[str, Any]:
    """The facts a clause reads, by concrete path (``route[1].country``), with their values."""
    out: dict[str, Any] = {}
    route = ev.route
    paths, quantifies = _reads(node)
    if quantifies and route is None:
        out["route"] = None
    for path, is_leg in paths:
        if is_leg:
            name = path.removeprefix("route[].")
            for i, leg in enumerate(route or []):
                out[path.replace("[]", f"[{i}]")] = leg.get(name)
        else:
            out[path] = read_fact(ev.record, path)
    return out


def clauses_under(root: Expr) -> tuple[Clause, ...]:
    """Every clause under ``root`` at case level (not inside a quantifier), in order."""
    got = _CLAUSES.get(id(root))
    if got is None or got[0] is not root:
        seen: set[int] = set()
        out: list[Clause] = []

        def visit(n: Expr) -> None:
            if id(n) in seen:
                return
            seen.add(id(n))
            if isinstance(n, Clause):
                out.append(n)
            if isinstance(n, Quantifier):
                return
            for c in n.children():
                visit(c)

        visit(root)
        got = (root, tuple(out))
        _CLAUSES[id(root)] = got
    return got[1]


def clause_trace(root: Expr, ev: Evaluation) -> list[tuple[Clause, Any]]:
    """(clause, value) for every clause under ``root`` evaluated at case level, in order."""
    return [(c, ev.value(c)) for c in clauses_under(root)]
