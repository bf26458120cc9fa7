"""Flow-model benchmarks: ratios measured side by side in one run (machines are noisy).

1. One replication at FY2019 scale (~977k encounters, Oct. 2018 – Sep. 2019) through the whole
   network with every track (population draw, rules look-up, tracks, queues) — target ≤ 1 s.
2. The same network with all tracks on the same input (the baseline, 349k encounters) in the
   vectorized engine and in the SimPy models (tests/flow_simpy_model.py,
   tests/flow_simpy_tracks.py): identical days and tracks; target ≥ 100× faster.
3. Replications of the baseline locally and on a 2-worker LocalCluster.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib"))


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    import datetime as dt

    import numpy as np

    from safethird.flow.network import run
    from safethird.flow.scenario import load_scenario
    from safethird.flow.simulate import metrics, replicate, simulate

    base = load_scenario("baseline-guatemala-2019")
    fy19 = base.model_copy(update={"start": dt.date(2018, 10, 1), "end": dt.date(2019, 9, 30)})
    replicate(fy19, 0, 1, 1)   # builds the rules grid once (cached per law version)
    t_rep, rep = _timed(lambda: replicate(fy19, 0, 1, 1))
    t_net, _ = _timed(lambda: run(rep.people, rep.cap, rep.draws))
    print(f"flow: one FY2019 replication with all tracks, {len(rep.enc):,} encounters: "
          f"{t_rep:.2f} s (network alone {t_net:.3f} s; target <= 1 s)")

    from flow_simpy_model import run_simpy
    from flow_simpy_tracks import assign_simpy
    from safethird.flow.simulate import _held, network, track_people
    from safethird.flow.tracks import TRACK_CODES

    b = replicate(base, 0, None, 1)
    full = b.people
    import dataclasses

    # the people before the policy restricts credible fear (what `network` is given)
    people0 = dataclasses.replace(full, credible_fear=_credible_fear_before(b))
    tp = track_people(b.enc, people0, b.pathway)

    def vectorized():
        return network(base, people0, b.cap, b.draws, tp)

    def simpy_all():
        pre = run_simpy(dataclasses.replace(people0, credible_fear=np.zeros(len(tp.arrival),
                                                                            bool)),
                        b.cap, b.draws)
        track, _held_days = assign_simpy(base, tp, _held(pre, people0.group == 1, base.horizon),
                                        b.draws.stay)
        people = dataclasses.replace(people0, credible_fear=people0.credible_fear & (
            track == TRACK_CODES.index("adult_detention")))
        return run_simpy(people, b.cap, b.draws), track

    t_vec, (vec, tr) = _timed(vectorized)
    t_simpy, (sim, track) = _timed(simpy_all, repeat=1)
    same = (all(np.array_equal(vec.stages[k][j], sim.stages[k][j])
                for k in vec.stages for j in (0, 1))
            and np.array_equal(track, tr.track))
    print(f"flow: baseline network with all tracks, {len(tp.arrival):,} encounters: "
          f"vectorized {t_vec:.3f} s, SimPy {t_simpy:.2f} s -> {t_simpy / t_vec:.0f}x faster "
          f"(target >= 100x); identical days and tracks: {same}")

    n = int(os.environ.get("SAFETHIRD_BENCH_REPLICATIONS", "1000"))
    small = base.model_copy(update={"start": dt.date(2019, 11, 1)})
    simulate(small, replications=2, seed=0)
    t_local, res = _timed(lambda: simulate(small, replications=n, seed=0), repeat=1)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print(f"flow: {n} replications locally {t_local:.1f} s (dask not installed)")
        return
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        simulate(small, replications=2, seed=0, dask=client)
        t_dask, res2 = _timed(lambda: simulate(small, replications=n, seed=0, dask=client),
                              repeat=1)
    print(f"flow: {n} replications (Nov. 2019 – Mar. 2020): local {t_local:.1f} s, "
          f"2-worker LocalCluster {t_dask:.1f} s -> {t_local / t_dask:.2f}x; "
          f"same results: {res.per_rep == res2.per_rep}")
    del metrics


def _credible_fear_before(rep):
    """The credible-fear mask before the policy restricts it (recomputed from the rules)."""
    import numpy as np

    from safethird.flow.network import CF_PATHWAYS
    from safethird.population.rates import PATHWAY_CODES

    code = {p: i for i, p in enumerate(PATHWAY_CODES)}
    return np.isin(rep.pathway, [code[p] for p in CF_PATHWAYS]) & rep.enc.fear_claimed


if __name__ == "__main__":
    main()
