"""A missing integration package fails the test in CI and skips it elsewhere, with the install
line: never a silent skip (the rule of ``integrations.requires``)."""

from __future__ import annotations

import pytest

from integrations.conftest import require


def test_missing_package_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"wattwise\[nope\].*CI must install it"):
        require("no_such_package_wattwise", "nope")


def test_missing_package_skips_with_the_install_line_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"pip install 'wattwise\[nope\]'"):
        require("no_such_package_wattwise", "nope")
