"""`safethird population | scenarios | simulate | compare` end to end (CONTRACT.md section 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib"))
    return subprocess.run([sys.executable, "-m", "safethird.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_simulate_writes_the_contract_outputs(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    p = run("simulate", "baseline-guatemala-2019", "--replications", "3", "--seed", "1",
            "--out", str(out))
    assert p.returncode == 0, p.stderr
    s = json.loads((out / "summary.json").read_text())
    assert {"scenario", "replications", "seed", "start", "end", "metrics", "published"} <= set(s)
    assert (s["scenario"], s["replications"], s["seed"]) == ("baseline-guatemala-2019", 3, 1)
    assert (s["start"], s["end"]) == ("2019-08-02", "2020-03-31")
    for metric in ("transfers", "applied_in_partner", "partner_backlog_end", "detention_peak",
                   "wait_days_transfer", "transfers_family_units", "released", "mpp_enrolled",
                   "pacr_harp_processed", "family_detention_peak"):
        for partner in ("GT", "all"):
            assert set(s["metrics"][metric][partner]) == {"mean", "p05", "p50", "p95"}
    assert s["published"]["transfers"]["value"] == 939
    assert "source" in s["published"]["partner_backlog_end"]
    ts = pl.read_parquet(out / "timeseries.parquet")
    days = (ts["date"].max() - ts["date"].min()).days + 1
    assert ts.height == days * 3 * 4          # day × replication × partner (GT, HN, SV, all)
    assert {"date", "replication", "partner", "transfers", "partner_backlog",
            "detention_in"} <= set(ts.columns)
    people = pl.read_parquet(out / "people.parquet")
    assert {"nationality", "group", "pathway", "transfer_enter", "transfer_leave",
            "partner_asylum_enter"} <= set(people.columns)
    assert people["replication"].unique().to_list() == [0]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Model against published figures" in html
    assert "939" in html and "713" in html
    assert "within tolerance" in p.stdout
    # the baseline's mark, families flown, releases by month, and honest check lines
    assert s["status"] == "published_baseline"
    assert "PUBLISHED BASELINE" in p.stdout and "Published baseline" in html
    assert s["metrics"]["transfers_family_units"]["GT"]["mean"] > 200
    assert "released into the US by month" in p.stdout and "2019-08" in p.stdout
    # families transferred, month by month, and the months add up to the metric
    assert "transferred by month" in p.stdout and "2019-12  GT" in p.stdout
    by_month = s["transfers_by_month"]
    assert sum(r["family_units"] for r in by_month) == pytest.approx(
        s["metrics"]["transfers_family_units"]["GT"]["mean"])
    assert sum(r["transfers"] for r in by_month) == pytest.approx(
        s["metrics"]["transfers"]["GT"]["mean"])
    assert all(r["family_units"] == 0 for r in by_month if r["month"] < "2019-12")
    assert {"adult_detention_held", "adult_detention_beds"} <= set(ts.columns)
    for c in s["checks"]:
        assert {"model_mean", "published", "tolerance", "gap", "source", "independence",
                "verdict"} <= set(c)
        assert "gap" in c["text"] and "tolerance ±" in c["text"]
    assert "partly true by construction" in p.stdout and "independent of the inputs" in p.stdout
    assert "OUTSIDE tolerance" in p.stdout          # an honest miss is printed as one
    assert {"track_mpp_entered", "outcome_released", "family_detention_held"} <= set(ts.columns)
    # the report is self-contained: every published input's source by title and link
    for i in s["inputs"]:
        if i["provenance"].startswith("published: "):
            fig = i["provenance"].removeprefix("published: ")
            from safethird.population.statistics import published
            assert published()[fig]["source_title"].split(",")[0][:30] in html.replace(
                "&#39;", "'").replace("&#34;", '"').replace("&amp;", "&"), fig
    assert "<script" not in html and "http" in html


def test_a_counterfactual_report_says_so(tmp_path: Path) -> None:
    out = tmp_path / "hn"
    p = run("simulate", "honduras-adds-officers", "--deterministic", "--out", str(out))
    assert p.returncode == 0, p.stderr
    html = (out / "report.html").read_text()
    assert "Counterfactual: this did not happen" in html
    assert "COUNTERFACTUAL" in p.stdout
    assert json.loads((out / "summary.json").read_text())["status"] == "counterfactual"


def test_scenarios_lists_the_bundled_ones() -> None:
    p = run("scenarios")
    assert p.returncode == 0, p.stderr
    assert "baseline-guatemala-2019" in p.stdout and "honduras-adds-officers" in p.stdout


def test_compare_prints_side_by_side() -> None:
    p = run("compare", "honduras-2025-cap10", "honduras-2025-capacity-built")
    assert p.returncode == 0, p.stderr
    assert "honduras-2025-cap10: counterfactual" in p.stdout
    assert "B − A" in p.stdout and "B / A" in p.stdout
    assert "intervals: one run: no interval" in p.stdout
    row = next(line for line in p.stdout.splitlines() if "transfers " in line and " HN " in line)
    assert "+0.0" in row and "1.00" in row           # the cap binds: officers add no transfer


def test_population_prints_published_months(tmp_path: Path) -> None:
    out = tmp_path / "people.parquet"
    p = run("population", "--start", "2019-10-01", "--end", "2019-10-31", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "2019-10" in p.stdout and "aca_transfer" not in p.stdout   # before the operation
    from safethird.population.statistics import encounter_margins

    m = encounter_margins()
    published = m.filter((pl.col("month") == "2019-10") & (pl.col("dimension") == "total")
                         & (pl.col("component") == "all"))["encounters"][0]
    people = pl.read_parquet(out)
    assert people.height == published == int(p.stdout.split()[0].replace(",", ""))
    assert {"pathway", "nationalities"} & set(people.columns) == {"pathway"}


def test_bad_input_exits_2() -> None:
    p = run("simulate", "no-such-scenario", "--out", "/tmp/x")
    assert p.returncode == 2 and "no scenario" in p.stderr
