"""``wattwise bench serve``: energy per output token of an OpenAI-compatible server under load
(:mod:`wattwise.bench`). Progress lines go to stderr, the table or ``--json`` to stdout."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from wattwise import jsonsafe

#: Most configurations per sweep, and the largest concurrency / rate accepted.
MAX_CONFIGS, MAX_CONCURRENCY, MAX_RATE_PER_S = 32, 4096, 10_000.0


def _list_of(convert: Callable[[str], Any], what: str) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        items = [s.strip() for s in text.split(",")]
        if not items or "" in items:
            raise argparse.ArgumentTypeError(f"{text!r}: give a comma-separated list of {what}")
        out = list(dict.fromkeys(convert(s) for s in items))  # in order, without repeats
        if len(out) > MAX_CONFIGS:
            raise argparse.ArgumentTypeError(f"at most {MAX_CONFIGS} {what}")
        return out

    return parse


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``bench`` (with its ``serve`` sub-command) to the main parser."""
    p = sub.add_parser("bench", help="benchmark a serving endpoint's energy per token",
                       description="Benchmarks of deployed models.")  # fmt: skip
    inner = p.add_subparsers(dest="bench_command", metavar="WHAT", required=True,
                             parser_class=type(p))  # fmt: skip
    _serve_parser(inner)


def _serve_parser(inner: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number, whole

    s = inner.add_parser(
        "serve",
        help="energy per output token of an OpenAI-compatible server under load",
        description="Load an OpenAI-compatible endpoint (vLLM, TGI, SGLang, transformers "
        "serve) with streaming requests at each concurrency (closed loop) or Poisson rate "
        "(open loop); report energy per output token and per request, throughput and TTFT / "
        "inter-token / end-to-end latency percentiles over each configuration's steady-state "
        "window, and recommend the lowest energy per token that meets the SLOs. Needs the "
        "serving extra: pip install 'wattwise[serving]'.",
    )
    a = s.add_argument
    a("--url", default="", help="base URL of the API, e.g. http://127.0.0.1:8000/v1")
    a("--model", default="", help="model name to request (default: the first of /v1/models)")
    a("--concurrency", type=_list_of(whole(low=1, high=MAX_CONCURRENCY), "concurrencies"),
      default=None, metavar="LIST", help="closed-loop concurrencies, e.g. 1,8,32,64")
    a("--rate", type=_list_of(number(low=0.0, high=MAX_RATE_PER_S, low_inclusive=False),
                              "rates"),
      default=[], metavar="LIST", help="open-loop Poisson arrival rates (requests/s), e.g. 0.5,2,8")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--requests", type=whole(low=1, high=10**7), default=None, metavar="N",
                   help="measured requests per configuration (default 32)")
    g.add_argument("--duration", type=number(low=0.0, high=86400.0, low_inclusive=False),
                   default=None, metavar="S", help="seconds of load per configuration")
    a("--warmup", type=whole(low=0, high=10**5), default=None, metavar="N",
      help="unmeasured requests before each configuration (default: its concurrency; 2 for a rate)")
    a("--max-tokens", type=whole(low=1, high=10**6), default=64, help="output tokens per request")
    a("--dataset", metavar="FILE.jsonl",
      help='prompts, one JSON object a line: {"messages": [...]} or {"prompt": "..."}')
    a("--timeout", type=number(low=0.0, high=86400.0, low_inclusive=False), default=120.0,
      metavar="S", help="seconds before a request counts as timed out (default 120)")
    a("--energy-from", metavar="URL",
      help="a remote `wattwise exporter` on the server's host, http://HOST:9464/metrics "
      "(default: this machine's readers)")
    a("--slo-ttft-ms", type=number(low=0.0, low_inclusive=False), default=None, metavar="MS",
      help="time-to-first-token objective (p95) for the recommendation")
    a("--slo-itl-ms", type=number(low=0.0, low_inclusive=False), default=None, metavar="MS",
      help="inter-token latency objective (p95) for the recommendation")
    lg = s.add_mutually_exclusive_group()
    lg.add_argument("--launch", metavar="CMD",
                    help="start this server command first ({port} in it: a free port), "
                    "stop it after")
    lg.add_argument("--launch-builtin", action="store_true",
                    help="serve the built-in model with `transformers serve` on this CPU")
    a("--builtin-size", choices=("default", "tiny"), default="default",
      help="size of the built-in model for --launch-builtin")
    a("--ready-timeout", type=number(low=0.0, high=86400.0, low_inclusive=False), default=300.0,
      metavar="S", help="seconds a launched server may take to answer /v1/models")
    a("--seed", type=whole(low=0, high=2**31), default=0, help="seed of the Poisson arrivals")
    a("--params", type=number(low=0.0, low_inclusive=False, high=1e15, si=True), metavar="N",
      help="the served model's parameters (8B, 70e9): with --hardware, the estimator's "
      "figure beside each configuration")
    a("--hardware", metavar="NAME", help="the server's accelerator (see 'estimate hardware list')")
    a("--json", action="store_true", help="print the result document as JSON")
    a("--no-store", action="store_true", help="do not write the run to the ledger")
    a("--db", metavar="URL", help="ledger (default: $WATTWISE_DB or the user file)")
    s.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from wattwise.bench.serve import BenchOptions, bench_serve

    concurrency = args.concurrency
    if concurrency is None:
        concurrency = [] if args.rate else [1, 8]
    opts = BenchOptions(
        url=args.url, model=args.model, concurrency=concurrency, rates=args.rate,
        requests=args.requests, duration_s=args.duration, warmup=args.warmup,
        max_tokens=args.max_tokens, dataset=args.dataset, timeout_s=args.timeout,
        energy_from=args.energy_from, slo_ttft_ms=args.slo_ttft_ms, slo_itl_ms=args.slo_itl_ms,
        launch=args.launch, launch_builtin=args.launch_builtin, builtin_size=args.builtin_size,
        ready_timeout_s=args.ready_timeout, store=not args.no_store, db=args.db, seed=args.seed,
        params=args.params, hardware=args.hardware,
    )  # fmt: skip
    def say(message: str) -> None:
        sys.stderr.write(f"wattwise bench: {message}\n")

    doc = bench_serve(opts, say=say)
    if args.json:
        jsonsafe.write(doc)
    else:
        sys.stdout.write(render(doc) + "\n")
    return 0


