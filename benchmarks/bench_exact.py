"""The batch's exact rows, three ways, on the bench generator's data (benchmarks/cases.py):

- Kleene only: the vectorized rules, no exact pass (rows left open stay open);
- exact, vectorized: ``decide_frame`` as the batch runs it (logic/exact_frame.py decides the open
  rows' worlds as rows; the few it cannot split go to the per-case search);
- exact, per row: the Kleene pass, then every open row through the per-case search
  (``decide._exact_row``, once per distinct set of facts), as the batch did before.

Printed side by side as ratios to the Kleene-only time (the machines are shared: ratios, not
absolute times, are what to quote). Each figure is the median of ``repeat`` alternating rounds.
The three must agree row for row on the open rows (checked here too)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

from cases import write  # noqa: E402

COLUMNS = ["aca.status", "aca.reason", "aca.partner", "aca.agreement", "aca.citation",
           "aca.partners", "transit_bar.status", "transit_bar.reason", "transit_bar.citation",
           "pathway"]


def _per_row(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The Kleene pass, then each open row decided by the per-case search."""
    from safethird import facts
    from safethird.decide import _exact_row, decide_frame, rules
    from safethird.logic import exact
    from safethird.logic.finding import UNDETERMINED, UNKNOWN

    r = rules()
    df = decide_frame(frame, exact_rows=False).collect().with_row_index("__i")
    names = [f.name for f in r.findings]
    todo = df.filter(pl.any_horizontal([pl.col(f"{n}.status") == UNKNOWN for n in names]
                                       + [pl.col("pathway") == UNDETERMINED]))
    fact_cols = [c for c in todo.columns if c in facts.COLUMNS
                 or c.startswith(facts.FEAR_PREFIX)]
    columns = [c for c in COLUMNS if c in df.columns]
    done: dict[Any, dict[str, Any]] = {}
    rows: dict[str, list[Any]] = {"__i": [], **{c: [] for c in columns}}
    for i, row in zip(todo["__i"], todo.select(fact_cols).iter_rows(named=True), strict=True):
        record = facts.unflatten(row)
        key = exact._key(record)
        if key not in done:
            done[key] = _exact_row(r, record, False)
        rows["__i"].append(i)
        for c in columns:
            rows[c].append(done[key].get(c))
    patch = pl.DataFrame(rows, schema={"__i": pl.UInt32, **{c: df.schema[c] for c in columns}})
    return df.update(patch, on="__i", include_nulls=True).drop("__i"), todo.height


def compare(rows: int = 200_000, repeat: int = 3, data: Path | None = None) -> dict[str, float]:
    from safethird.decide import decide_frame

    src = write(rows, (data or HERE.parent / ".cache" / "bench") / f"cases-{rows}.parquet")
    frame = pl.read_parquet(src)
    runs: dict[str, list[float]] = {"kleene": [], "vectorized": [], "per_row": []}
    out: dict[str, pl.DataFrame] = {}
    n_open = 0
    for _ in range(repeat):
        start = time.perf_counter()
        out["kleene"] = decide_frame(frame, exact_rows=False).collect()
        runs["kleene"].append(time.perf_counter() - start)
        start = time.perf_counter()
        out["vectorized"] = decide_frame(frame).collect()
        runs["vectorized"].append(time.perf_counter() - start)
        start = time.perf_counter()
        out["per_row"], n_open = _per_row(frame)
        runs["per_row"].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in runs.items()}
    columns = [c for c in COLUMNS if c in out["vectorized"].columns]
    a, b = out["vectorized"].select(columns), out["per_row"].select(columns)
    differ = a.with_row_index().join(b.with_row_index(), on="index", suffix="_b").filter(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_b")) for c in columns)).height
    print(f"exact rows ({rows:,} cases, {n_open:,} left open by Kleene logic; median of "
          f"{repeat} rounds):")
    print(f"{'':36} {'seconds':>8} {'× Kleene':>9}")
    for name, label in (("kleene", "Kleene only"), ("vectorized", "exact, vectorized"),
                        ("per_row", "exact, per row")):
        print(f"{label:36} {med[name]:8.2f} {med[name] / med['kleene']:9.2f}")
    print(f"exact part: vectorized {(med['vectorized'] - med['kleene']):.2f} s, per row "
          f"{(med['per_row'] - med['kleene']):.2f} s "
          f"({(med['per_row'] - med['kleene']) / max(med['vectorized'] - med['kleene'], 1e-9):.1f}"
          f"× faster); rows that differ: {differ}")
    return med | {"differ": float(differ), "open": float(n_open)}


def main() -> None:
    import os

    compare(int(os.environ.get("SAFETHIRD_BENCH_EXACT_ROWS", "200000")),
            int(os.environ.get("SAFETHIRD_BENCH_REPEAT", "3")))


if __name__ == "__main__":
    main()
