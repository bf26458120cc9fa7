"""The command line against bad input: every command, given folders for files and files for
folders, empty files, every text encoding people save in, binary files, impossible scenarios,
unknown names and malformed options, ends with status 0, 1 or 2 and at most one line on
stderr, and never a traceback (status 70 is the code's own bug report)."""

from __future__ import annotations

import codecs
import io
import json
import random
import sys
from pathlib import Path

import pytest

from safethird.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "honduran-el-paso-2019.json"


def run(argv: list[str], capsys, stdin: bytes | None = None, monkeypatch=None
        ) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 0), out, err


def assert_clean(argv: list[str], code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in out + err, (argv, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1, (argv, err)
        assert lines[0], argv


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzz")
    case = EXAMPLE.read_text(encoding="utf-8")
    rng = random.Random(9)
    out: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        out[name] = d / name
        out[name].write_bytes(data)

    (d / "folder.json").mkdir()
    out["folder.json"] = d / "folder.json"
    (d / "folder.csv").mkdir()
    out["folder.csv"] = d / "folder.csv"
    (d / "folder.yaml").mkdir()
    out["folder.yaml"] = d / "folder.yaml"
    put("empty.json", b"")
    put("blank.json", b"  \n\n")
    put("bom.json", codecs.BOM_UTF8 + case.encode())
    put("utf16.json", case.encode("utf-16"))
    put("utf16be-nobom.json", case.encode("utf-16-be"))
    put("utf32.json", case.encode("utf-32"))
    put("cp1252.json", '{"id": "José Peña", "nationalities": ["HN"]}'.encode("cp1252"))
    put("binary.json", bytes(rng.randrange(256) for _ in range(512)))
    put("deep.json", b"[" * 5000 + b"]" * 5000)
    put("number.json", b"17")
    put("null.json", b"null")
    put("list.json", b'[{"id": "a"}]')
    put("unknown.json", b'{"nationality": "HN", "arrival_date": "12/10/2019"}')
    put("empty.csv", b"")
    put("header.csv", b"id,nationalities,arrival.date\n")
    put("bom.csv", codecs.BOM_UTF8 + b"id,nationalities,arrival.date\nc1,HN,2019-12-10\n")
    put("utf16.csv", "id,nationalities\nc1,HN\n".encode("utf-16"))
    put("cp1252.csv", "id,nationalities\nJosé,HN\n".encode("cp1252"))
    put("binary.csv", bytes(rng.randrange(256) for _ in range(2048)))
    put("ragged.csv", b'id,nationalities\nc1\nc2,HN,extra\n"c3,HN\n')
    put("badheader.csv", b"id,nationality,route.0.country,route.1.hotel\nc1,HN,GT,x\n")
    put("allbad.csv", b"id,fear_claimed\nc1,maybe\nc2,perhaps\n")
    put("garbage.parquet", b"PAR1" + bytes(rng.randrange(256) for _ in range(300)))
    put("empty.parquet", b"")
    put("binary.jsonl", bytes(rng.randrange(256) for _ in range(1024)))
    put("utf16.jsonl", '{"id": "a"}\n'.encode("utf-16"))
    put("cases.xlsx", b"PK\x03\x04 not really a workbook")
    base = "extends: baseline-guatemala-2019\n"
    put("impossible.yaml", (base + "start: 2019-02-30\n").encode())
    put("reversed.yaml", (base + "start: 2020-01-01\nend: 2019-12-01\n").encode())
    put("past.yaml", (base + "end: 2031-01-01\n").encode())
    put("unknownkey.yaml", (base + "bogus: 1\n").encode())
    put("badnumber.yaml", (base + "screening:\n  custody_limit_days: 5\n").encode())
    put("empty.yaml", b"")
    put("list.yaml", b"- 1\n- 2\n")
    put("broken.yaml", b"name: [unclosed\n")
    put("binary.yaml", bytes(rng.randrange(256) for _ in range(512)))
    put("cp1252.yaml", (base + "title: 'Peña'\n").encode("cp1252"))
    put("selfref.yaml", b"extends: selfref.yaml\n")
    (d / "selfref.yaml").write_text(f"extends: {d / 'selfref.yaml'}\n")
    nonempty = d / "nonempty"
    nonempty.mkdir()
    (nonempty / "notes.txt").write_text("mine")
    out["nonempty"] = nonempty
    out["missing"] = d / "nothing" / "here.json"
    return out


CASE_FILES = ["folder.json", "empty.json", "blank.json", "bom.json", "utf16.json",
              "utf16be-nobom.json", "utf32.json", "cp1252.json", "binary.json", "deep.json",
              "number.json", "null.json", "list.json", "unknown.json", "missing",
              "header.csv", "garbage.parquet"]
TABLES = ["folder.csv", "empty.csv", "header.csv", "bom.csv", "utf16.csv", "cp1252.csv",
          "binary.csv", "ragged.csv", "badheader.csv", "allbad.csv", "garbage.parquet",
          "empty.parquet", "binary.jsonl", "utf16.jsonl", "cases.xlsx", "missing",
          "folder.json", "nonempty", "empty.json"]
SCENARIOS = ["impossible.yaml", "reversed.yaml", "past.yaml", "unknownkey.yaml",
             "badnumber.yaml", "empty.yaml", "list.yaml", "broken.yaml", "binary.yaml",
             "cp1252.yaml", "selfref.yaml", "folder.yaml", "missing", "empty.json",
             "garbage.parquet"]


@pytest.mark.parametrize("name", CASE_FILES)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_decide_on_any_file(files, capsys, name: str, fmt: str) -> None:
    argv = ["decide", str(files[name]), "--format", fmt]
    code, out, err = run(argv, capsys)
    assert_clean(argv, code, out, err)
    if name in ("bom.json", "utf16.json", "utf32.json"):
        assert code == 0, err  # decoded by their byte-order mark
    elif name != "list.json":
        assert code == 2, (name, out)
    if name == "cp1252.json":
        assert "not UTF-8" in err and "UTF-8" in err


@pytest.mark.parametrize("name", ["bom.json", "utf16.json", "cp1252.json", "binary.json",
                                  "empty.json", "unknown.json"])
def test_decide_reads_standard_input(files, capsys, monkeypatch, name: str) -> None:
    argv = ["decide", "-", "--format", "json"]
    code, out, err = run(argv, capsys, files[name].read_bytes(), monkeypatch)
    assert_clean(argv, code, out, err)
    if name in ("bom.json", "utf16.json"):
        assert code == 0 and json.loads(out)["case_id"] == "honduran-el-paso-2019"
    else:
        assert code == 2 and "(stdin)" in err
    if name == "unknown.json":  # every problem at once, each with its suggestion
        assert "did you mean nationalities?" in err and "did you mean arrival.date?" in err


@pytest.mark.parametrize("name", TABLES)
def test_batch_on_any_input(files, capsys, tmp_path: Path, name: str) -> None:
    argv = ["batch", str(files[name]), "--out", str(tmp_path / "o.csv"), "--quiet"]
    code, out, err = run(argv, capsys)
    assert_clean(argv, code, out, err)
    if name == "bom.csv":
        assert code == 0
    elif name == "allbad.csv":
        assert code == 2 and (tmp_path / "o.csv.errors.jsonl").exists()
    elif name == "ragged.csv":
        assert code == 2  # no row could be decided: every one is in the errors file
    elif name != "header.csv":
        assert code == 2, (name, err)
    written = sorted(p.name for p in tmp_path.iterdir())
    if code == 2 and "rows not decided" in err:  # every row is in the errors file
        assert written == ["o.csv", "o.csv.errors.jsonl"], written
    elif code == 2:  # the input could not be used: nothing is written, nothing partial
        assert written == [], written


@pytest.mark.parametrize("out_of", ["same", "dataset-inside", "nonempty", "errors-dir",
                                    "errors-is-out", "file-for-folder", "folder-for-file"])
def test_batch_never_overwrites_unasked(files, capsys, tmp_path: Path, out_of: str) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(files["bom.csv"].read_bytes())
    before = src.read_bytes()
    dataset = tmp_path / "ds"
    dataset.mkdir()
    extra: list[str] = []
    if out_of == "same":
        out = src
    elif out_of == "dataset-inside":
        import polars as pl

        pl.DataFrame({"id": ["a"], "nationalities": [["HN"]]}).write_parquet(
            dataset / "a.parquet")
        src, out = dataset, dataset / "out"
    elif out_of == "nonempty":
        out = files["nonempty"]
    elif out_of == "errors-dir":
        out, extra = tmp_path / "o.csv", ["--errors", str(tmp_path)]
    elif out_of == "errors-is-out":
        out, extra = tmp_path / "o.csv", ["--errors", str(tmp_path / "o.csv")]
    elif out_of == "file-for-folder":
        (tmp_path / "afile").write_text("mine")
        out = tmp_path / "afile"
    else:
        out = tmp_path / "adir.csv"
        out.mkdir()
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    argv = ["batch", str(src), "--out", str(out), "--quiet", *extra]
    code, out_text, err = run(argv, capsys)
    assert_clean(argv, code, out_text, err)
    assert code == 2, (out_of, err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing  # nothing written, no .partial
    if out_of == "same":
        assert (tmp_path / "in.csv").read_bytes() == before
    if out_of == "nonempty":
        assert (files["nonempty"] / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_a_folder_when_asked(files, capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("old")
    argv = ["batch", str(files["bom.csv"]), "--out", str(out), "--quiet", "--overwrite"]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet"]


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_scenarios_on_any_file(files, capsys, tmp_path: Path, name: str, command: str) -> None:
    ref = str(files[name]) if name != "missing" else "no-such-scenario"
    argv = (["simulate", ref, "--out", str(tmp_path / "sim")] if command == "simulate"
            else ["compare", ref, ref])
    code, out, err = run(argv, capsys)
    assert_clean(argv, code, out, err)
    assert code == 2, (name, err)
    assert not (tmp_path / "sim").exists()


@pytest.mark.parametrize("out_name", ["afile", "nonempty"])
def test_simulate_out_checked_before_the_run(files, capsys, tmp_path: Path,
                                              out_name: str) -> None:
    out = files["nonempty"] if out_name == "nonempty" else tmp_path / "afile"
    if out_name == "afile":
        out.write_text("mine")
    argv = ["simulate", "baseline-guatemala-2019", "--out", str(out)]
    code, stdout, err = run(argv, capsys)
    assert_clean(argv, code, stdout, err)
    assert code == 2 and "--out" in err


@pytest.mark.parametrize("name", ["missing", "folder.csv", "empty.csv", "bom.csv",
                                  "garbage.parquet", "binary.jsonl", "header.csv"])
def test_summarize_on_any_input(files, capsys, name: str) -> None:
    argv = ["summarize", str(files[name])]
    code, out, err = run(argv, capsys)
    assert_clean(argv, code, out, err)
    assert code == 2


@pytest.mark.parametrize("argv", [
    [], ["nosuch"], ["decide"], ["decide", str(EXAMPLE), "--bogus"],
    ["decide", str(EXAMPLE), "--as-of", "2019-13-01"],
    ["decide", str(EXAMPLE), "--as-of", "12/10/2019"],
    ["decide", str(EXAMPLE), "--format", "xml"], ["decide", str(EXAMPLE), "--variant", "nope"],
    ["batch", str(EXAMPLE)], ["batch", "x.csv", "--out", "y.csv", "--chunk-rows", "0"],
    ["batch", "x.csv", "--out", "y.csv", "--threads", "many"],
    ["law"], ["law", "show"], ["law", "show", ""], ["law", "show", "nothing"],
    ["law", "show", "planet:GT"], ["law", "show", "source:GT"], ["law", "show", "GT"],
    ["law", "show", "countries"], ["law", "list"],
    ["population", "--start", "2019-02-30"], ["population", "--start", "2031-01-01",
                                               "--end", "2031-02-01"],
    ["population", "--variant", "nope"],
    ["simulate", "baseline-guatemala-2019"], ["simulate", "x", "--out", "o", "--people", "x"],
    ["simulate", "x", "--out", "o", "--replications", "0"],
    ["schema", "--format", "yaml"], ["template", "--format", "xlsx"], ["variants", "extra"],
])
def test_options_and_names(capsys, argv: list[str]) -> None:
    code, out, err = run(argv, capsys)
    assert_clean(argv, code, out, err)
