"""The case schema as part of the project: docs/cases.md, `safethird schema`, `safethird
template`, all generated from the code (facts.Case, facts.FACTS, the rule set)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from safethird import decide
from safethird.batch.api import decide_batch
from safethird.cli import app
from safethird.facts import FACTS, parse_case
from safethird.schema import (
    blank_case,
    case_json_schema,
    cases_markdown,
    csv_columns,
    determination_json_schema,
)

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_committed_docs_are_what_the_code_generates() -> None:
    """docs/cases.md cannot drift: regenerate with
    `safethird schema --format markdown > docs/cases.md`."""
    assert (ROOT / "docs" / "cases.md").read_text(encoding="utf-8") == cases_markdown()


def test_docs_name_every_fact_with_its_values() -> None:
    text = cases_markdown()
    for path, spec in FACTS.items():
        assert f"| `{path}` |" in text, path
        for v in spec.values:
            assert f"`{v}`" in text, (path, v)
    assert "birth_date" in text and "fear_of_receiving_country" in text


def test_the_docs_example_case_is_valid_and_decides() -> None:
    text = cases_markdown()
    block = re.search(r"```json\n(.*?)\n```", text, re.S)
    assert block
    case = json.loads(block.group(1))
    parse_case(case)  # raises if the documented example does not validate
    d = decide(case, as_of="2019-12-02", explain=False)
    assert d.pathway


def test_json_schema_of_a_case_and_of_a_determination() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"case", "determination"}
    assert data["case"] == json.loads(json.dumps(case_json_schema()))
    props = data["case"]["properties"]
    assert {"nationalities", "route", "arrival", "fear_of_receiving_country", "as_of"} <= \
        set(props)
    det = determination_json_schema()
    d = decide({"nationalities": ["HN"], "arrival": {"date": "2019-12-01",
                "border": "southern_land"}}, as_of="2019-12-02", explain=False).to_dict()
    # every code the determination gives is one the schema lists
    assert d["pathway"] in det["properties"]["pathway"]["enum"]
    for name, finding in d["findings"].items():
        spec = det["properties"]["findings"]["properties"][name]["properties"]
        assert finding["reason"] in spec["reason"]["enum"]
        assert finding["status"] in spec["status"]["enum"]
    assert set(det["required"]) <= set(d)
    only = json.loads(runner.invoke(app, ["schema", "--of", "determination"]).output)
    assert only["title"] == "safethird determination"


def test_templates_are_blank_cases_that_batch_and_decide_accept(tmp_path: Path) -> None:
    header = runner.invoke(app, ["template", "--format", "csv"]).output
    assert next(csv.reader(io.StringIO(header))) == csv_columns()
    blank = json.loads(runner.invoke(app, ["template", "--format", "json"]).output)
    assert blank == blank_case()
    parse_case(blank)  # every field present and unknown: a valid case
    line = runner.invoke(app, ["template", "--format", "jsonl"]).output
    assert json.loads(line) == blank and line.count("\n") == 1
    # a filled-in row of the template goes through batch
    path = tmp_path / "t.csv"
    cols = csv_columns()
    row = {c: "" for c in cols} | {"id": "1", "nationalities": "HN", "arrival.date":
                                   "2019-12-10", "route.1.country": "GT"}
    path.write_text(header + ",".join(row[c] for c in cols) + "\n")
    out = decide_batch(path, as_of="2019-12-11")
    assert out.height == 1 and out["case_id"].to_list() == ["1"]
    assert isinstance(out, pl.DataFrame)
