"""Batches on a Dask cluster: a Parquet dataset decided partition by partition.

Each partition (a range of rows of one file) is read, validated and decided on a worker,
which writes its own part of the output dataset; the results are the local run's, row for row.
The first row of every id is computed beforehand from the id column alone, so duplicate ids
across partitions are found exactly as in a local run.

Pointing it at a real cluster: start a scheduler and workers with safethird installed (the same
version, `pip install safethird[dask]`) and give the scheduler's address, e.g.
`--dask tcp://scheduler:8786` or SAFETHIRD_DASK=tcp://scheduler:8786. The input and output paths
must be visible to every worker under the same name (a shared file system or mounted bucket).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from safethird.batch.duplicates import KnownDuplicates, first_rows
from safethird.batch.read import (
    UnusableInput,
    input_columns,
    input_kind,
    parquet_slices,
    read_parquet_slice,
)
from safethird.batch.run import (
    SUMMARY_KEYS,
    BatchResult,
    check_outputs,
    decide_rows,
    discard,
    field_counts,
    output_kind,
    publish,
    staging,
)
from safethird.batch.validate import ERROR_SCHEMA, check_columns


@dataclass(frozen=True)
class Partition:
    index: int
    file: str
    offset: int  # first row within its file (0-based)
    rows: int
    start: int  # rows before it in the whole input


def partitions(path: Path, rows_per_partition: int) -> list[Partition]:
    return [Partition(i, str(f), offset, n, start) for i, (f, offset, n, start)
            in enumerate(parquet_slices(path, rows_per_partition))]


def process(part: Partition, out_dir: str, as_of: dt.date | None, variant: str | None,
            dups: pl.DataFrame, as_of_from_rows: bool = False
            ) -> tuple[int, int, int, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """On a worker: (index, rows in, rows out, errors, counts by pathway and reason)."""
    raw = read_parquet_slice(Path(part.file), part.offset, part.rows, part.start).frame
    decided, errors = decide_rows(raw, as_of=as_of, variant=variant, law=None,
                                  duplicates=KnownDuplicates(dups), table=True,
                                  as_of_from_rows=as_of_from_rows)
    decided.write_parquet(Path(out_dir) / f"part-{part.index:05d}.parquet")
    if decided.height + errors["row"].n_unique() != raw.height:
        raise AssertionError(f"partition {part.index}: rows not accounted for")
    return part.index, raw.height, decided.height, errors, decided.group_by(SUMMARY_KEYS).len(), \
        decided.group_by("as_of").len()


def run_on_dask(inp: str | Path, out: str | Path, address: str, *,
                as_of: dt.date | None = None, variant: str | None = None,
                errors: str | Path | None = None, rows_per_partition: int = 1_000_000,
                quiet: bool = True, as_of_from_rows: bool = False,
                overwrite: bool = False) -> BatchResult:
    from dask.distributed import Client

    inp, out = Path(inp), Path(out)
    if input_kind(inp) not in ("parquet", "dataset"):
        raise UnusableInput(f"{inp}: --dask runs Parquet input (a file or a folder of files)")
    if output_kind(out) != "dataset":
        raise UnusableInput(f"{out}: with --dask, --out must be a folder (a Parquet dataset)")
    errors_path = Path(errors) if errors else out.with_name(out.name + ".errors.jsonl")
    check_outputs(inp, out, errors_path, overwrite=overwrite)
    for source, columns in input_columns(inp):
        check_columns(columns, source)
    started = time.perf_counter()
    parts = partitions(inp, rows_per_partition)
    dups = first_rows(inp)
    # the workers write into a staging folder, moved into place once every partition is done
    staged = staging(out)
    discard(staged)
    staged.mkdir(parents=True)
    client = Client(address) if isinstance(address, str) else address
    try:
        dups_f = client.scatter(dups, broadcast=True)
        futures = client.map(process, parts, out_dir=str(staged), as_of=as_of,
                             variant=variant, dups=dups_f, as_of_from_rows=as_of_from_rows,
                             pure=False)
        results = sorted(client.gather(futures), key=lambda r: r[0])
    except BaseException:
        discard(staged)
        raise
    finally:
        if isinstance(address, str):
            client.close()
    result = BatchResult(out=out, errors_path=errors_path, as_of=as_of or dt.date.today(),
                         as_of_from_rows=as_of_from_rows)
    dates = [r[5] for r in results if r[5].height]
    result.as_of_counts = dict(pl.concat(dates).group_by("as_of").agg(pl.col("len").sum())
                               .sort("len", descending=True).iter_rows()) if dates else {}
    all_errors = [r[3] for r in results]
    every_error = pl.concat(all_errors).sort("row") if all_errors else \
        pl.DataFrame(schema=ERROR_SCHEMA)
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    with staging(errors_path).open("wb") as fh:
        every_error.write_ndjson(fh)
    publish(staged, out)
    publish(staging(errors_path), errors_path)
    result.error_fields = field_counts([every_error.group_by("field").len()])
    result.rows_in = sum(r[1] for r in results)
    result.rows_out = sum(r[2] for r in results)
    result.rows_error = sum(r[3]["row"].n_unique() for r in results)
    result.counts = pl.concat([r[4] for r in results]).group_by(SUMMARY_KEYS).agg(
        pl.col("len").sum()).sort("len", descending=True) if results else pl.DataFrame()
    result.seconds = time.perf_counter() - started
    return result
