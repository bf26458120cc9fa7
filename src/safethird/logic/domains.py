"""The values an unknown fact can take, split into the classes a rule set can tell apart.

A rule set compares a fact only with a few things: constants (a partner, a change date), other
facts of the case (the route's countries, the arrival date), the as-of date, and law tables
keyed by it (a country's treaty dates, a state's circuit). Two values the rule set cannot tell
apart give the same answer everywhere, so deciding over one representative of each class is
deciding over every value. This module finds those classes by reading the trees once
(:class:`Analysis`) and, per case, choosing a representative of each class
(:meth:`Analysis.classes`).

What is approximate is said where it is: a list of nationalities is tried as none or one
nationality; an unknown route as none, one leg, or one leg then Mexico.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from safethird import facts as facts_mod
from safethird.logic.evaluate import add_years
from safethird.logic.expr import (
    AddYears,
    Compare,
    Const,
    Contains,
    Expr,
    Fact,
    In,
    Lookup,
    Overlaps,
    Param,
)

ONE_DAY = dt.timedelta(days=1)
MEXICO = "MX"


def pattern(path: str) -> str:
    """``route[2].country`` → ``route[].country``: the fact as the rules name it."""
    if path.startswith("route["):
        return "route[]." + path.split(".", 1)[1]
    return path


@dataclass
class Mentions:
    """What the rule set compares one fact with."""

    constants: set[Any] = field(default_factory=set)
    value_sets: list[frozenset[Any]] = field(default_factory=list)
    # (other fact pattern, years added to this fact, years added to the other)
    facts: set[tuple[str, int, int]] = field(default_factory=set)
    as_of: set[int] = field(default_factory=set)  # years added to this fact
    lookups: list[Lookup] = field(default_factory=list)  # tables keyed by this fact
    # (table compared with this fact, years added to this fact)
    compared_lookups: list[tuple[Lookup, int]] = field(default_factory=list)


def _base(e: Expr) -> tuple[Expr, int]:
    years = 0
    while isinstance(e, AddYears):
        years += e.years
        e = e.date
    return e, years


class Analysis:
    """The comparisons of a rule set, read once."""

    def __init__(self, roots: Iterable[Expr]):
        self.mentions: dict[str, Mentions] = defaultdict(Mentions)
        self._country_classes: dict[tuple, list[str]] = {}
        seen: set[int] = set()
        for root in roots:
            for n in root.distinct(seen):
                self._read(n)

    def _read(self, n: Expr) -> None:
        m = self.mentions
        match n:
            case Compare(left=left, right=right):
                (a, ya), (b, yb) = _base(left), _base(right)
                for (x, yx), (y, yy) in (((a, ya), (b, yb)), ((b, yb), (a, ya))):
                    if not isinstance(x, Fact):
                        continue
                    if isinstance(y, Const) and y.value is not None:
                        # x + yx OP c  ⇔  x OP c - yx
                        m[x.path].constants.add(add_years(y.value, yy - yx)
                                                if isinstance(y.value, dt.date) else y.value)
                    elif isinstance(y, Fact):
                        m[x.path].facts.add((y.path, yx, yy))
                    elif isinstance(y, Param):
                        m[x.path].as_of.add(yx - yy)
                    elif isinstance(y, Lookup):
                        m[x.path].compared_lookups.append((y, yx - yy))
            case In(value=value, values=values) if isinstance(value, Fact):
                m[value.path].value_sets.append(frozenset(values))
            case In(value=Lookup() as lk, values=values) if isinstance(lk.key, Fact):
                m[lk.key.path].lookups.append(
                    Lookup(lk.table, {k: v in values for k, v in lk.mapping.items()}, lk.key,
                           "str"))
            case Overlaps(items=items, values=values):
                m[items.path].value_sets.append(frozenset(values))
            case Contains(items=items, item=item):
                if isinstance(item, Const):
                    m[items.path].constants.add(item.value)
                elif isinstance(item, Fact):
                    m[items.path].facts.add((item.path, 0, 0))
                    m[item.path].facts.add((items.path, 0, 0))
            case Lookup(key=key) if isinstance(key, Fact):
                m[key.path].lookups.append(n)

    @cached_property
    def _country_universe(self) -> tuple[str, ...]:
        return tuple(sorted(facts_mod.country_codes()))

    def classes(self, record: Mapping[str, Any], path: str, as_of: dt.date) -> list[Any]:
        """One representative value per class of ``path``'s values (the path as the record
        names it: ``route[0].country``), given the known facts of ``record``."""
        if path == "route":
            return self._routes(record, as_of)
        spec = facts_mod.spec(pattern(path))
        kind = spec.kind
        if kind == "bool":
            return [True, False]
        if kind == "enum":  # compared with fixed values only: the same classes in every case
            got = self._state_classes.get(pattern(path))
            if got is None:
                mm = self._signature_parts(path)
                got = self._state_classes[pattern(path)] = _representatives(
                    spec.values, lambda v: (tuple(v in x for x in mm.value_sets),
                                            tuple(v == c for c in mm.constants)), ())
            return list(got)
        if kind == "date":
            return self._dates(record, path, as_of)
        if kind == "country":
            return self._countries(record, path, as_of)
        if kind == "countries":
            return [[], *([c] for c in self._countries(record, path, as_of))]
        if kind == "state":
            return self._states(record, path)
        return []

    # --- countries and states: group the universe by what the rules can see of a value ---

    def _partner_values(self, record: Mapping[str, Any], path: str) -> list[Any]:
        """The known values of the facts ``path`` is compared with (all legs for a leg fact)."""
        out: list[Any] = []
        for other, _, _ in self.mentions.get(pattern(path), Mentions()).facts:
            out.extend(_values_of(record, other))
        return out

    def _signature_parts(self, path: str) -> Mentions:
        return self.mentions.get(pattern(path), Mentions())

    def _countries(self, record: Mapping[str, Any], path: str, as_of: dt.date) -> list[str]:
        mm = self._signature_parts(path)
        partners = {v for v in self._partner_values(record, path) if isinstance(v, str)}
        case_days = sorted(_case_dates(record, as_of)) if mm.lookups else []
        key = (pattern(path), tuple(sorted(partners)), tuple(case_days))
        cached = self._country_classes.get(key)
        if cached is None:
            cached = self._country_classes[key] = self._group_countries(mm, partners, case_days)
        return list(cached)

    def _group_countries(self, mm: Mentions, partners: set[str], case_days: list[dt.date]
                         ) -> list[str]:
        preferred = [*(sorted(mm.constants, key=str)), *sorted(partners), MEXICO]

        def sig(code: str) -> tuple:
            return (tuple(code in s for s in mm.value_sets),
                    tuple(code == c for c in mm.constants),
                    tuple(code == p for p in sorted(partners)),
                    tuple(_relative(lk.mapping.get(code), case_days) for lk in mm.lookups))

        return _representatives(self._country_universe, sig, preferred)

    def _states(self, record: Mapping[str, Any], path: str) -> list[str]:
        # the rules compare a state with fixed lists and tables only: the classes are the same
        # for every case
        got = self._state_classes.get(pattern(path))
        if got is None:
            got = self._state_classes[pattern(path)] = self._group_states(path)
        return list(got)

    @cached_property
    def _state_classes(self) -> dict[str, list[str]]:
        return {}  # by fact pattern: the classes of a state or enum fact

    def _group_states(self, path: str) -> list[str]:
        from safethird.law.circuits import STATE_CIRCUIT

        mm = self._signature_parts(path)
        universe = tuple(sorted(set(STATE_CIRCUIT) | {c for c in mm.constants
                                                       if isinstance(c, str)}))

        def sig(code: str) -> tuple:
            return (tuple(code in s for s in mm.value_sets),
                    tuple(code == c for c in mm.constants),
                    tuple(lk.mapping.get(code) for lk in mm.lookups))

        return _representatives(universe, sig, ["TX", "CA", "AZ", "NM"])

    # --- dates: the days either side of every day the rules compare it with ---------------

    def _dates(self, record: Mapping[str, Any], path: str, as_of: dt.date) -> list[dt.date]:
        mm = self._signature_parts(path)
        points: set[dt.date] = {c for c in mm.constants if isinstance(c, dt.date)}
        points |= {add_years(as_of, -y) for y in mm.as_of}
        for other, mine, theirs in mm.facts:
            for v in _values_of(record, other):
                if isinstance(v, dt.date):
                    points.add(add_years(v, theirs - mine))
        for lk, years in mm.compared_lookups:
            for key in _values_of(record, lk.key.path) if isinstance(lk.key, Fact) else ():
                v = lk.mapping.get(key)
                if isinstance(v, dt.date):
                    points.add(add_years(v, -years))
        if path == "arrival.date" or path.startswith("route["):
            points.add(as_of + ONE_DAY)  # nothing happens after the as-of date
        # x < p, x <= p, x == p: the day before, the day itself and the day after tell them
        days = sorted({d for p in points if dt.date(1900, 1, 2) < p < dt.date(2200, 1, 1)
                       for d in (p - ONE_DAY, p, p + ONE_DAY)})
        return days or [as_of]

    # --- the route: not split into every possible journey ------------------------------

    def _routes(self, record: Mapping[str, Any], as_of: dt.date) -> list[list[dict[str, Any]]]:
        """An unknown route, tried as no transit, one country, or one country then Mexico
        (how every journey overland from the south ends)."""
        leg_path = "route[0].country"
        probe = dict(record) | {"route": [_leg(None)]}
        countries = self._countries(probe, leg_path, as_of)
        out: list[list[dict[str, Any]]] = [[]]
        out += [[_leg(c)] for c in countries]
        out += [[_leg(c), _leg(MEXICO)] for c in countries if c != MEXICO]
        return out


def _leg(country: str | None) -> dict[str, Any]:
    return {"country": country, "entered": None, "left": None, "protection_claim": None}


def _representatives(universe: Iterable[Any], sig: Any, preferred: Iterable[Any]) -> list[Any]:
    groups: dict[tuple, Any] = {}
    for p in preferred:
        groups.setdefault(sig(p), p)
    for code in universe:
        groups.setdefault(sig(code), code)
    return list(groups.values())


def _relative(value: Any, days: list[dt.date]) -> Any:
    """A table's value as the rules can see it in this case: its place among the case's days."""
    if not isinstance(value, dt.date):
        return value
    return sum(value <= d for d in days), value == dt.date.max


def _values_of(record: Mapping[str, Any], pat: str) -> list[Any]:
    """The known values of a fact pattern in a record (every leg for a leg pattern)."""
    from safethird.logic.evaluate import read_fact

    if pat.startswith("route[]."):
        name = pat.removeprefix("route[].")
        return [leg.get(name) for leg in record.get("route") or [] if leg.get(name) is not None]
    v = read_fact(dict(record), pat)
    if isinstance(v, list):
        return [x for x in v if x is not None]
    return [] if v is None else [v]


def _case_dates(record: Mapping[str, Any], as_of: dt.date) -> set[dt.date]:
    out = {as_of}
    arrival = (record.get("arrival") or {}).get("date")
    if arrival is not None:
        out.add(arrival)
    for leg in record.get("route") or []:
        out |= {d for d in (leg.get("entered"), leg.get("left")) if d is not None}
    return out
