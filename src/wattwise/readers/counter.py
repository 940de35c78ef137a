"""Counter and power sanity: what a reader accepts from hardware, and what it calls a glitch.

Every value a reader takes from an interface (a RAPL ``energy_uj`` file, an NVML or amdsmi call)
passes through here before it becomes a :class:`~wattwise.readers.base.Reading`:

* :class:`CounterSanity` turns a raw energy counter into a cumulative energy in joules. A raw
  value is valid when it is a finite number in ``[0, max_range]`` (``max_range`` is RAPL's
  ``max_energy_range_uj``; a 64-bit counter that does not wrap has the bound ``2**64``). A delta
  from the last good value is accepted only when it implies a plausible power over the elapsed
  time (``max_power_w`` x (elapsed + :data:`SLACK_S`)); a decrease counts as a wrap only for a
  counter that wraps (``max_range > 0``) and only when the energy the wrap implies is plausible.
* Anything else is a *glitch*: the reader leaves the device out of ``read()`` and puts the reason
  in ``last_errors[device_id]`` (the tracker opens a gap with that reason). When plausible values
  come back, either the delta from the last good value is plausible (the hardware kept counting:
  the reader continues from it, no energy lost), or the counter evidently restarted elsewhere (two
  successive raw values that rise at a plausible power but cannot be reconciled with the last good
  one): the reader *re-bases*, continuing the cumulative energy from the last good value with
  ``Reading.rebased=True`` so that the tracker counts the interval as missing and estimates it.
* :func:`check_power_w` does the same for instantaneous power (devices without a counter): a
  value that is not a finite number in ``[0, max_power_w]`` is a glitch.

Plausible power per device (``max_power_w``) comes from the device itself where it says
(RAPL ``constraint_*_max_power_uw``, NVML / amdsmi power-limit constraints) times a margin, else
from the generous per-kind caps below. They are bounds for telling garbage from energy, not
estimates: a real device never comes near them, the glitches seen in practice (a counter that
reads ``5`` or ``999999999999999999``) exceed them by orders of magnitude.

Wraps: when the elapsed time would allow more than one wrap at plausible power, the fewest wraps
consistent with the values are assumed (as every wrapping-counter reader does); at the sampler's
interval a RAPL counter (ranges of 65 kJ and more) cannot wrap twice below these caps.
"""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.units import format_duration, format_power
from wattwise.validate import clean_number

#: Seconds added to the elapsed time when judging a delta: counters advance in steps (NVML's
#: every ~100 ms on an H100, RAPL's every ~1 ms) and reads take milliseconds, so a short interval
#: can legitimately see a step worth more than its own length.
SLACK_S = 1.0
#: Bound of a 64-bit counter that does not wrap in practice (NVML total energy, amdsmi).
COUNTER_64_BIT = float(2**64)

#: RAPL: a zone's ``constraint_*_max_power_uw`` is the part's rated maximum (often its TDP),
#: which the short-term limit (PL2, up to ~2x) and brief peaks exceed: allow 4x.
RAPL_MAX_POWER_MARGIN = 4.0
#: GPUs: board power stays near the power-management limit averaged over ~100 ms: allow 2x.
GPU_POWER_LIMIT_MARGIN = 2.0

#: Caps used when a device states no maximum, per device kind, in watts: about 3x the largest
#: parts shipping in 2025 (a 500 W server CPU socket, a 1.4 kW accelerator, a DRAM domain of
#: 24 DIMMs, a platform / psys domain of a workstation).
DEFAULT_MAX_POWER_W: dict[str, float] = {
    "cpu": 1500.0,
    "dram": 1000.0,
    "psys": 4000.0,
    "gpu": 4000.0,
    "memory": 1000.0,
}
#: Cap for a kind not listed above.
FALLBACK_MAX_POWER_W = 4000.0


@dataclass(frozen=True)
class PowerCap:
    """The highest plausible power of a device in watts, and where that bound comes from."""

    max_power_w: float
    source: str

    def params(self) -> dict[str, str]:
        """The cap as device params (shown by ``wattwise doctor`` and stored with the run)."""
        return {
            "plausible_max_power_w": f"{self.max_power_w:g}",
            "plausible_max_power": self.source,
        }


def default_cap(kind: str) -> PowerCap:
    """The documented cap for a device ``kind`` that states no maximum power itself."""
    cap_w = DEFAULT_MAX_POWER_W.get(kind, FALLBACK_MAX_POWER_W)
    return PowerCap(cap_w, f"default cap for a {kind} device (the device states no maximum)")


def stated_cap(kind: str, stated_w: float | None, margin: float, what: str) -> PowerCap:
    """``margin`` x the maximum the device states (``what`` names it), else the default cap."""
    if stated_w is None or not stated_w > 0 or stated_w == float("inf"):
        return default_cap(kind)
    return PowerCap(stated_w * margin, f"{margin:g} x {what} ({format_power(stated_w)})")


@dataclass(frozen=True)
class CounterStep:
    """What :meth:`CounterSanity.update` made of one raw value.

    ``energy_j`` is the cumulative energy since the first good value, or None when the value was
    refused (``reason`` says why: the device is left out of this read). ``rebased`` is True when
    the counter was re-based at this value (see the module docstring).
    """

    energy_j: float | None
    rebased: bool = False
    reason: str = ""


