"""A self-contained HTML report of a run, rendered from a Jinja2 template
(``report/templates/report.html.j2``): the banner (published baseline or counterfactual), the
model-against-published table, the plots (inline PNG, each with a caption naming its sources),
the metric table, the releases, and every input with its source by title and link."""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from safethird.population.statistics import published

CHANGE_2019_09_30 = dt.date(2019, 9, 30)   # the end of catch and release took effect


def _matplotlib() -> Any:
    if "MPLCONFIGDIR" not in os.environ:
        path = Path(tempfile.gettempdir()) / "safethird-matplotlib"
        path.mkdir(exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class Plot:
    key: str
    title: str
    png: str
    caption: str


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _matplotlib().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _axes(title: str, ylabel: str, xlabel: str = "date", dates: bool = True) -> tuple:
    plt = _matplotlib()
    import matplotlib.dates as mdates

    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if dates:
        loc = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    return fig, ax


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)


def _band(ax: Any, ts: pl.DataFrame, column: str, label: str, **kw: Any) -> None:
    daily = ts.group_by("date").agg(
        pl.col(column).quantile(0.05).alias("p05"), pl.col(column).median().alias("p50"),
        pl.col(column).quantile(0.95).alias("p95")).sort("date")
    d = daily["date"].to_list()
    if ts["replication"].n_unique() > 1:
        ax.fill_between(d, daily["p05"].to_numpy(), daily["p95"].to_numpy(), alpha=0.25, **kw)
        label = f"{label} (median, 5–95% over replications)"
    ax.plot(d, daily["p50"].to_numpy(), label=label, **kw)


def _stacked(ax: Any, x: list[Any], layers: list[tuple[str, Any]], *,
             drop_empty: bool = False, **bar: Any) -> None:
    """Bars stacked in the order of the layers. With drop_empty a layer that is zero
    throughout has no bar and no legend entry (a track the scenario never uses)."""
    bottom = np.zeros(len(x))
    for label, v in layers:
        if drop_empty and v.sum() == 0:
            continue
        ax.bar(x, v, bottom=bottom, label=label, **bar)
        bottom += v


