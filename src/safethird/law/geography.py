"""Where on the border: the Border Patrol sectors of the US–Mexico land border and the border
state(s) each lies in (``law/data/geography.yaml``, with sources).

A sector implies its state(s) and a southern land arrival (CONTRACT.md section 5), so the case
schema rejects a sector that contradicts ``arrival.state`` or ``arrival.border``
(:func:`sector_conflict`, used by the case model and by the batch validation alike), and the
rules derive what the sector settles when only the state is known
(:func:`arrived_in_sectors`)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from safethird import yamltext
from safethird.law.data import LawDataError, Sector, Sourced, _Model
from safethird.logic.expr import Either, Expr, IsTrue, fact

FILE = "geography.yaml"


class SectorFact(Sourced):
    states: tuple[str, ...]


class Geography(_Model):
    sectors: dict[Sector, SectorFact]


def file_bytes() -> bytes:
    return resources.files("safethird.law").joinpath("data", FILE).read_bytes()


@cache
def geography() -> Geography:
    return yamltext.checked(Geography, yamltext.load(file_bytes()), FILE, LawDataError)


@cache
def sector_states() -> dict[str, tuple[str, ...]]:
    return {k: v.states for k, v in geography().sectors.items()}


@cache
def southern_border_states() -> frozenset[str]:
    """The states on the land border with Mexico: those of the southern Border Patrol
    sectors (the law data's sector table)."""
    return frozenset(st for states in sector_states().values() for st in states)


def sector_conflict(sector: Any, state: Any, border: Any) -> str | None:
    """Why a sector contradicts the state or border of the same arrival, or None."""
    if sector is None:
        return None
    sector = str(sector)
    states = sector_states().get(sector)
    if states is None:
        return None  # not a sector: the enum check reports it
    if state is not None and str(state) not in states:
        return (f"arrival.sector {sector} lies in {', '.join(states)}, not in arrival.state "
                f"{state}")
    if border is not None and str(border) != "southern_land":
        return f"arrival.sector {sector} is on the southern land border, not {border}"
    return None


def sector_known() -> Expr:
    return IsTrue(fact("arrival.sector").isin(list(sector_states())))


def southern_land_arrival() -> Expr:
    """Arrived across the southern land border: said so, or implied by a Border Patrol sector."""
    return fact("arrival.border").eq("southern_land") | sector_known()


def arrived_in_sectors(sectors: tuple[str, ...]) -> Expr:
    """The arrival was in one of ``sectors``. Known from the sector; with the sector unknown,
    settled by the state when every sector of that state is in the list (e.g. New Mexico: only
    El Paso) or none is (e.g. California for El Paso); otherwise unknown."""
    wanted = set(sectors)
    by_state: dict[str, set[str]] = {}
    for s, states in sector_states().items():
        for st in states:
            by_state.setdefault(st, set()).add(s)
    all_in = sorted(st for st, ss in by_state.items() if ss <= wanted)
    some_in = sorted(st for st, ss in by_state.items() if ss & wanted)
    none_in = sorted(st for st in by_state if st not in some_in)
    other = sorted(set(sector_states()) - wanted)
    sector, state = fact("arrival.sector"), fact("arrival.state")
    # the two sides exclude each other: a sector lies in its state (validation checks it)
    return Either(sector.isin(sorted(wanted)) | state.isin(all_in),
                  sector.isin(other) | state.isin(none_in))
