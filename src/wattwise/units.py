"""Unit conversions and formatting. Nothing else lives here.

Energy is carried in joules (``_j``) inside wattwise; kilowatt-hours (``_kwh``) appear only at
the accounting and reporting edges.

Formatting is for people (reports, the CLI's human output): three significant digits, SI
prefixes (``1.09 MWh``, ``3.2 kg``), grouped digits from 10,000 on (``14,425``) and never
e-notation. JSON output keeps the raw numbers.
"""

from __future__ import annotations

import functools
import math
import re

# The constants and conversions live in wattwise.core.units; re-exported here.
from wattwise.core.units import J_PER_KWH as J_PER_KWH
from wattwise.core.units import J_PER_WH as J_PER_WH
from wattwise.core.units import MJ_PER_J as MJ_PER_J
from wattwise.core.units import UJ_PER_J as UJ_PER_J
from wattwise.core.units import j_to_kwh as j_to_kwh
from wattwise.core.units import j_to_wh as j_to_wh
from wattwise.core.units import kwh_to_j as kwh_to_j
from wattwise.core.units import mj_to_j as mj_to_j
from wattwise.core.units import uj_to_j as uj_to_j


def format_number(value: float, digits: int = 3) -> str:
    """``digits`` significant digits in fixed point without trailing zeros, grouped digits from
    1,000 on, never e-notation: ``2,210``, ``14,425``, ``12.3``, ``0.00114``, ``-3.2``;
    ``—`` for NaN / infinity."""
    if not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    r = float(f"{value:.{digits}g}")  # rounded to ``digits`` significant digits
    if abs(r) >= 10 ** (digits - 1):
        return f"{round(value):,}"  # integers keep every digit: 14,425 not 14,400
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(r))))
    text = f"{r:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(value: float, steps: tuple[tuple[float, str], ...], digits: int = 3) -> str:
    """``value`` in the largest of ``steps`` (scale, unit; descending) whose rounded mantissa
    is at least 1 (the last step below that)."""
    if not math.isfinite(value):
        return f"— {steps[-1][1]}"
    if value == 0:
        return f"0 {steps[-1][1]}"
    for scale, unit in steps:
        mantissa = float(f"{value / scale:.{digits}g}")
        if abs(mantissa) >= 1:
            return f"{format_number(value / scale, digits)} {unit}"
    scale, unit = steps[-1]
    return f"{format_number(value / scale, digits)} {unit}"


#: SI prefixes from 10^12 down to 10^-9 (micro as µ).
SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
               (1e-6, "µ"), (1e-9, "n"))  # fmt: skip


def format_si(value: float, unit: str, digits: int = 3) -> str:
    """``value`` of ``unit`` with an SI prefix so that 1 <= mantissa < 1000: ``format_si(2.4e6,
    'Wh')`` = ``2.4 MWh``, ``format_si(0.0052, 'J')`` = ``5.2 mJ``."""
    return _scaled(value, tuple((f, p + unit) for f, p in SI_PREFIXES), digits)


def format_energy(energy_j: float) -> str:
    """Human-readable energy: mJ and J below 10 kJ (``3,830 J``), then Wh / kWh / MWh / GWh."""
    if math.isfinite(energy_j) and abs(energy_j) >= 1e4:
        return format_si(j_to_wh(energy_j), "Wh")
    return _scaled(energy_j, ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ")))


def format_power(power_w: float) -> str:
    """Human-readable power: W, kW, MW (mW below 1 W)."""
    return format_si(power_w, "W")


def format_duration(duration_s: float) -> str:
    """Human-readable duration: ms, s, min or h."""
    if not math.isfinite(duration_s):
        return "—"
    if duration_s < 1:
        return f"{duration_s * 1e3:.0f} ms"
    if duration_s < 120:
        return f"{duration_s:.2f} s"
    if duration_s < 7200:
        return f"{duration_s / 60:.1f} min"
    return f"{format_number(duration_s / 3600)} h"


def format_mass_g(mass_g: float) -> str:
    """Human-readable mass from grams: µg, mg, g, kg, t, kt."""
    steps = ((1e9, "kt"), (1e6, "t"), (1e3, "kg"), (1.0, "g"), (1e-3, "mg"), (1e-6, "µg"))
    return _scaled(mass_g, steps)


@functools.cache
def _e_number() -> re.Pattern[str]:
    """A number in e-notation (``1.2e+03``, ``5E-7``) not inside a word, and a unit after it
    (compiled on first use: ~2 ms that ``with wattwise.track():`` need not pay)."""
    return re.compile(
        r"(?<![\w.+-])([-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+)(?![\w.])(?:(\s?)(Wh|J|W|s|g)\b)?"
    )


@functools.cache
def _plain_number() -> re.Pattern[str]:
    """A plain number (a device parameter's text)."""
    return re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _human_e(m: re.Match[str]) -> str:
    value, unit = float(m.group(1)), m.group(3)
    if unit == "J":
        return format_energy(value)
    if unit == "Wh":
        return format_energy(value * 3600.0)
    if unit == "W":
        return format_power(value)
    if unit == "s":
        return format_duration(value)
    if unit == "g":
        return format_mass_g(value)
    return format_number(value, 4)


def humanize_numbers(text: str) -> str:
    """``text`` with every e-notation number in it for people, in its unit where one follows
    (J, Wh, W, s, g): ``1.23e+03 s`` → ``20.5 min``, ``5e-07 J`` → ``0.5 µJ``, ``over 1e+06 W``
    → ``over 1 MW``, ``2.21e+03 tokens`` → ``2,210 tokens``. Numbers inside words
    (``model-1e5``) are left alone. For texts stored before they were written for people."""
    return _e_number().sub(_human_e, text)


def format_value(value: object) -> str:
    """A parameter's value for people: a number, or a number's text, in e-notation or of more
    than four whole digits, with grouped digits (``262143328850`` → ``262,143,328,850``,
    ``7.5e+06`` → ``7,500,000``, ``1e-06`` → ``0.000001``); ``1500``, ``2024``, ``12.535`` and
    any other text as they are."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(float(value), 6)
    text = str(value).strip()
    if _plain_number().fullmatch(text):
        whole_digits = len(text.lstrip("-+").split(".")[0])
        if "e" in text.lower() or whole_digits > 4:
            return format_number(float(text), 6)
    return str(value)
