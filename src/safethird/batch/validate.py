"""Vectorized validation: raw table columns → the typed column form of the case facts, and one
error (row, id, field, message) for each row that cannot be decided.

The checks are the case schema's (``facts.Case``), written as Polars expressions so that valid
rows never pass through per-row Python. A test holds the two together: a row is accepted here
exactly when ``facts.parse_case`` accepts the same record, and the field named is the same.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

import numpy as np
import polars as pl

from safethird import facts
from safethird.batch.read import FILE, LINE, ROW
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
# line: the row's line in a text file (a CSV's header is line 1), as a spreadsheet numbers it
ERROR_SCHEMA = {"file": pl.String, "row": pl.Int64, "line": pl.Int64, "id": pl.String,
                "field": pl.String, "message": pl.String}


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


TRUE_WORDS = ("true", "True", "TRUE", "yes", "Yes", "YES", "1")
FALSE_WORDS = ("false", "False", "FALSE", "no", "No", "NO", "0")
BOOL_MESSAGE = "Input should be a valid boolean (true or false)"


def _as_bool(c: str, dtype: pl.DataType, table: bool = False
             ) -> tuple[pl.Expr, pl.Expr, str]:
    """JSON's true/false; in a table also TRUE/True/yes/no/1/0 (what spreadsheets write)."""
    col = pl.col(c)
    if dtype == pl.Boolean:
        return col, pl.lit(False), ""
    message = BOOL_MESSAGE if not table else \
        "not a yes/no value (true, false, yes, no, 1, 0; empty for unknown)"
    if dtype == pl.String:
        if table:
            value = pl.when(col.is_in(_series(TRUE_WORDS).implode())).then(True) \
                .when(col.is_in(_series(FALSE_WORDS).implode())).then(False) \
                .otherwise(pl.lit(None, dtype=pl.Boolean))
        else:
            value = pl.when(col == "true").then(True).when(col == "false").then(False) \
                .otherwise(pl.lit(None, dtype=pl.Boolean))
        return value, col.is_not_null() & (col != "") & value.is_null(), message
    if table and dtype.is_integer():
        value = pl.when(col == 1).then(True).when(col == 0).then(False) \
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        return value, col.is_not_null() & value.is_null(), message
    return pl.lit(None, dtype=pl.Boolean), col.is_not_null(), message


ZERO_TIMES = ("", " 00:00:00", "T00:00:00", " 00:00", "T00:00", " 00:00:00.000",
              "T00:00:00.000")


def _timed(frame: pl.DataFrame) -> bool:
    """Whether some text date cell of the frame is longer than a date: only then can it be a
    date with a zero time, so only then are the zero times looked for (where no cell is longer,
    the lenient reading and the strict one are the same)."""
    return bool(frame.width) and any(
        frame.select(pl.col(c).str.len_bytes().max().fill_null(0) > 10 for c in frame.columns)
        .row(0))


def _as_date(col: pl.Expr, dtype: pl.DataType, table: bool = False
             ) -> tuple[pl.Expr, pl.Expr]:
    if dtype == pl.Date:
        return col, pl.lit(False)
    if isinstance(dtype, pl.Datetime):  # pandas has no date type: midnight timestamps are dates
        return col.dt.date(), col.is_not_null() & (col.dt.time() != dt.time(0))
    if dtype == pl.String:
        # a spreadsheet exports a date cell as 2019-12-10 00:00:00: the zero time is dropped
        # (plain slices and a set look-up: cheaper than a regex over every cell)
        text = col
        if table:
            text = pl.when(col.str.slice(10).is_in(_series(ZERO_TIMES).implode())) \
                .then(col.str.head(10))
        value = pl.when(text.str.contains(ISO_DATE)).then(
            text.str.to_date("%Y-%m-%d", strict=False))
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

    def decode(part: pl.Series) -> pl.Series | None:
        try:
            return part.str.json_decode(dtype)
        except Exception:
            return None

    # The usual case first: the whole column decodes. The decoder yields a value only for
    # valid JSON, so the syntax is checked only where it yields none (`null`, say).
    present = text.is_not_null() & (text != "")
    whole = decode(text.zip_with(present, _nulls(len(text))))
    if whole is not None:
        unsure = present & whole.is_null()
        if not unsure.any():
            return whole.alias(series.name), pl.Series([False] * len(text))
        syntax_ok = ~unsure | text.zip_with(unsure, _nulls(len(text))) \
            .str.json_path_match("$").is_not_null()
        return whole.alias(series.name), ~syntax_ok
    syntax_ok = text.str.json_path_match("$").is_not_null() | text.is_null() | (text == "")
    usable = text.zip_with(syntax_ok & (text != ""), _nulls(len(text)))

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


