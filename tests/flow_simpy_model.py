"""An independent discrete-event implementation of the flow network in SimPy (tests and
benchmarks only): person processes, one server process per queue serving each day, reneging by
timeouts. It reads the same inputs as ``safethird.flow.network.run`` (people, capacities, draws)
and must give every person the same days.

Within a day, events run in the order of the procedure: arrivals (t + 0.0), threshold screening
(t + 0.1), credible fear (t + 0.2), flights (t + 0.3), partner applications (t + 0.35), partner
decisions (t + 0.4). A queue serves by entry day, then by the order of the people (the FIFO
order of the specification); patience runs out at the start of day entry + patience.
"""

from __future__ import annotations

import heapq

import numpy as np
import simpy

from safethird.flow.network import Capacities, Draws, Outcome, PeopleArrays
from safethird.flow.queues import NEVER

TS, CF, FL, APPLY, OFFICE = 0.1, 0.2, 0.3, 0.35, 0.4


class DailyQueue:
    """FIFO queue with a daily capacity; waiting people may give up."""

    def __init__(self, env: simpy.Environment, capacity: np.ndarray | None, offset: float,
                 release_from: int | None = None):
        self.env, self.capacity, self.offset = env, capacity, offset
        self.release_from = release_from
        self.heap: list[tuple[int, tuple, simpy.Event]] = []
        if capacity is not None:
            env.process(self.server())

    def join(self, entry_day: int, key: tuple) -> simpy.Event:
        ev = self.env.event()
        if self.capacity is None:   # not a constraint: served on entry
            ev.succeed(("served", entry_day))
        else:
            heapq.heappush(self.heap, (entry_day, key, ev))
        return ev

    def server(self):
        horizon = len(self.capacity)
        yield self.env.timeout(self.offset)
        for day in range(horizon):
            if self.release_from is not None and day >= self.release_from:
                while self.heap:
                    _, _, ev = heapq.heappop(self.heap)
                    if not ev.triggered:
                        ev.succeed(("released", day))
            else:
                k = int(self.capacity[day])
                while k > 0 and self.heap:
                    _, _, ev = heapq.heappop(self.heap)
                    if ev.triggered:       # gave up earlier
                        continue
                    ev.succeed(("served", day))
                    k -= 1
            yield self.env.timeout(1)


class FamilySeatQueue(DailyQueue):
    """The transfer queue with seats reserved for families: each day families are seated
    first (FIFO among them) up to the reserved seats, then single adults (FIFO) on the seats
    that are left, including the reserved seats families did not fill."""

    def __init__(self, env, capacity, reserved, offset, release_from=None):
        self.reserved = reserved
        self.family_heap: list[tuple[int, tuple, simpy.Event]] = []
        super().__init__(env, capacity, offset, release_from)

    def join_family(self, entry_day: int, key: tuple) -> simpy.Event:
        ev = self.env.event()
        heapq.heappush(self.family_heap, (entry_day, key, ev))
        return ev

    def _pop(self, heap, k: int, day: int) -> int:
        served = 0
        while served < k and heap and heap[0][0] <= day:
            _, _, ev = heapq.heappop(heap)
            if ev.triggered:
                continue
            ev.succeed(("served", day))
            served += 1
        return served

    def server(self):
        horizon = len(self.capacity)
        yield self.env.timeout(self.offset)
        for day in range(horizon):
            if self.release_from is not None and day >= self.release_from:
                for heap in (self.family_heap, self.heap):
                    while heap:
                        _, _, ev = heapq.heappop(heap)
                        if not ev.triggered:
                            ev.succeed(("released", day))
            else:
                f = self._pop(self.family_heap, int(self.reserved[day]), day)
                self._pop(self.heap, int(self.capacity[day]) - f, day)
            yield self.env.timeout(1)


def _wait(env: simpy.Environment, ev: simpy.Event, deadline: int | None):
    """Wait for service; give up at the start of day ``deadline``. Returns (how, day)."""
    if deadline is None or ev.triggered:
        return (yield ev)
    if deadline <= env.now:
        ev.succeed(("gave_up", deadline))   # marks it: the server skips it
        return ("gave_up", deadline)
    timer = env.timeout(deadline - env.now)
    res = yield ev | timer
    if ev in res:
        return res[ev]
    ev.succeed(("gave_up", deadline))
    return ("gave_up", deadline)


