"""The rule language: a small expression tree over case facts.

A rule is written once as a tree of these nodes. ``evaluate`` reads it per case (with a trace),
``vectorize`` compiles it to Polars expressions for tables; both use Kleene three-valued logic
(``None`` / null = unknown), and a property test holds them equal.

Nodes that carry legal meaning are wrapped in :class:`Clause`, which gives them an id, the text
of the condition in plain English, and the citation of the provision it implements. Clauses are
what explanations, batch columns and missing-fact reports are made of.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

_ids = itertools.count()


class Expr:
    """Base node. ``&``, ``|`` and ``~`` build Kleene and / or / not."""

    def children(self) -> tuple[Expr, ...]:
        return ()

    def __and__(self, other: Expr) -> Expr:
        return And((self, other))

    def __or__(self, other: Expr) -> Expr:
        return Or((self, other))

    def __invert__(self) -> Expr:
        return Not(self)

    # comparisons build nodes; Python's == stays identity so nodes can live in sets/dicts
    def eq(self, other: Any) -> Expr:
        return Compare("==", self, lit(other))

    def lt(self, other: Any) -> Expr:
        return Compare("<", self, lit(other))

    def ge(self, other: Any) -> Expr:
        return Compare(">=", self, lit(other))

    def gt(self, other: Any) -> Expr:
        return Compare(">", self, lit(other))

    def isin(self, values: Sequence[Any]) -> Expr:
        return In(self, tuple(values))

    def walk(self) -> Iterator[Expr]:
        yield self
        for c in self.children():
            yield from c.walk()

    def distinct(self, seen: set[int] | None = None) -> Iterator[Expr]:
        """Every node under this one once (a shared subtree is not walked again), in the
        order ``walk`` first meets them; ``seen``: nodes already met (shared across roots)."""
        seen = set() if seen is None else seen
        stack: list[Expr] = [self]
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            yield n
            stack.extend(reversed(n.children()))


def lit(value: Any) -> Expr:
    return value if isinstance(value, Expr) else Const(value)


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: Any
    kind: Literal["bool", "date", "str"] | None = None


UNKNOWN = Const(None, "bool")


@dataclass(frozen=True, eq=False)
class Fact(Expr):
    """A case fact by path (``arrival.date``), or a route-leg fact inside a quantifier
    (``route[].country``)."""

    path: str

    @property
    def is_leg(self) -> bool:
        return self.path.startswith("route[].")


@dataclass(frozen=True, eq=False)
class Param(Expr):
    """A parameter of the determination rather than a fact (only ``as_of``)."""

    name: Literal["as_of"]


@dataclass(frozen=True, eq=False)
class Compare(Expr):
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class In(Expr):
    """``value`` is one of the constant ``values`` (unknown if value is unknown)."""

    value: Expr
    values: tuple[Any, ...]

    def children(self) -> tuple[Expr, ...]:
        return (self.value,)


@dataclass(frozen=True, eq=False)
class Contains(Expr):
    """The list-valued fact ``items`` contains ``item``."""

    items: Fact
    item: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.items, self.item)


@dataclass(frozen=True, eq=False)
class Overlaps(Expr):
    """The list-valued fact ``items`` has at least one of the constant ``values``."""

    items: Fact
    values: tuple[str, ...]

    def children(self) -> tuple[Expr, ...]:
        return (self.items,)


@dataclass(frozen=True, eq=False)
class AddYears(Expr):
    """A date plus whole years (Feb. 29 + 1 year = Feb. 28), e.g. the day a person turns 18."""

    date: Expr
    years: int

    def children(self) -> tuple[Expr, ...]:
        return (self.date,)


@dataclass(frozen=True, eq=False)
class IsEmpty(Expr):
    """The list-valued fact ``items`` is empty (e.g. no nationality: stateless)."""

    items: Fact

    def children(self) -> tuple[Expr, ...]:
        return (self.items,)


@dataclass(frozen=True, eq=False)
class And(Expr):
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, eq=False)
class Or(Expr):
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, eq=False)
class Not(Expr):
    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


@dataclass(frozen=True, eq=False)
class IsTrue(Expr):
    """Two-valued: true only if ``arg`` is known to be true (unknown counts as not shown).

    Used where the law puts a burden on the person (a fact not shown is not established), never
    to turn an unknown fact into a silent default: the unknown fact is still reported missing.
    """

    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


@dataclass(frozen=True, eq=False)
class Either(Expr):
    """True when ``true_if`` is known true, false when ``false_if`` is, else unknown.

    For a condition the facts settle from either side ("not a party on any day of the transit"
    is settled by a day before it joined, or by a day after); the rule must make the two sides
    exclusive (they can never both be true of consistent facts). Unlike ``IsTrue`` it stays
    three-valued, so the reasoning over unknown facts sees what the answer waits on."""

    true_if: Expr
    false_if: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.true_if, self.false_if)


@dataclass(frozen=True, eq=False)
class Lookup(Expr):
    """A law-data table keyed by the value of ``key`` (a country, a state), e.g. the date a
    country became party to a treaty. Keys absent from the table give unknown."""

    table: str
    mapping: Mapping[str, Any]
    key: Expr
    kind: Literal["date", "str"]

    def children(self) -> tuple[Expr, ...]:
        return (self.key,)


@dataclass(frozen=True, eq=False)
class Quantifier(Expr):
    """``any`` / ``all`` route legs satisfy ``body`` (Kleene: unknown legs stay unknown;
    an empty route gives false for ``any`` and true for ``all``; an unknown route, unknown)."""

    kind: Literal["any", "all"]
    body: Expr
    qid: str = field(default_factory=lambda: f"_q{next(_ids)}")

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)


@dataclass(frozen=True, eq=False)
class Clause(Expr):
    """A named legal condition: id, plain-English text, citation."""

    id: str
    text: str
    citation: str
    expr: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.expr,)


def any_leg(body: Expr) -> Quantifier:
    return Quantifier("any", body)


def all_legs(body: Expr) -> Quantifier:
    return Quantifier("all", body)


def fact(path: str) -> Fact:
    return Fact(path)


AS_OF = Param("as_of")


def date(s: str | dt.date) -> Const:
    return Const(dt.date.fromisoformat(s) if isinstance(s, str) else s, "date")


def all_of(*args: Expr) -> Expr:
    return args[0] if len(args) == 1 else And(tuple(args))


def any_of(*args: Expr) -> Expr:
    if not args:
        return Const(False, "bool")
    return args[0] if len(args) == 1 else Or(tuple(args))
