"""``wattwise disclose ai-act|model-card|boamps|impact-framework|datacentre``: the formats a
regulator, a model hub, a sustainability report and the Impact Framework read.

Each format is built by :mod:`wattwise.report.disclosures` from stored runs, accounted in each
run's stored context (context flags re-account them, as ``runs show``). Output goes to stdout or
``--out FILE`` (written atomically). Bad input is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from wattwise.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.cli import Parser

    p = sub.add_parser(
        "disclose",
        help="write disclosures: EU AI Act energy section, model card, BoAmps, Impact Framework",
        description="Write the energy and carbon of stored runs in the formats others read.",
    )
    ds = p.add_subparsers(dest="disclose_command", metavar="FORMAT", parser_class=Parser)
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), 2)[1])
    _ai_act(ds)
    _model_card(ds)
    _boamps(ds)
    _impact(ds)
    _datacentre(ds)


def _run_options(p: argparse.ArgumentParser, *, many: bool = True) -> None:
    from wattwise.cli import add_db_option
    from wattwise.cli.footprint import add_context_options
    from wattwise.report.disclosures.subject import STAGES

    if many:
        p.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="stored runs (id or prefix)")
    else:
        p.add_argument("run_id", metavar="RUN_ID", help="a stored run (id or prefix)")
    p.add_argument(
        "--stage",
        action="append",
        choices=STAGES,
        help="what the run was: once for all runs, or once per run in order (default: not stated)",
    )
    p.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    add_db_option(p)
    add_context_options(p)


def _ai_act(ds: argparse._SubParsersAction[Any]) -> None:
    p = ds.add_parser(
        "ai-act",
        help="the energy section of the EU AI Act GPAI technical documentation (Annex XI)",
        description="Training energy (MWh), compute, time, hardware, boundary, location- and "
        "market-based emissions, offsets on their own line, what is not covered and inference "
        "energy per request, from stored runs (several runs add up) or an estimate.",
    )
    _run_options(p)
    p.add_argument(
        "--estimate",
        action="append",
        metavar="FILE.json",
        help="the JSON of 'wattwise estimate train|finetune --json' (may be repeated)",
    )
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.set_defaults(handler=handle_ai_act)


def _model_card(ds: argparse._SubParsersAction[Any]) -> None:
    p = ds.add_parser(
        "model-card",
        help="the Hugging Face model card co2_eq_emissions block; --update merges it into a card",
        description="Print the co2_eq_emissions metadata block of stored runs (added up), or "
        "merge it into the YAML front matter of a model card (--update README.md): every other "
        "byte of the file is kept; the write is atomic; --dry-run shows the diff instead.",
    )
    _run_options(p)
    p.add_argument("--update", metavar="README.md", help="merge the block into this model card")
    p.add_argument(
        "--dry-run", action="store_true", help="with --update: print the diff, write nothing"
    )
    p.set_defaults(handler=handle_model_card)


def _boamps(ds: argparse._SubParsersAction[Any]) -> None:
    p = ds.add_parser(
        "boamps",
        help="a BoAmps report (Boavizta, AFNOR Spec 2314), validated against its JSON Schema",
        description="Write the BoAmps JSON report of one stored run, validated against the "
        "BoAmps schema 1.1.0 (vendored from github.com/Boavizta/BoAmps). Fields the run does "
        "not know are 'not stated' and listed in x-wattwise.notes.",
    )
    _run_options(p, many=False)
    p.add_argument("--publisher", metavar="NAME", help="header.publisher.name")
    p.add_argument(
        "--confidentiality",
        choices=("public", "internal", "confidential", "secret"),
        default="internal",
        help="header.publisher.confidentialityLevel (default internal)",
    )
    p.add_argument(
        "--status",
        choices=("draft", "final", "corrective", "other"),
        default="draft",
        help="header.reportStatus (default draft)",
    )
    p.add_argument("--task-family", metavar="TEXT", help="task.taskFamily, e.g. chatbot")
    p.add_argument("--algorithm", metavar="NAME", help="task.algorithms[0].algorithmName")
    p.add_argument(
        "--infra-type",
        choices=("publicCloud", "privateCloud", "onPremise", "other"),
        help="infrastructure.infraType (default publicCloud with --cloud, else other)",
    )
    p.set_defaults(handler=handle_boamps)


def _impact(ds: argparse._SubParsersAction[Any]) -> None:
    p = ds.add_parser(
        "impact-framework",
        help="an Impact Framework manifest whose pipeline computes the run's SCI (if-run)",
        description="Write a Green Software Foundation Impact Framework manifest (YAML) whose "
        "builtin pipeline computes SCI from the run's energy, PUE, location-based grid "
        "intensity, embodied carbon and functional unit; 'if-run --manifest FILE' reproduces "
        "wattwise's SCI.",
    )
    _run_options(p, many=False)
    p.add_argument(
        "--unit",
        metavar="UNIT",
        help="functional unit (default: the first counted, "
        "e.g. request; 'run' when nothing was counted)",
    )
    p.set_defaults(handler=handle_impact)


def _datacentre(ds: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number

    p = ds.add_parser(
        "datacentre",
        help="data-centre KPIs for operators: PUE, REF, ERF, WUE (ISO/IEC 30134)",
        description="PUE, REF, ERF and WUE of a data centre over one period (a year for the EU "
        "Energy Efficiency Directive), each with its ISO/IEC 30134 definition. Inconsistent "
        "inputs (IT energy above facility energy, ...) are one line and exit code 2.",
    )
    kwh = number(low=0.0, si=True)
    p.add_argument("--it-kwh", type=kwh, required=True, help="IT equipment energy, kWh")
    p.add_argument(
        "--facility-kwh",
        type=kwh,
        required=True,
        help="total data-centre energy (IT included), kWh",
    )
    p.add_argument("--renewable-kwh", type=kwh, help="renewable energy used, kWh (for REF)")
    p.add_argument("--reused-kwh", type=kwh, help="energy reused outside, kWh (for ERF)")
    p.add_argument("--water-m3", type=kwh, help="site water use, m3 (for WUE)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    p.set_defaults(handler=handle_datacentre, db=None)


def stages_for(stages: Sequence[str] | None, n: int) -> list[str | None]:
    """``--stage`` given once (all works) or once per work; None when not given."""
    if not stages:
        return [None] * n
    if len(stages) == 1:
        return [stages[0]] * n
    if len(stages) != n:
        raise ConfigError(
            f"--stage given {len(stages)} times for {n} runs: give it once, or "
            "once per run in order"
        )
    return list(stages)


def load_works(
    args: argparse.Namespace, run_ids: Sequence[str], estimates: Sequence[str] = ()
) -> list[Any]:
    """The runs (accounted in their stored context, or the flags given) and estimates as
    :class:`~wattwise.report.disclosures.subject.Work`, in the order given."""
    from wattwise.cli.footprint import context_from_args, footprint_of
    from wattwise.cli.runs import _open
    from wattwise.report.disclosures.subject import work_of_estimate, work_of_run

    if not run_ids and not estimates:
        raise ConfigError("give one or more RUN_IDs (see 'wattwise runs list') or --estimate")
    stages = stages_for(getattr(args, "stage", None), len(run_ids) + len(estimates))
    works = []
    if run_ids:
        led = _open(args)
        try:
            for run_id, stage in zip(run_ids, stages, strict=False):
                result = led.get_run(run_id, with_samples=False)
                ctx = context_from_args(args, stored=led.get_extra(result.run_id).get("context"))
                fp = footprint_of(result, ctx)
                works.append(work_of_run(result, fp, ctx=ctx, stage=stage))
        finally:
            led.close()
    offsets_kg = context_from_args(args).offsets_kg if estimates else None
    for path, stage in zip(estimates, stages[len(run_ids) :], strict=False):
        doc = _read_json(path)
        works.append(work_of_estimate(doc, path, stage=stage, offsets_kg=offsets_kg))
    return works


def _read_json(path: str) -> dict[str, Any]:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: not JSON: {' '.join(str(exc).split())[:160]}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: not a JSON object")
    return doc


def emit(args: argparse.Namespace, text: str) -> None:
    """``text`` to ``--out`` (checked first, written atomically) or stdout."""
    if not args.out:
        sys.stdout.write(text)
        return
    from wattwise.ledger.location import ledger_files
    from wattwise.outputs import atomic_write_text, check_output_path

    out = check_output_path(args.out, ledger_paths=ledger_files(args.db))
    atomic_write_text(out, text)
    sys.stderr.write(f"wattwise: wrote {args.out}\n")


def handle_ai_act(args: argparse.Namespace) -> int:
    from wattwise import jsonsafe
    from wattwise.report.disclosures.aiact import ai_act_document, render_markdown

    works = load_works(args, args.run_ids, args.estimate or ())
    if args.format == "json":
        text = jsonsafe.dumps(ai_act_document(works), indent=2) + "\n"
    else:
        text = render_markdown(works)
    emit(args, text)
    return 0


def handle_model_card(args: argparse.Namespace) -> int:
    from wattwise.report.disclosures.modelcard import co2_block, merge_front_matter, unified_diff

    if args.dry_run and not args.update:
        raise ConfigError("--dry-run shows the change --update would make: give --update FILE")
    if args.update and args.out:
        raise ConfigError("give --update FILE or --out FILE, not both")
    block = co2_block(load_works(args, args.run_ids))
    if not args.update:
        emit(args, "\n".join(block.lines) + "\n")
        return 0
    before = _read_card(args.update)
    after = merge_front_matter(before, block)
    _check_card(args.update, after, block.emissions_g)
    if args.dry_run:
        sys.stdout.write(unified_diff(args.update, before, after) or "no change\n")
        return 0
    from wattwise.outputs import atomic_write_bytes, check_output_path

    if after != before:
        atomic_write_bytes(check_output_path(args.update, what="--update"), after)
    sys.stderr.write(f"wattwise: {'updated' if after != before else 'unchanged'} {args.update}\n")
    return 0


def _read_card(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(f"--update {path}: cannot read: {exc.strerror or exc}") from None


def _check_card(path: str, card: bytes, emissions_g: float) -> None:
    """The merged front matter parses as YAML with the block's figure (when PyYAML is here)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - the disclose extra installs it
        return
    from wattwise.report.disclosures.modelcard import front_matter_text

    try:
        meta = yaml.safe_load(front_matter_text(card) or "")
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"--update {path}: its front matter is not valid YAML once merged "
            f"({' '.join(str(exc).split())[:160]}); nothing written"
        ) from None
    got = meta.get("co2_eq_emissions", {}) if isinstance(meta, dict) else {}
    if not isinstance(got, dict) or abs(float(got.get("emissions", -1)) - emissions_g) > max(
        1e-6, 1e-5 * emissions_g
    ):
        raise ConfigError(f"--update {path}: the merged block does not read back; nothing written")


