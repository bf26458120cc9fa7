"""Duplicate ids: a row whose id already appeared on an earlier input row is an error (the
earlier row is decided, the later one is reported with the row it repeats).

Ids are counted over every input row, valid or not, in input order. The check runs on the
decided chunk (so that chunks can be decided in parallel and flagged in order afterwards): a
valid row with a repeated id is taken out of the determinations and put in the errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from safethird.batch.read import FILE, ROW, dataset_files, parquet_rows
from safethird.batch.validate import ERROR_SCHEMA

FIRSTS_SCHEMA = {"id": pl.String, "_first": pl.Int64}
SEEN = ["id", ROW, "_h"]


def ids_of(raw: pl.DataFrame) -> pl.DataFrame:
    """(row, file, id) of the rows of a raw chunk that carry a string id (or an integer one,
    which a table's cells are read as: its text)."""
    if "id" in raw.columns and (raw.schema["id"] == pl.String or raw.schema["id"].is_integer()):
        return raw.select(ROW, FILE, pl.col("id").cast(pl.String).str.strip_chars()) \
            .filter(pl.col("id").is_not_null() & (pl.col("id") != ""))
    return pl.DataFrame(schema={ROW: pl.Int64, FILE: pl.String, "id": pl.String})


class Duplicates:
    """Ids seen so far, fed chunk by chunk in input order (for inputs read only once: CSV and
    JSON Lines). Ids are compared by 64-bit hash first: only rows whose hash was seen before
    (or repeats within the chunk) are compared as strings, so the cost per chunk does not grow
    with the ids already seen."""

    def __init__(self) -> None:
        self.hashes = _SortedRuns()
        self.seen: list[pl.DataFrame] = []  # (id, row, hash) of earlier chunks

    def split(self, ids: pl.DataFrame, decided: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
        ids = ids.with_columns(pl.col("id").hash().alias("_h"))
        h = ids["_h"].to_numpy()
        candidate = pl.Series(self.hashes.contains(h)) | _repeated(ids["_h"])
        firsts = pl.DataFrame(schema=FIRSTS_SCHEMA)
        if candidate.any():
            rows = ids.filter(candidate)
            wanted = rows["_h"].unique().implode()
            earlier = [s.filter(pl.col("_h").is_in(wanted)) for s in self.seen]
            firsts = _firsts(pl.concat([*earlier, rows.select(SEEN)]))
        self.seen.append(ids.select(SEEN))
        self.hashes.add(h)
        return flag_duplicates(decided, ids.drop("_h"), firsts)


class _SortedRuns:
    """A set of 64-bit hashes kept as sorted runs that are merged as they grow (a
    log-structured merge): a look-up is one binary search per run (O(log n) runs), adding n
    hashes costs O(n log n) overall."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        self.runs.append(np.sort(values))
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            b, a = self.runs.pop(), self.runs.pop()
            # timsort (``stable`` on 64-bit integers) merges two sorted runs in linear time
            self.runs.append(np.sort(np.concatenate([a, b]), kind="stable"))

    def contains(self, values: np.ndarray) -> np.ndarray:
        found = np.zeros(len(values), dtype=bool)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, values), len(run) - 1)
            found |= run[at] == values
        return found


def _repeated(hashes: pl.Series) -> pl.Series:
    """Which values occur more than once (sorting beats a hash table here)."""
    ordered = hashes.sort()
    twice = ordered.filter(ordered == ordered.shift(1)).unique()
    if not twice.len():
        return pl.repeat(False, hashes.len(), eager=True)
    return hashes.is_in(twice.implode())


def _firsts(rows: pl.DataFrame) -> pl.DataFrame:
    """(id, first row) for the ids that occur more than once among ``rows`` (exact, on the
    strings)."""
    return rows.group_by("id").agg(pl.col(ROW).min().alias("_first"), pl.len().alias("_n")) \
        .filter(pl.col("_n") > 1).select("id", "_first")


class KnownDuplicates:
    """The same rule with the first row of every repeated id computed beforehand (from the id
    column of a Parquet input, or for partitions run independently on a Dask cluster)."""

    def __init__(self, firsts: pl.DataFrame):
        self.firsts = firsts

    def split(self, ids: pl.DataFrame, decided: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
        return flag_duplicates(decided, ids, self.firsts)


def flag_duplicates(decided: pl.DataFrame, ids: pl.DataFrame, firsts: pl.DataFrame
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``firsts``: (id, first row) for the ids that repeat (any superset will do)."""
    empty = pl.DataFrame(schema=ERROR_SCHEMA)
    if not firsts.height or not decided.height:
        return decided, empty
    dups = ids.join(firsts, on="id", how="inner").filter(pl.col(ROW) != pl.col("_first"))
    if not dups.height:
        return decided, empty
    # an invalid row already has its own error; only decided rows become duplicate errors
    dups = dups.filter(pl.col(ROW).is_in(decided["row"].implode()))
    errors = dups.select(pl.col(FILE).alias("file"), pl.col(ROW).alias("row"),
                         pl.lit(None, dtype=pl.Int64).alias("line"), "id",
                         pl.lit("id").alias("field"),
                         pl.format("duplicate id '{}' (first at row {})", pl.col("id"),
                                   pl.col("_first")).alias("message"))
    kept = decided.filter(~pl.col("row").is_in(dups[ROW].implode()))
    return kept, errors.cast(ERROR_SCHEMA)


def first_rows(path: Path) -> pl.DataFrame:
    """Repeated id → its first row number, from the id column alone of every Parquet file
    of the input (in input order)."""
    frames = []
    row = 1
    for f in dataset_files(path):
        n = parquet_rows(f)
        if "id" in pl.read_parquet_schema(f):
            ids = pl.scan_parquet(f).select("id").collect()
            if ids.schema["id"].is_integer():
                ids = ids.with_columns(pl.col("id").cast(pl.String))
            if ids.schema["id"] == pl.String:
                frames.append(ids.with_columns(pl.int_range(row, row + n, dtype=pl.Int64)
                                               .alias(ROW)))
        row += n
    if not frames:
        return pl.DataFrame(schema=FIRSTS_SCHEMA)
    ids = pl.concat(frames).filter(pl.col("id").is_not_null())
    # hashes narrow the search to the few candidate rows; the strings decide
    return _firsts(ids.filter(_repeated(ids["id"].hash())))
