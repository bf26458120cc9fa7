"""Warnings: measures the engine does not decide, and the law horizon (law/not_encoded.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

import safethird
from safethird.cli import app
from safethird.decide import decide_frame
from safethird.law.check import check
from safethird.law.data import _data_dir, load_law

HORIZON = load_law().not_encoded.horizon.reviewed_through


def _warned(facts: dict, as_of: str) -> list[str]:
    return [w["measure"] or w["code"] for w in safethird.decide(facts, as_of=as_of).warnings]


def test_each_warning_has_the_contract_fields() -> None:
    d = safethird.decide({"arrival": {"date": "2021-05-01", "border": "southern_land"}},
                         as_of="2026-12-01").to_dict()
    assert d["warnings"], d
    for w in d["warnings"]:
        assert set(w) == {"code", "measure", "message", "citations"}
        assert w["code"] in {"not_encoded", "law_reviewed_through"}
        assert w["citations"] and w["message"]


def test_title_42_reaches_land_arrivals_in_its_window_only() -> None:
    land = {"border": "southern_land"}
    assert "title-42" in _warned({"arrival": {"date": "2020-03-20", **land}}, "2020-04-01")
    assert "title-42" in _warned({"arrival": {"date": "2023-05-11", **land}}, "2023-06-01")
    assert "title-42" not in _warned({"arrival": {"date": "2023-05-12", **land}}, "2023-06-01")
    assert "title-42" not in _warned({"arrival": {"date": "2020-03-19", **land}}, "2020-04-01")
    assert "title-42" not in _warned({"arrival": {"date": "2021-01-01", "border": "air"}},
                                     "2021-02-01")
    assert "title-42" in _warned({"arrival": {"date": "2021-01-01",
                                              "border": "northern_land"}}, "2021-02-01")


def test_unknown_arrival_could_be_reached() -> None:
    # unknown date and border: every measure in force on the as-of date could reach the case
    assert _warned({}, "2026-12-01") == ["title-42", "8-cfr-208.35", "proclamation-10888",
                                         "law_reviewed_through"]
    # before a measure existed it cannot reach anyone, known facts or not
    assert _warned({}, "2019-12-01") == []


def test_law_horizon() -> None:
    day = HORIZON.isoformat()
    after = (HORIZON + dt.timedelta(days=1)).isoformat()
    facts = {"arrival": {"date": "2019-12-01", "border": "air"}}
    assert "law_reviewed_through" not in _warned(facts, day)
    assert "law_reviewed_through" in _warned(facts, after)


def test_text_output_says_what_is_not_decided() -> None:
    text = str(safethird.decide({"arrival": {"date": "2025-03-01", "border": "southern_land"}},
                                as_of="2026-12-01"))
    tail = text.split("Not decided by this engine:")[1]
    assert "proclamation-10888" in tail and "90 FR 8333" in tail
    assert "law_reviewed_through" in tail


def test_batch_gives_the_same_warnings() -> None:
    arrivals = [(dt.date(2021, 1, 1), "southern_land"), (dt.date(2021, 1, 1), "air"),
                (None, None), (dt.date(2025, 6, 1), "sea")]
    frame = pl.DataFrame({"arrival.date": [a for a, _ in arrivals],
                          "arrival.border": [b for _, b in arrivals]},
                         schema={"arrival.date": pl.Date, "arrival.border": pl.String})
    out = decide_frame(_complete(frame), as_of="2026-12-01").collect()
    for got, (day, border) in zip(out["warnings"], arrivals, strict=True):
        want = _warned({"arrival": {"date": day, "border": border}}, "2026-12-01")
        assert (got.split(";") if got else []) == want


def _complete(frame: pl.DataFrame) -> pl.DataFrame:
    from safethird.facts import COLUMNS
    missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in COLUMNS.items()
               if name not in frame.columns]
    return frame.with_columns(missing)


def test_law_list_shows_the_horizon() -> None:
    out = CliRunner().invoke(app, ["law", "list"]).output
    assert f"law reviewed through {HORIZON}" in out
    assert "proclamation-10888" in out


@pytest.mark.filterwarnings("ignore")
def test_check_fails_on_a_fact_dated_after_the_horizon(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(_data_dir(), data)
    path = data / "rules" / "not-encoded.yaml"
    d = yaml.safe_load(path.read_text())
    d["horizon"]["reviewed_through"] = dt.date(2025, 1, 1)
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    load_law.cache_clear()
    try:
        report = check(load_law(str(data)))
    finally:
        load_law.cache_clear()
    assert not report.ok
    assert any("after the law horizon 2025-01-01" in e and "proclamation-10888" in e
               for e in report.errors), report.errors


def test_decide_json_carries_warnings(tmp_path: Path) -> None:
    case = tmp_path / "c.json"
    case.write_text(json.dumps({"id": "x", "arrival": {"date": "2025-02-01",
                                                       "border": "southern_land"}}))
    res = CliRunner().invoke(app, ["decide", str(case), "--as-of", "2026-12-01",
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    warned = [w["measure"] or w["code"] for w in json.loads(res.output)["warnings"]]
    assert warned == ["8-cfr-208.35", "proclamation-10888", "law_reviewed_through"]


@pytest.mark.parametrize(("item", "text"), [("clp", "8 CFR 208.33"),
                                            ("proclamation-10888", "90 FR 8333"),
                                            ("horizon", str(HORIZON))])
def test_law_show_prints_the_new_law(item: str, text: str) -> None:
    res = CliRunner().invoke(app, ["law", "show", item])
    assert res.exit_code == 0 and text in res.output, res.output
