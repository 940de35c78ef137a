"""The tracker: runs, named windows, a background sampler and work counters.

Energy of a run or a window is the difference of cumulative device energies read at its
boundaries, so a short region is as exact as the counters allow. A background thread samples every
``interval_s`` to build a power timeline and to integrate devices that only report power.

The tracker never raises into the user's code once constructed: a reader that fails becomes a
recorded gap (and, where the device was seen before, an estimate of the missing part from its mean
power, reported as a separate ``estimated`` component), and a failing ledger becomes a note.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Protocol

from wattwise.readers.base import DeviceInfo, Provenance, Reader
from wattwise.tracker.integrate import DeviceTrack
from wattwise.tracker.model import (
    ComponentEnergy,
    Gap,
    RunResult,
    Sample,
    WindowResult,
)

log = logging.getLogger("wattwise")

Clock = Callable[[], float]


class RunSink(Protocol):
    """Where a run is written as it goes (the ledger implements this)."""

    def begin_run(
        self,
        run_id: str,
        name: str,
        started_at: str,
        command: Sequence[str] | None,
        host: Mapping[str, str],
        devices: Sequence[DeviceInfo],
    ) -> None: ...

    def append_samples(self, run_id: str, samples: Sequence[Sample]) -> None: ...

    def append_gaps(self, run_id: str, gaps: Sequence[Gap]) -> None: ...

    def heartbeat(self, run_id: str) -> None: ...

    def finish_run(self, result: RunResult) -> None: ...


@dataclass
class _Snapshot:
    """Cumulative energy per device at one boundary, and when each device was last read well."""

    t_s: float
    energy_j: dict[str, float]
    last_good_t_s: dict[str, float]


@dataclass
class Window:
    """An open (or closed) named window; returned by :meth:`Tracker.start_window`."""

    name: str
    parent: str | None
    start: _Snapshot
    counts: dict[str, float] = field(default_factory=dict)
    result: WindowResult | None = None


@dataclass
class _ReaderState:
    reader: Reader
    devices: list[DeviceInfo]
    failing_since_s: float | None = None
    last_error: str = ""


def _host_info() -> dict[str, str]:
    import os
    import platform
    import socket

    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": str(os.cpu_count() or 0),
    }


class Tracker:
    """Tracks the energy of a run, per device, with named windows and work counters.

    Construction does nothing; :meth:`start` opens the readers, takes the first reading and starts
    the sampler thread. ``readers=None`` discovers the readers available on this machine
    (``gpus``: GPU indices or UUIDs to read instead of those ``CUDA_VISIBLE_DEVICES`` shows).
    ``clock`` (seconds, monotonic) and ``sampler=False`` let tests drive the tracker by hand with
    :meth:`sample`. ``store=True`` writes the run to the ledger as it goes ($WATTWISE_DB or the
    default SQLite file; a string names another database), so ``wattwise runs list`` shows it.
    """

    def __init__(
        self,
        name: str = "run",
        *,
        readers: Sequence[Reader] | None = None,
        interval_s: float = 1.0,
        clock: Clock = time.monotonic,
        sampler: bool = True,
        sink: RunSink | None = None,
        flush_interval_s: float = 2.0,
        command: Sequence[str] | None = None,
        run_id: str | None = None,
        gpus: Sequence[str] | None = None,
        store: bool | str = False,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.name = name
        self.interval_s = interval_s
        self.flush_interval_s = flush_interval_s
        self.command = tuple(command) if command is not None else None
        self.run_id = run_id or uuid.uuid4().hex
        self._readers_arg = readers
        self._gpus = gpus
        self._clock = clock
        self._use_sampler = sampler
        self._sink = sink
        self._store = store
        self._owned_sink: Any = None
        self._lock = threading.RLock()
        self._states: list[_ReaderState] = []
        self._devices: dict[str, DeviceInfo] = {}
        self._tracks: dict[str, DeviceTrack] = {}
        self._samples: list[Sample] = []
        self._unflushed: list[Sample] = []
        self._gaps: list[Gap] = []
        self._unflushed_gaps: list[Gap] = []
        self._open_gaps: dict[str, int] = {}
        self._notes: list[str] = []
        self._open_windows: list[Window] = []
        self._windows: list[WindowResult] = []
        self._counts: dict[str, float] = {}
        self._step_marks_s: list[float] = []  # run-relative times at which steps ended
        self._t0: float | None = None
        self._start_snapshot: _Snapshot | None = None
        self._started_at = ""
        self.start_wall_s = 0.0  # wall-clock (Unix) time of start()
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._last_flush_s = 0.0
        self.result: RunResult | None = None
        self.status = "created"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Tracker:
        """Open the readers, read every device once, start the sampler. Never raises."""
        if self.status != "created":
            return self
        self.status = "running"
        now = datetime.now(timezone.utc)
        self._started_at = now.isoformat(timespec="milliseconds")
        self.start_wall_s = now.timestamp()
        if self._store and self._sink is None:
            self._open_store()
        readers = self._readers_arg
        if readers is None:
            try:
                from wattwise.readers.registry import default_readers

                readers = default_readers(self._notes, gpus=self._gpus)
            except Exception as exc:  # never hurt the workload
                self._notes.append(f"reader discovery failed: {exc}")
                readers = []
        for reader in readers:
            self._open_reader(reader)
        if not self._devices:
            self._notes.append("no energy reader is available: nothing was measured or estimated")
        self._t0 = self._clock()
        self._start_snapshot = self._snapshot()
        self._last_flush_s = self._t0
        self._sink_call(
            "begin_run",
            self.run_id,
            self.name,
            self._started_at,
            self.command,
            _host_info(),
            list(self._devices.values()),
        )
        if self._use_sampler:
            self._thread = threading.Thread(
                target=self._sampler_loop, name="wattwise-sampler", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, *, exit_code: int | None = None, status: str = "finished") -> RunResult:
        """Stop sampling, close open windows, read every device a last time; return the result."""
        if self.result is not None:
            return self.result
        if self.status == "created":
            self.start()
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 2 * self.interval_s))
        with self._lock:
            end = self._snapshot()
            for w in list(reversed(self._open_windows)):
                self._close_window(w, end)
            assert self._start_snapshot is not None and self._t0 is not None
            components = self._with_attribution(self._components(self._start_snapshot, end))
            self.result = RunResult(
                run_id=self.run_id,
                name=self.name,
                started_at=self._started_at,
                duration_s=end.t_s - self._t0,
                components=components,
                windows=tuple(self._windows),
                counts=dict(self._counts),
                samples=tuple(self._samples),
                gaps=tuple(self._gaps),
                notes=tuple(self._notes),
                status=status,
                command=self.command,
                exit_code=exit_code,
                host=_host_info(),
            )
            self.status = status
        self._flush(force=True)
        self._sink_call("finish_run", self.result)
        for st in self._states:
            with contextlib.suppress(Exception):
                st.reader.close()
        if self._owned_sink is not None:
            with contextlib.suppress(Exception):
                self._owned_sink.close()
        return self.result

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._notes.append(f"the tracked code raised {exc_type.__name__}")
        self.stop(status="failed" if exc_type is not None else "finished")

    # ------------------------------------------------------------------ windows and counts
    def start_window(self, name: str) -> Window:
        """Open a named window now. Windows may nest or overlap; close with :meth:`stop_window`."""
        with self._lock:
            if self.status == "created":
                self.start()
            parent = self._open_windows[-1].name if self._open_windows else None
            w = Window(name=name, parent=parent, start=self._snapshot())
            self._open_windows.append(w)
            return w

    def stop_window(self, window: Window) -> WindowResult | None:
        """Close ``window`` now and return its result (None if it was already closed)."""
        with self._lock:
            if window.result is not None or window not in self._open_windows:
                return window.result
            return self._close_window(window, self._snapshot())

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """``with t.window("prefill"):`` — a named window around a block."""
        w = self.start_window(name)
        try:
            yield w
        finally:
            self.stop_window(w)

    def count(self, **units: float) -> None:
        """Add work done (``tokens=128, requests=1``) to the run and to every open window."""
        with self._lock:
            for unit, n in units.items():
                try:
                    value = float(n)
                except (TypeError, ValueError):
                    self._notes.append(f"count({unit}={n!r}) ignored: not a number")
                    continue
                self._counts[unit] = self._counts.get(unit, 0.0) + value
                for w in self._open_windows:
                    w.counts[unit] = w.counts.get(unit, 0.0) + value

    def step(self, n: int = 1, *, at_s: float | None = None) -> None:
        """Mark the end of ``n`` training steps (or epochs) now, for :meth:`forecast`.

        Cheap: records a timestamp and counts ``steps``; energies come from the timeline.
        ``at_s`` (seconds since the run started) marks a step that ended earlier, as reported
        by another process.
        """
        with self._lock:
            if self._t0 is None or n <= 0:
                return
            t = self._clock() - self._t0 if at_s is None else at_s
            self._step_marks_s.extend([t] * n)
            self._counts["steps"] = self._counts.get("steps", 0.0) + n

    def forecast(
        self,
        total_steps: int,
        *,
        intensity_g_per_kwh: float | None = None,
        warmup_steps: int = 0,
        confidence: float = 0.9,
    ) -> Any:
        """Predict energy, carbon and finish time of the whole run from the steps seen so far.

        Each step's energy is the total cumulative energy (all devices) interpolated at its
        boundaries on the sampled timeline, so it is as fine as the sampling interval. Returns a
        :class:`wattwise.estimate.forecast.Forecast` (bands narrow as more steps are seen).
        Raises ConfigError when no step has been marked yet or ``total_steps`` is too small.
        """
        from wattwise.errors import ConfigError
        from wattwise.estimate.forecast import forecast

        with self._lock:
            if self.status == "running":
                self._snapshot()
            marks = sorted(self._step_marks_s)
            timeline = self._total_timeline()
        if not marks:
            raise ConfigError("no step marked yet: call t.step() at the end of each step")
        bounds = [0.0, *marks]
        energies = [_interp(timeline, b) for b in bounds]
        durations = [b - a for a, b in itertools.pairwise(bounds)]
        step_j = [b - a for a, b in itertools.pairwise(energies)]
        return forecast(
            durations,
            step_j,
            total_steps,
            warmup_steps=warmup_steps,
            confidence=confidence,
            intensity_g_per_kwh=intensity_g_per_kwh,
        )

    def _total_timeline(self) -> list[tuple[float, float]]:
        """(run-relative time, total cumulative energy J) at every snapshot. Caller holds lock."""
        by_t: dict[float, dict[str, float]] = {}
        for smp in self._samples:
            if smp.energy_j is not None:
                by_t.setdefault(smp.t_s, {})[smp.device_id] = smp.energy_j
        last: dict[str, float] = {}
        out: list[tuple[float, float]] = []
        for t in sorted(by_t):
            last.update(by_t[t])
            out.append((t, sum(last.values())))
        return out

    def add_note(self, note: str) -> None:
        """Attach a note to the run (shown in summaries and stored in the ledger)."""
        with self._lock:
            self._notes.append(note)

    def attach_process(self, pid: int) -> None:
        """Let readers that attribute machine energy to a process tree follow ``pid``."""
        for st in self._states:
            attach = getattr(st.reader, "attach_process", None)
            if callable(attach):
                try:
                    attach(pid)
                except Exception as exc:  # never hurt the run
                    self.add_note(f"cannot follow process {pid}: {exc}")

    @property
    def windows(self) -> tuple[WindowResult, ...]:
        return tuple(self._windows)

    @property
    def devices(self) -> tuple[DeviceInfo, ...]:
        return tuple(self._devices.values())

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self._notes)

    def elapsed_s(self) -> float:
        return 0.0 if self._t0 is None else self._clock() - self._t0

    def energy_so_far_j(self) -> float:
        """Total energy since start, read now (for progress display and forecasts)."""
        with self._lock:
            if self._start_snapshot is None:
                return 0.0
            snap = self._snapshot()
            return sum(c.energy_j for c in self._components(self._start_snapshot, snap))

    # ------------------------------------------------------------------ sampling
    def sample(self) -> None:
        """Read every device now (the sampler thread calls this; tests call it by hand)."""
        with self._lock:
            if self.status != "running":
                return
            self._snapshot()
        self._flush()

    def _sampler_loop(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # pragma: no cover - defensive: never die silently
                self._notes.append(f"sampler error: {exc}")

    # ------------------------------------------------------------------ internals
    def _open_store(self) -> None:
        """Open the ledger (``store=True``: $WATTWISE_DB or the default file; a str: that URL)."""
        try:
            from wattwise.ledger import Ledger

            self._owned_sink = Ledger.open(None if self._store is True else str(self._store))
            self._sink = self._owned_sink
        except Exception as exc:  # never hurt the workload: the run stays in memory
            self._notes.append(f"ledger not used: {exc}")

    def _open_reader(self, reader: Reader) -> None:
        try:
            devices = list(reader.open())
        except Exception as exc:
            self._notes.append(f"reader {getattr(reader, 'name', reader)!s} not used: {exc}")
            return
        for d in devices:
            self._devices[d.device_id] = d
            self._tracks[d.device_id] = DeviceTrack(
                d.device_id, counter=d.provenance != Provenance.INTEGRATED
            )
        self._states.append(_ReaderState(reader, devices))

    def _snapshot(self) -> _Snapshot:
        """Read every reader now; update tracks, samples and gaps. Caller holds the lock."""
        t = self._clock()
        for st in self._states:
            try:
                readings = st.reader.read()
            except Exception as exc:
                self._on_reader_failure(st, t, exc)
                continue
            seen = set()
            for r in readings:
                track = self._tracks.get(r.device_id)
                if track is None:
                    continue
                rt = t  # the tracker's clock, not the reader's, orders all boundaries
                if r.energy_j is not None:
                    track.add_energy(rt, r.energy_j)
                elif r.power_w is not None:
                    track.add_power(rt, r.power_w)
                else:
                    continue
                seen.add(r.device_id)
                self._close_gap(r.device_id, rt)
                s = Sample(
                    r.device_id,
                    rt - (self._t0 if self._t0 is not None else rt),
                    track.last_power_w,
                    track.cumulative_j,
                )
                self._samples.append(s)
                self._unflushed.append(s)
            last_errors = getattr(st.reader, "last_errors", None) or {}
            for d in st.devices:
                if d.device_id not in seen:
                    self._open_gap(d.device_id, t, last_errors.get(d.device_id, "no reading"))
            st.failing_since_s = None
        return _Snapshot(
            t_s=t,
            energy_j={k: tr.cumulative_j for k, tr in self._tracks.items()},
            last_good_t_s={
                k: tr.last_t_s for k, tr in self._tracks.items() if tr.last_t_s is not None
            },
        )

    def _on_reader_failure(self, st: _ReaderState, t: float, exc: Exception) -> None:
        msg = str(exc) or type(exc).__name__
        if st.failing_since_s is None:
            st.failing_since_s = t
            self._notes.append(f"reader {getattr(st.reader, 'name', '?')} failed: {msg}")
        st.last_error = msg
        for d in st.devices:
            self._open_gap(d.device_id, t, msg)

    def _open_gap(self, device_id: str, t: float, error: str) -> None:
        if device_id in self._open_gaps:
            return
        rel = t - (self._t0 if self._t0 is not None else t)
        self._gaps.append(Gap(device_id, rel, None, error))
        self._open_gaps[device_id] = len(self._gaps) - 1

    def _close_gap(self, device_id: str, t: float) -> None:
        idx = self._open_gaps.pop(device_id, None)
        if idx is None:
            return
        g = self._gaps[idx]
        rel = t - (self._t0 if self._t0 is not None else t)
        closed = Gap(g.device_id, g.start_s, rel, g.error)
        self._gaps[idx] = closed
        self._unflushed_gaps.append(closed)

    def _components(self, a: _Snapshot, b: _Snapshot) -> tuple[ComponentEnergy, ...]:
        """Per-device energy between two snapshots, with estimates for unread tails."""
        out: list[ComponentEnergy] = []
        for dev_id, info in self._devices.items():
            e_a = a.energy_j.get(dev_id, 0.0)
            e_b = b.energy_j.get(dev_id, e_a)
            missing_s = self._missing_s(dev_id, a, b)
            note = ""
            if missing_s > 0:
                note = f"{missing_s:.3g} s without a reading"
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
            mean_w = self._tracks[dev_id].mean_power_w()
            if missing_s > 0 and mean_w is not None:
                out.append(
                    ComponentEnergy(
                        device_id=f"{dev_id}#gap",
                        kind=info.kind,
                        name=f"{info.name} (gap estimate)",
                        energy_j=mean_w * missing_s,
                        provenance=Provenance.ESTIMATED,
                        source="wattwise:mean power of the device before the gap",
                        params={"mean_power_w": f"{mean_w:.6g}", "missing_s": f"{missing_s:.6g}"},
                        note=f"estimated for {missing_s:.3g} s the device could not be read",
                    )
                )
        return tuple(out)

    def _with_attribution(
        self, components: tuple[ComponentEnergy, ...]
    ) -> tuple[ComponentEnergy, ...]:
        """Add what readers attribute to the tracked process tree to their devices' params."""
        extra: dict[str, dict[str, str]] = {}
        for st in self._states:
            fn = getattr(st.reader, "process_energy_j", None)
            cpu_fn = getattr(st.reader, "process_cpu_s", None)
            try:
                energy_j = fn() if callable(fn) else None
                cpu_s = cpu_fn() if callable(cpu_fn) else None
            except Exception:
                continue
            if energy_j is None:
                continue
            for d in st.devices:
                extra[d.device_id] = {"process_tree_energy_j": f"{energy_j:.6g}"}
                if cpu_s is not None:
                    extra[d.device_id]["process_tree_cpu_s"] = f"{cpu_s:.6g}"
                self._notes.append(
                    f"{d.device_id}: {energy_j:.3g} J of the machine's estimate is attributable "
                    "to the tracked process tree (its share of busy CPU time)"
                )
        if not extra:
            return components
        return tuple(
            replace(c, params={**c.params, **extra[c.device_id]}) if c.device_id in extra else c
            for c in components
        )

    def _missing_s(self, dev_id: str, a: _Snapshot, b: _Snapshot) -> float:
        """Seconds of [a, b] not covered by good readings of ``dev_id`` at the boundaries."""
        last_a = a.last_good_t_s.get(dev_id)
        last_b = b.last_good_t_s.get(dev_id)
        if last_b is None or last_b < a.t_s:
            return b.t_s - a.t_s
        missing = b.t_s - last_b if last_b < b.t_s else 0.0
        if last_a is None:  # first good reading came after `a`
            first = self._tracks[dev_id].first_t_s
            if first is not None:
                missing += max(0.0, min(first, b.t_s) - a.t_s)
        return max(0.0, min(missing, b.t_s - a.t_s))

    def _close_window(self, w: Window, end: _Snapshot) -> WindowResult:
        assert self._t0 is not None
        res = WindowResult(
            name=w.name,
            start_s=w.start.t_s - self._t0,
            end_s=end.t_s - self._t0,
            components=self._components(w.start, end),
            counts=dict(w.counts),
            parent=w.parent,
        )
        w.result = res
        self._open_windows.remove(w)
        self._windows.append(res)
        return res

    def _flush(self, *, force: bool = False) -> None:
        if self._sink is None:
            return
        now = self._clock()
        if not force and now - self._last_flush_s < self.flush_interval_s:
            return
        with self._lock:
            samples, self._unflushed = self._unflushed, []
            gaps, self._unflushed_gaps = self._unflushed_gaps, []
            self._last_flush_s = now
        if samples:
            self._sink_call("append_samples", self.run_id, samples)
        if gaps:
            self._sink_call("append_gaps", self.run_id, gaps)
        self._sink_call("heartbeat", self.run_id)

    def _sink_call(self, method: str, *args: Any) -> None:
        if self._sink is None:
            return
        try:
            getattr(self._sink, method)(*args)
        except Exception as exc:
            self._notes.append(f"ledger write failed ({method}): {exc}; the run is kept in memory")
            log.warning("wattwise: ledger write failed (%s): %s", method, exc)
            self._sink = None


def _interp(points: Sequence[tuple[float, float]], t: float) -> float:
    """Linear interpolation of (time, value) points at ``t``, clamped at both ends."""
    if not points:
        return 0.0
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


class track(contextlib.ContextDecorator):  # lower-case: reads as a function
    """``with wattwise.track("name") as t:`` or ``@wattwise.track("name")``.

    Each entry creates a fresh :class:`Tracker` with the given keyword arguments; the finished
    tracker stays available as ``.tracker`` and its result as ``.result``.
    """

    def __init__(self, name: str = "run", **kwargs: Any) -> None:
        self.name = name
        self.kwargs = kwargs
        self.tracker: Tracker | None = None
        self.result: RunResult | None = None

    def __enter__(self) -> Tracker:
        self.tracker = Tracker(self.name, **self.kwargs)
        return self.tracker.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.tracker is not None
        self.tracker.__exit__(exc_type, exc, tb)
        self.result = self.tracker.result
