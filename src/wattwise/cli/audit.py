"""``wattwise audit [options] [-- CMD ...]`` and ``wattwise report RUN_ID``.

Progress goes to stderr (:mod:`wattwise.progress`: a bar with an ETA on a terminal, one line
per step with the elapsed time elsewhere); the end summary points to the report file. Bad input
(an unknown region, an unwritable ``--out``, ``--pdf`` without a browser) fails in one line
*before* anything is measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError

if TYPE_CHECKING:
    from wattwise.audit.pipeline import AuditOutcome


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number
    from wattwise.audit.pipeline import (
        DEFAULT_BUDGET_S,
        DEFAULT_REQUESTS_PER_DAY,
        DEFAULT_TECHNIQUES,
    )
    from wattwise.cli import add_db_option
    from wattwise.cli.auditserve import add_serve_options
    from wattwise.cli.footprint import add_context_options
    from wattwise.cli.optimize import MAX_BUDGET_S, techniques_arg

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
        type=number(low=0.0, low_inclusive=False, high=1e13),
        default=DEFAULT_REQUESTS_PER_DAY,
        metavar="N",
        help=f"requests per day to scale the measured workload to (default "
        f"{DEFAULT_REQUESTS_PER_DAY:,.0f})",
    )
    p.add_argument(
        "--workload",
        choices=("train", "serve"),
        default=None,
        help="scale per training run (train) or per request (serve); default: serve when the "
        "run counted requests, else train",
    )
    p.add_argument(
        "--budget-s",
        type=number(low=0.0, high=MAX_BUDGET_S),
        default=DEFAULT_BUDGET_S,
        metavar="S",
        help=f"training seconds the optimisation lab may spend (default {DEFAULT_BUDGET_S:g})",
    )
    p.add_argument(
        "--techniques",
        type=techniques_arg,
        default=None,
        metavar="LIST",
        help=f"lab techniques for the built-in workload, comma-separated (default "
        f"{DEFAULT_TECHNIQUES}); not with a command, whose model the lab cannot see",
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
        type=number(low=0.0, low_inclusive=False, high=1e15, si=True),
        metavar="N",
        help="parameter count of the command's model, for the hardware comparison",
    )
    p.add_argument("--json", action="store_true", help="print the audit document as JSON on stdout")
    add_db_option(p)
    add_context_options(p)
    add_serve_options(p)  # --serve-url URL --model NAME ... (cli/auditserve.py)
    p.set_defaults(handler=handle_audit, accepts_command=True)

    r = sub.add_parser(
        "report",
        help="write the HTML report of a stored run (an audit's, or any run's) from the ledger",
        description="Write the HTML report (and a PDF) of a stored run from the ledger. An "
        "audited run gets its audit's report; any other run (wattwise run, the Python API) "
        "gets its timeline, breakdown, footprint, energy per unit and assumptions, accounted "
        "in its stored context unless context flags are given (as 'runs show').",
    )
    r.add_argument("run_id", metavar="RUN_ID", help="the run's id (a prefix works)")
    r.add_argument(
        "--out", metavar="FILE", help="default: wattwise-audit-<id>.html (wattwise-run-<id>.html)"
    )
    r.add_argument("--pdf", action="store_true", help="also print it to PDF (needs chromium)")
    add_db_option(r)
    add_context_options(r)
    r.set_defaults(handler=handle_report)


def handle_audit(args: argparse.Namespace) -> int:
    from wattwise.audit.pipeline import (
        DEFAULT_TECHNIQUES,
        AuditOptions,
        check_output_path,
        run_audit,
    )
    from wattwise.cli.footprint import context_from_args
    from wattwise.cli.run import resolve_command

    ctx = context_from_args(args)  # unknown region: one line with close names, exit 2
    out = check_output_path(Path(args.out), args.db, pdf=args.pdf)  # before measuring
    if args.pdf:
        from wattwise.report.browser import require_chromium

        require_chromium()
    from wattwise.cli.auditserve import serve_options

    serve = serve_options(args)  # --serve-url: an endpoint; bad combinations fail here
    command = None
    if args.target_command is not None and args.techniques is not None:
        raise ConfigError(
            "--techniques applies to the optimisation lab of the built-in workload; an audited "
            "command's model is opaque to the lab: drop --techniques, or run "
            "'wattwise optimize --model PATH --techniques ...'"
        )
    if args.target_command is not None:
        command = resolve_command(args.target_command)
        from wattwise.tracker.process import check_command

        refused = check_command(command)  # 127 not found, 126 not executable, as `run` says
        if refused is not None:
            from wattwise.cli.render import printable

            sys.stderr.write(f"wattwise: {printable(refused[1])}\n")
            return refused[0]
    opts = AuditOptions(
        out=out,
        command=command,
        requests_per_day=args.requests_per_day,
        budget_s=args.budget_s,
        size=args.size,
        techniques=args.techniques or DEFAULT_TECHNIQUES,
        lab=not args.no_lab,
        db=args.db,
        params=args.params,
        quiet_stdout=args.json,
        workload=args.workload,
        serve=serve,
    )
    from wattwise.progress import Progress

    with Progress("audit") as progress:  # a bar with an ETA on a terminal, else plain lines
        outcome = run_audit(opts, ctx, progress)
        pdf_line = ""
        if args.pdf:
            from wattwise.report.browser import print_pdf

            progress("printing the report to PDF")
            pdf = print_pdf(outcome.html_path, outcome.html_path.with_suffix(".pdf"))
            pdf_line = f"\n  PDF:    {pdf}"
        progress.finish()
    if args.json:
        jsonsafe.write(outcome.doc)
    _summary(outcome, pdf_line, progress.elapsed_s)
    return outcome.exit_code


def _summary(outcome: AuditOutcome, pdf_line: str, elapsed_s: float) -> None:
    from wattwise.units import format_duration, format_energy, format_mass_g, kwh_to_j

    doc = outcome.doc
    fp, sc = doc["footprint"], doc["scale"]
    y = sc["year"]
    lines = [
        f"wattwise audit done in {format_duration(elapsed_s)}: run {outcome.run_id[:12]}, "
        f"{format_energy(doc['run']['energy_j'])} ({doc['run']['provenance']}), "
        f"{format_mass_g(fp['co2e_location_g'])} CO2e in {fp['location']}",
    ]
    if sc.get("workload") == "train":  # per training run, never x requests/day (audit.scaling)
        run = sc["run"]
        lines.append(
            f"  per training run: {format_energy(kwh_to_j(run['facility_energy_kwh']))}, "
            f"{format_mass_g(run['co2e_location_kg'] * 1e3)} CO2e ({sc['workload_basis']})"
        )
    else:
        lines.append(
            f"  at {sc['units_per_day']:,.0f} {sc['unit']}s/day: "
            f"{format_energy(kwh_to_j(y['facility_energy_kwh']))}, "
            f"{format_mass_g(y['co2e_location_kg'] * 1e3)} CO2e per year"
        )
    for i, r in enumerate(doc.get("recommendations", [])[:3], 1):
        kg = r.get("saving_kg_per_year")  # after the actions above it (report.savings)
        saving = (
            f" (saves {format_mass_g(kg * 1e3)} CO2e/year)" if isinstance(kg, int | float) else ""
        )
        lines.append(f"  {i}. {r['title']}{saving}")
    if outcome.exit_code:
        lines.append(f"  the command failed with exit code {outcome.exit_code}")
    lines.append(f"  report: {outcome.html_path.resolve()}{pdf_line}")
    if outcome.stored_line:
        lines.append(f"  {outcome.stored_line}")
    sys.stderr.write("\n".join(lines) + "\n")


def handle_report(args: argparse.Namespace) -> int:
    from wattwise.audit.pipeline import AUDIT_KEY, check_output_path, write_report
    from wattwise.cli.footprint import context_flags
    from wattwise.ledger import Ledger

    if args.pdf:
        from wattwise.report.browser import require_chromium

        require_chromium()
    flags = [k for k, v in context_flags(args).items() if v is not None]
    with Ledger.open(args.db, readonly=True) as ledger:
        run_id = ledger.resolve_run_id(args.run_id)
        extra = ledger.get_extra(run_id)
        audited = isinstance(extra.get(AUDIT_KEY), dict)
        if audited and flags:
            raise ConfigError(
                f"run {run_id[:12]} is an audit: its report keeps the audit's context; drop "
                "the context flags, or audit again with them"
            )
        kind = "audit" if audited else "run"
        out = check_output_path(
            Path(args.out or f"wattwise-{kind}-{run_id[:12]}.html"), args.db, pdf=args.pdf
        )
        if audited:
            html, pdf = write_report(ledger, run_id, out, pdf=args.pdf)
        else:
            html, pdf = _write_run_report(ledger, run_id, extra, out, args)
    sys.stderr.write(f"wattwise: report written to {html.resolve()}\n")
    if pdf is not None:
        sys.stderr.write(f"wattwise: PDF written to {pdf.resolve()}\n")
    return 0


def _write_run_report(
    ledger: Any, run_id: str, extra: dict[str, Any], out: Path, args: argparse.Namespace
) -> tuple[Path, Path | None]:
    """The report of a plain run, accounted as ``runs show`` accounts it."""
    from wattwise.cli.footprint import context_from_args
    from wattwise.outputs import atomic_write_text
    from wattwise.report.rundoc import render_run_report

    result = ledger.get_run(run_id, with_samples=True)
    ctx = context_from_args(args, stored=extra.get("context") or {})
    atomic_write_text(out, render_run_report(result, ctx, extra))
    if not args.pdf:
        return out, None
    from wattwise.report.browser import print_pdf

    return out, print_pdf(out, out.with_suffix(".pdf"))
