"""argparse ``type=`` converters for numeric flags, built on :mod:`wattwise.validate`.

Every numeric flag of every sub-command is parsed by :func:`number` (or :func:`whole`), so it is
checked once, where it enters: a real, finite number within the flag's plausible range (and a
whole number where it counts things). A bad value is one line from argparse and exit code 2,
before any work starts — never an internal error, a hang or a busy loop.

``si=True`` accepts SI suffixes for sizes: ``7B`` = 7e9, ``1.4T`` = 1.4e12, ``500M``, ``8k``.
"""

from __future__ import annotations

from collections.abc import Callable

from wattwise.errors import ConfigError
from wattwise.validate import check_number

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}


def parse_si(text: str) -> float | None:
    """``text`` as a float with an optional SI suffix (k, M, B/G, T, P); None if not a number.

    Huge integers (``99999999999999999999999``) parse to a float; the range check refuses them.
    """
    t = text.strip().replace("_", "").replace(",", "")
    mult = 1.0
    if t and t[-1].lower() in _SUFFIX:
        mult, t = _SUFFIX[t[-1].lower()], t[:-1]
    try:
        return float(t) * mult
    except (ValueError, OverflowError):
        return None


def _argument_error(msg: str) -> Exception:
    import argparse  # only on the error path: importing validate stays cheap

    return argparse.ArgumentTypeError(msg)


def number(
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    si: bool = False,
) -> Callable[[str], float]:
    """A converter to a finite float in [``low``, ``high``] (``low_inclusive=False``: > low)."""

    def convert(text: str) -> float:
        value: object = parse_si(text) if si else text
        if value is None:
            raise _argument_error(f"{text!r} is not a number")
        try:
            x = check_number(value, "value", low=low, high=high, low_inclusive=low_inclusive)
        except ConfigError as exc:
            reason = str(exc).removeprefix("value: ")
            raise _argument_error(f"{text!r}: {reason}") from None
        return x

    convert.__name__ = "number"  # argparse names the type in some messages
    return convert


def whole(
    *, low: int | None = None, high: int | None = None, si: bool = False
) -> Callable[[str], int]:
    """A converter to an int in [``low``, ``high``] (a whole number; ``1e3`` is accepted)."""
    as_number = number(
        low=None if low is None else float(low),
        high=None if high is None else float(high),
        si=si,
    )

    def convert(text: str) -> int:
        x = as_number(text)
        if not x.is_integer():
            raise _argument_error(f"{text!r} is not a whole number")
        return int(x)

    convert.__name__ = "whole number"
    return convert
