"""Monthly encounter cells (month × citizenship × group × component × sector) from the published
tables, reproducing every published number exactly.

What is published (``population/data``): for Honduras and El Salvador, every month × group ×
component cell; for Guatemala, its Border Patrol and port totals and its Border Patrol family
units; for Mexico and all other citizenships, their monthly totals; Border Patrol totals by group
and by sector, and by group for the El Paso and Rio Grande Valley sectors; port family units.

What is not published, and how the cells between the margins are filled: a joint cell unknown
from the tables (e.g. Mexican single adults in the Tucson sector) is allocated in proportion to
the margins it must add up to (independence), rounded so that every published margin still holds
exactly (``controlled_rounding``). Port (OFO) encounters of Guatemala, Mexico and others who are
not family units are split between children and single adults in the proportion of the Honduran
and Salvadoran port cells of the month (no port table by group is bundled). Ports have no sector;
their state is taken in proportion to the citizenship's Border Patrol states that month.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import polars as pl

from safethird.population.statistics import encounter_margins, monthly_encounters

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


def _margin(m: pl.DataFrame, dimension: str, value: str, component: str) -> int:
    hit = m.filter((pl.col("dimension") == dimension) & (pl.col("value") == value)
                   & (pl.col("component") == component))
    if hit.height != 1:
        raise LookupError(f"margin {dimension}={value} ({component}) missing or repeated")
    return int(hit["encounters"][0])


def _month_cells(month: str, detail: pl.DataFrame, m: pl.DataFrame) -> list[tuple]:
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
    out = []
    for j, g in enumerate(GROUPS):
        cits = list(CITIZENSHIPS)
        t = controlled_rounding([counts[(k, g, "usbp")] for k in cits], sec_group[:, j])
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
