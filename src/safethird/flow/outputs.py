"""Writing a run to disk in the shape of CONTRACT.md section 4, and comparing with published
figures (the scenario's ``checks``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safethird.flow.scenario import Check, Scenario
from safethird.flow.simulate import RunResult
from safethird.population.statistics import published


def check_value(check: Check, result: RunResult) -> dict[str, Any]:
    """The model's value for a published figure, and whether it is within tolerance."""
    fig = published()[check.figure]
    m = result.metrics
    model = m[check.metric][check.partner]["mean"]
    value = float(fig["value"])
    row: dict[str, Any] = {
        "metric": check.metric, "partner": check.partner, "figure": check.figure,
        "published": value, "model_mean": model,
        "model_p05": m[check.metric][check.partner]["p05"],
        "model_p95": m[check.metric][check.partner]["p95"],
        "source": fig.get("source_title", ""), "url": fig.get("source_url", ""),
        "tolerance": check.tolerance, "tolerance_kind": check.tolerance_kind,
    }
    if model is None:
        row["within"] = False
        return row
    if check.tolerance_kind == "share_points":
        transfers = m["transfers"][check.partner]["mean"] or 1.0
        pub_base = float(published()["aca_gt_transfers_total"]["value"]) \
            if check.partner == "GT" else transfers
        row["published_share"] = value / pub_base
        row["model_share"] = model / transfers
        row["within"] = abs(row["model_share"] - row["published_share"]) <= check.tolerance
    else:
        row["within"] = abs(model - value) <= check.tolerance * value
    return row


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
        "scenario": sc.name, "replications": result.replications, "seed": result.seed,
        "start": sc.start.isoformat(), "end": sc.end.isoformat(),
        "metrics": result.metrics, "published": pub,
        "checks": [check_value(c, result) for c in sc.checks],
        "inputs": [{"path": path, "value": n.value, "provenance": n.provenance}
                   for path, n in sc.numbers()],
    }


def write(result: RunResult, out: Path) -> dict[str, Path]:
    from safethird.report.html import write_report

    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "summary.json", "timeseries": out / "timeseries.parquet",
             "people": out / "people.parquet", "report": out / "report.html"}
    summ = summary(result)
    paths["summary"].write_text(json.dumps(summ, indent=2, default=str), encoding="utf-8")
    result.timeseries.write_parquet(paths["timeseries"])
    result.people.write_parquet(paths["people"])
    write_report(result, summ, paths["report"])
    return paths
