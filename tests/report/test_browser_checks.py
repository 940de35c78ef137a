"""The console-error check catches what it must (a negative control for the browser test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattwise.report.browser import console_errors, find_chromium, screenshot
from wattwise.report.html import CSP


def test_console_errors_filter() -> None:
    log = (
        "[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n"
        '[1:1:INFO:CONSOLE(3)] "Uncaught ReferenceError: x is not defined", source: file:///r\n'
        "Refused to load the image 'https://example.org/a.png' because it violates CSP\n"
    )
    errs = console_errors(log)
    assert len(errs) == 2 and "dbus" not in "".join(errs)


@pytest.mark.skipif(find_chromium() is None, reason="no headless Chromium here")
def test_browser_reports_blocked_loads_and_script_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        f"<html><head><meta http-equiv='Content-Security-Policy' content=\"{CSP}\"></head>"
        "<body><img src='https://example.invalid/x.png'></body></html>"
    )
    log = screenshot(page, tmp_path / "bad.png", width=400, height=300)
    assert any("example.invalid" in e for e in console_errors(log)), log[-2000:]
