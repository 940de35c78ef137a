"""The dashboard: server-rendered pages (Jinja2 with autoescape, the report's templates and
stylesheet, inline SVG charts of :mod:`wattwise.report.svg`), no script, no external request.

Log-in: ``GET /login`` shows a form; ``POST /login`` takes a token with the ``read`` scope and
sets an ``HttpOnly``, ``SameSite=Strict`` session cookie. Every form carries a CSRF token: the
log-in form one from a pre-session cookie (double submit), the log-out form the session's own.
Pages: ``/`` (the project: energy, carbon and cost over time; by tag, model, hardware, phase;
energy per token; top runs; the assumptions behind the figures), ``/runs`` (every run, filtered,
paged) and ``/runs/{run_id}`` (the run's full report, :func:`wattwise.report.rundoc.
render_run_report`). A page asked for without a session redirects to ``/login``.
"""

from __future__ import annotations

import functools
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wattwise.errors import LedgerError
from wattwise.ledger.rows import loads
from wattwise.server import auth
from wattwise.server import schema as s
from wattwise.server.app import SESSION_COOKIE, engine_of
from wattwise.server.auth import Principal
from wattwise.server.charts import dimension_chart, time_charts
from wattwise.server.store import PERIODS, Filters, aggregate, list_runs

CSRF_COOKIE = "wattwise_csrf"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'"
#: Dimensions the overview breaks the project down by.
OVERVIEW_DIMENSIONS = ("tag", "model", "hardware", "phase")
FILTER_KEYS = ("since", "until", "name", "tag", "model", "hardware", "phase")
PAGE_RUNS = 50


@functools.cache
def _env() -> Any:
    import jinja2

    from wattwise.report.templating import environment

    return environment().overlay(
        loader=jinja2.ChoiceLoader(
            [jinja2.PackageLoader("wattwise.server", "templates"), environment().loader]
        )
    )


def render(name: str, **context: Any) -> str:
    return str(_env().get_template(name).render(**context))


def page(title: str, body: str, who: Principal | None = None, csrf: str = "") -> HTMLResponse:
    """A full page around ``body`` (HTML rendered from our templates)."""
    from markupsafe import Markup

    from wattwise.report.style import CSS

    html = render(
        "dash_page.html", csp=CSP, title=title, heading=title, css=Markup(CSS),
        body=Markup(body), project=who.project if who else None, csrf=csrf,
    )  # fmt: skip
    headers = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
               "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}  # fmt: skip
    return HTMLResponse(html, headers=headers)


def session_of(request: Request) -> tuple[Principal, str] | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    with engine_of(request).begin() as conn:
        return auth.session_principal(conn, secret)


def _filters(request: Request) -> Filters:
    q = request.query_params
    values = {k: (q.get(k) or "").strip()[:200] or None for k in FILTER_KEYS}
    return Filters(**values)


def _query(request: Request, **override: object) -> str:
    items = {k: v for k, v in request.query_params.items() if k in (*FILTER_KEYS, "period") and v}
    items.update({k: str(v) for k, v in override.items()})
    return ("?" + urlencode(items)) if items else ""


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body())[:8192].decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body).items()}


