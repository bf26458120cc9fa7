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


# the checks docs/simulation.md reports outside their tolerance (honest misses, not hidden; each
# pinned by its own test below so that a change moving it is seen). Issue 13's search for
# published inputs that would close them found none (docs/simulation.md, "The misses"):
# - transfers_family_units: 55 % of those flown by 2020-01-31 were family members against the
#   weak snapshot's 76 %: families are reserved 76 % of the seats from 2019-12-12, but too few
#   families with a fear claim reach the operation's sectors to take them (one fear-claim rate
#   for every group: no split by group is published, and GAO-20-250 found USCIS does not record
#   family members' screenings completely);
# - family_detention_peak: February 2020 averages ~1,066 family members held against ICE's 1,434
#   (-25.7 %; ICE's figure also counts families encountered before the scenario and in the
#   interior; no average stay is published, every family is held the 20-day limit);
# - pacr_harp_processed: -9.9 % (deterministic) and about -10.8 % (Monte Carlo) against GAO's
#   5,290, at the edge of +-10 %: in Feb.-Mar. 2020 the non-Mexican fear claimants subject to
#   the transit bar (~3,570 border-wide) do not fill the 83.5 a day derived from GAO's total,
#   and HARP (Mexican families) takes nobody: no Mexican fear-claim rate is published.
# The first and the third lie inside the uncertainty of the FY2020 fear-claim rate (Title 42
# dilutes its denominator): test_the_fear_rate_denominator_brackets_two_misses_and_not_the_third.
# - MPP enrolments by month (CBP, Jan. / Feb. / Mar. 2020): January about 30 % over, February
#   and March 35-50 % under, while the quarter is inside its tolerance: until 2020-02-01 PACR runs
#   only in El Paso and the Rio Grande Valley, so January's fear claimants go to MPP; from
#   February PACR's border-wide capacity takes them first. No dated count of PACR places outside
#   those two sectors before February is published.
# Keyed by the published figure (one metric may be checked against several figures).
KNOWN_MISSES = {"aca_gt_family_member_share_snapshot", "frc_adp_2020_02",
                "pacr_harp_processed_oct2019_mar2020", "mpp_enrolments_cbp_2020_01",
                "mpp_enrolments_cbp_2020_02", "mpp_enrolments_cbp_2020_03"}


def test_the_checks_are_the_published_figures(deterministic):
    checks = {c.metric: c for c in deterministic.scenario.checks}
    assert checks["pacr_harp_processed"].figure == "pacr_harp_processed_oct2019_mar2020"
    assert checks["mpp_enrolled"].independence == "independent"
    assert checks["family_detention_peak"].figure == "frc_adp_2020_02"
    assert checks["transfers"].figure == "aca_gt_transfers_total"
    assert checks["partner_backlog_end"].figure == "gt_asylum_backlog_2020_03"
    assert checks["applied_in_partner"].figure == "aca_gt_applied_asylum_by_2020_03"


@pytest.mark.parametrize("which", ["deterministic", "monte_carlo"])
def test_baseline_within_tolerance(which, request):
    result = request.getfixturevalue(which)
    rows = [check_value(c, result) for c in result.scenario.checks]
    for row in rows:
        # the verdict follows the gap and the stated tolerance, and says so in its text
        assert row["within"] == (abs(row["gap"]) <= row["tolerance"]), row
        assert f"{row['tolerance'] * 100:.0f}" in row["text"] and "gap" in row["text"]
        assert row["verdict"] == ("within tolerance" if row["within"] else "OUTSIDE tolerance")
        if row["figure"] not in KNOWN_MISSES:
            assert row["within"], row["text"]
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
    import datetime as dt

    import polars as pl

    sent = deterministic.people.filter(pl.col("transferred").is_not_null())
    assert set(sent["nationality"].unique()) == {"HN", "SV"}
    assert set(sent["state"].unique()) <= {"TX"}
    # families are flown from 2019-12-12 on their reserved seats, never before
    fam = sent.filter(pl.col("group") == "family_unit")
    assert fam.height > 200
    assert fam["transferred"].min() >= dt.date(2019, 12, 12)
    # a family never waits past the 20-day limit (Flores): flown or released by then
    queued = deterministic.people.filter((pl.col("group") == "family_unit")
                                         & pl.col("transfer_enter").is_not_null())
    left = pl.coalesce("transferred", "released_awaiting_transfer")
    assert (queued.select((left - pl.col("arrival")).dt.total_days()).to_series().max()
            <= 20)


def _row(result, metric, figure=None):
    return next(check_value(c, result) for c in result.scenario.checks
                if c.metric == metric and (figure is None or c.figure == figure))


def test_mpp_enrolment_q1_2020_is_still_short(deterministic):
    # CBP counts 6,058 for Jan.-Mar. 2020; the model is inside the tolerance but under (no
    # single adult without a fear claim goes to MPP; PACR takes fear claimants first in
    # Feb.-Mar.): a change that closed this gap by itself would need a source, not this test
    row = _row(deterministic, "mpp_enrolled", "mpp_enrolments_cbp_2020_q1")
    assert row["within"] and -0.25 <= row["gap"] < -0.10, row["text"]


