"""Monthly encounter cells (month × citizenship × group × component × sector) from the published
tables, reproducing every published number exactly.

What is published (``population/data``): for Honduras and El Salvador, every month × group ×
component cell; for Guatemala, its Border Patrol and port totals and its Border Patrol family
units; for Mexico and all other citizenships, their monthly totals; Border Patrol totals by group
and by sector, and by group for the El Paso and Rio Grande Valley sectors; port family units.

What is not published, and how the cells between the margins are filled: a joint cell unknown
from the tables (e.g. Mexican single adults in the Tucson sector) is allocated in proportion to
the margins it must add up to (independence), rounded so that every published margin still holds
exactly (``controlled_rounding``). The one exception is citizenship × Border Patrol sector: CBP
publishes it by fiscal year (``usbp_sector_citizenship_fy.csv``), and independence would put
Hondurans where Mexicans cross (FY2020: 5,900 in El Paso against the published 3,976, 9,500 in
the Rio Grande Valley against 17,725). Each month's citizenship × sector table within a group is
fitted to the month's margins and, summed over the year, to the published annual table
(three-way iterative proportional fitting, ``_fitted_sectors``), then rounded to the month's
margins: the monthly tables hold exactly, the annual one to within rounding.

Port (OFO) encounters of Guatemala, Mexico and others who are not family units are split
between children and single adults in the proportion of the Honduran and Salvadoran port cells
of the month (no port table by group is bundled). Ports have no sector;
their state is taken in proportion to the citizenship's Border Patrol states that month.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import polars as pl

from safethird.population.statistics import (
    encounter_margins,
    fiscal_year,
    monthly_encounters,
    sector_citizenship,
)

GROUPS = ("single_adult", "family_unit", "unaccompanied_child")
COMPONENTS = ("usbp", "ofo")
DETAILED = ("HN", "SV")
CITIZENSHIPS = ("HN", "SV", "GT", "MX", "OTHER")

# Border Patrol sectors of the Southwest border and the state each lies in (CBP sector maps).
# El Paso covers west Texas and New Mexico, Yuma mostly Arizona: both states of a sector are
# treated alike by the rules (same circuit outside the Ninth, same operation), so one is named.
SECTOR_STATE = {
    "San Diego": "CA", "El Centro": "CA", "Yuma": "AZ", "Tucson": "AZ", "El Paso": "TX",
    "Big Bend": "TX", "Del Rio": "TX", "Laredo": "TX", "Rio Grande Valley": "TX",
}
PORTS = "ports"
# (month, margin, change) where two published tables disagree and one had to give way
DISCREPANCIES: set[tuple[str, str, int]] = set()


def largest_remainder(total: int, weights: Sequence[float], caps: Sequence[int] | None = None
                      ) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` into whole numbers (Hamilton's method),
    never above ``caps`` when given (then sum(weights) must be sum(caps))."""
    w = np.asarray(weights, dtype=np.float64)
    if total < 0:
        raise ValueError(f"cannot split a negative total {total}")
    if total == 0:
        return np.zeros(len(w), dtype=np.int64)
    if w.sum() <= 0:
        raise ValueError(f"cannot split {total} over zero weights")
    exact = total * w / w.sum()
    base = np.floor(exact + 1e-9).astype(np.int64)
    rest = exact - base
    if caps is not None:
        rest = np.where(base >= np.asarray(caps), -1.0, rest)
    order = np.argsort(-rest, kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base


def controlled_rounding(rows: Sequence[int], cols: Sequence[int],
                        allowed: np.ndarray | None = None) -> np.ndarray:
    """A whole-number table with the given row and column sums, close to the independence
    table: rows are filled one at a time in proportion to the column sums still open."""
    rows_a, cols_a = np.asarray(rows, np.int64), np.asarray(cols, np.int64).copy()
    if rows_a.sum() != cols_a.sum():
        raise ValueError(f"row sums {rows_a.sum()} and column sums {cols_a.sum()} differ")
    if (rows_a < 0).any() or (cols_a < 0).any():
        raise ValueError("negative margin")
    mask = np.ones((len(rows_a), len(cols_a)), bool) if allowed is None else allowed
    table = np.zeros((len(rows_a), len(cols_a)), dtype=np.int64)
    # rows with structural zeros first, while the columns they need are still open
    for i in sorted(range(len(rows_a)), key=lambda r: mask[r].sum()):
        open_ = np.where(mask[i], cols_a, 0)
        if open_.sum() < rows_a[i]:
            raise ValueError("margins cannot be met with the structural zeros")
        table[i] = largest_remainder(int(rows_a[i]), open_, open_)
        cols_a -= table[i]
    return table


def rake(seed: np.ndarray, rows: Sequence[float], cols: Sequence[float],
         iterations: int = 200, tol: float = 1e-9) -> np.ndarray:
    """Iterative proportional fitting: the table closest to ``seed`` (same odds ratios) with
    the given row and column sums. A zero in the seed stays zero."""
    t = np.asarray(seed, dtype=np.float64).copy()
    r, c = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    for _ in range(iterations):
        rs = t.sum(axis=1)
        t *= np.divide(r, rs, out=np.zeros_like(r), where=rs > 0)[:, None]
        cs = t.sum(axis=0)
        t *= np.divide(c, cs, out=np.zeros_like(c), where=cs > 0)[None, :]
        if np.abs(t.sum(axis=1) - r).max() <= tol * max(1.0, r.sum()):
            break
    return t


def round_to_margins(fitted: np.ndarray, rows: Sequence[int], cols: Sequence[int]
                     ) -> np.ndarray:
    """Whole numbers with exactly the given row and column sums, close to ``fitted``: rows are
    rounded one at a time (largest first, so the last row, which takes what is left, is a small
    one) by largest remainder, never above the column sums still open."""
    rows_a, cols_a = np.asarray(rows, np.int64), np.asarray(cols, np.int64).copy()
    if rows_a.sum() != cols_a.sum():
        raise ValueError(f"row sums {rows_a.sum()} and column sums {cols_a.sum()} differ")
    table = np.zeros(fitted.shape, dtype=np.int64)
    order = sorted(range(len(rows_a)), key=lambda i: -rows_a[i])
    for i in order[:-1]:
        w = np.where(cols_a > 0, np.maximum(fitted[i], 0.0), 0.0)
        if w.sum() <= 0:
            w = cols_a.astype(np.float64)
        exact = rows_a[i] * w / w.sum() if w.sum() > 0 else w
        base = np.minimum(np.floor(exact + 1e-9).astype(np.int64), cols_a)
        rest = np.where(base < cols_a, exact - base, -1.0)
        while base.sum() < rows_a[i]:
            room = np.flatnonzero(base < cols_a)
            k = room[np.argmax(rest[room])]
            base[k] += 1
            rest[k] = -1.0 if base[k] >= cols_a[k] else rest[k] - 1.0
        table[i] = base
        cols_a -= base
    table[order[-1]] = cols_a
    if table[order[-1]].sum() != rows_a[order[-1]] or (table < 0).any():
        raise ValueError("margins cannot be met")
    return table


@cache
def _sector_seed(fy: int) -> np.ndarray:
    """The published citizenship × sector table of fiscal year ``fy`` (rows CITIZENSHIPS,
    columns SECTOR_STATE's order)."""
    t = sector_citizenship().filter(pl.col("period") == f"FY{fy}")
    if t.height == 0:
        raise LookupError(f"no published citizenship × sector table for FY{fy}")
    look = {(c, s): n for c, s, n in t.select("citizenship", "sector", "apprehensions")
            .iter_rows()}
    return np.array([[look[(c, s)] for s in SECTOR_STATE] for c in CITIZENSHIPS],
                    dtype=np.float64)


def _margin(m: pl.DataFrame, dimension: str, value: str, component: str) -> int:
    hit = m.filter((pl.col("dimension") == dimension) & (pl.col("value") == value)
                   & (pl.col("component") == component))
    if hit.height != 1:
        raise LookupError(f"margin {dimension}={value} ({component}) missing or repeated")
    return int(hit["encounters"][0])


def _month_margins(month: str, detail: pl.DataFrame, m: pl.DataFrame
                   ) -> tuple[dict[tuple[str, str, str], int], np.ndarray]:
    """The month's counts by citizenship × group × component, and its Border Patrol
    sector × group table."""
    cell = {(r["citizenship"], r["group"], r["component"]): r["encounters"]
            for r in detail.iter_rows(named=True)}
    total = {c: _margin(m, "total", "all", c) for c in COMPONENTS}
    gt = {c: _margin(m, "citizenship", "GT", c) for c in COMPONENTS}
    gt_family_usbp = _margin(m, "citizenship", "GT_family_unit", "usbp")
    mx_all, other_all = (_margin(m, "citizenship", c, "all") for c in ("MX", "OTHER"))
    detailed = {c: sum(cell.get((k, g, c), 0) for k in DETAILED for g in GROUPS)
                for c in COMPONENTS}
    residual = [total[c] - detailed[c] - gt[c] for c in COMPONENTS]
    # Mexico and "other" between Border Patrol and ports
    split = controlled_rounding([mx_all, other_all], residual)
    by_comp = {("MX", c): int(split[0, j]) for j, c in enumerate(COMPONENTS)}
    by_comp |= {("OTHER", c): int(split[1, j]) for j, c in enumerate(COMPONENTS)}
    counts: dict[tuple[str, str, str], int] = {k: int(v) for k, v in cell.items()}

    # Border Patrol: groups of Guatemala, Mexico and others within the published group totals
    g_usbp = np.array([_margin(m, "group", g, "usbp") for g in GROUPS])
    g_open = g_usbp - np.array([sum(cell.get((k, g, "usbp"), 0) for k in DETAILED)
                                for g in GROUPS])
    g_open[GROUPS.index("family_unit")] -= gt_family_usbp
    rows = [gt["usbp"] - gt_family_usbp, by_comp[("MX", "usbp")], by_comp[("OTHER", "usbp")]]
    allowed = np.ones((3, 3), bool)
    allowed[0, GROUPS.index("family_unit")] = False
    t = controlled_rounding(rows, g_open, allowed)
    for i, k in enumerate(("GT", "MX", "OTHER")):
        for j, g in enumerate(GROUPS):
            counts[(k, g, "usbp")] = int(t[i, j]) + (gt_family_usbp if (k, g) == (
                "GT", "family_unit") else 0)

    # Ports: family units are published; children vs single adults in the HN/SV proportion
    fam_open = _margin(m, "group", "family_unit", "ofo") - sum(
        cell.get((k, "family_unit", "ofo"), 0) for k in DETAILED)
    port_rows = [gt["ofo"], by_comp[("MX", "ofo")], by_comp[("OTHER", "ofo")]]
    nonfam_open = sum(port_rows) - fam_open
    uac_w = sum(cell.get((k, "unaccompanied_child", "ofo"), 0) for k in DETAILED)
    sa_w = sum(cell.get((k, "single_adult", "ofo"), 0) for k in DETAILED)
    uac_open, sa_open = largest_remainder(nonfam_open, [uac_w, sa_w] if uac_w + sa_w else [0, 1])
    cols = [0] * 3
    cols[GROUPS.index("single_adult")] = int(sa_open)
    cols[GROUPS.index("unaccompanied_child")] = int(uac_open)
    cols[GROUPS.index("family_unit")] = int(fam_open)
    t = controlled_rounding(port_rows, cols)
    for i, k in enumerate(("GT", "MX", "OTHER")):
        for j, g in enumerate(GROUPS):
            counts[(k, g, "ofo")] = int(t[i, j])

    # Border Patrol sectors: sector × group, then citizenship × sector within each group
    sectors = list(SECTOR_STATE)
    known = {"El Paso", "Rio Grande Valley"}
    sec_group = np.zeros((len(sectors), 3), dtype=np.int64)
    for s_i, s in enumerate(sectors):
        if s in known:
            for j, g in enumerate(GROUPS):
                sec_group[s_i, j] = _margin(m, "sector_group", f"{s}:{g}", "usbp")
    for s_i, s in enumerate(sectors):
        if s in known:  # the scraped group table may differ from the sector table (E2 wins)
            excess = int(sec_group[s_i].sum()) - _margin(m, "sector", s, "usbp")
            if excess:
                j = int(np.argmax(sec_group[s_i]))
                sec_group[s_i, j] -= excess
                DISCREPANCIES.add((month, f"{s}:{GROUPS[j]}", -excess))
    rest = [i for i, s in enumerate(sectors) if s not in known]
    col_open = g_usbp - sec_group.sum(axis=0)
    sec_group[rest] = controlled_rounding(
        [_margin(m, "sector", sectors[i], "usbp") for i in rest], col_open)
    return counts, sec_group


def _group_rows(counts: dict[tuple[str, str, str], int], g: str) -> list[int]:
    return [counts[(k, g, "usbp")] for k in CITIZENSHIPS]


@cache
def _fitted_sectors(fy: int) -> dict[tuple[str, int], np.ndarray]:
    """Per month of fiscal year ``fy`` and group: the citizenship × sector table (real-valued)
    with the month's margins whose sum over the year is CBP's annual citizenship × sector table
    (three-way iterative proportional fitting, starting from the annual table in every month).

    The annual table's Mexican count is not the model's (the model's Border Patrol Mexicans are
    the dashboard total less a port share), so Mexico and 'other' are first fitted to the model's
    yearly totals within each sector's published residual; Honduras, El Salvador and Guatemala
    are the published numbers as they stand."""
    detail, margins = monthly_encounters(), encounter_margins()
    months = [mo for mo in sorted(detail["month"].unique().to_list()) if fiscal_year(mo) == fy]
    per = {mo: _month_margins(mo, detail.filter(pl.col("month") == mo),
                              margins.filter(pl.col("month") == mo)) for mo in months}
    keys = [(mo, j) for mo in months for j in range(len(GROUPS))]
    rows = np.array([_group_rows(per[mo][0], GROUPS[j]) for mo, j in keys], dtype=np.float64)
    cols = np.array([per[mo][1][:, j] for mo, j in keys], dtype=np.float64)
    annual = _sector_seed(fy).copy()
    mo_ot = [CITIZENSHIPS.index("MX"), CITIZENSHIPS.index("OTHER")]
    named = [i for i in range(len(CITIZENSHIPS)) if i not in mo_ot]
    residual = cols.sum(axis=0) - annual[named].sum(axis=0)
    annual[mo_ot] = rake(annual[mo_ot], rows.sum(axis=0)[mo_ot], residual)
    t = np.broadcast_to(annual, (len(keys), *annual.shape)).copy()
    for _ in range(100):
        rs = t.sum(axis=2)
        t *= np.divide(rows, rs, out=np.zeros_like(rows), where=rs > 0)[:, :, None]
        cs = t.sum(axis=1)
        t *= np.divide(cols, cs, out=np.zeros_like(cols), where=cs > 0)[:, None, :]
        ys = t.sum(axis=0)
        t *= np.divide(annual, ys, out=np.zeros_like(annual), where=ys > 0)[None, :, :]
        if np.abs(t.sum(axis=2) - rows).max() < 1e-6 and np.abs(t.sum(axis=1) - cols).max() < 1e-6:
            break
    return {k: t[i] for i, k in enumerate(keys)}


def _month_cells(month: str, detail: pl.DataFrame, m: pl.DataFrame) -> list[tuple]:
    counts, sec_group = _month_margins(month, detail, m)
    sectors = list(SECTOR_STATE)
    fitted = _fitted_sectors(fiscal_year(month))
    out = []
    for j, g in enumerate(GROUPS):
        cits = list(CITIZENSHIPS)
        rows_g = _group_rows(counts, g)
        t = round_to_margins(fitted[(month, j)], rows_g, sec_group[:, j])
        for i, k in enumerate(cits):
            for s_i, s in enumerate(sectors):
                if t[i, s_i]:
                    out.append((month, k, g, "usbp", s, SECTOR_STATE[s], int(t[i, s_i])))
    # ports: state in proportion to the citizenship's Border Patrol states that month
    usbp_state: dict[str, dict[str, int]] = {}
    for _, k, _, _, _, st, n in out:
        usbp_state.setdefault(k, {}).setdefault(st, 0)
        usbp_state[k][st] += n
    for k in CITIZENSHIPS:
        states = sorted(usbp_state.get(k, {"TX": 1}))
        w = [usbp_state.get(k, {"TX": 1})[s] for s in states]
        for g in GROUPS:
            n = counts.get((k, g, "ofo"), 0)
            for st, v in zip(states, largest_remainder(n, w), strict=True):
                if v:
                    out.append((month, k, g, "ofo", PORTS, st, int(v)))
    return out


@cache
def encounter_cells(months: tuple[str, ...] | None = None) -> pl.DataFrame:
    """One row per month × citizenship × group × component × sector × state with the number of
    encounters; sums to every published monthly table and margin exactly."""
    detail, margins = monthly_encounters(), encounter_margins()
    all_months = sorted(detail["month"].unique().to_list())
    wanted = all_months if months is None else [mo for mo in months if mo in all_months]
    missing = sorted(set(months or ()) - set(all_months))
    if missing:
        raise LookupError(f"no published encounter table for {', '.join(missing)}")
    rows: list[tuple] = []
    for mo in wanted:
        rows += _month_cells(mo, detail.filter(pl.col("month") == mo),
                             margins.filter(pl.col("month") == mo))
    return pl.DataFrame(rows, orient="row", schema={
        "month": pl.String, "citizenship": pl.String, "group": pl.String,
        "component": pl.String, "sector": pl.String, "state": pl.String,
        "encounters": pl.Int64})