def _route_checks(frame: pl.DataFrame, table: bool = False
                  ) -> tuple[pl.DataFrame, pl.Series]:
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
        # (counted, not listed: a known key's match is also a match of any key, at the same
        # place, and every key's match holds a colon; so where the known keys are as many as
        # the colons, no key is unknown, and only the other rows need every key counted)
        known = text.str.count_matches(r'"(?:' + "|".join(LEG_FIELDS) + r')"\s*:')
        unsure = (text.str.count_matches(":", literal=True) != known).fill_null(False)
        if unsure.any():
            keys = text.zip_with(unsure, _nulls(n)).str.count_matches(r'"[^"\\]*"\s*:')
            bad = bad | (unsure & (keys != known)).fill_null(False)
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
    lengths = frame["route"].list.len()
    legs = frame.select(pl.col("route").explode(empty_as_null=False, keep_nulls=False)
                        .alias("_leg"))
    table = table and _timed(legs.select(leg.struct.field(f).alias(f) for f in ("entered", "left")
                                         if fields.get(f) == pl.String))
    parts, leg_bad, extra = _leg_parts(leg, fields, table)
    checked = legs.select(
        # a leg's own check (left before entered) counts once its fields are valid, as the
        # schema's Leg validator runs
        (pl.any_horizontal(*leg_bad).fill_null(False) | leg.is_null()
         | (parts["left"] < parts["entered"]).fill_null(False)).alias("bad"),
        pl.max_horizontal(parts["entered"], parts["left"]).alias("last"),
        pl.lit(False).alias("order"),
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
        messages = _leg_messages(bad_rows, fields, extra, table)
        lookup = dict(zip(messages[ROW].to_list(), messages["_msg"].to_list(), strict=True))
        errs = frame[ROW].replace_strict(lookup, default=None, return_dtype=pl.String)
        errors = errors.zip_with(errors.is_not_null(), errs)
    if not (checked["as_is"].all() if checked.height else dtype == facts.COLUMNS["route"]):
        typed = pl.col("route").list.eval(pl.struct(**_leg_parts(pl.element(), fields, table)[0])) \
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


def _leg_parts(leg: pl.Expr, fields: dict[str, pl.DataType], table: bool = False
               ) -> tuple[dict[str, pl.Expr], list[pl.Expr], list[str]]:
    """(typed value of each leg field, the checks that fail, fields the schema does not know)
    for a leg given as ``leg`` (a column of exploded legs, or ``pl.element()`` in a list)."""
    parts, bad = {}, []
    for name in LEG_FIELDS:
        raw = leg.struct.field(name) if name in fields else pl.lit(None, dtype=pl.String)
        t = fields.get(name, pl.String)
        if name in ("entered", "left"):
            value, failed = _as_date(raw, t, table)
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
        problems = [(name, fallback)]
        try:
            parse_case({name: json.loads(texts[i])})
        except CaseError as e:
            problems = e.problems
        except (ValueError, TypeError, RecursionError):
            pass
        out[i] = "\n".join(f"{f}\t{m}" for f, m in problems)
    return pl.Series(out, dtype=pl.String)


def _leg_messages(rows: pl.DataFrame, fields: dict, extra: list[str], table: bool = False
                  ) -> pl.DataFrame:
    """For the (few) rows with a bad leg: every leg and field that is wrong, with the schema's
    message, as 'field\tmessage' lines per row."""
    legs = rows.select(ROW, "route", pl.int_ranges(pl.col("route").list.len()).alias("_i")) \
        .explode("route", "_i").filter(pl.col("_i").is_not_null())
    checks: list[Check] = []
    leg = pl.col("route")
    checks.append((pl.lit("(leg)"), pl.lit("a leg must be an object"), leg.is_null()))
    typed: dict[str, pl.Expr] = {}
    for name in LEG_FIELDS:
        if name not in fields:
            continue
        raw, t = leg.struct.field(name), fields[name]
        if name in ("entered", "left"):
            typed[name], failed = _as_date(raw, t, table)
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
        checks.append((pl.lit(f), pl.lit(facts.unknown_field_message(f"route[].{f}")),
                       leg.struct.field(f).is_not_null()))
    if {"entered", "left"} <= typed.keys():
        fields_ok = ~pl.any_horizontal(*(c[2].fill_null(False) for c in checks))
        checks.append((pl.lit("(leg)"), pl.lit("left is before entered"),
                       fields_ok & (typed["left"] < typed["entered"])))
    return legs.with_columns(_failures(checks).alias("_f")).explode("_f") \
        .filter(pl.col("_f").is_not_null()) \
        .select(ROW, pl.concat_str(
            pl.format("route[{}].{}", pl.col("_i"), pl.col("_f").struct.field("field"))
            .str.replace(r"\.\(leg\)$", ""),
            pl.col("_f").struct.field("message"), separator="\t").alias("_msg")) \
        .group_by(ROW, maintain_order=True).agg(pl.col("_msg").str.join("\n"))


ERROR = pl.Struct({"field": pl.String, "message": pl.String})


def _failures(checks: list[Check]) -> pl.Expr:
    """Per row, the list of every failing check's (field, message)."""
    if not checks:
        return pl.lit([], dtype=pl.List(ERROR))
    return pl.concat_list([
        pl.when(failed.fill_null(False)).then(
            pl.struct(field_.cast(pl.String).alias("field"),
                      message.cast(pl.String).alias("message")))
        for field_, message, failed in checks]).list.drop_nulls()


def _json_item(value: pl.Expr) -> pl.Expr:
    """A string as a JSON string literal (quotes escaped), vectorized."""
    return pl.struct(value.alias("v")).struct.json_encode().str.strip_prefix('{"v":') \
        .str.strip_suffix("}")


ROUTE_COLUMN = re.compile(r"^route\.(\d+)\.([a-z_]+)$")


@cache
def _words(c: str) -> tuple[str, ...] | None:
    """Every value a text column of codes or yes/no words accepts, the empty cell included;
    None for the other columns."""
    kind = KINDS.get(c) or ("bool" if c.startswith(FEAR) and c[len(FEAR):] in
                            facts.country_codes() else None)
    words = {"bool": TRUE_WORDS + FALSE_WORDS, "country": _codes(), "enum": ENUMS.get(c, ()),
             "state": tuple(sorted(STATE_CIRCUIT))}.get(kind or "")
    return None if words is None else ("", *words)


def spreadsheet(frame: pl.DataFrame, words: bool = True) -> tuple[pl.DataFrame, bool]:
    """Cells as spreadsheet programs write them → the values the checks take: cells trimmed
    (an empty cell is unknown), integer ids as text, ``HN;GT`` for nationalities, ``GT;MX`` or
    ``route.1.country``, ``route.1.entered``, … columns for the route. Returns the frame and
    whether the route came in numbered columns (errors then name those columns). ``words``
    false: the columns of codes and yes/no words are left as they are (``validate`` looks at
    them only if some failing row has a cell that is not one of their words)."""
    text = [c for c, t in frame.schema.items() if t == pl.String and c not in (ROW, FILE)
            and (words or _words(c) is None)]
    if text:  # trimmed only where some cell needs it (finding out costs less than trimming)
        # A column of codes or yes/no words whose every cell is one of them (or empty) is the
        # same trimmed or not: only the others are looked at for padding. (A set look-up costs
        # less than the look at both ends of every cell; typed files pass here.)
        exact = {c: accepted for c in text if (accepted := _words(c)) is not None}
        unsure = frame.select((pl.col(c).is_not_null() & ~pl.col(c).is_in(
            _series(accepted).implode())).any().alias(c) for c, accepted in exact.items()
        ).row(0, named=True) if exact else {}
        text = [c for c in text if unsure.get(c, True)]
        padded = frame.select(pl.any_horizontal(
            pl.col(c).str.starts_with(p) | pl.col(c).str.ends_with(p) for p in (" ", "\t"))
            .any().alias(c) for c in text).row(0, named=True) if text else {}
        frame = frame.with_columns(
            pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars())
            .alias(c) for c in text if padded[c])
    if "id" in frame.columns and frame.schema["id"].is_integer():
        frame = frame.with_columns(pl.col("id").cast(pl.String))
    listed, route = pl.col("nationalities"), pl.col("route")
    # the short forms (HN;GT, GT;MX) are rewritten as JSON only when some cell uses them
    short = {c: frame.select((pl.col(c).is_not_null() & ~pl.col(c).str.contains(r"^[\[{]"))
                             .any()).item()
             for c in ("nationalities", "route") if frame.schema.get(c) == pl.String}
    if short.get("nationalities"):
        items = listed.str.replace_all(",", ";").str.split(";").list.eval(
            _json_item(pl.element().str.strip_chars()))
        frame = frame.with_columns(
            pl.when(listed.str.contains(r"^[\[{]")).then(listed)
            .otherwise(pl.concat_str(pl.lit("["), items.list.join(", "), pl.lit("]")))
            .alias("nationalities"))
    if short.get("route"):
        legs = route.str.replace_all(",", ";").str.split(";").list.eval(
            pl.concat_str(pl.lit('{"country": '), _json_item(pl.element().str.strip_chars()),
                          pl.lit("}")))
        frame = frame.with_columns(
            pl.when(route.str.contains(r"^[\[{]")).then(route)
            .otherwise(pl.concat_str(pl.lit("["), legs.list.join(", "), pl.lit("]")))
            .alias("route"))
    numbered: dict[int, dict[str, str]] = {}
    for c in frame.columns:
        if m := ROUTE_COLUMN.match(c):
            numbered.setdefault(int(m[1]), {})[m[2]] = c
    if not numbered:
        return frame, False
    n_max = max(numbered)
    legs_, filled = [], []
    for n in range(1, n_max + 1):
        cols = numbered.get(n, {})
        parts = {f: (pl.col(cols[f]).cast(pl.String) if f in cols
                     else pl.lit(None, dtype=pl.String)) for f in LEG_FIELDS}
        legs_.append(pl.struct(**parts))
        # a leg counts up to the last one with any cell filled; an empty one before it is a
        # leg whose facts are unknown
        filled.append(pl.when(pl.any_horizontal(*(p.is_not_null() for p in parts.values())))
                      .then(pl.lit(n)).otherwise(pl.lit(0)))
    count = pl.max_horizontal(*filled)
    frame = frame.with_columns(
        pl.when(count > 0).then(pl.concat_list(legs_).list.head(count)).alias("route")
    ).drop(c for leg in numbered.values() for c in leg.values())
    return frame, True


