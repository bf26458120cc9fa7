"""Replications on a Dask cluster (``--dask ADDRESS``).

Each task runs whole replications from (scenario, seed, index): the seed of a replication comes
from ``SeedSequence(seed).spawn(N)[index]``, so results are identical whatever the number of
workers or the order in which tasks finish (results are put back in index order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safethird.flow.scenario import Scenario


def _batch(sc: Scenario, seed: int | None, replications: int, indices: list[int],
           keep: list[bool]) -> list[tuple[int, Any]]:
    from safethird.flow.simulate import replication_result

    return [(i, replication_result(sc, i, seed, replications, k))
            for i, k in zip(indices, keep, strict=True)]


def run_on_dask(dask: Any, sc: Scenario, seed: int | None, replications: int,
                keep: list[bool], progress: Callable[[int], None] | None = None,
                batch: int = 10) -> list[Any]:
    from distributed import Client, as_completed

    client = dask if isinstance(dask, Client) else Client(dask)
    try:
        futures = []
        for lo in range(0, replications, batch):
            idx = list(range(lo, min(replications, lo + batch)))
            futures.append(client.submit(_batch, sc, seed, replications, idx,
                                         [keep[i] for i in idx], pure=False))
        out: dict[int, Any] = {}
        for fut in as_completed(futures):
            part = fut.result()
            for i, res in part:
                out[i] = res
            if progress:
                progress(len(part))
        return [out[i] for i in range(replications)]
    finally:
        if client is not dask:
            client.close()
