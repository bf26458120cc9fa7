"""Spreadsheets as people make them: the flat layout, TRUE/FALSE, spaces, date cells with a
zero time, integer ids, every problem of a row reported at once, the header checked once,
the spreadsheet line of each error, one meaning for --as-of, and the exit status."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from safethird import decide, decide_batch
from safethird.batch.read import UnusableInput
from safethird.batch.run import run_batch

ROOT = Path(__file__).resolve().parent.parent
SHEET = ROOT / "tests" / "data" / "intake-spreadsheet.csv"
ENV = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safethird.cli", *args], capture_output=True,
                          text=True, env=ENV, timeout=300)


def test_a_spreadsheet_goes_through_with_every_problem_reported_at_once(tmp_path: Path) -> None:
    """The fixture is saved as Excel's "CSV UTF-8" does (a byte-order mark, CRLF lines),
    with TRUE/True/yes/1, cells with spaces, date cells with a zero time, integer ids, the
    route in numbered columns, and a few bad cells."""
    out = tmp_path / "decided.csv"
    p = cli("batch", str(SHEET), "--out", str(out), "--as-of", "2019-12-11")
    assert p.returncode == 1, p.stderr  # some rows decided, some in the errors file
    assert p.stderr.strip().splitlines() == [
        f"safethird: 2 of 5 rows not decided: see {out}.errors.jsonl"]
    errors = [json.loads(x) for x in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    by_row: dict[int, dict[str, str]] = {}
    for e in errors:
        by_row.setdefault(e["row"], {})[e["field"]] = e["message"]
        assert e["line"] == e["row"] + 1  # the header is line 1 of the sheet
    assert set(by_row) == {3, 5}
    # row 3: six bad cells, six errors, in one run, each with what to write instead
    assert set(by_row[3]) == {"nationalities[0]", "arrival.date", "arrival.state",
                              "route.1.country", "route.1.protection_claim", "fear_claimed"}
    assert by_row[3]["nationalities[0]"].endswith("did you mean HN (Honduras)?")
    assert by_row[3]["route.1.country"].endswith("did you mean GT (Guatemala)?")
    assert "use 2019-12-10 (month/day/year) or 2019-10-12 (day/month/year)" in \
        by_row[3]["arrival.date"]
    assert by_row[5] == {"(case)": "a route date (2019-12-12) is after arrival.date 2019-12-10"}
    decided = pl.read_csv(out, infer_schema=False)
    assert decided["case_id"].to_list() == ["101", "102", "104"]
    assert set(decided["as_of"]) == {"2019-12-11"}
    # row 1 decided as the same case written as strict JSON is
    same = decide({"id": "101", "nationalities": ["HN"], "arrival": {
        "date": "2019-12-10", "border": "southern_land", "place": "between_ports",
        "state": "TX"}, "route": [
        {"country": "GT", "entered": "2019-11-20", "left": "2019-11-25",
         "protection_claim": "none"},
        {"country": "MX", "entered": "2019-11-25", "left": "2019-12-09",
         "protection_claim": "none"}], "fear_claimed": True, "unaccompanied_child": False,
        "family_unit": False, "trafficking_victim": False,
        "fear_of_receiving_country": {"GT": False}}, as_of="2019-12-11", explain=False)
    row = decided.row(0, named=True)
    assert (row["aca.status"], row["aca.reason"], row["transit_bar.reason"], row["pathway"]) \
        == (same.findings["aca"].status, same.findings["aca"].reason,
            same.findings["transit_bar"].reason, same.pathway)


def _frame(tmp_path: Path, text: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return decide_batch(path, as_of="2019-12-11", errors="return")


@pytest.mark.parametrize(("cell", "value"), [
    ("true", True), ("TRUE", True), ("True", True), ("yes", True), ("1", True),
    ("false", False), ("FALSE", False), ("False", False), ("no", False), ("0", False),
    (" TRUE ", True), ("", None)])
def test_spreadsheet_booleans(tmp_path: Path, cell: str, value: bool | None) -> None:
    out, errors = _frame(tmp_path, f"id,nationalities,arrival.date,fear_claimed\n"
                                   f"a,HN,2019-12-10,{cell}\n")
    assert errors.height == 0, errors.to_dicts()
    expected = decide({"nationalities": ["HN"], "arrival": {"date": "2019-12-10"},
                       "fear_claimed": value}, as_of="2019-12-11", explain=False)
    assert out["pathway"].to_list() == [expected.pathway]


def test_the_three_route_layouts_agree(tmp_path: Path) -> None:
    head = "id,nationalities,arrival.date,arrival.border,arrival.state,fear_claimed"
    base = "a,HN;GT,2019-12-10,southern_land,TX,TRUE"
    numbered, _ = _frame(tmp_path, f"{head},route.1.country,route.2.country\n{base},GT,MX\n")
    short, _ = _frame(tmp_path, f"{head},route\n{base},GT; MX\n")
    as_json, _ = _frame(tmp_path, f'{head},route\n{base},"[{{""country"": ""GT""}}, '
                                  f'{{""country"": ""MX""}}]"\n')
    cols = ["aca.reason", "transit_bar.reason", "pathway"]
    assert numbered.select(cols).equals(short.select(cols))
    assert numbered.select(cols).equals(as_json.select(cols))
    d = decide({"nationalities": ["HN", "GT"], "arrival": {"date": "2019-12-10", "border":
                "southern_land", "state": "TX"}, "fear_claimed": True,
                "route": [{"country": "GT"}, {"country": "MX"}]}, as_of="2019-12-11",
               explain=False)
    assert numbered.row(0, named=True)["pathway"] == d.pathway


def test_parquet_integer_ids_and_midnight_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"id": [1, 2], "nationalities": ["HN", "SV"],
                  "arrival.date": [dt.datetime(2019, 12, 10), dt.datetime(2019, 12, 11)],
                  "fear_claimed": ["TRUE", "no"]}).write_parquet(path)
    out, errors = decide_batch(path, as_of="2019-12-12", errors="return")
    assert errors.height == 0, errors.to_dicts()
    assert out["case_id"].to_list() == ["1", "2"]


def test_json_lines_keep_json_types(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "fear_claimed": "TRUE"}\n{"id": "b", "nationalities": "HN"}\n')
    out, errors = decide_batch(path, as_of="2019-12-12", errors="return")
    assert out.height == 0 and set(errors["field"]) == {"fear_claimed", "nationalities"}


def test_the_header_is_checked_once_before_any_row(tmp_path: Path) -> None:
    path = tmp_path / "first-sheet.csv"
    rows = "".join(f"c{i},HN,2019-12-10,GT;MX,x\n" for i in range(50))
    path.write_text("id,nationality,arrival_date,route,fear_of_receiving_country.Guatemala\n"
                    + rows)
    p = cli("batch", str(path), "--out", str(tmp_path / "o.csv"))
    assert p.returncode == 2
    [line] = p.stderr.strip().splitlines()  # one line for the file, one error per column
    assert "line 1 (header)" in line
    assert "'nationality'" in line and "did you mean nationalities?" in line
    assert "'arrival_date'" in line and "did you mean arrival.date?" in line
    assert "fear_of_receiving_country.Guatemala" in line and "GT (Guatemala)" in line
    assert "'route'" not in line and line.count("column") == 3
    assert sorted(f.name for f in tmp_path.iterdir()) == ["first-sheet.csv"]
    with pytest.raises(UnusableInput, match=r"route columns are route\.N\.FIELD"):
        _frame(tmp_path, "id,route.0.country\na,GT\n")
    with pytest.raises(UnusableInput, match=r"both a 'route' column and route\.N"):
        _frame(tmp_path, "id,route,route.1.country\na,GT,GT\n")


def test_line_numbers_follow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("id,fear_claimed\n\na,maybe\n\n\nb,true\nc,perhaps\n")
    run_batch(path, tmp_path / "o.csv", errors=tmp_path / "e.jsonl", quiet=True)
    errors = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert [(e["row"], e["line"]) for e in errors] == [(1, 3), (3, 7)]


def test_as_of_means_the_same_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "dated.csv"
    path.write_text("id,nationalities,as_of\na,HN,2019-11-30\nb,HN,\nc,SV,2019-11-30\n")
    flag = run_batch(path, tmp_path / "o1.csv", as_of=dt.date(2019, 12, 2), quiet=True)
    assert flag.as_of_counts == {dt.date(2019, 12, 2): 3}
    assert set(pl.read_csv(tmp_path / "o1.csv")["as_of"]) == {"2019-12-02"}
    rows = cli("batch", str(path), "--out", str(tmp_path / "o2.csv"), "--as-of", "2019-12-02",
               "--as-of-from-rows")
    assert rows.returncode == 0, rows.stderr
    assert pl.read_csv(tmp_path / "o2.csv")["as_of"].to_list() == [
        "2019-11-30", "2019-12-02", "2019-11-30"]
    assert "each row's own as_of, else 2019-12-02" in rows.stdout
    assert "2019-11-30 2 rows" in rows.stdout and "2019-12-02 1 rows" in rows.stdout
    only_flag = cli("batch", str(path), "--out", str(tmp_path / "o3.csv"), "--as-of",
                    "2019-12-02")
    assert "for every row): 2019-12-02 3 rows" in only_flag.stdout


def test_exit_status_says_what_happened(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("id,nationalities\na,HN\n")
    some = tmp_path / "some.csv"
    some.write_text("id,nationalities\na,HN\nb,ZZ\n")
    none = tmp_path / "none.csv"
    none.write_text("id,nationalities\nb,ZZ\n")
    assert cli("batch", str(good), "--out", str(tmp_path / "1.csv")).returncode == 0
    assert cli("batch", str(some), "--out", str(tmp_path / "2.csv")).returncode == 1
    assert cli("batch", str(none), "--out", str(tmp_path / "3.csv")).returncode == 2
