"""Energy of a run that never finished, derived from the samples it left in the ledger (pure).

A run whose recorder was killed has no per-device totals, only its timeline. Per device:

* cumulative counter samples (``energy_j`` set, wrap-corrected by the reader): the sum of the
  non-negative increments between consecutive samples, i.e. last minus first for a monotonic
  counter. Provenance: the device's own (``measured`` for a hardware counter);
* otherwise power samples (``power_w``): the trapezoidal integral. Provenance: ``integrated``,
  or the device's own when that is weaker (an ``estimated`` power model stays ``estimated``).

The time not covered by samples (before the first and after the last) goes into ``missing_s``,
so the total is visibly a lower bound.

The same sums are kept incrementally while a run is recorded (:class:`SeriesTotals`, stored in
the ``run_totals`` table), so a reader gets an unfinished run's energy without its samples;
:func:`derive_components` and :func:`components_from_totals` give identical results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wattwise.readers.base import DeviceInfo, Provenance, weakest
from wattwise.tracker.model import ComponentEnergy, Sample


@dataclass
class SeriesTotals:
    """Running sums over one device's samples, fed in time order (units in the names).

    Counter samples (cumulative J): a decrease means the reader restarted its count, so that
    step is skipped rather than subtracted (the interval is lost, not negative). Power samples
    (W): trapezoids between consecutive samples with increasing time.
    """

    counter_n: int = 0
    counter_first_t_s: float | None = None
    counter_last_t_s: float | None = None
    counter_last_j: float | None = None
    counter_sum_j: float = 0.0
    power_n: int = 0
    power_first_t_s: float | None = None
    power_last_t_s: float | None = None
    power_last_w: float | None = None
    power_sum_j: float = 0.0
    last_t_s: float | None = None
    in_order: bool = True

    def add(self, s: Sample) -> None:
        """Add one sample (a sample earlier than the last one clears ``in_order``)."""
        if self.last_t_s is not None and s.t_s < self.last_t_s:
            self.in_order = False
        self.last_t_s = s.t_s if self.last_t_s is None else max(self.last_t_s, s.t_s)
        if s.energy_j is not None:
            if self.counter_last_j is not None:
                self.counter_sum_j += max(0.0, s.energy_j - self.counter_last_j)
            else:
                self.counter_first_t_s = s.t_s
            self.counter_n += 1
            self.counter_last_t_s, self.counter_last_j = s.t_s, s.energy_j
        if s.power_w is not None:
            if self.power_last_w is not None and self.power_last_t_s is not None:
                if s.t_s > self.power_last_t_s:
                    self.power_sum_j += 0.5 * (self.power_last_w + s.power_w) * (
                        s.t_s - self.power_last_t_s
                    )
            else:
                self.power_first_t_s = s.t_s
            self.power_n += 1
            self.power_last_t_s, self.power_last_w = s.t_s, s.power_w


def totals_of(samples: Sequence[Sample]) -> dict[str, SeriesTotals]:
    """Per-device :class:`SeriesTotals` of ``samples`` (sorted by time per device, stably)."""
    out: dict[str, SeriesTotals] = {}
    for s in sorted(samples, key=lambda s: s.t_s):
        out.setdefault(s.device_id, SeriesTotals()).add(s)
    return out


def _unknown_device(device_id: str) -> DeviceInfo:
    return DeviceInfo(
        device_id=device_id,
        kind="unknown",
        name=device_id,
        provenance=Provenance.INTEGRATED,
        source="ledger samples",
    )


def components_from_totals(
    devices: Sequence[DeviceInfo],
    totals: Mapping[str, SeriesTotals],
    duration_s: float,
    reason: str,
) -> tuple[ComponentEnergy, ...]:
    """Per-device energy (J) over ``duration_s`` seconds from per-device sample totals.

    ``devices`` are the run's devices; totals of a device not listed there are used too (kind
    ``unknown``). ``reason`` is put in each component's note (why the energy is derived).
    """
    infos = {d.device_id: d for d in devices}
    for device_id in totals:
        infos.setdefault(device_id, _unknown_device(device_id))
    out: list[ComponentEnergy] = []
    for device_id, info in infos.items():
        tot = totals.get(device_id) or SeriesTotals()
        first: float | None
        if tot.counter_n >= 2:
            n, first, last = tot.counter_n, tot.counter_first_t_s, tot.counter_last_t_s
            energy_j, provenance, how = tot.counter_sum_j, info.provenance, "counter samples"
        elif tot.power_n >= 2:
            n, first, last = tot.power_n, tot.power_first_t_s, tot.power_last_t_s
            energy_j, how = tot.power_sum_j, "power samples"
            provenance = weakest([info.provenance, Provenance.INTEGRATED]) or info.provenance
        else:
            if tot.counter_n:
                n, first, last = tot.counter_n, tot.counter_first_t_s, tot.counter_last_t_s
            else:
                n, first, last = tot.power_n, tot.power_first_t_s, tot.power_last_t_s
            energy_j, provenance, how = 0.0, info.provenance, "too few samples"
        covered_s = last - first if n >= 2 and first is not None and last is not None else 0.0
        until = f" up to t={last:.1f} s" if n and last is not None else ""
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
                note=f"derived from {n} {how}{until}: {reason}",
            )
        )
    return tuple(out)


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
    return components_from_totals(devices, totals_of(samples), duration_s, reason)
