"""Replications of a scenario: population → rules → network → metrics (CONTRACT.md section 4).

Replication ``r`` of a run with seed ``S`` uses ``SeedSequence(S).spawn(N)[r]`` and nothing else,
so its results do not depend on where, in which order or on how many workers it runs.
``seed=None`` is the deterministic mode (one replication, no random draws).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from safethird.flow.network import (
    CF_PATHWAYS,
    GROUP_CODES,
    Capacities,
    Draws,
    Outcome,
    PeopleArrays,
    capacities,
    draw,
    run,
    timeseries,
)
from safethird.flow.overlays import scenario_law
from safethird.flow.queues import NEVER, in_stage, per_day
from safethird.flow.scenario import PARTNERS, Scenario
from safethird.flow.tracks import (
    OUTCOME_CODES,
    TRACK_CODES,
    TrackPeople,
    TrackResult,
    adult_beds,
    assign,
    month_of,
)
from safethird.flow.tracks import outcomes as track_outcomes
from safethird.population.rates import PATHWAY_CODES, decide_encounters
from safethird.population.synthesize import Encounters, encounters

METRICS = ("transfers", "applied_in_partner", "partner_backlog_end", "detention_peak",
           "wait_days_transfer", "transfers_family_units", "released", "mpp_enrolled",
           "pacr_harp_processed", "family_detention_peak")


@dataclass
class Replication:
    index: int
    enc: Encounters
    pathway: np.ndarray
    people: PeopleArrays
    cap: Capacities
    draws: Draws
    outcome: Outcome
    tracks: TrackResult | None = None


def people_arrays(enc: Encounters, pathway: np.ndarray, partner: np.ndarray,
                  applies: np.ndarray) -> PeopleArrays:
    # per published cell, then per person (a look-up, not a million string comparisons)
    group = enc.cells["group"].replace_strict(
        {g: i for i, g in enumerate(GROUP_CODES)}, return_dtype=pl.Int64).to_numpy()[enc.cell]
    code = {p: i for i, p in enumerate(PATHWAY_CODES)}
    to_transfer = pathway == code["aca_transfer"]
    threshold = applies & enc.fear_claimed & (group != 2)
    cf = np.isin(pathway, [code[p] for p in CF_PATHWAYS]) & enc.fear_claimed
    return PeopleArrays(enc.day.astype(np.int64), group, partner.astype(np.int64), threshold,
                        to_transfer & threshold, cf)


def replicate(sc: Scenario, index: int, seed: int | None, replications: int) -> Replication:
    rng = None if seed is None else np.random.default_rng(
        np.random.SeedSequence(seed).spawn(replications)[index])
    share = sc.screening.fear_of_partner_established.value
    enc = encounters(sc.start, sc.end, rng=rng, fear_of_partner_share=share,
                     fear_denominator=sc.fear_claim_denominator)
    law, variants = scenario_law(sc)
    pathway, partner, applies = decide_encounters(enc, sc.end, law=law, variants=variants)
    people = people_arrays(enc, pathway, partner, applies)
    cap = capacities(sc, PARTNERS)
    draws = draw(sc, people, PARTNERS, rng)
    if sc.tracks is None:
        return Replication(index, enc, pathway, people, cap, draws, run(people, cap, draws))
    tp = track_people(enc, people, pathway)
    out, tr = network(sc, people, cap, draws, tp, rng)
    held_for_fear = replace(people, credible_fear=people.credible_fear & (
        tr.track == TRACK_CODES.index("adult_detention")))
    return Replication(index, enc, pathway, held_for_fear, cap, draws, out, tr)


def track_people(enc: Encounters, people: PeopleArrays,
                 pathway: np.ndarray | None = None) -> TrackPeople:
    return TrackPeople(people.arrival, people.group, enc.cell.astype(np.int64),
                       enc.cells["citizenship"].to_numpy().astype(str),
                       enc.cells["sector"].to_numpy().astype(str), enc.fear_claimed,
                       people.threshold, pathway)


def network(sc: Scenario, people: PeopleArrays, cap: Capacities, draws: Draws,
            tp: TrackPeople, rng: np.random.Generator | None = None,
            run_network: Callable[..., Outcome] = run) -> tuple[Outcome, TrackResult]:
    """The whole network with tracks: the agreement's queue first (its families hold family
    beds), then the policy, then the queues of the people the policy detains for credible
    fear. ``run_network`` is the queue engine (the SimPy model in the cross-check)."""
    # only the agreement's people, as a subset (its queues do not depend on anyone else)
    idx = np.flatnonzero(people.threshold)
    sub = PeopleArrays(*(getattr(people, f)[idx] for f in PeopleArrays.__dataclass_fields__))
    sub = replace(sub, credible_fear=np.zeros(len(idx), bool))
    sub_draws = Draws(draws.applies[idx], draws.apply_delay[idx], draws.abandons[idx],
                      draws.stay[idx], draws.domestic)
    pre = run_network(sub, cap, sub_draws)
    fam_held = _held(pre, sub.group == 1, sc.horizon)
    track, beds = assign(sc, tp, fam_held, rng, adult_stay=draws.stay)
    adult = track == TRACK_CODES.index("adult_detention")
    people = replace(people, credible_fear=people.credible_fear & adult)
    out = run_network(people, cap, draws)
    det_enter, det_left = out.stages["detention"]
    adult_held = in_stage(np.where(adult, det_enter, NEVER), np.where(adult, det_left, NEVER),
                          sc.horizon)
    a_beds = adult_beds(sc)
    if a_beds is not None and (adult_held > a_beds).any():
        # beds were held for the drawn stay; only a credible-fear queue slower than that stay
        # keeps someone longer, and the model does not say who then leaves: refuse the run
        day = int(np.argmax(adult_held > a_beds))
        raise ValueError(f"adult beds exceeded on {sc.date(day)} ({adult_held[day]} held, "
                         f"{a_beds[day]} beds): the credible-fear queue held people past "
                         "their length of stay; give the credible-fear interviews more "
                         "capacity or the track fewer admissions")
    ts_left = out.stages["threshold_screening"][1]
    fl_enter, fl_left = out.stages["transfer"]
    aca_left = np.where(fl_enter != NEVER, fl_left, ts_left)
    adult_left = np.where(det_enter != NEVER, det_left, out.stages["credible_fear"][1])
    leave, outcome = track_outcomes(sc, tp, track, out.transferred, out.released, aca_left,
                                    adult_left, rng)
    fam = track == TRACK_CODES.index("family_detention")
    held = _held(out, people.group == 1, sc.horizon) + in_stage(
        np.where(fam, people.arrival, NEVER), np.where(fam, leave, NEVER), sc.horizon)
    return out, TrackResult(track, leave, outcome, beds, held, a_beds, adult_held)


def _held(out: Outcome, family: np.ndarray, horizon: int) -> np.ndarray:
    """Families held awaiting a transfer flight, per day."""
    enter = out.stages["transfer"][0]
    det_enter, det_left = out.stages["detention"]
    sel = family & (enter != NEVER)
    return in_stage(np.where(sel, det_enter, NEVER), np.where(sel, det_left, NEVER), horizon)


def metrics(sc: Scenario, rep: Replication) -> dict[str, dict[str, Any]]:
    """Per metric, per partner (and "all"): the replication's value. ``wait_days_transfer``
    is the list of each transferee's days from encounter to flight."""
    out: dict[str, dict[str, Any]] = {m: {} for m in METRICS}
    end = sc.horizon - 1
    o, p = rep.outcome, rep.people
    det_enter, det_left = o.stages["detention"]
    for i, label in [*enumerate(PARTNERS), (-1, "all")]:
        sel = np.ones(len(p.arrival), bool) if label == "all" else p.partner == i
        flown = sel & (o.transferred != NEVER) & (o.transferred <= end)
        out["transfers"][label] = int(flown.sum())
        out["applied_in_partner"][label] = int((sel & (o.applied != NEVER)).sum())
        offices = o.office.values() if label == "all" else [o.office[i]]
        out["partner_backlog_end"][label] = int(sum(
            ((q["entry"] <= end) & ((q["left"] == NEVER) | (q["left"] > end))).sum()
            for q in offices))
        held = sel & (det_enter != NEVER)
        stock = in_stage(det_enter[held], det_left[held], sc.horizon)
        out["detention_peak"][label] = int(stock.max()) if len(stock) else 0
        out["wait_days_transfer"][label] = (o.transferred[flown] - p.arrival[flown]).tolist()
        out["transfers_family_units"][label] = int((flown & (p.group == 1)).sum())
        tr = rep.tracks
        if tr is None:
            out["released"][label] = int((sel & (o.released != NEVER)).sum())
            for m in ("mpp_enrolled", "pacr_harp_processed", "family_detention_peak"):
                out[m][label] = None
            continue
        rel = OUTCOME_CODES.index("released")
        out["released"][label] = int((sel & (tr.outcome == rel)).sum())
        out["mpp_enrolled"][label] = int((sel & (tr.track == TRACK_CODES.index("mpp"))).sum())
        out["pacr_harp_processed"][label] = int(
            (sel & (tr.track == TRACK_CODES.index("pacr_harp"))).sum())
        if label == "all":
            out["family_detention_peak"][label] = int(tr.family_held.max())
        else:
            fam = sel & (p.group == 1) & (o.stages["transfer"][0] != NEVER)
            stock = in_stage(det_enter[fam], det_left[fam], sc.horizon)
            out["family_detention_peak"][label] = int(stock.max()) if len(stock) else 0
    return out


