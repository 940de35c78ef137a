"""The report is rendered from Jinja2 templates with autoescape: hostile text anywhere in a run
(name, command, notes, device names, window names, context) is shown as text, never as markup;
jinja2 is imported only when a report is rendered; a template naming a value its caller did not
pass fails instead of printing nothing."""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from report.synthetic import synthetic_doc, synthetic_run
from wattwise.accounting import Context
from wattwise.core.run import RunResult
from wattwise.report.html import render_report
from wattwise.report.rundoc import render_run_report

SRC = str(Path(__file__).resolve().parents[2] / "src")
HOSTILE = "<script>alert(\"x\")</script>' onmouseover='y' & &amp; \"<b>"

#: Every element the report's templates and charts write; anything else was injected.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "div", "h1", "h2",
    "h3", "p", "code", "section", "figure", "figcaption", "table", "thead", "tbody", "tr",
    "th", "td", "span", "b", "i", "br", "ul", "ol", "li", "svg", "g", "rect", "line",
    "polyline", "circle", "text", "path",
}  # fmt: skip


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attr_names: set[str] = set()
        self.attr_values: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attr_names.update(k for k, _ in attrs)
        self.attr_values += [v for _, v in attrs if v is not None]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _hostile_run() -> RunResult:
    run = synthetic_run()
    components = tuple(
        dataclasses.replace(c, name=f"{c.name} {HOSTILE}", source=HOSTILE, params={"k": HOSTILE})
        for c in run.components
    )
    windows = tuple(
        dataclasses.replace(
            w, name=f"{w.name}{HOSTILE}", components=tuple(
                dataclasses.replace(c, name=f"{c.name} {HOSTILE}") for c in w.components
            )
        )
        for w in run.windows
    )  # fmt: skip
    return dataclasses.replace(
        run,
        name=HOSTILE,
        command=("python", "-c", HOSTILE),
        notes=(HOSTILE,),
        components=components,
        windows=windows,
        host={"hostname": HOSTILE},
    )


def _assert_escaped(html: str) -> None:
    parsed = Parsed()
    parsed.feed(html)
    assert parsed.tags <= ALLOWED_TAGS, parsed.tags - ALLOWED_TAGS
    assert not [a for a in parsed.attr_names if a.startswith("on")]  # no handler got in
    assert "<script" not in html and "<b>\"" not in html
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 5  # shown, as the text it is


def test_hostile_strings_in_a_plain_runs_report_are_escaped_everywhere() -> None:
    html = render_run_report(_hostile_run(), Context(country="DE"))
    _assert_escaped(html)
    parsed = Parsed()
    parsed.feed(html)
    assert shlex.join(("python", "-c", HOSTILE)) in "".join(parsed.text)  # the command


def test_hostile_strings_in_an_audit_report_are_escaped_everywhere() -> None:
    run = _hostile_run()
    doc = synthetic_doc(run, Context(country="DE"))
    doc["workload"]["description"] = HOSTILE
    doc["workload"]["model"] = {"name": HOSTILE}
    doc["notes"] = [HOSTILE]
    doc["context_origins"] = {"country": HOSTILE}
    doc["lab"]["model"] = HOSTILE
    doc["lab"]["notes"] = [HOSTILE]
    doc["lab"]["skipped"] = [{"technique": HOSTILE, "reason": HOSTILE}]
    doc["lab"]["variants"][1]["name"] = HOSTILE
    for r in doc["recommendations"]:
        r.update(title=HOSTILE, action=HOSTILE, evidence=HOSTILE, cost=HOSTILE, rule=HOSTILE)
    html = render_report(doc, run)
    _assert_escaped(html)
    parsed = Parsed()
    parsed.feed(html)
    assert HOSTILE in parsed.attr_values  # data-rule etc. keep the value, quoted


def test_import_wattwise_and_its_report_package_do_not_import_jinja2() -> None:
    code = (
        "import sys, wattwise, wattwise.report, wattwise.report.html, wattwise.report.rundoc\n"
        "assert 'jinja2' not in sys.modules and 'markupsafe' not in sys.modules, 'eager'\n"
        "from wattwise.accounting import Context\n"
        "from wattwise.report.templating import render\n"
        "html = render('banners.html', exit_code=3, status='failed', notes=['n'])\n"
        "assert 'jinja2' in sys.modules and 'exit code 3' in html\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert p.returncode == 0, p.stderr


def test_a_template_missing_a_value_fails_instead_of_printing_nothing() -> None:
    import jinja2

    from wattwise.report.templating import render

    with pytest.raises(jinja2.UndefinedError):
        render("banners.html", exit_code=3, notes=[])  # no status


def test_every_template_is_package_data() -> None:
    pyproject = (Path(SRC).parent / "pyproject.toml").read_text()
    package_data = pyproject.split("[tool.setuptools.package-data]")[1].split("\n[")[0]
    templates = sorted((Path(SRC) / "wattwise" / "report" / "templates").iterdir())
    assert templates and all(t.suffix == ".html" for t in templates)
    assert '"report/templates/*.html"' in package_data
