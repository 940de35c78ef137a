"""Forecast the energy and finish time of a whole run from its first steps (a pure function).

Given the duration (s) and energy (J) of each step seen so far, the remaining ``R`` steps are
predicted from the mean step, and the interval combines two uncertainties:

* the mean itself is uncertain: ``t · sd / sqrt(n)`` per step, ``R`` times over;
* the remaining steps vary around it: ``t · sd · sqrt(R)`` for a sum of ``R`` independent steps.

``half_width = t · sd · (R / sqrt(n) + sqrt(R))`` — it narrows as more steps are seen (``n``
grows, ``R`` shrinks) and is zero once the run is done. ``t`` is Student's t for the chosen
two-sided confidence with ``n - 1`` degrees of freedom. With a single step no spread is known:
the half-width is then 50 % of the remaining part (stated in ``method``).

Below the centre the band is multiplicative: a remainder ``C`` with half-width ``h`` ranges over
``C / (1 + h/C) .. C + h``, so a wide band never reaches zero (a rate is over- or
under-estimated by a factor; the rest of a run is never free), and the whole run's lower bound
is never below what the seen steps already spent and took. With fewer than
:data:`MIN_CONFIDENT_STEPS` steps, or a half-width over
:data:`MAX_CONFIDENT_RELATIVE_HALF_WIDTH` of the remainder, the forecast is ``low_confidence``:
people are shown the central figures and "low confidence", not a band that means nothing
(``to_dict`` still carries the band).

Carbon goes through the site factors: ``co2e = IT energy × PUE × gCO2e/kWh`` (facility energy
times the grid's intensity) when ``intensity_g_per_kwh`` is passed; without ``pue`` the facility
overhead is left out and ``co2e_basis`` says so. The tracker calls this from
``t.forecast(total_steps=...)``; ``str(forecast)`` is the line people read.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wattwise.core.units import G_PER_KG, J_PER_KWH
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
#: Fewer steps than this (after warm-up) give a low-confidence forecast: no band is shown.
MIN_CONFIDENT_STEPS = 5
#: A half-width above this fraction of the remainder gives a low-confidence forecast.
MAX_CONFIDENT_RELATIVE_HALF_WIDTH = 0.5


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student's t quantile for ``confidence`` 0.90 or 0.95."""
    table, z = {0.9: (_T90, 1.645), 0.95: (_T95, 1.960)}.get(round(confidence, 2), (None, 0.0))
    if table is None:
        raise ConfigError(f"confidence must be 0.9 or 0.95, got {confidence:g}")
    return table[dof - 1] if 1 <= dof <= len(table) else z


@dataclass(frozen=True)
class Forecast:
    """Predicted totals of a run. Energy in J, durations in s, carbon in kgCO2e.

    ``energy_j`` and ``duration_s`` are the whole run (seen + predicted remainder);
    ``spent_j`` / ``elapsed_s`` what the seen steps took. ``co2e_kg`` is facility energy ×
    grid intensity (``co2e_basis`` says which factors; None when no intensity was given).
    ``low_confidence``, with its reason in ``confidence_note``, when too few or too uneven
    steps were seen for the band to mean anything. ``str()`` gives the human line.
    """

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
    spent_j: float = 0.0
    elapsed_s: float = 0.0
    co2e_basis: str = ""
    low_confidence: bool = False
    confidence_note: str = ""

    @property
    def fraction_done(self) -> float:
        return self.steps_seen / self.total_steps

    def __str__(self) -> str:
        return format_forecast(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps_seen": self.steps_seen,
            "total_steps": self.total_steps,
            "fraction_done": self.fraction_done,
            "confidence": self.confidence,
            "low_confidence": self.low_confidence,
            "confidence_note": self.confidence_note,
            "mean_step_s": self.mean_step_s,
            "mean_step_energy_j": self.mean_step_energy_j,
            "spent_j": self.spent_j,
            "elapsed_s": self.elapsed_s,
            "energy_j": self.energy_j.to_dict(),
            "remaining_energy_j": self.remaining_energy_j.to_dict(),
            "duration_s": self.duration_s.to_dict(),
            "remaining_s": self.remaining_s.to_dict(),
            "co2e_kg": None if self.co2e_kg is None else self.co2e_kg.to_dict(),
            "co2e_basis": self.co2e_basis,
            "method": self.method,
        }


def format_forecast(fc: Forecast) -> str:
    """The line people read, e.g. ``step 70/1,000 (7 %): 83.1 Wh (79.8–86.9 Wh), done in
    6.26 h (5.9–6.7 h), 9.5 g CO2e (facility energy × 103 g/kWh, PUE 1.1); 90 % interval`` —
    with low confidence the central figures and the reason, without a band."""
    from wattwise.units import format_duration, format_energy, format_mass_g, format_number

    e, r = fc.energy_j, fc.remaining_s
    head = (
        f"step {format_number(fc.steps_seen)}/{format_number(fc.total_steps)} "
        f"({format_number(100 * fc.fraction_done, 2)} %): "
    )
    if fc.low_confidence:
        body = f"about {format_energy(e.value)}, done in about {format_duration(r.value)}"
    else:
        body = (
            f"{format_energy(e.value)} ({format_energy(e.low)}–{format_energy(e.high)}), done in "
            f"{format_duration(r.value)} ({format_duration(r.low)}–{format_duration(r.high)})"
        )
    if fc.co2e_kg is not None:
        body += f", {format_mass_g(fc.co2e_kg.value * 1000)} CO2e ({fc.co2e_basis})"
    if fc.low_confidence:
        return f"{head}{body}; low confidence: {fc.confidence_note}"
    return f"{head}{body}; {fc.confidence:.0%} interval"


