"""The published statistics bundled in ``population/data`` (see ``data/SOURCES.md``), loaded.

Every table keeps its ``source`` column; nothing here adds a number of its own.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from safethird import yamltext


class MissingStatistic(LookupError):
    """A statistic the model needs is not in the bundled data."""


def data_dir() -> Path:
    return Path(str(resources.files("safethird.population").joinpath("data")))


def _read_csv(name: str, **kw: Any) -> pl.DataFrame:
    path = data_dir() / name
    if not path.exists():
        raise MissingStatistic(f"population/data/{name} is not bundled")
    return pl.read_csv(path, comment_prefix="#", **kw)


@cache
def monthly_encounters() -> pl.DataFrame:
    """Southwest land border encounters by month × citizenship × group × component (the
    detailed monthly table: Honduras and El Salvador)."""
    return _read_csv("sw_border_encounters_monthly.csv",
                     schema_overrides={"encounters": pl.Int64})


@cache
def encounter_margins() -> pl.DataFrame:
    """Published monthly margins: totals, other citizenships, groups, Border Patrol sectors."""
    return _read_csv("sw_border_encounters_margins.csv",
                     schema_overrides={"encounters": pl.Int64})


@cache
def sector_citizenship() -> pl.DataFrame:
    """Border Patrol Southwest border apprehensions by fiscal year × citizenship × sector (CBP's
    annual table; ``OTHER`` is the table's total less the four named citizenships)."""
    return _read_csv("usbp_sector_citizenship_fy.csv",
                     schema_overrides={"apprehensions": pl.Int64})


@cache
def credible_fear() -> pl.DataFrame:
    return _read_csv("credible_fear.csv", schema_overrides={
        "referrals": pl.Int64, "completions": pl.Int64, "fear_established": pl.Int64})


@cache
def routes() -> pl.DataFrame:
    return _read_csv("routes.csv", schema_overrides={"route": pl.String, "share": pl.Float64})


PUBLISHED_FILES = ("published.yaml", "published_flow.yaml")


@cache
def published() -> dict[str, dict[str, Any]]:
    """Published figures: id → {value, unit, date, source_title, source_url, confidence, note}
    (``published.yaml`` and the figures the flow model added, ``published_flow.yaml``)."""
    out: dict[str, dict[str, Any]] = {}
    for name in PUBLISHED_FILES:
        path = data_dir() / name
        if not path.exists():
            continue
        raw = yamltext.load(path.read_text(encoding="utf-8")) or {}
        for k, v in raw.items():
            if isinstance(v, dict) and "value" in v:
                out[str(k)] = dict(v)
    return out


def figure(figure_id: str) -> dict[str, Any]:
    figs = published()
    if figure_id not in figs:
        raise MissingStatistic(f"published figure {figure_id!r} is not in published.yaml")
    return figs[figure_id]


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """'YYYY-MM' for every month that overlaps [start, end]."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + (m == 12), m % 12 + 1)
    return out


def available_months() -> list[str]:
    return sorted(monthly_encounters()["month"].unique().to_list())


def fiscal_year(month: str) -> int:
    y, m = (int(p) for p in month.split("-"))
    return y + 1 if m >= 10 else y
