"""Fixtures shared by the store, API and browser tests: a fresh database per test on SQLite
and on PostgreSQL (a fresh schema in the database ``test`` on 127.0.0.1:5432; under CI=true a
missing server fails the test instead of skipping it)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography.fernet import Fernet

from safethird.store import Store
from safethird.store.passwords import use_cheap_parameters

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("SAFETHIRD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEYS = [Fernet.generate_key().decode()]

use_cheap_parameters()


def _pg_available() -> str | None:
    import sqlalchemy as sa

    try:
        eng = sa.create_engine(PG_SERVER)
        with eng.connect():
            pass
        eng.dispose()
    except sa.exc.OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    yield from pg_schema_url()


def pg_schema_url() -> Iterator[str]:
    import sqlalchemy as sa

    problem = _pg_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {PG_SERVER} is required under CI: {problem}")
        pytest.skip(f"no PostgreSQL at {PG_SERVER}: {problem}")
    schema = "t_" + secrets.token_hex(6)
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url, keys=KEYS)
    yield s
    s.dispose()


class Org:
    """An organisation with one user per role, and their API tokens."""

    def __init__(self, store: Store, name: str):
        from safethird.store import accounts

        self.tokens: dict[str, str] = {}
        with store.session() as s:
            for role in ("viewer", "screener", "admin"):
                user = accounts.add_user(s, f"{role}@{name}.org", "a long password",
                                         org=name, role=role)
                self.tokens[role] = accounts.new_token(s, user)

    def auth(self, role: str = "screener") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(store: Store):
    """A test client on the API over a fresh store, with two organisations."""
    from fastapi.testclient import TestClient

    from safethird.api import create_app

    client = TestClient(create_app(store), raise_server_exceptions=False)
    client.org_a, client.org_b = Org(store, "a"), Org(store, "b")
    yield client
    client.close()


@dataclass
class Server:
    url: str
    token: str
    db_url: str
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def start(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, SAFETHIRD_DATABASE_URL=self.db_url,
                   SAFETHIRD_FACT_KEYS=",".join(KEYS))
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        out = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "safethird.cli", "serve",
                                      "--port", str(port)], env=env, stdout=out,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/v1/variants", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"the server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}