def handle_boamps(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from wattwise import jsonsafe
    from wattwise.errors import WattwiseError
    from wattwise.report.disclosures.boamps import boamps_report, validation_errors
    from wattwise.tracker.outcome import new_run_id

    (work,) = load_works(args, [args.run_id])
    rid = new_run_id()
    report = boamps_report(
        work,
        report_id=f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}",
        report_datetime=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        publisher=args.publisher,
        confidentiality=args.confidentiality,
        status=args.status,
        task_family=args.task_family,
        algorithm=args.algorithm,
        infra_type=args.infra_type,
    )
    errors = validation_errors(report)
    if errors:  # a bug in the mapping, never the user's input: say what broke
        raise WattwiseError(f"the BoAmps report does not validate: {errors[0]}")
    emit(args, jsonsafe.dumps(report, indent=2) + "\n")
    return 0


def handle_impact(args: argparse.Namespace) -> int:
    from wattwise.report.disclosures.impact import manifest_yaml

    (work,) = load_works(args, [args.run_id])
    emit(args, manifest_yaml(work, args.unit))
    return 0


def handle_datacentre(args: argparse.Namespace) -> int:
    from wattwise import jsonsafe
    from wattwise.report.disclosures.datacentre import datacentre_kpis, render_text

    k = datacentre_kpis(
        args.it_kwh, args.facility_kwh, args.renewable_kwh, args.reused_kwh, args.water_m3
    )
    text = jsonsafe.dumps(k.to_dict(), indent=2) + "\n" if args.format == "json" else render_text(k)
    emit(args, text)
    return 0
