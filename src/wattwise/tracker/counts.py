"""Counts of work (tokens, requests, steps) checked where they enter the tracker.

A count comes from the user's code or a child process at run time, so it never raises: a value
that :func:`wattwise.validate.clean_count` refuses (not a finite number in
[0, :data:`~wattwise.validate.MAX_COUNT`], a string, more than
:data:`~wattwise.validate.MAX_STEPS_PER_REPORT` or fractional steps, a bad unit name) is
ignored, and the run gets a note naming the unit and the value (once per unit and kind of
fault; repeats counted).
"""

from __future__ import annotations

from wattwise.tracker.devices import fault_kind
from wattwise.tracker.notes import NoteLog
from wattwise.tracker.outcome import short_repr
from wattwise.validate import MAX_UNIT_LEN, clean_number
from wattwise.validate import clean_count as validate_count


def clean_count(
    notes: NoteLog, unit: object, value: object, *, call: str = "count"
) -> float | None:
    """``value`` as a count of ``unit``, or None (and a note) when it cannot be one (the rule
    of :func:`wattwise.validate.clean_count`, shared with the child protocol)."""
    c = validate_count(unit, value)
    if c.value is not None:
        return c.value
    kind = fault_kind(c.reason)
    shown = short_repr(unit) if not isinstance(unit, str) else unit[:MAX_UNIT_LEN]
    arg = f"{shown}=" if call == "count" else ""
    notes.once(
        f"{call}:{shown}:{kind}",
        f"{call}({arg}{short_repr(value)}) ignored: {c.reason}",
        repeat_label=f"{call}({arg}...) ignored ({kind})",
    )
    return None


def clean_at_s(notes: NoteLog, at_s: object, now_s: float) -> float:
    """When a step ended (s since the run started), within [0, ``now_s``]; ``now_s`` when
    ``at_s`` is None or not a finite number (with a note)."""
    if at_s is None:
        return now_s
    c = clean_number(at_s, low=None)
    if c.value is None:
        notes.once("step-at", f"step(at_s={short_repr(at_s)}): {c.reason}; the step is marked now")
        return now_s
    return min(max(0.0, c.value), now_s)
