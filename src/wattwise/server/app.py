"""The server's FastAPI application: the REST API under ``/api/v1`` (this module) and the
dashboard (:mod:`.dashboard`).

Every request is authenticated: ``Authorization: Bearer <token>`` (the API), or the dashboard's
session cookie (its pages, and the API's reads from a logged-in browser). No token: 401; a token
without the scope an endpoint needs: 403; a run of another project: 404, as if it did not exist.
The OpenAPI schema is served at ``/api/v1/openapi.json`` (to an authenticated caller too).

Endpoints (scope): ``GET /api/v1/project`` (any) · ``POST /api/v1/runs`` (ingest) push a run
document, 201 stored / 200 already there · ``GET /api/v1/runs`` (read) list with filters ·
``GET /api/v1/runs/{run_id}`` (read) the run document with its footprint, context and tags ·
``GET /api/v1/aggregates?group=day|week|month|tag|model|hardware|phase|status|location`` (read)
· ``GET /api/v1/export.csv`` (read) · ``GET/POST /api/v1/tokens``, ``DELETE
/api/v1/tokens/{token_id}`` (admin) the project's tokens.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Body, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wattwise.errors import LedgerError
from wattwise.ledger.serialize import run_to_dict
from wattwise.server import auth
from wattwise.server import schema as s
from wattwise.server.auth import Principal
from wattwise.server.store import (
    GROUPS,
    Filters,
    RunConflict,
    aggregate,
    get_run,
    list_runs,
    push_run,
)

API = "/api/v1"
#: Largest request body taken (bytes): a run document with its 5,000-point timeline is ~1 MB.
MAX_BODY_BYTES = 32 * 1024 * 1024
SESSION_COOKIE = "wattwise_session"
_bearer = HTTPBearer(auto_error=False, description="a wattwise server token (wwt_...)")


def create_app(engine: sa.Engine) -> FastAPI:
    """The application over ``engine`` (a migrated server database)."""
    from wattwise.server.dashboard import add_dashboard

    app = FastAPI(
        title="wattwise server",
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        description="Runs, aggregates and exports of a wattwise project. Every endpoint needs "
        "a bearer token of the project (scopes: ingest, read, admin).",
    )
    app.state.engine = engine
    _add_api(app)
    add_dashboard(app)

    @app.middleware("http")
    async def _limit(request: Request, call_next: Any) -> Response:
        try:
            size = int(request.headers.get("content-length") or 0)
        except ValueError:
            size = MAX_BODY_BYTES + 1
        if size > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, 413)
        if _has_nul(request):  # PostgreSQL text cannot hold NUL: refused here, not a 500 there
            return JSONResponse({"detail": "a NUL character in the URL or its query"}, 422)
        response: Response = await call_next(request)
        return response

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    return app


def _has_nul(request: Request) -> bool:
    """Whether the decoded path or any query name or value holds a NUL character."""
    from urllib.parse import unquote

    if "\x00" in unquote(request.url.path):
        return True
    return any("\x00" in k or "\x00" in v for k, v in request.query_params.multi_items())


def engine_of(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


def who(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller: a bearer token, else (for reads) the dashboard's session cookie; 401 else."""
    with engine_of(request).begin() as conn:
        if creds is not None and creds.scheme.lower() == "bearer":
            found = auth.authenticate(conn, creds.credentials)
        elif request.method == "GET" and request.cookies.get(SESSION_COOKIE):
            session = auth.session_principal(conn, request.cookies[SESSION_COOKIE])
            found = session[0] if session else None
        else:
            found = None
    if found is None:
        raise HTTPException(
            401, "a valid token is needed (Authorization: Bearer wwt_...)",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    return found


def needs(scope: str) -> Callable[..., Principal]:
    """A dependency: the caller, refused (403) without ``scope``."""

    def check(caller: Annotated[Principal, Depends(who)]) -> Principal:
        if not caller.can(scope):
            raise HTTPException(403, f"this token lacks the {scope!r} scope")
        return caller

    return check


Caller = Annotated[Principal, Depends(who)]
Reader = Annotated[Principal, Depends(needs("read"))]
Ingester = Annotated[Principal, Depends(needs("ingest"))]
Admin = Annotated[Principal, Depends(needs("admin"))]


def filters(
    since: Annotated[str | None, Query(max_length=40, description="ISO 8601, inclusive")] = None,
    until: Annotated[str | None, Query(max_length=40, description="ISO 8601, exclusive")] = None,
    name: Annotated[str | None, Query(max_length=200, description="name contains")] = None,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    hardware: Annotated[str | None, Query(max_length=200, description="contains")] = None,
    phase: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Filters:
    return Filters(since, until, name, tag, model, hardware, phase, status)


Filtered = Annotated[Filters, Depends(filters)]


def _add_api(app: FastAPI) -> None:  # noqa: C901 - one nested function per endpoint
    @app.get(f"{API}/openapi.json", include_in_schema=False)
    def openapi(_caller: Caller) -> dict[str, Any]:
        return app.openapi()

    @app.get(f"{API}/project", summary="the caller's project and scopes")
    def project(caller: Caller) -> dict[str, Any]:
        return {"project": caller.project, "scopes": list(caller.scopes)}

    @app.post(f"{API}/runs", status_code=201, summary="push a run (idempotent by run id)")
    def push(
        request: Request,
        caller: Ingester,
        doc: Annotated[dict[str, Any], Body(description="the ledger's run document")],
    ) -> Response:
        try:
            with engine_of(request).begin() as conn:
                created, run_id = push_run(conn, caller.project_id, doc)
        except RunConflict as exc:
            raise HTTPException(409, str(exc)) from None
        except (LedgerError, ArithmeticError, ValueError, TypeError) as exc:
            raise HTTPException(422, f"not a storable run document: {exc}") from None
        except sa.exc.IntegrityError:  # the same run pushed concurrently: stored once
            with engine_of(request).begin() as conn:
                created, run_id = push_run(conn, caller.project_id, doc)
        except sa.exc.DBAPIError as exc:
            raise HTTPException(422, f"the database refused the run: {exc.orig}") from None
        body = {"run_id": run_id, "stored": created}
        return JSONResponse(body, status_code=201 if created else 200)

    @app.get(f"{API}/runs", summary="list runs (newest first, or by energy)")
    def runs(
        request: Request,
        caller: Reader,
        where: Filtered,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        order: Annotated[str, Query(pattern="^(started_at|energy_j)$")] = "started_at",
    ) -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            total, page = list_runs(
                conn, caller.project_id, where, limit=limit, offset=offset, order=order
            )
        return {"total": total, "limit": limit, "offset": offset, "runs": page}

    @app.get(f"{API}/runs/{{run_id}}", summary="one run: its document, footprint, context, tags")
    def run(
        request: Request, caller: Reader, run_id: Annotated[str, Path(max_length=64)]
    ) -> dict[str, Any]:
        try:
            with engine_of(request).connect() as conn:
                result, extra = get_run(conn, caller.project_id, run_id)
        except LedgerError:
            raise HTTPException(404, "no such run in this project") from None
        doc: dict[str, Any] = dict(run_to_dict(result, include_samples=True))
        for key in ("footprint", "context", "tags", "model"):
            doc[key] = extra.get(key)
        return doc

    @app.get(f"{API}/aggregates", summary="sums per day/week/month or per tag/model/...")
    def aggregates(
        request: Request,
        caller: Reader,
        where: Filtered,
        group: Annotated[str, Query(pattern=f"^({'|'.join(GROUPS)})$")] = "day",
    ) -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            rows = aggregate(conn, caller.project_id, group, where)
        return {"group": group, "rows": rows}

    @app.get(f"{API}/export.csv", summary="the matching runs as CSV", response_class=Response)
    def export(request: Request, caller: Reader, where: Filtered) -> Response:
        out = io.StringIO()
        cols = [c.name for c in s.server_runs.c if c.name != "project_id"]
        writer = csv.DictWriter(out, [*cols, "energy_per_token_j"], extrasaction="ignore")
        writer.writeheader()
        offset = 0
        with engine_of(request).connect() as conn:
            while True:
                _, page = list_runs(conn, caller.project_id, where, limit=1000, offset=offset)
                writer.writerows(page)
                offset += len(page)
                if len(page) < 1000:
                    break
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")

    @app.get(f"{API}/tokens", summary="the project's tokens (never their secrets)")
    def tokens(request: Request, caller: Admin) -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            return {"tokens": auth.list_tokens(conn, caller.project_id)}

    @app.post(f"{API}/tokens", status_code=201, summary="a new token of the project")
    def new_token(
        request: Request,
        caller: Admin,
        scope: Annotated[str, Query(max_length=40, description="e.g. ingest,read")],
        expires: Annotated[str | None, Query(max_length=12, description="e.g. 90d")] = None,
    ) -> dict[str, Any]:
        from wattwise.errors import ConfigError

        try:
            scopes = auth.parse_scopes(scope)
            expires_s = None if expires is None else auth.parse_expiry_s(expires)
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        with engine_of(request).begin() as conn:
            token_id, token = auth.create_token(
                conn, caller.project_id, scopes, expires_s=expires_s
            )
        return {"token_id": token_id, "token": token, "scopes": list(scopes)}

    @app.delete(f"{API}/tokens/{{token_id}}", summary="revoke a token of the project")
    def revoke(
        request: Request, caller: Admin, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
    ) -> dict[str, Any]:
        with engine_of(request).begin() as conn:
            if not auth.revoke_token(conn, token_id, caller.project_id):
                raise HTTPException(404, f"no live token {token_id} in this project")
        return {"token_id": token_id, "revoked": True}
