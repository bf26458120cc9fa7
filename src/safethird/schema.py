"""The case schema as documents, generated from the code so that they cannot drift from it:
``docs/cases.md`` (``safethird schema --format markdown``), the JSON Schema of a case and of a
determination (``safethird schema``), and blank templates (``safethird template``).

The source is ``facts.Case`` (the pydantic model that validates a case) and ``facts.FACTS`` (each
fact's kind, allowed values, meaning, what unknown means and an example); the determination's
codes come from the rule set (``decide.rules()``) and ``law/procedure.PATHWAYS``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from safethird import facts

KIND_TYPES = {
    "bool": "true / false",
    "date": "date (YYYY-MM-DD)",
    "country": "country (ISO 3166-1 alpha-2)",
    "countries": "list of countries (alpha-2)",
    "state": "US state (alpha-2, e.g. TX)",
    "enum": "one of the values",
}
CSV_EXAMPLE_PARTNERS = ("GT", "HN", "SV")


def case_json_schema() -> dict[str, Any]:
    schema = facts.Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "safethird case facts"
    schema["description"] = ("One person's facts. A field that is absent or null is unknown, "
                             "which is different from false. See docs/cases.md.")
    return schema


def determination_json_schema() -> dict[str, Any]:
    """The determination's shape, with the codes the rule set can give."""
    from safethird.decide import rules
    from safethird.law.procedure import PATHWAYS
    from safethird.logic.finding import UNDETERMINED

    r = rules()
    text_list = {"type": "array", "items": {"type": "string"}}
    findings = {}
    for f in r.findings:
        findings[f.name] = {
            "type": "object",
            "properties": {
                "status": {"enum": ["applies", "does_not_apply", "unknown"]},
                "reason": {"enum": [x.code for x in f.reasons] + [f.applies_code,
                                                                  UNDETERMINED]},
                "partner": {"type": ["string", "null"]},
                "agreement": {"type": ["string", "null"]},
                "citations": text_list, "because": text_list,
                "trace": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["status", "reason", "citations", "because"],
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "safethird determination",
        "type": "object",
        "properties": {
            "schema": {"type": "string"},
            "case_id": {"type": ["string", "null"]},
            "as_of": {"type": "string", "format": "date"},
            "law_version": {"type": "string"},
            "engine_version": {"type": "string"},
            "variant": {"type": ["string", "null"]},
            "findings": {"type": "object", "properties": findings,
                         "required": list(findings)},
            "pathway": {"enum": list(PATHWAYS)},
            "missing_facts": text_list,
            "counterfactuals": {"type": "array", "items": {"type": "object"}},
            "warnings": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "measure": {"type": ["string", "null"]},
                "message": {"type": "string"}, "citations": text_list}}},
            "assumptions": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["case_id", "as_of", "law_version", "findings", "pathway",
                     "missing_facts", "counterfactuals"],
    }


# --- templates ----------------------------------------------------------------------------

def csv_columns(partners: tuple[str, ...] = CSV_EXAMPLE_PARTNERS, legs: int = 3) -> list[str]:
    """The flat spreadsheet header: every fact a column, the route as numbered columns."""
    cols = ["id"]
    for path in facts.FACTS:
        if path == "route":
            for n in range(1, legs + 1):
                cols += [f"route.{n}.{f}" for f in ("country", "entered", "left",
                                                    "protection_claim")]
        elif path.startswith("route[]."):
            continue
        elif path.endswith(".*"):
            cols += [f"{path[:-1]}{p}" for p in partners]
        else:
            cols.append(path)
    return cols


def blank_case() -> dict[str, Any]:
    """Every field of a case, unknown (null), nested as a JSON case file is."""
    case: dict[str, Any] = {"id": None}
    for path in facts.FACTS:
        if path.startswith("route[]."):
            continue
        if path == "route":
            case["route"] = [{"country": None, "entered": None, "left": None,
                              "protection_claim": None}]
        elif path.endswith(".*"):
            case[path[:-2]] = {p: None for p in CSV_EXAMPLE_PARTNERS}
        elif "." in path:
            head, tail = path.split(".", 1)
            case.setdefault(head, {})[tail] = None
        else:
            case[path] = None
    return case


def template(fmt: str) -> str:
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(csv_columns())
        return buf.getvalue()
    if fmt == "jsonl":
        return json.dumps(blank_case()) + "\n"
    return json.dumps(blank_case(), indent=2) + "\n"


# --- docs/cases.md ------------------------------------------------------------------------

def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _cell(s: facts.FactSpec) -> str:
    """The example as a spreadsheet cell."""
    v = s.example_value()
    if s.path == "route":
        return "`GT;MX` or route.N.* columns"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, list):
        return ";".join(v)
    if isinstance(v, dict):
        return "; ".join(f"column {s.path[:-1]}{k}: {'TRUE' if b else 'FALSE'}"
                         for k, b in v.items())
    return str(v)


