"""Tracks: where DHS put each encounter, day by day, under the scenario's assignment policy.

Every encounter is on exactly one track or in one outcome on each day from its encounter to the
horizon:

- ``aca``: the agreement applies and a fear claim was made: the threshold screening and the
  transfer queue of ``flow/network.py`` (seats, the family discipline, the Flores limit); leaves
  as ``transferred`` or ``released``.
- the tracks of the policy (``Scenario.tracks.policy``, read in order: a person takes the first
  line that fits and whose track has room that day): ``pacr_harp`` (held in CBP custody for the
  stay, then ``removed`` / ``released`` / ``closed`` at the scenario's shares), ``mpp`` (returned
  to Mexico to await the hearing: outcome ``mpp``), ``family_detention`` (a family residential
  centre, beds enforced, at most the Flores limit; then ``released`` if a fear claim was made,
  else ``removed``), ``adult_detention`` (credible-fear processing in ``flow/network.py``; then
  ``decided``: what follows the interview is not modelled), ``removal`` (expedited removal or
  return without a fear claim, the same day), ``release`` (the same day).
- ``uac_referral``: unaccompanied children, referred to HHS (no policy line applies to them).

A person no line fits, or whose lines are all full, is released: release is a counted outcome,
never a silent remainder.

Capacities: ``per_day`` admissions a day (a FIFO rank within the day), ``beds`` a stock (a loop
over days, never over people: admissions on day t are the longest FIFO prefix of those who fit
whose stays, added to the stock already held, stay within the beds on every day). Family-
detention beds are shared with the families the agreement holds awaiting a flight (held first:
the agreement's queue is computed before the policy). Adult-detention beds are held for each
person's drawn length of stay (``Draws.stay``); when they are full the next line that fits is
tried, and a person no line takes is released.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from safethird.flow.queues import NEVER, IntArray, daily_capacity
from safethird.flow.scenario import Scenario, TrackRule

TRACK_CODES = ("aca", "pacr_harp", "mpp", "family_detention", "adult_detention", "removal",
               "release", "uac_referral")
# outcomes after a track (absorbing)
OUTCOME_CODES = ("transferred", "released", "removed", "closed", "mpp", "decided",
                 "referred")


@dataclass(frozen=True)
class TrackPeople:
    """What the policy reads per person (row order = FIFO order). Nationality and sector are
    attributes of the published cell a person was drawn from (``cell``): the policy's filters
    are evaluated once per cell."""

    arrival: IntArray
    group: IntArray          # 0 single adult, 1 family unit, 2 unaccompanied child
    cell: IntArray           # row of the published cells
    cell_nationality: np.ndarray   # per cell (str)
    cell_sector: np.ndarray        # per cell (str; 'ports' for port encounters)
    fear: np.ndarray         # fear claimed
    aca: np.ndarray          # on the agreement's track (network)
    pathway: IntArray | None = None   # the rules' pathway (index into PATHWAY_CODES)

    @property
    def nationality(self) -> np.ndarray:
        return self.cell_nationality[self.cell]

    @property
    def sector(self) -> np.ndarray:
        return self.cell_sector[self.cell]

    @cached_property
    def profile(self) -> tuple[IntArray, int]:
        """Each person's profile: one integer for (cell, group, fear, pathway), everything a
        policy line reads but the day; and the number of pathway codes. A line is decided once
        per profile and looked up per person (one gather instead of one per filter)."""
        n_path = 1 if self.pathway is None else int(self.pathway.max(initial=0)) + 1
        pathway = 0 if self.pathway is None else self.pathway
        key = ((self.cell * 3 + self.group) * 2 + self.fear) * n_path + pathway
        return key.astype(np.int64), n_path


@dataclass
class TrackResult:
    track: IntArray          # index into TRACK_CODES
    leave: IntArray          # day the track ends (NEVER: still on it at the horizon)
    outcome: IntArray        # index into OUTCOME_CODES once left (-1: still on the track)
    family_beds: IntArray | None   # family-detention beds per day (None: not a constraint)
    family_held: IntArray          # families held per day (agreement queue + centres)
    adult_beds: IntArray | None = None   # adult-detention beds per day (None: no constraint)
    adult_held: IntArray | None = None   # people held on the adult-detention track per day


def _fits(rule: TrackRule, p: TrackPeople, sc: Scenario, todo: np.ndarray) -> np.ndarray:
    """Who of ``todo`` fits the line (the days first: arrival is sorted, so a day range is a
    slice of the rows; the rest is decided per profile, see ``TrackPeople.profile``)."""
    lo = 0 if rule.from_ is None else int(np.searchsorted(p.arrival, sc.day(rule.from_)))
    hi = (len(p.arrival) if rule.until is None else
          int(np.searchsorted(p.arrival, sc.day(rule.until))))
    if rule.pathways is not None and p.pathway is None:
        raise ValueError("a policy line reads the pathway, which was not given")
    key, n_path = p.profile
    n_keys = len(p.cell_nationality) * 6 * n_path
    k = np.arange(n_keys)
    cell, group = k // (6 * n_path), (k // (2 * n_path)) % 3
    fear, pathway = (k // n_path) % 2 == 1, k % n_path
    cell_ok = np.ones(len(p.cell_nationality), bool)
    if rule.sectors is not None:
        cell_ok &= np.isin(p.cell_sector, list(rule.sectors))
    if rule.nationalities is not None:
        cell_ok &= np.isin(p.cell_nationality, list(rule.nationalities))
    if rule.not_nationalities:
        cell_ok &= ~np.isin(p.cell_nationality, list(rule.not_nationalities))
    key_ok = cell_ok[cell]
    if len(rule.groups) == 1:
        key_ok &= group == (0 if rule.groups[0] == "single_adult" else 1)
    else:
        key_ok &= group <= 1
    if rule.fear is not None:
        key_ok &= fear == rule.fear
    if rule.pathways is not None:
        key_ok &= np.isin(pathway, pathway_codes(rule.pathways))
    ok = np.zeros(len(p.arrival), bool)
    ok[lo:hi] = todo[lo:hi] & key_ok[key[lo:hi]]
    return ok


def pathway_codes(names: tuple[str, ...]) -> list[int]:
    from safethird.population.rates import PATHWAY_CODES

    unknown = sorted(set(names) - set(PATHWAY_CODES))
    if unknown:
        raise ValueError(f"unknown pathway(s) in the policy: {', '.join(unknown)}")
    return [PATHWAY_CODES.index(n) for n in names]


def _share(mask: np.ndarray, share: float, rng: np.random.Generator | None) -> np.ndarray:
    """An exact share of ``mask`` (systematic selection) or a seeded draw."""
    if share >= 1:
        return mask
    if rng is None:
        idx = np.flatnonzero(mask)
        k = np.arange(len(idx))
        out = np.zeros(len(mask), bool)
        out[idx[np.floor((k + 1) * share + 0.5) > np.floor(k * share + 0.5)]] = True
        return out
    return mask & (rng.random(len(mask)) < share)


def _rank_in_day(idx: IntArray, day: IntArray) -> IntArray:
    """Position of each candidate within its arrival day (candidates in FIFO order)."""
    d = day[idx]
    first = np.searchsorted(d, d, side="left")
    return np.arange(len(idx)) - first


def stay_days(sc: Scenario, track: str, group: IntArray) -> IntArray:
    """Days held on a track with a stay (family detention: at most the Flores limit)."""
    assert sc.tracks is not None
    oc = sc.tracks.outcomes.get(track)
    if track == "family_detention":
        los = sc.detention.length_of_stay_days.value
        if oc is not None and oc.stay_days is not None:
            los = oc.stay_days.value
        return np.full(len(group), min(round(los), round(sc.detention.family_limit_days.value)),
                       dtype=np.int64)
    if oc is None or oc.stay_days is None:
        return np.zeros(len(group), dtype=np.int64)
    return np.full(len(group), round(oc.stay_days.value), dtype=np.int64)


def assign(sc: Scenario, p: TrackPeople, aca_family_held: IntArray,
           rng: np.random.Generator | None, adult_stay: IntArray | None = None
           ) -> tuple[IntArray, IntArray | None]:
    """The track of every person (``TRACK_CODES`` index) under the policy and capacities;
    and the family beds per day (None: not a constraint). ``adult_stay``: each person's days
    on the adult-detention track (needed when that track has beds)."""
    assert sc.tracks is not None
    h, n = sc.horizon, len(p.arrival)
    code = {t: i for i, t in enumerate(TRACK_CODES)}
    track = np.full(n, code["release"], dtype=np.int64)
    track[p.aca] = code["aca"]
    track[p.group == 2] = code["uac_referral"]
    todo = ~p.aca & (p.group != 2)
    per_day_left: dict[str, IntArray] = {}
    held: dict[str, IntArray] = {}       # stock on each day, for tracks with beds
    beds_of: dict[str, IntArray] = {}
    for name, cap in sc.tracks.capacity.items():
        if cap.per_day is not None:
            per_day_left[name] = daily_capacity(np.full(h, cap.per_day.value))
        if cap.beds is not None:
            beds_of[name] = np.full(h, round(cap.beds.value), dtype=np.int64)
            held[name] = (aca_family_held.copy() if name == "family_detention"
                          else np.zeros(h, dtype=np.int64))
    for rule in sc.tracks.policy.values():
        cand = _fits(rule, p, sc, todo)
        if rule.share is not None:
            cand = _share(cand, rule.share.value, rng)
        idx = np.flatnonzero(cand)
        if len(idx) == 0:
            continue
        name = rule.track
        take = np.ones(len(idx), bool)
        if rule.per_day is not None:
            line = daily_capacity(np.full(h, rule.per_day.value))
            take &= _rank_in_day(idx, p.arrival) < line[p.arrival[idx]]
        if name in per_day_left:
            left = per_day_left[name]
            rank = np.cumsum(take) - 1        # rank within the day among those still taken
            first = np.searchsorted(p.arrival[idx], p.arrival[idx], side="left")
            rank = rank - np.concatenate([[0], np.cumsum(take)])[first]
            take &= rank < left[p.arrival[idx]]
        if name in beds_of:
            if name == "adult_detention":
                if adult_stay is None:
                    raise ValueError("adult beds need each person's length of stay")
                stay = adult_stay[idx]
            else:
                stay = stay_days(sc, name, p.group[idx])
            take &= _admit(idx, take, p.arrival, stay, beds_of[name], held[name])
        if name in per_day_left:
            # what this line used is no longer there for the next line of the same track
            used = np.bincount(p.arrival[idx[take]], minlength=h)[:h]
            per_day_left[name] = per_day_left[name] - used
        track[idx[take]] = code[name]
        todo[idx[take]] = False
    return track, beds_of.get("family_detention")


def adult_beds(sc: Scenario) -> IntArray | None:
    """Adult-detention beds per day (None: not a constraint)."""
    cap = None if sc.tracks is None else sc.tracks.capacity.get("adult_detention")
    if cap is None or cap.beds is None:
        return None
    return np.full(sc.horizon, round(cap.beds.value), dtype=np.int64)


def _admit(idx: IntArray, allowed: np.ndarray, arrival: IntArray, stay: IntArray,
           beds: IntArray, held: IntArray) -> np.ndarray:
    """Admit, day by day, the longest FIFO prefix of those who fit whose stays keep the stock
    within the beds on every day of them; ``held`` (the stock per day) is updated in place."""
    h = len(beds)
    out = np.zeros(len(idx), bool)
    day = arrival[idx]
    if int(allowed.sum()) + int(held.max(initial=0)) <= int(beds.min(initial=0)):
        # the beds cannot fill even if everyone stayed to the end: all are admitted
        ok = np.flatnonzero(allowed)
        ends = np.minimum(day[ok] + np.maximum(stay[ok], 1), h)
        delta = np.zeros(h + 1, dtype=np.int64)
        np.add.at(delta, day[ok], 1)
        np.add.at(delta, ends, -1)
        held += delta.cumsum()[:h]
        out[ok] = True
        return out
    bounds = np.searchsorted(day, np.arange(h + 1), side="left")
    for t in range(h):
        lo, hi = bounds[t], bounds[t + 1]
        if hi == lo:
            continue
        ok = np.flatnonzero(allowed[lo:hi]) + lo
        if len(ok) == 0:
            continue
        # a bed must be free on every day of the stay (the agreement's families, held first,
        # may need it later in the stay); with unequal stays the first k fit when, on each
        # day u, the k's stays still running there fit in what is free on u
        s_ok = np.maximum(stay[ok], 1)
        span = min(t + int(s_ok.max()), h)
        free = beds[t:span] - held[t:span]
        if free[0] <= 0:
            continue
        running = np.cumsum(s_ok[:, None] > np.arange(span - t)[None, :], axis=0)
        k = int((running <= free[None, :]).all(axis=1).sum())
        if k == 0:
            continue
        chosen = ok[:k]
        # each admitted person holds a bed on days t .. t + stay - 1 (at least the day itself)
        ends = np.minimum(t + np.maximum(stay[chosen], 1), h)
        delta = np.zeros(h + 1, dtype=np.int64)
        np.add.at(delta, ends, -1)
        delta[t] += len(chosen)
        held += delta.cumsum()[:h]
        out[chosen] = True
    return out


def outcomes(sc: Scenario, p: TrackPeople, track: IntArray, aca_transferred: IntArray,
             aca_released: IntArray, aca_left: IntArray, adult_left: IntArray,
             rng: np.random.Generator | None) -> tuple[IntArray, IntArray]:
    """Day each person leaves their track, and the outcome they then have."""
    assert sc.tracks is not None
    h, n = sc.horizon, len(p.arrival)
    t_code = {t: i for i, t in enumerate(TRACK_CODES)}
    o_code = {o: i for i, o in enumerate(OUTCOME_CODES)}
    leave = np.full(n, NEVER, dtype=np.int64)
    outcome = np.full(n, -1, dtype=np.int64)

    def done(mask: np.ndarray, day: IntArray, what: IntArray | int) -> None:
        idx = np.flatnonzero(mask)
        d = day[idx]
        d = np.where(d < h, d, NEVER)
        leave[idx] = d
        o = what[idx] if isinstance(what, np.ndarray) else what
        outcome[idx] = np.where(d == NEVER, -1, o)

    same_day = {"mpp": "mpp", "removal": "removed", "release": "released",
                "uac_referral": "referred"}
    for t, o in same_day.items():
        done(track == t_code[t], p.arrival, o_code[o])
    aca = track == t_code["aca"]
    what = np.where(aca_transferred != NEVER, o_code["transferred"],
                    np.where(aca_released != NEVER, o_code["released"], o_code["decided"]))
    done(aca, aca_left, what)
    adult = track == t_code["adult_detention"]
    done(adult, adult_left, o_code["decided"])
    fam = track == t_code["family_detention"]
    end = p.arrival + np.maximum(stay_days(sc, "family_detention", p.group), 1)
    done(fam, end, np.where(p.fear, o_code["released"], o_code["removed"]))
    pacr = track == t_code["pacr_harp"]
    if pacr.any():
        end = p.arrival + np.maximum(stay_days(sc, "pacr_harp", p.group), 1)
        oc = sc.tracks.outcomes.get("pacr_harp")
        res = np.full(n, o_code["removed"], dtype=np.int64)
        if oc is not None:
            pos = 0.0 if oc.released is None else oc.released.value
            closed = 0.0 if oc.closed is None else oc.closed.value
            if rng is None:
                k = np.cumsum(pacr) - 1
                u = ((k * 0.6180339887498949) % 1.0)   # a low-discrepancy stand-in for a draw
            else:
                u = rng.random(n)
            res = np.where(u < pos, o_code["released"],
                           np.where(u < pos + closed, o_code["closed"], o_code["removed"]))
        done(pacr, end, res)
    return leave, outcome


def daily_status(track: IntArray, leave: IntArray, outcome: IntArray, arrival: IntArray,
                 day: int) -> np.ndarray:
    """Each person's status on ``day``: their track, their outcome after it, or '' before
    the encounter (a label from TRACK_CODES or OUTCOME_CODES)."""
    labels = np.array(["", *TRACK_CODES, *(f"out:{o}" for o in OUTCOME_CODES)], dtype=object)
    on = (arrival <= day) & ((leave == NEVER) | (leave > day))
    after = (arrival <= day) & (leave != NEVER) & (leave <= day)
    idx = np.zeros(len(track), dtype=np.int64)
    idx[on] = 1 + track[on]
    idx[after] = 1 + len(TRACK_CODES) + outcome[after]
    return labels[idx]


def month_of(start: dt.date, days: IntArray) -> np.ndarray:
    base = np.datetime64(start, "D")
    return (base + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(str)
