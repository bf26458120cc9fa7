"""Validation side by side (not a test): the batch's ``validate`` of a git revision (default
``main``) against the working tree's, alternating in one process, over the same chunks of the
benchmark table as typed Parquet, as CSV text and as a typed frame (``decide_batch``).

    .venv/bin/python benchmarks/bench_validate.py [ROWS] [ROUNDS] [REV]

Prints per input the median seconds of each side and the ratio new / old. Outputs of the two
sides are compared (equal frames and errors), so a speed-up cannot change behaviour unseen."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src")]

from cases import generate  # noqa: E402
from safethird.batch import read  # noqa: E402
from safethird.batch import validate as new  # noqa: E402

AS_OF = dt.date(2020, 6, 1)


def old_module(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:src/safethird/batch/validate.py"],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("old_validate", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{rev}:validate.py", "exec"), module.__dict__)
    return module


def inputs(n: int) -> dict[str, pl.DataFrame]:
    typed = generate(n)
    numbered = typed.with_columns(pl.int_range(1, n + 1, dtype=pl.Int64).alias(read.ROW),
                                  pl.lit("cases").alias(read.FILE))
    # CSV as the batch reads it: every cell text, the route and nationalities as JSON
    text = typed.with_columns(pl.col("nationalities").list.eval(pl.format('"{}"', pl.element()))
                              .list.join(", ").map_elements(lambda s: f"[{s}]",
                                                            return_dtype=pl.String),
                              pl.col("route").map_elements(
                                  lambda r: __import__("json").dumps(
                                      [{k: (str(v) if v is not None else None)
                                        for k, v in leg.items()} for leg in r]),
                                  return_dtype=pl.String))
    buf = io.BytesIO()
    text.write_csv(buf)
    lines = buf.getvalue().splitlines(keepends=True)
    chunk = read._parse_lines(lines[1:], lines[0], "csv", Path("cases.csv"), 0, 0, 1).frame
    return {"parquet (typed)": numbered, "csv (text)": chunk}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 250_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rev = sys.argv[3] if len(sys.argv) > 3 else "main"
    old = old_module(rev)
    sides = {"old": old.validate, "new": new.validate}
    for name, frame in inputs(n).items():
        results = {k: f(frame, AS_OF, ("GT",), table=True) for k, f in sides.items()}
        for a, b in zip(results["old"], results["new"], strict=True):
            assert_frame_equal(a, b)
        times: dict[str, list[float]] = {k: [] for k in sides}
        for _ in range(rounds):
            for k, f in sides.items():
                t = time.perf_counter()
                f(frame, AS_OF, ("GT",), table=True)
                times[k].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{name:18} {n:,} rows: old {med['old']:.3f} s, new {med['new']:.3f} s, "
              f"new/old {med['new'] / med['old']:.2f}  (rounds old "
              f"{' '.join(f'{x:.3f}' for x in times['old'])}; new "
              f"{' '.join(f'{x:.3f}' for x in times['new'])})")


if __name__ == "__main__":
    main()
