"""The law data: `law check` passes on the shipped data and catches each kind of defect."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
from pathlib import Path

import pytest
import yaml

import safethird
from safethird.law.check import check
from safethird.law.data import _data_dir, load_law

pytestmark = pytest.mark.filterwarnings("ignore")


def test_shipped_law_passes_check() -> None:
    report = check(load_law())
    assert report.ok, report.errors
    assert report.counts["treaty_facts"] > 500


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(_data_dir(), dst)
    return dst


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["signed"].update(sources=["no-such-source"]), "unknown source"),
    (lambda d: d["operation"][0].update(until=dt.date(2019, 11, 1)), "is not after"),
    (lambda d: d["operation"][0].update(nationalities=["XX"]), "unknown country code"),
    (lambda d: d["operation"][0].update(arrival_states=["ZZ"]), "unknown state"),
    (lambda d: d["operation"][1].update(until=dt.date(2022, 1, 1)), "past the suspension"),
    (lambda d: d["applies_to_arrivals"].update({"from": dt.date(2019, 1, 1)}),
     "before signature"),
])
def test_check_catches_agreement_defects(tmp_path: Path, change, message: str) -> None:
    data = _copy(tmp_path)
    _edit(data / "agreements" / "us-gt-aca-2019.yaml", change)
    load_law.cache_clear()
    report = check(load_law(str(data)))
    assert not report.ok
    assert any(message in e for e in report.errors), report.errors


def test_check_catches_fact_without_source(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    _edit(data / "rules" / "transit-bar.yaml",
          lambda d: d["court_orders"][0].update(sources=[]))
    with pytest.raises(ValueError, match="sources"):
        load_law(str(data))


def test_check_catches_treaty_value_without_source(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    csv = data / "countries.csv"
    lines = csv.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("MX,"))
    cells = lines[i].split(",")
    cells[5] = ""  # refugee_convention_source
    lines[i] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    report = check(load_law(str(data)))
    assert any("MX" in e and "no source" in e for e in report.errors), report.errors


def test_check_catches_missing_country_and_clause_without_citation(tmp_path: Path,
                                                                   monkeypatch) -> None:
    data = _copy(tmp_path)
    csv = data / "countries.csv"
    csv.write_text("\n".join(line for line in csv.read_text().splitlines()
                             if not line.startswith("BZ,")) + "\n")
    report = check(load_law(str(data)))
    assert any("BZ has no row" in e for e in report.errors)

    from safethird.law import transit_bar
    from safethird.logic.expr import Clause, fact

    original = transit_bar.rule

    def uncited(law):
        f = original(law)
        bad = Clause("transit_bar.uncited", "an uncited clause", " ", fact("trafficking_victim"))
        reasons = list(f.reasons)
        reasons[7] = type(reasons[7])(reasons[7].code, Clause(
            reasons[7].clause.id, reasons[7].clause.text, reasons[7].clause.citation, bad))
        return type(f)(f.name, f.citation, tuple(reasons), f.applies, f.partners)

    monkeypatch.setattr(transit_bar, "rule", uncited)
    decide_mod = importlib.import_module("safethird.decide")
    monkeypatch.setattr(decide_mod, "_RULES", {})
    report = check(load_law(str(data)))
    assert any("transit_bar.uncited: no citation" in e for e in report.errors)


def test_law_version_changes_with_the_data(tmp_path: Path) -> None:
    data = _copy(tmp_path)
    before = load_law(str(data)).version
    _edit(data / "agreements" / "us-gt-aca-2019.yaml",
          lambda d: d["suspended"].update(note="edited"))
    load_law.cache_clear()
    assert load_law(str(data)).version != before
    assert safethird.decide({}, as_of="2019-12-01").law_version == load_law().version


def test_treaty_party_dates_follow_the_treaties() -> None:
    law = load_law()
    # Mexico: Protocol deposited 2000-06-07, in force that day; Convention 90 days later.
    e, lo = law.party_window("MX", ["refugee_convention", "refugee_protocol"])
    assert e == lo == dt.date(2000, 6, 7)
    # India: party to none of the three
    assert law.party_window("IN", ["refugee_convention", "refugee_protocol",
                                   "torture_convention"]) == (dt.date.max, dt.date.max)
    # a deposit known only to the year gives an interval
    year_only = next(c for c, v in law.countries.items()
                     if v.treaties["torture_convention"].value.isdigit())
    e, lo = law.party_window(year_only, ["torture_convention"])
    assert e < lo
    deposit = law.with_(party_from="deposit").party_window("MX", ["torture_convention"])[0]
    assert deposit < law.party_window("MX", ["torture_convention"])[0]
