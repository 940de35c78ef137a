"""``wattwise optimize``: the optimisation lab on the command line (table, Pareto frontier,
recommendation, JSON, SVG plot). Progress goes to stderr (:mod:`wattwise.progress`: a bar with
an ETA from the training budget on a terminal, plain lines elsewhere), results to stdout."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from wattwise import jsonsafe
from wattwise.errors import ConfigError, WattwiseError

#: Longest training budget accepted, seconds (a week).
MAX_BUDGET_S = 7 * 86400.0


def techniques_arg(text: str) -> str:
    """argparse type of ``--techniques``: known names, at least one (checked before any work)."""
    from wattwise.optimize.lab import TECHNIQUES, parse_techniques

    names = [s.strip() for s in text.split(",")]
    if not any(names):
        raise argparse.ArgumentTypeError(
            f"give at least one technique: {', '.join(TECHNIQUES)} or 'all'"
        )
    if "" in names:
        raise argparse.ArgumentTypeError(f"{text!r} has an empty name in the list")
    try:
        return ",".join(parse_techniques(names))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``optimize`` sub-command to the main parser."""
    from wattwise.argtypes import number, whole
    p = sub.add_parser(
        "optimize",
        help="quantize / prune / distil a generative model and measure energy per token",
        description="Apply optimisation techniques to a model and measure every variant in "
        "energy per generated token and held-out perplexity.",
    )
    p.add_argument(
        "--model",
        default="builtin",
        help="'builtin' (default: a small LM trained on the King James Bible, its weights "
        "shipped with wattwise) or a local Hugging Face causal-LM directory",
    )
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train the built-in model here (its recipe: scripts/train_builtin.py) instead of "
        "loading the shipped weights (minutes on a CPU)",
    )
    p.add_argument(
        "--size",
        default="default",
        choices=("default", "tiny"),
        help="size of the built-in model (tiny: seconds, for a quick look)",
    )
    p.add_argument(
        "--techniques",
        type=techniques_arg,
        default="all",
        metavar="LIST",
        help="comma-separated: int8-dynamic, int8-weight, int4-weight, "
        "prune-unstructured, prune-structured, distill, transfer, combined, speculative, "
        "lean, compiled, batched, bf16 (default all)",
    )
    p.add_argument(
        "--budget-s",
        type=number(low=0.0, high=MAX_BUDGET_S),
        default=120.0,
        metavar="S",
        help="seconds of training the techniques may spend together (default 120)",
    )
    p.add_argument(
        "--tolerance",
        type=number(low=0.0, high=10.0, low_inclusive=True),
        default=0.05,
        help="allowed relative perplexity increase of the recommendation (default 0.05)",
    )
    p.add_argument(
        "--rounds",
        type=whole(low=1, high=1000),
        default=None,
        help="interleaved measurement rounds",
    )
    p.add_argument(
        "--batch-size",
        type=whole(low=1, high=4096),
        default=None,
        help="the larger batch size measured",
    )
    p.add_argument(
        "--new-tokens",
        type=whole(low=1, high=100_000),
        default=None,
        help="tokens generated per request",
    )
    p.add_argument(
        "--threads",
        type=whole(low=1, high=1024),
        default=1,
        help="torch threads (default 1, pinned)",
    )
    p.add_argument("--json", action="store_true", help="print the result document as JSON")
    p.add_argument("--plot", metavar="FILE.svg", help="write the Pareto frontier as an SVG plot")
    p.add_argument("--no-store", action="store_true", help="do not write to the ledger")
    p.add_argument("--db", metavar="URL", help="ledger (default: $WATTWISE_DB or the user file)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from wattwise.ledger.location import ledger_files
    from wattwise.optimize._deps import require_torch
    from wattwise.outputs import atomic_write_text, check_output_path

    if args.plot and not str(args.plot).endswith(".svg"):
        raise ConfigError("--plot writes SVG: give a file name ending in .svg")
    if args.plot:  # before any training: a lab's results are never lost to a bad path
        check_output_path(args.plot, what="--plot", ledger_paths=ledger_files(args.db))
    require_torch()
    from wattwise.optimize.lab import run_lab
    from wattwise.progress import Progress, lab_expected_s

    n_techniques = len(args.techniques.split(","))  # techniques_arg expanded 'all'
    with Progress("optimize") as prog:  # a bar with an ETA on a terminal, else plain lines
        prog.phase(
            0.0, 1.0, f"optimisation lab: {n_techniques} technique"
            f"{'s' if n_techniques != 1 else ''}, "
            f"{args.budget_s:g} s training budget",
            expected_s=lab_expected_s(args.budget_s, n_techniques, args.size),
        )
        result = run_lab(
            args.model,
            techniques=args.techniques,
            budget_s=args.budget_s,
            tolerance=args.tolerance,
            size=args.size,
            rounds=args.rounds,
            batch_size=args.batch_size,
            new_tokens=args.new_tokens,
            threads=args.threads,
            store=not args.no_store,
            ledger_url=args.db,
            progress=prog,
            retrain=args.retrain,
        )
        prog.finish("optimisation lab done")
    doc = result.to_dict()
    if args.json:
        jsonsafe.write(doc)
    else:
        sys.stdout.write(render(doc) + "\n")
    if args.plot:  # after the results are out: a failed write loses nothing but the plot
        from wattwise.report.svg import pareto_chart, standalone

        title = f"{doc['model']}: energy per token vs perplexity ({doc['provenance']})"

        try:
            atomic_write_text(args.plot, standalone(pareto_chart(doc, title)))
        except OSError as exc:
            raise WattwiseError(f"cannot write --plot {args.plot}: {exc.strerror or exc}") from None
    return 0


def _f(x: Any, width: int = 0, digits: int = 3) -> str:
    """``x`` for people, right-aligned in ``width``: ``digits`` significant digits, grouped,
    never e-notation (:func:`wattwise.units.format_number`); ``-`` when missing."""
    from wattwise.units import format_number

    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-".rjust(width)
    return format_number(float(x), digits).rjust(width)


def render(doc: dict[str, Any]) -> str:
    """The result document as a text table with the frontier, recommendation and comparisons."""
    from wattwise.optimize.types import same_text

    vs = doc["variants"]
    base = next(v for v in vs if v["name"] == doc["baseline"])
    b = vs[0]["batch"] if vs else 1
    head = (
        f"{'variant':<24} {'mJ/tok':>8} {'mJ/tok b' + str(b):>10} {'x less':>6} "
        f"{'cpu-ms/tok':>10} {'tok/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'ppl':>7} "
        f"{'params':>9} {'size kB':>8} {'opt. J':>8} {'payback tok':>11} {'same text':>9}"
    )
    lines = [
        f"wattwise optimize: {doc['model']}  (energy: {doc['provenance']})",
        head,
        "-" * len(head),
    ]
    for v in vs:
        gain = (
            base["j_per_token"] / v["j_per_token"]
            if v["j_per_token"] and base["j_per_token"]
            else None
        )
        mark = ("*" if v["pareto"] else " ") + ("R" if v["recommended"] else " ")
        lines.append(
            f"{mark}{v['name']:<22} {_f(v['j_per_token'] and v['j_per_token'] * 1e3, 8)} "
            f"{_f(v['j_per_token_batch'] and v['j_per_token_batch'] * 1e3, 10)} "
            f"{_f(gain, 6)} "
            f"{_f(v['cpu_s_per_token'] and v['cpu_s_per_token'] * 1e3, 10)} "
            f"{_f(v['tokens_per_s'], 7)} {_f(v['latency_p50_ms'], 7)} "
            f"{_f(v['latency_p95_ms'], 7)} {_f(v['perplexity'], 7, 4)} "
            f"{v['params']:>9,d} {_f(v['size_bytes'] / 1000, 8)} "
            f"{_f(v['optimisation_energy_j'], 8)} {_f(v['payback_tokens'], 11)} "
            f"{same_text(v):>9}"
        )
    lines.append(
        "* on the Pareto frontier (energy per token vs perplexity)   R recommended   "
        "same text: lab prompts continued with exactly the baseline's greedy tokens"
    )
    rec = doc["recommended"]
    if rec:
        rv = next(v for v in vs if v["name"] == rec)
        lines.append(
            f"recommended (perplexity within {doc['tolerance']:.0%} of {doc['baseline']}): {rec} "
            f"— {_f(base['j_per_token'] / rv['j_per_token'])}x less energy per token, "
            f"perplexity {rv['perplexity']:.2f} vs {base['perplexity']:.2f}"
        )
    from wattwise.cli.render import human_text  # the lab's texts: numbers for people

    for s in doc["skipped"]:
        lines.append(f"skipped {s['technique']}: {human_text(s['reason'])}")
    for c in doc["comparisons"]:
        lines.append(f"{c['name']}: {human_text(c['conclusion'])}")
    for n in doc["notes"]:
        lines.append(f"note: {human_text(n)}")
    lines.append(f"energy source: {doc['energy_source']}")
    if doc.get("ledger"):
        lines.append(str(doc["ledger"]))
    return "\n".join(lines)
