"""What an integration test needs: skipped with the reason on a developer's machine, a failure
in CI (``CI`` set), so that a missing install step never passes as a skip."""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Fail in CI, skip elsewhere, with ``reason``."""
    if in_ci():
        pytest.fail(f"{reason} (CI must install it: see .ci/run and the Makefile)")
    pytest.skip(reason, allow_module_level=True)  # also from a module's top level


def module(name: str, extra: str) -> ModuleType:
    """Import ``name`` (from the ``extra`` extra) or fail / skip with the install line."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} is not installed ({exc}): pip install 'wattwise[{extra}]'")
        raise AssertionError("unreachable") from exc


def program(name: str, package: str) -> str:
    """The path of the program ``name`` (Debian package ``package``) or fail / skip."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not on PATH: apt-get install {package}")
        raise AssertionError("unreachable")
    return path


def npm_program(name: str, package: str, folder: str) -> str:
    """The path of ``name`` from the npm ``package`` that .ci/run installs into ``folder``
    (under the repository, git-ignored), or on PATH; else fail (CI) / skip with the install
    line."""
    from pathlib import Path

    local = Path(__file__).resolve().parents[2] / folder / "node_modules" / ".bin" / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed: npm install --prefix {folder} {package}")
        raise AssertionError("unreachable")
    return path