def test_the_known_misses_stay_where_they_are(deterministic):
    fam = _row(deterministic, "transfers_family_units")
    assert not fam["within"] and -0.25 < fam["gap"] < -0.15, fam["text"]
    frc = _row(deterministic, "family_detention_peak")
    assert not frc["within"] and -0.30 < frc["gap"] < -0.25, frc["text"]
    pacr = _row(deterministic, "pacr_harp_processed")
    assert -0.15 < pacr["gap"] < -0.05, pacr["text"]
    # the agreement's families are still flown, on their seats, from 2019-12-12
    assert deterministic.metrics["transfers_family_units"]["GT"]["mean"] > 200
    # MPP by month: January over, February and March under; the quarter inside (above)
    jan, feb, mar = (_row(deterministic, "mpp_enrolled", f"mpp_enrolments_cbp_2020_{m}")
                     for m in ("01", "02", "03"))
    assert not jan["within"] and 0.25 < jan["gap"] < 0.40, jan["text"]
    assert not feb["within"] and -0.60 < feb["gap"] < -0.40, feb["text"]
    assert not mar["within"] and -0.45 < mar["gap"] < -0.25, mar["text"]
    quarter = _row(deterministic, "mpp_enrolled", "mpp_enrolments_cbp_2020_q1")
    assert quarter["model_mean"] == jan["model_mean"] + feb["model_mean"] + mar["model_mean"]


def test_hondurans_and_salvadorans_in_the_published_proportion(deterministic):
    """579 Hondurans and 360 Salvadorans of the 939 (IGM via HRW/RI, likely): nothing is set on
    the split; it follows from who crosses in El Paso and the Rio Grande Valley (CBP's annual
    citizenship x sector table) and the dates of the operation's scope. Independence across
    sectors gave 661 / 253 (72 % Honduran); the published table gives about 63 %."""
    import polars as pl

    sent = deterministic.people.filter(pl.col("transferred").is_not_null())
    hn = sent.filter(pl.col("nationality") == "HN").height
    assert abs(hn / sent.height - 579 / 939) <= 0.03, (hn, sent.height)


def test_the_fear_rate_denominator_brackets_two_misses_and_not_the_third(deterministic):
    """The FY2020 fear-claim rate divides the year's credible-fear completions by the year's
    non-Mexican encounters, a third of them met under Title 42 (no screening). Putting every
    completion in the Title 8 months (Oct. 2019 - Mar. 2020) is the upper end of what the
    published totals allow (20.9 % -> 32.0 %). At that end the family share and PACR/HARP come
    inside their tolerances and MPP stays inside; family detention moves further out: the
    denominator can explain two misses, not the February family-centre population."""
    from safethird.population.synthesize import fear_claim_rates

    base_rate = fear_claim_rates("non_mexican")
    bound_rate = fear_claim_rates("non_mexican_title8")
    assert bound_rate[(2019, False)] == base_rate[(2019, False)]     # FY2019 had no Title 42
    assert 0.31 < bound_rate[(2020, False)] < 0.33 and 0.20 < base_rate[(2020, False)] < 0.22
    assert bound_rate[(2020, True)] == 0.0

    bound = simulate(load_scenario("baseline-fear-rate-title8-bound"), seed=None)
    assert bound.scenario.status == "counterfactual"
    at_bound = {c.figure: check_value(c, bound) for c in bound.scenario.checks}
    base = {c.figure: check_value(c, deterministic) for c in deterministic.scenario.checks}
    for fig in ("aca_gt_family_member_share_snapshot", "pacr_harp_processed_oct2019_mar2020"):
        assert not base[fig]["within"] or abs(base[fig]["gap"]) > 0.09, base[fig]
        assert abs(at_bound[fig]["gap"]) <= at_bound[fig]["tolerance"], at_bound[fig]
        assert at_bound[fig]["gap"] > base[fig]["gap"]
    assert abs(at_bound["mpp_enrolments_cbp_2020_q1"]["gap"]) <= 0.25
    frc = "frc_adp_2020_02"
    assert at_bound[frc]["gap"] < base[frc]["gap"] < -0.25
    # the monthly MPP pattern is not the rate's doing: January is further over at the bound
    jan = "mpp_enrolments_cbp_2020_01"
    assert at_bound[jan]["gap"] > base[jan]["gap"] > 0.25
    # the counterfactual's rows are shown for information, never as a failed calibration
    assert all(r["verdict"].startswith("counterfactual") for r in at_bound.values())


def test_the_derived_fear_claim_rate_is_listed_with_its_counts(deterministic):
    """The rate that decides demand is derived, not a scenario number: summary.json's inputs
    (and the report's provenance table) give it per fiscal year with the two counts behind it."""
    from safethird.flow.outputs import summary

    rows = {i["path"]: i for i in summary(deterministic)["inputs"]}
    fy20 = rows["fear_claim_rate.FY2020"]
    assert fy20["provenance"].startswith("derived: 33,567 USCIS credible-fear completions")
    assert "160,377 non-Mexican" in fy20["provenance"]
    assert fy20["value"] == pytest.approx(33567 / 160377)
    assert rows["fear_claim_rate.FY2019"]["value"] == pytest.approx(103295 / 740431)
