"""A batch run: read in chunks → validate → decide (vectorized) → write, with every input row
accounted for (input rows = output rows + error rows, checked for every chunk)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from polars.io.plugins import register_io_source

from safethird.batch.duplicates import Duplicates, KnownDuplicates, first_rows, ids_of
from safethird.batch.read import (
    LINE,
    ROW,
    Chunk,
    chunk_tasks,
    input_columns,
    input_kind,
    total_size,
)
from safethird.batch.validate import check_columns, error_frame, validate
from safethird.decide import decide_frame, rules
from safethird.facts import COLUMNS
from safethird.law.data import Law

SUMMARY_KEYS = ["pathway", "aca.reason", "transit_bar.reason", "clp.reason", "warnings"]


class AccountingError(AssertionError):
    pass


# the batch output (the determination's fields, flattened), in order, with its types
OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(), "case_id": pl.String(), "as_of": pl.Date(), "law_version": pl.String(),
    "variant": pl.String(), "aca.status": pl.String(), "aca.reason": pl.String(),
    "aca.partner": pl.String(), "aca.agreement": pl.String(), "aca.citation": pl.String(),
    "aca.partners": pl.String(),  # ';'-joined, in the law data's order (CONTRACT.md section 5)
    "transit_bar.status": pl.String(), "transit_bar.reason": pl.String(),
    "transit_bar.citation": pl.String(), "clp.status": pl.String(), "clp.reason": pl.String(),
    "clp.citation": pl.String(), "pathway": pl.String(),
    "warnings": pl.String(),  # measures / codes warned of, ';'-joined (CONTRACT.md section 5)
    # the facts filled by a stated assumption on this row (';'-joined; null: none needed)
    "assumptions": pl.String(),
    # with --with-missing: the row's missing facts, ranked, ';'-joined (else null)
    "missing_facts": pl.String(),
}


def output_columns(variant_label: str | None, law_version: str) -> list[pl.Expr]:
    """The OUTPUT_SCHEMA columns from a decided frame (the others are its own columns)."""
    made = {"row": pl.col(ROW), "case_id": pl.col("id"), "law_version": pl.lit(law_version),
            "variant": pl.lit(variant_label)}
    return [made.get(name, pl.col(name)).cast(dtype).alias(name)
            for name, dtype in OUTPUT_SCHEMA.items()]


def fill_assumptions(valid: pl.DataFrame, assume: Mapping[str, Any]) -> pl.DataFrame:
    """The stated assumptions filled into the unknown cells of their columns, with the
    ``assumptions`` column naming, per row, the facts filled (a known cell is never changed)."""
    if not assume:
        return valid.with_columns(pl.lit(None, dtype=pl.String).alias("assumptions"))
    from safethird.assume import coerce

    values = coerce(assume)
    used, fills = [], []
    for path, value in values.items():
        col = path
        if col not in valid.columns:
            valid = valid.with_columns(pl.lit(None, dtype=COLUMNS.get(col, pl.Boolean()))
                                       .alias(col))
        used.append(pl.when(pl.col(col).is_null()).then(pl.lit(path)))
        fills.append(pl.col(col).fill_null(pl.lit(value, dtype=valid.schema[col])))
    return valid.with_columns(
        pl.concat_str(used, separator=";", ignore_nulls=True).alias("assumptions")
    ).with_columns(fills).with_columns(
        pl.when(pl.col("assumptions") == "").then(None).otherwise(pl.col("assumptions"))
        .alias("assumptions"))


def decide_chunk(raw: pl.DataFrame, *, as_of: dt.date | None, variant: str | None,
                 law: Law | None, table: bool = False, as_of_from_rows: bool = False,
                 assume: Mapping[str, Any] | None = None, with_missing: bool = False
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(determinations, errors) for one chunk of raw rows, duplicate ids not yet flagged
    (a pure function of the chunk: chunks can be decided in parallel). ``as_of`` (default
    today) decides every row unless ``as_of_from_rows``; ``table``: spreadsheet cells (CSV,
    Parquet, frames), read leniently."""
    r = rules(variant, law)
    partners = tuple(a.partner for a in r.law.agreements)
    valid, errors = validate(raw, as_of or dt.date.today(), partners, table=table,
                             as_of_from_rows=as_of_from_rows)
    valid = fill_assumptions(valid, assume or {})
    decided = decide_frame(valid, variant=variant, law=law, with_missing=with_missing)
    if not with_missing:
        decided = decided.with_columns(pl.lit(None, dtype=pl.String).alias("missing_facts"))
    decided = decided.select(
        output_columns(",".join(r.law.variants) or None, r.law.version)).collect()
    return decided, errors