def check_columns(columns: list[str], source: str, *, table: bool = True) -> None:
    """The header of a table, checked once before any row: every column a fact of the case
    schema (docs/cases.md), each unknown or misspelt one named with a suggestion."""
    problems = []
    seen: set[str] = set()
    numbered = False
    for c in columns:
        if c in seen:
            problems.append(f"column {c!r} appears twice")
        seen.add(c)
        if c in KINDS or c in ("arrival", "fear_of_receiving_country"):
            continue
        if c.startswith(FEAR):
            code = c[len(FEAR):]
            if code not in facts.country_codes():
                problems.append(f"column {c!r}: {facts.country_message(code)}")
            continue
        m = ROUTE_COLUMN.match(c)
        if table and m and int(m[1]) >= 1 and m[2] in LEG_FIELDS:
            numbered = True
            continue
        if table and m:
            problems.append(f"column {c!r}: route columns are route.N.FIELD with N from 1 and "
                            f"FIELD one of {', '.join(LEG_FIELDS)}")
            continue
        problems.append(f"column {c!r}: {facts.unknown_field_message(c)}")
    if numbered and "route" in seen:
        problems.append("both a 'route' column and route.N.* columns: use one layout")
    if problems:
        from safethird.batch.read import UnusableInput

        raise UnusableInput(f"{source}: line 1 (header): " + "; ".join(problems))


