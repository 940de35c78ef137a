"""The wattwise exception tree (defined in :mod:`wattwise.core.errors`; imported from here)."""

from __future__ import annotations

from wattwise.core.errors import (
    ConfigError,
    DataError,
    LedgerError,
    ReaderError,
    ReaderUnavailable,
    UnknownKeyError,
    UnknownRunError,
    WattwiseError,
)

__all__ = [
    "ConfigError",
    "DataError",
    "LedgerError",
    "ReaderError",
    "ReaderUnavailable",
    "UnknownKeyError",
    "UnknownRunError",
    "WattwiseError",
]
