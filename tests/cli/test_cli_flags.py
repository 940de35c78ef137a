"""Every numeric flag is checked where it is parsed: one line, exit 2, nothing run (issue 10,
defects 6 and 10), as a user types them."""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path

import pytest

from cli.clirun import one_line_error, wattwise

SRC = Path(__file__).resolve().parents[2] / "src" / "wattwise"
EST = ["estimate", "train", "--hardware", "h100", "--params", "7B", "--tokens", "1T"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--interval", "nan", "--", "true"], "--interval"),
        (["run", "--interval", "inf", "--", "true"], "--interval"),
        (["run", "--interval", "1e308", "--", "true"], "--interval"),
        (["run", "--interval", "0", "--", "true"], "--interval"),
        (["run", "--interval", "-1", "--", "true"], "--interval"),
        (["run", "--total-steps", "1e400", "--", "true"], "--total-steps"),
        (["run", "--total-steps", "2.5", "--", "true"], "--total-steps"),
        (["run", "--year", "99999999999999999999", "--", "true"], "--year"),
        (["run", "--pue", "nan", "--", "true"], "--pue"),
        (["run", "--lifetime", "inf", "--", "true"], "--lifetime"),
        (["runs", "list", "--limit", "99999999999999999999"], "--limit"),
        (["runs", "list", "--limit", "0"], "--limit"),
        (["data", "show", "grid_country.csv", "--limit", "-1"], "--limit"),
        (["compare-regions", "x", "--top", "1e30"], "--top"),
        (["audit", "--params", "-5", "--no-lab", "--", "true"], "--params"),
        (["audit", "--params", "nan", "--no-lab", "--", "true"], "--params"),
        (["audit", "--scale-requests-per-day", "inf", "--no-lab"], "--scale-requests-per-day"),
        (["audit", "--budget-s", "nan", "--no-lab"], "--budget-s"),
        ([*EST, "--power-w", "1e9"], "--power-w"),
        ([*EST, "--power-w", "0"], "--power-w"),
        ([*EST, "--chips", "99999999999999999999999"], "--chips"),
        ([*EST, "--chips", "0"], "--chips"),
        ([*EST, "--mfu", "nan"], "--mfu"),
        ([*EST, "--mfu", "1.5"], "--mfu"),
        ([*EST, "--pue", "inf"], "--pue"),
        ([*EST, "--price", "-1"], "--price"),
        ([*EST, "--year", "1e400"], "--year"),
        (["estimate", "train", "--hardware", "h100", "--params", "nan"], "--params"),
        (["estimate", "train", "--hardware", "h100", "--params", "1e400"], "--params"),
        (["optimize", "--budget-s", "inf"], "--budget-s"),
        (["optimize", "--threads", "0"], "--threads"),
        (["optimize", "--rounds", "1e20"], "--rounds"),
        (["optimize", "--tolerance", "nan"], "--tolerance"),
    ],
)
def test_bad_numeric_flag_is_one_line_exit_2(args: list[str], needle: str) -> None:
    line = one_line_error(wattwise(*args, timeout=60))
    assert needle in line


def test_interval_nan_does_not_busy_loop_or_start_a_run(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    t0 = time.monotonic()
    one_line_error(wattwise("run", "--db", str(db), "--interval", "nan", "--", "sleep", "5"))
    assert time.monotonic() - t0 < 4.5  # refused at parse time, the command never ran
    assert not db.exists()


@pytest.mark.parametrize("spec", ["", ",,", " , ", "bogus", "int8-dynamic,,distill"])
def test_optimize_techniques_checked_before_any_training(spec: str) -> None:
    t0 = time.monotonic()
    line = one_line_error(wattwise("optimize", "--size", "tiny", "--techniques", spec))
    assert "--techniques" in line
    assert time.monotonic() - t0 < 30  # nothing trained or loaded


def test_audit_unknown_technique_with_a_command_is_rejected(tmp_path: Path) -> None:
    out = tmp_path / "a.html"
    p = wattwise("audit", "--out", str(out), "--techniques", "bogus", "--", "true")
    assert "unknown technique bogus" in one_line_error(p)
    assert not out.exists()


def test_audit_valid_technique_with_a_command_says_it_needs_the_builtin(tmp_path: Path) -> None:
    out = tmp_path / "a.html"
    p = wattwise("audit", "--out", str(out), "--techniques", "int8-dynamic", "--", "true")
    line = one_line_error(p)
    assert "--techniques" in line and "built-in" in line
    assert not out.exists()


def _numeric_type_calls() -> list[str]:
    """Every ``add_argument(..., type=float|int)`` left in the source (there must be none)."""
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                for kw in node.keywords:
                    if (
                        kw.arg == "type"
                        and isinstance(kw.value, ast.Name)
                        and kw.value.id in ("float", "int")
                    ):
                        found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_no_numeric_flag_bypasses_the_validation_boundary() -> None:
    assert _numeric_type_calls() == []


def test_every_numeric_flag_refuses_nan_and_inf() -> None:
    """Walk the real parser: each flag whose type converts numbers refuses NaN and infinity."""
    from wattwise.cli import build_parser

    checked = 0
    stack: list[argparse.ArgumentParser] = [build_parser()]
    while stack:
        parser = stack.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
                continue
            conv = action.type
            if not callable(conv) or conv is str or not action.option_strings:
                continue
            try:
                conv("1")
            except (argparse.ArgumentTypeError, ValueError, TypeError):
                pass
            else:
                for bad in ("nan", "inf", "-inf", "1e400"):
                    with pytest.raises(argparse.ArgumentTypeError):
                        conv(bad)
                checked += 1
    assert checked >= 30


@pytest.mark.parametrize("gpus", ["abc,,;rm", "0,,1", "0,", ",", "abc", "0;rm -rf /", "GPU-", " "])
def test_bad_gpus_flag_is_one_line_exit_2_and_nothing_runs(tmp_path: Path, gpus: str) -> None:
    marker = tmp_path / "ran"
    p = wattwise("run", "--no-store", "--gpus", gpus, "--", "touch", str(marker))
    line = one_line_error(p)
    assert "--gpus" in line
    assert not marker.exists()


@pytest.mark.parametrize("gpus", ["0", "0,1", "GPU-8f3c2a", "MIG-GPU-8f3c/1/0", "8f3c2a1b-77"])
def test_good_gpus_flag_is_accepted(gpus: str) -> None:
    p = wattwise("run", "--quiet", "--no-store", "--gpus", gpus, "--", "true")
    assert p.returncode == 0, p.stderr


def test_plot_into_an_unwritable_folder_fails_before_any_training() -> None:
    started = time.monotonic()
    p = wattwise("optimize", "--plot", "/proc/x.svg", timeout=60)
    line = one_line_error(p)
    assert "--plot" in line and "/proc" in line
    assert time.monotonic() - started < 30  # refused at once, not after the lab
