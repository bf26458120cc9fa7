"""Fixtures shared by the store, API and browser tests: a fresh database per test on SQLite
and on PostgreSQL (a fresh schema in the database ``test`` on 127.0.0.1:5432; under CI=true a
missing server fails the test instead of skipping it)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from safethird.store import Store
from safethird.store.passwords import use_cheap_parameters

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
