"""`POST /v1/determinations` under 50 concurrent clients on loopback, for a bounded time, against
a real `safethird serve` (one process, as `make run` starts it): requests per second and the
p50 / p95 latency, beside the in-process `decide()` rate on the same case (the HTTP overhead as
a ratio). Not a test: `make bench` (or `python benchmarks/bench_api.py`).

SAFETHIRD_BENCH_API_SECONDS (default 10) bounds the measured run; SAFETHIRD_BENCH_API_CLIENTS
(default 50) sets the concurrency."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("SAFETHIRD_BENCH_API_SECONDS", "10"))
CLIENTS = int(os.environ.get("SAFETHIRD_BENCH_API_CLIENTS", "50"))
CASE = json.loads((ROOT / "examples" / "honduran-el-paso-2019.json").read_text())
BODY = {"facts": CASE, "as_of": "2019-12-02"}


def _in_process_rate(seconds: float = 3.0) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    from safethird import decide

    decide(CASE, as_of="2019-12-02")  # warm the rule cache
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        decide(CASE, as_of="2019-12-02").to_dict()
        n += 1
    return n / (time.perf_counter() - start)


async def _load(url: str) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for _ in range(20):  # warm up
            await client.post("/v1/determinations", json=BODY)
        stop = time.perf_counter() + SECONDS

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await client.post("/v1/determinations", json=BODY)
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        return latencies, errors, time.perf_counter() - start


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="safethird-bench-api-"))
    env = dict(os.environ, SAFETHIRD_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
               SAFETHIRD_FACT_KEYS=Fernet.generate_key().decode(),
               PYTHONPATH=str(ROOT / "src"))
    server = subprocess.Popen([sys.executable, "-m", "safethird.cli", "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/v1/variants", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        latencies, errors, elapsed = asyncio.run(_load(url))
    finally:
        server.terminate()
        server.wait(timeout=20)
    rate = _in_process_rate()
    q = statistics.quantiles(latencies, n=100)
    rps = len(latencies) / elapsed
    print(f"POST /v1/determinations, {CLIENTS} concurrent clients, {elapsed:.1f} s on loopback, "
          f"one server process: {len(latencies):,} requests ({errors} not 200)")
    print(f"  {rps:,.0f} requests/s; latency p50 {q[49] * 1000:.1f} ms, p95 "
          f"{q[94] * 1000:.1f} ms (target p95 < 20 ms)")
    print(f"  in-process decide() + to_dict() on the same case: {rate:,.0f} /s; the API serves "
          f"{rps / rate:.2f}× that rate (HTTP, JSON and validation overhead "
          f"{rate / rps:.2f}×)")


if __name__ == "__main__":
    main()
