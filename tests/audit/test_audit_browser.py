"""The audit report of a real (tiny) audit in a real headless browser: screenshot, PDF, no
console errors, and the layout checks of :mod:`report.layout` at 1280 px and 390 px."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from audit.conftest import TinyAudit
from report.layout import check_layout, first_page_fill, problems
from wattwise.report.browser import console_errors, find_chromium, print_pdf, screenshot

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no headless Chromium here (Debian: apt-get install chromium; CI installs it)",
)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


def test_report_renders_without_console_errors(tiny_audit: TinyAudit, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    log = screenshot(tiny_audit.html, png, width=1280, height=1600)
    assert _png_size(png) == (1280, 1600)
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
    assert console_errors(log) == [], console_errors(log)


def test_report_prints_to_pdf(tiny_audit: TinyAudit, tmp_path: Path) -> None:
    pdf = print_pdf(tiny_audit.html, tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.count(b"/Type /Page") >= 2
    assert first_page_fill(pdf) > 0.7  # the first page is not left mostly blank


@pytest.mark.parametrize("width", [1280, 390])
def test_audit_report_fits_the_screen_and_no_chart_text_overlaps(
    tiny_audit: TinyAudit, width: int
) -> None:
    assert tiny_audit.returncode == 0, tiny_audit.stderr[-2000:]
    result = check_layout(tiny_audit.html, width)
    assert result["inner_width"] == width and result["svgs"] >= 4
    assert problems(result) == []
