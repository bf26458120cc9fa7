"""A batch run: read in chunks → validate → decide (vectorized) → write, with every input row
accounted for (input rows = output rows + error rows, checked for every chunk)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl
from polars.io.plugins import register_io_source

from safethird.batch.duplicates import Duplicates, KnownDuplicates, first_rows, ids_of
from safethird.batch.read import ROW, Chunk, chunk_tasks, input_kind, total_size
from safethird.batch.validate import error_frame, validate
from safethird.decide import decide_frame, rules
from safethird.law.data import Law

SUMMARY_KEYS = ["pathway", "aca.reason", "transit_bar.reason", "clp.reason", "warnings"]


class AccountingError(AssertionError):
    pass


# the batch output (CONTRACT.md fields, flattened), in order, with its types
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(), "case_id": pl.String(), "as_of": pl.Date(), "law_version": pl.String(),
    "variant": pl.String(), "aca.status": pl.String(), "aca.reason": pl.String(),
    "aca.partner": pl.String(), "aca.agreement": pl.String(), "aca.citation": pl.String(),
    "aca.partners": pl.String(),  # ';'-joined, in the law data's order (CONTRACT.md section 5)
    "transit_bar.status": pl.String(), "transit_bar.reason": pl.String(),
    "transit_bar.citation": pl.String(), "clp.status": pl.String(), "clp.reason": pl.String(),
    "clp.citation": pl.String(), "pathway": pl.String(),
    "warnings": pl.String(),  # measures / codes warned of, ';'-joined (CONTRACT.md section 5)
}


def output_columns(variant_label: str | None, law_version: str) -> list[pl.Expr]:
    """The OUTPUT_SCHEMA columns from a decided frame (the others are its own columns)."""
    made = {"row": pl.col(ROW), "case_id": pl.col("id"), "law_version": pl.lit(law_version),
            "variant": pl.lit(variant_label)}
    return [made.get(name, pl.col(name)).cast(dtype).alias(name)
            for name, dtype in OUTPUT_SCHEMA.items()]


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


def staging(path: Path) -> Path:
    """Where an output is written before the run has succeeded (a hidden sibling)."""
    return path.with_name(f".{path.name}.partial")


def publish(staged: Path, final: Path) -> None:
    """Move a finished output into place: a folder's part files replace the old ones."""
    if staged.is_dir():
        final.mkdir(parents=True, exist_ok=True)
        for old in final.glob("part-*.parquet"):
            old.unlink()
        for part in sorted(staged.glob("part-*.parquet")):
            part.replace(final / part.name)
        shutil.rmtree(staged)
    else:
        staged.replace(final)


def discard(staged: Path) -> None:
    """A failed run leaves nothing that could pass for a complete output."""
    if staged.is_dir():
        shutil.rmtree(staged, ignore_errors=True)
    else:
        staged.unlink(missing_ok=True)


def write_output(path: Path, frames: Iterator[pl.DataFrame], kind: str) -> None:
    """Write the decided chunks, in order, as they come. A folder gets one Parquet file per
    chunk; a single file is written by Polars' streaming sink, which pulls the chunks from
    ``frames`` and encodes them on its own threads (Polars' Python I/O source, pinned in the
    lock file: the API is marked unstable)."""
    if kind == "dataset":
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            frame.write_parquet(path / f"part-{i:05d}.parquet")
        return
    path.parent.mkdir(parents=True, exist_ok=True)

    def source(with_columns: list[str] | None, *_: object) -> Iterator[pl.DataFrame]:
        for frame in frames:
            yield frame if with_columns is None else frame.select(with_columns)

    lf = register_io_source(source, schema=OUTPUT_SCHEMA, validate_schema=True)
    if kind == "parquet":
        lf.sink_parquet(path, compression="zstd")
    elif kind == "csv":
        lf.sink_csv(path)
    else:
        lf.sink_ndjson(path)


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
    if quiet or not sys.stderr.isatty():
        return None
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("deciding"), BarColumn(), TaskProgressColumn(),
                        TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f} rows/s"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        transient=False)
    progress.start()
    task = progress.add_task("batch", total=total, rows=0, rate=0.0)
    return progress, task


