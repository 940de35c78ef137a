"""The in-memory timeline of a run and its step marks, both bounded for any run length.

Samples are streamed to the sink as they come; what stays in memory (``RunResult.samples``, used
for reports and forecasts) is downsampled: at most :data:`MAX_POINTS_PER_DEVICE` points per
device. When a device's timeline is full, every other point is dropped and from then on only
every second new sample is kept (the stride doubles), so the timeline stays uniform over the run.
Cumulative energy (J) is exact at every point kept; a kept point's power (W) is the mean power
since the previous kept point (the energy difference over the time difference), so a downsampled
timeline still integrates to the same energy. The newest sample is always kept, so the timeline
ends at the run's last reading. Totals never come from here: they are counter differences at the
run's and windows' boundaries.

Step marks (``t.step(n)``) are (time, steps) pairs, at most :data:`MAX_STEP_MARKS`; when full,
neighbouring marks are merged (their steps added, the later time kept), so counts stay exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from wattwise.tracker.model import Sample

#: Most timeline points kept in memory per device (a few hundred kB per device).
MAX_POINTS_PER_DEVICE = 4096
#: Most step marks kept in memory.
MAX_STEP_MARKS = 4096
#: Most per-step values handed to the forecast; more steps are grouped into equal groups.
MAX_FORECAST_STEPS = 4096


def _mean_since(prev: Sample, cur: Sample) -> Sample:
    """``cur`` with its power replaced by the mean power since ``prev`` (when both have energy)."""
    if prev.energy_j is None or cur.energy_j is None or cur.t_s <= prev.t_s:
        return cur
    power_w = max(0.0, (cur.energy_j - prev.energy_j) / (cur.t_s - prev.t_s))
    return Sample(cur.device_id, cur.t_s, power_w, cur.energy_j)


class _DeviceLine:
    """One device's kept points, the stride and the newest sample when the stride did not
    keep it (a plain class: a dataclass costs ~1 ms to create, at every process's start)."""

    __slots__ = ("points", "since_kept", "stride", "tail")

    def __init__(self) -> None:
        self.points: list[Sample] = []
        self.stride = 1
        self.since_kept = 0
        self.tail: Sample | None = None


class Timeline:
    """Per-device timelines of (time, power, cumulative energy), bounded in memory."""

    def __init__(self, max_points_per_device: int = MAX_POINTS_PER_DEVICE) -> None:
        self._max = max(4, max_points_per_device)
        self._lines: dict[str, _DeviceLine] = {}

    def add(self, s: Sample) -> None:
        line = self._lines.setdefault(s.device_id, _DeviceLine())
        line.since_kept += 1
        if line.points and line.since_kept < line.stride:
            line.tail = s
            return
        if line.stride > 1 and line.points:
            s = _mean_since(line.points[-1], s)
        line.points.append(s)
        line.since_kept = 0
        line.tail = None
        if len(line.points) >= self._max:
            self._halve(line)

    @staticmethod
    def _halve(line: _DeviceLine) -> None:
        kept = line.points[0::2]
        if kept[-1] is not line.points[-1]:
            kept.append(line.points[-1])
        out = [kept[0]]
        out += [_mean_since(p, c) for p, c in itertools.pairwise(kept)]
        line.points = out
        line.stride *= 2

    def device_points(self, device_id: str) -> list[Sample]:
        line = self._lines.get(device_id)
        if line is None:
            return []
        if line.tail is None:
            return list(line.points)
        return [*line.points, _mean_since(line.points[-1], line.tail)]

    def samples(self) -> tuple[Sample, ...]:
        """Every point kept, ordered by time (then by device, in the order first seen)."""
        order = {d: i for i, d in enumerate(self._lines)}
        pts = [s for d in self._lines for s in self.device_points(d)]
        return tuple(sorted(pts, key=lambda s: (s.t_s, order[s.device_id])))

    def __len__(self) -> int:
        return sum(len(ln.points) + (ln.tail is not None) for ln in self._lines.values())

    def total_energy_at(self, times_s: Sequence[float]) -> list[float]:
        """Total cumulative energy (J, all devices) at each of the sorted ``times_s``.

        Each device's cumulative energy is interpolated linearly between its points and held
        constant before its first and after its last point.
        """
        totals = [0.0] * len(times_s)
        for dev in self._lines:
            pts = [(s.t_s, s.energy_j) for s in self.device_points(dev) if s.energy_j is not None]
            for i, v in enumerate(_interp_sorted(pts, times_s)):
                totals[i] += v
        return totals


def _interp_sorted(points: Sequence[tuple[float, float]], times_s: Iterable[float]) -> list[float]:
    """Linear interpolation of sorted (time, value) ``points`` at sorted times, clamped."""
    out: list[float] = []
    if not points:
        return [0.0 for _ in times_s]
    j = 0
    n = len(points)
    for t in times_s:
        while j < n - 1 and points[j + 1][0] < t:
            j += 1
        t0, v0 = points[j]
        if t <= t0:
            out.append(v0)
        elif j == n - 1:
            out.append(points[-1][1])
        else:
            t1, v1 = points[j + 1]
            out.append(v1 if t1 <= t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0))
    return out


