"""Exact first-in-first-out queues with daily capacities, in vectorized form.

Time is counted in whole days (day 0 = the scenario's first day). A person who *enters* a queue
on day ``e`` can be served on any day ``t >= e`` (same-day service), at most ``capacity[t]``
people a day, strictly in FIFO order: by entry day, then by the order in which the people were
given (the order they left the previous stage). Optionally each person has a *patience*: a
person not served on a day ``t < e + patience`` leaves the queue unserved on day
``e + patience`` (a family released at the detention limit, an asylum applicant who abandons).

Without patience the departures follow from the cumulative arrival and service curves:
``D(t) = min(A(t), D(t-1) + c(t))``, which unrolls to ``D(t) = C(t) + min(0, min_{s<=t} A(s) -
C(s))``; the k-th person in FIFO order (from 0) is served on the first day with ``D(t) > k``.
With patience, the same curves are computed one day at a time over the people still waiting
(a loop over days, never over people): within a group of equal patience, the served and the
expired are prefixes of the group's FIFO order, so each day is a few binary searches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
NEVER = -1  # "not served" / "has not left" within the horizon


@dataclass(frozen=True)
class QueueResult:
    """Per person (in the order given): the day served (``NEVER`` if not), the day they left the
    queue (served day, or the day their patience ran out; ``NEVER`` if still waiting at the
    horizon)."""

    served: IntArray
    left: IntArray

    @property
    def was_served(self) -> npt.NDArray[np.bool_]:
        return self.served != NEVER

    @property
    def reneged(self) -> npt.NDArray[np.bool_]:
        return (self.served == NEVER) & (self.left != NEVER)


def daily_capacity(rate_per_day: npt.ArrayLike) -> IntArray:
    """Whole-number daily capacities from a (possibly fractional) daily rate, without drift:
    day t gets floor(R(t+1)) - floor(R(t)) where R is the cumulative rate."""
    rate = np.asarray(rate_per_day, dtype=np.float64)
    if (rate < 0).any():
        raise ValueError("a capacity rate cannot be negative")
    cum = np.floor(np.concatenate([[0.0], np.cumsum(rate)]) + 1e-9)
    return np.diff(cum).astype(np.int64)


def fifo_order(entry: IntArray) -> IntArray:
    """Indices of the people in FIFO order: by entry day, ties in the order given."""
    return np.argsort(entry, kind="stable").astype(np.int64)


def serve(entry: npt.ArrayLike, capacity: npt.ArrayLike,
          patience: npt.ArrayLike | None = None) -> QueueResult:
    """Serve a FIFO queue with daily capacities (see the module docstring).

    ``entry``: entry day per person (``NEVER`` = does not join this queue); ``capacity``: people
    served per day, one value per day of the horizon; ``patience``: days each person waits at
    most (``NEVER`` or None = no limit)."""
    entry = np.asarray(entry, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    horizon = len(cap)
    n = len(entry)
    served = np.full(n, NEVER, dtype=np.int64)
    left = np.full(n, NEVER, dtype=np.int64)
    joins = np.flatnonzero((entry != NEVER) & (entry < horizon))
    if len(joins) == 0:
        return QueueResult(served, left)
    if (entry[joins] < 0).any():
        raise ValueError("entry days must be >= 0 (or NEVER)")
    order = joins[fifo_order(entry[joins])]
    pat = (np.full(n, NEVER, dtype=np.int64) if patience is None
           else np.asarray(patience, dtype=np.int64))
    if (pat[order] == NEVER).all():
        served[order] = _serve_unlimited(entry[order], cap)
    else:
        served[order] = _serve_with_patience(entry[order], pat[order], cap)
    left[:] = served
    gave_up = (served == NEVER) & (entry != NEVER) & (pat != NEVER) & (entry + pat < horizon)
    left[gave_up] = entry[gave_up] + pat[gave_up]
    return QueueResult(served, left)


def _serve_unlimited(entry_sorted: IntArray, cap: IntArray) -> IntArray:
    horizon = len(cap)
    arrived = np.bincount(entry_sorted, minlength=horizon).cumsum()       # A(t)
    offered = cap.cumsum()                                                 # C(t)
    departed = offered + np.minimum(0, np.minimum.accumulate(arrived - offered))  # D(t)
    day = np.searchsorted(departed, np.arange(len(entry_sorted)), side="right")
    return np.where(day < horizon, day, NEVER).astype(np.int64)


def _serve_with_patience(entry_sorted: IntArray, pat_sorted: IntArray, cap: IntArray
                         ) -> IntArray:
    horizon = len(cap)
    n = len(entry_sorted)
    out = np.full(n, NEVER, dtype=np.int64)
    groups = []
    for p in np.unique(pat_sorted):
        idx = np.flatnonzero(pat_sorted == p)           # FIFO ranks of this group, ascending
        e = entry_sorted[idx]
        deadline = e + p if p != NEVER else np.full(len(idx), np.iinfo(np.int64).max)
        groups.append([idx, e, deadline, 0])              # last: pointer to first not consumed
    cap_list = cap.tolist()
    for t in range(horizon):
        spans = []
        total = 0
        for g in groups:
            idx, e, deadline, ptr = g
            lo = max(ptr, int(np.searchsorted(deadline, t, side="right")))
            hi = int(np.searchsorted(e, t, side="right"))
            g[3] = lo
            if hi > lo:
                spans.append((g, lo, hi))
                total += hi - lo
        if total == 0:
            continue
        k = min(cap_list[t], total)
        if k == 0:
            continue
        if k == total:
            for g, lo, hi in spans:
                out[g[0][lo:hi]] = t
                g[3] = hi
            continue
        take = _smallest_ranks(spans, k)
        for (g, lo, _hi), m in zip(spans, take, strict=True):
            out[g[0][lo:lo + m]] = t
            g[3] = lo + m
    return out


def _smallest_ranks(spans: list, k: int) -> list[int]:
    """How many to take from each span so that together they are the k smallest ranks."""
    if len(spans) == 1:
        return [k]
    lo_r = min(int(g[0][lo]) for g, lo, _ in spans)
    hi_r = max(int(g[0][hi - 1]) for g, _, hi in spans) + 1
    # smallest r with count(rank < r) >= k; ranks are distinct, so the count is exactly k
    while lo_r < hi_r:
        mid = (lo_r + hi_r) // 2
        c = sum(int(np.searchsorted(g[0][lo:hi], mid)) for g, lo, hi in spans)
        if c >= k:
            hi_r = mid
        else:
            lo_r = mid + 1
    return [int(np.searchsorted(g[0][lo:hi], lo_r)) for g, lo, hi in spans]


def in_stage(enter: IntArray, leave: IntArray, horizon: int) -> IntArray:
    """Stock per day: people with enter <= t < leave (leave ``NEVER`` = still there)."""
    ok = enter != NEVER
    e = enter[ok]
    lv = np.where(leave[ok] == NEVER, horizon, leave[ok])
    lv = np.maximum(lv, e)
    d = np.bincount(np.minimum(e, horizon), minlength=horizon + 1)
    d -= np.bincount(np.minimum(lv, horizon), minlength=horizon + 1)
    return d.cumsum()[:horizon]


def per_day(days: IntArray, horizon: int) -> IntArray:
    """Count of events per day (``NEVER`` and days past the horizon ignored)."""
    d = days[(days != NEVER) & (days < horizon)]
    return np.bincount(d, minlength=horizon)[:horizon].astype(np.int64)
