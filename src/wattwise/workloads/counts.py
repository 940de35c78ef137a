"""Reporting work counts from a command run under ``wattwise run`` (or ``wattwise audit``).

``wattwise run`` sets ``WATTWISE_COUNTS_FILE`` in the command's environment; a process that calls
:func:`report_count` appends one JSON line per call to it, and the parent adds the counts to the
run (energy per token / request / image). Outside ``wattwise run`` the call does nothing.

Both ends validate every value with :func:`wattwise.validate.clean_number` (finite, ``>= 0``,
``<= MAX_COUNT``; ``steps`` a whole number of at most :data:`MAX_STEPS_PER_REPORT`; a string,
even ``"12"``, refused), the same rule as the tracker's ``t.count`` and ``t.step``. The child
refuses a bad value (``report_count`` returns False and never raises); the parent ignores a bad
value that still arrives (an older client, a hand-written line) and records a note in the run.
Either way the run keeps its energy and the command its exit code.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wattwise.validate import (
    MAX_COUNT,
    MAX_STEPS_PER_REPORT,
    MAX_UNIT_LEN,
    clean_number,
)
from wattwise.validate import clean_count as validate_count

__all__ = [
    "ENV_VAR",
    "MAX_COUNT",
    "MAX_STEPS_PER_REPORT",
    "MAX_UNIT_LEN",
    "CountEvent",
    "CountsFollower",
    "clean_count",
    "read_counts",
    "report_count",
]

ENV_VAR = "WATTWISE_COUNTS_FILE"
TIME_KEY = "_t"
#: Key under which the child lists the values it refused, so the parent can note them.
REFUSED_KEY = "_refused"
#: Distinct notes kept per follower; further problems are only counted.
MAX_NOTES = 20
#: Largest chunk read per poll, bytes; a longer line without a newline is skipped.
MAX_CHUNK_BYTES = 4 << 20


def clean_count(unit: object, value: object) -> tuple[float | None, str]:
    """A reported count as a finite float, or None with the reason (never raises): the same
    rule as the tracker's ``t.count`` / ``t.step`` (:func:`wattwise.validate.clean_count`)."""
    c = validate_count(unit, value)
    return c.value, c.reason


#: In-process listeners of reported steps, called with ``N`` for each valid
#: ``report_count(steps=N)`` (``wattwise.power.tuned`` adds one while its block runs), whether
#: or not a parent ``wattwise run`` listens. A listener must not raise (errors are dropped).
STEP_LISTENERS: list[Callable[[int], None]] = []


def _tell_listeners(steps: object) -> None:
    value, _reason = clean_count("steps", steps)
    if value is None or value <= 0:
        return
    for listener in list(STEP_LISTENERS):
        try:
            listener(int(value))
        except Exception:  # never hurt the workload
            continue


def report_count(**units: float) -> bool:
    """Report work done (``tokens=128``) to an enclosing ``wattwise run``.

    Returns True when every value was reported, False when there is no enclosing run or a
    value was refused (NaN, infinite, negative, too large, fractional steps); the valid values
    of the call are still reported. Never raises. ``steps`` also go to the in-process
    :data:`STEP_LISTENERS` (a ``wattwise.power.tuned`` block).
    """
    if STEP_LISTENERS and "steps" in units:
        _tell_listeners(units["steps"])
    try:
        path = os.environ.get(ENV_VAR)
        if not path:
            return False
        doc: dict[str, object] = {}
        refused: dict[str, str] = {}
        for unit, v in units.items():
            value, reason = clean_count(unit, v)
            if value is None:
                refused[str(unit)[:MAX_UNIT_LEN]] = reason
            else:
                doc[unit] = value
        if refused:
            doc[REFUSED_KEY] = refused
        doc[TIME_KEY] = time.time()  # wall clock: the parent maps it onto its run time
        line = json.dumps(doc, allow_nan=False) + "\n"
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        return not refused
    except Exception:  # never hurt the workload
        return False


@dataclass
class CountEvent:
    """One ``report_count`` call: its valid units and when it was made (wall clock, or None)."""

    units: dict[str, float]
    wall_time_s: float | None


