"""An independent SimPy implementation of the track assignment (tests only): one process per
encounter, arriving on its day in FIFO order, walking the policy line by line; per-day
capacities are counters reset each day, beds are a stock that a stay's end frees (a process
per admission). Deterministic mode only (exact shares by systematic selection).

Within a day: the beds of stays ending that day are freed (t + 0.0), then the encounters are
assigned in FIFO order (t + 0.5)."""

from __future__ import annotations

import numpy as np
import simpy

from safethird.flow.scenario import Scenario, TrackRule
from safethird.flow.tracks import TRACK_CODES, TrackPeople, stay_days
from safethird.population.rates import PATHWAY_CODES


def _fits(rule: TrackRule, sc: Scenario, day: int, sector: str, nat: str, group: int,
          fear: bool, pathway: str) -> bool:
    if rule.pathways is not None and pathway not in rule.pathways:
        return False
    if rule.from_ is not None and day < sc.day(rule.from_):
        return False
    if rule.until is not None and day >= sc.day(rule.until):
        return False
    if rule.sectors is not None and sector not in rule.sectors:
        return False
    if rule.nationalities is not None and nat not in rule.nationalities:
        return False
    if nat in rule.not_nationalities:
        return False
    if group not in [0 if g == "single_adult" else 1 for g in rule.groups]:
        return False
    return rule.fear is None or rule.fear == fear


def assign_simpy(sc: Scenario, p: TrackPeople, aca_family_held: np.ndarray,
                 adult_stay: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Track per person and families held per day (agreement queue + centres);
    ``adult_stay``: each person's days in adult detention (its beds are held that long)."""
    assert sc.tracks is not None
    env = simpy.Environment()
    h, n = sc.horizon, len(p.arrival)
    code = {t: i for i, t in enumerate(TRACK_CODES)}
    track = np.full(n, code["release"], dtype=np.int64)
    rules = list(sc.tracks.policy.values())
    sector, nationality = p.sector.tolist(), p.nationality.tolist()
    pathway = ([""] * n if p.pathway is None else
               [PATHWAY_CODES[int(c)] for c in p.pathway])
    reached = [0] * len(rules)          # people who fit a share line so far (systematic)
    used_line: dict[tuple[int, int], int] = {}
    used_track: dict[tuple[str, int], int] = {}
    in_house = {name: 0 for name, c in sc.tracks.capacity.items() if c.beds is not None}
    family_held = np.asarray(aca_family_held, dtype=np.int64).copy()

    def line_cap(rate: float, day: int) -> int:
        return int(np.floor(rate * (day + 1) + 1e-9) - np.floor(rate * day + 1e-9))

    def stay(name: str, k: int) -> int:
        if name == "adult_detention" and adult_stay is not None:
            return max(int(adult_stay[k]), 1)
        return max(int(stay_days(sc, name, p.group[k:k + 1])[0]), 1)

    def hold(name: str, k: int, day: int):
        s = stay(name, k)
        if name == "family_detention":
            family_held[day:min(day + s, h)] += 1
        yield env.timeout(s - 0.5)          # freed at the start of day + stay
        in_house[name] -= 1

    def person(k: int):
        day = int(p.arrival[k])
        yield env.timeout(day + 0.5)
        if p.aca[k]:
            track[k] = code["aca"]
            return
        if p.group[k] == 2:
            track[k] = code["uac_referral"]
            return
        for j, r in enumerate(rules):
            if not _fits(r, sc, day, sector[k], nationality[k], int(p.group[k]),
                         bool(p.fear[k]), pathway[k]):
                continue
            if r.share is not None and r.share.value < 1:
                m = reached[j]
                reached[j] += 1
                s = r.share.value
                if not np.floor((m + 1) * s + 0.5) > np.floor(m * s + 0.5):
                    continue
            if r.per_day is not None and used_line.get((j, day), 0) >= line_cap(
                    r.per_day.value, day):
                continue
            cap = sc.tracks.capacity.get(r.track)
            if cap is not None and cap.per_day is not None and used_track.get(
                    (r.track, day), 0) >= line_cap(cap.per_day.value, day):
                continue
            if cap is not None and cap.beds is not None:
                # family beds are shared with the families awaiting a flight
                # ... on every day of the stay (later agreement families hold beds too)
                held_now = (int(family_held[day:day + stay(r.track, k)].max())
                            if r.track == "family_detention" else in_house[r.track])
                if held_now >= round(cap.beds.value):
                    continue
                in_house[r.track] += 1
                env.process(hold(r.track, k, day))
            used_line[(j, day)] = used_line.get((j, day), 0) + 1
            used_track[(r.track, day)] = used_track.get((r.track, day), 0) + 1
            track[k] = code[r.track]
            return

    for k in range(n):
        env.process(person(k))
    env.run(until=h + 1)
    return track, family_held
