"""The `safethird` command end to end, as a subprocess (exit codes, stderr, JSON shape)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "honduran-el-paso-2019.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "safethird.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_decide_json_has_every_contract_field() -> None:
    p = run("decide", str(EXAMPLE), "--as-of", "2019-12-02", "--format", "json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert set(d) >= {"case_id", "as_of", "law_version", "findings", "pathway", "missing_facts",
                      "counterfactuals"}
    assert d["as_of"] == "2019-12-02"
    aca, tb = d["findings"]["aca"], d["findings"]["transit_bar"]
    assert (aca["status"], aca["reason"], aca["partner"], aca["agreement"]) == (
        "applies", "subject_to_agreement", "GT", "us-gt-aca-2019")
    assert (tb["status"], tb["reason"]) == ("applies", "barred")
    assert d["pathway"] == "aca_transfer"
    assert "8 CFR 208.30(e)(7)(i)" in " ".join(aca["citations"])
    assert all(isinstance(line, str) and line for line in aca["because"] + tb["because"])
    assert {"change": {"fear_of_receiving_country.GT": True}, "from":
            {"fear_of_receiving_country.GT": False}, "pathway": "credible_fear_barred"} in \
        d["counterfactuals"]


def test_decide_text_reads_as_an_explanation() -> None:
    p = run("decide", str(EXAMPLE))
    assert p.returncode == 0, p.stderr
    assert "Pathway: aca_transfer" in p.stdout
    assert "8 CFR 208.13(c)(4)(ii)" in p.stdout  # every exception is shown with its citation
    assert "as of 2019-12-02" in p.stdout  # the case's own as_of is used by default


def test_variant_changes_the_outcome() -> None:
    case = json.loads(EXAMPLE.read_text())
    case["route"] = [leg for leg in case["route"] if leg["country"] != "GT"]
    case["route"][0]["entered"] = "2019-11-20"
    path = ROOT / ".cache" / "no-guatemala.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(case))
    base = json.loads(run("decide", str(path), "--format", "json").stdout)
    varied = json.loads(run("decide", str(path), "--variant", "transit-required",
                            "--format", "json").stdout)
    assert base["findings"]["aca"]["reason"] == "subject_to_agreement"
    assert varied["findings"]["aca"]["reason"] == "partner_not_transited"
    assert varied["variant"] == "transit-required"
    assert varied["law_version"] != base["law_version"]


@pytest.mark.parametrize(("content", "field"), [
    ('{"nationalities": ["XX"]}', "nationalities[0]"),
    ('{"arrival": {"date": "2019-02-30"}}', "arrival.date"),
    ('{"arrival": {"date": 20190101}}', "arrival.date"),
    ('{"fear_claimed": "yes"}', "fear_claimed"),
    ('{"fear_claimed": 1}', "fear_claimed"),
    ('{"route": [{"country": "MX", "protection_claim": "maybe"}]}',
     "route[0].protection_claim"),
    ('{"surname": "x"}', "surname"),
    ('{"arrival": {"state": "ZZ"}}', "arrival.state"),
    ('{"fear_of_receiving_country": {"Guatemala": true}}', "fear_of_receiving_country"),
    ('[1, 2]', "(case)"),
    ('{"id": ', "(file)"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "case.json"
    path.write_text(content)
    p = run("decide", str(path))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert str(path) in lines[0] and field in lines[0]
    assert "Traceback" not in p.stderr


def test_bad_options_exit_2() -> None:
    assert run("decide", str(EXAMPLE), "--as-of", "2019-13-01").returncode == 2
    p = run("decide", str(EXAMPLE), "--variant", "nope")
    assert p.returncode == 2 and "unknown variant" in p.stderr
    assert run("decide", "/nonexistent/case.json").returncode == 2


def test_law_commands() -> None:
    check = run("law", "check")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().splitlines()[-1].startswith("ok: 0 errors")
    listing = run("law", "list").stdout
    for agreement in ("us-gt-aca-2019", "us-sv-aca-2019", "us-hn-aca-2019", "transit-bar"):
        assert agreement in listing
    shown = run("law", "show", "us-gt-aca-2019").stdout
    assert "2019-11-15" in shown and "tias-19-1115" in shown
    assert "MX" in run("law", "show", "MX").stdout
    doc = run("law", "show", "transit-bar", "--document").stdout
    assert "8 CFR 208.13(c)(4)(iii)" in doc
    assert run("law", "show", "nothing-here").returncode == 2
    assert "transit-required" in run("variants").stdout
    # when a country's nationals needed no visa, with the instrument and its sources
    poland = run("law", "show", "PL").stdout
    assert "visa_exemptions:" in poland and "from: '2019-11-11'" in poland
    assert "84 FR 60316" in poland and "fr-2019-24328-poland:" in poland
    assert "visa_exemptions" not in run("law", "show", "HN").stdout
    visas = run("law", "show", "visa-exemptions")
    assert visas.returncode == 0 and "8 CFR 212.1(a)" in visas.stdout