def validate(raw: pl.DataFrame, default_as_of: dt.date | None,
             fear_countries: tuple[str, ...] = (), *, table: bool = False,
             as_of_from_rows: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows in the column form of ``facts.COLUMNS``, errors) — together, every row;
    a row with several problems has one error per field. ``table``: the cells come from a
    spreadsheet-like table (CSV, Parquet, a data frame): they are read leniently (see
    ``spreadsheet`` and ``_as_bool``); JSON Lines keeps JSON's types, as a case file does.
    ``default_as_of`` decides every row, unless ``as_of_from_rows``: then a row's own
    ``as_of`` wins and ``default_as_of`` fills the rows without one."""
    frame = flatten(raw)
    try:  # first with the columns of words as they are: typed files have nothing to trim
        return _validate(frame, default_as_of, fear_countries, table, as_of_from_rows, False)
    except _Unsure:
        return _validate(frame, default_as_of, fear_countries, table, as_of_from_rows, True)


class _Unsure(Exception):
    """A failing row has a cell of a column of words that is none of them: trimmed, it might
    be one, so the table is read again with those columns trimmed as a spreadsheet's are."""


def _validate(frame: pl.DataFrame, default_as_of: dt.date | None,
              fear_countries: tuple[str, ...], table: bool, as_of_from_rows: bool,
              words: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    flat_route = False
    if table:
        untrimmed = [c for c, t in frame.schema.items() if t == pl.String and not words
                     and c not in (ROW, FILE) and _words(c) is not None]
        frame, flat_route = spreadsheet(frame, words)
    schema = frame.schema
    checks: list[Check] = []
    values: dict[str, pl.Expr] = {}
    known = set(KINDS) | {ROW, FILE, LINE}
    timed = table and _timed(frame.select(c for c, kind in KINDS.items()
                                          if kind == "date" and schema.get(c) == pl.String))
    for c in frame.columns:
        if c in known:
            continue
        if c.startswith(FEAR) and c[len(FEAR):] in facts.country_codes():
            value, failed, msg = _as_bool(c, schema[c], table)
            values[c] = value
            checks.append((pl.lit(c), pl.lit(msg), failed))
        else:
            checks.append((pl.lit(c), pl.lit(facts.unknown_field_message(c)),
                           pl.col(c).is_not_null() & (pl.col(c).cast(pl.String) != "")))
    for c, kind in KINDS.items():
        if c not in schema or kind == "route":
            continue
        col, t = pl.col(c), schema[c]
        if kind == "bool":
            value, failed, msg = _as_bool(c, t, table)
            message: pl.Expr = pl.lit(msg)
        elif kind == "date":
            value, failed = _as_date(col, t, timed)
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
    frame, route_errors = _route_checks(frame, table)
    frame = frame.with_columns(route_errors.alias("_route_error"))
    typed = {c: values.get(c, pl.col(c) if c in frame.columns else pl.lit(None, dtype=dtype))
             for c, dtype in facts.COLUMNS.items()}
    fear_cols = sorted({*(FEAR + p for p in fear_countries),
                        *(c for c in frame.columns if c.startswith(FEAR))})
    typed |= {c: values.get(c, pl.lit(None, dtype=pl.Boolean)) for c in fear_cols}
    if default_as_of is not None:
        typed["as_of"] = typed["as_of"].fill_null(pl.lit(default_as_of)) if as_of_from_rows \
            else pl.lit(default_as_of)
    # Only a flag per row is computed for every row; the fields and the messages are built
    # for the failing rows alone.
    field_bad = pl.any_horizontal(*(f.fill_null(False) for _, _, f in checks),
                                  pl.col("_route_error").is_not_null())
    frame = frame.with_columns(field_bad.alias("_e1"),
                               **{TYPED + c: v for c, v in typed.items()})
    t = {c: pl.col(TYPED + c) for c in typed}
    leg_last = pl.col("_route_last")
    # checks across fields, on the typed values, once every field is valid (as the case
    # schema's model validators run)
    cross: list[Check] = [
        (pl.lit("(case)"), pl.lit("unaccompanied_child and family_unit cannot both be true"),
         t["unaccompanied_child"] & t["family_unit"]),
        *_sector_checks(t),
        (pl.lit("(case)"), pl.format("a route date ({}) is after arrival.date {}", leg_last,
                                     t["arrival.date"]),
         leg_last > t["arrival.date"]),
    ]
    bad = pl.col("_e1") | pl.any_horizontal(*(f.fill_null(False) for _, _, f in cross))
    frame = frame.with_columns(bad.alias("_bad"))
    failing = frame.filter(pl.col("_bad"))
    # only a cell that fails its check can change when trimmed, so only failing rows are
    # looked at
    if table and untrimmed and failing.height and any(failing.select(
            (pl.col(c).is_not_null() & ~pl.col(c).is_in(_series(_words(c)).implode())).any()
            for c in untrimmed).row(0)):
        raise _Unsure
    if not failing.height:  # the usual case: no message to build
        errors = pl.DataFrame(schema=ERROR_SCHEMA)
    else:
        route_list = pl.col("_route_error").str.split("\n").list.eval(pl.struct(
            pl.element().str.split("\t").list.first().alias("field"),
            pl.element().str.split("\t").list.last().alias("message")))
        every = pl.when(pl.col("_e1")).then(
            pl.concat_list(_failures(checks), route_list.fill_null(pl.lit([], dtype=pl.List(
                ERROR))))).otherwise(_failures(cross))
        errors = failing.select(
            pl.col(FILE).alias("file"), pl.col(ROW).alias("row"),
            (pl.col(LINE) if LINE in failing.columns else pl.lit(None, dtype=pl.Int64))
            .alias("line"),
            (pl.col("id").cast(pl.String) if "id" in failing.columns
             else pl.lit(None, dtype=pl.String)).alias("id"),
            every.alias("_f")).explode("_f").select(
            "file", "row", "line", "id", pl.col("_f").struct.field("field"),
            pl.col("_f").struct.field("message"))
        errors = _with_hints(errors, flat_route)
    valid = frame.filter(~pl.col("_bad")).select(
        ROW, FILE, *(pl.col(TYPED + c).alias(c) for c in typed))
    return valid.cast(dict(facts.COLUMNS)), errors.cast(ERROR_SCHEMA)


def _with_hints(errors: pl.DataFrame, flat_route: bool) -> pl.DataFrame:
    """Suggestions for the values people write (country names, lower-case codes, dates the
    spreadsheet way), computed once per distinct bad value; and, for a route given in numbered
    columns, the column's own name (route.1.country for route[0].country)."""
    quoted = r"^(not an ISO 3166-1 alpha-2 country code|not an ISO 8601 date \(YYYY-MM-DD\)):" \
             r" '(.*)'$"
    errors = errors.with_columns(pl.col("message").str.extract(quoted, 1).alias("_k"),
                                 pl.col("message").str.extract(quoted, 2).alias("_v"))
    pairs = errors.select("_k", "_v").filter(pl.col("_k").is_not_null()).unique()
    hints = {}
    for kind, value in pairs.iter_rows():
        hints[f"{kind}\t{value}"] = (facts.country_message(value) if kind.startswith(
            "not an ISO 3166") else facts.date_message(value))
    key = pl.concat_str("_k", "_v", separator="\t")
    errors = errors.with_columns(pl.coalesce(
        key.replace_strict(hints, default=None, return_dtype=pl.String) if hints
        else pl.lit(None, dtype=pl.String), pl.col("message")).alias("message")
    ).drop("_k", "_v")
    if flat_route:
        leg = r"^route\[(\d+)\]"
        errors = errors.with_columns(
            pl.when(pl.col("field").str.contains(leg)).then(pl.concat_str(
                pl.lit("route."),
                (pl.col("field").str.extract(leg, 1).cast(pl.Int64) + 1).cast(pl.String),
                pl.col("field").str.replace(leg + r"\.?", "").str.replace(r"^(.)", ".$1")))
            .otherwise(pl.col("field")).alias("field"))
    return errors


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
         # one sector problem per row, as the case schema reports it: the state first
         sector.is_not_null() & border.is_not_null() & (border != "southern_land")
         & (state.is_null() | allowed)),
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
    return pl.DataFrame([{"line": None} | r for r in rows], schema=ERROR_SCHEMA)

