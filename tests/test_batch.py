"""Batch: the same determinations as `decide`, in every format, with every row accounted for."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from generate import random_case
from safethird import decide, decide_batch
from safethird.batch.api import InvalidRows
from safethird.batch.run import run_batch
from safethird.facts import CaseError, parse_case
from tables import _jsonable, write_csv, write_jsonl, write_parquet

ROOT = Path(__file__).resolve().parent.parent
KEYS = ["aca.status", "aca.reason", "aca.partner", "transit_bar.status", "transit_bar.reason",
        "pathway"]


def _records(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    return [json.loads(json.dumps(random_case(rng, i), default=_jsonable)) for i in range(n)]


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return _records(600)


@pytest.fixture(scope="module")
def expected(records: list[dict]) -> dict[str, tuple]:
    out = {}
    for r in records:
        d = decide(r, explain=False)
        out[r["id"]] = (d.findings["aca"].status, d.findings["aca"].reason,
                        d.findings["aca"].partner, d.findings["transit_bar"].status,
                        d.findings["transit_bar"].reason, d.pathway)
    return out


def _as_dict(out: pl.DataFrame) -> dict[str, tuple]:
    return {row[0]: tuple(row[1:]) for row in out.select(["case_id", *KEYS]).iter_rows()}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "dataset"])
def test_every_format_gives_the_per_case_answers(tmp_path: Path, records, expected, fmt) -> None:
    src = tmp_path / f"in.{fmt}" if fmt != "dataset" else tmp_path / "in"
    if fmt == "csv":
        write_csv(records, src)
    elif fmt == "jsonl":
        write_jsonl(records, src)
    elif fmt == "parquet":
        write_parquet(records, src)
    else:
        src.mkdir()
        write_parquet(records[:250], src / "a.parquet")
        write_parquet(records[250:], src / "b.parquet")
    for out_name in ("out.parquet", "out.csv", "out.jsonl", "outdir"):
        out = tmp_path / out_name
        result = run_batch(src, out, quiet=True, chunk_rows=1000, as_of_from_rows=True)
        assert (result.rows_in, result.rows_out, result.rows_error) == (600, 600, 0)
        frame = (pl.read_parquet(out / "*.parquet") if out_name == "outdir" else
                 pl.read_parquet(out) if out_name.endswith("parquet") else
                 pl.read_csv(out) if out_name.endswith("csv") else pl.read_ndjson(out))
        assert frame["row"].to_list() == list(range(1, 601))
        assert _as_dict(frame) == expected, (fmt, out_name)


def test_decide_batch_api_takes_frames_and_paths(tmp_path: Path, records, expected) -> None:
    path = tmp_path / "in.parquet"
    write_parquet(records, path)
    from_path = decide_batch(path, as_of_from_rows=True)
    assert _as_dict(from_path) == expected
    frame = pl.read_parquet(path)
    assert _as_dict(decide_batch(frame, as_of_from_rows=True)) == expected
    assert _as_dict(decide_batch(frame.to_pandas(), as_of_from_rows=True)) == expected
    assert decide_batch(frame, as_of="2019-12-02")["as_of"].dtype == pl.Date


# --- defects ------------------------------------------------------------------------------

DEFECTS = {  # row index → (changes to the CSV row, field named in the error)
    3: ({"nationalities": '["XX"]'}, "nationalities[0]"),
    5: ({"arrival.date": "2019-02-30"}, "arrival.date"),
    7: ({"arrival.date": "12/01/2019"}, "arrival.date"),
    9: ({"fear_claimed": "maybe"}, "fear_claimed"),
    11: ({"route": '[{"country": "MX", "entered": 5}]'}, "route[0].entered"),
    13: ({"route": '[{"country": "MX"'}, "route"),
    15: ({"route": '[{"country": "MX", "hotel": "x"}]'}, "route[0].hotel"),
    17: ({"arrival.state": "ZZ"}, "arrival.state"),
    19: ({"admission_document": "passport"}, "admission_document"),
    21: ({"id": "c2"}, "id"),  # duplicate of row 3's id (index 2)
    23: ({"route": '[{"country": "MX", "protection_claim": "maybe"}]'},
         "route[0].protection_claim"),
    25: ({"last_habitual_residence": "Mexico"}, "last_habitual_residence"),
    27: ({"unaccompanied_child": "true", "family_unit": "true"}, "(case)"),
    29: ({"route": '{"country": "MX"}'}, "route"),
}


def _defective_csv(tmp_path: Path, records: list[dict]) -> Path:
    path = tmp_path / "defects.csv"
    write_csv(records[:40], path, {i: c for i, (c, _) in DEFECTS.items()})
    with path.open("ab") as fh:  # a truncated last line: the file was cut off mid-row
        fh.write(b'c999,"[""HN""]",HN,2001-01-01,fal')
    return path


def test_every_defective_row_is_reported_and_the_rest_decided(tmp_path: Path, records) -> None:
    path = _defective_csv(tmp_path, records)
    result = run_batch(path, tmp_path / "out.parquet", errors=tmp_path / "e.jsonl", quiet=True)
    errors = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert result.rows_in == 41 == result.rows_out + result.rows_error
    by_row = {e["row"]: e for e in errors}
    for i, (_, field) in DEFECTS.items():
        assert by_row[i + 1]["field"] == field, (i, by_row.get(i + 1))
        assert by_row[i + 1]["file"] == str(path)
    assert by_row[22]["message"] == "duplicate id 'c2' (first at row 3)"
    assert by_row[41]["field"] == "(row)" and "truncated" in by_row[41]["message"]
    assert set(by_row) == {i + 1 for i in DEFECTS} | {41}
    decided = pl.read_parquet(tmp_path / "out.parquet")
    assert set(decided["row"]) | set(by_row) == set(range(1, 42))


def test_jsonl_defects_name_the_field(tmp_path: Path, records) -> None:
    path = tmp_path / "defects.jsonl"
    lines = [json.dumps(r) for r in records[:10]]
    lines[2] = lines[2].replace('"fear_claimed": true', '"fear_claimed": "yes"') \
        .replace('"fear_claimed": false', '"fear_claimed": "yes"').replace(
            '"fear_claimed": null', '"fear_claimed": "yes"')
    lines[4] = json.dumps({**records[4], "surname": "x"})
    lines[6] = json.dumps({**records[6], "arrival": {**records[6]["arrival"], "gate": 3}})
    path.write_text("\n".join(lines) + '\n{"id": "c10", "nationalities": ["H')
    result = run_batch(path, tmp_path / "o.jsonl", errors=tmp_path / "e.jsonl", quiet=True)
    errors = {e["row"]: e for e in map(json.loads, (tmp_path / "e.jsonl").read_text()
                                       .splitlines())}
    assert result.rows_in == 11 == result.rows_out + result.rows_error
    assert errors[3]["field"] == "fear_claimed"
    assert errors[5]["field"] == "surname"
    assert errors[7]["field"] == "arrival.gate"
    assert errors[11]["field"] == "(row)" and "JSON" in errors[11]["message"]


def _mutate(rng: random.Random, r: dict) -> dict:
    r = json.loads(json.dumps(r))
    choice = rng.randrange(12)
    if choice == 0:
        r["nationalities"] = ["HN", rng.choice(["ZZ", "hn", "", "Honduras"])]
    elif choice == 1:
        r["arrival"]["date"] = rng.choice(["2019-13-01", "2019/12/01", "20191201", "2019-02-29"])
    elif choice == 2:
        r[rng.choice(["fear_claimed", "visa_exempt", "family_unit"])] = rng.choice(
            ["yes", 1, "True", 0])
    elif choice == 3 and r.get("route"):
        r["route"][0]["country"] = rng.choice(["XX", "mx", 7])
    elif choice == 4 and r.get("route"):
        r["route"][-1]["left"] = "2030-01-01"
    elif choice == 5:
        r["admission_document"] = "passport"
    elif choice == 6:
        r["arrival"]["state"] = rng.choice(["Texas", "tx", "ZZ"])
    elif choice == 7:
        r["fear_of_receiving_country"] = {"GT": "no"}
    return r


def test_vectorized_validation_agrees_with_the_case_schema(tmp_path: Path) -> None:
    """A row is rejected in batch exactly when `parse_case` rejects it, naming the same set of
    fields (every problem of the row, not the first)."""
    rng = random.Random(11)
    base = _records(400, seed=12)
    rows = [_mutate(rng, r) if rng.random() < 0.6 else r for r in base]
    for _ in range(3):  # some rows with several problems
        rows = [_mutate(rng, r) if rng.random() < 0.3 else r for r in rows]
    for i, r in enumerate(rows):
        r["id"] = f"m{i}"
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out, errors = decide_batch(path, errors="return")
    rejected: dict[int, set[str]] = {}
    for row, field in zip(errors["row"].to_list(), errors["field"].to_list(), strict=True):
        rejected.setdefault(row, set()).add(field)
    several = 0
    for i, r in enumerate(rows, start=1):
        try:
            parse_case(r)
            assert i not in rejected, (r, rejected.get(i))
        except CaseError as e:
            assert i in rejected, (e, r)
            assert rejected[i] == {f for f, _ in e.problems}, (i, rejected[i], e.problems)
            several += len(e.problems) > 1
    assert several >= 10  # the comparison covered rows with several problems
    assert out.height + errors["row"].n_unique() == len(rows)


def test_decide_batch_raises_on_invalid_rows() -> None:
    frame = pl.DataFrame({"id": ["a", "b"], "fear_claimed": ["true", "maybe"],
                          "as_of": ["2019-12-01", "2019-12-01"]})
    with pytest.raises(InvalidRows, match="row 2 field fear_claimed"):
        decide_batch(frame)


def test_unreadable_inputs_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 not really")
    for args in (["batch", str(bad), "--out", str(tmp_path / "o.parquet")],
                 ["batch", str(tmp_path / "cases.xlsx"), "--out", str(tmp_path / "o.csv")],
                 ["summarize", str(tmp_path / "nothing.parquet")]):
        p = subprocess.run([sys.executable, "-m", "safethird.cli", *args], capture_output=True,
                           text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin"})
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_cli_batch_and_summarize(tmp_path: Path, records) -> None:
    src = tmp_path / "in.csv"
    write_csv(records[:50], src)
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin"}
    p = subprocess.run([sys.executable, "-m", "safethird.cli", "batch", str(src), "--out",
                        str(tmp_path / "o.parquet"), "--as-of", "2019-12-02"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert "50 rows in: 50 decided" in p.stdout and "pathway:" in p.stdout
    s = subprocess.run([sys.executable, "-m", "safethird.cli", "summarize",
                        str(tmp_path / "o.parquet")], capture_output=True, text=True, env=env)
    assert s.returncode == 0 and "transit_bar.reason:" in s.stdout


def test_dask_cluster_gives_the_local_result(tmp_path: Path, records) -> None:
    distributed = pytest.importorskip("dask.distributed")
    src = tmp_path / "in"
    src.mkdir()
    recs = [dict(r) for r in records]
    recs[400]["id"] = recs[10]["id"]  # a duplicate across files
    write_parquet(recs[:300], src / "a.parquet")
    write_parquet(recs[300:], src / "b.parquet")
    local = run_batch(src, tmp_path / "local", quiet=True, errors=tmp_path / "le.jsonl")
    from safethird.batch.distributed import run_on_dask

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = run_on_dask(src, tmp_path / "remote", client, errors=tmp_path / "re.jsonl",
                             rows_per_partition=200)
    assert (remote.rows_in, remote.rows_out, remote.rows_error) == (
        local.rows_in, local.rows_out, local.rows_error) == (600, 599, 1)
    a = pl.read_parquet(tmp_path / "local" / "*.parquet").sort("row")
    b = pl.read_parquet(tmp_path / "remote" / "*.parquet").sort("row")
    assert a.equals(b)
    assert (tmp_path / "le.jsonl").read_text() == (tmp_path / "re.jsonl").read_text()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicate_ids_across_chunks_match_a_plain_reference(tmp_path: Path, seed: int) -> None:
    """Both ways of finding repeated ids (incremental, by hash then string, for text inputs;
    from the id column up front, for Parquet) flag exactly the rows a dict would."""
    from safethird.batch.duplicates import Duplicates, KnownDuplicates, first_rows
    from safethird.batch.read import FILE, ROW

    rng = random.Random(seed)
    n = 5000
    ids = [None if rng.random() < 0.02 else f"c{rng.randrange(3000)}" for _ in range(n)]
    first: dict[str, int] = {}
    expected = {}
    for row, i in enumerate(ids, start=1):
        if i is None:
            continue
        if i in first:
            expected[row] = first[i]
        else:
            first[i] = row
    frame = pl.DataFrame({"id": ids, ROW: range(1, n + 1), FILE: ["f"] * n},
                         schema={"id": pl.String, ROW: pl.Int64, FILE: pl.String})
    pl.DataFrame({"id": ids}, schema={"id": pl.String}).write_parquet(tmp_path / "ids.parquet")
    for dups in (Duplicates(), KnownDuplicates(first_rows(tmp_path / "ids.parquet"))):
        flagged = {}
        cuts = sorted({0, n, *rng.sample(range(1, n), 6)})
        for lo, hi in itertools.pairwise(cuts):
            part = frame.slice(lo, hi - lo)
            decided = part.select(pl.col(ROW).alias("row"), pl.col("id").alias("case_id"))
            kept, errors = dups.split(part.filter(pl.col("id").is_not_null()), decided)
            assert kept.height + errors.height == part.height
            for e in errors.iter_rows(named=True):
                flagged[e["row"]] = int(e["message"].rsplit(" ", 1)[1].rstrip(")"))
        assert flagged == expected, type(dups).__name__


def test_text_input_in_many_blocks_accounts_for_every_row(tmp_path: Path, records,
                                                           monkeypatch) -> None:
    """Blocks of a few lines each, decided on worker threads, come out in input order with
    duplicates across blocks flagged."""
    import safethird.batch.read as read

    monkeypatch.setattr(read, "BLOCK_BYTES", 4096)
    recs = [dict(r) for r in records]
    recs[500]["id"] = recs[3]["id"]
    path = tmp_path / "many.jsonl"
    write_jsonl(recs, path)
    result = run_batch(path, tmp_path / "o.parquet", errors=tmp_path / "e.jsonl", quiet=True,
                       threads=2)
    out = pl.read_parquet(tmp_path / "o.parquet")
    errors = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert (result.rows_in, result.rows_out, result.rows_error) == (600, 599, 1)
    assert out["row"].to_list() == [r for r in range(1, 601) if r != 501]
    assert errors[0]["row"] == 501 and "first at row 4" in errors[0]["message"]


@pytest.mark.parametrize("out_name", ["o.parquet", "o.csv", "odir"])
def test_a_failed_run_leaves_no_output_that_looks_complete(tmp_path: Path, records,
                                                           out_name: str) -> None:
    """A data page that cannot be decoded halfway through the input stops the run (exit 2)
    after earlier chunks were decided: the earlier output stays as it was, and no partial
    file is left that could pass for the result."""
    src = tmp_path / "in"
    src.mkdir()
    write_parquet(records[:300], src / "a.parquet")
    write_parquet(records[300:], src / "b.parquet")
    damaged = bytearray((src / "b.parquet").read_bytes())
    for i in range(len(damaged) // 4, len(damaged) // 2, 3):
        damaged[i] ^= 0xFF
    (src / "b.parquet").write_bytes(bytes(damaged))
    out = tmp_path / out_name
    if out.suffix:
        out.write_text("the previous result")
    p = subprocess.run([sys.executable, "-m", "safethird.cli", "batch", str(src), "--out",
                        str(out), "--chunk-rows", "1000", "--quiet"], capture_output=True,
                       text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin"})
    assert p.returncode == 2, p.stderr
    assert "b.parquet: cannot read Parquet data after row 300" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    left = sorted(f.name for f in tmp_path.iterdir() if f.name != "in")
    assert left == ([out_name] if out.suffix else []), left
    if out.suffix:
        assert out.read_text() == "the previous result"