def _fmt(x: Any, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def render(doc: dict[str, Any]) -> str:
    """The result as a table for people: one line per configuration, then the recommendation."""
    head = (f"{'config':<12} {'ok/sent':>8} {'J/token':>9} {'J/req':>8} {'tok/s':>8} "
            f"{'TTFT p50/p95 ms':>17} {'ITL p95':>8} {'e2e p95':>8} {'power W':>8}  window")
    lines = [f"{doc['model']} at {doc['url']}", head]
    for c in doc["configs"]:
        r = c["requests"]
        lines.append(
            f"{c['name']:<12} {r['ok']:>3}/{r['sent']:<4} {_fmt(c['j_per_output_token']):>9} "
            f"{_fmt(c['j_per_request']):>8} {_fmt(c['output_tokens_per_s']):>8} "
            f"{_fmt(c['ttft_ms']['p50'], '.0f'):>8}/{_fmt(c['ttft_ms']['p95'], '.0f'):<8} "
            f"{_fmt(c['itl_ms']['p95'], '.1f'):>8} {_fmt(c['e2e_ms']['p95'], '.0f'):>8} "
            f"{_fmt(c['mean_power_w']):>8}  {c['window']['kind']} "
            f"{_fmt(c['window']['duration_s'])} s"
        )  # fmt: skip
        if r["failed"]:
            lines.append(f"{'':<12} {r['failed']} failed ({r['timed_out']} timed out): "
                         + "; ".join(f"{k} x{v}" for k, v in r["errors"].items()))  # fmt: skip
    provs = sorted({c["provenance"]["energy"] for c in doc["configs"]})
    tokens = doc["configs"][0]["provenance"]["tokens"] if doc["configs"] else "-"
    lines.append(f"energy: {', '.join(provs)}, from {doc['energy']['source']}; tokens: {tokens}")
    rec = doc["recommended"]
    lines.append(f"recommended: {rec['name']} ({rec['reason']})" if rec["name"]
                 else f"recommended: none ({rec['reason']})")  # fmt: skip
    lines.extend(f"note: {n}" for n in doc["notes"])
    if doc.get("ledger"):
        lines.append(doc["ledger"])
    return "\n".join(lines)
