"""Reporting work counts from a command run under ``wattwise run``.

``wattwise run`` sets ``WATTWISE_COUNTS_FILE`` in the command's environment; a process that calls
:func:`report_count` appends one JSON line per call to it, and the parent adds the counts to the
run (energy per token / request / image). Outside ``wattwise run`` the call does nothing.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "WATTWISE_COUNTS_FILE"
TIME_KEY = "_t"


def report_count(**units: float) -> bool:
    """Report work done (``tokens=128``) to an enclosing ``wattwise run``; True if reported."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8") as f:
            doc = {k: float(v) for k, v in units.items()}
            doc[TIME_KEY] = time.time()  # wall clock: the parent maps it onto its run time
            f.write(json.dumps(doc) + "\n")
    except (OSError, TypeError, ValueError):
        return False
    return True


def read_counts(path: Path) -> tuple[dict[str, float], list[str]]:
    """Sum the counts in ``path``; malformed lines are skipped and described in the notes."""
    totals: dict[str, float] = {}
    notes: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return totals, notes
    except OSError as exc:
        return totals, [f"counts file unreadable: {exc}"]
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            for unit, n in obj.items():
                if unit == TIME_KEY:
                    continue
                totals[str(unit)] = totals.get(str(unit), 0.0) + float(n)
        except (ValueError, TypeError, AttributeError):
            notes.append(f"counts file line {i} ignored: {line[:60]!r}")
    return totals, notes


@dataclass
class CountEvent:
    """One ``report_count`` call: its units and when it was made (wall clock, may be None)."""

    units: dict[str, float]
    wall_time_s: float | None


@dataclass
class CountsFollower:
    """Reads a counts file incrementally (like ``tail -f``): each line is returned once."""

    path: Path
    notes: list[str] = field(default_factory=list)
    _offset: int = 0
    _line_no: int = 0

    def poll(self) -> list[CountEvent]:
        """New complete lines since the last poll, parsed; a partial last line waits."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.notes.append(f"counts file unreadable: {exc}")
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self._offset += end + 1
        events: list[CountEvent] = []
        for raw in chunk[: end + 1].decode("utf-8", errors="replace").splitlines():
            self._line_no += 1
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                t = obj.pop(TIME_KEY, None)
                units = {str(k): float(v) for k, v in obj.items()}
                events.append(CountEvent(units, float(t) if t is not None else None))
            except (ValueError, TypeError, AttributeError):
                self.notes.append(f"counts file line {self._line_no} ignored: {raw[:60]!r}")
        return events