class StepMarks:
    """Times (s since the run started) at which steps ended, as (time, steps) pairs, bounded."""

    def __init__(self, max_marks: int = MAX_STEP_MARKS) -> None:
        self._max = max(2, max_marks)
        self._marks: list[tuple[float, int]] = []
        self.total = 0

    def add(self, t_s: float, n: int) -> None:
        """Record that ``n`` steps ended at ``t_s`` (out-of-order marks are put in place)."""
        if n <= 0:
            return
        if self._marks and t_s < self._marks[-1][0]:
            import bisect  # only for a mark reported late (at_s): not imported at start-up

            bisect.insort(self._marks, (t_s, n))
        else:
            self._marks.append((t_s, n))
        self.total += n
        if len(self._marks) >= self._max:
            merged = [
                (b[0], a[1] + b[1])
                for a, b in zip(self._marks[0::2], self._marks[1::2], strict=False)
            ]
            if len(self._marks) % 2:
                merged.append(self._marks[-1])
            self._marks = merged

    def __len__(self) -> int:
        return len(self._marks)

    def step_bounds(self, max_steps: int = MAX_FORECAST_STEPS) -> tuple[list[float], int]:
        """Boundary times of groups of ``g`` steps, and ``g`` (1 unless there are many steps).

        Returns ``[0, t_1, ..., t_k]`` where ``t_i`` is when step ``i * g`` ended, with ``k``
        groups and ``g = ceil(total / max_steps)``; within a mark of several steps, step ends are
        spread evenly since the previous mark.
        """
        g = max(1, math.ceil(self.total / max_steps))
        k = self.total // g
        bounds = [0.0]
        prev_t, prev_c = 0.0, 0
        target = g
        for t, n in self._marks:
            c = prev_c + n
            while target <= c and len(bounds) <= k:
                frac = (target - prev_c) / n
                bounds.append(prev_t + (t - prev_t) * frac)
                target += g
            prev_t, prev_c = t, c
        return bounds, g


def forecast_steps(
    marks: StepMarks,
    timeline: Timeline,
    total_steps: int,
    *,
    intensity_g_per_kwh: float | None = None,
    pue: float | None = None,
    warmup_steps: int = 0,
    confidence: float = 0.9,
) -> Any:
    """:func:`wattwise.estimate.forecast.forecast` over the steps marked so far.

    Each step's energy is the total cumulative energy interpolated at its boundaries on the
    timeline. Beyond :data:`MAX_FORECAST_STEPS` steps, steps are taken in equal groups of ``g``
    (the forecast's ``method`` says so; per-step means are divided back by ``g``). Raises
    ConfigError when no step was marked or ``total_steps`` is below the steps seen.
    """
    from wattwise.errors import ConfigError
    from wattwise.estimate.forecast import forecast

    seen = marks.total
    if not seen:
        raise ConfigError("no step marked yet: call t.step() at the end of each step")
    bounds, g = marks.step_bounds()
    energies = timeline.total_energy_at(bounds)
    durations = [max(0.0, b - a) for a, b in itertools.pairwise(bounds)]
    step_j = [max(0.0, b - a) for a, b in itertools.pairwise(energies)]
    if g == 1:
        return forecast(
            durations,
            step_j,
            total_steps,
            warmup_steps=warmup_steps,
            confidence=confidence,
            intensity_g_per_kwh=intensity_g_per_kwh,
            pue=pue,
        )
    if total_steps < seen:
        raise ConfigError(f"total_steps ({total_steps}) is less than the steps seen ({seen})")
    groups = len(durations)
    fc = forecast(
        durations,
        step_j,
        groups + round((total_steps - groups * g) / g),
        warmup_steps=math.ceil(warmup_steps / g),
        confidence=confidence,
        intensity_g_per_kwh=intensity_g_per_kwh,
        pue=pue,
    )
    return replace(
        fc,
        steps_seen=seen,
        total_steps=total_steps,
        mean_step_s=fc.mean_step_s / g,
        mean_step_energy_j=fc.mean_step_energy_j / g,
        method=f"{fc.method} (steps taken in groups of {g})",
    )
