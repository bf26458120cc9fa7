"""``safethird.decide_batch``: the batch engine from Python (notebooks, pipelines)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import polars as pl

from safethird.batch.duplicates import Duplicates
from safethird.batch.read import FILE, ROW, read_chunks
from safethird.batch.run import decide_rows
from safethird.law.data import Law


class InvalidRows(ValueError):
    """Some rows could not be decided; ``errors`` lists each (row, id, field, message)."""

    def __init__(self, errors: pl.DataFrame):
        self.errors = errors
        first = errors.row(0, named=True)
        super().__init__(f"{errors['row'].n_unique()} invalid row(s); first: row "
                         f"{first['row']} field "
                         f"{first['field']}: {first['message']}")


def decide_batch(data: pl.DataFrame | pl.LazyFrame | Any | str | Path, *,
                 as_of: str | dt.date | None = None,
                 variant: str | Iterable[str] | None = None,
                 errors: Literal["raise", "return"] = "raise",
                 law: Law | None = None, as_of_from_rows: bool = False
                 ) -> pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame]:
    """Decide every row of a Polars or pandas frame, or of a file (.csv, .jsonl, .parquet, a
    folder of Parquet files), with the same rules as ``decide``. Returns a Polars frame (one
    row per case, the determination's fields flattened). Invalid rows raise :class:`InvalidRows`, or
    with ``errors="return"`` come back as a second frame (one row per problem): nothing is
    dropped silently. ``as_of`` (default today) decides every row unless ``as_of_from_rows``
    (then a row's own ``as_of`` wins). A frame's cells, and a CSV's or Parquet file's, are read
    as a spreadsheet's (docs/cases.md); JSON Lines keeps JSON's types."""
    from safethird.batch.read import input_columns, input_kind
    from safethird.batch.validate import check_columns

    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    variant_s = ",".join(variant) if variant is not None and not isinstance(variant, str) \
        else variant
    if isinstance(data, str | Path):
        for source, columns in input_columns(Path(data)):
            check_columns(columns, source)
        table = input_kind(Path(data)) != "jsonl"
        raws = [c for c in read_chunks(Path(data))]
        parse_errors = [e for c in raws for e in c.errors]
        frames = [c.frame for c in raws]
    else:
        frame = _to_polars(data)
        check_columns(frame.columns, "(frame)")
        table = True
        frames = [frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW),
                                     pl.lit("(frame)").alias(FILE))]
        parse_errors = []
    dups = Duplicates()
    outs, errs = [], []
    for raw in frames:
        decided, e = decide_rows(raw, as_of=day, variant=variant_s, law=law, duplicates=dups,
                                 table=table, as_of_from_rows=as_of_from_rows)
        outs.append(decided)
        errs.append(e)
    from safethird.batch.validate import error_frame

    all_errors = pl.concat([*errs, error_frame(parse_errors)]).sort("row")
    out = pl.concat(outs) if outs else pl.DataFrame()
    if errors == "return":
        return out, all_errors
    if all_errors.height:
        raise InvalidRows(all_errors)
    return out


def _to_polars(data: Any) -> pl.DataFrame:
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, pl.DataFrame):
        return data
    try:
        import pandas as pd
    except ModuleNotFoundError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return pl.from_pandas(data)
    raise TypeError(f"expected a Polars or pandas frame or a path, got {type(data).__name__}")
