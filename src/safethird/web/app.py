"""The workspace application: the pages, their static files and the REST API, on one store.

Pages get a strict Content-Security-Policy (scripts and styles from this server only); the
API's interactive docs at /docs keep FastAPI's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from safethird.api import create_app
from safethird.store import Store
from safethird.web.pages import Refused, router
from safethird.web.session import Sessions

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_workspace(store: Store | None = None, *, session_key: str | None = None
                     ) -> FastAPI:
    app = create_app(store)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router(app.state.store, Sessions(session_key)))

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return exc.response

    @app.middleware("http")
    async def _page_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        path = request.url.path
        if not (path.startswith(("/v1", "/docs", "/openapi", "/redoc", "/static"))):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["Cache-Control"] = "no-store"
        return response

    return app