def downstream(sc: Scenario, rep: Replication) -> dict[str, float]:
    """Outcomes after the tracks: PACR/HARP screenings (the scenario's published shares,
    applied person by person) and MPP court outcomes (published rates applied to the model's
    enrolment: expected counts, not a model of the hearings)."""
    tr = rep.tracks
    if tr is None or sc.tracks is None:
        return {}
    pacr = tr.track == TRACK_CODES.index("pacr_harp")
    out: dict[str, float] = {
        f"pacr_harp_{o}": float((pacr & (tr.outcome == OUTCOME_CODES.index(o))).sum())
        for o in ("removed", "released", "closed")}
    out["pacr_harp_in_custody_at_end"] = float((pacr & (tr.outcome == -1)).sum())
    enrolled = float((tr.track == TRACK_CODES.index("mpp")).sum())
    for name, rate in sc.tracks.mpp_court.items():
        out[f"mpp_{name}_expected"] = enrolled * rate.value
    return out


def releases(sc: Scenario, rep: Replication) -> dict[tuple[str, str, str], int]:
    """Released people by month of release × group × nationality."""
    p = rep.people
    if rep.tracks is None:
        day, sel = rep.outcome.released, rep.outcome.released != NEVER
    else:
        tr = rep.tracks
        sel = (tr.outcome == OUTCOME_CODES.index("released")) & (tr.leave != NEVER)
        day = tr.leave
    month = month_of(sc.start, np.where(sel, day, 0))[sel]
    group = np.array(GROUP_CODES)[p.group[sel]]
    nat = rep.enc.column("citizenship").astype(str)[sel]
    keys, counts = np.unique(np.stack([month, group, nat]), axis=1, return_counts=True)
    return {(str(a), str(b), str(c)): int(k) for (a, b, c), k in zip(keys.T, counts,
                                                                        strict=True)}


