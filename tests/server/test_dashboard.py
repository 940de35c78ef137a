"""The dashboard on SQLite and PostgreSQL: token log-in to a session cookie, CSRF on every
form, the project's figures and run names escaped; and in real headless Chromium at 1280 and
390 px, a screenshot per page kept in ``$WATTWISE_ARTIFACTS`` (default ``test-artifacts/``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.conftest import Served
from wattwise.server.app import create_app

ARTIFACTS = Path(os.environ.get("WATTWISE_ARTIFACTS", "test-artifacts")) / "server-dashboard"


def _csrf(html: str) -> str:
    found = re.search(r"name='csrf' value='([^']+)'", html)
    assert found, html[:500]
    return found.group(1)


def _post(client: TestClient, path: str, body: str) -> object:
    return client.post(path, content=body, follow_redirects=False,
                       headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip


def logged_in(served: Served, role: str = "a_read") -> TestClient:
    client = TestClient(create_app(served.engine))
    form = client.get("/login")
    res = _post(client, "/login", f"csrf={_csrf(form.text)}&token={served.tokens[role]}")
    assert res.status_code == 303 and res.headers["location"] == "/"  # type: ignore[attr-defined]
    return client


def test_pages_need_a_session_and_log_in_needs_its_csrf_token(served: Served) -> None:
    client = TestClient(create_app(served.engine))
    for page in ("/", "/runs", "/runs/a-run-1"):
        got = client.get(page, follow_redirects=False)
        assert got.status_code == 303 and got.headers["location"] == "/login"
    client.get("/login")
    forged = _post(client, "/login", f"csrf=forged&token={served.tokens['a_read']}")
    assert forged.status_code == 403  # type: ignore[attr-defined]
    for role in ("a_ingest", "a_expired", "a_revoked"):  # no read scope, expired, revoked
        form = client.get("/login")
        res = _post(client, "/login", f"csrf={_csrf(form.text)}&token={served.tokens[role]}")
        assert res.status_code == 401, role  # type: ignore[attr-defined]


def test_overview_shows_the_projects_runs_only_and_escapes_names(served: Served) -> None:
    client = logged_in(served)
    html = client.get("/?since=2026-11-01&until=2026-12-31").text
    assert "a-run-1" in html and "a-run-3" in html and "b-run-1" not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<b>bold</b>" not in html
    for heading in ("Over time", "By tag", "By model", "By hardware", "By phase",
                    "Top runs by energy", "Assumptions behind"):  # fmt: skip
        assert heading in html, heading
    total = float(re.search(r"data-metric=\"it_energy_j\" data-value='([^']+)'", html).group(1))  # type: ignore[union-attr]
    assert total == pytest.approx(7.2e6 + 3.6e6 + 1.8e6)
    assert "<script" not in html and not re.search(r"(src|href)=['\"]?(https?:)?//", html)
    runs = client.get("/runs?tag=exp2").text
    assert "a-run-3" in runs and "a-run-1" not in runs and "&lt;script&gt;" in runs
    report = client.get("/runs/a-run-3").text
    assert "&lt;script&gt;alert" in report and "<script>alert" not in report
    assert "No such run" in client.get("/runs/b-run-1").text  # B's run: not A's to see


def test_session_reads_the_api_and_logout_needs_csrf(served: Served) -> None:
    client = logged_in(served)
    assert client.get("/api/v1/runs").status_code == 200  # a logged-in browser reads the API
    assert client.post("/api/v1/runs", json={}).status_code == 401  # but never writes with it
    page = client.get("/").text
    assert _post(client, "/logout", "csrf=forged").status_code == 403  # type: ignore[attr-defined]
    assert client.get("/", follow_redirects=False).status_code == 200
    assert _post(client, "/logout", f"csrf={_csrf(page)}").status_code == 303  # type: ignore[attr-defined]
    assert client.get("/", follow_redirects=False).status_code == 303


def _lum(rgb: str) -> float:
    r, g, b = (int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _in_chromium(
    served: Served, tmp_path: Path, pages: dict[str, str], layout: int, *, dark: bool = False
) -> None:
    """Each page at 1280 and 390 px in headless Chromium: no console error; a screenshot kept
    as an artifact; at ``layout`` px (in the dark colour scheme with ``dark``) nothing wider
    than the viewport, no overlapping text."""
    if served.backend != "sqlite":
        pytest.skip("the same pages: rendered in the browser once (SQLite)")
    from integrations.requires import missing
    from report.layout import check_layout, problems
    from wattwise.report.browser import console_errors, find_chromium, screenshot

    if find_chromium() is None:
        missing("no headless Chromium (apt-get install chromium)")
    client = logged_in(served)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path in pages.items():
        html = tmp_path / f"{name}.html"
        html.write_text(client.get(path).text, encoding="utf-8")
        for width in (1280, 390):
            png = ARTIFACTS / f"{name}-{width}.png"
            log = screenshot(html, png, width=width, height=2400)
            assert console_errors(log) == [], (name, width)
            assert png.stat().st_size > 10_000
        measured = check_layout(html, layout, dark=dark)
        assert problems(measured) == [], (name, layout, problems(measured))
        if dark:  # the report's dark scheme: dark background, light ink
            assert _lum(measured["background"]) < 40 and _lum(measured["ink"]) > 180


def test_dashboard_in_chromium(served: Served, tmp_path: Path) -> None:
    """The project page (the one with the charts) at 1280 and 390 px; layout checked on the
    phone width, in dark mode."""
    _in_chromium(
        served, tmp_path, {"overview": "/?since=2026-11-01&until=2026-12-31"}, 390, dark=True
    )


@pytest.mark.slow
def test_every_dashboard_page_in_chromium(served: Served, tmp_path: Path) -> None:
    pages = {"overview": "/", "runs": "/runs", "run": "/runs/a-run-1"}
    _in_chromium(served, tmp_path, pages, 1280)