@dataclass
class CountsFollower:
    """Reads a counts file incrementally (like ``tail -f``): each line is returned once.

    Every value is checked with :func:`clean_count`; refused values and malformed lines are
    summarised in :attr:`notes` (at most :data:`MAX_NOTES` distinct ones, then a count).
    """

    path: Path
    _offset: int = 0
    _line_no: int = 0
    _skipping: bool = False
    _problems: dict[str, int] = field(default_factory=dict)
    _first_line: dict[str, int] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """One line per distinct problem: what was ignored, how often, first line number."""
        out: list[str] = []
        for key, n in list(self._problems.items())[:MAX_NOTES]:
            times = f" ({n} times, first on line {self._first_line[key]})" if n > 1 else ""
            out.append(f"{key}{times}")
        extra = sum(self._problems.values()) - sum(list(self._problems.values())[:MAX_NOTES])
        if len(self._problems) > MAX_NOTES:
            out.append(f"{extra} more count reports ignored")
        return out

    def _problem(self, key: str) -> None:
        self._problems[key] = self._problems.get(key, 0) + 1
        self._first_line.setdefault(key, self._line_no)

    def poll(self, *, final: bool = False) -> list[CountEvent]:
        """New complete lines since the last poll, validated; a partial last line waits —
        unless ``final`` (the writer has exited: ``report_count`` lines written by hand may
        lack the last newline), when it is read too."""
        events = self._poll_lines()
        if final:
            events.extend(self._read_tail())
        return events

    def _read_tail(self) -> list[CountEvent]:
        """The last line without its newline, once the writer is gone (bounded as any line)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                tail = f.read(MAX_CHUNK_BYTES + 1)
        except OSError:
            return []
        self._offset += len(tail)
        if self._skipping:  # the end of an over-long line already reported
            self._skipping = False
            return []
        if not tail.strip():
            return []
        self._line_no += 1
        if len(tail) > MAX_CHUNK_BYTES:
            self._problem("counts file: an over-long line was ignored")
            return []
        ev = self._parse(tail.decode("utf-8", errors="replace"))
        return [] if ev is None else [ev]

    def _poll_lines(self) -> list[CountEvent]:
        events: list[CountEvent] = []
        while True:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read(MAX_CHUNK_BYTES)
            except FileNotFoundError:
                return events
            except OSError as exc:
                self._problem(f"counts file unreadable: {exc}")
                return events
            end = chunk.rfind(b"\n")
            if end < 0:
                if len(chunk) >= MAX_CHUNK_BYTES:  # one enormous line: skip it
                    self._offset += len(chunk)
                    if not self._skipping:
                        self._line_no += 1
                        self._problem("counts file: an over-long line was ignored")
                    self._skipping = True
                    continue
                return events
            self._offset += end + 1
            lines = chunk[: end + 1].split(b"\n")[:-1]
            if self._skipping:  # the rest of the over-long line
                lines, self._skipping = lines[1:], False
            for raw in lines:
                self._line_no += 1
                ev = self._parse(raw.decode("utf-8", errors="replace"))
                if ev is not None:
                    events.append(ev)
            if len(chunk) < MAX_CHUNK_BYTES:
                return events

    def _parse(self, raw: str) -> CountEvent | None:
        if not raw.strip():
            return None
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            self._problem(f"counts file line ignored (not a JSON object): {raw[:60]!r}")
            return None
        t = clean_number(obj.pop(TIME_KEY, None), low=0.0)
        refused = obj.pop(REFUSED_KEY, None)
        if isinstance(refused, dict):
            for unit, reason in refused.items():
                self._problem(f"report_count({str(unit)[:MAX_UNIT_LEN]}=...) refused: {reason}")
        units: dict[str, float] = {}
        for unit, v in obj.items():
            value, reason = clean_count(unit, v)
            if value is None:
                self._problem(f"count {str(unit)[:MAX_UNIT_LEN]}={str(v)[:40]} ignored: {reason}")
            else:
                units[unit] = value
        return CountEvent(units, t.value) if units else None


def read_counts(path: Path) -> tuple[dict[str, float], list[str]]:
    """Sum the valid counts in ``path`` (a finished file: its last line may lack a newline);
    what was ignored is described in the notes."""
    follower = CountsFollower(path)
    totals: dict[str, float] = {}
    for ev in follower.poll(final=True):
        for unit, n in ev.units.items():
            totals[unit] = totals.get(unit, 0.0) + n
    return totals, follower.notes
