"""A batch run: read in chunks → validate → decide (vectorized) → write, with every input row
accounted for (input rows = output rows + error rows, checked for every chunk)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from safethird.batch.duplicates import Duplicates, KnownDuplicates, first_rows, ids_of
from safethird.batch.read import ROW, Chunk, chunk_tasks, input_kind, total_size
from safethird.batch.validate import error_frame, validate
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


def decide_chunk(raw: pl.DataFrame, *, as_of: dt.date | None, variant: str | None,
                 law: Law | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(determinations, errors) for one chunk of raw rows, duplicate ids not yet flagged
    (a pure function of the chunk: chunks can be decided in parallel)."""
    r = rules(variant, law)
    partners = tuple(a.partner for a in r.law.agreements)
    valid, errors = validate(raw, as_of or dt.date.today(), partners)
    decided = decide_frame(valid, variant=variant, law=law).select(
        output_columns(",".join(r.law.variants) or None, r.law.version)).collect()
    return decided, errors


def decide_rows(raw: pl.DataFrame, *, as_of: dt.date | None, variant: str | None,
                law: Law | None, duplicates: Duplicates | KnownDuplicates
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``decide_chunk`` then the duplicate-id check, for chunks taken in input order."""
    decided, errors = decide_chunk(raw, as_of=as_of, variant=variant, law=law)
    decided, dup_errors = duplicates.split(ids_of(raw), decided)
    return decided, pl.concat([errors, dup_errors])


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


def _progress(total: int, quiet: bool):
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
              quiet: bool = False, chunk_rows: int = 1_000_000, law: Law | None = None,
              threads: int | None = None) -> BatchResult:
    """Decide every row of ``inp`` into ``out``. Chunks are read, validated and decided on
    ``threads`` worker threads (default: one per core; Polars and NumPy release the GIL while
    they work) while this thread, in input order, flags duplicate ids, writes the results and
    checks that every input row came out as a determination or an error. At most
    ``threads + 1`` chunks are in memory at once."""
    inp, out = Path(inp), Path(out)
    kind = input_kind(inp)
    output_kind(out)
    errors_path = Path(errors) if errors else out.with_name(out.name + ".errors.jsonl")
    started = time.perf_counter()
    result = BatchResult(out=out, errors_path=errors_path)
    rules(variant, law)  # built once, before the workers need it
    # a Parquet input can be read twice: its id column alone gives every repeated id up front
    dups: Duplicates | KnownDuplicates = KnownDuplicates(first_rows(inp)) \
        if kind in ("parquet", "dataset") else Duplicates()
    writer = Writer(out)
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    counts: list[pl.DataFrame] = []
    fields: list[pl.DataFrame] = []
    total, _ = total_size(inp)
    bar = _progress(total, quiet)
    empty: pl.DataFrame | None = None
    workers = threads or min(os.cpu_count() or 1, 4)

    def work(task: Callable[[], Chunk]) -> tuple[Chunk, pl.DataFrame, pl.DataFrame]:
        chunk = task()
        decided, errs = decide_chunk(chunk.frame, as_of=as_of, variant=variant, law=law)
        if chunk.errors:
            errs = pl.concat([errs, error_frame(chunk.errors)])
        return chunk, decided, errs

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="safethird-batch")
    pending: deque[Future] = deque()
    try:
        with errors_path.open("wb") as err_fh:
            def finish(future: Future) -> None:
                nonlocal empty
                chunk, decided, errs = future.result()
                decided, dup_errs = dups.split(ids_of(chunk.frame), decided)
                errs = pl.concat([errs, dup_errs]).sort("row")
                if decided.height + errs.height != chunk.rows:
                    raise AccountingError(f"chunk of {chunk.rows} rows gave {decided.height} "
                                          f"determinations and {errs.height} errors")
                if empty is None:
                    empty = decided.clear()
                if decided.height:
                    writer.write(decided)
                if errs.height:
                    errs.write_ndjson(err_fh)
                    fields.append(errs.group_by("field").len())
                result.rows_in += chunk.rows
                result.rows_out += decided.height
                result.rows_error += errs.height
                counts.append(decided.group_by(SUMMARY_KEYS).len())
                if bar is not None:
                    progress, task_id = bar
                    elapsed = time.perf_counter() - started
                    progress.update(task_id, advance=chunk.progress, rows=result.rows_in,
                                    rate=result.rows_in / elapsed if elapsed else 0)

            for task in chunk_tasks(inp, chunk_rows):
                pending.append(pool.submit(work, task))
                if len(pending) > workers:
                    finish(pending.popleft())
            while pending:
                finish(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        writer.close(empty)
        if bar is not None:
            bar[0].stop()
    result.seconds = time.perf_counter() - started
    result.counts = (pl.concat(counts).group_by(SUMMARY_KEYS).agg(pl.col("len").sum())
                     .sort("len", descending=True) if counts else pl.DataFrame())
    result.error_fields = field_counts(fields)
    return result


def field_counts(errors: list[pl.DataFrame]) -> dict[str, int]:
    """Errors by field (from error frames or their per-field counts)."""
    parts = [e.group_by("field").len() if "len" not in e.columns else e for e in errors]
    parts = [p for p in parts if p.height]
    if not parts:
        return {}
    return dict(pl.concat(parts).group_by("field").agg(pl.col("len").sum()).sort("field")
                .iter_rows())
