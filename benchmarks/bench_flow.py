"""Flow-model benchmarks: ratios measured side by side in one run (machines are noisy).

1. One replication at FY2019 scale (~977k encounters, Oct. 2018 – Sep. 2019) through the whole
   network (population draw, rules look-up, queues, metrics) — target ≤ 2 s.
2. The same network on the same input in the vectorized engine and in the SimPy model
   (tests/flow_simpy_model.py): identical days; target ≥ 100× faster.
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
    print(f"flow: one FY2019 replication, {len(rep.enc):,} encounters: {t_rep:.2f} s "
          f"(network alone {t_net:.3f} s; target <= 2 s)")

    from flow_simpy_model import run_simpy

    b = replicate(base, 0, None, 1)
    t_vec, vec = _timed(lambda: run(b.people, b.cap, b.draws))
    t_simpy, sim = _timed(lambda: run_simpy(b.people, b.cap, b.draws), repeat=1)
    same = all(np.array_equal(vec.stages[k][j], sim.stages[k][j])
               for k in vec.stages for j in (0, 1))
    in_net = int((b.people.threshold | b.people.credible_fear).sum())
    print(f"flow: baseline network, {in_net:,} people in queues: vectorized {t_vec:.3f} s, "
          f"SimPy {t_simpy:.2f} s -> {t_simpy / t_vec:.0f}x faster; identical days: {same}")

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


if __name__ == "__main__":
    main()
