"""Connecting to the store and bringing its schema up to date (Alembic, packaged with the
code, run on start)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from safethird.store.crypto import Cipher

DEFAULT_URL = "sqlite:///safethird.db"
URL_ENV = "SAFETHIRD_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


def comparable(text: str) -> bool:
    """Whether a text given from outside can be looked up at all: PostgreSQL refuses a NUL
    character in any text, even to compare it, so no stored name, e-mail or id holds one and
    such a text matches nothing (on SQLite as on PostgreSQL)."""
    return "\x00" not in text


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    u = make_url(url or database_url())
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() != "sqlite":
        return create_engine(u, pool_pre_ping=True, **kwargs)
    engine = create_engine(u, connect_args={"check_same_thread": False, "timeout": 30},
                           **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if u.database and u.database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
        # a committed transaction is on disk before COMMIT returns: survives kill -9 and a crash
        cur.execute("PRAGMA synchronous=FULL")
        # a deleted case's pages are overwritten, not left in the file's free list
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE: a transaction takes the write lock when it starts, so the audit chain's
        # "read the last link, append the next" cannot interleave between two writers
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (a no-op when it is current)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    """One database and the cipher for its personal data."""

    def __init__(self, url: str | None = None, *, keys: list[str] | None = None,
                 run_migrations: bool = True, engine: Engine | None = None):
        self.engine = engine or make_engine(url)
        self._keys = keys
        if run_migrations:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def cipher(self) -> Cipher:
        # read when first needed: account and audit commands work without the facts key
        return Cipher(self._keys)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on an exception."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
