"""The exact semantics against a brute force: on small cases (at most three unknown facts), every
combination of values is decided with the facts all known, and

- a finding or the pathway is settled by ``decide`` exactly when every possible combination
  gives it the same value (and then it is that value);
- ``missing_facts`` names exactly the facts on which the outcome depends in some world: two
  combinations that differ in that fact alone and give different outcomes.

The brute force does not use the classes of ``logic/domains.py``: it tries wide value lists
(every day either side of each day the rules or the case name, every country the generator
draws, every state, every value of an enumeration), so it also checks that the classes lose
nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import sys
from typing import Any

import pytest

from generate import COUNTRIES, random_case
from safethird import decide, facts
from safethird.law import procedure
from safethird.law.circuits import STATE_CIRCUIT
from safethird.logic import exact
from safethird.logic.expr import Const

D = sys.modules["safethird.decide"]
MAX_WORLDS = 4000
ONE = dt.timedelta(days=1)


_LAW_DATES: dict[int, set[dt.date]] = {}


def _law_dates(r: Any) -> set[dt.date]:
    """Every date the rules name (read once per rule set: the trees are large)."""
    if id(r) not in _LAW_DATES:
        seen: set[int] = set()
        _LAW_DATES[id(r)] = {n.value for node in r.nodes.values() for n in node.distinct(seen)
                             if isinstance(n, Const) and isinstance(n.value, dt.date)
                             and dt.date(1950, 1, 1) < n.value < dt.date(2100, 1, 1)}
    return _LAW_DATES[id(r)]


def _dates(r: Any, record: dict[str, Any]) -> list[dt.date]:
    law = _law_dates(r)
    own = {record["as_of"], exact_add_years(record["as_of"], -18)}
    arrival = (record.get("arrival") or {}).get("date")
    if arrival:
        own |= {arrival, exact_add_years(arrival, -18)}
    for leg in record.get("route") or []:
        own |= {d for d in (leg.get("entered"), leg.get("left")) if d}
    return sorted({d + k * ONE for d in law | own for k in (-1, 0, 1)})


def exact_add_years(d: dt.date, years: int) -> dt.date:
    from safethird.logic.evaluate import add_years

    return add_years(d, years)


def _domain(r: Any, record: dict[str, Any], path: str) -> list[Any]:
    spec = facts.spec(path.split("[")[0] + "[]." + path.split(".", 1)[1]
                      if path.startswith("route[") else path)
    countries = sorted(set(COUNTRIES) | {a.partner for a in r.law.agreements} | {"MX"})
    if spec.kind == "bool":
        return [True, False]
    if spec.kind == "enum":
        return list(spec.values)
    if spec.kind == "country":
        return countries
    if spec.kind == "countries":
        return [[]] + [[c] for c in countries]
    if spec.kind == "state":
        return sorted(STATE_CIRCUIT)
    if spec.kind == "date":
        return _dates(r, record)
    raise AssertionError(path)


def _outcome(r: Any, record: dict[str, Any], as_of: dt.date) -> tuple:
    values = r.evaluate(record, as_of)
    out = r.problem.outcome(values)
    return tuple(out[i] for i in r.problem.decisive)


def _small_cases(n: int) -> list[tuple[dict[str, Any], list[str]]]:
    r = D.rules()
    rng = random.Random(20261207)
    out = []
    for i in range(5_000):
        record = procedure.unless_stated(facts.to_record(facts.parse_case(random_case(rng, i))))
        if record.get("route") is None:
            continue
        # every fact the rules read made known (a value drawn from its domain), then one to
        # three of them made unknown again
        slots = exact.unknown_slots(r.problem, record, r.nodes)
        for path in slots:
            record = exact.put(record, path, rng.choice(_domain(r, record, path)))
        if not facts.possible(record, record["as_of"]):
            continue
        read = [p for p in exact.slots(r.problem, record, r.problem.order)
                if not exact.is_fixed(p, r.problem.fixed) and p != "route"]
        unknown = rng.sample(read, rng.randint(1, 3))
        for path in unknown:
            record = exact.put(record, path, None)
        size = 1
        for path in unknown:
            size *= len(_domain(r, record, path))
        if size > MAX_WORLDS:
            continue
        out.append((record, unknown))
        if len(out) == n:
            break
    return out


CASES = _small_cases(40)


def test_the_brute_force_has_cases_with_open_answers() -> None:
    r = D.rules()
    opened = sum(any(x is None for x in _outcome(r, rec, rec["as_of"])) for rec, _ in CASES)
    assert len(CASES) == 40 and opened >= 5, (len(CASES), opened)


@pytest.mark.parametrize(("record", "unknown"), CASES, ids=[c[0]["id"] for c in CASES])
def test_exact_answers_and_missing_facts_agree_with_the_brute_force(
        record: dict[str, Any], unknown: list[str]) -> None:
    r = D.rules()
    as_of = record["as_of"]
    domains = [_domain(r, record, p) for p in unknown]
    worlds: dict[tuple, tuple] = {}
    for values in itertools.product(*domains):
        rec = record
        for path, v in zip(unknown, values, strict=True):
            rec = exact.put(rec, path, v)
        if facts.possible(rec, as_of):
            worlds[tuple(exact._key(v) for v in values)] = _outcome(r, rec, as_of)
    assert worlds, "no possible world"
    n = len(r.findings)
    settled = [vals.pop() if len(vals := {w[i] for w in worlds.values()}) == 1 else None
               for i in range(n + 1)]
    d = decide(record, explain=True)
    got = [None if d.findings[f.name].status == "unknown" else d.findings[f.name].status
           for f in r.findings] + [None if d.pathway == "undetermined" else d.pathway]
    assert got == settled, (got, settled, unknown)
    depends = set()
    keys = list(worlds)
    for a, b in itertools.combinations(keys, 2):
        diff = [i for i in range(len(unknown)) if a[i] != b[i]]
        if len(diff) == 1 and worlds[a] != worlds[b]:
            depends.add(unknown[diff[0]])
    assert set(d.missing_facts) == depends, (d.missing_facts, depends)


def test_the_outcome_of_a_world_is_the_findings_and_the_pathway() -> None:
    """The search reads each world's outcome with its own loop (it runs once per world): the
    same statuses, reasons and pathway as finding_value and table_value give."""
    from safethird.logic.finding import UNDETERMINED, finding_value, table_value
    from safethird.logic.finding import UNKNOWN as UNKNOWN_STATUS

    r = D.rules()
    rng = random.Random(11)
    seen = set()
    for i in range(400):
        record = procedure.unless_stated(facts.to_record(facts.parse_case(random_case(rng, i))))
        values = r.evaluate(record, record["as_of"])
        want: list[Any] = []
        for f in r.findings:
            v = finding_value(f, values)
            known = v["status"] != UNKNOWN_STATUS
            want += [v["status"] if known else None, v["reason"] if known else None]
        p = table_value(r.pathway, values)
        want.append(None if p == UNDETERMINED else p)
        assert r.problem.outcome(values) == tuple(want)
        seen.add(tuple(x is None for x in want))
    assert len(seen) > 3  # settled and open parts both met
