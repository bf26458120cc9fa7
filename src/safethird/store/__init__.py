"""The case store: organisations, users, API tokens, cases (facts encrypted at rest, a version
column for optimistic locking), immutable determinations, fact history and an append-only,
hash-chained audit log. SQLite file by default, PostgreSQL through ``SAFETHIRD_DATABASE_URL``.

The store depends on the core (facts, decide) and never the other way round."""

from safethird.store.db import DEFAULT_URL, Store, database_url
from safethird.store.errors import Conflict, Forbidden, NotFound, StoreError

__all__ = ["DEFAULT_URL", "Conflict", "Forbidden", "NotFound", "Store", "StoreError",
           "database_url"]
