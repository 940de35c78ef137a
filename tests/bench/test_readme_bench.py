"""The README's "Benchmark a serving endpoint" commands: each parses as written; the first (the
acceptance command) runs as written in the slow suite (it serves the default built-in model)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from cli.clirun import wattwise
from wattwise.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(program: tuple[str, ...] = ("wattwise", "bench", "serve")) -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Benchmark a serving endpoint\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    out = []
    for line in block.splitlines():
        argv = shlex.split(line.split(">", 1)[0], comments=True)
        if tuple(argv[: len(program)]) == program:
            out.append(argv[1:])
    return out


def test_readme_commands_parse() -> None:
    cmds = commands()
    assert len(cmds) == 2
    for argv in cmds:
        args = build_parser().parse_args(argv)
        assert args.handler.__module__ == "wattwise.cli.bench"
    remote = build_parser().parse_args(cmds[1])
    assert remote.concurrency == [1, 8, 32, 64] and remote.rate == [0.5, 2.0, 8.0]
    assert remote.energy_from == "http://gpu-host:9464/metrics" and remote.slo_itl_ms == 50
    (audit,) = commands(("wattwise", "audit"))
    args = build_parser().parse_args(audit)
    assert args.handler.__module__ == "wattwise.cli.audit"
    assert args.serve_url == "http://gpu-host:8000/v1" and args.concurrency == [1, 8, 32]
    assert args.slo_ttft_ms == 500 and args.requests_per_day == 1e6


@pytest.mark.slow
def test_acceptance_command_as_written() -> None:
    argv = commands()[0]
    p = wattwise(*argv, "--json", timeout=900)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [c["concurrency"] for c in doc["configs"]] == [1, 4]
    for c in doc["configs"]:
        assert c["j_per_output_token"] > 0 and c["output_tokens_per_s"] > 0
        assert {"p50", "p95", "p99"} <= set(c["ttft_ms"]) and c["provenance"]["energy"]
    assert doc["recommended"]["name"] in ("c=1", "c=4")