def add_dashboard(app: FastAPI) -> None:
    @app.get("/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        return _login_page(request, "")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await _form(request)
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(form.get("csrf", ""), expected):
            return _login_page(request, "the form expired: log in again", status=403)
        with engine_of(request).begin() as conn:
            who = auth.authenticate(conn, form.get("token", "").strip())
            if who is None or not who.can("read"):
                time.sleep(0.2)  # a little friction for guessing (tokens are 256-bit anyway)
                return _login_page(request, "unknown, expired or revoked token, or no read "
                                   "scope", status=401)  # fmt: skip
            secret, _csrf = auth.create_session(conn, who.token_id)
        out = RedirectResponse("/", status_code=303)
        out.set_cookie(SESSION_COOKIE, secret, max_age=auth.SESSION_S, httponly=True,
                       samesite="strict", secure=request.url.scheme == "https")  # fmt: skip
        out.delete_cookie(CSRF_COOKIE)
        return out

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await _form(request)
        session = session_of(request)
        if session is None or not secrets.compare_digest(form.get("csrf", ""), session[1]):
            return Response("CSRF check failed", status_code=403)
        with engine_of(request).begin() as conn:
            auth.end_session(conn, request.cookies[SESSION_COOKIE])
        out = RedirectResponse("/login", status_code=303)
        out.delete_cookie(SESSION_COOKIE)
        return out

    @app.get("/", include_in_schema=False)
    def overview(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        who, csrf = session
        period = request.query_params.get("period", "day")
        period = period if period in PERIODS else "day"
        with engine_of(request).connect() as conn:
            body = _overview(conn, who, _filters(request), period, _query(request))
        return page(f"wattwise — {who.project}", body, who, csrf)

    @app.get("/runs", include_in_schema=False)
    def runs(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        who, csrf = session
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            offset = 0
        f = _filters(request)
        with engine_of(request).connect() as conn:
            total, rows = list_runs(conn, who.project_id, f, limit=PAGE_RUNS, offset=offset)
        prev = _query(request, offset=max(0, offset - PAGE_RUNS)) if offset > 0 else None
        nxt = _query(request, offset=offset + PAGE_RUNS) if offset + PAGE_RUNS < total else None
        body = render("dash_runs.html", f=f, action="/runs", periods=(), period="",
                      total=total, runs=rows, offset=offset, prev=prev, next=nxt)  # fmt: skip
        return page(f"wattwise — {who.project}: runs", body, who, csrf)

    @app.get("/runs/{run_id}", include_in_schema=False)
    def run_report(request: Request, run_id: str) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        who, _csrf = session
        from wattwise.report.html import CSP as REPORT_CSP
        from wattwise.report.rundoc import render_run_report
        from wattwise.server.index import extras_of
        from wattwise.server.store import get_run

        try:
            with engine_of(request).connect() as conn:
                result, extra = get_run(conn, who.project_id, run_id)
            ctx = extras_of({"context": extra.get("context") or {}}).context
        except LedgerError:
            return page("not found", "<section><h2>No such run in this project</h2>"
                        "<p><a href='/'>back</a></p></section>", who, _csrf)  # fmt: skip
        html = render_run_report(result, ctx).replace(  # the way back, above the report
            "<main>", "<main><p class='note'><a href='/'>the project</a> · "
            "<a href='/runs'>all runs</a></p>", 1,
        )  # fmt: skip
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


def _login_page(request: Request, error: str, *, status: int = 200) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    out = page("wattwise — log in", render("dash_login.html", error=error, csrf=csrf))
    out.status_code = status
    out.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", max_age=3600)
    return out


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The project's totals, from the per-period sums (one query for both)."""
    keys = ("runs", "duration_s", "energy_j", "facility_energy_kwh", "co2e_location_g",
            "co2e_market_g", "water_l", "tokens")  # fmt: skip
    total: dict[str, Any] = {k: sum(r[k] for r in rows) for k in keys}
    total["cost"] = {}
    for r in rows:
        for cur, v in r["cost"].items():
            total["cost"][cur] = total["cost"].get(cur, 0.0) + v
    token_j = sum(r["energy_per_token_j"] * r["tokens"] for r in rows if r["energy_per_token_j"])
    total["energy_per_token_j"] = token_j / total["tokens"] if total["tokens"] else None
    return total


def _assumptions(conn: sa.Connection, project_id: int) -> list[dict[str, Any]]:
    """The footprint inputs of the newest run in each of the 5 locations with most runs."""
    from wattwise.ledger import schema as t
    from wattwise.report.markup import num
    from wattwise.server.rollup import read

    r = s.server_runs.c
    places = sorted(read(conn, project_id, "location", None, None), key=lambda x: -x.runs)
    out = []
    for loc in list(dict.fromkeys(p.key for p in places))[:5]:
        extra = conn.execute(
            sa.select(t.runs.c.extra)
            .join(s.server_runs, r.run_id == t.runs.c.run_id)
            .where(r.project_id == project_id, r.location == loc)
            .order_by(r.started_at.desc())
            .limit(1)
        ).scalar()
        fp = loads(extra, {}).get("footprint") or {}
        rows = [
            (a["name"], num(a["value"]) if isinstance(a["value"], float | int) else a["value"],
             a["unit"], _badge(a["provenance"]), a["source"])
            for a in fp.get("assumptions", [])
        ]  # fmt: skip
        out.append({"location": loc, "rows": rows})
    return out


def _badge(provenance: str) -> Any:
    from wattwise.report.markup import Badge

    return Badge(provenance)


def _overview(conn: sa.Connection, who: Principal, f: Filters, period: str, query: str) -> str:
    from wattwise.report.markup import energy, money, num

    by_time = aggregate(conn, who.project_id, period, f)
    total = _total(by_time)
    charts = time_charts(by_time, period)

    def cost(r: dict[str, Any]) -> str:
        return " + ".join(money(v, c) for c, v in r["cost"].items()) or "—"

    time_rows = [
        (r["key"], r["runs"], energy(r["energy_j"]), num(r["co2e_location_g"] / 1000),
         num(r["co2e_market_g"] / 1000), cost(r), num(r["energy_per_token_j"]))
        for r in by_time
    ]  # fmt: skip
    dimensions = []
    for d in OVERVIEW_DIMENSIONS:
        rows = aggregate(conn, who.project_id, d, f)[:20]
        if not rows or all(r["key"] is None for r in rows):
            continue
        dimensions.append({
            "name": d, "svg": dimension_chart(rows, d),
            "rows": [(r["key"] if r["key"] is not None else "(none)", r["runs"],
                      energy(r["energy_j"]), num(r["co2e_location_g"] / 1000), cost(r),
                      num(r["energy_per_token_j"])) for r in rows],
        })  # fmt: skip
    _, top = list_runs(conn, who.project_id, f, limit=10, order="energy_j", count=False)
    return render(
        "dash_overview.html", f=f, action="/", periods=PERIODS, period=period, total=total,
        time_rows=time_rows, dimensions=dimensions, top_runs=top, query=query,
        assumptions=_assumptions(conn, who.project_id), **charts,
    )  # fmt: skip
