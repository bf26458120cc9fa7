"""Cross-check: an independent SimPy implementation of the same queue network gives every
person the same days (deterministic mode, and one Monte Carlo replication with the same draws)."""

from __future__ import annotations

import numpy as np
import pytest

from flow_simpy_model import run_simpy
from flow_simpy_tracks import assign_simpy
from safethird.flow.scenario import Number, load_scenario
from safethird.flow.simulate import _held, replicate, track_people
from safethird.flow.tracks import TRACK_CODES


def _same(a, b) -> None:
    for name in a.stages:
        for j, what in enumerate(("enter", "leave")):
            x, y = a.stages[name][j], b.stages[name][j]
            bad = np.flatnonzero(x != y)
            assert len(bad) == 0, f"{name} {what}: {len(bad)} people differ, e.g. {bad[:5]}"
    for f in ("transferred", "released", "applied", "diverted"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    for i in a.office:
        for k in a.office[i]:
            assert np.array_equal(a.office[i][k], b.office[i][k]), (i, k)


@pytest.mark.parametrize("seed", [None, 11])
def test_simpy_gives_identical_days_baseline(seed):
    sc = load_scenario("baseline-guatemala-2019")
    rep = replicate(sc, 0, seed, 1)
    sim = run_simpy(rep.people, rep.cap, rep.draws)
    _same(rep.outcome, sim)
    assert (rep.outcome.transferred >= 0).sum() > 800


def test_simpy_identical_with_screening_capacity_and_custody_limit():
    # a constrained threshold screening (with people giving up) and families released
    sc = load_scenario("baseline-guatemala-2019")
    sc = sc.model_copy(update={
        "screening": sc.screening.model_copy(update={
            "threshold_per_day": {"GT": Number(value=6.5, basis="scenario", note="test")},
            "custody_limit_days": Number(value=3, basis="scenario", note="test")}),
        "start": sc.start.replace(month=11, day=1)})
    rep = replicate(sc, 0, 5, 1)
    assert rep.outcome.diverted.sum() > 0
    _same(rep.outcome, run_simpy(rep.people, rep.cap, rep.draws))


@pytest.mark.parametrize("name", ["baseline-guatemala-2019", "honduras-2025-cap10"])
def test_simpy_identical_with_family_seats_wait_limit_and_tracks(name):
    """The family-seat discipline, the adults' wait limit and the track assignment (per-day
    capacities, family beds shared with the agreement's queue): the same days and tracks."""
    sc = load_scenario(name)
    rep = replicate(sc, 0, None, 1)
    sim = run_simpy(rep.people, rep.cap, rep.draws)
    _same(rep.outcome, sim)
    if sc.tracks is None:
        assert any(v is not None for v in rep.cap.adult_wait_limit.values())
        return
    assert rep.cap.family_seats[0] is not None
    assert (rep.outcome.transferred[rep.people.group == 1] >= 0).sum() > 200
    tp = track_people(rep.enc, rep.people)
    track, held = assign_simpy(sc, tp, _held(sim, rep.people.group == 1, sc.horizon))
    bad = np.flatnonzero(track != rep.tracks.track)
    assert len(bad) == 0, f"{len(bad)} people on another track, e.g. {bad[:5]}"
    assert np.array_equal(held, rep.tracks.family_held)
    assert (track == TRACK_CODES.index("family_detention")).sum() > 1000
