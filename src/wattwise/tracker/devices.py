"""Devices of a run: readings checked where they enter, gaps, lost intervals, components.

Every value a reader returns is checked here before it is used (finite, >= 0, within a plausible
bound, a number at all, a counter that does not go backwards, a device the reader opened). A
refused value is never used: the device gets a gap for those seconds with the reason, the run a
note once per device and kind of fault, and the energy of the missing seconds is estimated from
the device's mean power as a separate ``estimated`` component. Nothing here raises into the
caller: a reader that raises, or returns something that is not a list of readings, is a gap too.

Times in :class:`Snapshot` are on the tracker's clock (seconds, monotonic); times in
:class:`~wattwise.tracker.model.Gap` are seconds since the run started.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from wattwise.readers.base import DeviceInfo, Provenance, Reader
from wattwise.tracker.integrate import DeviceTrack
from wattwise.tracker.model import ComponentEnergy, Gap, Sample
from wattwise.tracker.notes import NoteLog
from wattwise.units import format_duration, format_energy, format_number, format_power
from wattwise.validate import Cleaned, clean_number

#: Largest power (W) one device may report: far above any accelerator or whole server (a GB200
#: NVL72 rack draws ~120 kW); a larger value is a glitch, not a reading.
MAX_POWER_W = 1e6
#: Largest cumulative energy (J) a counter may report since it was opened (1 MW for 30 years).
MAX_ENERGY_J = 1e15
#: A counter may step back by this much (J, plus 1e-12 relative) from float rounding in a reader.
BACKWARDS_TOLERANCE_J = 1e-6
#: Most gaps (and lost intervals) kept per device; beyond it the oldest two are merged.
MAX_GAPS_PER_DEVICE = 1000


def _j6(energy_j: float) -> str:
    """A raw counter value in joules for a note: six significant digits, grouped, so that two
    close readings stay distinguishable (``123,456,789 J``), never e-notation."""
    return f"{format_number(energy_j, 6)} J"


class Snapshot:
    """Cumulative energy per device at one boundary, and when each device was last read well.

    The records of this module are plain classes with ``__slots__``, not dataclasses: creating
    a dataclass costs ~1 ms, paid inside the first ``Tracker.start()`` of every process.
    """

    __slots__ = ("energy_j", "last_good_t_s", "t_s")

    def __init__(
        self, t_s: float, energy_j: dict[str, float], last_good_t_s: dict[str, float]
    ) -> None:
        self.t_s = t_s
        self.energy_j = energy_j
        self.last_good_t_s = last_good_t_s

    def __repr__(self) -> str:
        return (
            f"Snapshot(t_s={self.t_s!r}, energy_j={self.energy_j!r}, "
            f"last_good_t_s={self.last_good_t_s!r})"
        )


class ReaderState:
    """An open reader, its devices, and since when it has been failing (clock seconds)."""

    __slots__ = ("device_ids", "devices", "failing_since_s", "last_error", "reader")

    def __init__(self, reader: Reader, devices: list[DeviceInfo]) -> None:
        self.reader = reader
        self.devices = devices
        self.failing_since_s: float | None = None
        self.last_error = ""
        self.device_ids = frozenset(d.device_id for d in devices)

    @property
    def name(self) -> str:
        return str(getattr(self.reader, "name", type(self.reader).__name__))


class _DeviceGaps:
    """A device's gaps (the last one may be open: ``end_s`` None), its lost intervals (clock
    times whose energy is unknown) and whether the next good counter value is rebased."""

    __slots__ = ("distrust", "gaps", "lost")

    def __init__(self) -> None:
        self.gaps: list[Gap] = []
        self.lost: list[tuple[float, float]] = []
        self.distrust = False  # a counter value was refused: the next good one is rebased

    @property
    def open(self) -> bool:
        return bool(self.gaps) and self.gaps[-1].end_s is None


_REBASED_BY_READER = "the reader could not reconcile the counter (a reset or a glitch)"
_DISTRUSTED = "the counter glitched (readings refused since the last good one)"


def _clean(value: object, high: float) -> Cleaned:
    """:func:`~wattwise.validate.clean_number` in [0, ``high``], with a fast path for the
    common case (a float in range; NaN fails both comparisons)."""
    if type(value) is float and 0.0 <= value <= high:
        return Cleaned(value)
    return clean_number(value, high=high)


def _plausible(t0_s: float, e0_j: float, t1_s: float, e1_j: float) -> bool:
    """Whether a counter rising from ``e0_j`` to ``e1_j`` implies at most MAX_POWER_W."""
    return t1_s <= t0_s or (e1_j - e0_j) <= MAX_POWER_W * (t1_s - t0_s)


def discover_readers(notes: NoteLog, gpus: Sequence[str] | None) -> list[Reader]:
    """The readers available on this machine (``gpus``: which GPUs); never raises: a failure
    is a note and no readers."""
    try:
        from wattwise.readers.registry import default_readers

        found: list[str] = []
        readers = list(default_readers(found, gpus=gpus))
        for n in found:
            notes.add(n)
        return readers
    except Exception as exc:  # never hurt the workload
        notes.add(f"reader discovery failed: {exc}")
        return []


def fault_kind(reason: str) -> str:
    """A short name for the kind of fault in a :func:`~wattwise.validate.clean_number` reason."""
    if reason.startswith("unit name"):
        return "bad-unit"
    if "whole number" in reason:
        return "fractional"
    if "NaN" in reason:
        return "NaN"
    if "infinite" in reason:
        return "infinite"
    if "out of range" in reason:
        return "out-of-range"
    return "non-numeric"


class DeviceBook:
    """The devices of one run, their tracks, gaps and lost intervals.

    ``on_sample`` and ``on_gap_closed`` receive every accepted sample and every closed gap (the
    tracker streams them to its timeline and its sink). The caller serialises calls (one lock).
    """

    def __init__(
        self,
        notes: NoteLog,
        on_sample: Callable[[Sample], None],
        on_gap_closed: Callable[[Gap], None],
    ) -> None:
        self.notes = notes
        self.states: list[ReaderState] = []
        self.devices: dict[str, DeviceInfo] = {}
        self.tracks: dict[str, DeviceTrack] = {}
        self._gaps: dict[str, _DeviceGaps] = {}
        self._on_sample = on_sample
        self._on_gap_closed = on_gap_closed
        self.t0_s: float | None = None

    # ------------------------------------------------------------------ readers
    def open_reader(self, reader: Reader) -> None:
        """Open ``reader`` and add its devices; a reader that fails to open becomes a note."""
        name = str(getattr(reader, "name", reader))
        try:
            devices = list(reader.open())
            for d in devices:
                if not isinstance(d, DeviceInfo):
                    raise TypeError(f"open() returned {type(d).__name__}, not DeviceInfo")
        except Exception as exc:
            self.notes.add(f"reader {name} not used: {exc}")
            return
        for d in devices:
            self.devices[d.device_id] = d
            self.tracks[d.device_id] = DeviceTrack(
                d.device_id, counter=d.provenance != Provenance.INTEGRATED
            )
            self._gaps[d.device_id] = _DeviceGaps()
        self.states.append(ReaderState(reader, devices))

    def attach_process(self, pid: int) -> None:
        """Let readers that attribute machine energy to a process tree follow ``pid``; a reader
        that cannot becomes a note."""
        for st in self.states:
            attach = getattr(st.reader, "attach_process", None)
            if callable(attach):
                try:
                    attach(pid)
                except Exception as exc:  # never hurt the run
                    self.notes.add(f"cannot follow process {pid}: {exc}")

    def close_readers(self) -> None:
        """Close every reader (at the end of the run); a failure to close is ignored."""
        for st in self.states:
            with contextlib.suppress(Exception):
                st.reader.close()

    def snapshot(self, t: float) -> Snapshot:
        """Read every reader at clock time ``t``; update tracks, samples and gaps. Never raises."""
        for st in self.states:
            try:
                readings = list(st.reader.read())
            except Exception as exc:
                self._on_reader_failure(st, t, exc)
                continue
            try:
                self._take(st, t, readings)
            except Exception as exc:  # a bug or a reading of a shape nobody expected
                self._on_reader_failure(st, t, exc)
                continue
            st.failing_since_s = None
        return Snapshot(
            t_s=t,
            energy_j={k: tr.cumulative_j for k, tr in self.tracks.items()},
            last_good_t_s={
                k: tr.last_t_s for k, tr in self.tracks.items() if tr.last_t_s is not None
            },
        )

    def _take(self, st: ReaderState, t: float, readings: list[Any]) -> None:
        own = st.device_ids
        seen: set[str] = set()
        for r in readings:
            dev = getattr(r, "device_id", None)
            if not isinstance(dev, str) or dev not in own:
                self.notes.once(
                    f"unknown-device:{st.name}",
                    f"reader {st.name} returned a reading for a device it did not open "
                    f"({dev!r}): ignored",
                    repeat_label=f"readings of unknown devices from {st.name} ignored",
                )
                continue
            if self._take_one(dev, t, r):
                seen.add(dev)
        last_errors = getattr(st.reader, "last_errors", None)
        if not isinstance(last_errors, dict):
            last_errors = {}
        for d in st.devices:
            if d.device_id not in seen and not self._gaps[d.device_id].open:
                reason = last_errors.get(d.device_id, "no reading")
                self._open_gap(d.device_id, t, str(reason))

    def _take_one(self, dev: str, t: float, r: Any) -> bool:
        """Use one reading of ``dev`` at ``t`` if it is valid; True when it was used."""
        track = self.tracks[dev]
        energy = getattr(r, "energy_j", None)
        power = getattr(r, "power_w", None)
        if energy is not None:
            c = _clean(energy, MAX_ENERGY_J)
            if c.value is None:
                kind = "energy_j " + fault_kind(c.reason)
                return self._fault(dev, t, kind, f"energy_j {c.reason}")
            book = self._gaps[dev]
            if getattr(r, "rebased", False) is True:
                book.distrust = False
                self._rebase(dev, t, c.value, _REBASED_BY_READER)
            elif not self._counter_ok(dev, t, c.value):
                return False
            elif book.distrust:
                book.distrust = False
                self._rebase(dev, t, c.value, _DISTRUSTED)
            else:
                track.add_energy(t, c.value)
        elif power is not None:
            c = _clean(power, MAX_POWER_W)
            if c.value is None:
                kind = "power_w " + fault_kind(c.reason)
                return self._fault(dev, t, kind, f"power_w {c.reason}")
            track.add_power(t, c.value)
        else:
            return False
        self._close_gap(dev, t)
        self._on_sample(Sample(dev, self.rel(t), track.last_power_w, track.cumulative_j))
        return True

    def _counter_ok(self, dev: str, t: float, energy_j: float) -> bool:
        """True, or False (and a gap) when the counter went backwards or jumped by more
        than :data:`MAX_POWER_W` allows since the last good reading.

        The device stays in the gap until a reading is consistent with the last good one
        again; as the counter's values in between were not trustworthy (a glitch, or a reset
        that caught up), that reading is rebased: the energy since the last good reading is
        estimated, never taken from a glitching counter.
        """
        track = self.tracks[dev]
        last, last_t = track.last_raw_j, track.last_t_s
        if last is None or last_t is None:
            return True
        tol = BACKWARDS_TOLERANCE_J + 1e-12 * abs(last)
        if energy_j < last - tol:
            reason = f"counter went backwards (from {_j6(last)} to {_j6(energy_j)})"
            kind = "backwards"
        elif not _plausible(last_t, last, t, energy_j):
            reason = (
                f"counter jumped by {format_energy(energy_j - last)} in "
                f"{format_duration(t - last_t)} (over {format_power(MAX_POWER_W)}: a glitch)"
            )
            kind = "jump"
        else:
            return True
        self._gaps[dev].distrust = True
        self._fault(dev, t, kind, reason)
        return False

    def _rebase(self, dev: str, t: float, energy_j: float, why: str) -> None:
        track, book = self.tracks[dev], self._gaps[dev]
        start = track.last_t_s
        lost_s = track.rebase(t, energy_j)
        if start is None or lost_s <= 0:
            return
        reason = f"{why}: the energy of these {format_duration(lost_s)} is unknown (estimated)"
        self.notes.once(
            f"rebased:{dev}",
            f"{dev}: {reason}",
            repeat_label=f"{dev}: counter rebased",
        )
        book.lost.append((start, t))
        if len(book.lost) > MAX_GAPS_PER_DEVICE:
            (a, _), (_, b) = book.lost[0], book.lost[1]
            book.lost[:2] = [(a, b)]
        if book.open:
            g = book.gaps[-1]
            book.gaps[-1] = replace(g, error=f"{g.error}; {reason}")
        else:
            self._append_gap(dev, Gap(dev, self.rel(start), None, reason))

    def _fault(self, dev: str, t: float, kind: str, reason: str) -> bool:
        self.notes.once(
            f"fault:{dev}:{kind}",
            f"{dev}: {reason}; the reading was not used (a gap)",
            repeat_label=f"{dev}: {kind} readings refused",
        )
        self._open_gap(dev, t, reason)
        return False

    def _on_reader_failure(self, st: ReaderState, t: float, exc: Exception) -> None:
        msg = str(exc) or type(exc).__name__
        if st.failing_since_s is None:
            st.failing_since_s = t
            self.notes.once(
                f"reader-failed:{st.name}:{msg}",
                f"reader {st.name} failed: {msg}",
                repeat_label=f"reader {st.name} failed ({msg})",
            )
        st.last_error = msg
        for d in st.devices:
            self._open_gap(d.device_id, t, msg)

    # ------------------------------------------------------------------ gaps
    def rel(self, t: float) -> float:
        """Clock time ``t`` as seconds since the run started."""
        return t - (self.t0_s if self.t0_s is not None else t)

    def _open_gap(self, dev: str, t: float, error: str) -> None:
        if not self._gaps[dev].open:
            self._append_gap(dev, Gap(dev, self.rel(t), None, error))

    def _append_gap(self, dev: str, gap: Gap) -> None:
        gaps = self._gaps[dev].gaps
        gaps.append(gap)
        if len(gaps) > MAX_GAPS_PER_DEVICE:  # merge the two oldest (both closed)
            a, b = gaps[0], gaps[1]
            gaps[:2] = [Gap(dev, a.start_s, b.end_s, f"{a.error} (and later gaps)")]
            self.notes.once(
                f"gaps-merged:{dev}",
                f"{dev}: more than {MAX_GAPS_PER_DEVICE} gaps; the oldest are merged",
            )

    def _close_gap(self, dev: str, t: float) -> None:
        book = self._gaps[dev]
        if not book.open:
            return
        g = book.gaps[-1]
        closed = replace(g, end_s=max(g.start_s, self.rel(t)))
        book.gaps[-1] = closed
        self._on_gap_closed(closed)

    def gaps(self) -> tuple[Gap, ...]:
        """Every gap of the run, ordered by start (open ones have ``end_s`` None)."""
        out = [g for book in self._gaps.values() for g in book.gaps]
        return tuple(sorted(out, key=lambda g: (g.start_s, g.device_id)))

    # ------------------------------------------------------------------ energy
    def missing_s(self, dev: str, a: Snapshot, b: Snapshot) -> float:
        """Seconds of [a, b] whose energy is not in the counter difference of ``dev``.

        Those not covered by good readings at the boundaries, plus those of lost intervals
        (a rebased counter) inside [a, b].
        """
        span = b.t_s - a.t_s
        last_a = a.last_good_t_s.get(dev)
        last_b = b.last_good_t_s.get(dev)
        if last_b is None or last_b < a.t_s:
            return max(0.0, span)
        missing = b.t_s - last_b if last_b < b.t_s else 0.0
        if last_a is None:  # first good reading came after `a`
            first = self.tracks[dev].first_t_s
            if first is not None:
                missing += max(0.0, min(first, b.t_s) - a.t_s)
        for p, q in self._gaps[dev].lost:
            missing += max(0.0, min(q, b.t_s) - max(p, a.t_s))
        return max(0.0, min(missing, span))

    def components(self, a: Snapshot, b: Snapshot) -> tuple[ComponentEnergy, ...]:
        """Per-device energy between two snapshots, with estimates for the missing seconds."""
        out: list[ComponentEnergy] = []
        for dev_id, info in self.devices.items():
            e_a = a.energy_j.get(dev_id, 0.0)
            e_b = b.energy_j.get(dev_id, e_a)
            missing_s = self.missing_s(dev_id, a, b)
            note = f"{format_duration(missing_s)} without a reading" if missing_s > 0 else ""
            out.append(
                ComponentEnergy(
                    device_id=dev_id,
                    kind=info.kind,
                    name=info.name,
                    energy_j=max(0.0, e_b - e_a),
                    provenance=info.provenance,
                    source=info.source,
                    params=dict(info.params),
                    missing_s=missing_s,
                    note=note,
                )
            )
            mean_w = self.tracks[dev_id].mean_power_w()
            if missing_s > 0 and mean_w is not None and mean_w >= 0:
                out.append(
                    ComponentEnergy(
                        device_id=f"{dev_id}#gap",
                        kind=info.kind,
                        name=f"{info.name} (gap estimate)",
                        energy_j=mean_w * missing_s,
                        provenance=Provenance.ESTIMATED,
                        source="wattwise:mean power of the device while it was read well",
                        params={"mean_power_w": f"{mean_w:.6g}", "missing_s": f"{missing_s:.6g}"},
                        note=f"estimated for the {format_duration(missing_s)} the device "
                        "could not be read",
                    )
                )
        return tuple(out)

    def with_attribution(
        self, components: tuple[ComponentEnergy, ...]
    ) -> tuple[ComponentEnergy, ...]:
        """Add what readers attribute to the tracked process tree to their devices' params."""
        extra: dict[str, dict[str, str]] = {}
        for st in self.states:
            fn = getattr(st.reader, "process_energy_j", None)
            cpu_fn = getattr(st.reader, "process_cpu_s", None)
            try:
                energy_j = clean_number(fn() if callable(fn) else None).value
                cpu_s = clean_number(cpu_fn() if callable(cpu_fn) else None).value
            except Exception:
                continue
            if energy_j is None:
                continue
            for d in st.devices:
                extra[d.device_id] = {"process_tree_energy_j": f"{energy_j:.6g}"}
                if cpu_s is not None:
                    extra[d.device_id]["process_tree_cpu_s"] = f"{cpu_s:.6g}"
                self.notes.add(
                    f"{d.device_id}: {format_energy(energy_j)} of the machine's estimate is "
                    "attributable to the tracked process tree (its share of busy CPU time)"
                )
        if not extra:
            return components
        return tuple(
            replace(c, params={**c.params, **extra[c.device_id]}) if c.device_id in extra else c
            for c in components
        )