def decide_rows(raw: pl.DataFrame, *, as_of: dt.date | None, variant: str | None,
                law: Law | None, duplicates: Duplicates | KnownDuplicates,
                table: bool = False, as_of_from_rows: bool = False,
                assume: Mapping[str, Any] | None = None, with_missing: bool = False
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``decide_chunk`` then the duplicate-id check, for chunks taken in input order."""
    decided, errors = decide_chunk(raw, as_of=as_of, variant=variant, law=law, table=table,
                                   as_of_from_rows=as_of_from_rows, assume=assume,
                                   with_missing=with_missing)
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
    """Move a finished output into place: a folder replaces the old one whole (``check_outputs``
    has made sure it held only an earlier output, or that the user asked to overwrite it)."""
    if staged.is_dir():
        if final.is_dir():
            old = final.with_name(f".{final.name}.old")
            discard(old)
            final.replace(old)
            staged.replace(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staged.replace(final)
    else:
        staged.replace(final)


class RefusedOutput(ValueError):
    """An output that would overwrite an input or files the run did not write (exit 2)."""


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_outputs(inp: Path, out: Path, errors_path: Path, *, overwrite: bool = False,
                  dataset_files: tuple[str, ...] = ("part-*.parquet",)) -> None:
    """Refuse, before anything is read or written, an output that is the input or inside an
    input dataset, an errors file that is a folder or the output, and an output folder that
    holds files other than an earlier output's (``dataset_files``) unless ``overwrite``."""
    src, dst, err = inp.resolve(), out.resolve(), errors_path.resolve()
    for name, path in (("--out", dst), ("--errors", err)):
        if path == src or (src.is_dir() and _inside(path, src)):
            raise RefusedOutput(f"{name} {path}: would overwrite the input {inp}; choose "
                                f"another path")
    if err == dst or _inside(err, dst):
        raise RefusedOutput(f"--errors {errors_path}: is the output {out}; choose another path")
    if errors_path.is_dir():
        raise RefusedOutput(f"--errors {errors_path}: is a folder; give a file name "
                            f"(e.g. {errors_path / 'errors.jsonl'})")
    if dst.is_dir() and output_kind(out) != "dataset":
        raise RefusedOutput(f"--out {out}: is a folder; a {out.suffix} output is a file")
    if dst.exists() and not dst.is_dir() and output_kind(out) == "dataset":
        raise RefusedOutput(f"--out {out}: is a file; a Parquet dataset output is a folder")
    if dst.is_dir() and not overwrite:
        others = sorted(p.name for p in dst.iterdir()
                        if not any(p.match(g) for g in dataset_files))
        if others:
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            raise RefusedOutput(f"--out {out}: the folder holds other files ({shown}); "
                                f"choose an empty or new "
                                f"folder, or pass --overwrite to replace it")


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
    as_of: dt.date | None = None  # the command's date (--as-of, else today)
    as_of_from_rows: bool = False  # whether a row's own as_of won over it
    as_of_counts: dict[dt.date, int] = field(default_factory=dict)  # rows decided per date
    rows_assumed: int = 0  # rows decided with at least one stated assumption filled in
    assumed: dict[str, Any] = field(default_factory=dict)  # the assumptions stated

    @property
    def exit_status(self) -> int:
        """0: every row decided; 1: some rows went to the errors file; 2: none decided."""
        if not self.rows_error:
            return 0
        return 1 if self.rows_out else 2

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
              threads: int | None = None, as_of_from_rows: bool = False,
              overwrite: bool = False, assume: Mapping[str, Any] | None = None,
              with_missing: bool = False) -> BatchResult:
    """Decide every row of ``inp`` into ``out``. Chunks are read, validated and decided on
    ``threads`` worker threads (default: one per core; Polars and NumPy release the GIL while
    they work) while, in input order, duplicate ids are flagged, every input row is checked
    to have come out as a determination or an error, and the results stream to the output.
    At most ``threads + 1`` chunks are queued or being decided at a time. ``as_of`` (default
    today) decides every row, unless ``as_of_from_rows``: then a row's own ``as_of`` wins.
    Before anything is read or written: the outputs are checked (``check_outputs``) and the
    header of a table is checked once (``check_columns``)."""
    inp, out = Path(inp), Path(out)
    kind = input_kind(inp)
    out_kind = output_kind(out)
    errors_path = Path(errors) if errors else out.with_name(out.name + ".errors.jsonl")
    check_outputs(inp, out, errors_path, overwrite=overwrite)
    for source, columns in input_columns(inp):
        check_columns(columns, source)
    table = kind != "jsonl"
    started = time.perf_counter()
    result = BatchResult(out=out, errors_path=errors_path, as_of=as_of or dt.date.today(),
                         as_of_from_rows=as_of_from_rows, assumed=dict(assume or {}))
    rules(variant, law)  # built once, before the workers need it
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    counts: list[pl.DataFrame] = []
    fields: list[pl.DataFrame] = []
    dates: list[pl.DataFrame] = []
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
        decided, errs = decide_chunk(chunk.frame, as_of=as_of, variant=variant, law=law,
                                     table=table, as_of_from_rows=as_of_from_rows,
                                     assume=assume, with_missing=with_missing)
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
        errs = with_lines(pl.concat([errs, dup_errs]), chunk.frame).sort("row",
                                                                         maintain_order=True)
        error_rows = errs["row"].n_unique()  # a row with several problems has several lines
        if decided.height + error_rows != chunk.rows:
            raise AccountingError(f"chunk of {chunk.rows} rows gave {decided.height} "
                                  f"determinations and {error_rows} rows with errors")
        if errs.height:
            errs.write_ndjson(err_fh)
            fields.append(errs.group_by("field").len())
        result.rows_in += chunk.rows
        result.rows_out += decided.height
        result.rows_error += error_rows
        counts.append(decided.group_by(SUMMARY_KEYS).len())
        result.rows_assumed += decided["assumptions"].is_not_null().sum()
        dates.append(decided.group_by("as_of").len())
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
    parts = [d for d in dates if d.height]
    result.as_of_counts = dict(pl.concat(parts).group_by("as_of").agg(pl.col("len").sum())
                               .sort("len", descending=True).iter_rows()) if parts else {}
    return result


def with_lines(errors: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Each error's line in the file, from the chunk (errors found after reading lack it)."""
    if LINE not in raw.columns or not errors.height or errors["line"].null_count() == 0:
        return errors
    lines = raw.select(pl.col(ROW).alias("row"), pl.col(LINE).alias("_l"))
    return errors.join(lines, on="row", how="left", maintain_order="left").with_columns(
        pl.coalesce("line", "_l").alias("line")).drop("_l")


def field_counts(counts: list[pl.DataFrame]) -> dict[str, int]:
    """Errors by field, from per-chunk ``group_by("field").len()`` frames."""
    parts = [c for c in counts if c.height]
    if not parts:
        return {}
    return dict(pl.concat(parts).group_by("field").agg(pl.col("len").sum()).sort("field")
                .iter_rows())
