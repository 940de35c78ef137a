"""The report in real headless Chromium: console errors, layout at 1280 px and 390 px (nothing
wider than the viewport, no overlapping chart text, readable SVG text, labels by their dots),
dark mode, and a PDF whose first page is not blank. The fast checks render a synthetic audit
(:mod:`report.synthetic`); ``tests/audit/test_audit_browser.py`` runs the same on a real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from report.layout import MIN_FONT_PX, check_layout, first_page_fill, problems
from report.synthetic import write_synthetic_report
from wattwise.accounting import Context
from wattwise.report.browser import console_errors, find_chromium, print_pdf, screenshot
from wattwise.report.html import CSP

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no headless Chromium here (Debian: apt-get install chromium; or set "
    "WATTWISE_CHROMIUM): the browser layout checks need a real browser",
)


def test_console_errors_filter() -> None:
    log = (
        "[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n"
        '[1:1:INFO:CONSOLE(3)] "Uncaught ReferenceError: x is not defined", source: file:///r\n'
        "Refused to load the image 'https://example.org/a.png' because it violates CSP\n"
    )
    errs = console_errors(log)
    assert len(errs) == 2 and "dbus" not in "".join(errs)


@needs_chromium
def test_browser_reports_blocked_loads_and_script_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        f"<html><head><meta http-equiv='Content-Security-Policy' content=\"{CSP}\"></head>"
        "<body><img src='https://example.invalid/x.png'></body></html>"
    )
    log = screenshot(page, tmp_path / "bad.png", width=400, height=300)
    assert any("example.invalid" in e for e in console_errors(log)), log[-2000:]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_report(tmp_path_factory.mktemp("synthetic"))


@needs_chromium
def test_layout_checks_catch_what_they_must(tmp_path: Path) -> None:
    """Negative control: a page with every defect the checks look for is flagged for each."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><div style='width:900px'>wide</div>"
        "<svg viewBox='0 0 2000 100' width='100%'><text x='10' y='50' font-size='12'>tiny</text>"
        "<text x='12' y='52' font-size='12'>over</text>"
        "<circle data-label='a' cx='100' cy='50' r='5'/><circle data-label='b' cx='400' cy='50' "
        "r='5'/><text data-point='a' x='390' y='54' font-size='40'>a</text></svg></body></html>"
    )
    found = "\n".join(problems(check_layout(bad, 390)))
    for what in ("scrolls sideways", "wider than the viewport", "overlap", "too small",
                 "wrong dot"):  # fmt: skip
        assert what in found, found


@needs_chromium
def test_report_on_a_1280_px_screen_has_no_overflow_or_overlapping_chart_text(
    report: Path,
) -> None:
    result = check_layout(report, 1280)
    assert result["inner_width"] == 1280 and result["svgs"] >= 5 and result["texts"] > 50
    assert problems(result) == []
    assert result["cards_per_row"] == 4


@needs_chromium
def test_report_on_a_390_px_phone_reflows_scrolls_tables_and_keeps_svg_text_readable(
    report: Path,
) -> None:
    result = check_layout(report, 390)
    assert result["inner_width"] == 390
    # cards reflow (2 per row), wide tables and charts scroll inside their containers, and no
    # SVG text renders below MIN_FONT_PX (it used to shrink to ~3 px)
    assert problems(result) == [], f"min font {MIN_FONT_PX} px"
    assert result["cards_per_row"] == 2


@needs_chromium
def test_report_follows_the_dark_colour_scheme(report: Path) -> None:
    light, dark = check_layout(report, 1280), check_layout(report, 1280, dark=True)

    def lum(rgb: str) -> float:
        r, g, b = (int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert lum(light["background"]) > 200 and lum(light["ink"]) < 80
    assert lum(dark["background"]) < 40 and lum(dark["ink"]) > 180
    assert problems(dark) == []


@needs_chromium
def test_report_of_a_cloud_run_passes_the_same_checks(tmp_path: Path) -> None:
    html = write_synthetic_report(tmp_path, Context(cloud="gcp", cloud_region="europe-west1"))
    for width in (1280, 390):
        assert problems(check_layout(html, width)) == [], width


@needs_chromium
def test_pdf_first_page_is_not_mostly_blank(report: Path, tmp_path: Path) -> None:
    pdf = print_pdf(report, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert first_page_fill(pdf) > 0.7  # was 0.34: the recommendations were pushed to page 2


@needs_chromium
def test_synthetic_report_renders_without_console_errors(report: Path, tmp_path: Path) -> None:
    log = screenshot(report, tmp_path / "r.png", width=1280, height=1200)
    assert console_errors(log) == []
