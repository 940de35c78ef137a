"""Tuning profiles: what a tuner measured for one workload on one GPU model, saved and reused.

A profile is a JSON file ``$XDG_CACHE_HOME/wattwise/power-profiles/<gpu-model>/<fingerprint>.json``
(default ``~/.cache/...``)::

    {"version": 1, "gpu_model": "NVIDIA H100 80GB HBM3", "fingerprint": "3f2a...",
     "command": ["python", "train.py"], "simulated": false, "created_at": "2026-...Z",
     "unit": "step",
     "settings": [{"power_limit_w": 700.0, "sm_clock_mhz": null, "steps": 40,
                   "time_per_step_s": 0.101, "energy_per_step_j": 61.2}, ...],
     "default": {<one of settings: the GPU's default limit, measured in the same run>},
     "chosen": {<one of settings>}, "selector": "min-energy-within-slowdown:0.02",
     "energy_saving": 0.21, "slowdown": 0.003}

``energy_saving`` and ``slowdown`` are fractions against ``default`` (chosen vs default energy
and time per step). ``simulated`` is true for profiles of the simulated GPU: they are never used
for a real GPU's recommendation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError

PROFILE_VERSION = 1


def profiles_dir(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/wattwise/power-profiles`` (default ``~/.cache/wattwise/...``)."""
    environ = os.environ if env is None else env
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wattwise" / "power-profiles"


def fingerprint(command: Sequence[str]) -> str:
    """A workload's key: the first 16 hex digits of SHA-256 of its command line as JSON."""
    return hashlib.sha256(json.dumps(list(command)).encode("utf-8")).hexdigest()[:16]


def _slug(gpu_model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", gpu_model).strip("-") or "unknown-gpu"


def profile_path(gpu_model: str, fp: str, env: dict[str, str] | None = None) -> Path:
    """Where the profile of workload ``fp`` on ``gpu_model`` is kept."""
    return profiles_dir(env) / _slug(gpu_model) / f"{fp}.json"


def save_profile(profile: dict[str, Any], env: dict[str, str] | None = None) -> Path:
    """Write ``profile`` (the shape in the module docstring) atomically; return its path."""
    from wattwise import jsonsafe
    from wattwise.outputs import atomic_write_text

    for key in ("gpu_model", "fingerprint", "settings", "default", "chosen"):
        if key not in profile:
            raise ConfigError(f"tuning profile without {key!r}")
    doc = {"version": PROFILE_VERSION, **profile}
    path = profile_path(str(doc["gpu_model"]), str(doc["fingerprint"]), env)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, jsonsafe.dumps(doc, indent=2) + "\n")
    return path


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != PROFILE_VERSION:
        return None
    return doc


def load_profile(
    gpu_model: str, fp: str, env: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The saved profile of workload ``fp`` on ``gpu_model``; None when there is none or it is
    unreadable or of another version (a profile is a cache: a bad one is ignored, not fatal)."""
    return _read(profile_path(gpu_model, fp, env))


def find_profiles(fp: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every saved profile of workload ``fp``, on any GPU model (for the audit, which may not
    know the GPU model of a run read back from the ledger)."""
    found = (_read(path) for path in sorted(profiles_dir(env).glob(f"*/{fp}.json")))
    return [doc for doc in found if doc is not None]


def profile_of(
    result: Any, gpu_model: str, command: Sequence[str], *, simulated: bool
) -> dict[str, Any]:
    """The profile document of a :class:`~wattwise.power.tuner.TuneResult` (the shape in the
    module docstring; ``fingerprint`` is that of ``command``)."""
    import time

    return {
        "gpu_model": gpu_model,
        "fingerprint": fingerprint(command),
        "command": list(command),
        "simulated": simulated,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "unit": "step",
        "settings": [m.as_profile() for m in result.settings],
        "default": result.default.as_profile(),
        "chosen": result.chosen.as_profile(),
        "selector": result.selector,
        "energy_saving": result.energy_saving,
        "slowdown": result.slowdown,
    }


def usable_choice(
    doc: dict[str, Any] | None, *, simulated: bool, selector: str, knob: str
) -> tuple[float, float | None] | None:
    """(power limit W, locked SM clock MHz or None) a saved profile chose, when it may be reused
    for a run of ``selector`` and ``knob`` on a GPU that is (not) ``simulated``; else None (a
    simulated GPU's profile never serves a real GPU, nor the reverse)."""
    if (
        doc is None
        or bool(doc.get("simulated")) != simulated
        or doc.get("selector") != selector
        or doc.get("knob", "power-limit") != knob
        or not isinstance(doc.get("chosen"), dict)
    ):
        return None
    w, clock = doc["chosen"].get("power_limit_w"), doc["chosen"].get("sm_clock_mhz")
    if not isinstance(w, int | float) or not (clock is None or isinstance(clock, int | float)):
        return None
    return float(w), None if clock is None else float(clock)
