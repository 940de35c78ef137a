"""Reporting work counts from a command run under ``wattwise run``.

``wattwise run`` sets ``WATTWISE_COUNTS_FILE`` in the command's environment; a process that calls
:func:`report_count` appends one JSON line per call to it, and the parent adds the counts to the
run (energy per token / request / image). Outside ``wattwise run`` the call does nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV_VAR = "WATTWISE_COUNTS_FILE"


def report_count(**units: float) -> bool:
    """Report work done (``tokens=128``) to an enclosing ``wattwise run``; True if reported."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({k: float(v) for k, v in units.items()}) + "\n")
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
                totals[str(unit)] = totals.get(str(unit), 0.0) + float(n)
        except (ValueError, TypeError, AttributeError):
            notes.append(f"counts file line {i} ignored: {line[:60]!r}")
    return totals, notes
