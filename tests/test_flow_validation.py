"""Validation: the baseline against the published outcomes, within the scenario's stated
tolerances (docs/simulation.md says which inputs are published and which calibrated)."""

from __future__ import annotations

import pytest

from safethird.flow.outputs import check_value
from safethird.flow.scenario import load_scenario
from safethird.flow.simulate import simulate


@pytest.fixture(scope="module")
def deterministic():
    return simulate(load_scenario("baseline-guatemala-2019"), seed=None)


@pytest.fixture(scope="module")
def monte_carlo():
    return simulate(load_scenario("baseline-guatemala-2019"), replications=4, seed=1)


def test_the_checks_are_the_published_figures(deterministic):
    checks = {c.metric: c for c in deterministic.scenario.checks}
    assert checks["transfers"].figure == "aca_gt_transfers_total"
    assert checks["partner_backlog_end"].figure == "gt_asylum_backlog_2020_03"
    assert checks["applied_in_partner"].figure == "aca_gt_applied_asylum_by_2020_03"


@pytest.mark.xfail(strict=True, reason=(
    "issue 8 narrowed the Guatemala operation to between-ports arrivals in the El Paso sector "
    "(and the Rio Grande Valley from 2020-01-20): the synthetic population now holds only ~706 "
    "amenable Honduran and Salvadoran fear claimers for Nov. 2019 - Mar. 2020, fewer than the "
    "939 published transfers, so the baseline (calibrated on every Texas arrival) transfers "
    "~660; the population's in-scope flow needs recalibrating by the simulation's owners"))
@pytest.mark.parametrize("which", ["deterministic", "monte_carlo"])
def test_baseline_within_tolerance(which, request):
    result = request.getfixturevalue(which)
    rows = [check_value(c, result) for c in result.scenario.checks]
    for row in rows:
        assert row["within"], row
    m = result.metrics
    # 939 ± 10 %, 713 ± 10 %, applied share within 2.5 points of 20 / 939
    assert 845 <= m["transfers"]["GT"]["mean"] <= 1033
    assert 642 <= m["partner_backlog_end"]["GT"]["mean"] <= 784
    assert m["applied_in_partner"]["GT"]["mean"] / m["transfers"]["GT"]["mean"] < 0.05


def test_published_ramp(deterministic):
    import datetime as dt

    import polars as pl

    ts = deterministic.timeseries.filter(pl.col("partner") == "GT")
    cum = dict(ts.select("date", "transfers_cumulative").iter_rows())
    assert abs(cum[dt.date(2019, 12, 12)] - 24) <= 5          # AP: 24 by Dec. 12
    assert cum[dt.date(2020, 1, 8)] > 50                       # "over 50"
    assert cum[dt.date(2020, 1, 30)] >= 230 * 0.95             # "at least 230"
    assert cum[dt.date(2020, 3, 16)] == cum[dt.date(2020, 3, 31)]   # paused Mar. 16


def test_only_hondurans_and_salvadorans_sent(deterministic):
    import polars as pl

    sent = deterministic.people.filter(pl.col("transferred").is_not_null())
    assert set(sent["nationality"].unique()) == {"HN", "SV"}
    assert set(sent["state"].unique()) <= {"TX"}
    # strict FIFO behind single adults: queued families reach the 20-day limit first and are
    # released (a known difference from the operation, which flew families: docs/simulation.md)
    fam = deterministic.people.filter((pl.col("group") == "family_unit")
                                      & pl.col("transfer_enter").is_not_null())
    assert fam.height > 0
    assert (fam["released_awaiting_transfer"] - fam["arrival"]).dt.total_days().max() <= 20
