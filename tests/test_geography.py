"""A Border Patrol sector implies its state(s) and the southern land border: the case schema and
the batch validation reject the same contradictions, with the same message, and the rules
derive what a state settles about the sector (law/geography.py, law/data/geography.yaml)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from persons import honduran_through_guatemala
from safethird import decide, decide_batch
from safethird.facts import CaseError, parse_case
from safethird.law.geography import sector_states

STATES = ("CA", "AZ", "NM", "TX", "FL", None)
BORDERS = ("southern_land", "air", None)


def _row(i: int, sector: str | None, state: str | None, border: str | None) -> dict:
    return {"id": f"g{i}", "nationalities": ["HN"], "as_of": "2019-12-02",
            "arrival": {"date": "2019-12-02", "sector": sector, "state": state,
                        "border": border}}


def _rows() -> list[dict]:
    combos = itertools.product([*sector_states(), None], STATES, BORDERS)
    return [_row(i, *c) for i, c in enumerate(combos)]


def test_every_sector_lies_in_border_states() -> None:
    assert sector_states()["el_paso"] == ("NM", "TX")
    assert set(sector_states()["yuma"]) == {"AZ", "CA"}
    assert all(set(v) <= {"CA", "AZ", "NM", "TX"} for v in sector_states().values())


def test_case_schema_rejects_a_sector_in_another_state() -> None:
    with pytest.raises(CaseError, match=r"el_paso lies in NM, TX, not in arrival\.state CA"):
        parse_case(_row(0, "el_paso", "CA", "southern_land"))
    with pytest.raises(CaseError, match="southern land border, not air"):
        parse_case(_row(0, "laredo", "TX", "air"))
    parse_case(_row(0, "el_paso", "NM", "southern_land"))
    parse_case(_row(0, "yuma", "CA", None))


def test_batch_and_case_schema_agree_on_sectors(tmp_path: Path) -> None:
    rows = _rows()
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out, errors = decide_batch(path, errors="return")
    # every problem of a row is reported, one errors line each: compare the sets
    rejected: dict[int, set[tuple[str, str]]] = {}
    for r, f, m in zip(errors["row"].to_list(), errors["field"].to_list(),
                       errors["message"].to_list(), strict=True):
        rejected.setdefault(r, set()).add((f, m))
    n_rejected = 0
    for i, r in enumerate(rows, start=1):
        try:
            parse_case(r)
            assert i not in rejected, (r, rejected.get(i))
        except CaseError as e:
            n_rejected += 1
            assert rejected.get(i) == set(e.problems), (r, rejected.get(i), e)
    assert n_rejected > 50 and out.height + len(rejected) == len(rows)


def _facts(**arrival: object) -> dict:
    return honduran_through_guatemala(arrival, aca_invoked=True)


@pytest.mark.parametrize(("arrival", "status", "missing"), [
    ({"state": "NM"}, "applies", None),                        # New Mexico: only El Paso
    ({"state": "TX"}, "unknown", "arrival.sector"),            # Texas: five sectors
    ({"state": "TX", "sector": "el_paso"}, "applies", None),
    ({"state": "TX", "sector": "laredo"}, "does_not_apply", None),
    ({"state": "CA"}, "does_not_apply", None),                 # no El Paso sector in California
    ({"sector": "el_paso"}, "applies", None),                  # the sector alone settles it
])
def test_the_state_settles_the_sector_only_when_it_can(arrival, status, missing) -> None:
    d = decide(_facts(**arrival), as_of="2019-12-02")
    assert d.findings["aca"].status == status
    if missing:
        assert d.missing_facts[0] == missing
    else:
        assert "arrival.sector" not in d.missing_facts