@dataclass
class CounterSanity:
    """A raw energy counter turned into a cumulative energy in joules, glitches refused.

    ``what`` names the counter in messages (``energy_uj of package-0``). ``unit_j`` is joules
    per raw count (1e-6 for RAPL's µJ, 1e-3 for NVML's mJ, amdsmi's resolution for its counts).
    ``max_range`` is the raw value at which the counter wraps to zero, 0 for a counter that does
    not wrap (then a decrease is a reset or a glitch). ``cap`` bounds the power a delta may imply.
    Timestamps are monotonic seconds.
    """

    what: str
    unit_j: float
    max_range: float
    cap: PowerCap
    wraps: int = 0
    _last_raw: float | None = None
    _last_t_s: float = 0.0
    _cumulative: float = 0.0  # raw counts since the first good value, wraps included
    _candidate: tuple[float, float] | None = None  # (raw, t_s) of the last refused valid value

    @property
    def _high(self) -> float:
        return self.max_range if self.max_range > 0 else COUNTER_64_BIT

    def _allowance(self, dt_s: float) -> float:
        """The most raw counts a device may add in ``dt_s`` seconds at plausible power."""
        return self.cap.max_power_w * (max(dt_s, 0.0) + SLACK_S) / self.unit_j

    def _delta(self, last: float, raw: float, dt_s: float) -> tuple[float, int] | None:
        """(counts, wraps) from ``last`` to ``raw`` if plausible in ``dt_s``, else None."""
        if raw >= last:
            delta, wraps = raw - last, 0
        elif self.max_range > 0:
            delta, wraps = raw - last + self.max_range, 1
        else:
            return None
        return (delta, wraps) if delta <= self._allowance(dt_s) else None

    def update(self, raw: object, t_s: float) -> CounterStep:
        """Feed one raw value read at ``t_s``; never raises."""
        cleaned = clean_number(raw, low=0.0, high=self._high)
        if cleaned.value is None:
            self._candidate = None
            return CounterStep(None, reason=f"{self.what}: {cleaned.reason}; treated as a glitch")
        value = cleaned.value
        if self._last_raw is None:  # the first good value is the zero of the energy
            self._last_raw, self._last_t_s = value, t_s
            return CounterStep(0.0)
        step = self._delta(self._last_raw, value, t_s - self._last_t_s)
        if step is not None:
            self._cumulative += step[0]
            self.wraps += step[1]
            self._last_raw, self._last_t_s, self._candidate = value, t_s, None
            return CounterStep(self._cumulative * self.unit_j)
        if self._candidate is not None:
            cand_raw, cand_t_s = self._candidate
            if value > cand_raw and value - cand_raw <= self._allowance(t_s - cand_t_s):
                # Rising plausibly from a value that cannot follow the last good one: the counter
                # restarted (reset, driver reload, a device back from the dead). What it counted
                # since the last good value is unknown.
                self._last_raw, self._last_t_s, self._candidate = value, t_s, None
                return CounterStep(self._cumulative * self.unit_j, rebased=True)
        self._candidate = (value, t_s)
        return CounterStep(None, reason=self._glitch_reason(value, t_s))

    def _glitch_reason(self, value: float, t_s: float) -> str:
        assert self._last_raw is not None
        dt_s = t_s - self._last_t_s
        last, raw = f"{round(self._last_raw):,}", f"{round(value):,}"  # raw counts, grouped
        if value < self._last_raw and self.max_range <= 0:
            return (
                f"{self.what} went back from {last} to {raw} {format_duration(dt_s)} later "
                "(a counter that does not wrap: a reset or a glitch); left out until it is "
                "consistent again"
            )
        delta = value - self._last_raw
        if delta < 0:
            delta += self.max_range
        power_w = delta * self.unit_j / (max(dt_s, 0.0) + SLACK_S)
        wrap = " (counted as a wrap at max_range)" if value < self._last_raw else ""
        return (
            f"counter glitch: {self.what} read {raw} after {last} {format_duration(dt_s)} "
            f"earlier{wrap}, which would mean at least {format_power(power_w)}, above the "
            f"{format_power(self.cap.max_power_w)} plausible for this device "
            f"({self.cap.source}); "
            "left out until it is consistent again"
        )


def check_power_w(
    value: object, scale_w: float, cap: PowerCap, what: str
) -> tuple[float | None, str]:
    """A raw power sample as watts (``value`` x ``scale_w``), or None and the reason.

    Refused: anything that is not a finite number, a negative value, or more than ``cap``.
    Never raises.
    """
    cleaned = clean_number(value, low=0.0)
    if cleaned.value is None:
        return None, f"{what}: {cleaned.reason}; treated as a glitch"
    power_w = cleaned.value * scale_w
    if power_w > cap.max_power_w:
        return None, (
            f"{what}: {format_power(power_w)} is above the {format_power(cap.max_power_w)} "
            f"plausible for this device ({cap.source}); treated as a glitch"
        )
    return power_w, ""
