"""A batch run: read in chunks → validate → decide (vectorized) → write, with every input row
accounted for (input rows = output rows + error rows, checked for every chunk)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from safethird.batch.read import FILE, ROW, Chunk, input_kind, read_chunks, total_size
from safethird.batch.validate import ERROR_SCHEMA, error_frame, validate
from safethird.decide import decide_frame, rules
from safethird.law.data import Law

SUMMARY_KEYS = ["pathway", "aca.reason", "transit_bar.reason"]


class AccountingError(AssertionError):
    pass


def output_columns(variant_label: str | None, law_version: str) -> list[pl.Expr]:
    return [
        pl.col(ROW).alias("row"), pl.col("id").alias("case_id"), pl.col("as_of"),
        pl.lit(law_version).alias("law_version"),
        pl.lit(variant_label, dtype=pl.String).alias("variant"),
        pl.col("aca.status"), pl.col("aca.reason"), pl.col("aca.partner"),
        pl.col("aca.agreement"), pl.col("aca.citation"),
        pl.col("transit_bar.status"), pl.col("transit_bar.reason"),
        pl.col("transit_bar.citation"), pl.col("pathway"),
    ]


class Duplicates:
    """Ids seen so far (over every input row, valid or not): a valid row whose id appeared on
    an earlier row is an error. Fed chunk by chunk, in input order. Most ids are unique, so
    rows are flagged by hashing alone; first rows are looked up for the duplicates only."""

    def __init__(self) -> None:
        self.seen = pl.DataFrame(schema={"id": pl.String, "_first": pl.Int64})

    def split(self, raw: pl.DataFrame, valid: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
        if "id" in raw.columns and raw.schema["id"] == pl.String:
            ids = raw.select(ROW, "id").filter(pl.col("id").is_not_null())
        else:
            ids = pl.DataFrame(schema={ROW: pl.Int64, "id": pl.String})
        repeated = ~pl.col("id").is_first_distinct()
        if self.seen.height:
            repeated = repeated | pl.col("id").is_in(self.seen["id"].implode())
        flagged = ids.filter(repeated)
        new = ids.filter(pl.col("id").is_first_distinct()).select(
            "id", pl.col(ROW).alias("_first"))
        if self.seen.height:
            new = new.join(self.seen, on="id", how="anti")
        if flagged.height:
            firsts = pl.concat([self.seen, new]).join(flagged.select("id").unique(), on="id")
        else:
            firsts = pl.DataFrame(schema={"id": pl.String, "_first": pl.Int64})
        self.seen = pl.concat([self.seen, new])
        return flag_duplicates(valid, firsts)


class KnownDuplicates:
    """The same rule with the first row of every repeated id computed beforehand (for
    partitions run independently, e.g. on a Dask cluster)."""

    def __init__(self, table: pl.DataFrame):
        self.table = table

    def split(self, raw: pl.DataFrame, valid: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
        return flag_duplicates(valid, self.table)


def flag_duplicates(valid: pl.DataFrame, firsts: pl.DataFrame
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``firsts``: (id, first row) for the ids that repeat."""
    if not firsts.height:
        return valid, pl.DataFrame(schema=ERROR_SCHEMA)
    dups = valid.select(ROW, FILE, "id").join(firsts, on="id", how="inner") \
        .filter(pl.col(ROW) != pl.col("_first"))
    errors = dups.select(pl.col(FILE).alias("file"), pl.col(ROW).alias("row"), "id",
                         pl.lit("id").alias("field"),
                         pl.format("duplicate id '{}' (first at row {})", pl.col("id"),
                                   pl.col("_first")).alias("message"))
    return valid.join(dups.select(ROW), on=ROW, how="anti"), errors.cast(ERROR_SCHEMA)


