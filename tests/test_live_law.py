"""The 2025–2026 law beyond the YAML cases: the batch derives the same partners, agreement, CLP
and warnings as ``decide``; the text closes with the uncertain law it rests on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

import safethird
from safethird.cli import app

CASES = [c for name in ("aca_2025_2026.yaml", "forum_clp_warnings.yaml")
         for c in yaml.safe_load((Path(__file__).parent / "cases" / name).read_text())]


def _iso(v):
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _iso(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_iso(x) for x in v]
    return v


def test_batch_agrees_with_decide_on_the_new_cases(tmp_path: Path) -> None:
    import json

    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(_iso({"id": str(i), **c["facts"], "as_of": c["as_of"]}))
                            + "\n" for i, c in enumerate(CASES)))
    res = CliRunner().invoke(app, ["batch", str(path), "--out", str(tmp_path / "out.parquet"),
                                   "--errors", str(tmp_path / "errors.jsonl"),
                                   "--as-of-from-rows"])
    assert res.exit_code == 0, res.output
    assert "warnings (rows carrying each):" in res.output
    out = pl.read_parquet(tmp_path / "out.parquet").sort(pl.col("case_id").cast(pl.Int64))
    assert out.height == len(CASES)
    for row, c in zip(out.iter_rows(named=True), CASES, strict=True):
        d = safethird.decide(c["facts"], as_of=c["as_of"])
        aca = d.findings["aca"]
        assert row["aca.status"] == aca.status, c["name"]
        assert row["aca.agreement"] == aca.agreement, c["name"]
        assert (row["aca.partners"] or "") == ";".join(aca.partners or []), c["name"]
        assert row["clp.reason"] == d.findings["clp"].reason, c["name"]
        assert row["pathway"] == d.pathway, c["name"]
        assert (row["warnings"] or "") == ";".join(w["measure"] or w["code"]
                                                  for w in d.warnings), c["name"]


def test_text_closes_with_the_uncertain_law() -> None:
    venezuelan = next(c for c in CASES if c["name"].startswith("The Venezuelan of the issue"))
    text = str(safethird.decide(venezuelan["facts"], as_of=venezuelan["as_of"]))
    note = text.split("stays uncertain")[1]
    for agreement in ("us-gt-arrangement-2025", "us-hn-aca-2025", "us-ec-aca-2025",
                      "us-ug-aca-2025"):
        assert agreement in note
    assert "hn-visa-policy-2018" in note and "basis unknown" in note


@pytest.mark.parametrize("partner", ["HN", "UG", "EC"])
def test_a_partner_national_is_never_sent_home(partner: str) -> None:
    d = safethird.decide({"nationalities": [partner], "criminal_record": False,
                          "arrival": {"date": "2026-01-10", "border": "southern_land"}},
                         as_of="2026-03-01")
    aca = d.findings["aca"]
    assert partner not in (aca.partners or []) + (aca.partners_possible or [])