def _stats(values: Iterable[float | None]) -> dict[str, float | None]:
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return {"mean": None, "p05": None, "p50": None, "p95": None}
    return {"mean": float(v.mean()), "p05": float(np.percentile(v, 5)),
            "p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}


def summarize(per_rep: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict]]:
    """Across replications (counts) or over all transferees of all replications (waits)."""
    out: dict[str, dict[str, dict]] = {}
    for m in METRICS:
        out[m] = {}
        for label in [*PARTNERS, "all"]:
            vals = [r[m][label] for r in per_rep]
            if m == "wait_days_transfer":
                out[m][label] = _stats(w for v in vals for w in v)
            else:
                out[m][label] = _stats(vals)
    return out


@dataclass
class RunResult:
    scenario: Scenario
    seed: int | None
    replications: int
    per_rep: list[dict[str, dict[str, Any]]]
    timeseries: pl.DataFrame
    people: pl.DataFrame

    @property
    def metrics(self) -> dict[str, dict[str, dict]]:
        return summarize(self.per_rep)

    def downstream(self) -> dict[str, float]:
        """Mean over replications of the outcomes after the tracks (see ``downstream``)."""
        keys = sorted({k for r in self.per_rep for k in r.get("downstream", {})})
        return {k: sum(r["downstream"].get(k, 0.0) for r in self.per_rep) / len(self.per_rep)
                for k in keys}

    def transfers_by_month(self) -> list[dict[str, Any]]:
        """People transferred by month of the flight × partner, and how many of them were
        family-unit members, mean over replications."""
        ts = self.timeseries
        if "transfers_family_units" not in ts.columns:
            return []
        per = (ts.filter(pl.col("partner") != "all")
               .group_by(pl.col("date").dt.strftime("%Y-%m").alias("month"), "partner")
               .agg(pl.col("transfers").sum(), pl.col("transfers_family_units").sum())
               .filter(pl.col("transfers") > 0).sort("month", "partner"))
        k = self.replications
        return [{"month": m, "partner": p, "transfers": t / k, "family_units": f / k}
                for m, p, t, f in per.iter_rows()]

    def releases(self) -> list[dict[str, Any]]:
        """Released people by month × group × nationality, mean over replications."""
        total: dict[str, float] = {}
        for r in self.per_rep:
            for k, v in r.get("releases", {}).items():
                total[k] = total.get(k, 0) + v
        rows = [dict(zip(("month", "group", "nationality"), k.split("|"), strict=True))
                | {"released": v / len(self.per_rep)} for k, v in sorted(total.items())]
        return rows


