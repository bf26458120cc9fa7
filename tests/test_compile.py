"""The compiled rule program against the interpreter: the same value for every output and every
case-level clause of the real rule sets (all variants), the same Kleene edge cases node by node,
and a drop-in for ``Evaluation`` in ``decide``."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generate import random_case
from safethird import facts
from safethird.decide import rules
from safethird.law.variants import VARIANTS
from safethird.logic.compile import compile_rules
from safethird.logic.evaluate import Evaluation, clause_trace
from safethird.logic.explanation import finding_root
from safethird.logic.expr import (
    AS_OF,
    AddYears,
    And,
    Clause,
    Compare,
    Const,
    Contains,
    Expr,
    In,
    IsEmpty,
    IsTrue,
    Lookup,
    Not,
    Or,
    Overlaps,
    Quantifier,
    all_legs,
    any_leg,
    date,
    fact,
)

decide_mod = importlib.import_module("safethird.decide")  # the package exports decide()
EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.json"))
DAY = dt.date(2020, 1, 1)


def _records(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [facts.to_record(facts.parse_case(random_case(rng, i))) for i in range(n)]


def _case_clauses(nodes: dict[str, Expr]) -> list[Clause]:
    """Every clause evaluated at case level (not inside a quantifier), as clause_trace sees it."""
    out: dict[int, Clause] = {}

    def visit(n: Expr, in_leg: bool) -> None:
        if isinstance(n, Clause) and not in_leg:
            out[id(n)] = n
        for c in n.children():
            visit(c, in_leg or isinstance(n, Quantifier))

    for root in nodes.values():
        visit(root, False)
    return list(out.values())


def _agree(variant: str | None, records: list[dict[str, Any]]) -> int:
    r = rules(variant)
    nodes = r.nodes
    program = compile_rules(nodes)
    clauses = _case_clauses(nodes)
    assert program.names == tuple(nodes)
    assert len(clauses) > 100  # the real rule set, not an empty one
    for record in records:
        as_of = record["as_of"]
        ev = Evaluation(record, as_of)
        expected = tuple(ev.value(n) for n in nodes.values())
        where = f"case {record['id']} ({variant or 'law as written'})"
        assert program.outputs(record, as_of) == expected, where
        compiled = program.evaluation(record, as_of)
        assert tuple(compiled.value(n) for n in nodes.values()) == expected, where
        for c in clauses:
            assert compiled.value(c) == ev.value(c), f"{where}: clause {c.id}"
        # the interpreter has filled its quantifiers while evaluating every output
        assert {k: (v.value, v.legs) for k, v in compiled.quantifiers.items()} == \
            {k: (v.value, v.legs) for k, v in ev.quantifiers.items()}, where
    return len(records)


def test_every_output_and_clause_agree_on_random_cases() -> None:
    assert _agree(None, _records(seed=20261207, n=1_500)) == 1_500


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_output_and_clause_agree_under_each_variant(variant: str) -> None:
    assert _agree(variant, _records(seed=len(variant), n=300)) == 300


def test_variants_combined_agree() -> None:
    assert _agree(",".join(VARIANTS), _records(seed=7, n=200)) == 200


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), shift=st.integers(-400, 400))
def test_random_as_of_dates_agree(seed: int, shift: int) -> None:
    # the same facts decided on other days: the law's change dates fall on either side
    records = [rec | {"as_of": rec["as_of"] + dt.timedelta(days=shift)}
               for rec in _records(seed, 20)]
    _agree(None, records)


def test_example_cases_agree() -> None:
    r = rules()
    program = compile_rules(r.nodes)
    for path in EXAMPLES:
        case = facts.parse_case(json.loads(path.read_text()))
        record = facts.to_record(case)
        ev = Evaluation(record, case.as_of)
        assert program.values(record, case.as_of) == decide_mod._values(r, ev), path.name


# --- a drop-in for Evaluation ------------------------------------------------------------------

def test_decide_gives_the_same_determination_with_the_interpreter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """decide() explains through the compiled evaluation; through the interpreter instead,
    every determination is the same."""
    from safethird.logic.compile import Analysed

    cases = [facts.parse_case(json.loads(p.read_text())) for p in EXAMPLES]
    expected = [decide_mod.decide(c).to_dict() for c in cases]
    made: list[object] = []

    def interpreted(self: Analysed) -> object:
        made.append(ev := Evaluation(self.record, self.as_of))
        return ev

    monkeypatch.setattr(Analysed, "evaluation", interpreted)
    assert [decide_mod.decide(c).to_dict() for c in cases] == expected
    assert made  # decide did go through the patched evaluation


def test_clause_trace_and_leg_values_through_the_fallback() -> None:
    r = rules()
    program = compile_rules(r.nodes)
    quantifiers = {id(n): n for root in r.nodes.values() for n in root.walk()
                   if isinstance(n, Quantifier)}.values()
    roots = [finding_root(f) for f in r.findings]
    for record in _records(seed=3, n=60):
        ev = Evaluation(record, record["as_of"])
        compiled = program.evaluation(record, record["as_of"])
        for root in roots:
            assert clause_trace(root, compiled) == clause_trace(root, ev)
        for q in quantifiers:
            for i in range(len(record["route"] or [])):
                assert compiled.value(q.body, i) == ev.value(q.body, i)
        assert compiled.route is record.get("route") and compiled.as_of == record["as_of"]


def test_a_program_is_compiled_once_per_rule_set() -> None:
    nodes = rules().nodes
    assert compile_rules(nodes) is compile_rules(dict(nodes))
    assert compile_rules(nodes) is not compile_rules(rules("transit-required").nodes)
    assert "def outputs(" in compile_rules(nodes).source


# --- node by node, Kleene edge cases -------------------------------------------------------------

def both(node: Expr, record: dict[str, Any], as_of: dt.date = DAY) -> Any:
    """The value of ``node`` compiled, traced and interpreted; all three must agree."""
    program = compile_rules({"x": node})
    interpreted = Evaluation(record, as_of).value(node)
    assert program.outputs(record, as_of) == (interpreted,)
    assert program.evaluation(record, as_of).value(node) == interpreted
    return interpreted


T, F, U = Const(True, "bool"), Const(False, "bool"), Const(None, "bool")
A, B = fact("a"), fact("b")


@pytest.mark.parametrize("a", [True, False, None])
@pytest.mark.parametrize("b", [True, False, None])
def test_and_or_not_truth_tables(a: bool | None, b: bool | None) -> None:
    rec = {"a": a, "b": b}
    assert both(And((A, B)), rec) == (False if False in (a, b) else None if None in (a, b)
                                      else True)
    assert both(Or((A, B)), rec) == (True if True in (a, b) else None if None in (a, b)
                                     else False)
    assert both(Not(A), rec) == (None if a is None else not a)
    assert both(IsTrue(A), rec) is (a is True)
    # with constants among the arguments (folded at compile time)
    for const in (T, F, U):
        both(And((A, const, B)), rec)
        both(Or((const, A)), rec)
        both(And((const, const)), rec)


def test_non_boolean_arguments_count_as_neither_true_nor_false() -> None:
    # kleene_and / kleene_or test identity: a date or 1 is not True and not False
    assert both(And((fact("d"), T)), {"d": DAY}) is True
    assert both(Or((fact("d"), F)), {"d": 1}) is False
    assert both(Not(fact("d")), {"d": 0}) is True
    assert both(IsTrue(fact("d")), {"d": 1}) is False


def test_is_true_of_unknown_is_false() -> None:
    assert both(IsTrue(A), {}) is False
    assert both(IsTrue(U), {}) is False
    assert both(Not(IsTrue(A)), {"a": None}) is True


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_compare_with_unknown_sides(op: str) -> None:
    d = fact("arrival.date")
    node = Compare(op, d, date("2019-07-16"))  # type: ignore[arg-type]
    assert both(node, {}) is None
    assert both(node, {"arrival": None}) is None
    assert both(node, {"arrival": "not a mapping"}) is None
    assert both(node, {"arrival": {"date": dt.date(2019, 7, 16)}}) in (True, False)
    assert both(Compare(op, d, Const(None)), {"arrival": {"date": DAY}}) is None  # type: ignore[arg-type]
    assert both(Compare(op, AS_OF, d), {"arrival": {"date": DAY}}) in (True, False)  # type: ignore[arg-type]
    assert both(Compare(op, Const(1), Const(2)), {}) is _ops(op)(1, 2)  # type: ignore[arg-type]


def _ops(op: str) -> Any:
    import operator

    return {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}[op]


def test_in_contains_overlaps_is_empty() -> None:
    n = fact("nationalities")
    assert both(In(fact("c"), ("GT", "HN")), {"c": "HN"}) is True
    assert both(In(fact("c"), ("GT", "HN")), {"c": "MX"}) is False
    assert both(In(fact("c"), ("GT",)), {}) is None
    assert both(Contains(n, fact("c")), {"nationalities": ["GT"], "c": "GT"}) is True
    assert both(Contains(n, fact("c")), {"nationalities": ["GT"]}) is None
    assert both(Contains(n, Const("SV")), {"nationalities": None}) is None
    assert both(Contains(n, Const("SV")), {"nationalities": []}) is False
    assert both(Overlaps(n, ("GT", "SV")), {"nationalities": ["MX", "SV"]}) is True
    assert both(Overlaps(n, ("GT", "SV")), {"nationalities": []}) is False
    assert both(Overlaps(n, ("GT", "SV")), {}) is None
    # an element that cannot be hashed: the set test falls back to the interpreter's
    assert both(Overlaps(n, ("GT",)), {"nationalities": [["GT"], "GT"]}) is True
    assert both(IsEmpty(n), {"nationalities": []}) is True
    assert both(IsEmpty(n), {"nationalities": ["GT"]}) is False
    assert both(IsEmpty(n), {}) is None


def test_add_years_on_february_29() -> None:
    b = fact("birth_date")
    assert both(AddYears(b, 18), {"birth_date": dt.date(2004, 2, 29)}) == dt.date(2022, 2, 28)
    assert both(AddYears(b, 16), {"birth_date": dt.date(2004, 2, 29)}) == dt.date(2020, 2, 29)
    assert both(AddYears(b, 18), {}) is None
    adult = Compare("<=", AddYears(b, 18), AS_OF)
    assert both(adult, {"birth_date": dt.date(2002, 2, 28)}, dt.date(2020, 2, 28)) is True
    assert both(adult, {"birth_date": dt.date(2000, 2, 29)}, dt.date(2018, 2, 27)) is False
    assert both(adult, {"birth_date": dt.date(2000, 2, 29)}, dt.date(2018, 2, 28)) is True
    assert both(AddYears(date("2000-02-29"), 1), {}) == dt.date(2001, 2, 28)  # folded


def test_lookup_hit_miss_and_unknown_key() -> None:
    joined = {"GT": dt.date(1983, 9, 22), "MX": dt.date(2000, 6, 7)}
    node = Lookup("party_from", joined, fact("c"), "date")
    assert both(node, {"c": "MX"}) == dt.date(2000, 6, 7)
    assert both(node, {"c": "ZZ"}) is None
    assert both(node, {}) is None
    assert both(Compare("<", node, AS_OF), {"c": "ZZ"}) is None
    assert both(Lookup("t", joined, Const("GT"), "date"), {}) == dt.date(1983, 9, 22)


def test_fear_of_receiving_country_reads_one_key() -> None:
    node = fact("fear_of_receiving_country.GT")
    assert both(node, {"fear_of_receiving_country": {"GT": True}}) is True
    assert both(node, {"fear_of_receiving_country": {}}) is None
    assert both(node, {}) is None
    # a dotted key after the prefix is one key, as read_fact reads it
    dotted = fact("fear_of_receiving_country.a.b")
    assert both(dotted, {"fear_of_receiving_country": {"a.b": 5, "a": {"b": 6}}}) == 5


def test_param_and_constants() -> None:
    assert both(AS_OF, {}, DAY) == DAY
    assert both(Const("x"), {}) == "x"
    assert both(Const(2.5), {}) == 2.5
    assert both(date("2019-07-16"), {}) == dt.date(2019, 7, 16)
    assert both(Clause("c", "a clause", "cite", A), {"a": True}) is True


ROUTES: list[Any] = [
    None, [], [{"country": "MX"}], [{"country": None}], [{}],
    [{"country": None}, {"country": "MX"}], [{"country": "GT"}, {"country": None}],
    [{"country": "MX"}, {"country": "MX"}], [{"country": "GT"}, {"country": "MX"}],
]


@pytest.mark.parametrize("route", ROUTES)
def test_quantifiers_over_unknown_empty_and_partial_routes(route: Any) -> None:
    is_mx = fact("route[].country").eq("MX")
    rec = {"route": route, "a": True}
    any_v, all_v = both(any_leg(is_mx), rec), both(all_legs(is_mx), rec)
    if route is None:
        assert any_v is None and all_v is None
    elif route == []:
        assert any_v is False and all_v is True
    # a body mixing leg and case facts, a body with no leg fact, a constant body
    both(any_leg(And((is_mx, A))), rec)
    both(all_legs(Or((is_mx, Not(A)))), rec)
    both(any_leg(A), rec)
    both(all_legs(U), rec)
    both(any_leg(T), rec)
    both(all_legs(F), rec)
    both(And((any_leg(is_mx), all_legs(Not(is_mx)))), rec)


@pytest.mark.parametrize("route", ROUTES)
def test_nested_quantifiers(route: Any) -> None:
    is_mx = fact("route[].country").eq("MX")
    # the inner body is read on its own legs (the interpreter's semantics)
    node = all_legs(Or((Not(is_mx), any_leg(Compare("!=", fact("route[].country"),
                                                    Const("MX"))))))
    rec = {"route": route}
    both(node, rec)
    program = compile_rules({"x": node})
    ev = Evaluation(rec, DAY)
    ev.value(node)
    compiled = program.evaluation(rec, DAY)
    assert {k: (v.value, v.legs) for k, v in compiled.quantifiers.items()} == \
        {k: (v.value, v.legs) for k, v in ev.quantifiers.items()}


def test_quantifier_legs_are_traced() -> None:
    q = any_leg(fact("route[].country").eq("MX"))
    program = compile_rules({"q": q})
    rec = {"route": [{"country": "GT"}, {"country": None}, {"country": "MX"}, {"country": "GT"}]}
    lv = program.evaluation(rec, DAY).quantifiers[id(q)]
    assert (lv.value, lv.legs) == (True, [False, None, True, False])
    assert program.outputs(rec, DAY) == (True,)


def test_shared_nodes_are_computed_once_and_agree() -> None:
    shared = Clause("s", "shared", "cite", Compare("<", fact("arrival.date"), AS_OF))
    nodes = {"a": And((shared, A)), "b": Or((Not(shared), B)), "s": shared}
    program = compile_rules(nodes)
    assert program.source.count("_k") == 0  # nothing bound: no constant in this rule set
    assert program.source.split("def trace")[0].count("< A") == 1
    for rec in ({}, {"a": True, "arrival": {"date": DAY}}, {"b": False, "arrival": {"date": DAY}}):
        for as_of in (DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)):
            ev = Evaluation(rec, as_of)
            assert program.outputs(rec, as_of) == tuple(ev.value(n) for n in nodes.values())


def test_an_unknown_node_is_refused_at_compile_time() -> None:
    class Strange(Expr):
        pass

    with pytest.raises(TypeError, match="Strange"):
        compile_rules({"x": And((A, Strange()))})


def test_a_leg_fact_outside_a_quantifier_is_refused() -> None:
    with pytest.raises(ValueError, match=r"route\[\]\.country"):
        compile_rules({"x": And((A, fact("route[].country").eq("MX")))})


@st.composite
def _leg(draw: st.DrawFn) -> dict[str, Any]:
    return {"country": draw(st.sampled_from([None, "MX", "GT", "SV"])),
            "entered": draw(st.one_of(st.none(), st.dates(dt.date(2019, 1, 1),
                                                          dt.date(2020, 12, 31)))),
            "claimed": draw(st.sampled_from([None, True, False]))}


@st.composite
def _record(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "a": draw(st.sampled_from([None, True, False])),
        "b": draw(st.sampled_from([None, True, False])),
        "c": draw(st.sampled_from([None, "MX", "GT", "ZZ"])),
        "nationalities": draw(st.one_of(st.none(), st.lists(st.sampled_from(["MX", "GT", "SV"]),
                                                            max_size=3))),
        "birth_date": draw(st.one_of(st.none(), st.dates(dt.date(1996, 1, 1),
                                                         dt.date(2008, 12, 31)))),
        "arrival": draw(st.one_of(st.none(), st.fixed_dictionaries(
            {"date": st.one_of(st.none(), st.dates(dt.date(2019, 1, 1), dt.date(2020, 12, 31)))}))),
        "route": draw(st.one_of(st.none(), st.lists(_leg(), max_size=4))),
    }


def _every_kind() -> dict[str, Expr]:
    """A small rule set with every node kind, sharing clauses between outputs."""
    arrived = fact("arrival.date")
    adult = Clause("adult", "an adult", "cite", Compare("<=", AddYears(fact("birth_date"), 18),
                                                        AS_OF))
    late = Clause("late", "arrived late", "cite", Compare(">=", arrived, date("2019-07-16")))
    mx = fact("route[].country").eq("MX")
    leg_late = Compare(">=", fact("route[].entered"), date("2019-07-16"))
    joined = Lookup("joined", {"MX": dt.date(2000, 6, 7), "GT": dt.date(2019, 11, 20)},
                    fact("route[].country"), "date")
    party = Clause("party", "a party when entered", "cite",
                   Compare("<=", joined, fact("route[].entered")))
    transit = Clause("transit", "transit", "cite", any_leg(And((mx, leg_late, late))))
    all_claimed = all_legs(Or((IsTrue(fact("route[].claimed")), Not(party))))
    nested = any_leg(And((party, all_legs(Not(mx)))))
    nat = fact("nationalities")
    return {
        "adult": adult, "late": late, "transit": transit,
        "barred": And((late, transit, Not(all_claimed), Not(IsTrue(A)))),
        "either": Or((adult, B, Not(late), In(fact("c"), ("MX", "GT")))),
        "national": Or((Contains(nat, fact("c")), Overlaps(nat, ("SV",)), IsEmpty(nat))),
        "nested": nested, "all_claimed": all_claimed,
        "joined": Lookup("joined", {"MX": dt.date(2000, 6, 7)}, fact("c"), "date"),
        "const": And((T, Or((F, U)))),
    }


EVERY_KIND = _every_kind()


@settings(max_examples=400, deadline=None)
@given(record=_record(), as_of=st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)))
def test_every_node_kind_agrees_on_random_records(record: dict[str, Any], as_of: dt.date
                                                  ) -> None:
    program = compile_rules(EVERY_KIND)
    ev = Evaluation(record, as_of)
    expected = tuple(ev.value(n) for n in EVERY_KIND.values())
    assert program.outputs(record, as_of) == expected
    compiled = program.evaluation(record, as_of)
    assert tuple(compiled.value(n) for n in EVERY_KIND.values()) == expected
    for c in _case_clauses(EVERY_KIND):
        assert compiled.value(c) == ev.value(c)
    assert {k: (v.value, v.legs) for k, v in compiled.quantifiers.items()} == \
        {k: (v.value, v.legs) for k, v in ev.quantifiers.items()}


def test_a_tree_deeper_than_python_nests_blocks() -> None:
    # 150 nested junctions of single-use nodes: past Python's 100 indentation levels, a subtree
    # is computed on its own before its consumer
    node: Expr = fact("f0")
    for i in range(1, 150):
        node = (And if i % 2 else Or)((Not(fact(f"f{i}")), node))
    program = compile_rules({"deep": node})
    assert max(len(line) - len(line.lstrip()) for line in program.source.splitlines()) < 4 * 99
    rng = random.Random(5)
    for _ in range(200):
        rec = {f"f{i}": rng.choice([True, False, None]) for i in range(150)}
        assert program.outputs(rec, DAY) == (Evaluation(rec, DAY).value(node),)


def test_the_evaluation_gives_the_outputs_by_name() -> None:
    r = rules()
    program = compile_rules(r.nodes)
    for record in _records(seed=11, n=40):
        expected = decide_mod._values(r, Evaluation(record, record["as_of"]))
        assert program.evaluation(record, record["as_of"]).outputs == expected
        assert program.values(record, record["as_of"]) == expected


@pytest.mark.parametrize("record", [{}, {"route": []}, {"route": [{}]}, {"arrival": None},
                                    {"nationalities": [], "route": [{"country": None}]}])
def test_the_real_rule_set_on_facts_all_unknown(record: dict[str, Any]) -> None:
    nodes = rules().nodes
    program = compile_rules(nodes)
    for as_of in (dt.date(2019, 7, 15), dt.date(2019, 11, 20), dt.date(2021, 2, 6),
                  dt.date(2026, 12, 7)):
        expected = tuple(Evaluation(record, as_of).value(n) for n in nodes.values())
        assert program.outputs(record, as_of) == expected
        ev = program.evaluation(record, as_of)
        assert tuple(ev.value(n) for n in nodes.values()) == expected


# --- a case with one fact changed: recomputed where it reads the fact, and the sets of facts
# that could change a node ------------------------------------------------------------------

def _changes(r: Any, record: dict[str, Any], as_of: dt.date, rng: random.Random
             ) -> list[tuple[str, Any]]:
    """(path, another value of its classes) for some facts of the record, known or not."""
    from safethird.logic import exact

    out = []
    paths = [p for p in exact.slots(r.problem, record, r.problem.order) if p != "route"]
    for path in rng.sample(paths, min(6, len(paths))):
        values = r.problem.analysis.classes(exact.put(record, path, None), path, as_of)
        if values:
            out.append((path, rng.choice([*values, None])))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_changed_fact_is_recomputed_only_where_read_and_agrees(seed: int) -> None:
    from safethird.logic import exact
    from safethird.logic.domains import pattern

    r = rules()
    program = r.program
    rng = random.Random(seed)
    for record in _records(seed, 60):
        as_of = record["as_of"]
        base = program.base(record, as_of)
        for path, value in _changes(r, record, as_of, rng):
            changed = exact.put(record, path, value)
            assert program.changed(changed, as_of, base, [pattern(path)]) == \
                program.outputs(changed, as_of), (path, value)


@pytest.mark.parametrize("seed", [3, 4])
def test_a_fact_outside_a_nodes_sensitivity_never_changes_it(seed: int) -> None:
    """The sets are over-approximations: a fact without its bit in a pathway row's set, changed
    to any value (or left unknown), leaves that row's Kleene value as it is."""
    from safethird.logic import exact
    from safethird.logic.domains import pattern

    r = rules()
    program = r.program
    rows = [f"pathway.{code}" for code, _ in r.pathway.rows]
    rng = random.Random(seed)
    checked = 0
    for record in _records(seed, 80):
        as_of = record["as_of"]
        got, values = program.sensitivity(record, as_of, rows)
        assert values == program.base(record, as_of)
        assert {k: v for k, (v, _) in got.items()} == {
            k: v for k, v in program.values(record, as_of).items() if k in rows}
        for path, value in _changes(r, record, as_of, rng):
            bit = program.fact_bits[pattern(path)]
            after = program.values(exact.put(record, path, value), as_of)
            for name, (before, mask) in got.items():
                if not bit & mask:
                    checked += 1
                    assert after[name] == before, (name, path, value)
    assert checked > 500  # the test exercises the sets, not only their edges


@pytest.mark.parametrize("seed", [5])
def test_one_pass_gives_the_outputs_the_trace_and_the_sensitivity(seed: int) -> None:
    """Program.analyse: the same outputs as ``values``, the same clause values and legs as
    ``evaluation``, the same sets as ``sensitivity``."""
    r = rules()
    program = r.program
    names = list(program.names)
    for record in _records(seed, 120):
        as_of = record["as_of"]
        a = program.analyse(record, as_of)
        assert a.outputs() == program.values(record, as_of)
        e1, e2 = program.evaluation(record, as_of), a.evaluation()
        assert e1._values == e2._values and e1._legs == e2._legs
        got, values = program.sensitivity(record, as_of, names)
        assert got == a.sensitivity(names) and values == program.base(record, as_of)
