"""A running tracker as it stands now, per device, without reading any device.

For exporters (Prometheus) and progress displays that ask often: :func:`live_state` takes the
tracker's lock for a moment and returns what its sampler last read — energy per device since the
run started, latest power, the energy estimated for seconds a device could not be read, the work
counted so far — or the final result once the run has stopped. It costs no device read, so a
scrape every second does not change what is measured; values are as fresh as the sampler's
``interval_s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wattwise.core.run import ComponentEnergy, in_total
from wattwise.readers.base import DeviceInfo
from wattwise.tracker.devices import Snapshot

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.tracker.core import Tracker

__all__ = ["DeviceNow", "LiveState", "live_state"]

#: The suffix of the component that estimates a device's unread seconds (tracker.devices).
GAP_SUFFIX = "#gap"


@dataclass(frozen=True)
class DeviceNow:
    """One device now. ``energy_j``: counted since the run started (the counter's difference, or
    the integral of power samples; never decreases); ``power_w``: its latest instantaneous (or,
    for a counter, mean since the previous read) power, None when unknown or the run has ended;
    ``gap_estimate_j``: energy estimated for the seconds it could not be read (``estimated``;
    revised as the device's mean power changes); ``missing_s``: those seconds."""

    device: DeviceInfo
    energy_j: float
    power_w: float | None
    gap_estimate_j: float = 0.0
    missing_s: float = 0.0


@dataclass(frozen=True)
class LiveState:
    """A tracker now: its run, devices and counts. ``elapsed_s`` is seconds from the run's start
    to the sampler's latest read (its duration once stopped), so that energies and time agree;
    ``started_wall_s`` the Unix time of its start (0 before)."""

    run_id: str
    name: str
    status: str
    elapsed_s: float
    started_wall_s: float
    devices: tuple[DeviceNow, ...] = ()
    counts: Mapping[str, float] = field(default_factory=dict)

    @property
    def counted_j(self) -> float:
        """The run's energy counted by its devices (J; overlapping kinds such as RAPL psys left
        out when their parts are present, as in the run's total); never decreases."""
        parts = in_total([_as_component(d) for d in self.devices])
        return sum(c.energy_j for c in parts)

    @property
    def gap_estimate_j(self) -> float:
        """Energy estimated for unread seconds (J); the run's total is ``counted_j`` + this."""
        parts = {c.device_id for c in in_total([_as_component(d) for d in self.devices])}
        return sum(d.gap_estimate_j for d in self.devices if d.device.device_id in parts)


def _as_component(d: DeviceNow) -> ComponentEnergy:
    i = d.device
    return ComponentEnergy(i.device_id, i.kind, i.name, d.energy_j, i.provenance, i.source)


def live_state(tracker: Tracker) -> LiveState:
    """``tracker`` now (see the module docstring). Never reads a device; never raises on a
    tracker that has not started (no devices yet) or has stopped (its result)."""
    with tracker._lock:
        result = tracker.result
        elapsed_s = 0.0
        devices: tuple[DeviceNow, ...] = ()
        counts: dict[str, float] = {}
        start = tracker._start_snapshot
        if result is not None:
            elapsed_s = result.duration_s
            devices = _devices(tracker, result.components, with_power=False)
            counts = dict(result.counts)
        elif start is not None and tracker._t0 is not None:
            book = tracker._book
            last = [tr.last_t_s for tr in book.tracks.values() if tr.last_t_s is not None]
            # As of the latest read: a device read then has no unread seconds.
            now = Snapshot(
                t_s=max(last, default=start.t_s),
                energy_j={k: tr.cumulative_j for k, tr in book.tracks.items()},
                last_good_t_s={
                    k: t for k, tr in book.tracks.items() if (t := tr.last_t_s) is not None
                },
            )
            elapsed_s = max(0.0, now.t_s - tracker._t0)
            devices = _devices(tracker, book.components(start, now), with_power=True)
            counts = dict(tracker._counts)
        return LiveState(
            run_id=tracker.run_id,
            name=tracker.name,
            status=tracker.status,
            elapsed_s=elapsed_s,
            started_wall_s=tracker.start_wall_s,
            devices=devices,
            counts=counts,
        )


def _devices(
    tracker: Tracker, components: tuple[ComponentEnergy, ...], *, with_power: bool
) -> tuple[DeviceNow, ...]:
    """One :class:`DeviceNow` per device of the tracker, from its components. Caller holds the
    tracker's lock."""
    book = tracker._book
    by_id = {c.device_id: c for c in components}
    out: list[DeviceNow] = []
    for dev_id, info in book.devices.items():
        c = by_id.get(dev_id)
        gap = by_id.get(dev_id + GAP_SUFFIX)
        track = book.tracks.get(dev_id)
        out.append(
            DeviceNow(
                device=info,
                energy_j=c.energy_j if c is not None else 0.0,
                power_w=track.last_power_w if with_power and track is not None else None,
                gap_estimate_j=gap.energy_j if gap is not None else 0.0,
                missing_s=c.missing_s if c is not None else 0.0,
            )
        )
    return tuple(out)
