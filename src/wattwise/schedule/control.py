"""Carrying a plan out: wait for its start, pause a command between its pieces.

The clock is a parameter (``now()`` an aware UTC datetime, ``sleep(s)``), so tests never wait
for real hours. Pausing is opt-in (``--interruptible``): SIGSTOP to the command's process tree
at the end of a piece, SIGCONT at the start of the next — only for jobs that tolerate it (a
stopped process holds its memory and GPU context; network peers may time out).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

#: Countdown lines at most this often, seconds.
COUNTDOWN_EVERY_S = 60.0


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(max(0.0, seconds))


def _span(seconds: float) -> str:
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{sec:02d}s"


def wait_until(
    start_utc: datetime,
    clock: Clock,
    say: Callable[[str], None],
    every_s: float = COUNTDOWN_EVERY_S,
) -> int:
    """Sleep until ``start_utc``, printing a countdown; returns the countdown lines printed."""
    lines = 0
    while True:
        remaining = (start_utc - clock.now()).total_seconds()
        if remaining <= 0:
            return lines
        say(f"wattwise: starting in {_span(remaining)} (at {start_utc:%Y-%m-%dT%H:%MZ})")
        lines += 1
        clock.sleep(min(remaining, every_s))


def signal_tree(pid: int, sig: int) -> None:
    """Send ``sig`` to ``pid`` and all its descendants (children first for SIGSTOP)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.Error:
        return
    if sig == signal.SIGCONT:
        procs.reverse()
    for p in procs:
        try:
            p.send_signal(sig)
        except psutil.Error:
            continue


@dataclass
class Pauser:
    """Keeps a command running inside ``pieces`` ([start, end) UTC) and stopped between them.

    :meth:`step` is the whole decision (called with the time, it sends a signal only on a
    change); :meth:`start` runs it on a thread every ``tick_s`` until :meth:`stop`.
    After the last piece the command is left running (the plan assumed it would be done).
    """

    pieces: tuple[tuple[datetime, datetime], ...]
    find_pid: Callable[[], int | None]
    clock: Clock
    send: Callable[[int, int], None] = signal_tree
    tick_s: float = 5.0
    paused: bool = False
    pauses: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def should_run(self, now: datetime) -> bool:
        if now >= self.pieces[-1][1]:
            return True
        return any(a <= now < b for a, b in self.pieces)

    def step(self, now: datetime) -> None:
        pid = self.find_pid()
        if pid is None:
            return
        want_pause = not self.should_run(now)
        if want_pause and not self.paused:
            self.send(pid, signal.SIGSTOP)
            self.paused, self.pauses = True, self.pauses + 1
        elif not want_pause and self.paused:
            self.send(pid, signal.SIGCONT)
            self.paused = False

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.step(self.clock.now())
            self._stop.wait(self.tick_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="wattwise-pauser", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following; a paused command is continued (never left stopped)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        pid = self.find_pid()
        if self.paused and pid is not None:
            self.send(pid, signal.SIGCONT)
            self.paused = False
