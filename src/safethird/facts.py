"""The case facts: their schema (docs/cases.md, generated from this module), validation, and
column form.

A fact that is absent or null is *unknown*, never false: the engine keeps it as ``None`` per case
and as a Polars null in a table, and Kleene logic carries it through the rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

import polars as pl
import pycountry
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from safethird.law.circuits import STATE_CIRCUIT
from safethird.law.geography import sector_conflict, sector_states, southern_border_states
from safethird.logic.evaluate import add_years


class Border(StrEnum):
    southern_land = "southern_land"
    northern_land = "northern_land"
    air = "air"
    sea = "sea"


class Place(StrEnum):
    port_of_entry = "port_of_entry"
    between_ports = "between_ports"


class ProtectionClaim(StrEnum):
    none = "none"
    pending = "pending"
    denied_final = "denied_final"
    denied_not_final = "denied_not_final"
    granted = "granted"
    withdrawn = "withdrawn"


class Sector(StrEnum):
    """Border Patrol sectors of the southwest border, west to east."""

    san_diego = "san_diego"
    el_centro = "el_centro"
    yuma = "yuma"
    tucson = "tucson"
    el_paso = "el_paso"
    big_bend = "big_bend"
    del_rio = "del_rio"
    laredo = "laredo"
    rio_grande_valley = "rio_grande_valley"


class Forum(StrEnum):
    expedited_removal = "expedited_removal"
    section_240 = "section_240"


class ExceptionallyCompelling(StrEnum):
    none = "none"
    acute_medical_emergency = "acute_medical_emergency"
    imminent_extreme_threat = "imminent_extreme_threat"
    trafficking_victim = "trafficking_victim"
    other = "other"


class AdmissionDocument(StrEnum):
    none = "none"
    valid_visa = "valid_visa"
    other_valid_admission_document = "other_valid_admission_document"
    transit_visa = "transit_visa"


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (from pycountry's copy of the ISO standard)."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


_SLASHED = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})\s*$")


def date_message(value: Any) -> str:
    """Why a value is not a date, with the ISO spelling of a date written the spreadsheet way
    (12/10/2019 reads as 10 December in the US and 12 October elsewhere: both are offered)."""
    message = f"not an ISO 8601 date (YYYY-MM-DD): {str(value)!r}"
    m = _SLASHED.match(str(value))
    if not m:
        return message
    a, b, year = (int(x) for x in m.groups())
    readings = []
    for month, day, how in ((a, b, "month/day/year"), (b, a, "day/month/year")):
        with contextlib.suppress(ValueError):
            readings.append((dt.date(year, month, day).isoformat(), how))
    if len({iso for iso, _ in readings}) == 1:
        return f"{message}; use {readings[0][0]}"
    if readings:
        return f"{message}; use " + " or ".join(f"{iso} ({how})" for iso, how in readings)
    return message


def _iso_date(value: Any) -> Any:
    # Lax pydantic would take 0 as 1970-01-01; a date here is an ISO 8601 string or a date.
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            if not _ISO_DATE.match(value):  # 3.11's fromisoformat also takes 20191201, 2019-W01
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(date_message(value)) from None
    raise ValueError(f"expected an ISO 8601 date string, got {type(value).__name__} {value!r}")


@cache
def _country_names() -> dict[str, str]:
    """Lower-case names and codes → alpha-2, for suggestions only (never to accept a value)."""
    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "common_name", "official_name"):
            v = getattr(c, attr, None)
            if v:
                names.setdefault(v.casefold(), c.alpha_2)
    return names


def country_suggestion(value: Any) -> str | None:
    """'HN (Honduras)' for 'hn', 'HND', 'Honduras', 'honduras ' and close misspellings."""
    if not isinstance(value, str) or not value.strip():
        return None
    import difflib

    key = value.strip().casefold()
    names = _country_names()
    code = names.get(key)
    if code is None:
        close = difflib.get_close_matches(key, [n for n in names if len(n) > 3], n=1,
                                          cutoff=0.85)
        code = names[close[0]] if close else None
    if code is None:
        return None
    country = pycountry.countries.get(alpha_2=code)
    return f"{code} ({getattr(country, 'common_name', None) or country.name})"


def country_message(value: Any) -> str:
    message = f"not an ISO 3166-1 alpha-2 country code: {value!r}"
    suggestion = country_suggestion(value)
    return f"{message}; did you mean {suggestion}?" if suggestion else message


def _country(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or value not in country_codes():
        raise ValueError(country_message(value))
    return value


def _state(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or value not in STATE_CIRCUIT:
        raise ValueError(f"not a US state or territory code (e.g. TX): {value!r}")
    return value


IsoDate = Annotated[dt.date | None, BeforeValidator(_iso_date)]
Country = Annotated[str | None, BeforeValidator(_country)]
CountryKey = Annotated[str, BeforeValidator(_country)]
UsState = Annotated[str | None, BeforeValidator(_state)]
Bool = Annotated[bool | None, Field(strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Arrival(_Strict):
    date: IsoDate = None
    border: Border | None = None
    place: Place | None = None
    state: UsState = None
    sector: Sector | None = None
    scheduled_appointment: Bool = None

    @field_validator("border", "place", "sector", mode="before")
    @classmethod
    def _enum(cls, v: Any, info: Any) -> Any:
        return _enum_value(v, {"border": Border, "place": Place, "sector": Sector}[
            info.field_name])


class Leg(_Strict):
    country: Country = None
    entered: IsoDate = None
    left: IsoDate = None
    protection_claim: ProtectionClaim | None = None

    @field_validator("protection_claim", mode="before")
    @classmethod
    def _enum(cls, v: Any) -> Any:
        return _enum_value(v, ProtectionClaim)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Leg:
        if self.entered and self.left and self.left < self.entered:
            raise ValueError("left is before entered")
        return self


def _enum_value(v: Any, enum: type[StrEnum]) -> Any:
    if v is None or isinstance(v, enum):
        return v
    if isinstance(v, str) and v in enum.__members__:
        return enum(v)
    raise ValueError(f"expected one of {', '.join(enum.__members__)}; got {v!r}")


class Case(_Strict):
    """One person's facts, as a screener knows them. Every field may be unknown."""

    id: str | None = None
    nationalities: list[CountryKey] | None = None
    last_habitual_residence: Country = None
    habitual_residence: Country = None
    birth_date: IsoDate = None
    unaccompanied_child: Bool = None
    family_unit: Bool = None
    arrival: Arrival = Field(default_factory=Arrival)
    route: list[Leg] | None = None
    trafficking_victim: Bool = None
    admission_document: AdmissionDocument | None = None
    visa_exempt: Bool = None
    fear_claimed: Bool = None
    fear_of_receiving_country: dict[CountryKey, Bool] = Field(default_factory=dict)
    public_interest_exception: Bool = None
    metered_before_2019_07_16: Bool = None
    aca_invoked: Bool = None
    forum: Forum | None = None
    criminal_record: Bool = None
    could_not_use_scheduling_system: Bool = None
    parole_process_authorized: Bool = None
    exceptionally_compelling: ExceptionallyCompelling | None = None
    as_of: IsoDate = None

    @field_validator("admission_document", "forum", "exceptionally_compelling", mode="before")
    @classmethod
    def _doc(cls, v: Any, info: Any) -> Any:
        return _enum_value(v, {"admission_document": AdmissionDocument, "forum": Forum,
                               "exceptionally_compelling": ExceptionallyCompelling}[
                                   info.field_name])

    @model_validator(mode="after")
    def _route_before_arrival(self) -> Case:
        if self.unaccompanied_child and self.family_unit:
            raise ValueError("unaccompanied_child and family_unit cannot both be true")
        conflict = sector_conflict(self.arrival.sector, self.arrival.state, self.arrival.border)
        if conflict:
            raise ValueError(conflict)
        arrived = self.arrival.date
        for i, leg in enumerate(self.route or []):
            for name in ("entered", "left"):
                d = getattr(leg, name)
                if arrived and d and d > arrived:
                    raise ValueError(f"route[{i}].{name} {d} is after arrival.date {arrived}")
        return self


