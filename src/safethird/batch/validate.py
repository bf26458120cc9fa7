"""Vectorized validation: raw table columns → the typed column form of the case facts, and one
error (row, id, field, message) for each row that cannot be decided.

The checks are the case schema's (``facts.Case``), written as Polars expressions so that valid
rows never pass through per-row Python. A test holds the two together: a row is accepted here
exactly when ``facts.parse_case`` accepts the same record, and the field named is the same.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import polars as pl

from safethird import facts
from safethird.batch.read import FILE, ROW
from safethird.law.circuits import STATE_CIRCUIT

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
LEG_FIELDS = ("country", "entered", "left", "protection_claim")
FEAR = facts.FEAR_PREFIX
ENUMS = {
    "arrival.border": tuple(facts.Border.__members__),
    "arrival.place": tuple(facts.Place.__members__),
    "arrival.sector": tuple(facts.Sector.__members__),
    "admission_document": tuple(facts.AdmissionDocument.__members__),
    "forum": tuple(facts.Forum.__members__),
    "exceptionally_compelling": tuple(facts.ExceptionallyCompelling.__members__),
}
KINDS = {
    "id": "id", "nationalities": "countries", "last_habitual_residence": "country",
    "birth_date": "date", "unaccompanied_child": "bool", "family_unit": "bool",
    "arrival.date": "date", "arrival.border": "enum", "arrival.place": "enum",
    "arrival.state": "state", "route": "route", "trafficking_victim": "bool",
    "admission_document": "enum", "visa_exempt": "bool", "fear_claimed": "bool",
    "public_interest_exception": "bool", "metered_before_2019_07_16": "bool", "as_of": "date",
    "habitual_residence": "country", "arrival.sector": "enum",
    "arrival.scheduled_appointment": "bool", "aca_invoked": "bool", "forum": "enum",
    "criminal_record": "bool", "could_not_use_scheduling_system": "bool",
    "parole_process_authorized": "bool", "exceptionally_compelling": "enum",
}
TYPED = "__typed."
ERROR_SCHEMA = {"file": pl.String, "row": pl.Int64, "id": pl.String, "field": pl.String,
                "message": pl.String}


@cache
def _codes() -> tuple[str, ...]:
    return tuple(sorted(facts.country_codes()))


@cache
def _series(values: tuple[str, ...]) -> pl.Series:
    """A code list as a Series, built once (is_in on a Python list rebuilds it every call)."""
    return pl.Series(list(values), dtype=pl.String)


Check = tuple[pl.Expr, pl.Expr, pl.Expr]  # (field, message, failed)


def flatten(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested objects (JSON Lines, Parquet structs) → dotted columns like CSV's."""
    while True:
        nested = [c for c, t in frame.schema.items()
                  if isinstance(t, pl.Struct) and c in ("arrival", "fear_of_receiving_country")]
        if not nested:
            return frame
        c = nested[0]
        prefix = "arrival." if c == "arrival" else FEAR
        fields = frame.select(pl.col(c).struct.unnest()).columns
        frame = frame.with_columns(pl.col(c).struct.field(f).alias(prefix + f)
                                   for f in fields).drop(c)


def _as_bool(c: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr, str]:
    col = pl.col(c)
    if dtype == pl.Boolean:
        return col, pl.lit(False), ""
    if dtype == pl.String:
        value = pl.when(col == "true").then(True).when(col == "false").then(False) \
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        return value, col.is_not_null() & (col != "") & value.is_null(), \
            "Input should be a valid boolean (true or false)"
    return pl.lit(None, dtype=pl.Boolean), col.is_not_null(), \
        "Input should be a valid boolean (true or false)"


