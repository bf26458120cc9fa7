"""Stated assumptions: unknown facts filled with values the user states, never silently.

``decide --assume FACT=VALUE`` (repeatable), ``assume=`` in the Python API, the same option on
``batch``, and named sets (``--assume-set NAME``) for case tables that lack whole kinds of facts.
A value is read as the case file would read it (``true``, ``2019-07-16``, ``GT``), and checked
the same way. A fact the case already states is never overridden: an assumption only fills
what is unknown, and the determination lists each one used with what depended on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from safethird import facts as facts_mod
from safethird.logic.exact import get, put

SETS_FILE = Path(__file__).with_name("data") / "assumption-sets.yaml"


@cache
def named_sets() -> dict[str, dict[str, Any]]:
    """The named sets: name → {"description", "basis", "facts": {path: value}}."""
    return yaml.safe_load(SETS_FILE.read_text(encoding="utf-8"))["sets"]


def expand_set(name: str) -> dict[str, Any]:
    sets = named_sets()
    if name not in sets:
        raise facts_mod.CaseError("--assume-set", f"no assumption set {name!r}; the sets are: "
                                  + ", ".join(sorted(sets)))
    return dict(sets[name]["facts"])


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``FACT=VALUE`` strings (the command line) as a mapping; VALUE is read as JSON when it
    is JSON (``true``, ``["HN"]``), else as text (``GT``, ``2019-07-16``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise facts_mod.CaseError("--assume", f"expected FACT=VALUE, got {pair!r}")
        path, raw = (x.strip() for x in pair.split("=", 1))
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, str) and ";" in value and _kind(path) == "countries":
            value = [v.strip() for v in value.split(";") if v.strip()]
        out[path] = value
    return out


def _kind(path: str) -> str | None:
    try:
        return facts_mod.spec(path).kind
    except KeyError:
        return None


def coerce(assume: Mapping[str, Any]) -> dict[str, Any]:
    """The assumptions checked and read like a case's facts (one-line errors name the fact)."""
    out: dict[str, Any] = {}
    for path, value in assume.items():
        if path.startswith("route[") or path == "route":
            raise facts_mod.CaseError(f"--assume {path}", "the route and its legs cannot be "
                                      "assumed: state them in the case")
        try:
            facts_mod.spec(path)
        except KeyError:
            raise facts_mod.CaseError(f"--assume {path}", facts_mod.unknown_field_message(path)
                                      ) from None
        case: dict[str, Any] = {}
        _nest(case, path, value)
        try:
            parsed = facts_mod.to_record(facts_mod.parse_case(case))
        except facts_mod.CaseError as exc:
            raise facts_mod.CaseError(f"--assume {path}", exc.message) from None
        out[path] = get(parsed, path)
    return out


def _nest(case: dict[str, Any], path: str, value: Any) -> None:
    if path.startswith("fear_of_receiving_country."):
        case["fear_of_receiving_country"] = {path.split(".", 1)[1]: value}
    elif "." in path:
        head, tail = path.split(".", 1)
        case[head] = {tail: value}
    else:
        case[path] = value


def apply(record: dict[str, Any], assume: Mapping[str, Any]
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record with the assumed facts filled where unknown; and those actually filled."""
    values = coerce(assume) if assume else {}
    filled: dict[str, Any] = {}
    for path, value in values.items():
        if get(record, path) is None and value is not None:
            record = put(record, path, value)
            filled[path] = value
    return record, filled
