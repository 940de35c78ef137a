"""Where a run is written as it goes, and the buffer that keeps it when the sink fails.

The tracker streams samples and closed gaps to a :class:`RunSink` (the ledger implements it).
A sink that raises is never detached: what it could not take stays in a bounded backlog and is
retried at the next flush, the first failure of each kind becomes a note, and the final write is
tried at ``stop()``. When the backlog passes :data:`MAX_BACKLOG_SAMPLES` the oldest samples are
dropped (the newest kept) and the run says how many.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from wattwise.readers.base import DeviceInfo
from wattwise.tracker.model import Gap, RunResult, Sample
from wattwise.tracker.notes import NoteLog

#: Most samples kept for a sink that cannot take them (~300 B each: ~20 MB).
MAX_BACKLOG_SAMPLES = 65_536
#: Most closed gaps kept for a sink that cannot take them (all gaps also go in the final write).
MAX_BACKLOG_GAPS = 10_000


class RunSink(Protocol):
    """Where a run is written as it goes (the ledger implements this).

    ``finish_run`` receives the result without samples when every sample was already given to
    ``append_samples`` (the sink keeps what it was given); with the in-memory timeline otherwise.
    """

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


class SinkBuffer:
    """Feeds one sink, keeping and retrying what it could not take. Thread-safe."""

    def __init__(
        self,
        sink: RunSink,
        run_id: str,
        notes: NoteLog,
        *,
        max_samples: int = MAX_BACKLOG_SAMPLES,
        max_gaps: int = MAX_BACKLOG_GAPS,
        label: str = "ledger",
    ) -> None:
        self.sink = sink
        #: How notes name this sink ("ledger", or a sink's own ``what``, e.g. "MLflow").
        self.label = label
        self.run_id = run_id
        self.notes = notes
        self.max_samples = max(1, max_samples)
        self.max_gaps = max(1, max_gaps)
        self.begun = False
        self.dropped_samples = 0
        self.failures = 0
        self.finished: bool | None = None  # None: finish not tried yet
        self._begin_args: tuple[Any, ...] | None = None
        self._samples: list[Sample] = []
        self._gaps: list[Gap] = []
        self._buf_lock = threading.Lock()
        self._io_lock = threading.Lock()  # one sink call at a time

    # ------------------------------------------------------------------ buffering
    def add_sample(self, s: Sample) -> None:
        with self._buf_lock:
            self._samples.append(s)
            self._trim()

    def add_gap(self, g: Gap) -> None:
        with self._buf_lock:
            self._gaps.append(g)
            if len(self._gaps) > self.max_gaps:
                del self._gaps[: len(self._gaps) - self.max_gaps]

    def _trim(self) -> None:
        over = len(self._samples) - self.max_samples
        if over > 0:
            del self._samples[:over]
            self.dropped_samples += over
            self.notes.once(
                f"sink-backlog-full:{self.label}",
                f"the {self.label} could not take samples for a long time: more than "
                f"{self.max_samples} were waiting, the oldest are dropped (the run's totals "
                "are kept)",
            )

    @property
    def backlog(self) -> int:
        with self._buf_lock:
            return len(self._samples)

    # ------------------------------------------------------------------ sink calls
    def _call(self, method: str, *args: Any) -> bool:
        try:
            getattr(self.sink, method)(*args)
        except Exception as exc:
            self.failures += 1
            if self.notes.once(
                f"sink-failed:{self.label}:{method}",
                f"{self.label} write failed ({method}): {exc}; kept in memory and retried",
                repeat_label=f"{self.label} write failed ({method})",
            ):
                import logging  # lazily: ~2 ms of start-up

                logging.getLogger("wattwise").warning(
                    "wattwise: %s write failed (%s): %s", self.label, method, exc
                )
            return False
        return True

    def begin(self, *args: Any) -> None:
        """Start the run in the sink (retried at each flush until it works)."""
        self._begin_args = args
        with self._io_lock:
            self._begin_locked()

    def _begin_locked(self) -> bool:
        if not self.begun and self._begin_args is not None:
            self.begun = self._call("begin_run", *self._begin_args)
        return self.begun

    def flush(self) -> None:
        """Give the sink everything waiting; keep what it refuses for the next flush."""
        with self._io_lock:
            if not self._begin_locked():
                return
            with self._buf_lock:
                samples, self._samples = self._samples, []
                gaps, self._gaps = self._gaps, []
            if samples and not self._call("append_samples", self.run_id, samples):
                with self._buf_lock:
                    self._samples[:0] = samples
                    self._trim()
            if gaps and not self._call("append_gaps", self.run_id, gaps):
                with self._buf_lock:
                    self._gaps[:0] = gaps
            self._call("heartbeat", self.run_id)

    def hurry(self) -> None:
        """The recorder is stopping: a sink write of another thread that waits out a lock
        gives way now (the ledger spools it) instead of using its whole budget."""
        hurry = getattr(self.sink, "hurry", None)
        if callable(hurry):
            with contextlib.suppress(Exception):
                hurry()

    def settle(self) -> None:
        """After the final write: a sink that can (the ledger's ``settle``) gets writes it had
        to spool (a lock held by other writers) into its database within its budget."""
        settle = getattr(self.sink, "settle", None)
        if callable(settle) and self.finished:
            with contextlib.suppress(Exception):
                settle(self.run_id)

    def stored(self) -> bool | None:
        """Whether the run reached the sink for good: None before :meth:`finish`. A sink that
        can say where a run went (the ledger's ``outcome(run_id)``: stored, or only spooled to
        disk) is asked; spooled is not stored."""
        if self.finished is None or not self.finished:
            return self.finished
        outcome = getattr(self.sink, "outcome", None)
        if not callable(outcome):
            return True
        try:
            return bool(outcome(self.run_id).stored)
        except Exception:  # a sink that cannot tell: not known to be stored
            return False

    def not_stored_line(self) -> str:
        """The sink's own line for a run it took but did not store (``""`` otherwise)."""
        if self.stored() is not False:
            return ""
        try:
            return str(self.sink.outcome(self.run_id).line())  # type: ignore[attr-defined]
        except Exception:
            return "the run did not reach the ledger"

    def finish(self, result: RunResult) -> bool:
        """The final write of ``result``; True when the sink took it."""
        with self._io_lock:
            with self._buf_lock:
                streamed = self.begun and not self._samples and self.dropped_samples == 0
            # Samples already given to the sink stay there at full resolution; otherwise the
            # in-memory (downsampled) timeline is the best copy there is.
            final = replace(result, samples=()) if streamed else result
            self.finished = self._call("finish_run", final)
            return self.finished
