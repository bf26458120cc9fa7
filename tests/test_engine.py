"""The expression engine's three-valued semantics, per case and vectorized."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from safethird.facts import records_to_frame
from safethird.logic.evaluate import evaluate
from safethird.logic.expr import UNKNOWN, Const, all_legs, any_leg, fact
from safethird.logic.vectorize import evaluate_frame

T, F, U = Const(True, "bool"), Const(False, "bool"), UNKNOWN
DAY = dt.date(2020, 1, 1)


def both(node, record):
    per_case = evaluate(node, record, DAY)
    frame = records_to_frame([record]).with_columns(pl.lit(DAY).alias("as_of"))
    vec = evaluate_frame(frame.lazy(), {"x": node}).collect()["x"][0]
    assert per_case == vec
    return per_case


@pytest.mark.parametrize(("node", "expected"), [
    (T & U, None), (F & U, False), (T | U, True), (F | U, None), (~U, None),
    (T & T, True), (F | F, False),
])
def test_kleene_tables(node, expected) -> None:
    assert both(node, {}) is expected


def test_quantifiers_over_empty_unknown_and_partial_routes() -> None:
    is_mx = fact("route[].country").eq("MX")
    assert both(any_leg(is_mx), {"route": []}) is False
    assert both(all_legs(is_mx), {"route": []}) is True
    assert both(any_leg(is_mx), {}) is None
    assert both(any_leg(is_mx), {"route": [{"country": None}, {"country": "MX"}]}) is True
    assert both(all_legs(is_mx), {"route": [{"country": None}, {"country": "GT"}]}) is False
    assert both(all_legs(is_mx), {"route": [{"country": None}, {"country": "MX"}]}) is None


def test_unknown_fact_is_never_false() -> None:
    assert both(fact("trafficking_victim"), {}) is None
    assert both(~fact("trafficking_victim"), {}) is None
    assert both(fact("arrival.date").lt(Const(DAY, "date")), {"arrival": {}}) is None


def test_without_the_explanation_the_answer_is_the_same() -> None:
    """explain=False skips the reasons' text, the trace, the questions and the counterfactuals;
    the findings, their citations and partners, the pathway and the warnings stay the same."""
    import random

    from generate import random_case
    from safethird import decide as decide_case

    rng = random.Random(5)
    for i in range(80):
        case = random_case(rng, i)
        full, short = decide_case(case), decide_case(case, explain=False)
        assert short.pathway == full.pathway and short.exact == full.exact
        assert short.warnings == full.warnings
        for name, f in full.findings.items():
            g = short.findings[name]
            assert (g.status, g.reason, g.citations, g.partner, g.agreement, g.partners,
                    g.partners_possible) == (f.status, f.reason, f.citations, f.partner,
                                             f.agreement, f.partners, f.partners_possible), name
            assert g.because == [] and g.trace == []
        assert short.missing_facts == [] and short.counterfactuals == []
