"""Tuning profiles are saved atomically, keyed by GPU model and workload, and a bad one is
ignored (a cache), never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattwise.errors import ConfigError
from wattwise.power.profiles import (
    find_profiles,
    fingerprint,
    load_profile,
    profile_path,
    save_profile,
)


def _profile(fp: str, model: str = "NVIDIA H100 80GB HBM3") -> dict[str, object]:
    default = {"power_limit_w": 700.0, "sm_clock_mhz": None, "steps": 40,
               "time_per_step_s": 0.1, "energy_per_step_j": 60.0}  # fmt: skip
    chosen = {**default, "power_limit_w": 300.0, "time_per_step_s": 0.1003,
              "energy_per_step_j": 47.4}  # fmt: skip
    return {
        "gpu_model": model, "fingerprint": fp, "command": ["python", "train.py"],
        "simulated": False, "unit": "step", "settings": [default, chosen],
        "default": default, "chosen": chosen, "energy_saving": 0.21, "slowdown": 0.003,
    }  # fmt: skip


def test_fingerprint_is_stable_and_tells_commands_apart() -> None:
    a = fingerprint(["python", "train.py"])
    assert a == fingerprint(("python", "train.py")) and len(a) == 16
    assert a != fingerprint(["python", "train.py", "--lr", "1e-4"])


def test_saved_profile_reads_back_by_model_and_fingerprint(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    fp = fingerprint(["python", "train.py"])
    path = save_profile(_profile(fp), env)
    assert path == profile_path("NVIDIA H100 80GB HBM3", fp, env)
    assert path.parent.name == "NVIDIA-H100-80GB-HBM3"  # a safe folder name
    doc = load_profile("NVIDIA H100 80GB HBM3", fp, env)
    assert doc is not None and doc["version"] == 1 and doc["energy_saving"] == 0.21
    assert [d["gpu_model"] for d in find_profiles(fp, env)] == ["NVIDIA H100 80GB HBM3"]
    assert load_profile("NVIDIA A100", fp, env) is None


def test_a_damaged_or_foreign_profile_is_ignored(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    fp = fingerprint(["x"])
    path = save_profile(_profile(fp), env)
    path.write_text("{not json", encoding="utf-8")
    assert load_profile("NVIDIA H100 80GB HBM3", fp, env) is None
    path.write_text('{"version": 99}', encoding="utf-8")
    assert find_profiles(fp, env) == []


def test_a_profile_without_its_settings_is_refused(tmp_path: Path) -> None:
    bad = _profile("f" * 16)
    del bad["chosen"]
    with pytest.raises(ConfigError, match="chosen"):
        save_profile(bad, {"XDG_CACHE_HOME": str(tmp_path)})
