"""`safethird population | scenarios | simulate | compare` end to end (CONTRACT.md section 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

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
                   "wait_days_transfer"):
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


def test_scenarios_lists_the_bundled_ones() -> None:
    p = run("scenarios")
    assert p.returncode == 0, p.stderr
    assert "baseline-guatemala-2019" in p.stdout and "honduras-adds-officers" in p.stdout


def test_compare_prints_side_by_side() -> None:
    p = run("compare", "baseline-guatemala-2019", "guatemala-families-released")
    assert p.returncode == 0, p.stderr
    assert "baseline-guatemala-2019" in p.stdout and "guatemala-families-released" in p.stdout
    assert "transfers" in p.stdout and "detention_peak" in p.stdout


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