def _band_of(centre: float, hw: float) -> Band:
    """``centre`` with half-width ``hw``: multiplicative below (never zero), additive above."""
    if centre <= 0 or hw <= 0:
        return Band(centre, centre, centre)
    return Band(centre, centre / (1.0 + hw / centre), centre + hw)


def _remaining(values: Sequence[float], remaining: int, confidence: float) -> tuple[Band, float]:
    """The remainder's band and its half-width relative to the centre (``inf`` if it is 0)."""
    n = len(values)
    mean = statistics.fmean(values)
    centre = mean * remaining
    if remaining == 0:
        return Band.exact(0.0), 0.0
    if n < 2:
        hw = SINGLE_STEP_RELATIVE_HALF_WIDTH * centre
    else:
        sd = statistics.stdev(values)
        hw = t_quantile(confidence, n - 1) * sd * (remaining / math.sqrt(n) + math.sqrt(remaining))
    rel = hw / centre if centre > 0 else (0.0 if hw == 0 else math.inf)
    return _band_of(centre, hw), rel


def forecast(
    step_times_s: Sequence[float],
    step_energies_j: Sequence[float],
    total_steps: int,
    *,
    warmup_steps: int = 0,
    confidence: float = 0.9,
    intensity_g_per_kwh: float | None = None,
    pue: float | None = None,
) -> Forecast:
    """Predict the whole run's energy (J) and duration (s) from the steps seen so far.

    ``step_times_s[i]`` and ``step_energies_j[i]`` are the duration and energy of step ``i``.
    The first ``warmup_steps`` count in the totals but not in the per-step statistics
    (compilation and data-loader warm-up make them unrepresentative). ``intensity_g_per_kwh``
    (location-based grid, gCO2e/kWh) and ``pue`` (ratio), when given, turn the IT energy into
    facility energy and kgCO2e.
    """
    _check(step_times_s, step_energies_j, total_steps, warmup_steps, intensity_g_per_kwh, pue)
    n = len(step_times_s)
    times = list(step_times_s)[warmup_steps:]
    energies = list(step_energies_j)[warmup_steps:]
    remaining = total_steps - n
    rem_e, rel_e = _remaining(energies, remaining, confidence)
    rem_t, rel_t = _remaining(times, remaining, confidence)
    seen_e, seen_t = math.fsum(step_energies_j), math.fsum(step_times_s)
    # Never below what the seen steps already took (the remainder's low bound is >= 0).
    energy = Band(seen_e + rem_e.value, seen_e + rem_e.low, seen_e + rem_e.high)
    duration = Band(seen_t + rem_t.value, seen_t + rem_t.low, seen_t + rem_t.high)
    co2e, basis = _carbon(energy, intensity_g_per_kwh, pue)
    used = len(energies)
    note = _low_confidence(remaining, used, max(rel_e, rel_t))
    method = (
        f"mean of {used} steps x {remaining} remaining; {confidence:.0%} interval "
        + ("±50% (one step: no spread known)" if used < 2 else "t·sd·(R/sqrt(n)+sqrt(R))")
        + ", multiplicative below the centre"
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
        spent_j=seen_e,
        elapsed_s=seen_t,
        co2e_basis=basis,
        low_confidence=bool(note),
        confidence_note=note,
    )


def _low_confidence(remaining: int, used: int, rel: float) -> str:
    """Why a band would mean nothing ('' when it does)."""
    if remaining == 0:
        return ""
    if used < MIN_CONFIDENT_STEPS:
        steps = f"{used} step{'s' if used != 1 else ''}"
        return f"{steps} seen, {MIN_CONFIDENT_STEPS} needed for a band"
    if rel > MAX_CONFIDENT_RELATIVE_HALF_WIDTH:
        spread = "over ±1,000%" if rel > 10 else f"±{rel:.0%}"
        return f"the steps vary too much ({spread} after {used} steps)"
    return ""


def _check(
    step_times_s: Sequence[float],
    step_energies_j: Sequence[float],
    total_steps: int,
    warmup_steps: int,
    intensity_g_per_kwh: float | None,
    pue: float | None,
) -> None:
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
    if intensity_g_per_kwh is not None and not (
        math.isfinite(intensity_g_per_kwh) and intensity_g_per_kwh >= 0
    ):
        raise ConfigError("grid intensity must be a finite number >= 0")
    if pue is not None and not (math.isfinite(pue) and pue >= 1.0):
        raise ConfigError(f"PUE must be a finite number >= 1, got {pue:g}")


def _carbon(
    energy_j: Band, intensity_g_per_kwh: float | None, pue: float | None
) -> tuple[Band | None, str]:
    """kgCO2e of the whole run (IT energy × PUE × intensity) and the words saying so."""
    if intensity_g_per_kwh is None:
        return None, ""
    k = (pue or 1.0) * intensity_g_per_kwh / J_PER_KWH / G_PER_KG
    if pue is None:
        basis = (
            f"IT energy × {intensity_g_per_kwh:.0f} g/kWh; no PUE given: facility overhead "
            "left out"
        )
    else:
        basis = f"facility energy × {intensity_g_per_kwh:.0f} g/kWh, PUE {pue:.3g}"
    return energy_j.scale(k), basis
