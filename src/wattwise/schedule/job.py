"""What is being scheduled: a job's energy and how long it runs, from whichever input the user
has (energy and duration, duration and power, a stored run, an estimate's JSON).

Energy is taken as given (kWh, no PUE applied here): the saving *fraction* of a plan does not
depend on it, the kg do. A stored run gives its measured energy and wall-clock duration; an
estimate gives its facility energy and wall-clock days (both its central value).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from wattwise.errors import ConfigError

J_PER_KWH = 3.6e6
_UNITS_H = {"s": 1 / 3600, "m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0}
#: Longest job or window accepted: a year.
MAX_HOURS = 24 * 366


@dataclass(frozen=True)
class Job:
    """``energy_kwh`` drawn evenly over ``duration_h``; ``source`` says where both came from."""

    energy_kwh: float
    duration_h: float
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.energy_kwh) and self.energy_kwh > 0):
            raise ConfigError(
                f"the job's energy must be a positive number of kWh (got {self.energy_kwh})"
            )
        if not (math.isfinite(self.duration_h) and 0 < self.duration_h <= MAX_HOURS):
            raise ConfigError(
                f"the job must last between 0 and {MAX_HOURS} h (got {self.duration_h:g} h)"
            )

    @property
    def power_kw(self) -> float:
        return self.energy_kwh / self.duration_h


def parse_hours(text: str, what: str = "duration") -> float:
    """``4h``, ``90m``, ``1.5d``, ``3600s`` or a bare number of hours, as hours."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|m|min|h|d)?\s*", text)
    if m is None:
        raise ConfigError(f"bad {what} {text!r}: give e.g. 4h, 90m, 1.5d")
    hours = float(m.group(1)) * _UNITS_H[m.group(2) or "h"]
    if not 0 < hours <= MAX_HOURS:
        raise ConfigError(f"{what} {text!r} is out of range (0 to {MAX_HOURS} h)")
    return hours


def parse_time(text: str, what: str = "time") -> datetime:
    """An ISO 8601 time with a zone (``2022-06-15T00:00Z``, ``...+01:00``), as UTC."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        out = datetime.fromisoformat(t)
    except ValueError:
        raise ConfigError(f"bad {what} {text!r}: give ISO 8601, e.g. 2022-06-15T00:00Z") from None
    if out.tzinfo is None:
        raise ConfigError(f"{what} {text!r} has no time zone: add Z (UTC) or an offset")
    return out.astimezone(timezone.utc)


def job_from_estimate(doc: Any) -> Job:
    """A job from ``wattwise estimate ... --json``: facility energy and wall-clock days."""
    try:
        energy = float(doc["facility_energy_kwh"]["value"])
        days = float(doc["wall_clock_days"]["value"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            "the estimate JSON has no facility_energy_kwh.value and wall_clock_days.value "
            "(make it with 'wattwise estimate train|finetune ... --json')"
        ) from None
    kind = doc.get("kind", "estimate") if isinstance(doc, dict) else "estimate"
    return Job(energy, days * 24, f"estimate ({kind}): facility energy, wall-clock time")


def job_from_run(run_id: str, energy_j: float, duration_s: float, label: str) -> Job:
    """A job from a stored run: its energy (``label``: measured / integrated / estimated)."""
    return Job(energy_j / J_PER_KWH, duration_s / 3600, f"run {run_id[:12]} ({label})")