def run_batch(inp: str | Path, out: str | Path, *, as_of: dt.date | None = None,
              variant: str | None = None, errors: str | Path | None = None,
              quiet: bool = False, chunk_rows: int = 250_000, law: Law | None = None,
              threads: int | None = None) -> BatchResult:
    """Decide every row of ``inp`` into ``out``. Chunks are read, validated and decided on
    ``threads`` worker threads (default: one per core; Polars and NumPy release the GIL while
    they work) while, in input order, duplicate ids are flagged, every input row is checked
    to have come out as a determination or an error, and the results stream to the output.
    At most ``threads + 1`` chunks are queued or being decided at a time."""
    inp, out = Path(inp), Path(out)
    kind = input_kind(inp)
    out_kind = output_kind(out)
    errors_path = Path(errors) if errors else out.with_name(out.name + ".errors.jsonl")
    started = time.perf_counter()
    result = BatchResult(out=out, errors_path=errors_path)
    rules(variant, law)  # built once, before the workers need it
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    counts: list[pl.DataFrame] = []
    fields: list[pl.DataFrame] = []
    total, _ = total_size(inp)
    bar = _progress(total, quiet)
    workers = threads or min(os.cpu_count() or 1, 4)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="safethird-batch")
    # A Parquet input can be read twice: its id column alone gives every repeated id, found
    # while the first chunks are being decided. Text is read once: ids are tracked as it goes.
    firsts = pool.submit(first_rows, inp) if kind in ("parquet", "dataset") else None
    dups: Duplicates | KnownDuplicates | None = None if firsts else Duplicates()

    def work(task: Callable[[], Chunk]) -> tuple[Chunk, pl.DataFrame, pl.DataFrame]:
        chunk = task()
        decided, errs = decide_chunk(chunk.frame, as_of=as_of, variant=variant, law=law)
        if chunk.errors:
            errs = pl.concat([errs, error_frame(chunk.errors)])
        return chunk, decided, errs

    def finish(future: Future, err_fh: BinaryIO) -> pl.DataFrame:
        nonlocal dups
        chunk, decided, errs = future.result()
        if dups is None:
            assert firsts is not None
            dups = KnownDuplicates(firsts.result())
        decided, dup_errs = dups.split(ids_of(chunk.frame), decided)
        errs = pl.concat([errs, dup_errs]).sort("row")
        if decided.height + errs.height != chunk.rows:
            raise AccountingError(f"chunk of {chunk.rows} rows gave {decided.height} "
                                  f"determinations and {errs.height} errors")
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
        return decided

    def in_order(err_fh: BinaryIO) -> Iterator[pl.DataFrame]:
        pending: deque[Future] = deque()
        for task in chunk_tasks(inp, chunk_rows):
            pending.append(pool.submit(work, task))
            if len(pending) > workers:
                yield finish(pending.popleft(), err_fh)
        while pending:
            yield finish(pending.popleft(), err_fh)
        if firsts is not None:
            firsts.result()  # an input with no rows still reports an unreadable id column

    # both files are written under temporary names and moved into place only at the end:
    # a run that fails (an unreadable part of the input, a full disk) leaves no output
    # that could pass for a complete one
    staged_out, staged_errors = staging(out), staging(errors_path)
    try:
        with staged_errors.open("wb") as err_fh:
            write_output(staged_out, in_order(err_fh), out_kind)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        discard(staged_out)
        discard(staged_errors)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar[0].stop()
    publish(staged_out, out)
    publish(staged_errors, errors_path)
    result.seconds = time.perf_counter() - started
    result.counts = (pl.concat(counts).group_by(SUMMARY_KEYS).agg(pl.col("len").sum())
                     .sort("len", descending=True) if counts else pl.DataFrame())
    result.error_fields = field_counts(fields)
    return result


def field_counts(counts: list[pl.DataFrame]) -> dict[str, int]:
    """Errors by field, from per-chunk ``group_by("field").len()`` frames."""
    parts = [c for c in counts if c.height]
    if not parts:
        return {}
    return dict(pl.concat(parts).group_by("field").agg(pl.col("len").sum()).sort("field")
                .iter_rows())