def replication_result(sc: Scenario, index: int, seed: int | None, replications: int,
                       keep_people: bool) -> tuple[dict, pl.DataFrame, pl.DataFrame | None]:
    rep = replicate(sc, index, seed, replications)
    ts = timeseries(rep.outcome, rep.people, rep.cap, sc.start)
    if rep.tracks is not None:
        ts = ts.join(track_timeseries(sc, rep), on=["date", "partner"], how="left",
                     maintain_order="left")
    ts = ts.with_columns(pl.lit(index, dtype=pl.Int32).alias("replication"))
    m = metrics(sc, rep)
    m["releases"] = {"|".join(k): v for k, v in releases(sc, rep).items()}
    m["downstream"] = downstream(sc, rep)
    return m, ts, (people_table(sc, rep) if keep_people else None)


def track_timeseries(sc: Scenario, rep: Replication) -> pl.DataFrame:
    """Per day × partner label: people on each track (stock), people entering each track,
    people reaching each outcome, and the family beds and families held."""
    tr, p, h = rep.tracks, rep.people, sc.horizon
    assert tr is not None
    dates = pl.date_range(sc.start, sc.start + dt.timedelta(days=h - 1), eager=True)
    frames = []
    for i, label in [*enumerate(PARTNERS), (-1, "all")]:
        sel = np.ones(len(p.arrival), bool) if label == "all" else p.partner == i
        cols: dict[str, np.ndarray] = {}
        for k, t in enumerate(TRACK_CODES):
            on = sel & (tr.track == k)
            cols[f"track_{t}_entered"] = per_day(np.where(on, p.arrival, NEVER), h)
            cols[f"track_{t}_in"] = in_stage(np.where(on, p.arrival, NEVER),
                                             np.where(on, tr.leave, NEVER), h)
        for k, o in enumerate(OUTCOME_CODES):
            cols[f"outcome_{o}"] = per_day(np.where(sel & (tr.outcome == k), tr.leave,
                                                    NEVER), h)
        fam_flown = sel & (p.group == 1) & (rep.outcome.transferred != NEVER)
        cols["transfers_family_units"] = per_day(np.where(fam_flown, rep.outcome.transferred,
                                                          NEVER), h)
        if label == "all":
            cols["family_detention_held"] = tr.family_held
            cols["family_detention_beds"] = (tr.family_beds if tr.family_beds is not None
                                             else np.full(h, -1))
            cols["adult_detention_held"] = (tr.adult_held if tr.adult_held is not None
                                            else np.zeros(h))
            cols["adult_detention_beds"] = (tr.adult_beds if tr.adult_beds is not None
                                            else np.full(h, -1))
        frames.append(pl.DataFrame({"date": dates, "partner": [label] * h}
                                   | {k: np.asarray(v).astype(np.int64)
                                      for k, v in cols.items()}))
    return pl.concat(frames, how="diagonal")


