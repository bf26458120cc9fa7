"""Writing case records as the tables users bring: CSV (route as JSON text), JSON Lines,
Parquet (typed, nested)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from safethird import facts

SCALARS = ["id", "last_habitual_residence", "birth_date", "unaccompanied_child", "family_unit",
           "trafficking_victim", "admission_document", "visa_exempt", "fear_claimed",
           "public_interest_exception", "metered_before_2019_07_16", "habitual_residence",
           "aca_invoked", "as_of"]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def write_csv(records: list[dict], path: Path, extra: dict[int, dict[str, str]] | None = None
              ) -> None:
    rows = []
    for r in records:
        row = {k: _text(r.get(k)) for k in SCALARS}
        row["nationalities"] = "" if r.get("nationalities") is None else json.dumps(
            r["nationalities"])
        for k, v in (r.get("arrival") or {}).items():
            row[f"arrival.{k}"] = _text(v)
        row["route"] = "" if r.get("route") is None else json.dumps(r["route"],
                                                                    default=_jsonable)
        for p in ("GT", "HN", "SV"):
            row[f"fear_of_receiving_country.{p}"] = _text(
                (r.get("fear_of_receiving_country") or {}).get(p))
        rows.append(row)
    for i, changes in (extra or {}).items():
        rows[i].update(changes)
    names = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(rows)


def write_jsonl(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, default=_jsonable) + "\n")


def write_parquet(records: list[dict], path: Path) -> None:
    typed = [facts.to_record(facts.parse_case(json.loads(json.dumps(r, default=_jsonable))))
             for r in records]
    facts.records_to_frame(typed, ("GT", "HN", "SV")).write_parquet(path, row_group_size=500)
