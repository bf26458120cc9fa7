"""A case table (CSV or Parquet) imported into cases; a caseload exported as CSV.

The rows are read and checked by ``safethird.batch`` — its reader, header check, validation and
duplicate-id check — so the workspace accepts exactly the tables ``safethird batch`` accepts
and reports their errors in the same words; it has no validator of its own. Every input row
either becomes a case or is reported with its row, line, field and message.

The export writes the column layout the batch reads (docs/cases.md), so that an exported
caseload re-imports to the same facts: lists of countries as ``HN;GT`` (``[]`` for none), the
route as ``GT;MX`` or, when a leg has more than its country (or the route is known to be
empty), as JSON; one ``fear_of_receiving_country.XX`` column per country named in any case."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from safethird import facts as facts_mod
from safethird.store import audit, cases
from safethird.store.accounts import require
from safethird.store.crypto import Cipher
from safethird.store.errors import StoreError
from safethird.store.models import Case, User

MAX_IMPORT_BYTES = 20 << 20
MAX_IMPORT_ROWS = 5_000  # each row is a case written and audited on its own: ~13 ms a row
KINDS = (".csv", ".parquet")


class ImportRefused(StoreError):
    """The table has rows that cannot become cases, and a partial import was not asked for:
    nothing was imported. ``errors``: one dict per problem (row, line, id, field, message)."""

    status = 422

    def __init__(self, message: str, errors: list[dict[str, Any]]):
        super().__init__(message, field="file")
        self.errors = errors


@dataclass
class Table:
    """An uploaded table, read and checked: the rows that can become cases (row number,
    canonical facts) and the problems of the others."""

    name: str
    rows: int = 0
    valid: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """One validated row (the column form of ``facts.COLUMNS``) as case facts."""
    record: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or name.startswith("_"):
            continue
        if name.startswith("arrival."):
            record.setdefault("arrival", {})[name.removeprefix("arrival.")] = value
        elif name.startswith(facts_mod.FEAR_PREFIX):
            record.setdefault("fear_of_receiving_country", {})[
                name.removeprefix(facts_mod.FEAR_PREFIX)] = value
        else:
            record[name] = value
    return _plain(record)


def read_table(data: bytes, name: str) -> Table:
    """Read and check an uploaded table named ``name`` (its suffix says CSV or Parquet).
    A table that cannot be read at all (wrong type, unknown column, not UTF-8, too big) is a
    StoreError naming the file and line."""
    from safethird.batch.duplicates import Duplicates, ids_of
    from safethird.batch.read import ROW, UnusableInput, input_columns, read_chunks
    from safethird.batch.run import with_lines
    from safethird.batch.validate import check_columns, validate

    shown = Path(name).name or "upload"
    suffix = Path(shown).suffix.lower()
    if suffix not in KINDS:
        raise StoreError(f"{shown}: not a case table (send a .csv or a .parquet file)",
                         field="file")
    if len(data) > MAX_IMPORT_BYTES:
        raise StoreError(f"{shown}: larger than {MAX_IMPORT_BYTES >> 20} MB; split it or use "
                         f"`safethird batch`", field="file")
    table = Table(shown)
    with tempfile.TemporaryDirectory(prefix="safethird-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)

        def named(message: str) -> str:  # the user's file name, never the temporary one
            return message.replace(str(path), shown)

        try:
            for source, columns in input_columns(path):
                check_columns(columns, source)
            dups = Duplicates()
            for chunk in read_chunks(path, chunk_rows=MAX_IMPORT_ROWS + 1):
                table.rows += chunk.rows
                if table.rows > MAX_IMPORT_ROWS:
                    raise StoreError(f"{shown}: more than {MAX_IMPORT_ROWS} rows; split it or "
                                     f"use `safethird batch`", field="file")
                valid, errs = validate(chunk.frame, None, table=True)
                if chunk.errors:
                    errs = pl.concat([errs, pl.DataFrame(
                        [{"line": None} | e for e in chunk.errors], schema=errs.schema)])
                kept, dup_errs = dups.split(ids_of(chunk.frame), valid.rename({ROW: "row"}))
                errs = with_lines(pl.concat([errs, dup_errs]), chunk.frame).sort(
                    "row", maintain_order=True)
                table.errors += [{k: v for k, v in e.items() if k != "file"}
                                 | {"message": named(e["message"])} for e in errs.to_dicts()]
                for row in kept.to_dicts():
                    number = row.pop("row")
                    try:
                        table.valid.append((number, cases.canonical_facts(_record(row))))
                    except StoreError as exc:  # the batch and the case schema disagree: say so
                        table.errors.append({"row": number, "line": None, "id": row.get("id"),
                                             "field": exc.field or "facts",
                                             "message": exc.message})
        except UnusableInput as exc:
            raise StoreError(named(str(exc)), field="file") from None
    table.errors.sort(key=lambda e: e["row"])
    return table


def import_table(s: Session, cipher: Cipher, user: User, table: Table, *,
                 partial: bool = False) -> dict[str, Any]:
    """Open one case per valid row (labelled with the row's ``id``, else file and row). With
    rows in error and not ``partial``: ImportRefused, nothing imported. One audit entry for the
    import (counts and the new cases' ids) besides each case's own."""
    require(user, "write")
    rejected = sorted({e["row"] for e in table.errors})
    if rejected and not partial:
        raise ImportRefused(f"{table.name}: {len(rejected)} of {table.rows} rows cannot become "
                            f"cases (nothing was imported): correct them, or import the "
                            f"others alone (partial)", table.errors)
    created = []
    for number, record in table.valid:
        view = cases.create(s, cipher, user, record, record.get("id") or
                            f"{table.name} row {number}")
        created.append({"row": number, "case_id": view.id})
    audit.append(s, user, "case.import", rows=table.rows, created=len(created),
                 rejected=len(rejected), cases=[c["case_id"] for c in created])
    return {"file": table.name, "rows": table.rows, "created": created,
            "rejected_rows": rejected, "errors": table.errors}


# --- export -------------------------------------------------------------------------------

def _countries(codes: list[str]) -> str:
    return ";".join(codes) if codes else "[]"


def _route(legs: list[dict[str, Any]]) -> str:
    if legs and all(set(leg) == {"country"} for leg in legs):
        return ";".join(leg["country"] for leg in legs)
    return json.dumps(legs, separators=(", ", ": "))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def caseload_rows(records: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of the CSV for case facts (canonical records): the batch's columns, in
    the order of ``facts.COLUMNS``, those that no case knows left out."""
    rows: list[dict[str, str]] = []
    for record in records:
        row: dict[str, str] = {}
        for name, value in facts_mod.flatten(record).items():
            if name == "nationalities":
                row[name] = _countries(value)
            elif name == "route":
                row[name] = _route(value)
            else:
                row[name] = _cell(value)
        rows.append(row)
    present = {c for r in rows for c in r}
    header = [c for c in facts_mod.COLUMNS if c in present or c == "id"]
    header += sorted(c for c in present if c.startswith(facts_mod.FEAR_PREFIX))
    return header, rows


def export_csv(s: Session, cipher: Cipher, user: User) -> str:
    """The organisation's cases as CSV (oldest first), one audit entry naming them."""
    require(user, "read")
    rows = s.scalars(select(Case).where(Case.org_id == user.org_id)
                     .order_by(Case.created_at, Case.id)).all()
    header, lines = caseload_rows([cipher.decrypt(c.facts_enc) for c in rows])
    audit.append(s, user, "case.export", cases=[c.public_id for c in rows])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()
