"""A synthetic population of border encounters: one row per person, from the published cells.

Per cell (month × citizenship × group × component × sector × state) the published number of
people is drawn; each gets an arrival day in the month and the facts the rules read. In
*deterministic* mode days are spread evenly over the month and yes/no facts are given to an exact
share of the cell by systematic selection (person j of a cell gets the fact when
floor((j+1)·r) > floor(j·r)); in Monte Carlo mode days are uniform and facts are Bernoulli draws
from a seeded ``numpy.random.Generator``. Either way the monthly counts are the published ones.

Facts and where they come from (docs/simulation.md):
- ``fear_claimed``: USCIS credible-fear completions ÷ Southwest border encounters of the same
  fiscal year (credible_fear.csv, the margins file); by default over non-Mexican encounters
  (see ``fear_claim_rates``), no nationality breakdown being bundled.
- route: routes.csv (one route per nationality, by geography); "other" citizenships: unknown.
- ``fear_of_receiving_country.*``: the scenario's share of threshold screenings finding fear.
- last habitual residence: the country of citizenship.
- not modelled, set to the common case: no protection claim in transit countries, not a
  trafficking victim, no admission document, not in the metering class, no public-interest
  exception; visa-exempt only where known not to be (HN, SV, GT, MX).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from safethird.population.encounters import (
    CITIZENSHIPS,
    COMPONENTS,
    GROUPS,
    PORTS,
    SECTOR_STATE,
    encounter_cells,
)
from safethird.population.statistics import (
    credible_fear,
    encounter_margins,
    fiscal_year,
    months_between,
    routes,
)

STATES = ("TX", "CA", "AZ")


# The CDC order of 2020-03-20 (85 FR 17060) began Title 42 expulsions, which skip the
# credible-fear screening; from March 2020 CBP's encounter counts include them (SOURCES.md).
# The months from April 2020 on are Title 42 months; March is counted with the Title 8 ones.
TITLE42_FIRST_MONTH = "2020-04"


def fear_claim_rates(denominator: str = "non_mexican") -> dict[tuple[int, bool], float]:
    """(fiscal year, Mexican?) → credible-fear completions per Southwest border encounter.

    ``denominator="all"``: completions ÷ all encounters, the same rate for everyone.
    ``"non_mexican"``: completions ÷ non-Mexican encounters for non-Mexicans, 0 for Mexicans —
    the assumption that credible-fear claims came (almost) only from people who, unlike most
    Mexicans, could not be returned across the border at once (no nationality breakdown of the
    completions is bundled; see docs/simulation.md).
    ``"non_mexican_title8"``: as ``"non_mexican"`` but over the encounters before
    ``TITLE42_FIRST_MONTH`` only — as if every completion of the fiscal year came from its
    Title 8 months: an upper bound for those months (no monthly completions are bundled), for
    the sensitivity scenario, not the baseline."""
    out: dict[tuple[int, bool], float] = {}
    for fy, (completions, people) in fear_claim_counts(denominator).items():
        rate = completions / people
        out[(fy, False)], out[(fy, True)] = rate, (rate if denominator == "all" else 0.0)
    return out


def fear_claim_counts(denominator: str = "non_mexican") -> dict[int, tuple[int, int]]:
    """Fiscal year → (USCIS credible-fear completions, the encounters they are divided by):
    the two published counts behind ``fear_claim_rates`` (for the provenance table)."""
    cf = credible_fear().filter(pl.col("citizenship") == "ALL")
    m = encounter_margins()
    if denominator == "non_mexican_title8":
        m = m.filter(pl.col("month") < TITLE42_FIRST_MONTH)
    tot = m.filter((pl.col("dimension") == "total") & (pl.col("component") == "all"))
    mx = m.filter((pl.col("dimension") == "citizenship") & (pl.col("value") == "MX"))
    by_fy: dict[int, list[int]] = {}
    for frame, k in ((tot, 0), (mx, 1)):
        for month, n in frame.select("month", "encounters").iter_rows():
            by_fy.setdefault(fiscal_year(month), [0, 0])[k] += n
    out: dict[int, tuple[int, int]] = {}
    for period, completions in cf.select("period", "completions").iter_rows():
        fy = int(period[2:])
        if fy in by_fy:
            total, mexican = by_fy[fy]
            out[fy] = (int(completions), total if denominator == "all" else total - mexican)
    return out


def _systematic(j: np.ndarray, rate: np.ndarray, offset: float = 0.0) -> np.ndarray:
    return np.floor((j + 1) * rate + offset) > np.floor(j * rate + offset)


@dataclass(frozen=True)
class Encounters:
    """A synthetic population in array form (row order = FIFO order of arrival)."""

    cells: pl.DataFrame        # the published cells (month × citizenship × group × ...)
    cell: np.ndarray           # per person: row of ``cells``
    day: np.ndarray            # per person: days since ``start``
    fear_claimed: np.ndarray
    fear_of_partner: np.ndarray
    start: dt.date

    def __len__(self) -> int:
        return len(self.cell)

    def column(self, name: str) -> np.ndarray:
        return self.cells[name].to_numpy()[self.cell]

    def frame(self) -> pl.DataFrame:
        """One row per person (the ``population`` table)."""
        base = (self.start - dt.date(1970, 1, 1)).days
        people = pl.DataFrame({
            "person": np.arange(len(self), dtype=np.int64),
            "arrival": (self.day + base).astype(np.int32),
            "cell": self.cell.astype(np.int64),
            "fear_claimed": self.fear_claimed, "fear_of_partner": self.fear_of_partner,
        }).with_columns(pl.col("arrival").cast(pl.Date))
        cells = self.cells.drop("encounters").with_row_index("cell").with_columns(
            pl.col("cell").cast(pl.Int64))
        return people.join(cells, on="cell", how="left", maintain_order="left").select(
            "person", "arrival", "month", "citizenship", "group", "component", "sector",
            "state", "fear_claimed", "fear_of_partner")


def encounters(start: dt.date, end: dt.date, *, rng: np.random.Generator | None = None,
               fear_of_partner_share: float = 0.0, fear_denominator: str = "non_mexican"
               ) -> Encounters:
    """People encountered from ``start`` to ``end`` (inclusive), sorted by arrival day (ties:
    in cell order, or shuffled in Monte Carlo mode)."""
    months = months_between(start, end)
    cells = encounter_cells(tuple(months))
    counts = cells["encounters"].to_numpy()
    n = int(counts.sum())
    cell_of = np.repeat(np.arange(cells.height), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    j = np.arange(n) - np.repeat(first, counts)
    month_list = cells["month"].to_list()
    month_first = np.array([(dt.date.fromisoformat(m + "-01") - start).days for m in month_list])
    days_in = np.array([calendar.monthrange(int(m[:4]), int(m[5:]))[1] for m in month_list])
    d_in, c_n = days_in[cell_of], counts[cell_of]
    # deterministic: spread evenly over the month (exact integers); Monte Carlo: uniform
    offset = ((j * d_in + d_in // 2) // np.maximum(c_n, 1) if rng is None
              else rng.integers(0, d_in))
    day = month_first[cell_of] + offset
    rates = fear_claim_rates(fear_denominator)
    fy = np.array([fiscal_year(m) for m in month_list])
    mexican = (cells["citizenship"] == "MX").to_numpy()
    missing = sorted({f for f in fy.tolist() if (f, False) not in rates})
    if missing:
        raise LookupError(f"no credible-fear statistics for FY{missing}")
    r = np.array([rates[(f, bool(x))] for f, x in zip(fy, mexican, strict=True)])[cell_of]
    if rng is None:
        fear = _systematic(j, r, 0.5)
        fear_partner = _systematic(j, np.full(n, fear_of_partner_share), 0.5)
        tie = np.arange(n)
    else:
        fear = rng.random(n) < r
        fear_partner = rng.random(n) < fear_of_partner_share
        tie = rng.permutation(n)
    keep = (day >= 0) & (day <= (end - start).days)
    # by day, ties by ``tie`` (a permutation): walk the people in increasing ``tie`` and
    # sort that sequence stably by day — the same order as lexsort((tie, day)), but a radix
    # sort on small integers (lexsort was most of a FY2019 replication's time)
    by_tie = np.empty(n, dtype=np.int64)
    by_tie[tie] = np.arange(n)
    seq = by_tie[keep[by_tie]]
    small = np.int16 if (end - start).days < np.iinfo(np.int16).max else np.int32
    idx = seq[np.argsort(day[seq].astype(small), kind="stable")]
    return Encounters(cells, cell_of[idx], day[idx].astype(np.int64), fear[idx],
                      fear_partner[idx], start)


def population(start: dt.date, end: dt.date, *, rng: np.random.Generator | None = None,
               fear_of_partner_share: float = 0.0, fear_denominator: str = "non_mexican"
               ) -> pl.DataFrame:
    """The population as a table, one row per person (see ``encounters``)."""
    return encounters(start, end, rng=rng, fear_of_partner_share=fear_of_partner_share,
                      fear_denominator=fear_denominator).frame()


def route_legs(citizenship: str) -> list[dict] | None:
    rows = routes().filter(pl.col("citizenship") == citizenship)
    if rows.height == 0:
        return None
    route = rows.sort("share", descending=True)["route"][0] or ""
    return [{"country": c, "entered": None, "left": None, "protection_claim": "none"}
            for c in route.split(">") if c]


def case_record(citizenship: str, group: str, component: str, state: str, fear: bool,
                fear_partner: bool, *, sector: str | None = None) -> dict:
    """The facts of one person in the case schema (CONTRACT.md section 1). ``sector`` is the
    published sector name ("El Paso"; ports of entry have none)."""
    known = citizenship != "OTHER"
    code = sector.lower().replace(" ", "_") if sector and sector != PORTS else None
    if code is not None and SECTOR_STATE.get(sector) != state:
        code = None  # a combination no published cell has
    arrival = {"border": "southern_land", "state": state,
               "place": "between_ports" if component == "usbp" else "port_of_entry"}
    if code is not None:
        arrival["sector"] = code
    return {
        "nationalities": [citizenship] if known else None,
        "last_habitual_residence": citizenship if known else None,
        "unaccompanied_child": group == "unaccompanied_child",
        "family_unit": group == "family_unit",
        "arrival": arrival,
        "route": route_legs(citizenship) if known else None,
        "trafficking_victim": False,
        "admission_document": "none",
        "visa_exempt": False if known else None,
        "fear_claimed": fear,
        "fear_of_receiving_country": {p: fear_partner for p in ("GT", "HN", "SV")},
        "public_interest_exception": False,
        "metered_before_2019_07_16": False,
        # the simulation's agreement track: DHS puts everyone the agreement reaches through it
        # (8 CFR 208.30(e)(7) makes it DHS's choice; the tracks DHS actually used are modelled
        # in the flow, not here)
        "aca_invoked": True,
    }


CATEGORY_COLUMNS = ("citizenship", "group", "component", "state", "sector", "fear_claimed",
                    "fear_of_partner")
CATEGORIES = {
    "citizenship": CITIZENSHIPS, "group": GROUPS, "component": COMPONENTS, "state": STATES,
    "sector": (*SECTOR_STATE, PORTS), "fear_claimed": (False, True),
    "fear_of_partner": (False, True),
}
