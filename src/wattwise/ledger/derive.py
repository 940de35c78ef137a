"""Energy of a run that never finished, derived from the samples it left in the ledger (pure).

A run whose recorder was killed has no per-device totals, only its timeline. Per device:

* cumulative counter samples (``energy_j`` set, wrap-corrected by the reader): the sum of the
  non-negative increments between consecutive samples, i.e. last minus first for a monotonic
  counter. Provenance: the device's own (``measured`` for a hardware counter);
* otherwise power samples (``power_w``): the trapezoidal integral. Provenance: ``integrated``,
  or the device's own when that is weaker (an ``estimated`` power model stays ``estimated``).

The time not covered by samples (before the first and after the last) goes into ``missing_s``,
so the total is visibly a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from wattwise.readers.base import DeviceInfo, Provenance, weakest
from wattwise.tracker.model import ComponentEnergy, Sample


def _counter_energy_j(points: Sequence[tuple[float, float]]) -> float:
    # A decrease means the reader restarted its cumulative count; skip that step rather than
    # subtract it (the interval is lost, not negative).
    return sum(max(0.0, b - a) for (_, a), (_, b) in pairwise(points))


def _integrated_energy_j(points: Sequence[tuple[float, float]]) -> float:
    return sum(0.5 * (p0 + p1) * (t1 - t0) for (t0, p0), (t1, p1) in pairwise(points) if t1 > t0)


def derive_components(
    devices: Sequence[DeviceInfo],
    samples: Sequence[Sample],
    duration_s: float,
    reason: str,
) -> tuple[ComponentEnergy, ...]:
    """Per-device energy (J) over ``duration_s`` seconds from a run's samples.

    ``devices`` are the run's devices; samples of a device not listed there are used too (kind
    ``unknown``). ``reason`` is put in each component's note (why the energy is derived).
    """
    by_device: dict[str, list[Sample]] = {}
    for s in samples:
        by_device.setdefault(s.device_id, []).append(s)
    infos = {d.device_id: d for d in devices}
    for device_id in by_device:
        if device_id not in infos:
            infos[device_id] = DeviceInfo(
                device_id=device_id,
                kind="unknown",
                name=device_id,
                provenance=Provenance.INTEGRATED,
                source="ledger samples",
            )
    out: list[ComponentEnergy] = []
    for device_id, info in infos.items():
        series = sorted(by_device.get(device_id, []), key=lambda s: s.t_s)
        counter = [(s.t_s, s.energy_j) for s in series if s.energy_j is not None]
        power = [(s.t_s, s.power_w) for s in series if s.power_w is not None]
        if len(counter) >= 2:
            points: Sequence[tuple[float, float]] = counter
            energy_j = _counter_energy_j(counter)
            provenance = info.provenance
            how = "counter samples"
        elif len(power) >= 2:
            points = power
            energy_j = _integrated_energy_j(power)
            provenance = weakest([info.provenance, Provenance.INTEGRATED]) or info.provenance
            how = "power samples"
        else:
            points = counter or power
            energy_j = 0.0
            provenance = info.provenance
            how = "too few samples"
        covered_s = points[-1][0] - points[0][0] if len(points) >= 2 else 0.0
        until = f" up to t={points[-1][0]:.1f} s" if points else ""
        out.append(
            ComponentEnergy(
                device_id=device_id,
                kind=info.kind,
                name=info.name,
                energy_j=energy_j,
                provenance=provenance,
                source=info.source,
                params=dict(info.params),
                missing_s=max(0.0, duration_s - covered_s),
                note=f"derived from {len(points)} {how}{until}: {reason}",
            )
        )
    return tuple(out)
