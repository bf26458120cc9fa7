"""Not required to obtain a visa (law/visas.py over law/data/visa-exemptions.yaml): the data is
sourced and checked; the rule answers from the nationality and the arrival date on both sides
of every date the data encodes, and leaves to the stated fact only what the data leaves open;
the per-case, compiled and vectorized evaluators agree on it."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generate import random_case
from safethird import facts
from safethird.decide import rules
from safethird.law.check import check
from safethird.law.data import LawDataError, _data_dir, load_law
from safethird.law.visas import not_required_to_obtain_a_visa
from safethird.logic.compile import compile_rules
from safethird.logic.evaluate import evaluate
from safethird.logic.vectorize import evaluate_frame
from test_property import _compare

LAW = load_law()
RULE = not_required_to_obtain_a_visa(LAW)
DAY = dt.timedelta(days=1)


def _value(nationalities: list[str] | None, arrival: str | dt.date | None,
           stated: bool | None = None) -> bool | None:
    arrived = dt.date.fromisoformat(arrival) if isinstance(arrival, str) else arrival
    record: dict[str, Any] = {"nationalities": nationalities, "arrival": {"date": arrived},
                              "visa_exempt": stated}
    return evaluate(RULE, record, dt.date(2026, 6, 1))


# --- the data ------------------------------------------------------------------------------------

def test_every_exemption_has_a_defined_source_with_url_and_strength() -> None:
    v = LAW.visas
    assert v is not None and v.exemptions
    entries = [v.covers, v.program_excluded_nationalities, *v.exemptions, *v.not_implemented]
    for e in entries:
        assert e.sources, e
        assert e.strength in ("primary", "secondary", "weak"), e
        for sid in e.sources:
            src = LAW.sources[sid]  # KeyError: cites a source not defined
            assert src.url.startswith("http") and src.kind in ("primary", "secondary", "weak")
    for e in v.exemptions:
        assert e.citation.strip() and e.instrument.strip()
    assert {"CA", "BM", "PL", "HR", "IL", "QA", "GB", "FM"} <= {
        c for e in v.exemptions for c in e.nationalities}
    # a designation never put into effect exempts no one
    assert all("RO" not in e.nationalities for e in v.exemptions)


def test_norway_is_a_country_code_not_false() -> None:
    vwp = next(e for e in LAW.visas.exemptions if e.id == "vwp-before-2014")
    assert "NO" in vwp.nationalities and all(isinstance(c, str) for c in vwp.nationalities)


def test_law_check_counts_the_visa_exemptions() -> None:
    report = check(LAW)
    assert report.ok, report.errors
    assert report.counts["visa_exemptions"] == len(LAW.visas.exemptions)


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(_data_dir(), dst)
    return dst


def _edit(root: Path, change: Any) -> None:
    path = root / "visa-exemptions.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _entry(data: dict, eid: str) -> dict:
    return next(e for e in data["exemptions"] if e["id"] == eid)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: _entry(d, "vwp-poland").update(sources=["no-such-source"]), "unknown source"),
    (lambda d: _entry(d, "vwp-poland").update(nationalities=["XX"]), "unknown country code"),
    (lambda d: _entry(d, "vwp-israel").update(until=dt.date(2023, 1, 1)), "is not after"),
    (lambda d: _entry(d, "vwp-qatar").update(**{"from": dt.date(2010, 1, 1)}),
     "before the data's first day"),
    (lambda d: _entry(d, "vwp-croatia").update(nationalities=["HR", "PL"]), "at once"),
    (lambda d: _entry(d, "canada").update(citation=" "), "no citation"),
    (lambda d: _entry(d, "vwp-qatar").update(**{"from": dt.date(2026, 12, 1)}),
     "after the law horizon"),
])
def test_law_check_catches_each_defect(tmp_path: Path, change: Any, message: str) -> None:
    root = _copy(tmp_path)
    _edit(root, change)
    load_law.cache_clear()
    try:
        report = check(load_law(str(root)))
    finally:
        load_law.cache_clear()
    assert any(message in e for e in report.errors), report.errors


def test_a_malformed_entry_is_an_error_naming_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root, lambda d: _entry(d, "canada").update(kind="sometimes"))
    load_law.cache_clear()
    try:
        with pytest.raises(LawDataError, match=r"visa-exemptions\.yaml"):
            load_law(str(root))
    finally:
        load_law.cache_clear()


def test_a_missing_file_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "visa-exemptions.yaml").unlink()
    load_law.cache_clear()
    try:
        report = check(load_law(str(root)))
    finally:
        load_law.cache_clear()
    assert any("visa-exemptions.yaml: missing" in e for e in report.errors)


# --- the rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("eid", ["vwp-chile", "vwp-poland", "vwp-croatia", "vwp-israel",
                                 "vwp-qatar"])
def test_both_sides_of_each_designation(eid: str) -> None:
    """The day before: the nationality needed a visa (derived, false). From the day: the program
    may waive it, so the answer is the person's own fact (unknown when unstated)."""
    e = next(x for x in LAW.visas.exemptions if x.id == eid)
    nat = [e.nationalities[0]]
    if e.from_ > LAW.visas.covers.from_:
        assert _value(nat, e.from_ - DAY) is False
    else:  # Chile's day is the data's first: before it nothing is encoded
        assert _value(nat, e.from_ - DAY) is None
    assert _value(nat, e.from_) is None
    assert _value(nat, e.from_, stated=True) is True
    assert _value(nat, e.from_, stated=False) is False


