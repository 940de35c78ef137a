"""Frozen result types of a tracked run: components, windows, samples, gaps, the run itself.

Times inside a run (``start_s``, ``t_s``) are seconds since the run started (monotonic clock);
``started_at`` is the wall-clock start in UTC, ISO 8601.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from wattwise.readers.base import Provenance, weakest


@dataclass(frozen=True)
class ComponentEnergy:
    """Energy of one device over a run or a window, with how it was obtained."""

    device_id: str
    kind: str
    name: str
    energy_j: float
    provenance: Provenance
    source: str
    params: Mapping[str, str] = field(default_factory=dict)
    #: Seconds of the interval with no usable reading (a gap); 0 when complete.
    missing_s: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class EnergySummary:
    """A total over components, with the provenance mix stated."""

    total_j: float
    provenance: Provenance | None  # the weakest kind in the total
    mixed: bool  # True when the total adds numbers of different provenance
    by_provenance_j: Mapping[str, float]

    @property
    def label(self) -> str:
        """E.g. ``measured`` or ``mixed: measured + estimated``."""
        if not self.by_provenance_j:
            return "none"
        if not self.mixed:
            return next(iter(self.by_provenance_j))
        return "mixed: " + " + ".join(self.by_provenance_j)


#: Kinds that contain other devices' energy (RAPL psys = whole platform, including package and
#: DRAM); they are reported but left out of a total that already holds the parts.
OVERLAPPING_KINDS = frozenset({"psys"})


def in_total(
    components: tuple[ComponentEnergy, ...] | list[ComponentEnergy],
) -> list[ComponentEnergy]:
    """The components a total adds up: overlapping ones (psys) only when nothing else exists."""
    parts = [c for c in components if c.kind not in OVERLAPPING_KINDS]
    return parts if parts else list(components)


def summarize(components: tuple[ComponentEnergy, ...] | list[ComponentEnergy]) -> EnergySummary:
    """Total energy of ``components`` and the provenance kinds it mixes.

    Overlapping components (RAPL psys) are left out when the parts they contain are present.
    """
    components = in_total(components)
    by: dict[str, float] = {}
    for c in sorted(components, key=lambda c: c.provenance.value):
        by[c.provenance.value] = by.get(c.provenance.value, 0.0) + c.energy_j
    order = [p.value for p in Provenance]
    by = {k: by[k] for k in order if k in by}
    return EnergySummary(
        total_j=sum(c.energy_j for c in components),
        provenance=weakest([c.provenance for c in components]),
        mixed=len(by) > 1,
        by_provenance_j=by,
    )


def per_unit(energy_j: float, counts: Mapping[str, float]) -> dict[str, float]:
    """Joules per counted unit (per token, per request, ...); zero counts are left out, and so
    is a ratio that is not finite (a vanishingly small count)."""
    out: dict[str, float] = {}
    for unit, n in counts.items():
        if n > 0 and math.isfinite(ratio := energy_j / n):
            out[unit] = ratio
    return out


def unit_energy_j(
    run_energy_j: float, windows: tuple[WindowResult, ...], unit: str, run_count: float
) -> float:
    """Energy (J) of the work counted as ``unit``: that of the windows in which it was counted.

    Windows count every unit counted while they are open, so a nested window's count is also in
    its parent's: only the outermost windows that counted ``unit`` are added. When some of the
    run's count of ``unit`` was made outside every window, the whole run's energy is used.
    """
    counting = [w for w in windows if w.counts.get(unit, 0.0) > 0]
    names = {w.name for w in counting}
    outer = [w for w in counting if w.parent not in names]
    in_windows = math.fsum(w.counts[unit] for w in outer)
    if not outer or in_windows < run_count * (1 - 1e-9):
        return run_energy_j
    return math.fsum(w.energy.total_j for w in outer)


@dataclass(frozen=True)
class WindowResult:
    """A named region of a run: its energy is the difference of readings at its boundaries."""

    name: str
    start_s: float
    end_s: float
    components: tuple[ComponentEnergy, ...]
    counts: Mapping[str, float] = field(default_factory=dict)
    parent: str | None = None  # the innermost window open when this one started

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def energy(self) -> EnergySummary:
        return summarize(self.components)

    def energy_per(self) -> dict[str, float]:
        """Joules per counted unit in this window."""
        return per_unit(self.energy.total_j, self.counts)


def merge_windows(a: WindowResult, b: WindowResult) -> WindowResult:
    """One window standing for ``a`` and ``b`` (same name): energies, missing seconds and counts
    added per device and unit; it starts at the first start and ends at the last end."""
    comps: dict[str, ComponentEnergy] = {c.device_id: c for c in a.components}
    for c in b.components:
        prev = comps.get(c.device_id)
        if prev is None:
            comps[c.device_id] = c
            continue
        missing_s = prev.missing_s + c.missing_s
        params = dict(prev.params)
        if "missing_s" in params:
            params["missing_s"] = f"{missing_s:.6g}"
        note = prev.note or c.note
        if missing_s > 0 and not c.device_id.endswith("#gap"):
            note = f"{missing_s:.3g} s without a reading"
        comps[c.device_id] = replace(
            prev, energy_j=prev.energy_j + c.energy_j, missing_s=missing_s, params=params, note=note
        )
    counts = dict(a.counts)
    for unit, n in b.counts.items():
        counts[unit] = counts.get(unit, 0.0) + n
    return WindowResult(
        name=a.name,
        start_s=min(a.start_s, b.start_s),
        end_s=max(a.end_s, b.end_s),
        components=tuple(comps.values()),
        counts=counts,
        parent=a.parent,
    )


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a device's timeline: power (W) and cumulative energy (J) at ``t_s``.

    Slotted: a long run holds many of them (in the timeline and in a sink's backlog)."""

    device_id: str
    t_s: float
    power_w: float | None
    energy_j: float | None


@dataclass(frozen=True, slots=True)
class Gap:
    """An interval during which a device could not be read, and why."""

    device_id: str
    start_s: float
    end_s: float | None
    error: str


@dataclass(frozen=True)
class RunResult:
    """Everything known about a finished (or interrupted) run."""

    run_id: str
    name: str
    started_at: str
    duration_s: float
    components: tuple[ComponentEnergy, ...]
    windows: tuple[WindowResult, ...] = ()
    counts: Mapping[str, float] = field(default_factory=dict)
    samples: tuple[Sample, ...] = ()
    gaps: tuple[Gap, ...] = ()
    notes: tuple[str, ...] = ()
    status: str = "finished"  # running | finished | failed | interrupted
    command: tuple[str, ...] | None = None
    exit_code: int | None = None
    host: Mapping[str, str] = field(default_factory=dict)

    @property
    def energy(self) -> EnergySummary:
        return summarize(self.components)

    def energy_per(self) -> dict[str, float]:
        """Joules per counted unit: the energy of the windows in which the unit was counted
        (the whole run's when it was counted outside any window), over its count.

        A run that trains in one window and serves in another reports per-request energy from
        the serving window only (see :func:`unit_energy_j`).
        """
        total_j = self.energy.total_j
        out: dict[str, float] = {}
        for unit, n in self.counts.items():
            out.update(per_unit(unit_energy_j(total_j, self.windows, unit, n), {unit: n}))
        return out

    def mean_power_w(self) -> float:
        return self.energy.total_j / self.duration_s if self.duration_s > 0 else 0.0
