"""The same seed gives the same results whatever the number of Dask workers."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster

from safethird.flow.scenario import load_scenario
from safethird.flow.simulate import simulate


def test_dask_replications_equal_local():
    sc = load_scenario("baseline-guatemala-2019")
    sc = sc.model_copy(update={"start": sc.start.replace(month=11, day=1)})
    local = simulate(sc, replications=4, seed=42)
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        on_two = simulate(sc, replications=4, seed=42, dask=client)
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        on_one = simulate(sc, replications=4, seed=42, dask=client)
    assert local.per_rep == on_two.per_rep == on_one.per_rep
    assert local.timeseries.equals(on_two.timeseries)
    assert local.people.equals(on_two.people)
    # and the seed matters
    other = simulate(sc, replications=4, seed=43)
    assert other.per_rep != local.per_rep
