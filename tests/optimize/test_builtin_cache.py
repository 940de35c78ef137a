"""The built-in model's cache entry is written whole (a temporary directory renamed into place),
and a cache that cannot be written costs the cache, never the trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from wattwise.optimize.builtin import cache_root, get_builtin


def test_builtin_cache_entry_is_complete_with_no_temporary_leftovers() -> None:
    first = get_builtin("tiny")
    assert not first.from_cache
    entries = sorted(p.name for p in cache_root().iterdir())
    assert entries == [first.cache_dir.name]  # no hidden half-written directory beside it
    assert {p.name for p in first.cache_dir.iterdir()} >= {"model.pt", "meta.json"}
    assert get_builtin("tiny").from_cache


def test_unwritable_cache_still_returns_the_trained_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    said: list[str] = []
    model = get_builtin("tiny", progress=said.append)
    assert not model.from_cache and model.meta["train_steps"] > 0
    assert any("could not cache the built-in model" in s for s in said), said