def decide_chunk(raw: pl.DataFrame, *, as_of: dt.date | None, variant: str | None,
                 law: Law | None, duplicates: Duplicates | KnownDuplicates | None
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(determinations, errors) for one chunk of raw rows."""
    r = rules(variant, law)
    partners = tuple(a.partner for a in r.law.agreements)
    valid, errors = validate(raw, as_of or dt.date.today(), partners)
    if duplicates is not None:
        valid, dup_errors = duplicates.split(raw, valid)
        errors = pl.concat([errors, dup_errors])
    valid = valid.sort(ROW)
    decided = decide_frame(valid, variant=variant, law=law).select(
        output_columns(",".join(r.law.variants) or None, r.law.version)).collect()
    return decided, errors


# --- writers ----------------------------------------------------------------------------

def output_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet", ".jsonl"):
        return suffix[1:]
    if suffix == "" or path.is_dir():
        return "dataset"
    raise ValueError(f"{path}: unknown output type (use .csv, .jsonl, .parquet or a folder)")


class Writer:
    def __init__(self, path: Path):
        self.path, self.kind = path, output_kind(path)
        self._pq: pq.ParquetWriter | None = None
        self._fh = None
        self._parts = 0
        if self.kind == "dataset":
            path.mkdir(parents=True, exist_ok=True)
            for old in path.glob("part-*.parquet"):
                old.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self.kind in ("csv", "jsonl"):
                self._fh = path.open("wb")

    def write(self, frame: pl.DataFrame) -> None:
        if self.kind == "parquet":
            table = frame.to_arrow()
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._pq.write_table(table)
        elif self.kind == "dataset":
            frame.write_parquet(self.path / f"part-{self._parts:05d}.parquet")
            self._parts += 1
        elif self.kind == "csv":
            frame.write_csv(self._fh, include_header=self._parts == 0)
            self._parts += 1
        else:
            frame.write_ndjson(self._fh)

    def close(self, schema_frame: pl.DataFrame | None = None) -> None:
        if self.kind == "parquet" and self._pq is None and schema_frame is not None:
            schema_frame.write_parquet(self.path)  # no rows: still a valid, typed file
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None:
            self._fh.close()


# --- the run ----------------------------------------------------------------------------

@dataclass
class BatchResult:
    rows_in: int = 0
    rows_out: int = 0
    rows_error: int = 0
    seconds: float = 0.0
    out: Path | None = None
    errors_path: Path | None = None
    counts: pl.DataFrame = field(default_factory=pl.DataFrame)
    error_fields: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds else 0.0


def _progress(total: int, unit: str, quiet: bool):
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if quiet or not sys.stderr.isatty():
        return None
    progress = Progress(TextColumn("deciding"), BarColumn(), TaskProgressColumn(),
                        TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f} rows/s"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        transient=False)
    progress.start()
    task = progress.add_task("batch", total=total, rows=0, rate=0.0)
    return progress, task


def run_batch(inp: str | Path, out: str | Path, *, as_of: dt.date | None = None,
              variant: str | None = None, errors: str | Path | None = None,
              quiet: bool = False, chunk_rows: int = 1_000_000, law: Law | None = None
              ) -> BatchResult:
    inp, out = Path(inp), Path(out)
    input_kind(inp)
    output_kind(out)
    errors_path = Path(errors) if errors else out.with_name(out.name + ".errors.jsonl")
    started = time.perf_counter()
    result = BatchResult(out=out, errors_path=errors_path)
    writer = Writer(out)
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    counts: list[pl.DataFrame] = []
    dups = Duplicates()
    total, unit = total_size(inp)
    bar = _progress(total, unit, quiet)
    empty: pl.DataFrame | None = None
    try:
        with errors_path.open("w", encoding="utf-8") as err_fh:
            for chunk in read_chunks(inp, chunk_rows):
                decided, errs = _one_chunk(chunk, as_of, variant, law, dups)
                if empty is None:
                    empty = decided.clear()
                if decided.height:
                    writer.write(decided)
                for rec in errs.sort("row").iter_rows(named=True):
                    err_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    result.error_fields[rec["field"]] = result.error_fields.get(rec["field"], 0) + 1
                result.rows_in += chunk.rows
                result.rows_out += decided.height
                result.rows_error += errs.height
                counts.append(decided.group_by(SUMMARY_KEYS).len())
                if bar is not None:
                    progress, task = bar
                    elapsed = time.perf_counter() - started
                    progress.update(task, advance=chunk.progress, rows=result.rows_in,
                                    rate=result.rows_in / elapsed if elapsed else 0)
    finally:
        writer.close(empty)
        if bar is not None:
            bar[0].stop()
    result.seconds = time.perf_counter() - started
    result.counts = (pl.concat(counts).group_by(SUMMARY_KEYS).agg(pl.col("len").sum())
                     .sort("len", descending=True) if counts else pl.DataFrame())
    return result


def _one_chunk(chunk: Chunk, as_of: dt.date | None, variant: str | None, law: Law | None,
               dups: Duplicates) -> tuple[pl.DataFrame, pl.DataFrame]:
    decided, errs = decide_chunk(chunk.frame, as_of=as_of, variant=variant, law=law,
                                 duplicates=dups)
    if chunk.errors:
        errs = pl.concat([errs, error_frame(chunk.errors)])
    if decided.height + errs.height != chunk.rows:
        raise AccountingError(f"chunk of {chunk.rows} rows gave {decided.height} determinations "
                              f"and {errs.height} errors")
    return decided, errs
