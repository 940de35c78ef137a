"""``wattwise audit [options] [-- CMD ...]`` and ``wattwise report RUN_ID``.

Progress goes to stderr (one line per step, with the elapsed time); the end summary points to
the report file. Bad input (an unknown region, an unwritable ``--out``, ``--pdf`` without a
browser) fails in one line *before* anything is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.audit.pipeline import (
        DEFAULT_BUDGET_S,
        DEFAULT_REQUESTS_PER_DAY,
        DEFAULT_TECHNIQUES,
    )
    from wattwise.cli import add_db_option
    from wattwise.cli.footprint import add_context_options

    p = sub.add_parser(
        "audit",
        help="assess a workload end to end: energy, carbon, cost, savings, HTML report",
        description="Measure a workload (the built-in generative workload, or CMD after '--'), "
        "account it, scale it to your volume, run the optimisation lab and what-ifs, rank the "
        "actions that would cut it most and write one self-contained HTML report.",
        usage="wattwise audit [options] [-- CMD [ARGS ...]]",
    )
    p.add_argument(
        "--out",
        default="wattwise-audit.html",
        metavar="FILE",
        help="the HTML report to write (default wattwise-audit.html)",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print the report to a PDF beside it (needs chromium)",
    )
    p.add_argument(
        "--scale-requests-per-day",
        dest="requests_per_day",
        type=float,
        default=DEFAULT_REQUESTS_PER_DAY,
        metavar="N",
        help=f"requests per day to scale the measured workload to (default "
        f"{DEFAULT_REQUESTS_PER_DAY:,.0f})",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=DEFAULT_BUDGET_S,
        metavar="S",
        help=f"training seconds the optimisation lab may spend (default {DEFAULT_BUDGET_S:g})",
    )
    p.add_argument(
        "--techniques",
        default=DEFAULT_TECHNIQUES,
        metavar="LIST",
        help=f"lab techniques, comma-separated (default {DEFAULT_TECHNIQUES})",
    )
    p.add_argument(
        "--size",
        default="default",
        choices=("default", "tiny"),
        help="built-in model size (tiny: seconds, for a quick look)",
    )
    p.add_argument("--no-lab", action="store_true", help="skip the optimisation lab")
    p.add_argument(
        "--params",
        type=float,
        metavar="N",
        help="parameter count of the command's model, for the hardware comparison",
    )
    p.add_argument("--json", action="store_true", help="print the audit document as JSON on stdout")
    add_db_option(p)
    add_context_options(p)
    p.set_defaults(handler=handle_audit, accepts_command=True)

    r = sub.add_parser(
        "report",
        help="rebuild an audit's HTML report from the ledger",
        description="Rebuild the HTML report (and a PDF) of an audited run from the ledger.",
    )
    r.add_argument("run_id", metavar="RUN_ID", help="the audited run's id (a prefix works)")
    r.add_argument("--out", metavar="FILE", help="default: wattwise-audit-<id>.html")
    r.add_argument("--pdf", action="store_true", help="also print it to PDF (needs chromium)")
    add_db_option(r)
    r.set_defaults(handler=handle_report)


class Progress:
    """Step lines on stderr with the elapsed time: ``[  12s] [2/5] accounting ...``."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, msg: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - self.t0:5.0f}s] {msg}\n")
        sys.stderr.flush()


def handle_audit(args: argparse.Namespace) -> int:
    from wattwise.audit.pipeline import AuditOptions, check_output_path, run_audit
    from wattwise.cli.footprint import context_from_args
    from wattwise.cli.run import resolve_command

    ctx = context_from_args(args)  # unknown region: one line with close names, exit 2
    out = check_output_path(Path(args.out))  # before measuring anything
    if args.pdf:
        from wattwise.report.browser import require_chromium

        require_chromium()
    command = None
    if args.target_command is not None:
        command = resolve_command(args.target_command)
        from wattwise.cli.run import EXIT_NOT_FOUND, executable_status

        if executable_status(command[0]) == EXIT_NOT_FOUND:
            sys.stderr.write(f"wattwise: command not found: {command[0]}\n")
            return EXIT_NOT_FOUND
    opts = AuditOptions(
        out=out,
        command=command,
        requests_per_day=args.requests_per_day,
        budget_s=args.budget_s,
        size=args.size,
        techniques=args.techniques,
        lab=not args.no_lab,
        db=args.db,
        params=args.params,
        quiet_stdout=args.json,
    )
    say = Progress()
    outcome = run_audit(opts, ctx, say)
    pdf_line = ""
    if args.pdf:
        from wattwise.report.browser import print_pdf

        pdf = print_pdf(outcome.html_path, outcome.html_path.with_suffix(".pdf"))
        pdf_line = f"\n  PDF:    {pdf}"
    if args.json:
        json.dump(outcome.doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    _summary(outcome, pdf_line, time.monotonic() - say.t0)
    return outcome.exit_code


def _summary(outcome: Any, pdf_line: str, elapsed_s: float) -> None:
    from wattwise.units import format_duration, format_energy, format_mass_g

    doc = outcome.doc
    fp, sc = doc["footprint"], doc["scale"]
    y = sc["year"]
    lines = [
        f"wattwise audit done in {format_duration(elapsed_s)}: run {outcome.run_id[:12]}, "
        f"{format_energy(doc['run']['energy_j'])} ({doc['run']['provenance']}), "
        f"{format_mass_g(fp['co2e_location_g'])} CO2e in {fp['location']}",
        f"  at {sc['units_per_day']:,.0f} {sc['unit']}s/day: {y['facility_energy_kwh']:.3g} kWh, "
        f"{y['co2e_location_kg']:.3g} kgCO2e per year",
    ]
    for i, r in enumerate(doc.get("recommendations", [])[:3], 1):
        kg = r.get("saving_kg_per_year")
        saving = f" (saves {kg:.3g} kgCO2e/year)" if isinstance(kg, int | float) else ""
        lines.append(f"  {i}. {r['title']}{saving}")
    if outcome.exit_code:
        lines.append(f"  the command failed with exit code {outcome.exit_code}")
    lines.append(f"  report: {outcome.html_path.resolve()}{pdf_line}")
    if outcome.stored_line:
        lines.append(f"  {outcome.stored_line}")
    sys.stderr.write("\n".join(lines) + "\n")


def handle_report(args: argparse.Namespace) -> int:
    from wattwise.audit.pipeline import check_output_path, write_report
    from wattwise.ledger import Ledger

    if args.pdf:
        from wattwise.report.browser import require_chromium

        require_chromium()
    with Ledger.open(args.db, readonly=True) as ledger:
        run_id = ledger.resolve_run_id(args.run_id)
        out = check_output_path(Path(args.out or f"wattwise-audit-{run_id[:12]}.html"))
        html, pdf = write_report(ledger, run_id, out, pdf=args.pdf)
    sys.stderr.write(f"wattwise: report written to {html.resolve()}\n")
    if pdf is not None:
        sys.stderr.write(f"wattwise: PDF written to {pdf.resolve()}\n")
    if not html.exists():  # pragma: no cover - write_report raises instead
        raise ConfigError(f"no report written to {html}")
    return 0