def _type(s: facts.FactSpec) -> str:
    if s.path == "route":
        return "list of legs, in order"
    if s.path.endswith(".*"):
        return "true / false, per country (alpha-2)"
    return KIND_TYPES[s.kind]


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def cases_markdown() -> str:
    rows = ["| field | type | allowed values | meaning | unknown (empty / absent / null) | "
            "example (JSON) | example (CSV cell) |", "|---|---|---|---|---|---|---|",
            "| `id` | text | | case identifier, unique within a batch (a number is read as "
            "text in a table) | no identifier | `\"c-0001\"` | `c-0001` |"]
    for path, s in facts.FACTS.items():
        values = ", ".join(f"`{v}`" for v in s.values)
        example = s.example_value()
        cell = _cell(s)
        rows.append(f"| `{path}` | {_type(s)} | {values} | {_esc(s.description)} | "
                    f"{_esc(s.unknown_means())} | `{_esc(_json(example))}` | "
                    f"{'`' + _esc(cell) + '`' if cell and not cell.startswith('`') else cell} |")
    full = {"id": "c-0001"}
    for path, s in facts.FACTS.items():
        if path.startswith("route[]."):
            continue
        v = s.example_value()
        if path.endswith(".*"):
            full[path[:-2]] = v
        elif "." in path:
            head, tail = path.split(".", 1)
            full.setdefault(head, {})[tail] = v
        else:
            full[path] = v
    columns = csv_columns(legs=2)
    parquet = "\n".join(f"| `{name}` | `{dtype}` |" for name, dtype in facts.COLUMNS.items())
    return f"""# The case facts

<!-- generated by `safethird schema --format markdown > docs/cases.md`: do not edit by hand;
a test fails when this file differs from what the code generates -->

A case is one person's facts. As a **JSON file** (for `safethird decide`) it is one JSON
object; in a **table** (for `safethird batch`: CSV, Parquet, JSON Lines) it is one row. Every
fact may be left out: a fact that is absent, `null` or an empty cell is **unknown**, which is
different from `false`. The rules then say which answers depend on it (`missing_facts`) instead
of guessing.

`safethird schema` prints the JSON Schema of a case and of a determination;
`safethird template --format csv|json|jsonl` prints a blank spreadsheet header or a blank case
with every field.

## Every fact

Dates are ISO 8601 (`2019-12-10`). Countries are ISO 3166-1 alpha-2 codes (`HN`, not
`Honduras` or `hn`: an error suggests the code). `route[].FIELD` is a field of each leg of the
route; `fear_of_receiving_country.*` is one fact per country (`fear_of_receiving_country.GT`).

{chr(10).join(rows)}

A complete case as a JSON file (`safethird decide case.json`; `-` reads standard input):

```json
{json.dumps(full, indent=2, ensure_ascii=False)}
```

## JSON case files (`decide`) and JSON Lines (`batch`)

Strict JSON types: `true`/`false` (not `"yes"` or `1`), dates as strings, `nationalities` as
a list (`["HN"]`), the route as a list of objects, `fear_of_receiving_country` as an object.
Every problem of a case is reported at once, on one line. A file is read as UTF-8, with or
without a byte-order mark; UTF-16 and UTF-32 with a byte-order mark (Notepad's and Excel's
"Unicode") are decoded. Any other encoding (Windows-1252, Latin-1) is refused with the offset
of the first byte that is not UTF-8: a guessed code page could silently change a name. Save
the file as UTF-8.

## Spreadsheets: CSV (and Parquet, and data frames)

One row per case, the header on line 1 with the field names above (nested fields joined with
`.`). The header is checked once, before any row: an unknown or misspelt column stops the run
(exit status 2) with one error per column and a suggestion (`nationality` → `nationalities`).
Cells are read as spreadsheet programs write them:

- every cell is trimmed; an empty cell is unknown;
- yes/no facts: `true`, `false`, `TRUE`, `FALSE`, `True`, `False`, `yes`, `no`, `1`, `0`;
- dates: `2019-12-10`, also `2019-12-10 00:00:00` (a date cell exported with its zero time);
  `12/10/2019` is refused with the ISO spelling of each reading (`2019-12-10` or `2019-10-12`);
- `id`: a number is read as text (`17` → `"17"`);
- `nationalities`: `HN`, or several as `HN;GT`, or JSON (`["HN","GT"]`); `[]` is stateless;
- the route, one of three ways (not two in the same file):
  - numbered columns, one group per leg from 1: `route.1.country`, `route.1.entered`,
    `route.1.left`, `route.1.protection_claim`, `route.2.country`, … (empty legs after the
    last filled one are not legs; an empty leg before it is a leg whose facts are unknown);
  - the countries only, in order: `GT;MX`;
  - JSON text: `[{{"country": "GT", "entered": "2019-11-01"}}]`; `[]` is no transit.

A CSV file is UTF-8 (Excel: "CSV UTF-8"; its byte-order mark is accepted); a UTF-16 file is
refused with that advice. A CSV record sits on one line. The header for a case with two legs:

```text
{",".join(columns)}
```

Parquet takes the same column names with their types (and the nested forms: an `arrival`
struct, a `fear_of_receiving_country` struct, the route as a list of structs):

| column | type |
|---|---|
{parquet}
| `fear_of_receiving_country.XX` | `Boolean` |

## The date a case is decided as of

`decide --as-of DATE` decides the case as of DATE; without it, the case's own `as_of`, else
today. `batch --as-of DATE` decides **every** row as of DATE (default today), also rows with an
`as_of` of their own, unless `--as-of-from-rows` is given: then a row's own `as_of` wins and
DATE fills the rows without one. The summary says how many rows were decided as of each date.

## What comes out of `batch`

Every input row ends up either in OUT (one determination per row) or in the errors file
(`OUT.errors.jsonl` unless `--errors`), never both, never neither. The errors file has one line
per problem: `file`, `row` (the row's number among the records, from 1), `line` (its line in
a CSV or JSON Lines file, as a spreadsheet numbers it: the header is line 1), `id`, `field`
and `message`; a row with three problems has three lines.

Exit status: **0** every row decided; **1** some rows went to the errors file (the others were
decided); **2** nothing could be decided, or the input cannot be used (one line on stderr).
Nothing is overwritten unless asked: OUT equal to the input, OUT inside an input dataset, an
`--errors` path that is a folder, and an OUT folder holding files other than an earlier
output's Parquet parts are refused before anything is read (`--overwrite` replaces such a
folder). Outputs are written under hidden `.NAME.partial` names and moved into place only when
the run has succeeded.
"""
