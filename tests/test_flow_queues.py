"""The FIFO queue engine against a brute-force day-by-day simulation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from safethird.flow.queues import NEVER, daily_capacity, in_stage, serve


def brute(entry, cap, patience):
    n = len(entry)
    served = [NEVER] * n
    order = sorted((i for i in range(n) if entry[i] != NEVER), key=lambda i: (entry[i], i))
    for t, c in enumerate(cap):
        for i in order:
            if c == 0:
                break
            if served[i] != NEVER or entry[i] > t:
                continue
            if patience[i] != NEVER and t >= entry[i] + patience[i]:
                continue
            served[i] = t
            c -= 1
    return np.array(served, dtype=np.int64)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_serve_matches_brute_force(data):
    horizon = data.draw(st.integers(1, 25))
    n = data.draw(st.integers(0, 40))
    entry = np.array(data.draw(st.lists(st.integers(-1, horizon + 2), min_size=n, max_size=n)),
                     dtype=np.int64)
    cap = np.array(data.draw(st.lists(st.integers(0, 4), min_size=horizon,
                                      max_size=horizon)), dtype=np.int64)
    patience = np.array(data.draw(st.lists(st.sampled_from([NEVER, 0, 1, 2, 5]), min_size=n,
                                           max_size=n)), dtype=np.int64)
    got = serve(entry, cap, patience)
    assert got.served.tolist() == brute(entry.tolist(), cap.tolist(), patience.tolist()).tolist()
    unlimited = serve(entry, cap)
    assert unlimited.served.tolist() == brute(entry.tolist(), cap.tolist(),
                                              [NEVER] * n).tolist()
    # a person who gave up left on entry + patience; nobody is served before entering
    for i in range(n):
        if got.served[i] != NEVER:
            assert got.served[i] >= entry[i] and got.left[i] == got.served[i]
        elif entry[i] != NEVER and patience[i] != NEVER and entry[i] + patience[i] < horizon:
            assert got.left[i] == entry[i] + patience[i]


def test_unlimited_queue_is_the_cumulative_curve():
    # 10 arrive on day 0, capacity 3 a day: served 3, 3, 3, 1
    got = serve(np.zeros(10, dtype=np.int64), np.full(5, 3))
    assert got.served.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]


def test_daily_capacity_has_no_drift():
    cap = daily_capacity(np.full(365, 125 / 365))
    assert cap.sum() == 125 and set(cap.tolist()) <= {0, 1}


def test_in_stage_counts_enter_to_leave():
    stock = in_stage(np.array([0, 1, 2, NEVER]), np.array([2, NEVER, 2, NEVER]), 4)
    assert stock.tolist() == [1, 2, 1, 1]
