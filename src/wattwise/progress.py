"""Progress of long work (``wattwise audit``, ``wattwise optimize``) for people, on stderr.

On a terminal: a bar with the elapsed time and an ETA, drawn with ``rich`` (imported lazily,
only then; the ``progress`` extra), the phase lines kept above it. Anywhere else (CI, pipes,
files, tests, ``TERM=dumb``) or when ``rich`` is missing (said once): plain lines, one per phase
and one per message, each stamped with the elapsed time, with no control characters. The bar is
only ever drawn on stderr, and only when stderr itself is a terminal: stdout (results, JSON) may
be redirected to a file or a pipe and never receives a control character.

The work is split into **phases**, each a span ``[start, end)`` of the whole (fractions 0–1:
the audit's five steps weighted by their expected seconds) with, where it is known, an expected
duration in seconds (the lab's: from its training budget, :func:`lab_expected_s`). Inside a
phase with an expected duration the bar moves with the elapsed time, and stops short of the
phase's end (:data:`CAP`) if the phase overruns; a phase without one (a user's command) holds
the bar still. The ETA is the elapsed time scaled by the fraction left
(``elapsed × (1 − f) / f``); it reads ``—`` while the current phase has no expected duration or
has overrun it, and before any work is done.

Nothing here imports the CLI, the tracker or any heavy package: callers pass messages in.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Protocol, TextIO, runtime_checkable

Say = Callable[[str], None]

#: How far into a phase the time-driven bar may go while the phase runs (of its span).
CAP = 0.97
#: Below this fraction done no ETA is shown (one based on almost nothing is noise).
MIN_FRACTION_FOR_ETA = 0.02
#: Rough seconds the lab spends per variant beyond the training budget (warm-up, interleaved
#: measuring rounds, perplexity), from benchmarks/audit.md (cached audits: 66 s for 4 techniques
#: and 129 s for 6 at a 30 s budget). Only the bar and its ETA use it.
LAB_S_PER_VARIANT = {"default": 10.0, "tiny": 2.0}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_missing_rich_said = False


def lab_expected_s(budget_s: float, n_techniques: int, size: str = "default") -> float:
    """Expected seconds of an optimisation lab run (an estimate for the ETA, nothing else):
    its training budget plus :data:`LAB_S_PER_VARIANT` for each variant and the baseline."""
    per = LAB_S_PER_VARIANT.get(size, LAB_S_PER_VARIANT["default"])
    return max(0.0, budget_s) + per * (max(0, n_techniques) + 1)


def spans(expected_s: Sequence[float | None]) -> list[tuple[float, float]]:
    """Cumulative spans of the whole (0–1) for phases of ``expected_s`` seconds each; a phase of
    unknown length (None) weighs as much as all the known ones together (at least 1 s)."""
    known = sum(max(0.0, s) for s in expected_s if s is not None)
    weights = [max(0.0, s) if s is not None else max(known, 1.0) for s in expected_s]
    total = sum(weights) or 1.0
    out: list[tuple[float, float]] = []
    at = 0.0
    for w in weights:
        out.append((at, min(1.0, at + w / total)))
        at += w / total
    return out


def plain_text(message: str) -> str:
    """``message`` on one line without control characters (tabs and line breaks: spaces) and
    without trailing blanks."""
    text = message.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return _CONTROL.sub("", text).rstrip()


def format_eta(eta_s: float | None) -> str:
    """``ETA 42 s`` / ``ETA 3 min`` / ``ETA 1.5 h``; ``ETA —`` when not known."""
    if eta_s is None or not math.isfinite(eta_s):
        return "ETA —"
    if eta_s < 90:
        return f"ETA {eta_s:.0f} s"
    if eta_s < 5400:
        return f"ETA {eta_s / 60:.0f} min"
    return f"ETA {eta_s / 3600:.1f} h"


@runtime_checkable
class Reporter(Protocol):
    """What long work reports progress to: phases with known spans, and messages inside them."""

    def phase(
        self, start: float, end: float, message: str, *, expected_s: float | None = None
    ) -> None: ...

    def __call__(self, message: str) -> None: ...

    def hold(self) -> Any: ...


class _SayReporter:
    """A plain ``say`` callable as a :class:`Reporter`: every phase and message is one call."""

    def __init__(self, say: Say) -> None:
        self.say = say

    def phase(
        self, start: float, end: float, message: str, *, expected_s: float | None = None
    ) -> None:
        self.say(message)

    def __call__(self, message: str) -> None:
        self.say(message)

    @contextmanager
    def hold(self) -> Iterator[None]:
        yield


def as_reporter(say: Say | Reporter) -> Reporter:
    """``say`` itself when it is a :class:`Reporter`, else a reporter that calls it."""
    return say if isinstance(say, Reporter) else _SayReporter(say)


class Progress:
    """Progress on ``stream`` (default stderr): a live bar on a terminal, plain lines otherwise.

    ``bar``: None decides from the stream (a TTY, ``TERM`` not ``dumb``, ``rich`` importable);
    False forces plain lines. Use as a context manager (the bar is removed on exit) or call
    :meth:`close`. ``clock`` returns seconds (monotonic).
    """

    def __init__(
        self,
        title: str,
        *,
        stream: TextIO | None = None,
        bar: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.t0 = clock()
        self.start, self.end = 0.0, 0.0
        self.phase_t0 = self.t0
        self.expected_s: float | None = None
        self.message = "starting"
        self.done = 0.0  # the fraction reached before the current phase's time-driven part
        self._lock = threading.Lock()
        self._live: Any = None
        if bar is None:
            bar = _is_terminal(self.stream)
        if bar:
            self._live = _start_live(self)

    # -- state ---------------------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        """Seconds since the progress began."""
        return self.clock() - self.t0

    @property
    def live(self) -> bool:
        """True while a bar is drawn (a terminal with rich)."""
        return self._live is not None

    def fraction(self) -> float:
        """Fraction of the whole done now (0–1)."""
        with self._lock:
            f = self.done
            if self.expected_s is not None and self.end > self.start:
                if self.expected_s > 0:
                    part = min((self.clock() - self.phase_t0) / self.expected_s, CAP)
                else:
                    part = CAP
                f = max(f, self.start + (self.end - self.start) * part)
            return min(max(f, 0.0), 1.0)

    def eta_s(self) -> float | None:
        """Seconds left (estimate), or None where it cannot be told (see the module text)."""
        f = self.fraction()
        with self._lock:
            in_phase = self.clock() - self.phase_t0
            unknown = self.end > self.start and (
                self.expected_s is None or in_phase > self.expected_s
            )
        if unknown or f < MIN_FRACTION_FOR_ETA:
            return None
        return self.elapsed_s * (1.0 - f) / f

    # -- reporting -----------------------------------------------------------------------------

    def phase(
        self, start: float, end: float, message: str, *, expected_s: float | None = None
    ) -> None:
        """A phase covering ``[start, end)`` of the whole begins; ``expected_s``: its expected
        seconds, when known (then the bar moves with time inside it)."""
        reached = self.fraction()  # the bar never goes back
        with self._lock:
            self.done = max(reached, min(max(start, 0.0), 1.0))
            self.start, self.end = self.done, max(self.done, min(end, 1.0))
            self.phase_t0 = self.clock()
            self.expected_s = expected_s
            self.message = plain_text(message)
        self._line(message)

    def __call__(self, message: str) -> None:
        """A message inside the current phase: the bar's text on a terminal, else a line."""
        with self._lock:
            self.message = plain_text(message)
        if self._live is None:
            self._line(message)
        else:
            with suppress(OSError, ValueError):
                self._live.refresh()

    def finish(self, message: str | None = None) -> None:
        """All work done: the bar at 100 %, then removed; ``message`` as a last line."""
        with self._lock:
            self.done, self.start, self.end, self.expected_s = 1.0, 1.0, 1.0, None
        if message:
            self._line(message)
        self.close()

    def close(self) -> None:
        """Remove the bar (idempotent); plain lines need nothing."""
        live, self._live = self._live, None
        if live is not None:
            with suppress(OSError, ValueError):
                live.stop()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Take the bar off the terminal while something else writes to it (a user's command
        shares the terminal); plain lines are unaffected."""
        live = self._live
        if live is None:
            yield
            return
        live.stop()
        try:
            yield
        finally:
            if self._live is live:
                live.start()

    def _line(self, message: str) -> None:
        """One stamped line; a terminal that went away (SIGHUP, a closed pipe) must not stop
        the work being reported, so write errors are dropped."""
        line = f"[{self.elapsed_s:5.0f}s] {plain_text(message)}"
        try:
            if self._live is not None:
                self._live.console.print(line, markup=False, highlight=False, soft_wrap=True)
            else:
                self.stream.write(line + "\n")
                self.stream.flush()
        except (OSError, ValueError):  # ValueError: the stream was closed
            pass

    def render_text(self, width: int = 30) -> str:
        """The bar as one line of text (what the terminal shows, without colour)."""
        f = self.fraction()
        filled = round(f * width)
        return (
            f"{self.title} [{'#' * filled}{'-' * (width - filled)}] {f:4.0%} "
            f"{_clock(self.elapsed_s)} {format_eta(self.eta_s())}  {self.message}"
        )


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return bool(tty) and os.environ.get("TERM", "") != "dumb"


def _start_live(progress: Progress) -> Any:
    """A started ``rich.live.Live`` drawing ``progress`` (refreshed 4× a second by rich's own
    thread, so time-driven phases move between messages), or None without rich (said once)."""
    global _missing_rich_said
    try:
        from rich.console import Console
        from rich.live import Live
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        if not _missing_rich_said:
            _missing_rich_said = True
            progress.stream.write(
                "wattwise: no progress bar: rich is not installed "
                '(pip install "wattwise[progress]"); plain lines instead\n'
            )
        return None

    class _View:
        def __rich__(self) -> Any:
            try:
                return self.render()
            except Exception:  # a bar that cannot be drawn never stops the work
                return Text(progress.title)

        def render(self) -> Any:
            f = progress.fraction()
            grid = Table.grid(padding=(0, 1))
            grid.add_row(  # Text, not str: a message is never read as rich markup ("[/]")
                Text(progress.title),
                ProgressBar(total=1.0, completed=f, width=30),
                Text(f"{f:4.0%}"),
                Text(_clock(progress.elapsed_s)),
                Text(format_eta(progress.eta_s())),
                Text(progress.message[:80]),
            )
            return grid

    console = Console(file=progress.stream, highlight=False)
    live = Live(_View(), console=console, refresh_per_second=4, transient=True,
                redirect_stdout=False, redirect_stderr=False)  # fmt: skip
    live.start()
    return live
