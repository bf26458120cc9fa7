"""Per-case latency (not a test): the rule set evaluated by the interpreter
(``decide._values`` over an ``Evaluation``, as decide() does it) against the compiled program
(``logic.compile``: ``outputs`` alone, and ``evaluation`` with the clause trace), on the bundled
example cases, measured alternately in one process.

    .venv/bin/python benchmarks/latency.py [ROUNDS] [VARIANT]

Prints per case the median and p95 in µs of each side and the ratio interpreter / compiled.
The outputs of both sides are compared first, so a speed-up cannot change an answer unseen."""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src")]

from safethird import facts  # noqa: E402
from safethird.logic.compile import compile_rules  # noqa: E402
from safethird.logic.evaluate import Evaluation  # noqa: E402

decide = importlib.import_module("safethird.decide")  # the package itself exports decide()

COMPILED_PER_ROUND = 10  # the compiled side is ~50× faster: more samples for the same time


def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _time(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter_ns()
    fn(*args)
    return (time.perf_counter_ns() - start) / 1000


def _interpreted(r: decide.Rules, record: dict, as_of: object) -> object:
    return decide._values(r, Evaluation(record, as_of))


def main(rounds: int = 300, variant: str | None = None) -> None:
    r = decide.rules(variant)
    start = time.perf_counter()
    program = compile_rules(r.nodes)
    compile_ms = (time.perf_counter() - start) * 1000
    n_nodes = len({id(n) for root in r.nodes.values() for n in root.walk()})
    print(f"rule set: {len(r.nodes)} outputs, {n_nodes:,} distinct nodes"
          f"{f' (variant {variant})' if variant else ''}; compiled in {compile_ms:.0f} ms to "
          f"{len(program.source.splitlines()):,} lines")
    print(f"{'':34} {'interpreter':>17} {'compiled outputs':>17} {'with trace':>17} "
          f"{'ratio':>7} {'ratio':>7}")
    print(f"{'case':34} {'median':>8} {'p95':>8} {'median':>8} {'p95':>8} {'median':>8} {'p95':>8} "
          f"{'outputs':>7} {'trace':>7}   (µs per case)")
    medians = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        case = facts.parse_case(json.loads(path.read_text()))
        record, as_of = facts.to_record(case), case.as_of
        expected = decide._values(r, Evaluation(record, as_of))
        if program.values(record, as_of) != expected:
            raise SystemExit(f"{path.name}: the compiled outputs differ from the interpreter's")
        interp, outputs, traced = [], [], []
        for _ in range(rounds):
            interp.append(_time(_interpreted, r, record, as_of))
            for _ in range(COMPILED_PER_ROUND):
                outputs.append(_time(program.outputs, record, as_of))
                traced.append(_time(program.evaluation, record, as_of))
        (im, ip), (om, op), (tm, tp) = _quantiles(interp), _quantiles(outputs), _quantiles(traced)
        medians.append(om)
        print(f"{path.stem:34} {im:8.0f} {ip:8.0f} {om:8.1f} {op:8.1f} {tm:8.1f} {tp:8.1f} "
              f"{im / om:6.0f}× {im / tm:6.0f}×")
    print(f"compiled outputs: at most {max(medians):.1f} µs median per example case "
          f"(target well under 100 µs); {rounds} interpreter and "
          f"{rounds * COMPILED_PER_ROUND} compiled runs per case, alternating")


def decide_latency(rounds: int = 40) -> None:
    """decide() itself, as a user calls it: with the explanation, missing facts and
    counterfactuals (``explain=True``) and without (``explain=False``: findings, pathway and
    the exact semantics only), on the example cases and the memo snapshot inputs."""
    from safethird import decide as decide_fn

    examples = sorted((ROOT / "examples").glob("*.json"))
    paths = examples + sorted((ROOT / "tests" / "snapshots" / "inputs").glob("*.json"))
    cases = [(p.stem, json.loads(p.read_text())) for p in paths]
    bundled = {p.stem for p in examples}
    for _, c in cases:  # warm: rules built and compiled once per process
        decide_fn(c)
    print(f"{'decide() per case':40} {'with explanation':>19} {'without':>19}")
    print(f"{'case':40} {'median':>9} {'p95':>9} {'median':>9} {'p95':>9}   (ms)")
    all_with, all_without, ex_with, ex_without = [], [], [], []
    for name, c in cases:
        with_, without = [], []
        for _ in range(rounds):
            with_.append(_time(decide_fn, c) / 1000)
            without.append(_time(lambda x: decide_fn(x, explain=False), c) / 1000)
        (wm, wp), (nm, np_) = _quantiles(with_), _quantiles(without)
        all_with += with_
        all_without += without
        if name in bundled:
            ex_with += with_
            ex_without += without
        print(f"{name:40} {wm:9.2f} {wp:9.2f} {nm:9.2f} {np_:9.2f}")
    (wm, wp), (nm, np_) = _quantiles(ex_with), _quantiles(ex_without)
    print(f"{'the bundled examples (examples/)':40} {wm:9.2f} {wp:9.2f} {nm:9.2f} {np_:9.2f}")
    (wm, wp), (nm, np_) = _quantiles(all_with), _quantiles(all_without)
    print(f"{'all cases (with the memo inputs)':40} {wm:9.2f} {wp:9.2f} {nm:9.2f} {np_:9.2f}")
    print(f"targets (the bundled examples): median ≤ 1 ms with the explanation, ≤ 0.1 ms "
          f"without; {rounds} runs of each per case, alternating")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, sys.argv[2] if len(sys.argv) > 2 else None)