def _as_date(col: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    if dtype == pl.Date:
        return col, pl.lit(False)
    if isinstance(dtype, pl.Datetime):  # pandas has no date type: midnight timestamps are dates
        return col.dt.date(), col.is_not_null() & (col.dt.time() != dt.time(0))
    if dtype == pl.String:
        value = pl.when(col.str.contains(ISO_DATE)).then(
            col.str.to_date("%Y-%m-%d", strict=False))
        return value, col.is_not_null() & (col != "") & value.is_null()
    return pl.lit(None, dtype=pl.Date), col.is_not_null()


def _as_code(col: pl.Expr, dtype: pl.DataType, valid: list[str] | tuple[str, ...]
             ) -> tuple[pl.Expr, pl.Expr]:
    if dtype == pl.String:
        value = pl.when(col != "").then(col)
        return value, value.is_not_null() & ~value.is_in(_series(tuple(valid)).implode())
    return pl.lit(None, dtype=pl.String), col.is_not_null()


def decode_json(series: pl.Series, dtype: pl.DataType) -> tuple[pl.Series, pl.Series]:
    """JSON strings → values of ``dtype``, vectorized; (decoded, undecodable). Syntax is checked
    in bulk; if some values still defeat the decoder (a number where a list belongs, say), the
    rows are split in halves until the offending ones are found, and only those are null."""
    text = series.cast(pl.String)
    syntax_ok = text.str.json_path_match("$").is_not_null() | text.is_null() | (text == "")
    usable = text.zip_with(syntax_ok & (text != ""), _nulls(len(text)))

    def decode(part: pl.Series) -> pl.Series | None:
        try:
            return part.str.json_decode(dtype)
        except Exception:
            return None

    pieces: list[pl.Series] = []
    failed = pl.Series([False] * len(text))

    def visit(lo: int, hi: int) -> None:
        nonlocal failed
        part = usable.slice(lo, hi - lo)
        out = decode(part)
        if out is not None:
            pieces.append(out)
        elif hi - lo == 1:
            pieces.append(pl.Series([None], dtype=dtype))
            failed = failed.scatter(lo, True)
        else:
            mid = (lo + hi) // 2
            visit(lo, mid)
            visit(mid, hi)

    if len(usable):
        visit(0, len(usable))
    decoded = pl.concat(pieces) if pieces else pl.Series([], dtype=dtype)
    return decoded.alias(series.name), ~syntax_ok | failed


def _route_checks(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Normalize the route column to List(Struct) of typed legs; returns the frame and, per
    row, the first leg error as 'field\tmessage' (null where the route is valid)."""
    n = frame.height
    if "route" not in frame.columns:
        return _no_route(frame), _nulls(n)
    dtype = frame.schema["route"]
    errors = _nulls(n)
    if dtype == pl.String:
        text = frame["route"]
        decoded, bad = decode_json(text, pl.List(pl.Struct(
            {name: pl.String for name in LEG_FIELDS})))
        # keys the schema does not know would be dropped by the decoder: find them first
        keys = text.str.extract_all(r'"([^"\\]*)"\s*:').list.eval(
            pl.element().str.extract(r'"([^"\\]*)"'))
        bad = bad | keys.list.eval(~pl.element().is_in(list(LEG_FIELDS))).list.any() \
            .fill_null(False)
        errors = _nulls(n).zip_with(
            ~bad, _diagnose_json(text, bad, "route", "not a JSON list of legs"))
        frame = frame.with_columns(decoded.alias("route"))
        dtype = frame.schema["route"]
    if dtype == pl.Null:
        return _no_route(frame), errors
    if not (isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct | pl.Null)):
        err = pl.Series(["route\texpected a list of legs (objects)"] * n)
        errors = errors.zip_with(errors.is_not_null() | frame["route"].is_null(), err)
        return _no_route(frame), errors
    inner = dtype.inner
    fields = dict(inner.to_schema()) if isinstance(inner, pl.Struct) else {}
    # Every leg of every row laid end to end (a row's legs stay contiguous): each check runs
    # once over all legs, and a row's verdict is a segmented sum over its legs.
    leg = pl.col("_leg")
    parts, leg_bad, extra = _leg_parts(leg, fields)
    lengths = frame["route"].list.len()
    legs = frame.select(pl.col("route").explode(empty_as_null=False, keep_nulls=False)
                        .alias("_leg"))
    checked = legs.select(
        (pl.any_horizontal(*leg_bad).fill_null(False) | leg.is_null()).alias("bad"),
        pl.max_horizontal(parts["entered"], parts["left"]).alias("last"),
        (parts["left"] < parts["entered"]).fill_null(False).alias("order"),
        # typed already, with no empty codes: the column can be kept as it is
        (pl.lit(dtype == facts.COLUMNS["route"])
         & ~(leg.struct.field("country") == "").fill_null(False)
         & ~(leg.struct.field("protection_claim") == "").fill_null(False)
         ).alias("as_is") if fields.keys() == set(LEG_FIELDS) else pl.lit(False).alias("as_is"))
    counts = lengths.fill_null(0).to_numpy().astype(np.int64)
    frame = frame.with_columns(
        pl.Series("_route_bad", _segment_any(checked["bad"], counts)),
        pl.Series("_route_last", _segment_max_date(checked["last"], counts)),
        pl.Series("_route_order", _segment_any(checked["order"], counts)))
    bad_rows = frame.filter(pl.col("_route_bad"))
    if bad_rows.height:
        messages = _leg_messages(bad_rows, fields, extra)
        lookup = dict(zip(messages[ROW].to_list(), messages["_msg"].to_list(), strict=True))
        errs = frame[ROW].replace_strict(lookup, default=None, return_dtype=pl.String)
        errors = errors.zip_with(errors.is_not_null(), errs)
    if not (checked["as_is"].all() if checked.height else dtype == facts.COLUMNS["route"]):
        typed = pl.col("route").list.eval(pl.struct(**_leg_parts(pl.element(), fields)[0])) \
            if fields else \
            pl.col("route").list.eval(pl.struct(**{
                k: pl.lit(None, dtype=v) for k, v in facts.LEG_DTYPE.to_schema().items()}))
        frame = frame.with_columns(typed.alias("route"))
    frame = frame.drop("_route_bad").with_columns(pl.col("route").cast(facts.COLUMNS["route"]))
    return frame, errors


def _nulls(n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=pl.String, eager=True)


def _no_route(frame: pl.DataFrame) -> pl.DataFrame:
    """The route unknown on every row (no column, or a column that is not a list of legs)."""
    return frame.with_columns(pl.lit(None, dtype=facts.COLUMNS["route"]).alias("route"),
                              pl.lit(None, dtype=pl.Date).alias("_route_last"),
                              pl.lit(False).alias("_route_order"))


def _leg_parts(leg: pl.Expr, fields: dict[str, pl.DataType]
               ) -> tuple[dict[str, pl.Expr], list[pl.Expr], list[str]]:
    """(typed value of each leg field, the checks that fail, fields the schema does not know)
    for a leg given as ``leg`` (a column of exploded legs, or ``pl.element()`` in a list)."""
    parts, bad = {}, []
    for name in LEG_FIELDS:
        raw = leg.struct.field(name) if name in fields else pl.lit(None, dtype=pl.String)
        t = fields.get(name, pl.String)
        if name in ("entered", "left"):
            value, failed = _as_date(raw, t)
        elif name == "country":
            value, failed = _as_code(raw, t, _codes())
        else:
            value, failed = _as_code(raw, t, tuple(facts.ProtectionClaim.__members__))
        parts[name] = value
        bad.append(failed)
    extra = [f for f in fields if f not in LEG_FIELDS]
    bad += [leg.struct.field(f).is_not_null() for f in extra]
    return parts, bad, extra


def _segment_any(values: pl.Series, counts: np.ndarray) -> np.ndarray:
    """Per row, whether any of its ``counts[i]`` consecutive values is true."""
    ends = np.cumsum(counts)
    total = np.concatenate([[0], np.cumsum(values.to_numpy().astype(np.int64))])
    return total[ends] - total[ends - counts] > 0


def _segment_max_date(values: pl.Series, counts: np.ndarray) -> pl.Series:
    """Per row, the latest of its ``counts[i]`` consecutive dates (null when none is known)."""
    days = values.to_physical().fill_null(np.iinfo(np.int32).min).to_numpy()
    out = np.full(len(counts), np.iinfo(np.int32).min, dtype=np.int32)
    nonempty = counts > 0
    if len(days):
        out[nonempty] = np.maximum.reduceat(days, (np.cumsum(counts) - counts)[nonempty])
    latest = pl.Series(out)
    return latest.set(latest == np.iinfo(np.int32).min, None).cast(pl.Date)


def _diagnose_json(texts: pl.Series, bad: pl.Series, name: str, fallback: str) -> pl.Series:
    """'field\tmessage' for the (few) undecodable values: the case schema says which part."""
    import json

    from safethird.facts import CaseError, parse_case

    out: list[str | None] = [None] * len(texts)
    for i in bad.arg_true().to_list():
        field_, message = name, fallback
        try:
            parse_case({name: json.loads(texts[i])})
        except CaseError as e:
            field_, message = e.field, e.message
        except (ValueError, TypeError):
            pass
        out[i] = f"{field_}\t{message}"
    return pl.Series(out, dtype=pl.String)


def _leg_messages(rows: pl.DataFrame, fields: dict, extra: list[str]) -> pl.DataFrame:
    """For the (few) rows with a bad leg: which leg and field, with the schema's message."""
    legs = rows.select(ROW, "route", pl.int_ranges(pl.col("route").list.len()).alias("_i")) \
        .explode("route", "_i").filter(pl.col("_i").is_not_null())
    checks: list[Check] = []
    leg = pl.col("route")
    checks.append((pl.lit("(leg)"), pl.lit("a leg must be an object"), leg.is_null()))
    for name in LEG_FIELDS:
        if name not in fields:
            continue
        raw, t = leg.struct.field(name), fields[name]
        if name in ("entered", "left"):
            _, failed = _as_date(raw, t)
            msg = pl.format("not an ISO 8601 date (YYYY-MM-DD): '{}'", raw.cast(pl.String))
        elif name == "country":
            _, failed = _as_code(raw, t, _codes())
            msg = pl.format("not an ISO 3166-1 alpha-2 country code: '{}'", raw.cast(pl.String))
        else:
            _, failed = _as_code(raw, t, tuple(facts.ProtectionClaim.__members__))
            msg = pl.format("expected one of {}; got '{}'",
                            pl.lit(", ".join(facts.ProtectionClaim.__members__)),
                            raw.cast(pl.String))
        checks.append((pl.lit(name), msg, failed))
    for f in extra:
        checks.append((pl.lit(f), pl.lit("unknown field (not in the case schema; see "
                                          "CONTRACT.md)"), leg.struct.field(f).is_not_null()))
    first = _first_failure(checks)
    return legs.with_columns(first.alias("_f")).filter(pl.col("_f").is_not_null()) \
        .group_by(ROW, maintain_order=True).agg(
            pl.format("route[{}].{}", pl.col("_i"), pl.col("_f").struct.field("field"))
            .first().alias("_field"),
            pl.col("_f").struct.field("message").first().alias("_m")) \
        .select(ROW, pl.concat_str(pl.col("_field").str.replace(r"\.\(leg\)$", ""),
                                   pl.col("_m"), separator="\t").alias("_msg"))


def _first_failure(checks: list[Check]) -> pl.Expr:
    out: pl.Expr = pl.lit(None, dtype=pl.Struct({"field": pl.String, "message": pl.String}))
    for field_, message, failed in reversed(checks):
        out = pl.when(failed.fill_null(False)).then(
            pl.struct(field_.alias("field"), message.alias("message"))).otherwise(out)
    return out


def validate(raw: pl.DataFrame, default_as_of: dt.date | None,
             fear_countries: tuple[str, ...] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows in the column form of ``facts.COLUMNS``, errors) — together, every row."""
    frame = flatten(raw)
    schema = frame.schema
    checks: list[Check] = []
    values: dict[str, pl.Expr] = {}
    known = set(KINDS) | {ROW, FILE}
    for c in frame.columns:
        if c in known:
            continue
        if c.startswith(FEAR) and c[len(FEAR):] in facts.country_codes():
            value, failed, msg = _as_bool(c, schema[c])
            values[c] = value
            checks.append((pl.lit(c), pl.lit(msg), failed))
        else:
            checks.append((pl.lit(c), pl.lit("unknown field (not in the case schema; see "
                                              "CONTRACT.md)"),
                           pl.col(c).is_not_null() & (pl.col(c).cast(pl.String) != "")))
    for c, kind in KINDS.items():
        if c not in schema or kind == "route":
            continue
        col, t = pl.col(c), schema[c]
        if kind == "bool":
            value, failed, msg = _as_bool(c, t)
            message: pl.Expr = pl.lit(msg)
        elif kind == "date":
            value, failed = _as_date(col, t)
            message = pl.format("not an ISO 8601 date (YYYY-MM-DD): '{}'", col.cast(pl.String))
        elif kind == "country":
            value, failed = _as_code(col, t, _codes())
            message = pl.format("not an ISO 3166-1 alpha-2 country code: '{}'",
                                col.cast(pl.String))
        elif kind == "state":
            value, failed = _as_code(col, t, sorted(STATE_CIRCUIT))
            message = pl.format("not a US state or territory code (e.g. TX): '{}'",
                                col.cast(pl.String))
        elif kind == "enum":
            value, failed = _as_code(col, t, ENUMS[c])
            message = pl.format("expected one of {}; got '{}'", pl.lit(", ".join(ENUMS[c])),
                                col.cast(pl.String))
        elif kind == "id":
            value = col if t == pl.String else pl.lit(None, dtype=pl.String)
            failed = pl.lit(False) if t == pl.String else col.is_not_null()
            message = pl.lit("Input should be a valid string")
        else:  # nationalities
            continue
        values[c] = value
        checks.append((pl.lit(c), message, failed))
    frame = _nationalities(frame, checks, values)
    frame, route_errors = _route_checks(frame)
    frame = frame.with_columns(route_errors.alias("_route_error"))
    checks.append((pl.col("_route_error").str.split("\t").list.first(),
                   pl.col("_route_error").str.split("\t").list.last(),
                   pl.col("_route_error").is_not_null()))
    # Only the index of the first failing check is computed for every row; the field and the
    # message are built for the failing rows alone.
    typed = {c: values.get(c, pl.col(c) if c in frame.columns else pl.lit(None, dtype=dtype))
             for c, dtype in facts.COLUMNS.items()}
    fear_cols = sorted({*(FEAR + p for p in fear_countries),
                        *(c for c in frame.columns if c.startswith(FEAR))})
    typed |= {c: values.get(c, pl.lit(None, dtype=pl.Boolean)) for c in fear_cols}
    if default_as_of is not None:
        typed["as_of"] = typed["as_of"].fill_null(pl.lit(default_as_of))
    frame = frame.with_columns(_first_index(checks).alias("_e1"),
                               **{TYPED + c: v for c, v in typed.items()})
    t = {c: pl.col(TYPED + c) for c in typed}
    leg_last, leg_order = pl.col("_route_last"), pl.col("_route_order")
    # checks across fields, on the typed values (as the case schema's model validators do)
    cross: list[Check] = [
        (pl.lit("(case)"), pl.lit("unaccompanied_child and family_unit cannot both be true"),
         t["unaccompanied_child"] & t["family_unit"]),
        (pl.lit("route"), pl.lit("a leg's left date is before its entered date"), leg_order),
        *_sector_checks(t),
        (pl.lit("(case)"), pl.format("a route date ({}) is after arrival.date {}", leg_last,
                                     t["arrival.date"]),
         leg_last > t["arrival.date"]),
    ]
    frame = frame.with_columns(_first_index(cross).alias("_e2"))
    bad = pl.col("_e1").is_not_null() | pl.col("_e2").is_not_null()
    failing = frame.filter(bad)
    if not failing.height:  # the usual case: no message to build
        errors = pl.DataFrame(schema=ERROR_SCHEMA)
    else:
        errors = failing.select(
            pl.col(FILE).alias("file"), pl.col(ROW).alias("row"),
            (pl.col("id").cast(pl.String) if "id" in failing.columns
             else pl.lit(None, dtype=pl.String)).alias("id"),
            pl.coalesce(_describe(checks, "_e1", 0), _describe(cross, "_e2", 0)).alias("field"),
            pl.coalesce(_describe(checks, "_e1", 1), _describe(cross, "_e2", 1)).alias("message"))
    valid = frame.filter(~bad).select(ROW, FILE, *(pl.col(TYPED + c).alias(c) for c in typed))
    return valid.cast(dict(facts.COLUMNS)), errors.cast(ERROR_SCHEMA)


def _sector_checks(t: dict[str, pl.Expr]) -> list[Check]:
    """A Border Patrol sector implies its state(s) and the southern land border: the same
    check, and the same message, as the case schema's (``law.geography.sector_conflict``)."""
    from safethird.law.geography import sector_states

    states = {s: ", ".join(v) for s, v in sector_states().items()}
    sector, state, border = t["arrival.sector"], t["arrival.state"], t["arrival.border"]
    allowed = pl.any_horizontal(*((sector == s) & state.is_in(list(v))
                                  for s, v in sector_states().items()))
    return [
        (pl.lit("(case)"), pl.format("arrival.sector {} lies in {}, not in arrival.state {}",
                                     sector, sector.replace_strict(states, default=None,
                                                                   return_dtype=pl.String),
                                     state),
         sector.is_not_null() & state.is_not_null() & ~allowed),
        (pl.lit("(case)"), pl.format("arrival.sector {} is on the southern land border, not {}",
                                     sector, border),
         sector.is_not_null() & border.is_not_null() & (border != "southern_land")),
    ]


def _first_index(checks: list[Check]) -> pl.Expr:
    out: pl.Expr = pl.lit(None, dtype=pl.Int16)
    for i in reversed(range(len(checks))):
        out = pl.when(checks[i][2].fill_null(False)).then(pl.lit(i, dtype=pl.Int16)) \
            .otherwise(out)
    return out


def _describe(checks: list[Check], index: str, part: int) -> pl.Expr:
    out: pl.Expr = pl.lit(None, dtype=pl.String)
    for i in reversed(range(len(checks))):
        out = pl.when(pl.col(index) == i).then(checks[i][part].cast(pl.String)).otherwise(out)
    return out


def _nationalities(frame: pl.DataFrame, checks: list[Check], values: dict[str, pl.Expr]
                   ) -> pl.DataFrame:
    c = "nationalities"
    if c not in frame.columns:
        return frame
    t = frame.schema[c]
    bad_json: pl.Series | None = None
    if t == pl.String:
        decoded, bad_json = decode_json(frame[c], pl.List(pl.String))
        frame = frame.with_columns(decoded.alias(c))
        t = frame.schema[c]
    col = pl.col(c)
    if t == pl.Null:
        value, failed = pl.lit(None, dtype=pl.List(pl.String)), pl.lit(False)
        message: pl.Expr = pl.lit("")
    elif isinstance(t, pl.List) and t.inner in (pl.String, pl.Null):
        codes = _codes()
        el = pl.element().cast(pl.String)
        # a cheap flag for every row; which element is wrong only for the failing rows
        failed = col.list.eval(el.is_null() | ~el.is_in(_series(codes).implode())).list.any() \
            .fill_null(False)
        bad_index = col.list.eval(pl.int_range(pl.len()).filter(
            el.is_null() | ~el.is_in(_series(codes).implode()))).list.first()
        value = col.cast(pl.List(pl.String))
        message = pl.format("not an ISO 3166-1 alpha-2 country code: '{}'",
                            col.cast(pl.List(pl.String)).list.get(bad_index.fill_null(0),
                                                                   null_on_oob=True))
        checks.append((pl.format("nationalities[{}]", bad_index), message, failed))
        values[c] = value
        failed = pl.lit(False)
    else:
        value, failed = pl.lit(None, dtype=pl.List(pl.String)), col.is_not_null()
        message = pl.lit("Input should be a valid list of country codes")
    if bad_json is not None:
        frame = frame.with_columns(bad_json.alias("_nat_bad"))
        checks.append((pl.lit(c), pl.lit("not a JSON list of country codes, e.g. [\"HN\"]"),
                       pl.col("_nat_bad")))
    checks.append((pl.lit(c), message, failed))
    values[c] = value
    return frame


def error_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ERROR_SCHEMA)

