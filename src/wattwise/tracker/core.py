"""The tracker: runs, named windows, a background sampler and work counters.

Energy of a run or a window is the difference of cumulative device energies read at its
boundaries, so a short region is as exact as the counters allow. A background thread samples every
``interval_s`` to build a power timeline and to integrate devices that only report power.

The tracker never raises into the user's code once constructed: a reader that fails or returns an
invalid value becomes a recorded gap (and, where the device was seen before, an estimate of the
missing part from its mean power, reported as a separate ``estimated`` component), an invalid
count becomes a note, and a failing ledger keeps the run in memory and is retried. The parts:
:mod:`~wattwise.tracker.devices` (readings checked, gaps, components), :mod:`~.timeline`
(bounded timeline, step marks), :mod:`~.sink` (streaming to the ledger with a backlog).
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

from wattwise.readers.base import DeviceInfo, Reader
from wattwise.tracker.counts import clean_at_s, clean_count
from wattwise.tracker.devices import DeviceBook, Snapshot, discover_readers
from wattwise.tracker.model import Gap, RunResult, Sample, WindowResult
from wattwise.tracker.notes import NoteLog
from wattwise.tracker.outcome import host_info, new_run_id, outcome, utc_stamp
from wattwise.tracker.sink import RunSink, SinkBuffer
from wattwise.tracker.sync import SyncSpec, resolve_sync
from wattwise.tracker.timeline import StepMarks, Timeline, forecast_steps
from wattwise.tracker.windows import Window, WindowLog, clean_name_noted
from wattwise.validate import check_gpu_list, check_number

__all__ = ["RunSink", "Tracker", "Window", "outcome"]

Clock = Callable[[], float]

#: Longest sampling or flush interval (s) accepted: a day (counters keep totals exact anyway).
MAX_INTERVAL_S = 86_400.0


class Tracker:
    """Tracks the energy of a run, per device, with named windows and work counters.

    Construction only checks its arguments (a bad ``interval_s``, ``flush_interval_s`` or
    ``gpus`` is a :class:`~wattwise.errors.ConfigError`) and cleans the name; :meth:`start`
    opens the readers, begins the run in the sink, takes the first reading and starts the
    sampler. ``readers=None`` discovers this machine's readers (``gpus``: GPU indices or UUIDs
    instead of those ``CUDA_VISIBLE_DEVICES`` shows). ``clock`` (s, monotonic) and
    ``sampler=False`` let tests drive it with :meth:`sample`.

    The tracker writes to sinks it is given and opens none itself: ``sink`` is one the caller
    owns (and closes); ``open_sink`` is called at :meth:`start` and what it returns is closed at
    :meth:`stop` (:func:`wattwise.api.track` passes a ledger opener for ``store=True``). An
    ``open_sink`` that raises leaves the run in memory, with a note saying why. ``sinks`` are
    further sinks fed the same way (MLflow, a server): their failures are notes, and only the
    ledger (``sink`` / ``open_sink``) decides :attr:`stored`. ``sync`` waits for queued device
    work before each boundary reading (:mod:`~wattwise.tracker.sync`: ``"auto"``, ``"torch"``,
    ``"jax"``, ``"cupy"``, a callable or None).
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
        sinks: Sequence[RunSink] = (),
        flush_interval_s: float = 2.0,
        command: Sequence[str] | None = None,
        run_id: str | None = None,
        gpus: Sequence[str] | str | None = None,
        open_sink: Callable[[], RunSink] | None = None,
        sync: SyncSpec = "auto",
    ) -> None:
        self.interval_s = check_number(
            interval_s, "interval_s", low=0.0, low_inclusive=False, high=MAX_INTERVAL_S
        )
        self.flush_interval_s = check_number(
            flush_interval_s, "flush_interval_s", low=0.0, high=MAX_INTERVAL_S
        )
        self._notes = NoteLog()
        self._sync = resolve_sync(sync, self._notes)  # before each boundary reading
        self.name = clean_name_noted(self._notes, name, "run")
        self.command = tuple(command) if command is not None else None
        self.run_id = run_id or new_run_id()
        self._readers_arg = readers
        if isinstance(gpus, str):  # "0,1": a string is a comma-separated list, not characters
            gpus = gpus.split(",")
        self._gpus = None if gpus is None else check_gpu_list(",".join(map(str, gpus)), "gpus")
        self._clock = clock
        self._use_sampler = sampler
        self._open_sink = open_sink
        self._owned_sink: Any = None
        self._lock = threading.RLock()
        self._stop_lock = threading.Lock()
        self._timeline = Timeline()
        self._buffer: SinkBuffer | None = None
        if sink is not None:
            self._buffer = SinkBuffer(sink, self.run_id, self._notes)
        #: Further sinks (MLflow, a server, ...): fed like the ledger, never asked for "stored".
        self._more = [
            SinkBuffer(x, self.run_id, self._notes, label=str(getattr(x, "what", type(x).__name__)))
            for x in sinks
        ]
        self._book = DeviceBook(self._notes, self._on_sample, self._on_gap_closed)
        self._open_windows: list[Window] = []
        self._windows = WindowLog(self._notes)
        self._counts: dict[str, float] = {}
        self._marks = StepMarks()
        self._t0: float | None = None
        self._start_snapshot: Snapshot | None = None
        self._started_at = ""
        self.start_wall_s = 0.0  # wall-clock (Unix) time of start()
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._last_flush_s = 0.0
        self._closing = False
        self._warned_closed = False
        self.result: RunResult | None = None
        self.status = "created"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Tracker:
        """Open the readers, begin the run in the sink, then take t0 and read every device once,
        start the sampler. Never raises. A sink slow to begin (a ledger lock waited out) is not
        counted in the run's duration or energy."""
        if self.status != "created":
            return self
        self.status = "running"
        self.start_wall_s = time.time()
        self._started_at = utc_stamp(self.start_wall_s)
        if self._open_sink is not None and self._buffer is None:
            self._open_owned_sink()
        readers = self._readers_arg
        if readers is None:
            readers = discover_readers(self._notes, self._gpus)
        for reader in readers:
            self._book.open_reader(reader)
        if not self._book.devices:
            self._notes.add("no energy reader is available: nothing was measured or estimated")
        # The ledger takes the run before t0: a slow begin (a lock waited out) is not the run's
        # time or energy. begin needs only the device list.
        begin = (self.run_id, self.name, self._started_at, self.command, host_info(),
                 list(self._book.devices.values()))  # fmt: skip
        for buf in self._buffers():
            buf.begin(*begin)
        self._sync()
        self._t0 = self._clock()
        self.start_wall_s = time.time()  # at t0: child wall times map onto run time from here
        self._book.t0_s = self._t0
        with self._lock:
            self._start_snapshot = self._snapshot()
        self._last_flush_s = self._t0
        if self._use_sampler:
            self._thread = threading.Thread(
                target=self._sampler_loop, name="wattwise-sampler", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, *, exit_code: int | None = None, status: str = "finished") -> RunResult:
        """Stop sampling, close open windows, read every device a last time; return the result
        (final once this returns: later calls, from any thread, return it again)."""
        with self._stop_lock:
            if self.result is None:
                self._stop(exit_code, status)
            assert self.result is not None
            return self.result

    def _stop(self, exit_code: int | None, status: str) -> None:
        if self.status == "created":
            self.start()
        self._closing = True
        self._stop_event.set()
        for buf in self._buffers():
            buf.hurry()  # a sampler write waiting out a lock gives way: stop promptly
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 2 * self.interval_s))
        self._sync()
        with self._lock:
            end = self._snapshot()
            for w in list(reversed(self._open_windows)):
                self._close_window(w, end)
            assert self._start_snapshot is not None and self._t0 is not None
            components = self._book.with_attribution(
                self._book.components(self._start_snapshot, end)
            )
        for more in self._more:
            more.flush()
        buffer = self._buffer
        if buffer is not None:
            buffer.flush()
            if buffer.dropped_samples:
                self._notes.add(
                    f"{buffer.dropped_samples} samples could not be written to the ledger and "
                    "were dropped (totals are unaffected; the timeline in memory is downsampled)"
                )
        with self._lock:
            result = RunResult(
                run_id=self.run_id,
                name=self.name,
                started_at=self._started_at,
                duration_s=end.t_s - self._t0,
                components=components,
                windows=self._windows.all(),
                counts=dict(self._counts),
                samples=self._timeline.samples(),
                gaps=self._book.gaps(),
                notes=self._notes.all(with_summary=True),
                status=status,
                command=self.command,
                exit_code=exit_code,
                host=host_info(),
            )
            self.result = result
            self.status = status
        finished = buffer.finish(result) if buffer is not None else True
        if buffer is not None and finished and status != "interrupted":
            buffer.settle()  # spooled under a lock held by others: a few seconds more to land
        if buffer is not None and not finished:
            self.result = replace(result, notes=self._notes.all(with_summary=True))
        elif buffer is not None and (line := buffer.not_stored_line()):  # spooled or lost
            self._notes.add(f"ledger: {line}")
            self.result = replace(result, notes=self._notes.all(with_summary=True))
        for more in self._more:  # after the ledger: they get the run with its final notes
            if not more.finish(self.result):
                self.result = replace(self.result, notes=self._notes.all(with_summary=True))
        self._book.close_readers()
        if self._owned_sink is not None:
            with contextlib.suppress(Exception):
                self._owned_sink.close()

    @property
    def stored(self) -> bool | None:
        """Whether the run reached its sink for good (spooled is not stored): None without a
        sink or before :meth:`stop`. See :meth:`SinkBuffer.stored`."""
        return None if self._buffer is None else self._buffer.stored()

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status, exit_code, note = outcome(exc_type, exc)
        if note:
            self._notes.add(note)
        self.stop(status=status, exit_code=exit_code)

    # ------------------------------------------------------------------ windows and counts
    def _closed(self, what: str) -> bool:
        """True (and a warning, once per tracker) when the run has ended: ``what`` is ignored."""
        if not self._closing and self.result is None:
            return False
        if not self._warned_closed:
            self._warned_closed = True
            warnings.warn(
                f"wattwise: {what} on tracker {self.name!r} after its run ended is ignored "
                "(further calls are ignored silently)",
                RuntimeWarning,
                stacklevel=3,
            )
        return True

    def start_window(self, name: str) -> Window:
        """Open a named window now. Windows may nest or overlap; close with :meth:`stop_window`.

        On a tracker whose run has ended, returns a window that is never measured. A name that
        is not a clean string (None, empty, control characters, over
        :data:`~wattwise.validate.MAX_NAME_LEN` characters) is cleaned, with a note.
        """
        name = clean_name_noted(self._notes, name, "window")
        if self._closed("start_window()"):
            t = self._clock() if self.result is None else self.result.duration_s
            return Window(name=name, parent=None, start=Snapshot(t, {}, {}))
        self._sync()
        with self._lock:
            if self.status == "created":
                self.start()
            parent = self._open_windows[-1].name if self._open_windows else None
            w = Window(name=name, parent=parent, start=self._snapshot())
            self._open_windows.append(w)
            return w

    def stop_window(self, window: Window) -> WindowResult | None:
        """Close ``window`` now and return its result (None if it was already closed)."""
        self._sync()
        with self._lock:
            if window.result is not None or window not in self._open_windows:
                return window.result
            return self._close_window(window, self._snapshot())

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """``with t.window("prefill"):`` — a named window around a block."""
        if self._closed("window()"):
            yield self.start_window(name)
            return
        w = self.start_window(name)
        try:
            yield w
        finally:
            self.stop_window(w)

    def count(self, **units: object) -> None:
        """Add work done (``tokens=128, requests=1``) to the run and to every open window.

        A value or unit that :func:`wattwise.validate.clean_count` refuses (the rule the child
        protocol applies: a finite number in [0, ``validate.MAX_COUNT``], not a string such as
        ``"12"``; a unit name of 1-64 characters) is ignored, with a note naming the unit and
        value (once per unit and reason). Never raises.
        """
        if self._closed("count()"):
            return
        with self._lock:
            for unit, n in units.items():
                value = clean_count(self._notes, unit, n)
                if value is None:
                    continue
                self._counts[unit] = self._counts.get(unit, 0.0) + value
                for w in self._open_windows:
                    w.counts[unit] = w.counts.get(unit, 0.0) + value

    def step(self, n: object = 1, *, at_s: object = None) -> None:
        """Mark the end of ``n`` training steps (or epochs) now, for :meth:`forecast`.

        Cheap and bounded: records a (time, steps) mark and counts ``steps``; energies come from
        the timeline. ``at_s`` (seconds since the run started) marks a step that ended earlier,
        as reported by another process. An invalid ``n`` (not a finite number in
        [0, ``validate.MAX_STEPS_PER_REPORT``], e.g. a fraction or a string) is ignored with a
        note: the same rule as ``report_count(steps=n)`` (:func:`wattwise.validate.clean_count`).
        """
        if self._closed("step()"):
            return
        with self._lock:
            if self._t0 is None:
                return
            value = clean_count(self._notes, "steps", n, call="step")
            k = 0 if value is None else round(value)
            if k <= 0:
                return
            t = clean_at_s(self._notes, at_s, self._clock() - self._t0)
            self._marks.add(t, k)
            self._counts["steps"] = self._counts.get("steps", 0.0) + k

    def forecast(
        self,
        total_steps: int,
        *,
        intensity_g_per_kwh: float | None = None,
        pue: float | None = None,
        warmup_steps: int = 0,
        confidence: float = 0.9,
    ) -> Any:
        """Predict energy, carbon and finish time of the whole run from the steps seen so far.

        Each step's energy is the total cumulative energy (all devices) interpolated at its
        boundaries on the sampled timeline, so it is as fine as the sampling interval. Beyond
        ``timeline.MAX_FORECAST_STEPS`` steps, steps are taken in equal groups (the method says
        so). Returns a :class:`wattwise.estimate.forecast.Forecast` (bands narrow as more steps
        are seen; ``str()`` of it is the human line). Carbon is facility energy × grid:
        ``intensity_g_per_kwh`` and ``pue`` (e.g. from ``wattwise.accounting.site.resolve_site``).
        Raises ConfigError when no step has been marked yet or ``total_steps`` is too small.
        """
        with self._lock:
            if self.status == "running":
                self._snapshot()
            return forecast_steps(
                self._marks,
                self._timeline,
                total_steps,
                intensity_g_per_kwh=intensity_g_per_kwh,
                pue=pue,
                warmup_steps=warmup_steps,
                confidence=confidence,
            )

    def add_note(self, note: str) -> None:
        """Attach a note to the run (shown in summaries and stored in the ledger)."""
        self._notes.add(str(note))

    def attach_process(self, pid: int) -> None:
        """Let readers that attribute machine energy to a process tree follow ``pid``."""
        self._book.attach_process(pid)

    @property
    def windows(self) -> tuple[WindowResult, ...]:
        return self._windows.all()

    @property
    def devices(self) -> tuple[DeviceInfo, ...]:
        return tuple(self._book.devices.values())

    @property
    def notes(self) -> tuple[str, ...]:
        return self._notes.all()

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return self._book.gaps()

    def elapsed_s(self) -> float:
        return 0.0 if self._t0 is None else self._clock() - self._t0

    def energy_so_far_j(self) -> float:
        """Total energy since start, read now (for progress display and forecasts)."""
        with self._lock:
            if self._start_snapshot is None:
                return 0.0
            if self.result is not None:
                return self.result.energy.total_j
            snap = self._snapshot()
            return sum(c.energy_j for c in self._book.components(self._start_snapshot, snap))

    # ------------------------------------------------------------------ sampling
    def sample(self) -> None:
        """Read every device now (the sampler thread calls this; tests call it by hand)."""
        with self._lock:
            if self.status != "running" or self._closing:
                return
            self._snapshot()
        self._flush()

    def _sampler_loop(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                self.sample()
            except Exception as exc:  # pragma: no cover - defensive: never die silently
                self._notes.once(f"sampler:{exc}", f"sampler error: {exc}")

    # ------------------------------------------------------------------ internals
    def _open_owned_sink(self) -> None:
        """Call ``open_sink``; its sink is closed at stop. A failure is a note, never raised."""
        assert self._open_sink is not None
        try:
            self._owned_sink = self._open_sink()
            self._buffer = SinkBuffer(self._owned_sink, self.run_id, self._notes)
        except Exception as exc:  # never hurt the workload: the run stays in memory
            what = getattr(self._open_sink, "what", "sink")
            self._notes.add(f"{what} not used: {exc}")

    def _snapshot(self) -> Snapshot:
        """Read every device now. Caller holds the lock."""
        return self._book.snapshot(self._clock())

    def _on_sample(self, s: Sample) -> None:
        self._timeline.add(s)
        for buf in self._buffers():
            buf.add_sample(s)

    def _on_gap_closed(self, g: Gap) -> None:
        for buf in self._buffers():
            buf.add_gap(g)

    def _close_window(self, w: Window, end: Snapshot) -> WindowResult:
        assert self._t0 is not None
        res = WindowResult(
            name=w.name,
            start_s=w.start.t_s - self._t0,
            end_s=end.t_s - self._t0,
            components=self._book.components(w.start, end),
            counts=dict(w.counts),
            parent=w.parent,
        )
        w.result = res
        self._open_windows.remove(w)
        self._windows.keep(res)
        return res

    def _flush(self) -> None:
        buffers = self._buffers()
        if not buffers:
            return
        now = self._clock()
        if now - self._last_flush_s < self.flush_interval_s:
            return
        self._last_flush_s = now
        for buf in buffers:
            buf.flush()

    def _buffers(self) -> list[SinkBuffer]:
        """Every sink's buffer: the ledger's (if any) first."""
        return ([self._buffer] if self._buffer is not None else []) + self._more
