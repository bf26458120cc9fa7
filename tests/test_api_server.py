"""A real `safethird serve` subprocess, on SQLite and on PostgreSQL: schemathesis over its
OpenAPI spec finds no 5xx, and a committed case survives `kill -9` of the server in the middle
of writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from safethird.store import Store, accounts, audit, cases
from workspace_fixtures import KEYS, Server


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """`safethird serve` on SAFETHIRD_DATABASE_URL: an SQLite file, then PostgreSQL."""
    store = Store(db_url, keys=KEYS)
    with store.session() as s:
        user = accounts.add_user(s, "s@a.org", "a long password", org="a")
        token = accounts.new_token(s, user)
    store.dispose()
    srv = Server("", token, db_url, log=tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


def test_schemathesis_finds_no_server_error(server: Server, tmp_path: Path) -> None:
    p = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run",
         server.url + "/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "20", "--generation-database", "none", "--workers", "1",
         "--request-timeout", "20", "-H", f"Authorization: Bearer {server.token}",
         "--report-dir", str(tmp_path / "schemathesis")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    log = server.log.read_text()
    assert log.count('HTTP/1.1" ') > 100  # it did send requests
    assert '" 500 ' not in log and "internal error" not in log
    print(p.stdout[-1500:])


def test_a_committed_case_survives_kill_9_during_writes(server: Server) -> None:
    acknowledged: list[tuple[str, int]] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.auth, timeout=10) as c:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = c.post("/v1/cases", json={"label": f"w{n}-{i}",
                                                  "facts": {"birth_date": "1990-01-01",
                                                            "nationalities": ["HN"],
                                                            "fear_claimed": i % 2 == 0}})
                except httpx.TransportError:
                    return  # the server died mid-request: that write was never acknowledged
                if r.status_code == 201:
                    acknowledged.append((r.json()["id"], i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.proc.pid, signal.SIGKILL)  # while the writers are still sending
    server.proc.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert len(acknowledged) >= 40

    store = Store(server.db_url, keys=KEYS)
    with store.session() as s:
        user = accounts.user_by_email(s, "s@a.org")
        _, total = cases.listing(s, store.cipher, user, limit=1)
        for case_id, i in acknowledged:
            view = cases.read(s, store.cipher, user, case_id)
            assert view.facts["fear_claimed"] is (i % 2 == 0)
        assert audit.verify(s).ok
    store.dispose()
    assert total >= len(acknowledged)

    server.start()  # and the restarted server serves them
    r = httpx.get(f"{server.url}/v1/cases/{acknowledged[-1][0]}", headers=server.auth)
    assert r.status_code == 200
