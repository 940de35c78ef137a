"""Forecast the energy and finish time of a whole run from its first steps (a pure function).

Given the duration (s) and energy (J) of each step seen so far, the remaining ``R`` steps are
predicted from the mean step, and the interval combines two uncertainties:

* the mean itself is uncertain: ``t · sd / sqrt(n)`` per step, ``R`` times over;
* the remaining steps vary around it: ``t · sd · sqrt(R)`` for a sum of ``R`` independent steps.

``half_width = t · sd · (R / sqrt(n) + sqrt(R))`` — it narrows as more steps are seen (``n``
grows, ``R`` shrinks) and is zero once the run is done. ``t`` is Student's t for the chosen
two-sided confidence with ``n - 1`` degrees of freedom. With a single step no spread is known:
the interval is then ±50 % of the remaining part (stated in ``method``).

The tracker calls this from ``t.forecast(total_steps=...)``; carbon follows when a grid
intensity (gCO2e/kWh, applied to the energy as given) is passed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wattwise.errors import ConfigError
from wattwise.estimate.types import Band

# Two-sided Student's t quantiles for 90 % and 95 % by degrees of freedom (1..30; beyond: normal).
_T90 = (
    6.314,
    2.920,
    2.353,
    2.132,
    2.015,
    1.943,
    1.895,
    1.860,
    1.833,
    1.812,
    1.796,
    1.782,
    1.771,
    1.761,
    1.753,
    1.746,
    1.740,
    1.734,
    1.729,
    1.725,
    1.721,
    1.717,
    1.714,
    1.711,
    1.708,
    1.706,
    1.703,
    1.701,
    1.699,
    1.697,
)
_T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
SINGLE_STEP_RELATIVE_HALF_WIDTH = 0.5


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student's t quantile for ``confidence`` 0.90 or 0.95."""
    table, z = {0.9: (_T90, 1.645), 0.95: (_T95, 1.960)}.get(round(confidence, 2), (None, 0.0))
    if table is None:
        raise ConfigError(f"confidence must be 0.9 or 0.95, got {confidence:g}")
    return table[dof - 1] if 1 <= dof <= len(table) else z


@dataclass(frozen=True)
class Forecast:
    """Predicted totals of a run. Energy in J, durations in s, carbon in kgCO2e."""

    steps_seen: int
    total_steps: int
    confidence: float
    mean_step_s: float
    mean_step_energy_j: float
    energy_j: Band  # whole run: seen + predicted remainder
    remaining_energy_j: Band
    duration_s: Band  # whole run, counting step time only
    remaining_s: Band
    co2e_kg: Band | None
    method: str

    @property
    def fraction_done(self) -> float:
        return self.steps_seen / self.total_steps

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps_seen": self.steps_seen,
            "total_steps": self.total_steps,
            "fraction_done": self.fraction_done,
            "confidence": self.confidence,
            "mean_step_s": self.mean_step_s,
            "mean_step_energy_j": self.mean_step_energy_j,
            "energy_j": self.energy_j.to_dict(),
            "remaining_energy_j": self.remaining_energy_j.to_dict(),
            "duration_s": self.duration_s.to_dict(),
            "remaining_s": self.remaining_s.to_dict(),
            "co2e_kg": None if self.co2e_kg is None else self.co2e_kg.to_dict(),
            "method": self.method,
        }


def _remaining(values: Sequence[float], remaining: int, confidence: float) -> Band:
    n = len(values)
    mean = statistics.fmean(values)
    centre = mean * remaining
    if remaining == 0:
        return Band.exact(0.0)
    if n < 2:
        hw = SINGLE_STEP_RELATIVE_HALF_WIDTH * centre
    else:
        sd = statistics.stdev(values)
        hw = t_quantile(confidence, n - 1) * sd * (remaining / math.sqrt(n) + math.sqrt(remaining))
    return Band(centre, max(0.0, centre - hw), centre + hw)


def forecast(
    step_times_s: Sequence[float],
    step_energies_j: Sequence[float],
    total_steps: int,
    *,
    warmup_steps: int = 0,
    confidence: float = 0.9,
    intensity_g_per_kwh: float | None = None,
) -> Forecast:
    """Predict the whole run's energy (J) and duration (s) from the steps seen so far.

    ``step_times_s[i]`` and ``step_energies_j[i]`` are the duration and energy of step ``i``.
    The first ``warmup_steps`` count in the totals but not in the per-step statistics
    (compilation and data-loader warm-up make them unrepresentative). ``intensity_g_per_kwh``,
    when given, turns the energy into kgCO2e.
    """
    if len(step_times_s) != len(step_energies_j):
        raise ConfigError("step_times_s and step_energies_j must have the same length")
    n = len(step_times_s)
    if n == 0:
        raise ConfigError("a forecast needs at least one finished step")
    if total_steps < n:
        raise ConfigError(f"total_steps ({total_steps}) is less than the steps seen ({n})")
    if warmup_steps < 0 or warmup_steps >= n:
        raise ConfigError(f"warmup_steps must be in [0, {n - 1}], got {warmup_steps}")
    for v in (*step_times_s, *step_energies_j):
        if not math.isfinite(v) or v < 0:
            raise ConfigError(f"step times and energies must be finite and >= 0, got {v:g}")
    if intensity_g_per_kwh is not None and intensity_g_per_kwh < 0:
        raise ConfigError("grid intensity must be >= 0")
    times = list(step_times_s)[warmup_steps:]
    energies = list(step_energies_j)[warmup_steps:]
    remaining = total_steps - n
    rem_e = _remaining(energies, remaining, confidence)
    rem_t = _remaining(times, remaining, confidence)
    seen_e, seen_t = math.fsum(step_energies_j), math.fsum(step_times_s)
    energy = Band(seen_e + rem_e.value, seen_e + rem_e.low, seen_e + rem_e.high)
    duration = Band(seen_t + rem_t.value, seen_t + rem_t.low, seen_t + rem_t.high)
    co2e = None
    if intensity_g_per_kwh is not None:
        co2e = energy.scale(intensity_g_per_kwh / 3.6e6 / 1e3)
    method = (
        f"mean of {len(energies)} steps x {remaining} remaining; {confidence:.0%} interval "
        + ("±50% (one step: no spread known)" if len(energies) < 2 else "t·sd·(R/sqrt(n)+sqrt(R))")
    )
    return Forecast(
        steps_seen=n,
        total_steps=total_steps,
        confidence=confidence,
        mean_step_s=statistics.fmean(times),
        mean_step_energy_j=statistics.fmean(energies),
        energy_j=energy,
        remaining_energy_j=rem_e,
        duration_s=duration,
        remaining_s=rem_t,
        co2e_kg=co2e,
        method=method,
    )
