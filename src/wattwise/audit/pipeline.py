"""The audit pipeline: measure → account → scale → reduce → recommend → report.

:func:`run_audit` measures a workload with a ledger-backed tracker, accounts it, scales it,
runs the optimisation lab (built-in workload only), applies the recommendation rules and stores
the whole audit document in the ledger (``extra["audit"]`` of the measured run), so that
``wattwise report RUN_ID`` rebuilds the same report from the ledger alone. The report itself is
rendered from what the ledger returns, never from in-memory figures that were not stored.

Audit document (JSON; energies J or kWh, carbon g or kg, money in ``scale.currency``)::

    {"version", "run_id", "created_at", "workload": {kind, description, command, exit_code,
     status, batch_size, model, notes}, "context", "footprint", "run": {energy_j, provenance,
     duration_s, components}, "phases", "breakdown_j", "scale", "hardware", "hardware_note",
     "regions", "whatifs": {"pue", "power"}, "lab", "lab_note", "utilisation",
     "power_profile", "cpufreq", "recommendations", "notes"}

With ``--serve-url`` (``AuditOptions.serve``) the measured run is a serving benchmark of that
endpoint and the scale its recommended configuration's J/request (:mod:`wattwise.audit.serving`);
the lab is skipped and the report adds the benchmark's serving section (``extra["bench"]``).

``power_profile``: the ``wattwise tune`` profile of the audited command, ``cpufreq``: the CPU
frequency settings and their advice (:mod:`wattwise.audit.power`).

Typed as :class:`~wattwise.core.documents.AuditDocument` (the recommendation rules read its
:class:`~wattwise.core.documents.AuditFindingsDocument`, everything but ``recommendations``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from wattwise.core.documents import (
    AuditDocument,
    AuditFindingsDocument,
    AuditRunDocument,
    HardwareRowDocument,
)
from wattwise.errors import ConfigError, LedgerError, WattwiseError

if TYPE_CHECKING:
    from wattwise.accounting import Context
    from wattwise.audit.serving import ServeAudit
    from wattwise.audit.workload import Measured
    from wattwise.core.run import RunResult
    from wattwise.ledger import Ledger
    from wattwise.progress import Reporter

AUDIT_KEY = "audit"
DOC_VERSION = 1
#: Lab techniques of the audit: lossless speculative decoding and the lean eager decoding step,
#: the variants that pay on the built-in model without compiling (``speculative+lean``: 3.4x
#: less energy per token at batch 1, within the noise band of the compiled
#: ``speculative+compiled``'s 3.3-3.8x). The compiled variants cost minutes of TorchInductor
#: compilation and autotuning on a 2-core machine (an audit with them took 90-549 s with empty
#: caches against the 60 s target: benchmarks/audit.md), the training techniques (distill,
#: prune-*, transfer) their training budget; the quantized ones did not pay on this model.
#: ``--techniques speculative,lean,compiled`` (and ``--budget-s``) add them.
DEFAULT_TECHNIQUES = "speculative,lean"
#: The audit's lab: rounds and seconds per measured window, sized so the whole audit takes about
#: a minute on the 2-core reference machine (benchmarks/audit.md).
LAB_ROUNDS = 3
LAB_MIN_WINDOW_S = 1.0
DEFAULT_REQUESTS_PER_DAY = 10_000.0
#: Training seconds of the audit's lab: its default techniques train nothing.
DEFAULT_BUDGET_S = 0.0

Say = Callable[[str], None]
#: Expected seconds of the audit's steps, for the progress bar and its ETA only (the built-in
#: workload took ~10 s on the reference machine, benchmarks/audit.md; the lab's comes from its
#: budget, :func:`wattwise.progress.lab_expected_s`; a user's command: unknown).
MEASURE_BUILTIN_EXPECTED_S = {"default": 12.0, "tiny": 3.0}
ACCOUNT_EXPECTED_S, SCALE_EXPECTED_S, WHATIFS_EXPECTED_S, REPORT_EXPECTED_S = 1.0, 1.0, 1.0, 3.0


@dataclass
class AuditOptions:
    """What to audit and how. ``command`` None: the built-in workload."""

    out: Path
    command: list[str] | None = None
    requests_per_day: float = DEFAULT_REQUESTS_PER_DAY
    budget_s: float = DEFAULT_BUDGET_S
    size: str = "default"
    techniques: str = DEFAULT_TECHNIQUES
    lab: bool = True
    db: str | None = None
    interval_s: float = 0.5
    params: float | None = None
    pdf: bool = False
    quiet_stdout: bool = False
    lab_rounds: int | None = None
    #: ``train`` or ``serve``; None: decided from what the run counted (audit.scaling).
    workload: str | None = None
    #: ``--serve-url``: audit this OpenAI-compatible endpoint instead (wattwise.audit.serving).
    serve: ServeAudit | None = None


@dataclass
class AuditOutcome:
    """The measured run's id, the stored document, files written, the workload's exit code."""

    run_id: str
    doc: AuditDocument
    html_path: Path
    pdf_path: Path | None
    exit_code: int
    notes: list[str] = field(default_factory=list)
    #: Where the run went (``WriteOutcome.line()``: stored / spooled to ... / NOT stored: ...).
    stored_line: str = ""


def check_output_path(path: Path, db: str | None = None, *, pdf: bool = False) -> Path:
    """Fail now (ConfigError, one line) if the report (and with ``pdf`` the PDF beside it)
    cannot be written, or would overwrite the ledger ``db`` — before measuring anything."""
    from wattwise.ledger.location import ledger_files
    from wattwise.outputs import check_output_path as check

    guarded = ledger_files(db)
    p = check(path, what="--out", ledger_paths=guarded)
    if pdf:
        check(p.with_suffix(".pdf"), what="--pdf", ledger_paths=guarded)
    return p


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _step_spans(opts: AuditOptions, builtin: bool) -> list[tuple[float, float, float | None]]:
    """(start, end, expected seconds) of the audit's five steps, spans weighted by expected
    seconds (see :data:`MEASURE_BUILTIN_EXPECTED_S`)."""
    from wattwise.progress import lab_expected_s, spans

    measure = MEASURE_BUILTIN_EXPECTED_S.get(opts.size, 12.0) if builtin else None
    whatifs = WHATIFS_EXPECTED_S
    if builtin and opts.lab:
        n = len([t for t in opts.techniques.split(",") if t.strip()])
        whatifs += lab_expected_s(opts.budget_s, n, opts.size)
    expected = [measure, ACCOUNT_EXPECTED_S, SCALE_EXPECTED_S, whatifs, REPORT_EXPECTED_S]
    return [(a, b, e) for (a, b), e in zip(spans(expected), expected, strict=True)]


def run_audit(opts: AuditOptions, ctx: Context, say: Say | Reporter) -> AuditOutcome:
    """Run the whole audit; see the module docstring. Raises WattwiseError for bad input.

    ``say``: a :class:`wattwise.progress.Reporter` (the CLI's progress bar: five phases with
    known spans) or any callable taking a line (each phase and message is one call)."""
    from wattwise.accounting.runs import footprint_of
    from wattwise.audit import analysis as an
    from wattwise.audit.power import power_findings
    from wattwise.audit.workload import DEMO_COMMAND
    from wattwise.ledger import Ledger

    if not (opts.requests_per_day > 0 and math.isfinite(opts.requests_per_day)):
        raise ConfigError("--scale-requests-per-day must be a positive number")
    if not (opts.budget_s >= 0 and math.isfinite(opts.budget_s)):
        raise ConfigError("--budget-s must be a non-negative number of seconds")
    out = check_output_path(opts.out, opts.db, pdf=opts.pdf)
    from wattwise.progress import as_reporter

    rep = as_reporter(say)
    notes: list[str] = []
    ledger = Ledger.open(opts.db, persistent=True)
    try:
        builtin = opts.command is None and opts.serve is None and torch_available()
        command = opts.command
        if opts.command is None and not builtin and opts.serve is None:
            command = list(DEMO_COMMAND)
            notes.append(
                "PyTorch is not installed: the built-in model could not run, so the stdlib demo "
                "workload (python -m wattwise.workloads.demo) was measured instead and the "
                'optimisation lab was skipped (pip install "wattwise[optimize]")'
            )
        if opts.serve is not None:
            name = "audit:serve"
        elif builtin or command is None:
            name = "audit:builtin"
        else:
            name = "audit:demo" if opts.command is None else f"audit:{Path(command[0]).name}"
        steps = _step_spans(opts, builtin)

        def step(i: int, message: str) -> None:
            start, end, expected_s = steps[i - 1]
            rep.phase(start, end, f"[{i}/5] {message}", expected_s=expected_s)

        what = "built-in workload" if opts.command is None else "command"
        step(1, f"measuring the {'serving endpoint' if opts.serve else what}")
        bench: dict[str, Any] | None = None
        if opts.serve is not None:  # the benchmark's stored run is the audited run
            from wattwise.audit.serving import measure_serving

            measured, run_id, bench = measure_serving(opts.serve, opts.db, rep)
            exit_code = 0
        else:
            measured, run_id, exit_code = _measure(opts, builtin, command, name, ledger, rep)
        result = ledger.get_run(run_id)  # the report is built from what the ledger holds
        if exit_code != 0:
            notes.append(
                f"the command failed with exit code {exit_code}: the figures cover what was "
                "measured until it stopped"
            )
        from wattwise.units import format_energy

        step(2, f"accounting {format_energy(result.energy.total_j)} ({result.energy.label})")
        fp = footprint_of(result, ctx)
        ledger.set_extra(result.run_id, "context", ctx.to_dict())
        ledger.set_extra(result.run_id, "footprint", fp.to_dict())

        step(3, "scaling to your volume (per request for serving, per run for training)")
        if bench is not None:
            from wattwise.audit.serving import audit_scale

            sc = audit_scale(bench, result, fp, ctx, opts.requests_per_day, notes)
        else:
            sc = an.scale(result, fp, ctx, opts.requests_per_day, opts.workload)
        params = opts.params or (measured.model or {}).get("params")
        hardware: list[HardwareRowDocument] = []
        hw_note = ""
        if params and sc["unit"] == "request":
            m = measured.model or {}
            hardware = an.hardware_rows(
                float(params),
                float(m.get("prompt_tokens", 16)),
                float(m.get("new_tokens", 64)),
                opts.requests_per_day,
                ctx,
            )
        else:
            hw_note = (
                "hardware comparison skipped: give --params (the model's parameter count) and "
                "have the command report its requests"
            )
        step(4, "what-ifs: regions, cooling, power settings")
        regions = an.regions(result.energy.total_j, result.duration_s, ctx, result.energy.label, fp)
        if bench is not None:
            from wattwise.audit.serving import LAB_NOTE

            lab_doc, lab_note = None, LAB_NOTE
        else:
            lab_doc, lab_note = _lab(opts, builtin, exit_code, rep)
        profile, cpu = power_findings(opts.command and command, result, sc["unit"])
        findings: AuditFindingsDocument = {
            "version": DOC_VERSION,
            "run_id": result.run_id,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "workload": {
                "kind": measured.kind,
                "description": measured.description,
                "command": command,
                "exit_code": exit_code,
                "status": result.status,
                "batch_size": measured.batch_size,
                "model": measured.model,
                "notes": list(result.notes),
            },
            "context": ctx.to_dict(),
            "context_origins": dict(ctx.origins),
            "footprint": fp.to_dict(),
            "run": _run_doc(result),
            "phases": an.phases(result),
            "breakdown_j": an.breakdown_j(result, fp.pue),
            "scale": sc,
            "hardware": hardware,
            "hardware_note": hw_note,
            "regions": regions,
            "whatifs": {
                "pue": an.pue_whatifs(sc["year"]["it_energy_kwh"], ctx),
                "power": an.power_whatifs(lab_doc, sc),
            },
            "lab": lab_doc,
            "lab_note": lab_note,
            "utilisation": an.utilisation(result),
            "power_profile": profile,
            "cpufreq": cpu,
            "notes": notes,
        }
        step(5, "recommendations and report")
        from wattwise.report.recommend import recommend

        ranked = [r.to_dict() for r in recommend(findings)]
        doc = _jsonable_audit({**findings, "recommendations": ranked})
        ledger.set_extra(result.run_id, AUDIT_KEY, doc)
        ledger.settle(result.run_id)
        html_path, pdf_path = write_report(ledger, result.run_id, out, pdf=opts.pdf)
        return AuditOutcome(
            result.run_id, doc, html_path, pdf_path, exit_code, notes,
            stored_line=str(bench["ledger"]) if bench else ledger.outcome(result.run_id).line(),
        )
    finally:
        ledger.close()


def _measure(
    opts: AuditOptions,
    builtin: bool,
    command: list[str] | None,
    name: str,
    ledger: Ledger,
    rep: Reporter,
) -> tuple[Measured, str, int]:
    """Measure the built-in workload or the command with a ledger-backed tracker: (what was
    measured, the stored run's id, the exit code). LedgerError when the run was not stored."""
    from wattwise.audit.workload import (
        Measured,
        load_builtin,
        pin_threads,
        run_builtin,
        run_command,
    )
    from wattwise.tracker.core import Tracker

    threads = pin_threads(1) if builtin else contextlib.nullcontext()
    threads.__enter__()
    model = load_builtin(opts.size, rep) if builtin else None
    tracker = Tracker(name, interval_s=opts.interval_s, sink=ledger, command=command)
    tracker.start()
    exit_code, status = 0, "finished"
    measured: Measured
    try:
        if builtin:
            measured = run_builtin(tracker, model, rep)
        else:
            assert command is not None
            with rep.hold():  # the command shares the terminal: no bar over its output
                ran = run_command(tracker, command, rep, quiet_stdout=opts.quiet_stdout)
            exit_code, status = ran.exit_code, ran.status  # a signal: interrupted
            measured = Measured(
                None,
                "demo" if opts.command is None else "command",
                "stdlib demo workload: a character n-gram model trained, then sampled"
                if opts.command is None
                else "command: " + " ".join(command),
            )
    except BaseException:
        tracker.stop(status="interrupted")
        raise
    finally:
        threads.__exit__(None, None, None)
    stored = tracker.stop(exit_code=exit_code, status=status)
    if not (written := ledger.outcome(stored.run_id)).stored:  # never report a partial run
        raise LedgerError(f"no report built: the measured run is {written.line()}")
    return measured, stored.run_id, exit_code


def _lab(
    opts: AuditOptions, builtin: bool, exit_code: int, say: Say
) -> tuple[dict[str, Any] | None, str]:
    """Run the optimisation lab on the built-in model, or say why it was skipped."""
    if not builtin:
        if opts.command is not None:
            return None, (
                "optimisation lab skipped: the audited command is opaque to wattwise (its model "
                "is not known); run `wattwise optimize --model PATH` on a Hugging Face model"
            )
        return (
            None,
            'optimisation lab skipped: PyTorch is not installed (pip install "wattwise[optimize]")',
        )
    if not opts.lab:
        return None, "optimisation lab skipped (--no-lab)"
    try:
        from wattwise.optimize import run_lab

        t0 = time.perf_counter()
        res = run_lab(
            "builtin",
            techniques=opts.techniques,
            budget_s=opts.budget_s,
            size=opts.size,
            rounds=opts.lab_rounds or LAB_ROUNDS,
            min_window_s=LAB_MIN_WINDOW_S,
            ledger_url=opts.db,
            progress=lambda m: say(f"  lab: {m}"),
        )
        say(f"  lab done in {time.perf_counter() - t0:.0f} s")
        return res.to_dict(), ""
    except WattwiseError as exc:
        return None, f"optimisation lab skipped: {exc}"


def _run_doc(result: RunResult) -> AuditRunDocument:
    return {
        "energy_j": result.energy.total_j,
        "provenance": result.energy.label,
        "duration_s": result.duration_s,
        "status": result.status,
        "exit_code": result.exit_code,
        "started_at": result.started_at,
        "host": dict(result.host),
        "counts": dict(result.counts),
        "components": [
            {
                "device": c.device_id,
                "kind": c.kind,
                "name": c.name,
                "energy_j": c.energy_j,
                "provenance": c.provenance.value,
                "source": c.source,
            }
            for c in result.components
        ],
    }


def _jsonable_audit(doc: AuditDocument) -> AuditDocument:
    """``doc`` as JSON stores it: the same keys, tuples as lists, NaN / inf as None."""
    # The same document made JSON-safe value by value (the cast names what _jsonable keeps).
    return cast(AuditDocument, _jsonable(doc))


def _jsonable(x: Any) -> Any:
    """Tuples → lists, NaN / inf → None (JSON has neither)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def load_audit(ledger: Ledger, run_id: str) -> tuple[RunResult, AuditDocument]:
    """(RunResult, audit document) of ``run_id`` (a prefix works) from the ledger."""
    full = ledger.resolve_run_id(run_id)
    doc = ledger.get_extra(full).get(AUDIT_KEY)
    if not isinstance(doc, dict):
        raise ConfigError(
            f"run {full[:12]} has no audit in the ledger; audit a workload with `wattwise audit`"
        )
    # JSON read back from the ledger: the audit as the version that stored it wrote it (the
    # report reads every section defensively, so older documents still render).
    return ledger.get_run(full, with_samples=True), cast(AuditDocument, doc)


def write_report(
    ledger: Ledger, run_id: str, out: Path, *, pdf: bool = False
) -> tuple[Path, Path | None]:
    """Render the report of ``run_id`` from the ledger to ``out`` (and a PDF beside it)."""
    from wattwise.report.html import render_report

    result, doc = load_audit(ledger, run_id)
    bench = ledger.get_extra(result.run_id).get("bench")  # an audit of a serving endpoint
    html = render_report(doc, result, bench if isinstance(bench, dict) else None)
    from wattwise.outputs import atomic_write_text

    atomic_write_text(out, html)
    pdf_path = None
    if pdf:
        from wattwise.report.browser import print_pdf

        pdf_path = print_pdf(out, out.with_suffix(".pdf"))
    return out, pdf_path