def test_poland_on_2019_11_10_and_2019_11_11() -> None:
    assert _value(["PL"], "2019-11-10") is False
    assert _value(["PL"], "2019-11-10", stated=True) is False  # the data settles it
    assert _value(["PL"], "2019-11-11") is None
    assert _value(["PL"], "2019-11-11", stated=False) is False


def test_hondurans_salvadorans_venezuelans_needed_a_visa_whatever_is_stated() -> None:
    for nat in (["HN"], ["SV"], ["VE"], ["HN", "SV"], []):
        for stated in (None, True, False):
            assert _value(nat, "2019-12-01", stated) is False, (nat, stated)


def test_canadians_and_bermudians_needed_no_visa_whatever_is_stated() -> None:
    for nat in (["CA"], ["BM"], ["HN", "CA"], ["SY", "CA"]):
        for stated in (None, True, False):
            assert _value(nat, "2019-12-01", stated) is True, (nat, stated)


def test_iraqi_or_syrian_dual_nationals_are_outside_the_program() -> None:
    assert _value(["DE"], "2025-10-01") is None
    assert _value(["DE", "SY"], "2025-10-01") is False
    assert _value(["GB", "IQ"], "2025-10-01", stated=True) is False
    # the exclusion is the program's: a Compact citizen who is also Syrian stays open
    assert _value(["FM", "SY"], "2025-10-01") is None


def test_romania_was_designated_but_never_exempt() -> None:
    assert _value(["RO"], "2025-04-15") is False
    assert _value(["RO"], "2025-06-01") is False


def test_what_the_data_cannot_settle_stays_unknown() -> None:
    assert _value(None, "2019-12-01") is None  # nationality unknown
    # stated either way: still open while the nationality could be Canadian or Honduran
    assert _value(None, "2019-12-01", stated=False) is None
    assert _value(None, "2019-12-01", stated=True) is None
    assert _value(["PL"], None) is None  # across Poland's designation
    # a Honduran with no date: the day could precede the data (Kleene open; every agreement's
    # own dates come later, so the exact reasoning never asks it for that)
    assert _value(["HN"], None) is None
    assert _value(["CA"], None) is None  # the data starts on 2014-03-31
    assert _value(["HN"], "2014-03-30") is None  # before the data's first day
    assert _value(["HN"], "2014-03-31") is False


def test_the_aca_document_clause_reads_the_rule_and_keeps_its_citation() -> None:
    from safethird.logic.expr import Clause

    r = rules(None)
    doc = [n for node in r.nodes.values() for n in node.walk()
           if isinstance(n, Clause) and n.id == "aca.admission_document"
           and "8 CFR 208.30(e)(7)(iii)" in n.citation]
    assert doc
    inner = {n.id for n in doc[0].walk() if isinstance(n, Clause)}
    assert {"visas.not_required_to_obtain_a_visa", "visas.every_nationality_needed_a_visa",
            "visas.exempt_outright", "visas.exemption_possible"} <= inner


# --- one definition, three evaluators -----------------------------------------------------------

NATIONALITIES = [["HN"], ["SV"], ["CA"], ["BM"], ["PL"], ["HR"], ["IL"], ["QA"], ["RO"],
                 ["DE", "SY"], ["GB", "IQ"], ["FM"], ["CA", "HN"], ["DE"], [], None]
DATES = ["2014-03-30", "2014-03-31", "2019-11-10", "2019-11-11", "2019-12-01", "2021-09-27",
         "2021-09-28", "2023-10-18", "2023-10-19", "2024-09-23", "2024-09-24", "2025-04-15",
         None]


def _records(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        case = random_case(rng, i)
        case["nationalities"] = rng.choice(NATIONALITIES)
        day = rng.choice(DATES)
        case.setdefault("arrival", {})
        case["arrival"] = dict(case["arrival"] or {}) | {"date": day}
        case["visa_exempt"] = rng.choice([None, None, True, False])
        if day is not None:  # keep the case valid: nothing after the arrival, as of it or later
            arrived = dt.date.fromisoformat(day)
            case["as_of"] = (arrived + dt.timedelta(days=rng.choice([0, 30, 2200]))).isoformat()
            for leg in case.get("route") or []:
                for k in ("entered", "left"):
                    if leg.get(k) is not None and dt.date.fromisoformat(str(leg[k])) > arrived:
                        leg[k] = None
            born = case.get("birth_date")
            if born is not None and dt.date.fromisoformat(str(born)) > arrived:
                case["birth_date"] = None
        out.append(facts.to_record(facts.parse_case(case)))
    return out


def test_per_case_and_vectorized_agree_on_visa_cases() -> None:
    """The project's property comparison (every clause, and the exact outcome through decide)
    on cases whose nationalities and dates sit on the visa data's edges."""
    assert _compare(_records(seed=20191111, n=600), exact=150) == 600


def test_compiled_program_and_vectorized_frame_agree_on_the_rule() -> None:
    records = _records(seed=7, n=300)
    nodes = {"visa": RULE}
    program = compile_rules(nodes)
    frame = facts.records_to_frame(records, ("GT", "HN", "SV"))
    column = evaluate_frame(frame.lazy(), nodes).select("visa").collect()["visa"].to_list()
    for record, vec in zip(records, column, strict=True):
        per_case = evaluate(RULE, record, record["as_of"])
        compiled = program.evaluation(record, record["as_of"]).value(RULE)
        assert per_case == compiled == vec, record
    assert {True, False, None} <= set(column)
