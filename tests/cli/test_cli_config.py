"""Config files and environment as a user's project has them (issue 10, defect 12): a broken
pyproject.toml that is not wattwise's does not block anything; one that configures wattwise is
one line naming the file; environment variables are checked like flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.clirun import one_line_error, wattwise

BROKEN = {
    "syntax": b"[project\nname = 'x'\n",
    "not-utf8": b"[project]\nname = '\xff\xfe caf\xe9'\n",
    "duplicate-key": b"[project]\nname = 'a'\nname = 'b'\n",
}
EST = ["estimate", "train", "--hardware", "h100", "--params", "7B", "--tokens", "1T"]


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_foreign_pyproject_does_not_block_run_show_or_estimate(
    tmp_path: Path, kind: str
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(BROKEN[kind])
    db = str(tmp_path / "l.db")
    run = wattwise("run", "--json", "--db", db, "--", "true", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    for args in (["runs", "show", run_id], ["runs", "list"]):
        p = wattwise(*args, "--db", db, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    est = wattwise(*EST, cwd=tmp_path)
    assert est.returncode == 0, est.stderr


@pytest.mark.parametrize(
    "text",
    [
        b"[tool.wattwise]\npue = \n",
        b"[tool.wattwise]\ncountry = 'FR'\n\xff\n",
        b"[tool]\nwattwise = { pue = 1.2\n",
        b"[project]\nname='x'\n[tool.wattwise.extra\n",
    ],
)
def test_broken_pyproject_with_wattwise_settings_is_one_line_exit_2(
    tmp_path: Path, text: bytes
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(text)
    line = one_line_error(wattwise("run", "--", "true", cwd=tmp_path))
    assert "pyproject.toml" in line


def test_broken_wattwise_toml_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "wattwise.toml").write_bytes(b"pue = = 1\n")
    assert "wattwise.toml" in one_line_error(wattwise("run", "--", "true", cwd=tmp_path))


def test_runs_list_never_reads_the_config(tmp_path: Path) -> None:
    (tmp_path / "wattwise.toml").write_bytes(b"pue = = 1\n")
    p = wattwise("runs", "list", "--db", str(tmp_path / "l.db"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize(
    ("value", "why"), [("1.2.3", "not a number"), ("0.5", "within"), ("1e400", "infinite")]
)
def test_config_value_checked_like_the_flag(tmp_path: Path, value: str, why: str) -> None:
    (tmp_path / "wattwise.toml").write_text(f'pue = "{value}"\n')
    line = one_line_error(wattwise("run", "--", "true", cwd=tmp_path))
    assert "wattwise.toml" in line and why in line


@pytest.mark.parametrize(
    ("var", "value", "why"),
    [
        ("WATTWISE_PUE", "nan", "NaN"),
        ("WATTWISE_PUE", "inf", "infinite"),
        ("WATTWISE_PUE", "99", "within"),
        ("WATTWISE_CFE", "-0.1", "within"),
        ("WATTWISE_YEAR", "99999999999999999999", "range"),
        ("WATTWISE_YEAR", "2024.5", "whole number"),
        ("WATTWISE_PRICE", "1e400", "infinite"),
        ("WATTWISE_LIFETIME", "0", "positive"),
        ("WATTWISE_WUE", "1e9", "implausible"),
    ],
)
def test_environment_number_is_checked_like_the_flag(var: str, value: str, why: str) -> None:
    line = one_line_error(wattwise("run", "--", "true", **{var: value}))
    assert var in line and why in line
