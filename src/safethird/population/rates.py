"""Rules → rates: each person's pathway comes from the decision engine, never a set percentage.

The facts of a synthetic person are a few categories (citizenship, group, component, state, fear
claimed, fear of the partner) and the arrival day, so the engine decides every combination once
(``decide_frame`` on a grid of days × categories, vectorized) and each person looks up the
answer for their own combination — the same answer ``decide`` gives for that case.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl

from safethird.decide import PATHWAYS, decide_frame
from safethird.facts import records_to_frame
from safethird.law.data import Law, load_law
from safethird.population.synthesize import (
    CATEGORIES,
    CATEGORY_COLUMNS,
    Encounters,
    case_record,
)

PATHWAY_CODES = tuple(PATHWAYS)
PARTNER_CODES = ("GT", "HN", "SV")


def _codes(frame: pl.DataFrame, start: dt.date) -> np.ndarray:
    base = dt.date(1970, 1, 1)
    code = frame["arrival"].cast(pl.Int64).to_numpy() - (start - base).days
    for col in CATEGORY_COLUMNS:
        values = CATEGORIES[col]
        idx = frame[col].replace_strict({v: i for i, v in enumerate(values)},
                                        return_dtype=pl.Int64).to_numpy()
        code = code * len(values) + idx
    return code


def _date_route(grid: pl.DataFrame) -> pl.DataFrame:
    """Date every transit leg at the arrival day (the journey just before arrival): none of the
    route countries changed its treaty status in the years modelled, so any recent day gives the
    same answer, and a known day lets exception (iii) be decided."""
    legs = (grid.select(pl.int_range(pl.len()).alias("_row"), "arrival.date", "route")
            .explode("route")
            .with_columns(pl.when(pl.col("route").is_not_null()).then(
                pl.col("route").struct.with_fields(
                    entered=pl.col("arrival.date"), left=pl.col("arrival.date"))).alias("route"))
            .group_by("_row", maintain_order=True)
            .agg(pl.col("route").drop_nulls()))
    dated = grid.with_row_index("_row").drop("route").join(legs, on="_row", how="left")
    dated = dated.with_columns(pl.when(grid["route"].is_null()).then(None)
                               .otherwise(pl.col("route")).alias("route"))
    return dated.drop("_row").select(grid.columns)


_GRIDS: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def pathway_grid(start: dt.date, end: dt.date, law: Law | None, variants: tuple[str, ...]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pathway code, partner code or -1, agreement applies) for every day × category
    combination, indexed as ``_codes`` computes it (built once per law version)."""
    key = (start, end, (law or load_law()).version, variants)
    if key not in _GRIDS:
        _GRIDS[key] = _pathway_grid(start, end, law, variants)
    return _GRIDS[key]


def _pathway_grid(start: dt.date, end: dt.date, law: Law | None, variants: tuple[str, ...]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    combos = list(itertools.product(*(CATEGORIES[c] for c in CATEGORY_COLUMNS)))
    records = [case_record(cit, group, comp, state, fear, partner_fear, sector=sector)
               for cit, group, comp, state, sector, fear, partner_fear in combos]
    facts = records_to_frame(records, ("GT", "HN", "SV"))
    days = pl.DataFrame({"arrival.date": pl.date_range(start, end, eager=True)})
    grid = days.join(facts.drop("arrival.date").with_row_index("combo"), how="cross")
    grid = _date_route(grid.with_columns(pl.col("arrival.date").alias("as_of")))
    # the grid's cells are categories, not people: what a cell leaves unknown (e.g. DHS's
    # choice) is what the scenario's track policy decides, so the cells are read as the rules
    # read them (Kleene), not searched over their worlds (which would also cost minutes a run)
    out = decide_frame(grid, variant=list(variants) or None, law=law, exact_rows=False).select(
        "pathway", "aca.partner", "aca.status").collect()
    pathway = out["pathway"].replace_strict(
        {p: i for i, p in enumerate(PATHWAY_CODES)}, return_dtype=pl.Int8).to_numpy()
    partner = out["aca.partner"].replace_strict(
        {p: i for i, p in enumerate(PARTNER_CODES)}, default=-1, return_dtype=pl.Int8).to_numpy()
    applies = (out["aca.status"] == "applies").to_numpy()
    return pathway, partner, applies


def cell_codes(cells: pl.DataFrame) -> np.ndarray:
    """Per published cell: its (citizenship, group, component, state, sector) index in the
    grid."""
    code = np.zeros(cells.height, dtype=np.int64)
    for col in CATEGORY_COLUMNS[:5]:
        values = CATEGORIES[col]
        code = code * len(values) + cells[col].replace_strict(
            {v: i for i, v in enumerate(values)}, return_dtype=pl.Int64).to_numpy()
    return code


def decide_encounters(enc: Encounters, end: dt.date, *, law: Law | None = None,
                      variants: tuple[str, ...] = ()) -> tuple[np.ndarray, ...]:
    """(pathway code, partner code, agreement applies) per person, from the rules."""
    pathway, partner, applies = pathway_grid(enc.start, end, law, tuple(variants))
    code = (enc.day * (len(pathway) // ((end - enc.start).days + 1))
            + cell_codes(enc.cells)[enc.cell] * 4
            + enc.fear_claimed.astype(np.int64) * 2 + enc.fear_of_partner.astype(np.int64))
    return pathway[code], partner[code], applies[code]


def decide_population(people: pl.DataFrame, start: dt.date, end: dt.date, *,
                      law: Law | None = None, variants: tuple[str, ...] = ()) -> pl.DataFrame:
    """Adds ``pathway``, ``partner`` and ``aca_applies`` to a population table."""
    pathway, partner, applies = pathway_grid(start, end, law, tuple(variants))
    code = _codes(people, start)
    return people.with_columns(
        pl.Series("pathway", np.array(PATHWAY_CODES)[pathway[code]]),
        pl.Series("partner", partner[code]).replace_strict(
            dict(enumerate(PARTNER_CODES)), default=None, return_dtype=pl.String),
        pl.Series("aca_applies", applies[code]),
    )


def pathway_shares(people: pl.DataFrame, by: tuple[str, ...] = ("citizenship",)
                   ) -> pl.DataFrame:
    return (people.group_by(*by, "pathway").len()
            .with_columns((pl.col("len") / pl.col("len").sum().over(*by)).alias("share"))
            .sort(*by, "pathway"))
