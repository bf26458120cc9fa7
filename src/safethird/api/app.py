"""The REST API under ``/v1``; ``docs/api.md`` documents every endpoint.

Every route that touches a case runs in one store transaction (committed before the response
is sent: a 2xx means the write is on disk) and is scoped to the caller's organisation."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, Response, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from safethird import __version__
from safethird.api import engine
from safethird.api.problems import install, responses
from safethird.store import Store, accounts, caseload, cases
from safethird.store.errors import NotFound, Unauthorized
from safethird.store.models import User

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_LIMIT = 200
bearer = HTTPBearer(auto_error=False, description="An API token (`safethird users token`).")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
CaseId = Annotated[str, Field(max_length=64)]


def _iso_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if not isinstance(v, str) or not _ISO.match(v):
        raise ValueError("an ISO 8601 date string (YYYY-MM-DD)")
    return dt.date.fromisoformat(v)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecideOptions(_Body):
    as_of: str | None = Field(None, description="Decide as of this date (ISO 8601); default: "
                              "the facts' `as_of`, else today.", examples=["2019-12-02"])
    variant: str | None = Field(None, max_length=200, description="Policy variant(s), comma "
                                "separated (`GET /v1/variants`).")
    assume: dict[str, Any] = Field(default_factory=dict, description="Unknown facts to fill "
                                   "with a stated assumption: fact path → value.")

    @field_validator("as_of")
    @classmethod
    def _as_of(cls, v: Any) -> Any:
        _iso_date(v)
        return v


class DeterminationRequest(DecideOptions):
    facts: dict[str, Any] = Field(description="Case facts (CONTRACT.md section 1); an absent "
                                  "fact is unknown.")


class CaseCreate(_Body):
    label: str = Field("", max_length=cases.MAX_LABEL, description="How the screener names "
                       "the case (stored encrypted).")
    facts: dict[str, Any] = Field(default_factory=dict)


class CaseUpdate(_Body):
    version: int = Field(ge=1, le=2**31 - 1, description="The version the change was made on; "
                         "409 if the case has changed since.")
    facts: dict[str, Any] | None = None
    label: str | None = Field(None, max_length=cases.MAX_LABEL)


class CaseOut(BaseModel):
    id: str
    label: str
    facts: dict[str, Any]
    version: int
    created_at: str
    updated_at: str


class Page(BaseModel):
    total: int
    offset: int
    limit: int
    next: str | None = Field(description="The URL of the next page, or null.")


class CasePage(Page):
    items: list[CaseOut]


class StoredDetermination(BaseModel):
    id: str
    case_id: str
    case_version: int
    created_at: str
    as_of: str
    variant: str | None
    law_version: str
    engine_version: str
    pathway: str
    facts: dict[str, Any]
    determination: dict[str, Any]


class DeterminationPage(Page):
    items: list[StoredDetermination]


class ImportedCase(BaseModel):
    row: int
    case_id: str


class ImportRowError(BaseModel):
    row: int
    line: int | None
    id: str | None
    field: str
    message: str


class ImportResult(BaseModel):
    file: str
    rows: int = Field(description="Rows in the table.")
    created: list[ImportedCase] = Field(description="One case per valid row.")
    rejected_rows: list[int] = Field(description="Rows not imported (partial import only).")
    errors: list[ImportRowError]


class FactChangeOut(BaseModel):
    at: str
    by: str
    version: int
    fact: str
    from_: Any = Field(alias="from")
    to: Any


def _case_out(v: cases.CaseView) -> CaseOut:
    return CaseOut(id=v.id, label=v.label, facts=v.facts, version=v.version,
                   created_at=v.created_at.isoformat() + "Z",
                   updated_at=v.updated_at.isoformat() + "Z")


def _next(request: Request, offset: int, limit: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    return str(request.url.include_query_params(offset=offset + limit, limit=limit))


def create_app(store: Store | None = None) -> FastAPI:
    """The API application on ``store`` (default: the store of ``SAFETHIRD_DATABASE_URL``)."""
    app = FastAPI(title="safethird", version=__version__,
                  description="Safe-third-country asylum rules as executable law: stateless "
                  "determinations, case records, the law data. Errors are RFC 9457 problem "
                  "details naming the field.")
    app.state.store = store or Store()
    install(app)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path.startswith("/v1/cases"):
            response.headers["Cache-Control"] = "no-store"  # facts stay out of caches
        return response

    app.include_router(router(app.state.store), prefix="/v1")
    return app


def router(store: Store) -> APIRouter:
    r = APIRouter()

    @contextmanager
    def unit(creds: HTTPAuthorizationCredentials | None, permission: str
             ) -> Iterator[tuple[Session, User]]:
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise Unauthorized("credentials required: send `Authorization: Bearer <API token>`")
        with store.session() as s:
            user = accounts.user_for_token(s, creds.credentials[:200])
            accounts.require(user, permission)
            yield s, user

    auth = responses(401, 403)

    @r.post("/determinations", tags=["determinations"], responses=responses(400, 422),
            summary="Decide a case (stateless; nothing is stored)")
    def determinations(body: DeterminationRequest) -> dict[str, Any]:
        return engine.determine(body.facts, as_of=_iso_date(body.as_of), variant=body.variant,
                                assume=body.assume)

    @r.get("/cases", tags=["cases"], responses=auth | responses(422),
           summary="The organisation's cases, newest change first")
    def list_cases(request: Request, creds: Credentials, offset: Offset = 0, limit: Limit = 50
                   ) -> CasePage:
        with unit(creds, "read") as (s, user):
            views, total = cases.listing(s, store.cipher, user, offset=offset, limit=limit)
        return CasePage(items=[_case_out(v) for v in views], total=total, offset=offset,
                        limit=limit, next=_next(request, offset, limit, total))

    @r.post("/cases", status_code=201, tags=["cases"], responses=auth | responses(400, 422),
            summary="Open a case")
    def create_case(body: CaseCreate, creds: Credentials, response: Response) -> CaseOut:
        with unit(creds, "write") as (s, user):
            view = cases.create(s, store.cipher, user, body.facts, body.label)
        response.headers["Location"] = f"/v1/cases/{view.id}"
        return _case_out(view)

    @r.post("/cases/import", status_code=201, tags=["cases"],
            responses=auth | responses(422),
            summary="Import a CSV or Parquet case table (the batch's columns) into cases")
    def import_cases(creds: Credentials,
                     file: Annotated[UploadFile, File(description="A .csv or .parquet case "
                                                      "table, as `safethird batch` reads.")],
                     partial: Annotated[bool, Query(description="Import the valid rows even "
                                                    "if others are in error.")] = False
                     ) -> ImportResult:
        with unit(creds, "write") as (s, user):  # role and token checked before reading
            table = caseload.read_table(file.file.read(caseload.MAX_IMPORT_BYTES + 1),
                                        file.filename or "upload")
            return ImportResult(**caseload.import_table(s, store.cipher, user, table,
                                                        partial=partial))

    @r.get("/cases/export", tags=["cases"], responses=auth | {200: {
        "content": {"text/csv": {}}, "description": "The caseload as CSV"}},
        response_class=Response, summary="Export the organisation's cases as CSV (the "
        "batch's columns: it re-imports to the same facts)")
    def export_cases(creds: Credentials) -> Response:
        with unit(creds, "read") as (s, user):
            body = caseload.export_csv(s, store.cipher, user)
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="caseload.csv"'})

    @r.get("/cases/{case_id}", tags=["cases"], responses=auth | responses(404),
           summary="One case")
    def get_case(case_id: CaseId, creds: Credentials) -> CaseOut:
        with unit(creds, "read") as (s, user):
            return _case_out(cases.read(s, store.cipher, user, case_id))

    @r.put("/cases/{case_id}", tags=["cases"],
           responses=auth | responses(400, 404, 409, 422),
           summary="Change a case's facts or label (optimistic locking on `version`)")
    def update_case(case_id: CaseId, body: CaseUpdate, creds: Credentials) -> CaseOut:
        with unit(creds, "write") as (s, user):
            return _case_out(cases.update(s, store.cipher, user, case_id, version=body.version,
                                          facts=body.facts, label=body.label))

    @r.delete("/cases/{case_id}", status_code=204, tags=["cases"],
              responses=auth | responses(404), summary="Delete a case with its facts, "
              "history and determinations (the audit log keeps the deletion)")
    def delete_case(case_id: CaseId, creds: Credentials) -> Response:
        with unit(creds, "write") as (s, user):
            cases.remove(s, user, case_id)
        return Response(status_code=204)

    @r.get("/cases/{case_id}/history", tags=["cases"], responses=auth | responses(404),
           summary="Who changed which fact, when, from what to what")
    def case_history(case_id: CaseId, creds: Credentials) -> list[FactChangeOut]:
        with unit(creds, "read") as (s, user):
            return [FactChangeOut.model_validate(h)
                    for h in cases.history(s, store.cipher, user, case_id)]

    @r.post("/cases/{case_id}/determinations", status_code=201, tags=["cases"],
            responses=auth | responses(400, 404, 409, 422),
            summary="Decide the case on its current facts and keep the determination")
    def decide_case(case_id: CaseId, body: DecideOptions, creds: Credentials
                    ) -> StoredDetermination:
        with unit(creds, "write") as (s, user):
            view = cases.read(s, store.cipher, user, case_id)
            result = engine.determine(view.facts, as_of=_iso_date(body.as_of),
                                      variant=body.variant, assume=body.assume)
            return StoredDetermination(**cases.record_determination(
                s, store.cipher, user, case_id, result, version=view.version))

    @r.get("/cases/{case_id}/determinations", tags=["cases"],
           responses=auth | responses(404, 422),
           summary="The determinations kept for a case, newest first")
    def case_determinations(request: Request, case_id: CaseId, creds: Credentials,
                            offset: Offset = 0, limit: Limit = 50) -> DeterminationPage:
        with unit(creds, "read") as (s, user):
            items, total = cases.determinations(s, store.cipher, user, case_id, offset=offset,
                                                limit=limit)
        return DeterminationPage(items=[StoredDetermination(**d) for d in items], total=total,
                                 offset=offset, limit=limit,
                                 next=_next(request, offset, limit, total))

    @r.get("/law", tags=["law"], summary="The law data: agreements, rules, their dates")
    def law() -> dict[str, Any]:
        return engine.law_summary()

    @r.get("/law/{item_id}", tags=["law"], responses=responses(404),
           summary="One item of the law data (as `safethird law show ID`)")
    def law_item(item_id: Annotated[str, Field(max_length=100)]) -> dict[str, str]:
        try:
            return {"id": item_id, "text": engine.law_item(item_id)}
        except KeyError:
            raise NotFound(f"no agreement, rule, country or source {item_id!r}",
                           field="item_id") from None

    @r.get("/variants", tags=["law"], summary="The named policy variants")
    def variants() -> list[dict[str, str]]:
        return engine.variants()

    return r
