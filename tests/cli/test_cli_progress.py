"""``wattwise audit`` and ``wattwise optimize`` show a bar with an ETA on a terminal and plain
lines, one per phase, through a pipe (B14). Real processes, a real pty, real ledgers."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from cli.clirun import cli_env, wattwise
from ptyrun import run_in_pty

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]")
STEPS = ("[1/5] measuring", "[2/5] accounting", "[3/5] scaling", "[4/5] what-ifs",
         "[5/5] recommendations")  # fmt: skip
COMMAND = [sys.executable, "-c", "import time; print('output of the command'); time.sleep(0.3)"]

needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="the lab needs torch"
)


def _audit_args(tmp_path: Path) -> list[str]:
    return ["audit", "--out", str(tmp_path / "r.html"), "--", *COMMAND]


def test_audit_through_a_pipe_prints_each_step_once_without_control_characters(
    tmp_path: Path,
) -> None:
    p = wattwise(*_audit_args(tmp_path), timeout=120)
    assert p.returncode == 0, p.stderr
    assert not CONTROL.search(p.stderr), repr(p.stderr)
    assert "ETA" not in p.stderr
    for step in STEPS:
        assert sum(step in line for line in p.stderr.splitlines()) == 1, (step, p.stderr)
    assert re.search(r"^\[ +\d+s\] \[1/5\] measuring the command$", p.stderr, re.M)
    assert "output of the command" in p.stdout
    assert "wattwise audit done" in p.stderr


def test_audit_on_a_terminal_draws_a_bar_with_an_eta_and_keeps_the_commands_output(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-m", "wattwise", *_audit_args(tmp_path)]
    code, out = run_in_pty(argv, env=cli_env(), timeout_s=120)
    assert code == 0, out
    assert re.search(r"audit .*\d+%.*ETA", out), out
    for step in STEPS:  # the log line of each step once (the bar repeats its text)
        assert len(re.findall(r"\d+s\] " + re.escape(step), out)) == 1, (step, out)
    # the bar is taken off while the command writes: its line is intact
    assert re.search(r"(^|\n|\x1b\[2K)output of the command\r?\n", out), out
    tail = out.rsplit("\x1b[2K", 1)[-1]  # after the bar's last erase: the summary, no bar
    assert "wattwise audit done" in tail and "ETA" not in tail


OPTIMIZE = ["optimize", "--size", "tiny", "--techniques", "int8-dynamic", "--budget-s", "0",
            "--rounds", "1", "--no-store"]  # fmt: skip


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache of the tiny built-in model for both optimize runs (trained once)."""
    return str(tmp_path_factory.mktemp("optimize-cache"))


@needs_torch
def test_optimize_through_a_pipe_prints_plain_lines_one_per_lab_step(model_cache: str) -> None:
    p = wattwise(*OPTIMIZE, timeout=300, XDG_CACHE_HOME=model_cache)
    assert p.returncode == 0, p.stderr
    assert not CONTROL.search(p.stderr), repr(p.stderr)
    assert "ETA" not in p.stderr
    lines = p.stderr.splitlines()
    assert lines[0].endswith("optimisation lab: 1 technique, 0 s training budget"), lines
    assert sum("optimising: int8-dynamic" in ln for ln in lines) == 1, lines
    assert all(re.match(r"\[ +\d+s\] ", ln) for ln in lines), lines
    assert lines[-1].endswith("optimisation lab done")
    assert "int8-dynamic" in p.stdout  # the results table, on stdout


@needs_torch
def test_optimize_on_a_terminal_draws_a_bar_with_an_eta(model_cache: str) -> None:
    argv = [sys.executable, "-m", "wattwise", *OPTIMIZE]
    code, out = run_in_pty(argv, env=cli_env(XDG_CACHE_HOME=model_cache), timeout_s=300)
    assert code == 0, out
    assert re.search(r"optimize .*\d+%.*ETA", out), out
    assert "\x1b[" in out
    assert len(re.findall(r"\d+s\] optimisation lab done", out)) == 1, out
    tail = out.rsplit("\x1b[2K", 1)[-1]
    assert "ETA" not in tail and "int8-dynamic" in tail  # the table after the bar is gone


def test_audit_json_redirected_keeps_stdout_clean_while_the_bar_is_on_the_terminal(
    tmp_path: Path,
) -> None:
    """``wattwise audit --json > doc.json`` at a terminal: the bar on stderr, the file only JSON."""
    argv = [sys.executable, "-m", "wattwise", "audit", "--json", "--out", str(tmp_path / "r.html"),
            "--", *COMMAND]  # fmt: skip
    with open(tmp_path / "doc.json", "wb") as f:
        code, terminal = run_in_pty(argv, env=cli_env(), timeout_s=120, stdout_file=f)
    assert code == 0, terminal
    assert re.search(r"audit .*\d+%.*ETA", terminal), terminal
    doc = json.loads((tmp_path / "doc.json").read_text())  # nothing but the document
    assert doc["run"]["energy_j"] > 0
    assert "output of the command" in terminal  # --json sends the command's stdout to stderr
