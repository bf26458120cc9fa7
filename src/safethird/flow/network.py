"""The queue network, one person per row, exact FIFO with daily capacities (flow/queues.py).

Stages, in the order of the procedure (days counted from the scenario's start):

1. ``threshold_screening`` (per partner): people to whom an agreement applies and who claimed
   fear wait for a USCIS threshold screening (8 CFR 208.30(e)(7)); capacity per day (None = not
   a constraint); with a custody limit, those not screened in time are *diverted* to ordinary
   credible-fear processing.
2. ``credible_fear``: people with a fear claim and no agreement (or fear of the partner
   established, or diverted) wait for a credible-fear interview; national capacity = USCIS
   completions of the fiscal year per day.
3. ``transfer`` (per partner): after a threshold screening without fear of the partner the person
   waits, detained, for a seat on a transfer flight (seats on flight days); a family unit is
   released when the family detention limit (Flores, counted from the encounter) is reached; all
   still waiting are released the day transfers stop.
4. ``detention``: held from the encounter: awaiting transfer until the flight or release; in
   credible-fear processing for the average length of stay (not less than the interview wait),
   family units at most the family limit; groups under a release policy are not held.
5. ``partner_asylum`` (per partner): a transferee applies with the scenario's share, within the
   decision window; the partner's office holds its initial backlog and receives its own
   (domestic) applications; decisions per day = officers × decisions per officer per month / 30
   (0 while closed); an applicant who abandons leaves after the abandonment delay.

The random draws of a replication (who applies, who abandons, lengths of stay, domestic arrivals)
are made once in ``draw`` so that another implementation (the SimPy cross-check in tests) can run
the very same replication.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from safethird.flow.queues import (
    NEVER,
    IntArray,
    QueueResult,
    daily_capacity,
    in_stage,
    per_day,
    serve,
)
from safethird.flow.scenario import Scenario
from safethird.population.statistics import credible_fear, fiscal_year

GROUP_CODES = ("single_adult", "family_unit", "unaccompanied_child")
CF_PATHWAYS = ("credible_fear_barred", "credible_fear_asylum", "undetermined")


@dataclass(frozen=True)
class PeopleArrays:
    """The population as the network reads it (FIFO order = row order)."""

    arrival: IntArray          # day of the encounter
    group: IntArray            # index into GROUP_CODES
    partner: IntArray          # index into the scenario's partners, -1 none
    threshold: np.ndarray      # an agreement applies and fear was claimed: threshold screening
    to_transfer: np.ndarray    # pathway aca_transfer (no fear of the partner)
    credible_fear: np.ndarray  # pathway needing a credible-fear interview


@dataclass(frozen=True)
class Draws:
    applies: np.ndarray        # per person: would apply for asylum in the partner
    apply_delay: IntArray      # days after the transfer
    abandons: np.ndarray       # per person: abandons the partner application
    stay: IntArray             # detention length of stay in credible-fear processing
    domestic: dict[int, IntArray]   # partner → domestic applications per day


@dataclass(frozen=True)
class Capacities:
    horizon: int
    partners: tuple[str, ...]
    threshold: dict[int, IntArray | None]
    custody_limit: int | None
    credible_fear: IntArray
    seats: dict[int, IntArray]
    transfers_end: dict[int, int]
    decisions: dict[int, IntArray]
    backlog_start: dict[int, int]
    abandon_after: dict[int, int]
    detained: tuple[bool, bool, bool]
    family_limit: int
    # seats reserved for family units per day (FamilySeats); None = strict FIFO
    family_seats: dict[int, IntArray | None] = field(default_factory=dict)
    # days from the encounter a single adult waits for a seat at most (None = no limit)
    adult_wait_limit: dict[int, int | None] = field(default_factory=dict)


@dataclass
class Outcome:
    """Per person: the day they entered and left each stage (``NEVER`` = not in it / still
    there at the horizon), and per partner the partner-office queue."""

    stages: dict[str, tuple[IntArray, IntArray]]
    transferred: IntArray        # flight day or NEVER
    released: IntArray           # day released from the transfer queue without a flight
    diverted: np.ndarray
    applied: IntArray            # day applied in the partner, NEVER if not
    office: dict[int, dict[str, IntArray]]   # partner → entry/left/served/kind of its queue


def capacities(sc: Scenario, partners: tuple[str, ...]) -> Capacities:
    h = sc.horizon
    days = [sc.date(t) for t in range(h)]
    threshold: dict[int, IntArray | None] = {}
    seats: dict[int, IntArray] = {}
    ends: dict[int, int] = {}
    decisions: dict[int, IntArray] = {}
    backlog: dict[int, int] = {}
    abandon: dict[int, int] = {}
    for i, p in enumerate(partners):
        rate = sc.screening.threshold_per_day.get(p)
        threshold[i] = None if rate is None else daily_capacity(np.full(h, rate.value))
        cap = np.zeros(h, dtype=np.int64)
        end = NEVER
        for ph in sc.flights.get(p, ()):
            every = max(1, round(ph.flight_every_days.value))
            seats_per_flight = math.floor(ph.transfers_per_day.value * every + 0.5)
            for t in range(max(0, sc.day(ph.from_)), min(h, sc.day(ph.until))):
                if (t - sc.day(ph.from_)) % every == 0:
                    cap[t] += seats_per_flight
            end = max(end, sc.day(ph.until))
        seats[i], ends[i] = cap, end
        office = sc.partner_office.get(p)
        if office is None:
            decisions[i] = np.zeros(h, dtype=np.int64)
            backlog[i], abandon[i] = 0, NEVER
            continue
        per_day_rate = office.officers.value * office.decisions_per_officer_per_month.value / 30
        open_ = np.array([not any(a <= d and (b is None or d < b) for a, b in office.closed)
                          for d in days])
        decisions[i] = daily_capacity(np.where(open_, per_day_rate, 0.0))
        backlog[i] = round(office.backlog_start.value)
        abandon[i] = round(office.abandon_after_days.value)
    cf_year = {int(p[2:]): c for p, c in credible_fear().filter(pl.col("citizenship") == "ALL")
               .select("period", "completions").iter_rows()}
    cf_rate = np.array([cf_year[fiscal_year(f"{d.year}-{d.month:02d}")] / (
        366 if fiscal_year(f"{d.year}-{d.month:02d}") % 4 == 0 else 365) for d in days])
    limit = sc.screening.custody_limit_days
    det = tuple(g in sc.detention.detained for g in GROUP_CODES)
    return Capacities(h, partners, threshold, None if limit is None else round(limit.value),
                      daily_capacity(cf_rate), seats, ends, decisions, backlog, abandon,
                      (det[0], det[1], det[2]), round(sc.detention.family_limit_days.value),
                      {i: family_seats(sc, p, seats[i]) for i, p in enumerate(partners)},
                      {i: (None if (w := sc.transfer_wait_limit_days.get(p)) is None
                           else round(w.value)) for i, p in enumerate(partners)})


def family_seats(sc: Scenario, partner: str, seats: IntArray) -> IntArray | None:
    """Seats reserved for family units each day: ``share`` of the seats from the day the
    discipline starts, rounded without drift (floor of the cumulative share)."""
    fs = sc.family_seats.get(partner)
    if fs is None:
        return None
    on = np.arange(len(seats)) >= sc.day(fs.from_)
    cum = np.floor(np.cumsum(np.where(on, seats, 0)) * fs.share.value + 1e-9)
    return np.diff(np.concatenate([[0.0], cum])).astype(np.int64)


def draw(sc: Scenario, people: PeopleArrays, partners: tuple[str, ...],
         rng: np.random.Generator | None) -> Draws:
    """The random parts of one replication; ``rng=None`` gives the deterministic mode
    (systematic selection of exact shares, expected lengths, evenly spread arrivals)."""
    n, h = len(people.arrival), sc.horizon
    applies = np.zeros(n, bool)
    abandons = np.zeros(n, bool)
    delay = np.zeros(n, dtype=np.int64)
    domestic: dict[int, IntArray] = {}
    for i, p in enumerate(partners):
        office = sc.partner_office.get(p)
        mine = people.partner == i
        if office is None:
            domestic[i] = np.zeros(h, dtype=np.int64)
            continue
        share, ab = office.apply_share.value, office.abandon_share.value
        window = round(office.apply_within_days.value)
        rate = office.domestic_applications.value / office.domestic_applications_over_days.value
        if rng is None:
            k = np.cumsum(mine) - 1
            applies |= mine & (np.floor((k + 1) * share) > np.floor(k * share))
            abandons |= mine & (np.floor((k + 1) * ab + 0.5) > np.floor(k * ab + 0.5))
            delay[mine] = window // 2
            domestic[i] = daily_capacity(np.full(h, rate))
        else:
            applies |= mine & (rng.random(n) < share)
            abandons |= mine & (rng.random(n) < ab)
            delay[mine] = rng.integers(0, window + 1, int(mine.sum()))
            domestic[i] = rng.poisson(rate, h).astype(np.int64)
    los = sc.detention.length_of_stay_days.value
    if rng is None:
        stay = np.full(n, round(los), dtype=np.int64)
    else:
        stay = rng.geometric(1 / max(los, 1.0), n).astype(np.int64)
    return Draws(applies, delay, abandons, stay, domestic)


def run(people: PeopleArrays, cap: Capacities, draws: Draws) -> Outcome:
    """One replication of the network (see the module docstring). Only people with a fear
    claim enter it: the others are kept out of the arrays while it runs."""
    idx = np.flatnonzero(people.threshold | people.credible_fear)
    if len(idx) == len(people.arrival):
        return _run(people, cap, draws)
    sub = PeopleArrays(*(getattr(people, f)[idx] for f in PeopleArrays.__dataclass_fields__))
    sub_draws = Draws(draws.applies[idx], draws.apply_delay[idx], draws.abandons[idx],
                      draws.stay[idx], draws.domestic)
    o = _run(sub, cap, sub_draws)
    n = len(people.arrival)

    def full(a: np.ndarray, fill: object = NEVER) -> np.ndarray:
        out = np.full(n, fill, dtype=a.dtype)
        out[idx] = a
        return out

    stages = {k: (full(e), full(lv)) for k, (e, lv) in o.stages.items()}
    return Outcome(stages, full(o.transferred), full(o.released), full(o.diverted, False),
                   full(o.applied), o.office)


def _run(people: PeopleArrays, cap: Capacities, draws: Draws) -> Outcome:
    n, h = len(people.arrival), cap.horizon
    arrival = people.arrival
    ts_enter = np.full(n, NEVER, dtype=np.int64)
    ts_left = np.full(n, NEVER, dtype=np.int64)
    ts_served = np.full(n, NEVER, dtype=np.int64)
    for i in range(len(cap.partners)):
        mine = people.threshold & (people.partner == i)
        entry = np.where(mine, arrival, NEVER)
        if cap.threshold[i] is None:   # not a constraint: screened on the day
            served = np.where(mine, arrival, NEVER)
            left = served
        else:
            pat = None if cap.custody_limit is None else np.where(
                mine, cap.custody_limit, NEVER)
            q = serve(entry, cap.threshold[i], pat)
            served, left = q.served, q.left
        ts_enter = np.where(mine, entry, ts_enter)
        ts_served = np.where(mine, served, ts_served)
        ts_left = np.where(mine, left, ts_left)
    diverted = people.threshold & (ts_served == NEVER) & (ts_left != NEVER)
    screened = ts_served != NEVER

    # credible fear: direct, after a threshold screening finding fear of the partner, diverted
    cf_entry = np.full(n, NEVER, dtype=np.int64)
    direct = people.credible_fear & ~people.threshold
    cf_entry[direct] = arrival[direct]
    after = people.threshold & screened & ~people.to_transfer
    cf_entry[after] = ts_served[after]
    cf_entry[diverted] = ts_left[diverted]
    cf = serve(cf_entry, cap.credible_fear)

    # transfer flights
    group = people.group
    family = group == 1
    held = np.array(cap.detained)[group]
    fl_enter = np.full(n, NEVER, dtype=np.int64)
    transferred = np.full(n, NEVER, dtype=np.int64)
    fl_left = np.full(n, NEVER, dtype=np.int64)
    released = np.full(n, NEVER, dtype=np.int64)
    for i in range(len(cap.partners)):
        bound = people.to_transfer & screened & (people.partner == i) & held
        entry = np.where(bound, ts_served, NEVER)
        pat = np.where(bound & family, np.maximum(cap.family_limit - (ts_served - arrival), 0),
                       NEVER)
        adult_limit = cap.adult_wait_limit.get(i)
        if adult_limit is not None:
            pat = np.where(bound & ~family,
                           np.maximum(adult_limit - (ts_served - arrival), 0), pat)
        fam_seats = cap.family_seats.get(i)
        if fam_seats is None:
            q = serve(entry, cap.seats[i], pat)
        else:
            # families first on their reserved seats; the seats they leave go to adults
            qf = serve(np.where(family, entry, NEVER), fam_seats, pat)
            used = per_day(qf.served, h)
            qa = serve(np.where(family, NEVER, entry), cap.seats[i] - used, pat)
            q = QueueResult(np.where(family, qf.served, qa.served),
                            np.where(family, qf.left, qa.left))
        left = q.left.copy()
        end = cap.transfers_end[i]
        if end != NEVER:
            waiting = bound & (q.served == NEVER) & ((left == NEVER) | (left > end))
            left[waiting] = np.where(np.maximum(entry[waiting], end) < h,
                                     np.maximum(entry[waiting], end), NEVER)
        fl_enter = np.where(bound, entry, fl_enter)
        transferred = np.where(bound, q.served, transferred)
        fl_left = np.where(bound, left, fl_left)
        released = np.where(bound & (q.served == NEVER), left, released)
    # released under the family policy right after the screening: not transferred
    let_go = people.to_transfer & screened & ~held
    released[let_go] = ts_served[let_go]

    # detention
    det_enter = np.full(n, NEVER, dtype=np.int64)
    det_left = np.full(n, NEVER, dtype=np.int64)
    awaiting = fl_enter != NEVER
    det_enter[awaiting] = arrival[awaiting]
    det_left[awaiting] = fl_left[awaiting]
    in_cf = (cf_entry != NEVER) & held
    stay_end = np.maximum(arrival + draws.stay, np.where(cf.served == NEVER, h, cf.served))
    stay_end = np.where(family, np.minimum(stay_end, arrival + cap.family_limit), stay_end)
    det_enter[in_cf] = arrival[in_cf]
    det_left[in_cf] = np.where(stay_end[in_cf] < h, stay_end[in_cf], NEVER)
    # the threshold wait of those not held afterwards (custody before release or diversion)
    only_ts = (ts_enter != NEVER) & (det_enter == NEVER) & held
    det_enter[only_ts] = arrival[only_ts]
    det_left[only_ts] = ts_left[only_ts]

    # the partner's asylum office
    applied = np.where((transferred != NEVER) & draws.applies,
                       transferred + draws.apply_delay, NEVER)
    applied = np.where(applied < h, applied, NEVER)
    office: dict[int, dict[str, IntArray]] = {}
    pa_enter = np.full(n, NEVER, dtype=np.int64)
    pa_left = np.full(n, NEVER, dtype=np.int64)
    for i in range(len(cap.partners)):
        backlog = cap.backlog_start[i]
        dom = np.repeat(np.arange(h, dtype=np.int64), draws.domestic[i])
        mine = np.flatnonzero((applied != NEVER) & (people.partner == i))
        entry = np.concatenate([np.zeros(backlog, dtype=np.int64), dom, applied[mine]])
        kind = np.concatenate([np.zeros(backlog, np.int64), np.ones(len(dom), np.int64),
                               np.full(len(mine), 2, np.int64)])
        # the office's own applicants are not known to abandon (no figure): only transferees
        gives_up = np.concatenate([np.zeros(backlog + len(dom), bool), draws.abandons[mine]])
        after = cap.abandon_after[i]
        pat = np.where(gives_up & (after != NEVER), after, NEVER)
        q = serve(entry, cap.decisions[i], pat)
        office[i] = {"entry": entry, "left": q.left, "served": q.served, "kind": kind}
        pa_enter[mine] = entry[kind == 2]
        pa_left[mine] = q.left[kind == 2]

    stages = {
        "threshold_screening": (ts_enter, ts_left),
        "credible_fear": (cf_entry, cf.served),
        "detention": (det_enter, det_left),
        "transfer": (fl_enter, fl_left),
        "partner_asylum": (pa_enter, pa_left),
    }
    return Outcome(stages, transferred, released, diverted, applied, office)


def timeseries(out: Outcome, people: PeopleArrays, cap: Capacities, start: dt.date
               ) -> pl.DataFrame:
    """One row per day × partner ("all" for the US-side totals): stock and flow of every
    stage."""
    h = cap.horizon
    frames = []
    dates = pl.date_range(start, start + dt.timedelta(days=h - 1), eager=True)
    labels = [*cap.partners, "all"]
    for i, label in enumerate(labels):
        sel = np.ones(len(people.arrival), bool) if label == "all" else people.partner == i
        cols: dict[str, np.ndarray] = {"encounters": per_day(people.arrival[sel], h)}
        for name, (enter, leave) in out.stages.items():
            e, lv = enter[sel], leave[sel]
            cols[f"{name}_in"] = in_stage(e, lv, h)
            cols[f"{name}_entered"] = per_day(e, h)
            cols[f"{name}_left"] = per_day(np.where(e != NEVER, lv, NEVER), h)
        cols["transfers"] = per_day(out.transferred[sel], h)
        cols["transfers_cumulative"] = cols["transfers"].cumsum()
        cols["released_awaiting_transfer"] = per_day(out.released[sel], h)
        cols["diverted"] = per_day(np.where(out.diverted[sel], out.stages[
            "threshold_screening"][1][sel], NEVER), h)
        cols["applied_in_partner"] = per_day(out.applied[sel], h)
        if label == "all":
            offices = list(out.office.values())
        else:
            offices = [out.office[i]] if i in out.office else []
        backlog = np.zeros(h, dtype=np.int64)
        decided = np.zeros(h, dtype=np.int64)
        abandoned = np.zeros(h, dtype=np.int64)
        domestic = np.zeros(h, dtype=np.int64)
        for o in offices:
            backlog += in_stage(o["entry"], o["left"], h)
            decided += per_day(o["served"], h)
            abandoned += per_day(np.where(o["served"] == NEVER, o["left"], NEVER), h)
            domestic += per_day(np.where(o["kind"] == 1, o["entry"], NEVER), h)
        cols["partner_domestic_applications"] = domestic
        cols["partner_decisions"] = decided
        cols["partner_abandoned"] = abandoned
        cols["partner_backlog"] = backlog
        frames.append(pl.DataFrame({"date": dates, "partner": [label] * h}
                                   | {k: v.astype(np.int64) for k, v in cols.items()}))
    return pl.concat(frames)
