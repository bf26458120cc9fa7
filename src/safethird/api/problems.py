"""Errors as RFC 9457 problem details (``application/problem+json``), each naming the field at
fault; a malformed JSON body is a 400 and a failed validation a 422, never a 5xx."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from safethird.api import engine
from safethird.store.caseload import ImportRefused
from safethird.store.errors import StoreError

MEDIA = "application/problem+json"
log = logging.getLogger("safethird.api")

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
          415: "Unsupported media type", 422: "Unprocessable content",
          500: "Internal server error"}


class FieldError(BaseModel):
    field: str
    message: str
    row: int | None = None  # an imported table's row (1-based) and line, when one is at fault
    line: int | None = None
    id: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with the fields at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    errors: list[FieldError] = []


def problem(request: Request, status: int, detail: str, *, field: str | None = None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail,
                   instance=request.url.path, field=field,
                   errors=[FieldError(**e) for e in errors or ([{"field": field,
                                                                  "message": detail}]
                                                                if field else [])])
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=MEDIA, headers=headers)


def _path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems a route may answer with."""
    return {c: {"model": Problem, "description": TITLES.get(c, "Error"),
                "content": {MEDIA: {}}} for c in codes}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            e = next(e for e in errs if e.get("type") == "json_invalid")
            ctx = e.get("ctx") or {}
            return problem(request, 400, f"the body is not valid JSON "
                           f"({ctx.get('error', 'malformed')})", field="body")
        fields = [{"field": _path(tuple(e.get("loc", ()))),
                   "message": str(e.get("msg", "invalid")).removeprefix("Value error, ")}
                  for e in errs]
        first = fields[0]
        return problem(request, 422, f"{first['field']}: {first['message']}",
                       field=first["field"], errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(request, exc.status_code, str(exc.detail),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        if exc.status >= 500:  # a configuration problem (no key): say so, not a traceback
            log.error("store configuration: %s", exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(request, exc.status if exc.status != 400 else 422, exc.message,
                       field=exc.field, headers=headers)

    @app.exception_handler(ImportRefused)
    async def _import(request: Request, exc: ImportRefused) -> JSONResponse:
        return problem(request, 422, exc.message, field=exc.field, errors=exc.errors)

    @app.exception_handler(engine.CaseError)
    async def _case(request: Request, exc: engine.CaseError) -> JSONResponse:
        name = "facts" if exc.field == "(case)" else f"facts.{exc.field}"
        if exc.field == "as_of":
            name = "as_of"
        return problem(request, 422, f"{name}: {exc.message}", field=name,
                       errors=[{"field": name, "message": exc.message}])

    @app.exception_handler(engine.Unsupported)
    async def _unsupported(request: Request, exc: engine.Unsupported) -> JSONResponse:
        return problem(request, 422, exc.message, field=exc.field)

    @app.exception_handler(engine.UnknownVariant)
    async def _variant(request: Request, exc: engine.UnknownVariant) -> JSONResponse:
        return problem(request, 422, str(exc), field="variant")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # the type only: an exception's message may quote the facts of a case
        log.error("internal error on %s %s: %s", request.method, request.url.path,
                  type(exc).__name__)
        return problem(request, 500, "internal error (logged without the request's data)")