def run_simpy(people: PeopleArrays, cap: Capacities, draws: Draws) -> Outcome:
    n, h = len(people.arrival), cap.horizon
    env = simpy.Environment()
    never = lambda: np.full(n, NEVER, dtype=np.int64)  # noqa: E731
    ts_enter, ts_left, ts_served = never(), never(), never()
    cf_enter, cf_left = never(), never()
    fl_enter, fl_left = never(), never()
    det_enter, det_left = never(), never()
    pa_enter, pa_left = never(), never()
    transferred, released, applied = never(), never(), never()
    diverted = np.zeros(n, bool)
    partners = range(len(cap.partners))
    ts_q = {i: DailyQueue(env, cap.threshold[i], TS) for i in partners}
    cf_q = DailyQueue(env, cap.credible_fear, CF)
    fl_q = {i: (DailyQueue(env, cap.seats[i], FL, None if cap.transfers_end[i] == NEVER
                           else cap.transfers_end[i])
                if cap.family_seats.get(i) is None else
                FamilySeatQueue(env, cap.seats[i], cap.family_seats[i], FL, None if
                                cap.transfers_end[i] == NEVER else cap.transfers_end[i]))
            for i in partners}
    of_q = {i: DailyQueue(env, cap.decisions[i], OFFICE) for i in partners}
    office_rows: dict[int, list[list[int]]] = {i: [] for i in partners}

    def in_horizon(day: int) -> int:
        return day if day < h else NEVER

    def office_applicant(i: int, day: int, kind: int, idx: int, gives_up: bool):
        yield env.timeout(max(0.0, day + APPLY - env.now))
        row = [day, NEVER, NEVER, kind, idx]
        office_rows[i].append(row)
        ev = of_q[i].join(day, (kind, idx))
        after = cap.abandon_after[i]
        how, d = yield from _wait(env, ev, day + after if gives_up and after != NEVER else None)
        row[1] = in_horizon(d)
        if how == "served":
            row[2] = d
        if kind == 2:
            pa_left[idx] = in_horizon(d)

    def person(k: int):
        a = int(people.arrival[k])
        yield env.timeout(a)
        group = int(people.group[k])
        held = cap.detained[group]
        cf_entry = NEVER
        screened_day = NEVER
        i = int(people.partner[k])
        if people.threshold[k]:
            ts_enter[k] = a
            yield env.timeout(TS - 0.05)
            ev = ts_q[i].join(a, (k,))
            limit = cap.custody_limit
            how, d = yield from _wait(env, ev, a + limit if (
                limit is not None and cap.threshold[i] is not None) else None)
            ts_left[k] = in_horizon(d)
            if how == "served":
                ts_served[k] = screened_day = d
                if not people.to_transfer[k]:
                    cf_entry = d
            else:
                diverted[k] = d < h
                cf_entry = d
        elif people.credible_fear[k]:
            cf_entry = a
        if screened_day != NEVER and people.to_transfer[k]:
            if held:
                fl_enter[k] = screened_day
                det_enter[k] = a
                q = fl_q[i]
                ev = (q.join_family(screened_day, (k,)) if group == 1 and
                      isinstance(q, FamilySeatQueue) else q.join(screened_day, (k,)))
                deadline = None
                if group == 1:
                    deadline = screened_day + max(cap.family_limit - (screened_day - a), 0)
                elif cap.adult_wait_limit.get(i) is not None:
                    deadline = screened_day + max(cap.adult_wait_limit[i] - (screened_day - a),
                                                  0)
                how, d = yield from _wait(env, ev, deadline)
                fl_left[k] = det_left[k] = in_horizon(d)
                if how == "served":
                    transferred[k] = d
                    if draws.applies[k] and d + int(draws.apply_delay[k]) < h:
                        applied[k] = pa_enter[k] = d + int(draws.apply_delay[k])
                        env.process(office_applicant(i, int(applied[k]), 2, k,
                                                     bool(draws.abandons[k])))
                else:
                    released[k] = in_horizon(d)
            else:
                released[k] = screened_day
        if cf_entry != NEVER and cf_entry < h:
            cf_enter[k] = cf_entry
            if env.now < cf_entry + CF - 0.05:
                yield env.timeout(cf_entry + CF - 0.05 - env.now)
            ev = cf_q.join(cf_entry, (k,))
            if held:
                env.process(hold(k, a, group, ev))
            how, d = yield from _wait(env, ev, None)
            cf_left[k] = in_horizon(d)
        elif ts_enter[k] != NEVER and det_enter[k] == NEVER and held:
            det_enter[k], det_left[k] = a, ts_left[k]

    def hold(k: int, a: int, group: int, interview: simpy.Event):
        """Held in credible-fear processing: the average stay, at least until the interview;
        a family at most the family limit."""
        det_enter[k] = a
        stay_end = a + int(draws.stay[k])
        if group == 1:
            limit_day = a + cap.family_limit
            res = yield interview | env.timeout(max(0.0, limit_day - env.now))
            if interview in res:
                end = min(max(stay_end, res[interview][1]), limit_day)
            else:
                end = limit_day
        else:
            _, d = yield interview
            end = max(stay_end, d)
        det_left[k] = in_horizon(end)

    for k in np.flatnonzero(people.threshold | people.credible_fear | people.to_transfer):
        env.process(person(int(k)))
    for i in partners:
        for j in range(cap.backlog_start[i]):
            env.process(office_applicant(i, 0, 0, j, False))
        dom = np.repeat(np.arange(h), draws.domestic[i])
        for j, d in enumerate(dom):
            env.process(office_applicant(i, int(d), 1, j, False))
    env.run(until=h + 1)

    office = {}
    for i in partners:
        rows = sorted(office_rows[i], key=lambda r: (r[3], r[4]))
        arr = np.array(rows, dtype=np.int64).reshape(-1, 5)
        office[i] = {"entry": arr[:, 0], "left": arr[:, 1], "served": arr[:, 2],
                     "kind": arr[:, 3]}
    stages = {
        "threshold_screening": (ts_enter, ts_left),
        "credible_fear": (cf_enter, cf_left),
        "detention": (det_enter, det_left),
        "transfer": (fl_enter, fl_left),
        "partner_asylum": (pa_enter, pa_left),
    }
    return Outcome(stages, transferred, released, diverted, applied, office)
