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