CASES_DOC = "docs/cases.md"


class CaseError(ValueError):
    """Unusable input: names where (file, row) and which field. ``problems`` holds every
    (field, message) found, the first of them also as ``field`` and ``message``."""

    def __init__(self, field: str, message: str, *, source: str | None = None,
                 row: int | None = None, problems: list[tuple[str, str]] | None = None):
        self.field, self.message, self.source, self.row = field, message, source, row
        self.problems = problems or [(field, message)]
        where = ", ".join(p for p in (source, f"row {row}" if row is not None else None) if p)
        text = "; ".join(f"field {f}: {m}" for f, m in self.problems)
        super().__init__(f"{where + ': ' if where else ''}{text}")


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "(case)"


def unknown_field_message(path: str) -> str:
    """'unknown field …' with the nearest field of the schema when one is close."""
    import difflib

    known = [p.replace("[]", "") for p in FACTS] + ["id"]
    close = difflib.get_close_matches(path.replace("_", ".").casefold(),
                                      [k.replace("_", ".") for k in known], n=1, cutoff=0.7)
    hint = ""
    if close:
        hint = f"; did you mean {known[[k.replace('_', '.') for k in known].index(close[0])]}?"
    return f"unknown field (not in the case schema, see {CASES_DOC}){hint}"


