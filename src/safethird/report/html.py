"""A self-contained HTML report of a run: plots as inline PNG, the model-against-published
table, the metric table and the inputs with their provenance."""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl


def _matplotlib() -> Any:
    if "MPLCONFIGDIR" not in os.environ:
        path = Path(tempfile.gettempdir()) / "safethird-matplotlib"
        path.mkdir(exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _matplotlib().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _band(ax: Any, ts: pl.DataFrame, column: str, label: str) -> None:
    daily = ts.group_by("date").agg(
        pl.col(column).quantile(0.05).alias("p05"), pl.col(column).median().alias("p50"),
        pl.col(column).quantile(0.95).alias("p95")).sort("date")
    d = daily["date"].to_list()
    ax.fill_between(d, daily["p05"].to_numpy(), daily["p95"].to_numpy(), alpha=0.25)
    ax.plot(d, daily["p50"].to_numpy(), label=f"{label} (median, 5–95% band)")


def plots(result: Any) -> dict[str, str]:
    plt = _matplotlib()
    ts: pl.DataFrame = result.timeseries
    people: pl.DataFrame = result.people
    sc = result.scenario
    out: dict[str, str] = {}
    partners = [p for p in ts["partner"].unique().sort().to_list()
                if p != "all" and ts.filter(pl.col("partner") == p)["transfers"].sum() > 0]

    fig, ax = plt.subplots(figsize=(8, 3.2))
    first = people.filter(pl.col("transferred").is_not_null())
    if first.height:
        weekly = (first.with_columns(pl.col("transferred").dt.truncate("1w").alias("week"))
                  .group_by("week", "nationality").len().sort("week"))
        bottom = None
        for nat in weekly["nationality"].unique().sort().to_list():
            w = weekly.filter(pl.col("nationality") == nat)
            full = pl.DataFrame({"week": weekly["week"].unique().sort()}).join(
                w, on="week", how="left").fill_null(0)
            vals = full["len"].to_numpy()
            ax.bar(full["week"].to_list(), vals, width=6, bottom=bottom, label=nat)
            bottom = vals if bottom is None else bottom + vals
        ax.legend()
    ax.set_title("Transfers per week by nationality (replication 0)")
    out["transfers_per_week"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 3.2))
    for p in partners or ["all"]:
        _band(ax, ts.filter(pl.col("partner") == p), "partner_backlog", f"{p} backlog")
    for c in sc.checks:
        if c.metric == "partner_backlog_end":
            from safethird.population.statistics import published
            ax.scatter([sc.end], [float(published()[c.figure]["value"])], color="k", zorder=5,
                       label=f"published ({c.figure})")
    ax.legend()
    ax.set_title("Partner asylum office backlog")
    out["partner_backlog"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 3.2))
    _band(ax, ts.filter(pl.col("partner") == "all"), "detention_in", "all held")
    for p in partners:
        _band(ax, ts.filter(pl.col("partner") == p), "transfer_in", f"awaiting transfer to {p}")
    ax.legend()
    ax.set_title("Detention population (people held, by day)")
    out["detention"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 3.2))
    for p in partners or ["all"]:
        _band(ax, ts.filter(pl.col("partner") == p), "transfers_cumulative",
              f"{p} transfers (cumulative)")
    from safethird.population.statistics import published
    ramp = [(k, v) for k, v in published().items() if k.startswith("aca_gt_ramp")
            or k == "aca_gt_transfers_total"]
    if "GT" in partners:
        import datetime as dt
        xs = [dt.date.fromisoformat(str(v["date"])) for _, v in ramp]
        ax.scatter(xs, [float(v["value"]) for _, v in ramp], color="k", zorder=5,
                   label="published cumulative counts")
    ax.legend()
    ax.set_title("Cumulative transfers against published counts")
    out["transfers_cumulative"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 3.2))
    waits = [np.asarray(r["wait_days_transfer"]["all"]) for r in result.per_rep]
    if any(len(w) for w in waits):
        bins = np.arange(0, max(int(w.max()) for w in waits if len(w)) + 2)
        hist = np.array([np.histogram(w, bins=bins)[0] for w in waits])
        lo, mid, hi = (np.percentile(hist, q, axis=0) for q in (5, 50, 95))
        ax.fill_between(bins[:-1], lo, hi, step="post", alpha=0.25)
        ax.step(bins[:-1], mid, where="post", label="median over replications, 5–95% band")
        ax.legend()
    ax.set_xlabel("days from encounter to transfer flight")
    ax.set_title("Wait for transfer")
    out["wait_days_transfer"] = _png(fig)
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:.3f}"
    return html.escape(str(v))


NO_CHECKS = "<tr><td colspan=6>no published figure for this scenario</td></tr>"


def write_report(result: Any, summ: dict[str, Any], path: Path) -> None:
    imgs = plots(result)
    sc = result.scenario
    rows = []
    for c in summ["checks"]:
        extra = (f" (share {c['model_share']:.1%} vs {c['published_share']:.1%})"
                 if "model_share" in c else "")
        tol = (f"±{c['tolerance'] * 100:.0f} points of share" if c["tolerance_kind"] ==
               "share_points" else f"±{c['tolerance']:.0%}")
        rows.append(
            f"<tr><td>{_fmt(c['metric'])} ({_fmt(c['partner'])})</td>"
            f"<td>{_fmt(c['published'])}</td><td>{_fmt(c['model_mean'])} "
            f"[{_fmt(c['model_p05'])}–{_fmt(c['model_p95'])}]{extra}</td><td>{tol}</td>"
            f"<td>{'yes' if c['within'] else '<b>no</b>'}</td>"
            f"<td><a href='{html.escape(c['url'])}'>{html.escape(c['source'])}</a></td></tr>")
    metric_rows = []
    for m, by in summ["metrics"].items():
        for p, st in by.items():
            if st["mean"] is None:
                continue
            metric_rows.append(f"<tr><td>{m}</td><td>{p}</td>" + "".join(
                f"<td>{_fmt(st[k])}</td>" for k in ("mean", "p05", "p50", "p95")) + "</tr>")
    inputs = "".join(f"<tr><td><code>{html.escape(i['path'])}</code></td><td>{_fmt(i['value'])}"
                     f"</td><td>{html.escape(i['provenance'])}</td></tr>"
                     for i in summ["inputs"])
    figs = "".join(f"<figure><img alt='{k}' src='data:image/png;base64,{v}'></figure>"
                   for k, v in imgs.items())
    mode = ("deterministic" if result.seed is None
            else f"{result.replications} replications, seed {result.seed}")
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(sc.title)}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(sc.title)}</h1>
<p>Scenario <code>{html.escape(sc.name)}</code>, {sc.start} to {sc.end}; {mode}.</p>
<p>{html.escape(sc.description)}</p>
<h2>Model against published figures</h2>
<table><tr><th>metric</th><th>published</th><th>model mean [5–95%]</th><th>tolerance</th>
<th>within</th><th>source</th></tr>{''.join(rows) or NO_CHECKS}</table>
<h2>Plots</h2>{figs}
<h2>Metrics</h2>
<p>Counts: over replications. Waits: over every transferee of every replication.</p>
<table><tr><th>metric</th><th>partner</th><th>mean</th><th>p05</th><th>p50</th><th>p95</th></tr>
{''.join(metric_rows)}</table>
<h2>Inputs and where they come from</h2>
<table><tr><th>input</th><th>value</th><th>provenance</th></tr>{inputs}</table>
<p>See docs/simulation.md for the model and what is calibrated.</p>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
