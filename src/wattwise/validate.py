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

import functools
import math
import re
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


# ---------------------------------------------------------------------- counts of work
#: Most steps one report (``t.step(n)``, ``t.count(steps=n)``, ``report_count(steps=n)``) may
#: add: a report covers a few steps (or one epoch), not a run.
MAX_STEPS_PER_REPORT = 1e6
#: Longest unit name accepted for a count (``tokens``, ``requests``, ``images``, ...).
MAX_UNIT_LEN = 64


def unit_problem(unit: object) -> str:
    """Why ``unit`` cannot name a count ("" when it can): the one rule for the Python API and
    the child protocol. A unit is a non-empty string of at most :data:`MAX_UNIT_LEN`
    characters, not starting with ``_`` (reserved for the protocol's own keys), without NUL or
    lone surrogates (which the ledger cannot store as text). Other control characters are kept
    as given: every human view escapes them (:mod:`wattwise.cli.render`)."""
    if not isinstance(unit, str):
        return f"unit name {_short(unit)} is not a string"
    if not unit.strip():
        return "unit name is empty"
    if len(unit) > MAX_UNIT_LEN:
        return f"unit name is {len(unit)} characters long (at most {MAX_UNIT_LEN})"
    if unit.startswith("_"):
        return f"unit name {unit!r} starts with '_' (reserved)"
    if not (unit.isascii() and "\x00" not in unit) and any(_unstorable(ch) for ch in unit):
        return f"unit name {unit!r} contains NUL or a lone surrogate"
    return ""


def clean_count(unit: object, value: object) -> Cleaned:
    """A count of ``unit`` as a finite float, or None with the reason. Never raises.

    The one rule for counts, applied by the tracker's API (``t.count``, ``t.step``) and by both
    ends of the child protocol (``report_count`` and the parent that reads it): the unit passes
    :func:`unit_problem`; the value is a real number (``int``, ``float`` or a numpy / torch
    scalar — a string, even ``"12"``, is refused: a count is a number, and text usually means a
    bug upstream), finite, in [0, :data:`MAX_COUNT`]; ``steps`` is a whole number of at most
    :data:`MAX_STEPS_PER_REPORT` per report.
    """
    problem = unit_problem(unit)
    if problem:
        return Cleaned(None, problem)
    if isinstance(value, (str, bytes)):
        return Cleaned(None, f"{_short(value)} is a string, not a number")
    high = MAX_STEPS_PER_REPORT if unit == "steps" else MAX_COUNT
    c = clean_number(value, low=0.0, high=high)
    if c.value is not None and unit == "steps" and not c.value.is_integer():
        return Cleaned(None, f"{c.value:g} is not a whole number of steps")
    return c


# ---------------------------------------------------------------------- names
#: Longest run or window name kept, characters (longer names are cut, with a note).
MAX_NAME_LEN = 200


def storable_text(text: str) -> str:
    """``text`` as SQLite and JSON can store it: a lone surrogate (an undecodable byte kept by
    ``surrogateescape``, e.g. from a non-UTF-8 ``--name``) becomes a backslash escape (``\\x9b``,
    ``\\udc00``), a NUL character is removed."""
    if text.isascii() and "\x00" not in text:
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\x00":
            continue
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _unstorable(ch: str) -> bool:
    """NUL (cut C strings and tools short) or a lone surrogate (not encodable as UTF-8)."""
    o = ord(ch)
    return o == 0 or 0xD800 <= o < 0xE000


def _short(value: object, n: int = 40) -> str:
    try:
        r = repr(value)
    except Exception:  # any __repr__ may raise
        r = f"<{type(value).__name__}>"
    return r if len(r) <= n else r[: n - 3] + "..."


def clean_name(value: object, *, placeholder: str = "unnamed") -> tuple[str, str]:
    """A run or window name the ledger can store, and why it was changed ("" when it was
    not). Never raises.

    A non-string becomes ``str(value)``; NUL is removed and lone surrogates escaped
    (:func:`storable_text`); an empty (or
    all-space) name becomes ``placeholder``; a name longer than :data:`MAX_NAME_LEN`
    characters is cut. Other control characters are kept as given, so JSON output has the
    name exactly; every human view escapes them (:mod:`wattwise.cli.render`).
    """
    why: list[str] = []
    if isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception:  # any __str__ may raise
            text = ""
        why.append(f"{_short(value)} is not a string")
    cleaned = storable_text(text)
    if cleaned != text:
        why.append("NUL removed, bytes that are not UTF-8 escaped (\\xNN)")
    if not cleaned.strip():
        why.append("empty")
        cleaned = placeholder
    if len(cleaned) > MAX_NAME_LEN:
        why.append(f"{len(cleaned)} characters long, cut to {MAX_NAME_LEN}")
        cleaned = cleaned[:MAX_NAME_LEN]
    return cleaned, "; ".join(why)


# ---------------------------------------------------------------------- GPU selection
@functools.cache
def _gpu_token_patterns() -> tuple[re.Pattern[str], ...]:
    """An index, a vendor-prefixed UUID (prefix), a bare hexadecimal UUID prefix (compiled on
    first use, not at ``import``)."""
    return (
        re.compile(r"[0-9]{1,4}"),
        re.compile(r"(?:MIG-GPU-|GPU-|MIG-)[0-9a-f][0-9a-f/-]*", re.IGNORECASE),
        re.compile(r"[0-9a-f][0-9a-f-]{7,}", re.IGNORECASE),
    )


def check_gpu_list(text: str, what: str = "--gpus") -> tuple[str, ...]:
    """A comma-separated GPU selection as its tokens, else :class:`ConfigError` (one line).

    Each token is an index (``0``..``9999``), a UUID or UUID prefix with its vendor prefix
    (``GPU-8f3c...``, ``MIG-...``), or a bare hexadecimal UUID prefix of at least 8 characters
    (AMD). Empty items (``0,,1``) and anything else (``abc``, ``;rm``) are refused; whether a
    token names a GPU that exists is the reader's check, when it opens.
    """
    tokens = [t.strip() for t in text.split(",")]
    if not text.strip():
        raise ConfigError(f"{what}: give GPU indices or UUIDs, comma-separated")
    for tok in tokens:
        if not tok:
            raise ConfigError(f"{what} {text!r}: an empty item (two commas, or a trailing one)")
        if not any(p.fullmatch(tok) for p in _gpu_token_patterns()):
            raise ConfigError(
                f"{what}: {tok[:40]!r} is not a GPU index or UUID "
                "(give e.g. 0,1 or GPU-8f3c...)"
            )
    return tuple(tokens)