def parse_case(data: Any, *, source: str | None = None, row: int | None = None) -> Case:
    """Validate one case (a mapping, as read from JSON); raise CaseError naming every field
    that is wrong (the checks across fields run once every field is valid, as in pydantic)."""
    if not isinstance(data, dict):
        raise CaseError("(case)", f"expected a JSON object, got {type(data).__name__}",
                        source=source, row=row)
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = _loc_to_path(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = unknown_field_message(path)
            if (path, msg) not in problems:
                problems.append((path, msg))
        raise CaseError(*problems[0], source=source, row=row, problems=problems) from None


def decode_text(raw: bytes, source: str) -> str:
    """A text file's bytes as text: UTF-8, with or without a byte-order mark, or UTF-16/32 with
    one (what Notepad and Excel save as "Unicode"). Anything else is refused, naming the first
    byte that is not UTF-8: guessing a legacy code page (Windows-1252, Latin-1) could turn a
    name into another without a sign."""
    import codecs

    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise CaseError("(file)", f"not valid {encoding.upper()} text (byte "
                                f"{exc.start})", source=source) from None
    if b"\x00" in raw:
        raise CaseError("(file)", "a binary file, not JSON text", source=source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError("(file)", f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at offset "
                        f"{exc.start}); save the file as UTF-8 (a legacy encoding such as "
                        f"Windows-1252 is not guessed)", source=source) from None


def load_case_file(path: str) -> Case:
    """A case from a JSON file, or from standard input when ``path`` is ``-``."""
    import sys
    from pathlib import Path

    source = "(stdin)" if path == "-" else path
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise CaseError("(file)", "no such file", source=source) from None
    except IsADirectoryError:
        raise CaseError("(file)", "a folder, not a case file", source=source) from None
    except OSError as exc:
        raise CaseError("(file)", f"cannot be read ({exc.strerror})", source=source) from None
    text = decode_text(raw, source)
    if not text.strip():
        raise CaseError("(file)", "empty file (a case is a JSON object)", source=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError("(file)", f"not valid JSON: {exc.msg} at line {exc.lineno}",
                        source=source) from None
    except RecursionError:
        raise CaseError("(file)", "not valid JSON: nested too deeply", source=source) from None
    return parse_case(data, source=source)


# --- the facts as the rules see them ------------------------------------------------------

FactKind = Literal["bool", "date", "country", "countries", "state", "enum"]


@dataclass(frozen=True)
class FactSpec:
    path: str
    kind: FactKind
    values: tuple[str, ...] = ()
    description: str = ""
    example: Any = None  # a value as in a JSON case file; default: one of the kind's
    unknown: str = ""  # what leaving it unknown means; default: the kind's

    def example_value(self) -> Any:
        if self.example is not None:
            return self.example
        return {"bool": True, "date": "2019-11-20", "country": "GT", "countries": ["HN"],
                "state": "TX"}.get(self.kind) or next(
                    (v for v in self.values if v != "none"), None)

    def unknown_means(self) -> str:
        if self.unknown:
            return self.unknown
        if self.kind == "bool":
            return "not known whether it is true or false (different from false)"
        return "not known: every answer that depends on it says so"


_ENUMS = {
    "arrival.border": Border,
    "arrival.place": Place,
    "arrival.sector": Sector,
    "admission_document": AdmissionDocument,
    "forum": Forum,
    "exceptionally_compelling": ExceptionallyCompelling,
    "route[].protection_claim": ProtectionClaim,
}

FACTS: dict[str, FactSpec] = {
    s.path: s
    for s in [
        FactSpec("nationalities", "countries", description="citizenships ([] = stateless)",
                 unknown="not known (an empty list [] is different: stateless)"),
        FactSpec("last_habitual_residence", "country",
                 description="country of last lawful habitual residence"),
        FactSpec("habitual_residence", "country",
                 description="country of last habitual residence, lawful or not (the "
                             "agreements' rule for stateless people)"),
        FactSpec("birth_date", "date", description="date of birth", example="1990-04-12"),
        FactSpec("unaccompanied_child", "bool", description="an unaccompanied alien child"),
        FactSpec("family_unit", "bool", description="arrived as part of a family unit",
                 example=False),
        FactSpec("arrival.date", "date", description="date of entry, attempted entry or arrival"),
        FactSpec("arrival.border", "enum", tuple(Border.__members__),
                 description="where the person arrived"),
        FactSpec("arrival.place", "enum", tuple(Place.__members__),
                 description="at a port of entry or between ports"),
        FactSpec("arrival.state", "state", description="US state where the person arrived"),
        FactSpec("arrival.sector", "enum", tuple(Sector.__members__), example="el_paso",
                 description="Border Patrol sector of a southern land arrival"),
        FactSpec("arrival.scheduled_appointment", "bool",
                 description="presented at a port of entry at a pre-scheduled time and place"),
        FactSpec("route", "bool", description="the countries passed through en route",
                 example=[{"country": "GT", "entered": "2019-11-01", "left": "2019-11-05",
                           "protection_claim": "none"}],
                 unknown="the route is not known (an empty list [] is different: no country "
                         "passed through)"),
        FactSpec("route[].country", "country", description="a country passed through"),
        FactSpec("route[].entered", "date", description="the day the person entered it",
                 example="2019-11-01"),
        FactSpec("route[].left", "date", description="the day the person left it",
                 example="2019-11-05"),
        FactSpec("route[].protection_claim", "enum", tuple(ProtectionClaim.__members__),
                 description="whether the person asked that country for protection, and "
                             "the outcome"),
        FactSpec("trafficking_victim", "bool",
                 description="a victim of a severe form of trafficking in persons"),
        FactSpec("admission_document", "enum", tuple(AdmissionDocument.__members__),
                 description="the document held on arrival"),
        FactSpec("visa_exempt", "bool", description="not required to obtain a visa"),
        FactSpec("fear_claimed", "bool",
                 description="expressed a fear of return or an intent to apply for asylum"),
        FactSpec("fear_of_receiving_country.*", "bool", example={"GT": False},
                 description="established more-likely-than-not persecution or torture there"),
        FactSpec("public_interest_exception", "bool",
                 description="DHS decided it is in the public interest that this person "
                             "seek protection in the US"),
        FactSpec("metered_before_2019_07_16", "bool",
                 description="turned back ('metered') at a port of entry before 2019-07-16"),
        FactSpec("aca_invoked", "bool",
                 description="DHS sought the person's removal under an agreement"),
        FactSpec("forum", "enum", tuple(Forum.__members__),
                 description="who decides: an asylum officer in expedited removal, or an "
                             "immigration judge in section 240 proceedings"),
        FactSpec("criminal_record", "bool", description="has a criminal record"),
        FactSpec("could_not_use_scheduling_system", "bool",
                 description="could not access or use the DHS scheduling system"),
        FactSpec("parole_process_authorized", "bool",
                 description="authorised to travel to the US to seek parole under a "
                             "DHS-approved process"),
        FactSpec("exceptionally_compelling", "enum", tuple(ExceptionallyCompelling.__members__),
                 description="exceptionally compelling circumstances found at the time of "
                             "entry"),
        FactSpec("as_of", "date", description="decide this case as of this date (a batch uses "
                 "it only with --as-of-from-rows)", example="2019-12-02",
                 unknown="decided as of --as-of, else today"),
    ]
}


def spec(path: str) -> FactSpec:
    if path in FACTS:
        return FACTS[path]
    prefix = path.split(".", 1)[0] + ".*"
    if prefix in FACTS:
        return FACTS[prefix]
    raise KeyError(f"unknown fact {path!r}")


def to_record(case: Case) -> dict[str, Any]:
    """The case as a plain nested dict (enums as strings, dates as dates), absent = None."""
    return case.model_dump(mode="python")


# --- column form ------------------------------------------------------------------------

LEG_DTYPE = pl.Struct(
    {"country": pl.String, "entered": pl.Date, "left": pl.Date, "protection_claim": pl.String}
)

COLUMNS: dict[str, pl.DataType] = {
    "id": pl.String(),
    "nationalities": pl.List(pl.String),
    "last_habitual_residence": pl.String(),
    "habitual_residence": pl.String(),
    "birth_date": pl.Date(),
    "unaccompanied_child": pl.Boolean(),
    "family_unit": pl.Boolean(),
    "arrival.date": pl.Date(),
    "arrival.border": pl.String(),
    "arrival.place": pl.String(),
    "arrival.state": pl.String(),
    "arrival.sector": pl.String(),
    "arrival.scheduled_appointment": pl.Boolean(),
    "route": pl.List(LEG_DTYPE),
    "trafficking_victim": pl.Boolean(),
    "admission_document": pl.String(),
    "visa_exempt": pl.Boolean(),
    "fear_claimed": pl.Boolean(),
    "public_interest_exception": pl.Boolean(),
    "metered_before_2019_07_16": pl.Boolean(),
    "aca_invoked": pl.Boolean(),
    "forum": pl.String(),
    "criminal_record": pl.Boolean(),
    "could_not_use_scheduling_system": pl.Boolean(),
    "parole_process_authorized": pl.Boolean(),
    "exceptionally_compelling": pl.String(),
    "as_of": pl.Date(),
}
FEAR_PREFIX = "fear_of_receiving_country."


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """One case record as one table row (nested fields joined with '.')."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "arrival":
            for sub, v in (value or {}).items():
                row[f"arrival.{sub}"] = v
        elif key == "fear_of_receiving_country":
            for country, v in (value or {}).items():
                row[FEAR_PREFIX + country] = v
        else:
            row[key] = value
    return row


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """One table row (the column form) as a case record: the inverse of ``flatten``."""
    record: dict[str, Any] = {}
    arrival: dict[str, Any] = {}
    fear: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("arrival."):
            arrival[key.removeprefix("arrival.")] = value
        elif key.startswith(FEAR_PREFIX):
            if value is not None:
                fear[key.removeprefix(FEAR_PREFIX)] = value
        elif key == "route":
            record[key] = None if value is None else [dict(leg) for leg in value]
        else:
            record[key] = value
    record["arrival"] = arrival
    record["fear_of_receiving_country"] = fear
    return record


def records_to_frame(records: list[dict[str, Any]], fear_countries: tuple[str, ...] = ()
                     ) -> pl.DataFrame:
    """Case records → the column form the vectorized rules read."""
    rows = [flatten(r) for r in records]
    fear_cols = sorted({*fear_countries, *(k[len(FEAR_PREFIX):] for r in rows for k in r
                                           if k.startswith(FEAR_PREFIX))})
    schema = dict(COLUMNS) | {FEAR_PREFIX + c: pl.Boolean() for c in fear_cols}
    data = {name: [r.get(name) for r in rows] for name in schema}
    return pl.DataFrame(data, schema=schema)


# Who the person is, not what a screener can verify or correct: a counterfactual changes these
# only on request.
IDENTITY = ("nationalities", "route", "route[].country")


def possible(record: dict[str, Any], as_of: dt.date) -> bool:
    """Facts (in record form) that could all be true at once: what case validation accepts,
    read for a world the reasoning tries (dates in order, a child not an adult)."""
    if record.get("unaccompanied_child") and record.get("family_unit"):
        return False
    arrival = record.get("arrival") or {}
    if sector_conflict(arrival.get("sector"), arrival.get("state"), arrival.get("border")):
        return False
    state = arrival.get("state")
    if state is not None and arrival.get("border") == "southern_land" and \
            str(state) not in southern_border_states():
        return False  # a crossing of the land border with Mexico is in a state on it
    arrived = arrival.get("date")
    born = record.get("birth_date")
    if born is not None and (born > as_of or (arrived is not None and born > arrived)):
        return False
    if born is not None and arrived is not None and record.get("unaccompanied_child") and \
            add_years(born, 18) <= arrived:
        return False  # a child is under 18 (6 U.S.C. 279(g)(2)): not an adult's finding
    if arrived is not None and arrived > as_of:
        return False
    for leg in record.get("route") or []:
        entered, left = leg.get("entered"), leg.get("left")
        if entered is not None and left is not None and left < entered:
            return False
        for d in (entered, left):
            if d is not None and (d > as_of or (arrived is not None and d > arrived)):
                return False
    return True


def possible_expr(columns: set[str] | frozenset[str] | None = None) -> pl.Expr:
    """:func:`possible` over a table in the column form (``COLUMNS``): true on each row whose
    facts could all be true at once. The same checks, in the same reading of unknowns (a check
    that needs an unknown fact passes); ``columns`` are those the table has (a fact with no
    column is unknown). The batch's exact pass keeps only the worlds this allows."""
    have = set(COLUMNS) if columns is None else set(columns)

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in have else pl.lit(None, dtype=COLUMNS[name])

    def truthy(name: str) -> pl.Expr:
        return col(name).fill_null(False)

    as_of, arrived, born = col("as_of"), col("arrival.date"), col("birth_date")
    sector, state, border = col("arrival.sector"), col("arrival.state"), col("arrival.border")
    bad = truthy("unaccompanied_child") & truthy("family_unit")
    # law/geography.py sector_conflict: a sector lies in its own states, on the southern border
    sectors = sector_states()
    in_sector_states = pl.lit(True)
    for name, states in sectors.items():
        in_sector_states = pl.when(sector == name).then(state.is_in(list(states))) \
            .otherwise(in_sector_states)
    known_sector = sector.is_in(list(sectors)).fill_null(False)
    bad = bad | (known_sector & state.is_not_null() & ~in_sector_states.fill_null(True))
    bad = bad | (known_sector & (border != "southern_land").fill_null(False))
    bad = bad | ((border == "southern_land").fill_null(False) & state.is_not_null()
                 & ~state.is_in(sorted(southern_border_states())).fill_null(True))
    bad = bad | (born > as_of).fill_null(False) | (born > arrived).fill_null(False)
    bad = bad | (truthy("unaccompanied_child")
                 & (born.dt.offset_by("18y") <= arrived).fill_null(False))
    bad = bad | (arrived > as_of).fill_null(False)
    if "route" in have:
        entered = pl.element().struct.field("entered")
        left = pl.element().struct.field("left")
        legs = col("route")
        bad = bad | legs.list.eval(left < entered).list.any().fill_null(False)
        latest = legs.list.eval(pl.max_horizontal(entered, left)).list.max()
        bad = bad | (latest > as_of).fill_null(False) | (latest > arrived).fill_null(False)
    return ~bad
