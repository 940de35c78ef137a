"""The one validation boundary for numbers that enter wattwise.

Two kinds of entry, two policies:

* **Configuration** (command-line flags, environment variables, config files, API arguments at
  construction): :func:`check_number` raises :class:`~wattwise.errors.ConfigError` with one line
  naming the input, so the CLI prints it and exits 2 before any work starts.
* **Run time** (a count reported by the user's code or a child process, a value a reader
  returned): :func:`clean_number` never raises; it returns the value as a finite ``float`` or
  ``None`` together with the reason, and the caller records that reason in the run (a note or a
  gap) instead of raising into the user's code.

Every float that passes is finite: NaN and ±inf never reach the ledger or a JSON document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wattwise.errors import ConfigError

#: Largest count of work units (tokens, requests, steps, ...) one report may add. Far above any
#: real run (1e15 tokens is ~100x the largest published pre-training corpus) and far below the
#: point where float sums lose integer precision for typical totals.
MAX_COUNT = 1e15


@dataclass(frozen=True)
class Cleaned:
    """The result of :func:`clean_number`: a finite value, or None and why it was refused."""

    value: float | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def _as_float(value: object) -> float | None:
    """``value`` as a float, or None for anything that is not a real number (bools refused)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    try:
        return float(value)  # type: ignore[arg-type]  # numpy / torch scalars
    except Exception:  # any __float__ may raise anything: clean_number never raises
        return None


def clean_number(
    value: object,
    *,
    low: float | None = 0.0,
    high: float | None = None,
    low_inclusive: bool = True,
) -> Cleaned:
    """A run-time value as a finite float within [``low``, ``high``], or None with the reason.

    Never raises. ``low=None`` / ``high=None`` leave that side open (finiteness is always
    required). ``low_inclusive=False`` refuses ``low`` itself (for strictly positive values).
    """
    x = _as_float(value)
    if x is None:
        return Cleaned(None, f"{value!r} is not a number")
    if math.isnan(x):
        return Cleaned(None, "not a number (NaN)")
    if math.isinf(x):
        return Cleaned(None, "infinite")
    if low is not None and (x < low or (not low_inclusive and x == low)):
        op = ">=" if low_inclusive else ">"
        return Cleaned(None, f"{x:g} is out of range (must be {op} {low:g})")
    if high is not None and x > high:
        return Cleaned(None, f"{x:g} is out of range (must be <= {high:g})")
    return Cleaned(x)


def check_number(
    value: object,
    what: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    integer: bool = False,
) -> float:
    """A configuration value as a finite float in range, else :class:`ConfigError` (one line).

    ``what`` names the input as the user wrote it (``--interval``, ``WATTWISE_PUE``,
    ``[tool.wattwise] pue``). ``integer=True`` also requires a whole number.
    """
    c = clean_number(value, low=low, high=high, low_inclusive=low_inclusive)
    if c.value is None:
        raise ConfigError(f"{what}: {c.reason}")
    if integer and not c.value.is_integer():
        raise ConfigError(f"{what}: {c.value:g} is not a whole number")
    return c.value


def check_int(value: object, what: str, *, low: int | None = None, high: int | None = None) -> int:
    """A configuration value as an int in range, else :class:`ConfigError` (one line)."""
    return int(
        check_number(
            value,
            what,
            low=None if low is None else float(low),
            high=None if high is None else float(high),
            integer=True,
        )
    )
