"""The smaller usability points: usage errors on one line, `law show` says what it shows,
`law show countries`, simulation outputs staged (nothing partial on failure, an earlier output
replaced only when the new one is complete)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from safethird.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize("argv", [["decide"], ["decide", "x.json", "--bogus"],
                                  ["batch", "x.csv"], ["nosuch"],
                                  ["decide", "x.json", "--format", "xml"]])
def test_usage_errors_are_one_line_not_boxes(capsys, argv: list[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("safethird") and "--help" in line
    assert not any(ch in err for ch in "╭╰│─")  # no Rich box


def test_law_show_says_which_item_it_shows(capsys) -> None:
    code, out, _ = run(["law", "show", "GT"], capsys)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("# agreement GT") and "safethird law show country:GT" in first
    assert "us-gt-aca-2019" in out
    code, out, _ = run(["law", "show", "country:GT"], capsys)
    assert code == 0 and out.startswith("# country GT") and "name: Guatemala" in out
    assert "us-gt-aca-2019" not in out
    code, out, _ = run(["law", "show", "MX"], capsys)
    assert code == 0 and out.startswith("# country MX") and "(also" not in out.splitlines()[0]


def test_law_show_countries_and_law_list_names_it(capsys) -> None:
    code, out, _ = run(["law", "show", "countries"], capsys)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert len(rows) >= 240 and "Guatemala" in rows["GT"]
    assert re.search(r"\d{4}-\d{2}-\d{2}", rows["GT"])  # treaty dates shown
    _, listing, _ = run(["law", "list"], capsys)
    assert "safethird law show countries" in listing


@pytest.fixture(scope="module")
def result():
    from safethird.flow.scenario import load_scenario
    from safethird.flow.simulate import simulate

    return simulate(load_scenario("baseline-guatemala-2019"), 1, None)


def test_simulation_output_is_staged(result, tmp_path: Path, monkeypatch) -> None:
    import safethird.report.html as html
    from safethird.flow.outputs import OUTPUT_FILES, write

    out = tmp_path / "sim"
    write(result, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES.values())
    before = (out / "summary.json").read_text()

    def broken(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(html, "write_report", broken)
    with pytest.raises(OSError):
        write(result, out)
    # the earlier output is as it was, and nothing partial is left beside it
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]
    with pytest.raises(OSError):
        write(result, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]
