"""The legal test suite: cases in tests/cases/*.yaml, each derived from the law (the regulation,
the law data, the digest's derived cases), run through ``safethird.decide``.

Each case names ``as_of``, optional ``variant``, the ``facts`` (CONTRACT.md section 1) and what it
``expect``s. Only the keys under ``expect`` are checked, each exactly:

* ``aca`` / ``transit_bar`` / ``clp``: a mapping of finding fields (status, reason, partner,
  agreement, partners);
* ``warnings``: the warnings given, each by its ``measure`` (or its ``code`` when it has none),
  in order (exact list); ``warnings_include`` / ``warnings_exclude``: some that must / must not
  be among them;
* ``pathway``;
* ``missing_facts`` (exact list), ``missing_facts_first``, ``missing_facts_include`` (subset);
* ``counterfactuals_include``: items ``{change: {...}, pathway: ...}`` that must be among the
  counterfactuals (same change, same pathway);
* ``citations_include``: ``{finding: [text, ...]}``, each text found within one of the finding's
  citations.

A case the suite's authors believe the code gets wrong carries ``xfail: "reason"`` (strict).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

import safethird

CASES_DIR = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))
REQUIRED = ("name", "facts", "expect", "as_of")
EXPECT_KEYS = {"aca", "transit_bar", "clp", "warnings", "warnings_include", "warnings_exclude",
               "pathway", "missing_facts", "missing_facts_first",
               "missing_facts_include", "counterfactuals_include", "citations_include",
               "missing_facts_exclude", "counterfactuals_exclude", "because_include",
               "holds_regardless_include", "assumptions", "branches", "settles"}
# ``assume``: stated assumptions ({fact: value}); ``identity``: counterfactuals may change
# identity facts (nationality, the route's countries)
CASE_KEYS = {"name", "source", "as_of", "variant", "facts", "expect", "xfail", "assume",
             "identity"}


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, list), f"{path.name}: expected a YAML list of cases"
    return data


def _short(name: str, n: int = 48) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in str(name).lower()).split()
    return "-".join(words)[:n].rstrip("-")


def _params() -> list[Any]:
    params = []
    for path in CASE_FILES:
        for i, c in enumerate(_load(path)):
            marks = []
            if c.get("xfail"):
                marks.append(pytest.mark.xfail(reason=str(c["xfail"]), strict=True))
            params.append(pytest.param(c, id=f"{path.stem}-{i:02d}-{_short(c.get('name', ''))}",
                                       marks=marks))
    return params


def _norm(v: Any) -> Any:
    """Dates as ISO strings, recursively (YAML gives dates, the determination strings)."""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return v


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_file_is_well_formed(path: Path) -> None:
    cases = _load(path)
    assert cases, f"{path.name} holds no cases"
    for i, c in enumerate(cases):
        assert isinstance(c, dict), f"{path.name}[{i}] is not a mapping"
        for key in REQUIRED:
            assert key in c, f"{path.name}[{i}] lacks {key!r}"
        assert not set(c) - CASE_KEYS, f"{path.name}[{i}] unknown keys {set(c) - CASE_KEYS}"
        assert isinstance(c["facts"], dict) and isinstance(c["expect"], dict)
        assert c["expect"], f"{path.name}[{i}] expects nothing"
        assert not set(c["expect"]) - EXPECT_KEYS, \
            f"{path.name}[{i}] unknown expect keys {set(c['expect']) - EXPECT_KEYS}"
        dt.date.fromisoformat(str(c["as_of"]))


def test_enough_cases() -> None:
    assert sum(len(_load(p)) for p in CASE_FILES) >= 90


@pytest.mark.parametrize("case", _params())
def test_legal_case(case: dict[str, Any]) -> None:
    as_of = case["as_of"]
    as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    d = safethird.decide(case["facts"], as_of=as_of, variant=case.get("variant"),
                         assume=case.get("assume"), identity=bool(case.get("identity"))
                         ).to_dict()
    expect = case["expect"]
    got: dict[str, Any] = {}
    problems: list[str] = []

    for finding in ("aca", "transit_bar", "clp"):
        if finding in expect:
            actual = d["findings"][finding]
            for key, want in expect[finding].items():
                got[f"{finding}.{key}"] = actual.get(key)
                if actual.get(key) != want:
                    problems.append(f"{finding}.{key}: expected {want!r}, got {actual.get(key)!r}")
    warned = [w["measure"] or w["code"] for w in d["warnings"]]
    if "warnings" in expect and warned != expect["warnings"]:
        problems.append(f"warnings: expected {expect['warnings']!r}, got {warned!r}")
    for w in expect.get("warnings_include", []):
        if w not in warned:
            problems.append(f"warnings_include: {w!r} not in {warned!r}")
    for w in expect.get("warnings_exclude", []):
        if w in warned:
            problems.append(f"warnings_exclude: {w!r} in {warned!r}")
    if "pathway" in expect and d["pathway"] != expect["pathway"]:
        problems.append(f"pathway: expected {expect['pathway']!r}, got {d['pathway']!r}")
    missing = d["missing_facts"]
    if "missing_facts" in expect and missing != expect["missing_facts"]:
        problems.append(f"missing_facts: expected {expect['missing_facts']!r}, got {missing!r}")
    if "missing_facts_first" in expect and (missing[:1] != [expect["missing_facts_first"]]):
        problems.append(f"missing_facts_first: expected {expect['missing_facts_first']!r}, "
                        f"got {missing!r}")
    for path in expect.get("missing_facts_include", []):
        if path not in missing:
            problems.append(f"missing_facts_include: {path!r} not in {missing!r}")
    cfs = [(_norm(c["change"]), c["pathway"]) for c in d["counterfactuals"]]
    for want in expect.get("counterfactuals_include", []):
        if (_norm(want["change"]), want["pathway"]) not in cfs:
            problems.append(f"counterfactuals_include: {want!r} not in {cfs!r}")
    for path in expect.get("missing_facts_exclude", []):
        if path in missing:
            problems.append(f"missing_facts_exclude: {path!r} in {missing!r}")
    for want in expect.get("counterfactuals_exclude", []):
        if any(path in c for c, _ in cfs for path in want):
            problems.append(f"counterfactuals_exclude: {want!r} in {cfs!r}")
    for finding, texts in (expect.get("because_include") or {}).items():
        because = " ".join(d["findings"][finding]["because"])
        for text in texts:
            if text not in because:
                problems.append(f"because_include: {finding} {text!r} not in {because!r}")
    for finding, paths in (expect.get("holds_regardless_include") or {}).items():
        regardless = d["findings"][finding].get("holds_regardless", [])
        for path in paths:
            if path not in regardless:
                problems.append(f"holds_regardless_include: {finding} {path!r} not in "
                                f"{regardless!r}")
    if "assumptions" in expect:
        got_a = [(a["fact"], _norm(a["value"]), sorted(a["findings"])) for a in d["assumptions"]]
        want_a = [(a["fact"], _norm(a["value"]), sorted(a["findings"]))
                  for a in expect["assumptions"]]
        if got_a != want_a:
            problems.append(f"assumptions: expected {want_a!r}, got {got_a!r}")
    if "branches" in expect:
        got_b = {(b["fact"], b["value"]): b["pathway"] for b in d["branches"]}
        want_b = {(b["fact"], b["value"]): b["pathway"] for b in expect["branches"]}
        if got_b != want_b:
            problems.append(f"branches: expected {want_b!r}, got {got_b!r}")
    for path, want in (expect.get("settles") or {}).items():
        q = next((q for q in d["questions"] if q["fact"] == path), None)
        got_s = {str(_norm(s["value"])): s["pathway"] for s in q["settles"]} if q else None
        want_s = {str(_norm(k)): v for k, v in want.items()}
        if got_s != want_s:
            problems.append(f"settles {path}: expected {want_s!r}, got {got_s!r}")
    for finding, texts in (expect.get("citations_include") or {}).items():
        cites = d["findings"][finding]["citations"]
        for text in texts:
            if not any(text in c for c in cites):
                problems.append(f"citations_include: {finding} {text!r} not in {cites!r}")

    context = (f"\ncase: {case['name']}\n  aca={d['findings']['aca']['status']}/"
               f"{d['findings']['aca']['reason']}/{d['findings']['aca'].get('partner')} "
               f"transit_bar={d['findings']['transit_bar']['status']}/"
               f"{d['findings']['transit_bar']['reason']} pathway={d['pathway']} "
               f"missing={missing}")
    assert not problems, "\n".join(problems) + context
