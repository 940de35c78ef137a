"""A built-in spec whose weights do not ship is trained (the training path of ``--retrain``)
and cached: the cache entry is written whole (a temporary directory renamed into place), and a
cache that cannot be written costs the cache, never the trained model. A shortened recipe keeps
these tests to a few seconds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("torch")

from wattwise.optimize.builtin import SPECS, cache_root, get_builtin

#: The tiny recipe shortened to 5 steps: no weights ship for it, so it trains.
SHORT = replace(SPECS["tiny"], train_steps=5)


def test_builtin_cache_entry_is_complete_with_no_temporary_leftovers() -> None:
    first = get_builtin(spec=SHORT)
    assert not first.from_cache and first.source == "trained"
    entries = sorted(p.name for p in cache_root().iterdir())
    assert entries == [first.cache_dir.name]  # no hidden half-written directory beside it
    assert {p.name for p in first.cache_dir.iterdir()} >= {"model.pt", "meta.json"}
    again = get_builtin(spec=SHORT)
    assert again.from_cache and again.source == "cache"


def test_retrain_trains_even_when_the_weights_ship() -> None:
    said: list[str] = []
    b = get_builtin("tiny", retrain=True, progress=said.append)
    assert b.source == "trained" and b.meta["train_steps"] == SPECS["tiny"].train_steps
    assert any("training the built-in model 'tiny'" in s for s in said), said


def test_unwritable_cache_still_returns_the_trained_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    said: list[str] = []
    model = get_builtin(spec=SHORT, progress=said.append)
    assert not model.from_cache and model.meta["train_steps"] > 0
    assert any("could not cache the built-in model" in s for s in said), said
