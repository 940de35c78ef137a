"""``wattwise optimize``: the optimisation lab on the command line (table, Pareto frontier,
recommendation, JSON, SVG plot). Progress goes to stderr, results to stdout."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from wattwise.errors import ConfigError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the ``optimize`` sub-command to the main parser."""
    p = sub.add_parser(
        "optimize",
        help="quantize / prune / distil a generative model and measure energy per token",
        description="Apply optimisation techniques to a model and measure every variant in "
        "energy per generated token and held-out perplexity.",
    )
    p.add_argument(
        "--model",
        default="builtin",
        help="'builtin' (default: a small LM trained once on the King James Bible and "
        "cached) or a local Hugging Face causal-LM directory",
    )
    p.add_argument(
        "--size",
        default="default",
        choices=("default", "tiny"),
        help="size of the built-in model (tiny: seconds, for a quick look)",
    )
    p.add_argument(
        "--techniques",
        default="all",
        metavar="LIST",
        help="comma-separated: int8-dynamic, int8-weight, int4-weight, "
        "prune-unstructured, prune-structured, distill, transfer, combined, speculative, "
        "compiled (default all)",
    )
    p.add_argument(
        "--budget-s",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds of training the techniques may spend together (default 120)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="allowed relative perplexity increase of the recommendation (default 0.05)",
    )
    p.add_argument("--rounds", type=int, default=None, help="interleaved measurement rounds")
    p.add_argument("--batch-size", type=int, default=None, help="the larger batch size measured")
    p.add_argument("--new-tokens", type=int, default=None, help="tokens generated per request")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, pinned)")
    p.add_argument("--json", action="store_true", help="print the result document as JSON")
    p.add_argument("--plot", metavar="FILE.svg", help="write the Pareto frontier as an SVG plot")
    p.add_argument("--no-store", action="store_true", help="do not write to the ledger")
    p.add_argument("--db", metavar="URL", help="ledger (default: $WATTWISE_DB or the user file)")
    p.set_defaults(handler=handle)


class _Progress:
    """One updating line on a terminal, plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.n = 0

    def __call__(self, msg: str) -> None:
        self.n += 1
        if self.tty:
            sys.stderr.write(f"\r\x1b[2K[{self.n:3d}] {msg[:110]}")
        else:
            sys.stderr.write(f"[optimize] {msg}\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty and self.n:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def handle(args: argparse.Namespace) -> int:
    from wattwise.optimize._deps import require_torch

    require_torch()
    if args.plot and not str(args.plot).endswith(".svg"):
        raise ConfigError("--plot writes SVG: give a file name ending in .svg")
    from wattwise.optimize.lab import run_lab

    prog = _Progress()
    try:
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
        )
    finally:
        prog.done()
    doc = result.to_dict()
    if args.plot:
        from wattwise.optimize.plot import frontier_svg

        with open(args.plot, "w", encoding="utf-8") as f:
            f.write(frontier_svg(doc))
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(doc) + "\n")
    return 0


def _f(x: Any, fmt: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, fmt)


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
            f"{mark}{v['name']:<22} {_f(v['j_per_token'] and v['j_per_token'] * 1e3, '8.3f')} "
            f"{_f(v['j_per_token_batch'] and v['j_per_token_batch'] * 1e3, '10.3f')} "
            f"{_f(gain, '6.2f')} "
            f"{_f(v['cpu_s_per_token'] and v['cpu_s_per_token'] * 1e3, '10.3f')} "
            f"{_f(v['tokens_per_s'], '7.0f')} {_f(v['latency_p50_ms'], '7.2f')} "
            f"{_f(v['latency_p95_ms'], '7.2f')} {_f(v['perplexity'], '7.2f')} "
            f"{v['params']:>9d} {v['size_bytes'] / 1000:>8.0f} "
            f"{_f(v['optimisation_energy_j'], '8.1f')} {_f(v['payback_tokens'], '11.3g')} "
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
            f"— {_f(base['j_per_token'] / rv['j_per_token'], '.2f')}x less energy per token, "
            f"perplexity {rv['perplexity']:.2f} vs {base['perplexity']:.2f}"
        )
    for s in doc["skipped"]:
        lines.append(f"skipped {s['technique']}: {s['reason']}")
    for c in doc["comparisons"]:
        lines.append(f"{c['name']}: {c['conclusion']}")
    for n in doc["notes"]:
        lines.append(f"note: {n}")
    lines.append(f"energy source: {doc['energy_source']}")
    if doc.get("ledger"):
        lines.append(str(doc["ledger"]))
    return "\n".join(lines)
