"""Tracks (the end of catch and release): capacities are never exceeded, every encounter is in
exactly one track or outcome each day, the policy is the scenario's, the labels are honest."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from safethird.flow.network import family_seats
from safethird.flow.outputs import check_value, summary
from safethird.flow.queues import NEVER, per_day
from safethird.flow.scenario import ScenarioError, load_scenario
from safethird.flow.simulate import replicate, simulate
from safethird.flow.tracks import OUTCOME_CODES, TRACK_CODES, daily_status


@pytest.fixture(scope="module")
def baseline():
    return load_scenario("baseline-guatemala-2019")


@pytest.fixture(scope="module")
def base_run(baseline):
    return simulate(baseline, seed=None)


@pytest.fixture(scope="module", params=[None, 7], ids=["deterministic", "monte_carlo"])
def rep(request, baseline):
    return replicate(baseline, 0, request.param, 1)


def test_family_beds_and_line_capacities_never_exceeded(rep, baseline):
    tr, p = rep.tracks, rep.people
    assert tr.family_beds is not None
    assert (tr.family_held <= tr.family_beds).all()
    # the beds come close (deterministic peak 3,092 of 3,326) without filling
    assert tr.family_held.max() > 0.8 * tr.family_beds.max()
    # each PACR/HARP line admits at most its per-day capacity
    pacr = tr.track == TRACK_CODES.index("pacr_harp")
    admitted = per_day(np.where(pacr, p.arrival, NEVER), baseline.horizon)
    lines = [r for r in baseline.tracks.policy.values() if r.per_day is not None]
    cap = np.zeros(baseline.horizon)
    for r in lines:
        lo, hi = baseline.day(r.from_), baseline.day(r.until)
        cap[lo:hi] += np.ceil(r.per_day.value)
    assert (admitted <= cap).all()
    assert admitted.sum() > 0


def test_transfer_seats_and_family_seats_never_exceeded(rep, baseline):
    o, p, cap = rep.outcome, rep.people, rep.cap
    h = baseline.horizon
    flown = per_day(o.transferred, h)
    fam = per_day(np.where(p.group == 1, o.transferred, NEVER), h)
    assert (flown <= cap.seats[0]).all()
    reserved = family_seats(baseline, "GT", cap.seats[0])
    assert (fam <= reserved).all()
    assert fam.sum() > 200
    assert fam[: baseline.day(dt.date(2019, 12, 12))].sum() == 0


def test_every_encounter_in_exactly_one_track_or_outcome_each_day(rep, baseline, base_run):
    tr, p = rep.tracks, rep.people
    assert set(np.unique(tr.track)) <= set(range(len(TRACK_CODES)))
    for day in range(0, baseline.horizon, 17):
        status = daily_status(tr.track, tr.leave, tr.outcome, p.arrival, day)
        arrived = p.arrival <= day
        assert (status[arrived] != "").all(), day
        assert (status[~arrived] == "").all(), day
    # the same from the daily counts: on tracks + left to an outcome = encountered so far
    ts = base_run.timeseries.filter(pl.col("partner") == "all")
    on = sum(ts[f"track_{t}_in"].to_numpy() for t in TRACK_CODES)
    out = sum(ts[f"outcome_{o}"].to_numpy() for o in OUTCOME_CODES).cumsum()
    assert np.array_equal(on + out, ts["encounters"].to_numpy().cumsum())


def test_release_is_counted_by_month_group_and_nationality(base_run):
    r = base_run
    rel = pl.DataFrame(r.releases())
    assert rel["released"].sum() == r.metrics["released"]["all"]["mean"]
    aug = rel.filter(pl.col("month") == "2019-08")["released"].sum()
    nov = rel.filter(pl.col("month") == "2019-11")["released"].sum()
    assert aug > 10 * nov          # catch and release ended for families on 2019-09-30
    assert set(rel["group"]) <= {"single_adult", "family_unit"}
    fams = r.people.filter(pl.col("group") == "family_unit")
    assert fams.height > 0


def test_catch_and_release_continued_releases_more_families(base_run):
    base = base_run
    cont = simulate(load_scenario("catch-and-release-continued"), seed=None)
    assert cont.scenario.status == "counterfactual"

    def after(r):
        return sum(x["released"] for x in r.releases()
                   if x["month"] >= "2019-10" and x["group"] == "family_unit")

    assert after(cont) > 5 * after(base)
    assert (cont.metrics["family_detention_peak"]["all"]["mean"]
            < base.metrics["family_detention_peak"]["all"]["mean"])
    for row in summary(cont)["checks"]:
        assert row["verdict"].startswith("counterfactual")


def test_mpp_not_expanded_enrols_fewer(base_run):
    base = base_run.metrics["mpp_enrolled"]["all"]["mean"]
    less = simulate(load_scenario("mpp-not-expanded"), seed=None).metrics
    assert less["mpp_enrolled"]["all"]["mean"] < base


def test_honduras_cap_binds_and_officers_do_not_change_transfers():
    cap = simulate(load_scenario("honduras-2025-cap10"), seed=None)
    built = simulate(load_scenario("honduras-2025-capacity-built"), seed=None)
    assert cap.metrics["transfers"]["HN"]["mean"] <= 10 * 5
    assert cap.metrics["released"]["HN"]["mean"] > 20 * cap.metrics["transfers"]["HN"]["mean"]
    assert built.metrics["transfers"] == cap.metrics["transfers"]
    # no single adult is held past the stated wait limit for a seat
    q = cap.people.filter(pl.col("transfer_enter").is_not_null())
    left = pl.coalesce("transferred", "released_awaiting_transfer")
    assert q.select((left - pl.col("arrival")).dt.total_days()).to_series().max() <= 20


def test_status_is_inherited_and_cannot_be_claimed(tmp_path):
    assert load_scenario("baseline-guatemala-2019").status == "published_baseline"
    assert load_scenario("honduras-adds-officers").status == "counterfactual"
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: baseline-guatemala-2019\nname: mine\n")
    assert load_scenario(str(mine)).status == "counterfactual"
    claim = tmp_path / "claim.yaml"
    claim.write_text("extends: honduras-agreement-2020\nname: claim\n"
                     "status: published_baseline\n")
    with pytest.raises(ScenarioError, match="counterfactual"):
        load_scenario(str(claim))


def test_a_users_counterfactual_is_not_a_failed_calibration(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: baseline-guatemala-2019\nname: mine\nend: 2019-12-31\n")
    r = simulate(load_scenario(str(mine)), seed=None)
    rows = [check_value(c, r) for c in r.scenario.checks]
    assert rows and all(row["verdict"].startswith("counterfactual") for row in rows)
    assert all("OUTSIDE" not in row["text"] for row in rows)


def test_policy_errors_are_one_line_scenario_errors(tmp_path):
    two = tmp_path / "two.yaml"
    two.write_text("extends: baseline-guatemala-2019\nname: two\ntracks:\n  policy:\n"
                   "    second_centre: {track: family_detention, groups: [family_unit], "
                   "basis: test}\n")
    with pytest.raises(ScenarioError, match="has a capacity: give it one policy line"):
        load_scenario(str(two))
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baseline-guatemala-2019\nname: bad\ntracks:\n  policy:\n"
                   "    pacr_el_paso: {pathways: [nonsense]}\n")
    with pytest.raises(ScenarioError, match="unknown pathway"):
        load_scenario(str(bad))
    bare = tmp_path / "bare.yaml"
    bare.write_text("extends: baseline-guatemala-2019\nname: bare\ntracks:\n  policy:\n"
                    "    mpp_other_nationalities: {share: 0.3}\n")
    with pytest.raises(ScenarioError, match="share"):
        load_scenario(str(bare))


@pytest.mark.xfail(strict=True, reason="Big Bend enrols 113 against CBP's 73 in Jan.-Mar. 2020 "
                   "(+55 %, outside 25 %; Yuma: 130 against 113, inside), and all of the excess is "
                   "January (59 against 20; Feb.-Mar. 54 against 53): before PACR runs in every "
                   "sector (2020-02-01) every Big Bend fear claimant goes to MPP, as the model's "
                   "January does border-wide (about 2,690 against CBP's 1,974). No dated count of "
                   "PACR places outside El Paso in January is published, so nothing is fitted")
def test_mpp_in_big_bend_and_yuma_q1_2020(baseline):
    """CBP's sector table counts 73 MPP enrolments in Big Bend and 113 in Yuma in Jan.-Mar. 2020
    (mpp_enrolments_cbp_2020_q1_big_bend_yuma): the model lands near each sector's count (an
    independent check: no share is fitted to a sector)."""

    from safethird.flow.simulate import track_people
    from safethird.flow.tracks import TRACK_CODES

    r = replicate(baseline, 0, None, 1)
    tp = track_people(r.enc, r.people, r.pathway)
    mpp = r.tracks.track == TRACK_CODES.index("mpp")
    jan = (dt.date(2020, 1, 1) - baseline.start).days
    apr = (dt.date(2020, 4, 1) - baseline.start).days
    for sector, published in (("Big Bend", 73), ("Yuma", 113)):
        here = mpp & (tp.sector == sector) & (tp.arrival >= jan)
        q1 = int((here & (tp.arrival < apr)).sum())
        assert abs(q1 - published) <= 0.25 * published, (sector, q1)


def test_mpp_in_big_bend_from_august_2019_near_the_chiefs_count(baseline):
    """Big Bend's MPP began in August 2019 and some 200 people were placed in it in its first
    month (the sector chief, Marfa Public Radio, 2019-09-13: mpp_big_bend_first_month_2019).
    Only the start is an input; the count is not (the families' share is calibrated on TRAC's
    border-wide August total), so landing within a quarter of it is an independent check.
    Yuma (no sourced start) enrols nobody before 2020."""
    from safethird.flow.simulate import track_people

    r = replicate(baseline, 0, None, 1)
    tp = track_people(r.enc, r.people, r.pathway)
    mpp = r.tracks.track == TRACK_CODES.index("mpp")
    start = (dt.date(2019, 8, 13) - baseline.start).days
    month = (dt.date(2019, 9, 13) - baseline.start).days
    big_bend = mpp & (tp.sector == "Big Bend")
    assert not (big_bend & (tp.arrival < start)).any()
    first_month = int((big_bend & (tp.arrival < month)).sum())
    assert abs(first_month - 200) <= 0.25 * 200, first_month
    jan = (dt.date(2020, 1, 1) - baseline.start).days
    assert not (mpp & (tp.sector == "Yuma") & (tp.arrival < jan)).any()


def test_mpp_single_adults_alike_brackets_the_published_enrolment(base_run):
    """Sending single adults without a fear claim to MPP at the families' share, recalibrated
    on TRAC's August 2019 count (~12,500), overshoots CBP's 6,058 for Jan.-Mar. 2020 where the
    baseline (no such single adult in MPP) falls short: the record brackets, not fixes, the mix."""
    from safethird.flow.tracks import TRACK_CODES

    alike = simulate(load_scenario("mpp-single-adults-alike"), seed=None)
    assert alike.scenario.status == "counterfactual"

    def q1(result):
        return next(check_value(c, result) for c in result.scenario.checks
                    if c.figure == "mpp_enrolments_cbp_2020_q1")["model_mean"]

    assert q1(base_run) < 6058 < q1(alike)
    r = replicate(alike.scenario, 0, None, 1)
    sep = int(np.searchsorted(r.people.arrival, (dt.date(2019, 9, 1) - alike.scenario.start).days))
    enrolled_aug = int((r.tracks.track[:sep] == TRACK_CODES.index("mpp")).sum())
    # the scenario starts on Aug. 2: its August holds 30 of the month's 31 days
    assert abs(enrolled_aug - 12500 * 30 / 31) <= 125, enrolled_aug


def test_the_baseline_mpp_share_is_calibrated_on_august_2019(base_run):
    """The one calibrated MPP share (families without a fear claim) reproduces TRAC's ~12,500
    new MPP cases of August 2019 over the 30 days of August the scenario holds."""
    r = replicate(base_run.scenario, 0, None, 1)
    sc = base_run.scenario
    sep = int(np.searchsorted(r.people.arrival, (dt.date(2019, 9, 1) - sc.start).days))
    enrolled_aug = int((r.tracks.track[:sep] == TRACK_CODES.index("mpp")).sum())
    assert abs(enrolled_aug - 12500 * 30 / 31) <= 125, enrolled_aug


@pytest.mark.parametrize("seed", [None, 3], ids=["deterministic", "monte_carlo"])
def test_adult_beds_are_enforced_and_the_overflow_released(tmp_path, seed, base_run):
    """Adult beds hold a bed for each person's drawn length of stay; when they are full the
    policy's next line is tried, and here none fits a single adult with a fear claim: released,
    and counted as released (by month, group and nationality)."""
    few = tmp_path / "adult-beds.yaml"
    few.write_text("extends: baseline-guatemala-2019\nname: adult-beds\n"
                   "tracks:\n  capacity:\n    adult_detention:\n"
                   "      beds: {value: 300, basis: assumed, note: a test}\n")
    sc = load_scenario(str(few))
    r = replicate(sc, 0, seed, 1)
    tr = r.tracks
    assert tr.adult_beds is not None and (tr.adult_held <= tr.adult_beds).all()
    assert tr.adult_held.max() == 300                       # they bind
    base = replicate(base_run.scenario, 0, seed, 1).tracks
    adult = TRACK_CODES.index("adult_detention")
    fewer = int((base.track == adult).sum() - (tr.track == adult).sum())
    assert fewer > 1000
    rel = OUTCOME_CODES.index("released")
    single = r.people.group == 0
    assert int((single & (tr.outcome == rel)).sum()) - int(
        (single & (base.outcome == rel)).sum()) == fewer
    # the baseline's beds (ICE's whole FY2019 population) are an upper bound that never binds
    assert base.adult_beds is not None and base.adult_held.max() < 0.05 * base.adult_beds[0]
    s = simulate(sc, seed=None).timeseries.filter(pl.col("partner") == "all")
    assert s["adult_detention_held"].max() <= 300 and (s["adult_detention_beds"] == 300).all()


def test_beds_on_a_track_without_a_stay_are_refused(tmp_path):
    bad = tmp_path / "mpp-beds.yaml"
    bad.write_text("extends: baseline-guatemala-2019\nname: mpp-beds\n"
                   "tracks:\n  capacity:\n    mpp:\n"
                   "      beds: {value: 1000, basis: assumed, note: a test}\n")
    with pytest.raises(ScenarioError, match="beds on track 'mpp' are not modelled"):
        load_scenario(str(bad))
