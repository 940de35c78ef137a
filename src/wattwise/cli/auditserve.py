"""``wattwise audit --serve-url URL --model NAME``: the options that make the audit measure a
real OpenAI-compatible endpoint with the serving benchmark (:mod:`wattwise.audit.serving`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from wattwise.errors import ConfigError

if TYPE_CHECKING:
    from wattwise.audit.serving import ServeAudit


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """Add ``--serve-url`` and the benchmark settings it takes to the audit's parser."""
    from wattwise.argtypes import number, whole
    from wattwise.audit.serving import DEFAULT_CONCURRENCY, DEFAULT_REQUESTS
    from wattwise.cli.bench import MAX_CONCURRENCY, _list_of

    g = p.add_argument_group(
        "serving endpoint (--serve-url: measured with `wattwise bench serve`'s client and "
        "load sweep instead of the built-in workload; the optimisation lab is skipped)"
    )
    a = g.add_argument
    # fmt: off
    a("--serve-url", metavar="URL",
      help="audit this OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    a("--model", default="", metavar="NAME",
      help="model name to request (default: the first of URL/models)")
    a("--concurrency", type=_list_of(whole(low=1, high=MAX_CONCURRENCY), "concurrencies"),
      default=None, metavar="LIST", help="closed-loop concurrencies to measure (default "
      + ",".join(map(str, DEFAULT_CONCURRENCY)) + ")")
    a("--requests", type=whole(low=1, high=10**7), default=None, metavar="N",
      help=f"measured requests per concurrency (default {DEFAULT_REQUESTS})")
    a("--max-tokens", type=whole(low=1, high=10**6), default=None, metavar="N",
      help="output tokens per request (default 64)")
    a("--slo-ttft-ms", type=number(low=0.0, low_inclusive=False), default=None, metavar="MS",
      help="time-to-first-token objective (p95) of the recommended configuration")
    a("--slo-itl-ms", type=number(low=0.0, low_inclusive=False), default=None, metavar="MS",
      help="inter-token latency objective (p95) of the recommended configuration")
    a("--dataset", metavar="FILE.jsonl",
      help='prompts, one JSON object a line: {"messages": [...]} or {"prompt": "..."} '
      "(default: the built-in public-domain set)")
    a("--energy-from", metavar="URL",
      help="a remote `wattwise exporter` on the server's host, http://HOST:9464/metrics")
    # fmt: on


SERVE_ONLY = ("model", "concurrency", "requests", "max_tokens", "slo_ttft_ms", "slo_itl_ms",
              "dataset", "energy_from")  # fmt: skip


def serve_options(args: argparse.Namespace) -> ServeAudit | None:
    """The endpoint audit the arguments ask for (None: no ``--serve-url``); ConfigError (one
    line) for options that do not go with it, or it without them."""
    from wattwise.audit.serving import (
        DEFAULT_CONCURRENCY,
        DEFAULT_REQUESTS,
        ServeAudit,
        check_endpoint,
    )

    given = [k for k in SERVE_ONLY if getattr(args, k) not in (None, "")]
    if args.serve_url is None:
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise ConfigError(f"{flag} applies to a serving endpoint: give --serve-url URL")
        return None
    clash: list[tuple[bool, str]] = [
        (args.target_command is not None, "a command after '--'"),
        (args.techniques is not None, "--techniques"),
        (args.workload == "train", "--workload train"),
    ]
    for bad, what in clash:
        if bad:
            raise ConfigError(f"--serve-url audits a serving endpoint: drop {what}")
    check_endpoint(args.serve_url)  # an unreachable endpoint: one line, before anything starts
    kw: dict[str, Any] = {
        "url": args.serve_url,
        "model": args.model,
        "concurrency": args.concurrency or list(DEFAULT_CONCURRENCY),
        "requests": args.requests or DEFAULT_REQUESTS,
        "slo_ttft_ms": args.slo_ttft_ms,
        "slo_itl_ms": args.slo_itl_ms,
        "energy_from": args.energy_from,
        "dataset": args.dataset,
    }
    if args.max_tokens is not None:
        kw["max_tokens"] = args.max_tokens
    return ServeAudit(**kw)
