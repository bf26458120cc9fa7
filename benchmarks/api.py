"""`POST /v1/determinations` through the ASGI application in process (no socket, no server
process): the p50 / p95 latency of one request on each bundled example, beside the engine's own
`decide()` + `to_dict()` time on the same facts, so that what the API adds (routing, request
validation, JSON both ways, problem handling) shows apart from the engine and from the network
that `bench_api.py` measures. Not a test: `make bench` (or `python benchmarks/api.py`).

SAFETHIRD_BENCH_API_ROUNDS (default 200) caps the requests per example and
SAFETHIRD_BENCH_API_BUDGET (default 10 seconds) the time each side may spend on one example
(at least 3 requests are made, so a slow engine bounds the run rather than the count). Every
request is checked (status 200, the pathway the engine gives): a fast wrong answer cannot
pass."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx2 as httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

ROUNDS = int(os.environ.get("SAFETHIRD_BENCH_API_ROUNDS", "200"))
BUDGET = float(os.environ.get("SAFETHIRD_BENCH_API_BUDGET", "10"))
MIN_ROUNDS = 3
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def _quantiles(seconds: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    q = statistics.quantiles(seconds, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000


def _more(out: list[float], rounds: int, budget: float) -> bool:
    return len(out) < MIN_ROUNDS or (len(out) < rounds and sum(out) < budget)


def _engine_times(facts: dict, rounds: int, budget: float) -> list[float]:
    from safethird import decide

    out: list[float] = []
    while _more(out, rounds, budget):
        t = time.perf_counter()
        decide(facts).to_dict()
        out.append(time.perf_counter() - t)
    return out


async def _api_times(app: object, facts: dict, pathway: str, rounds: int,
                     budget: float) -> list[float]:
    transport = httpx.ASGITransport(app=app)
    out: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        body = {"facts": facts}
        while _more(out, rounds, budget):
            t = time.perf_counter()
            r = await client.post("/v1/determinations", json=body)
            out.append(time.perf_counter() - t)
            if r.status_code != 200 or r.json()["pathway"] != pathway:
                raise SystemExit(f"POST /v1/determinations answered {r.status_code}: "
                                 f"{r.text[:200]}")
    return out


def measure(rounds: int = ROUNDS, budget: float = BUDGET) -> list[dict[str, object]]:
    """One row per example: its name, the API's and the engine's p50 / p95 (ms)."""
    from safethird import decide
    from safethird.api import create_app
    from safethird.store import Store

    # the stateless endpoint reads no case, but the application opens its store on start
    tmp = Path(tempfile.mkdtemp(prefix="safethird-bench-asgi-"))
    store = Store(f"sqlite:///{tmp / 'bench.db'}", keys=[Fernet.generate_key().decode()])
    app = create_app(store)
    rows: list[dict[str, object]] = []
    try:
        for path in EXAMPLES:
            facts = json.loads(path.read_text(encoding="utf-8"))
            pathway = decide(facts).pathway
            # warm the rule and route caches
            asyncio.run(_api_times(app, facts, pathway, 1, 0.0))
            api = asyncio.run(_api_times(app, facts, pathway, rounds, budget))
            eng = _engine_times(facts, rounds, budget)
            rows.append({"example": path.stem, "pathway": pathway,
                         "api": _quantiles(api), "engine": _quantiles(eng),
                         "api_all": api, "engine_all": eng})
    finally:
        store.dispose()
    return rows


def main() -> None:
    rows = measure()
    print(f"POST /v1/determinations through the ASGI app in process, one request at a time, "
          f"up to {ROUNDS} per example or {BUDGET:g} s (milliseconds):")
    print(f"  {'example':30} {'requests':>8} {'API p50':>9} {'API p95':>9} {'decide p50':>11} "
          f"{'decide p95':>11}")
    for r in rows:
        (a50, a95), (e50, e95) = r["api"], r["engine"]  # type: ignore[misc]
        n = len(r["api_all"])  # type: ignore[arg-type]
        print(f"  {r['example']:30} {n:8} {a50:9.2f} {a95:9.2f} {e50:11.2f} {e95:11.2f}")
    api = [t for r in rows for t in r["api_all"]]  # type: ignore[attr-defined]
    eng = [t for r in rows for t in r["engine_all"]]  # type: ignore[attr-defined]
    (a50, a95), (e50, e95) = _quantiles(api), _quantiles(eng)
    print(f"  {'all examples':30} {len(api):8} {a50:9.2f} {a95:9.2f} {e50:11.2f} {e95:11.2f}")
    print(f"  the application adds {a50 - e50:.2f} ms at the median ({a50 / e50:.2f}× the "
          f"engine's time); target p95 < 20 ms: {'met' if a95 < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