def simulate(sc: Scenario, replications: int = 1, seed: int | None = 0, *,
             people: str = "first", dask: Any = None,
             progress: Callable[[int], None] | None = None) -> RunResult:
    """Run ``replications`` replications (``seed=None``: one deterministic run), locally or on
    a Dask cluster (``dask``: a ``distributed.Client``, an address, or None)."""
    if seed is None:
        replications = 1
    keep = [people == "all" or i == 0 for i in range(replications)]
    if dask is None:
        results = []
        for i in range(replications):
            results.append(replication_result(sc, i, seed, replications, keep[i]))
            if progress:
                progress(1)
    else:
        from safethird.flow.distributed import run_on_dask
        results = run_on_dask(dask, sc, seed, replications, keep, progress)
    per_rep = [r[0] for r in results]
    ts = pl.concat([r[1] for r in results])
    ppl = pl.concat([r[2] for r in results if r[2] is not None])
    return RunResult(sc, seed, replications, per_rep, ts, ppl)


def people_table(sc: Scenario, rep: Replication) -> pl.DataFrame:
    """One row per person: nationality, group, pathway, and the day entered / left each
    stage (dates; null = not in that stage or still there at the end)."""
    o = rep.outcome
    base = (sc.start - dt.date(1970, 1, 1)).days

    def as_date(days: np.ndarray) -> pl.Series:
        return pl.Series((days + base).astype(np.int32)).cast(pl.Date).scatter(
            np.flatnonzero(days == NEVER), None)

    frame = rep.enc.frame().select("person", "arrival", "citizenship", "group", "component",
                                   "state", "fear_claimed").rename(
        {"citizenship": "nationality"})
    cols = {"replication": pl.Series([rep.index] * len(rep.enc), dtype=pl.Int32),
            "pathway": pl.Series(np.array(PATHWAY_CODES)[rep.pathway]),
            "partner": pl.Series(rep.people.partner).replace_strict(
                dict(enumerate(PARTNERS)), default=None, return_dtype=pl.String)}
    for name, (enter, leave) in o.stages.items():
        cols[f"{name}_enter"] = as_date(enter)
        cols[f"{name}_leave"] = as_date(np.where(enter == NEVER, NEVER, leave))
    cols["transferred"] = as_date(o.transferred)
    cols["released_awaiting_transfer"] = as_date(o.released)
    cols["diverted"] = pl.Series(o.diverted)
    cols["applied_in_partner"] = as_date(o.applied)
    return frame.with_columns(**cols)
