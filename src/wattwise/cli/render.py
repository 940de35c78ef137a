"""Plain-text rendering of runs for the terminal.

Stored strings (a run's name, its command, notes, unit and window names) come from users and
their programs: :func:`printable` shows their control characters, ANSI escapes and bidi
overrides as escapes (``\\x1b``) so they cannot drive the terminal. JSON output keeps the raw
strings.

Numbers are for people here (:mod:`wattwise.units`: SI prefixes, grouped digits, never
e-notation). Notes stored by older versions (or by other programs) may still carry e-notation
(``1.23e+03 s``): :func:`human_text` rewrites such numbers, with the unit after them, when they
are shown; the ledger and JSON keep the text as stored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from wattwise.tracker.model import ComponentEnergy, RunResult
from wattwise.units import (
    format_duration,
    format_energy,
    format_number,
    format_power,
    format_value,
    humanize_numbers,
)

#: C0 and C1 control characters, DEL, line/paragraph separators, zero-width and bidi controls.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), on one line."""
    return _UNPRINTABLE.sub(_escape, str(text))


def printable_lines(lines: Iterable[object]) -> str:
    """Lines made :func:`printable` one by one, joined with newlines."""
    return "\n".join(printable(line) for line in lines)


def human_text(text: object) -> str:
    """``text`` :func:`printable`, with every e-notation number in it for people
    (:func:`wattwise.units.humanize_numbers`: ``1.23e+03 s`` → ``20.5 min``)."""
    return printable(humanize_numbers(str(text)))


def human_value(value: object) -> str:
    """A parameter's value for people (:func:`wattwise.units.format_value`: ``262143328850`` →
    ``262,143,328,850``, ``7.5e+06`` → ``7,500,000``), any other text as :func:`human_text`."""
    shown = format_value(value)
    return human_text(shown) if shown == str(value) else shown


def peak_power_w(result: RunResult) -> float | None:
    """Highest total power over the timeline (sum of devices read at the same instant)."""
    by_t: dict[float, float] = defaultdict(float)
    for s in result.samples:
        if s.power_w is not None:
            by_t[s.t_s] += s.power_w
    return max(by_t.values()) if by_t else None


def _component_line(c: ComponentEnergy) -> str:
    extra = f"  [{human_text(c.note)}]" if c.note else ""
    return (
        f"  {c.device_id:<28} {c.kind:<7} {format_energy(c.energy_j):>10}  "
        f"{c.provenance.value:<10} {c.source}{extra}"
    )


def run_summary(result: RunResult) -> str:
    """A few lines: duration, energy per device and total with provenance, power, per unit."""
    e = result.energy
    lines = [
        f"wattwise: run {result.run_id[:12]} '{result.name}' {result.status}"
        + (f", exit code {result.exit_code}" if result.exit_code is not None else ""),
        f"  duration {format_duration(result.duration_s)}, "
        f"energy {format_energy(e.total_j)} ({e.label})",
    ]
    peak = peak_power_w(result)
    power = f"  mean power {format_power(result.mean_power_w())}"
    if peak is not None:
        power += f", peak {format_power(peak)}"
    lines.append(power)
    lines.extend(_component_line(c) for c in result.components)
    if result.counts:
        counted = ", ".join(f"{format_number(n)} {u}" for u, n in result.counts.items())
        lines.append(f"  counted: {counted}")
    for unit, j in result.energy_per().items():
        lines.append(f"  per {unit.rstrip('s')}: {format_energy(j)}")
    for w in result.windows:
        lines.append(
            f"  window {w.name}: {format_duration(w.duration_s)}, "
            f"{format_energy(w.energy.total_j)} ({w.energy.label})"
        )
    for n in result.notes:
        lines.append(f"  note: {human_text(n)}")
    return printable_lines(lines)
