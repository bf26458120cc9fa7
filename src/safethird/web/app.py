"""The workspace application: the REST API (and, as they land, the pages) on one store."""

from __future__ import annotations

from fastapi import FastAPI

from safethird.api import create_app
from safethird.store import Store


def create_workspace(store: Store | None = None) -> FastAPI:
    return create_app(store)
