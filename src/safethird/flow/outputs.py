"""Writing a run to disk in the shape of CONTRACT.md section 4, and comparing with published
figures (the scenario's ``checks``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safethird.flow.scenario import Check, Scenario
from safethird.flow.simulate import RunResult
from safethird.population.statistics import fiscal_year, months_between, published
from safethird.population.synthesize import fear_claim_counts

# the timeseries column a windowed check sums (or, for a stock, averages) over its window
_SERIES = {"transfers": "transfers", "transfers_family_units": "transfers_family_units",
           "released": "outcome_released", "mpp_enrolled": "track_mpp_entered",
           "pacr_harp_processed": "track_pacr_harp_entered",
           "applied_in_partner": "applied_in_partner",
           "family_detention_peak": "family_detention_held"}


def _windowed(check: Check, result: RunResult, metric: str) -> list[float] | None:
    """Per replication: the metric over the check's window (``from`` .. ``by``), or None
    when the check has no window or the metric has no daily series."""
    import polars as pl

    col = _SERIES.get(metric)
    ts = result.timeseries
    if (check.from_ is None and check.by is None) or col is None or col not in ts.columns:
        return None
    lo = check.from_ or result.scenario.start
    hi = check.by or result.scenario.end
    w = ts.filter((pl.col("partner") == check.partner) & pl.col("date").is_between(lo, hi))
    agg = pl.col(col).mean() if metric == "family_detention_peak" else pl.col(col).sum()
    per = w.group_by("replication").agg(agg.alias("v")).sort("replication")
    return [float(v) for v in per["v"].to_list()]


def _stat(values: list[float]) -> dict[str, float]:
    import numpy as np

    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "p05": float(np.percentile(v, 5)),
            "p95": float(np.percentile(v, 95))}


STATISTIC = {"family_detention_peak": "average daily population over the window"}


def check_value(check: Check, result: RunResult) -> dict[str, Any]:
    """The model's value for a published figure, the gap, the tolerance and the verdict.

    A counterfactual scenario is compared with the published figure for information only:
    its verdict is never a failed (or passed) calibration."""
    fig = published()[check.figure]
    m = result.metrics
    windowed = _windowed(check, result, check.metric)
    if windowed is not None:
        st: dict[str, Any] = _stat(windowed) if windowed else {"mean": None, "p05": None,
                                                                "p95": None}
    else:
        st = m[check.metric][check.partner]
    model = st["mean"]
    value = float(fig["value"])
    window = (f"{check.from_ or result.scenario.start} to {check.by or result.scenario.end}"
              if windowed is not None else "the whole run")
    row: dict[str, Any] = {
        "metric": check.metric, "partner": check.partner, "figure": check.figure,
        "published": value, "model_mean": model,
        "model_p05": st["p05"], "model_p95": st["p95"],
        "window": window,
        "statistic": STATISTIC.get(check.metric, "count") if windowed is not None else
        "count",
        "source": fig.get("source_title", ""), "url": fig.get("source_url", ""),
        "confidence": fig.get("confidence", ""),
        "tolerance": check.tolerance, "tolerance_kind": check.tolerance_kind,
        "independence": check.independence, "independence_note": check.independence_note,
    }
    if model is None:
        row.update(within=False, gap=None)
    elif check.tolerance_kind == "share_points":
        if check.metric == "transfers_family_units":
            base_w = _windowed(check, result, "transfers")
            base = (_stat(base_w)["mean"] if base_w else m["transfers"][check.partner]["mean"])
            row["published_share"] = value
        else:
            base = m["transfers"][check.partner]["mean"]
            pub_base = (float(published()["aca_gt_transfers_total"]["value"])
                        if check.partner == "GT" else (base or 1.0))
            row["published_share"] = value / pub_base
        row["model_share"] = model / (base or 1.0)
        row["gap"] = row["model_share"] - row["published_share"]
        row["within"] = abs(row["gap"]) <= check.tolerance
    else:
        row["gap"] = (model - value) / value if value else None
        row["within"] = abs(model - value) <= check.tolerance * abs(value)
    counterfactual = result.scenario.status == "counterfactual"
    row["verdict"] = ("counterfactual: compared for information, not a calibration"
                      if counterfactual else
                      "within tolerance" if row["within"] else "OUTSIDE tolerance")
    row["text"] = check_text(row)
    return row


def check_text(row: dict[str, Any]) -> str:
    """One line: model against published, the gap and the tolerance, the verdict."""
    if row["model_mean"] is None:
        return f"{row['metric']} ({row['partner']}): no model value — {row['verdict']}"
    if row["tolerance_kind"] == "share_points":
        head = (f"share {row['model_share']:.1%} vs published {row['published_share']:.1%}: "
                f"gap {row['gap'] * 100:+.1f} points, tolerance ±{row['tolerance'] * 100:.1f}"
                " points")
    else:
        head = (f"{row['model_mean']:,.1f} vs published {row['published']:,.6g}: gap "
                f"{row['gap']:+.1%}, tolerance ±{row['tolerance']:.0%}")
    indep = ("independent of the inputs" if row["independence"] == "independent"
             else "partly true by construction")
    return f"{row['metric']} ({row['partner']}, {row['window']}): {head} — {row['verdict']}" \
           f" [{indep}]"


def summary(result: RunResult) -> dict[str, Any]:
    sc: Scenario = result.scenario
    pub: dict[str, Any] = {}
    for c in sc.checks:
        fig = published()[c.figure]
        pub.setdefault(c.metric, {"value": fig["value"],
                                  "source": f"{fig.get('source_title', '')} "
                                            f"{fig.get('source_url', '')}".strip(),
                                  "partner": c.partner, "figure": c.figure})
    return {
        "scenario": sc.name, "title": sc.title, "status": sc.status,
        "replications": result.replications, "seed": result.seed,
        "start": sc.start.isoformat(), "end": sc.end.isoformat(),
        "metrics": result.metrics, "published": pub,
        "checks": [check_value(c, result) for c in sc.checks],
        "releases": result.releases(),
        "transfers_by_month": result.transfers_by_month(),
        "downstream": result.downstream(),
        "intervals": ("over replications (counts); over every transferee of every "
                      "replication (waits)") if result.replications > 1 else
                     "one run: no interval",
        "inputs": [{"path": path, "value": n.value, "provenance": n.provenance}
                   for path, n in sc.numbers()] + fear_claim_inputs(sc),
    }


def fear_claim_inputs(sc: Scenario) -> list[dict[str, Any]]:
    """The derived fear-claim rate of each fiscal year the run covers: the one derived input
    that decides demand is not a scenario number, so it is listed here with its two counts."""
    counts = fear_claim_counts(sc.fear_claim_denominator)
    who = {"all": "Southwest border encounters of every citizenship (the bundled tables)",
           "non_mexican": "non-Mexican Southwest border encounters (the bundled tables); "
                          "Mexicans 0 (assumed)",
           "non_mexican_title8": "non-Mexican Southwest border encounters of the months before "
                                 "Title 42 only (the bundled tables; an upper bound); Mexicans "
                                 "0 (assumed)"}
    rows = []
    for fy in sorted({fiscal_year(m) for m in months_between(sc.start, sc.end)}):
        completions, people = counts[fy]
        rows.append({"path": f"fear_claim_rate.FY{fy}", "value": completions / people,
                     "provenance": f"derived: {completions:,} USCIS credible-fear completions "
                                   f"(credible_fear.csv) / {people:,} "
                                   f"{who[sc.fear_claim_denominator]}"})
    return rows


OUTPUT_FILES = {"summary": "summary.json", "timeseries": "timeseries.parquet",
                "people": "people.parquet", "report": "report.html"}


class RefusedOutput(ValueError):
    """An output folder that would overwrite a file or files the run did not write."""


def check_out(out: Path, *, overwrite: bool = False) -> None:
    """Before a run: OUT must be a new folder, or one that holds only an earlier run's files
    (replaced whole), or any folder with ``overwrite``; never a file."""
    if out.exists() and not out.is_dir():
        raise RefusedOutput(f"--out {out}: is a file; the output is a folder")
    if out.is_dir() and not overwrite:
        others = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES.values())
        if others:
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            raise RefusedOutput(f"--out {out}: the folder holds other files ({shown}); choose "
                                f"an empty or new folder, or pass --overwrite to replace it")


def write(result: RunResult, out: Path) -> dict[str, Path]:
    """Write the run into a hidden sibling folder and move it into place only when every file
    is written: a failure leaves no partial output (and an earlier one as it was)."""
    import shutil

    from safethird.report.html import write_report

    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    try:
        files = {k: staged / name for k, name in OUTPUT_FILES.items()}
        summ = summary(result)
        files["summary"].write_text(json.dumps(summ, indent=2, default=str), encoding="utf-8")
        result.timeseries.write_parquet(files["timeseries"])
        result.people.write_parquet(files["people"])
        write_report(result, summ, files["report"])
        if out.is_dir():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.replace(old)
            staged.replace(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staged.replace(out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return {k: out / name for k, name in OUTPUT_FILES.items()}
