"""Scenarios as YAML: the network's inputs, each number with its source.

A number is written ``{value: X, source: ID}`` (ID in ``population/data/published*.yaml``) or
``{value: X, basis: derived|calibrated|assumed|scenario, note: "..."}`` — a bare number is an
error, so every input says where it comes from. A scenario may ``extends:`` another (bundled name
or path): its keys are merged over the base, mappings key by key, lists replaced whole.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from safethird import yamltext
from safethird.population.statistics import published

GROUPS = ("single_adult", "family_unit", "unaccompanied_child")
PARTNERS = ("GT", "HN", "SV")


class ScenarioError(ValueError):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Number(_Model):
    """An input number with its provenance."""

    value: float
    source: str | None = None
    basis: Literal["derived", "calibrated", "assumed", "scenario"] | None = None
    note: str | None = None

    @field_validator("source")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in published():
            raise ValueError(f"source {v!r} is not a published figure (published*.yaml)")
        return v

    def model_post_init(self, _: Any) -> None:
        if (self.source is None) == (self.basis is None):
            raise ValueError("give exactly one of source (a published figure) or basis")

    @property
    def provenance(self) -> str:
        return f"published: {self.source}" if self.source else f"{self.basis}: {self.note or ''}"


class Operation(_Model):
    """An agreement operated by the US (a change to the law data: see flow/overlays.py)."""

    partner: Literal["GT", "HN", "SV"]
    from_: dt.date = Field(alias="from")
    until: dt.date | None = None
    nationalities: tuple[str, ...] | None = None
    groups: tuple[Literal["single_adult", "family_unit"], ...] = ("single_adult", "family_unit")
    arrival_states: tuple[str, ...] | None = None
    applies_to_arrivals_from: dt.date | None = None
    note: str


class Law(_Model):
    variants: tuple[str, ...] = ()
    operate: tuple[Operation, ...] = ()


class Screening(_Model):
    # threshold screenings per day for each partner's agreement; None = not a constraint
    threshold_per_day: dict[str, Number] = {}
    custody_limit_days: Number | None = None
    fear_of_partner_established: Number
    credible_fear: Literal["published"] = "published"


class Detention(_Model):
    detained: tuple[Literal["single_adult", "family_unit"], ...]
    family_limit_days: Number
    length_of_stay_days: Number
    beds: dict[str, Number] = {}


class FlightPhase(_Model):
    from_: dt.date = Field(alias="from")
    until: dt.date
    transfers_per_day: Number
    flight_every_days: Number


class PartnerOffice(_Model):
    backlog_start: Number
    domestic_applications: Number
    domestic_applications_over_days: Number
    officers: Number
    decisions_per_officer_per_month: Number
    closed: tuple[tuple[dt.date, dt.date | None], ...] = ()
    closed_source: Number | None = None
    apply_share: Number
    apply_within_days: Number
    abandon_share: Number
    abandon_after_days: Number


class FamilySeats(_Model):
    """A service discipline for the transfer queue that is not strict FIFO: from ``from``, a
    share of each day's seats is reserved for family units (served first, FIFO among
    families, up to the share); the seats families do not fill go to single adults the same
    day; single adults are served FIFO on the rest."""

    from_: dt.date = Field(alias="from")
    share: Number
    basis: str


TRACKS = ("aca", "pacr_harp", "mpp", "family_detention", "adult_detention", "removal",
          "release", "uac_referral")


class TrackRule(_Model):
    """One line of the assignment policy: who may be put on ``track`` on which days and where.
    The policy is read in order; a person takes the first line that fits them and whose track
    has room that day (capacities in ``Tracks.capacity``)."""

    track: Literal["pacr_harp", "mpp", "family_detention", "adult_detention", "removal",
                   "release"]
    from_: dt.date | None = Field(default=None, alias="from")
    until: dt.date | None = None
    sectors: tuple[str, ...] | None = None       # Border Patrol sectors; None = every sector
    nationalities: tuple[str, ...] | None = None
    not_nationalities: tuple[str, ...] = ()
    groups: tuple[Literal["single_adult", "family_unit"], ...] = ("single_adult",
                                                                   "family_unit")
    fear: bool | None = None                     # fear claimed; None = either
    # the pathway the rules gave (e.g. credible_fear_barred: subject to the transit bar)
    pathways: tuple[str, ...] | None = None
    share: Number | None = None                  # of the people who fit (default all)
    per_day: Number | None = None                # admissions a day on this line
    basis: str                                   # why DHS put these people on this track

    @field_validator("pathways")
    @classmethod
    def _pathways(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        from safethird.population.rates import PATHWAY_CODES

        bad = sorted(set(v or ()) - set(PATHWAY_CODES))
        if bad:
            raise ValueError(f"unknown pathway(s) {', '.join(bad)} (known: "
                             f"{', '.join(PATHWAY_CODES)})")
        return v


class TrackCapacity(_Model):
    """``per_day``: admissions a day; ``beds``: people held at once (a stock)."""

    per_day: Number | None = None
    beds: Number | None = None


class TrackOutcome(_Model):
    """Where people go when a track's stay ends: shares of ``removed`` / ``released`` /
    ``closed`` (published rates as inputs), after ``stay_days``."""

    stay_days: Number | None = None
    removed: Number | None = None
    released: Number | None = None
    closed: Number | None = None


class Tracks(_Model):
    # line id → line, in order (a mapping, so that a scenario extending another can change or
    # remove one line by its id: `policy: {catch_and_release: {until: null}}`)
    policy: dict[str, TrackRule]
    capacity: dict[str, TrackCapacity] = {}
    outcomes: dict[str, TrackOutcome] = {}
    # MPP court outcomes downstream (published rates, applied to the enrolled)
    mpp_court: dict[str, Number] = {}

    def model_post_init(self, _: Any) -> None:
        # two lines filling the same capacity would need an order within the day that the
        # policy does not state (line order, or arrival order?): a track with a capacity has
        # one line; several lines of a track each take their own `per_day`
        for name, cap in self.capacity.items():
            # beds are a stock held over a stay: only where a track has a stay (the Flores
            # limit, the drawn length of stay of adult detention, or a stated stay)
            stay = self.outcomes.get(name)
            if cap.beds is not None and name not in ("family_detention", "adult_detention") and (
                    stay is None or stay.stay_days is None):
                raise ValueError(f"beds on track {name!r} are not modelled: beds hold people "
                                 "over a stay, and only family_detention, adult_detention or a "
                                 "track with outcomes.stay_days has one (docs/simulation.md)")
            lines = [k for k, r in self.policy.items() if r.track == name]
            if (cap.beds is not None or cap.per_day is not None) and len(lines) > 1:
                raise ValueError(f"track {name!r} has a capacity: give it one policy line, "
                                 f"not {len(lines)} ({', '.join(lines)}), or a per_day on "
                                 "each line")


CHECK_METRICS = Literal["transfers", "applied_in_partner", "partner_backlog_end",
                        "detention_peak", "wait_days_transfer", "transfers_family_units",
                        "released", "mpp_enrolled", "pacr_harp_processed",
                        "family_detention_peak"]


class Check(_Model):
    metric: CHECK_METRICS
    partner: str
    figure: str
    from_: dt.date | None = Field(default=None, alias="from")
    by: dt.date | None = None
    tolerance: float
    tolerance_kind: Literal["relative", "share_points"] = "relative"
    # independent: no input is derived from this figure; by_construction: an input is
    independence: Literal["independent", "partly_by_construction"] = "independent"
    independence_note: str = ""

    @field_validator("figure")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in published():
            raise ValueError(f"figure {v!r} is not in published*.yaml")
        return v


class Scenario(_Model):
    name: str
    title: str
    description: str
    # inherited through extends: a scenario that changes a published baseline is a
    # counterfactual unless it says otherwise (and it cannot say so over a counterfactual)
    status: Literal["published_baseline", "counterfactual"] = "counterfactual"
    start: dt.date
    end: dt.date
    population: Literal["published"] = "published"
    fear_claim_denominator: Literal["non_mexican", "all", "non_mexican_title8"] = "non_mexican"
    law: Law = Law()
    screening: Screening
    detention: Detention
    flights: dict[str, tuple[FlightPhase, ...]]
    partner_office: dict[str, PartnerOffice]
    family_seats: dict[str, FamilySeats] = {}
    # being in scope is not being sent: a single adult not seated within this many days of the
    # encounter leaves the agreement's queue (released, counted); families: the Flores limit
    transfer_wait_limit_days: dict[str, Number] = {}
    tracks: Tracks | None = None
    checks: tuple[Check, ...] = ()

    @property
    def horizon(self) -> int:
        return (self.end - self.start).days + 1

    def day(self, d: dt.date) -> int:
        return (d - self.start).days

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=int(day))

    def numbers(self) -> list[tuple[str, Number]]:
        """Every input number with its dotted path (for the provenance table)."""
        out: list[tuple[str, Number]] = []

        def walk(obj: Any, path: str) -> None:
            if isinstance(obj, Number):
                out.append((path, obj))
            elif isinstance(obj, BaseModel):
                for k in type(obj).model_fields:
                    walk(getattr(obj, k), f"{path}.{k}" if path else k)
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    walk(v, f"{path}.{k}")
            elif isinstance(obj, tuple | list):
                for i, v in enumerate(obj):
                    walk(v, f"{path}[{i}]")
        walk(self, "")
        return out


def bundled_dir() -> Path:
    return Path(str(resources.files("safethird.flow").joinpath("scenarios")))


def bundled() -> dict[str, Path]:
    return {p.stem: p for p in sorted(bundled_dir().glob("*.yaml"))}


def _merge(base: Any, over: Any) -> Any:
    # a number ({value: ...}) is replaced whole, never merged with the base's provenance
    if isinstance(base, dict) and isinstance(over, dict) and "value" not in over:
        out = dict(base)
        for k, v in over.items():
            if v is None and isinstance(base.get(k), dict):
                out.pop(k, None)   # `key: null` removes a mapping of the base
            else:
                out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _raw(ref: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    path = bundled().get(ref) or Path(ref)
    if not path.exists():
        raise ScenarioError(f"no scenario {ref!r} (bundled: {', '.join(bundled())}; or a path)")
    if path.is_dir():
        raise ScenarioError(f"{path}: a folder, not a scenario (a YAML file or a bundled name)")
    if str(path) in seen:
        raise ScenarioError(f"scenario {ref!r} extends itself")
    try:
        raw = yamltext.load(path.read_text(encoding="utf-8-sig")) or {}
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
                            ) from None
    except (yaml.YAMLError, ValueError) as exc:  # a date like 2019-02-30 fails in the loader
        reason = " ".join(str(exc).split())
        raise ScenarioError(f"{path}: not valid YAML: {reason}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping")
    base = raw.pop("extends", None)
    if base:
        parent = _raw(base, (*seen, str(path)))
        own = raw.get("status")
        if own == "published_baseline" and parent.get("status") != "published_baseline":
            raise ScenarioError(f"{path}: status published_baseline over {base!r}, which is "
                                "a counterfactual")
        raw = _merge(parent, raw)
        raw["status"] = own or "counterfactual"
    return raw


def load_scenario(ref: str) -> Scenario:
    """A bundled scenario by name, or a YAML file (with its ``extends`` chain merged). Checked
    beyond its fields: the period runs forward, within the published tables it draws on."""
    sc = yamltext.checked(Scenario, _raw(ref), ref, ScenarioError)
    if sc.end < sc.start:
        raise ScenarioError(f"{ref}: end {sc.end} is before start {sc.start}")
    if sc.population == "published":
        from safethird.population.statistics import available_months, months_between

        have = set(available_months())
        missing = [m for m in months_between(sc.start, sc.end) if m not in have]
        if missing:
            known = sorted(have)
            raise ScenarioError(f"{ref}: {sc.start} – {sc.end} runs past the bundled encounter "
                                f"tables ({known[0]} to {known[-1]}; missing {missing[0]}"
                                f"{f' … {missing[-1]}' if len(missing) > 1 else ''})")
    return sc
