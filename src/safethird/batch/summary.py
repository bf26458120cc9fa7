"""Counts by pathway and reason, for the end of a run and for an existing output."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from safethird.batch.run import SUMMARY_KEYS, BatchResult, output_kind


def read_output(path: Path) -> pl.LazyFrame:
    kind = output_kind(path)
    if kind == "dataset":
        return pl.scan_parquet(path / "*.parquet")
    if kind == "parquet":
        return pl.scan_parquet(path)
    if kind == "csv":
        return pl.scan_csv(path)
    return pl.scan_ndjson(path)


def counts_of(path: Path) -> pl.DataFrame:
    frame = read_output(path)
    names = frame.collect_schema().names()
    missing = [k for k in SUMMARY_KEYS if k not in names]
    if missing:
        raise ValueError(f"no column {missing[0]!r}")
    return frame.group_by(SUMMARY_KEYS).len().sort("len", descending=True).collect()


def render(counts: pl.DataFrame, result: BatchResult | None = None) -> str:
    lines = []
    if result is not None:
        lines.append(f"{result.rows_in:,} rows in: {result.rows_out:,} decided → {result.out}, "
                     f"{result.rows_error:,} with errors → {result.errors_path} "
                     f"({result.seconds:.2f} s, {result.rows_per_second:,.0f} rows/s)")
        if result.error_fields:
            top = sorted(result.error_fields.items(), key=lambda kv: -kv[1])[:8]
            lines.append("  problems by field: " + ", ".join(f"{k} {v:,}" for k, v in top))
        if result.as_of_counts:
            dates = ", ".join(f"{d} {n:,} rows" for d, n in
                              list(result.as_of_counts.items())[:6])
            if len(result.as_of_counts) > 6:
                dates += f", … ({len(result.as_of_counts)} dates)"
            how = (f"each row's own as_of, else {result.as_of}" if result.as_of_from_rows
                   else "--as-of or today, for every row")
            lines.append(f"  decided as of ({how}): {dates}")
        if result.assumed:
            stated = ", ".join(f"{k}={v}" for k, v in result.assumed.items())
            lines.append(f"  stated assumptions ({stated}): {result.rows_assumed:,} rows needed "
                         "one (column assumptions names the facts filled)")
    if counts.is_empty():
        return "\n".join([*lines, "no determinations"])
    total = int(counts["len"].sum())
    for key in SUMMARY_KEYS:
        if key == "warnings":  # a row may carry several: count each warning on its own
            by = (counts.with_columns(pl.col(key).fill_null("").str.split(";")).explode(key)
                  .filter(pl.col(key) != "").group_by(key).agg(pl.col("len").sum())
                  .sort("len", descending=True))
            lines.append("warnings (rows carrying each):")
            lines.extend(f"  {value!s:<34} {n:>12,}  {100 * n / total:5.1f}%"
                         for value, n in by.iter_rows())
            continue
        by = counts.group_by(key).agg(pl.col("len").sum()).sort("len", descending=True)
        lines.append(f"{key}:")
        for value, n in by.iter_rows():
            lines.append(f"  {value!s:<34} {n:>12,}  {100 * n / total:5.1f}%")
    return "\n".join(lines)