def _monthly(ts: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Monthly sums per replication, then the mean over replications."""
    return (ts.group_by(pl.col("date").dt.truncate("1mo").alias("month"), "replication")
            .agg(pl.col(c).sum() for c in columns)
            .group_by("month").agg(pl.col(c).mean() for c in columns).sort("month"))


def _source(fig_id: str) -> str:
    f = published().get(fig_id, {})
    return f"{f.get('source_title', fig_id)} ({f.get('confidence', '')})"


def plots(result: Any, summ: dict[str, Any]) -> list[Plot]:
    ts: pl.DataFrame = result.timeseries
    people: pl.DataFrame = result.people
    sc = result.scenario
    out: list[Plot] = []
    total = ts.filter(pl.col("partner") == "all")
    partners = [p for p in ts["partner"].unique().sort().to_list()
                if p != "all" and ts.filter(pl.col("partner") == p)["transfers"].sum() > 0]
    has_tracks = "track_release_entered" in ts.columns
    model_note = ("Model output (the scenario's inputs and the rules); "
                  f"{summ['intervals']}.")

    if has_tracks:
        from safethird.flow.tracks import TRACK_CODES

        cols = [f"track_{t}_entered" for t in TRACK_CODES]
        m = _monthly(total, cols)
        title = "Encounters by track, by month of encounter"
        fig, ax = _axes(title, "people encountered per month", "month of encounter")
        _stacked(ax, m["month"].to_list(),
                 [(t.replace("_", " "), m[c].to_numpy())
                  for t, c in zip(TRACK_CODES, cols, strict=True)],
                 drop_empty=True, width=27, align="edge")
        _legend(ax)
        out.append(Plot("tracks_by_month", title, _png(fig),
                        "The track each encounter was put on the day it was encountered "
                        "(the assignment policy of the scenario, in order). Encounters: CBP "
                        "Southwest border monthly tables (population/data/SOURCES.md). "
                        "The first and last months are partial when the scenario starts or "
                        "ends inside them. " + model_note))

        m = _monthly(total, ["outcome_released"])
        title = "People released into the United States, by month of release"
        fig, ax = _axes(title, "people released per month", "month of release")
        months = m["month"].to_list()
        v = m["outcome_released"].to_numpy()
        before = np.array([d < CHANGE_2019_09_30 for d in months])
        ax.bar([d for d, b in zip(months, before, strict=True) if b], v[before], width=27,
               align="edge", color="tab:red", label="before 2019-09-30")
        ax.bar([d for d, b in zip(months, before, strict=True) if not b], v[~before],
               width=27, align="edge", color="tab:blue", label="from 2019-09-30")
        if sc.start < CHANGE_2019_09_30 < sc.end:
            ax.axvline(CHANGE_2019_09_30, color="k", lw=1, ls="--",
                       label="families no longer released (DHS, 2019-09-23)")
        _legend(ax)
        out.append(Plot("releases_by_month", title, _png(fig),
                        "Released: no track had room or the policy released them, families at "
                        "the Flores limit or after detention with a fear claim, people "
                        "awaiting a transfer when flights stopped, positive PACR/HARP "
                        "screenings. The change announced on 2019-09-23 (DHS, quoted by "
                        "NPR/KQED and USA Today) took effect the week of 2019-09-30. "
                        + model_note))

        title = "Family detention: families held against beds"
        fig, ax = _axes(title, "people held (family-unit members)")
        _band(ax, total, "family_detention_held", "modelled families held")
        beds = total["family_detention_beds"].max()
        if beds is not None and beds >= 0:
            ax.axhline(beds, color="k", lw=1, label=f"beds ({beds:,})")
        for c in sc.checks:
            if c.metric == "family_detention_peak":
                f = published()[c.figure]
                lo, hi = c.from_ or sc.start, c.by or sc.end
                ax.plot([lo, hi], [f["value"]] * 2, color="tab:red", lw=3,
                        label=f"published average, {lo:%b %Y} ({f['value']:,})")
        # the centres fill up from the first day a family is held in them: a fill-up, not a
        # measurement, for the length of one stay
        began = total.filter(pl.col("track_family_detention_entered") > 0)["date"].min()
        if began is not None:
            warm = began + dt.timedelta(days=round(sc.detention.family_limit_days.value))
            ax.axvspan(began, warm, color="0.9", label="fill-up: the centres start empty")
        _legend(ax)
        out.append(Plot("family_detention", title, _png(fig),
                        "Whose detention: only the families the model follows (encountered at "
                        "the Southwest border from the scenario's first day and held in a "
                        "family residential centre or awaiting a transfer flight), not ICE's "
                        "whole family population. The centres start with nobody held, so the "
                        "first 20 days (one stay, the Flores limit) after the first family is "
                        "held are a fill-up (shaded); at the end nobody is cut off: a stay "
                        "ends on its own day. Beds: ICE (Dilley 2,400; Karnes "
                        "830) and the Reading Eagle (Berks 96). " + model_note))

    first = people.filter(pl.col("transferred").is_not_null())
    if first.height:
        title = "Transfers to the partner country per week, families shown"
        fig, ax = _axes(title, "people transferred per week", "week of the flight")
        weekly = (first.with_columns(pl.col("transferred").dt.truncate("1w").alias("week"),
                                     pl.when(pl.col("group") == "family_unit")
                                     .then(pl.lit("family-unit members"))
                                     .otherwise(pl.lit("single adults")).alias("who"))
                  .group_by("week", "who").len().sort("week"))
        weeks = weekly["week"].unique().sort()
        _stacked(ax, weeks.to_list(),
                 [(who, pl.DataFrame({"week": weeks})
                   .join(weekly.filter(pl.col("who") == who), on="week", how="left")
                   .fill_null(0)["len"].to_numpy())
                  for who in ("single adults", "family-unit members")],
                 width=6)
        _legend(ax)
        out.append(Plot("transfers_per_week", title, _png(fig),
                        "Replication 0. Seats: the published transfer rates (scenario inputs); "
                        "families from 2019-12-12 on the seats reserved for them (AP, "
                        "2019-12-12; the share from a weak snapshot of Guatemalan figures). "
                        + model_note))

        title = "Cumulative transfers against published counts"
        fig, ax = _axes(title, "people transferred (cumulative)")
        for p in partners or ["all"]:
            _band(ax, ts.filter(pl.col("partner") == p), "transfers_cumulative",
                  f"{p}, model")
        if "GT" in partners:
            ramp = [(k, v) for k, v in published().items() if k.startswith("aca_gt_ramp")
                    or k == "aca_gt_transfers_total"]
            xs = [dt.date.fromisoformat(str(v["date"])) for _, v in ramp]
            ax.scatter(xs, [float(v["value"]) for _, v in ramp], color="k", zorder=5,
                       label="published cumulative counts")
        _legend(ax)
        out.append(Plot("transfers_cumulative", title, _png(fig),
                        "Published counts: AP (2019-12-13), CRS LSB10402, Christian Science "
                        "Monitor (2020-03-13), HRW/RI (May 2020). The seat schedule is derived "
                        "from the published rates, so this agreement is partly by "
                        "construction. " + model_note))

    title = "Partner asylum office backlog"
    fig, ax = _axes(title, "cases pending (people)")
    for p in partners or ["all"]:
        _band(ax, ts.filter(pl.col("partner") == p), "partner_backlog", f"{p}, model")
    for c in sc.checks:
        if c.metric == "partner_backlog_end":
            ax.scatter([sc.end], [float(published()[c.figure]["value"])], color="k", zorder=5,
                       label=f"published ({_source(c.figure)})")
    _legend(ax)
    out.append(Plot("partner_backlog", title, _png(fig),
                    "Inputs: UNHCR via Univision (2019-08-02) for the starting backlog, "
                    "officers and decisions. " + model_note))

    if summ["checks"]:
        title = "Model against published figures: gap and tolerance"
        fig, ax = _axes(title, "", "gap, model minus published (% or points of share)",
                        dates=False)
        rows = summ["checks"]
        y = np.arange(len(rows))
        gaps = [0.0 if r["gap"] is None else r["gap"] * 100 for r in rows]
        tols = [r["tolerance"] * 100 for r in rows]
        ax.barh(y, [2 * t for t in tols], left=[-t for t in tols], color="0.85",
                label="tolerance")
        colours = ["tab:green" if r["within"] else "tab:red" for r in rows]
        ax.scatter(gaps, y, color=colours, zorder=5, label="model gap")
        ax.axvline(0, color="k", lw=0.8)
        # a metric checked against several figures (MPP: the quarter and its months) is told
        # apart by its window
        seen = [r["metric"] for r in rows]
        ax.set_yticks(y, [f"{r['metric']} ({r['partner']})" if seen.count(r["metric"]) == 1
                          else f"{r['metric']} ({r['partner']}, {r['window']})" for r in rows],
                      fontsize=8)
        ax.set_ylabel("check")
        _legend(ax)
        out.append(Plot("validation", title, _png(fig),
                        "Each check: the model's mean minus the published figure, relative "
                        "(%) or in points of share; grey: the stated tolerance. Sources in "
                        "the table above."))
    return out


def inputs_with_sources(summ: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input number, with its source by title and link when it is a published one."""
    rows = []
    for i in summ["inputs"]:
        prov = i["provenance"]
        title = url = ""
        if prov.startswith("published: "):
            f = published().get(prov.removeprefix("published: "), {})
            title, url = f.get("source_title", ""), f.get("source_url", "")
        rows.append(i | {"source_title": title, "source_url": url})
    return rows


def write_report(result: Any, summ: dict[str, Any], path: Path) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("safethird.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))

    def num(v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:.3f}"
        return str(v)

    env.filters["num"] = num
    sc = result.scenario
    mode = ("deterministic (one run, no random draws)" if result.seed is None
            else f"{result.replications} replications, seed {result.seed}")
    policy = [] if sc.tracks is None else [
        {"id": key, "track": r.track, "when": f"{r.from_ or sc.start} to {r.until or sc.end}",
         "who": ", ".join(x for x in (
             "sectors " + ", ".join(r.sectors) if r.sectors else "every sector",
             "nationalities " + ", ".join(r.nationalities) if r.nationalities else "",
             "not " + ", ".join(r.not_nationalities) if r.not_nationalities else "",
             "/".join(r.groups),
             "" if r.fear is None else ("fear claimed" if r.fear else "no fear claim")) if x),
         "share": None if r.share is None else r.share.value,
         "per_day": None if r.per_day is None else r.per_day.value, "basis": r.basis}
        for key, r in sc.tracks.policy.items()]
    html = env.get_template("report.html.j2").render(
        sc=sc, summ=summ, mode=mode, plots=plots(result, summ), policy=policy,
        inputs=inputs_with_sources(summ))
    path.write_text(html, encoding="utf-8")
