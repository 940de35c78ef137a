"""The wattwise exception tree: every error raised on purpose derives from WattwiseError.

Defined here, in the lowest layer; :mod:`wattwise.errors` re-exports it (the usual import).
"""

from __future__ import annotations


class WattwiseError(Exception):
    """Base class of every error raised by wattwise on purpose."""


class ReaderError(WattwiseError):
    """A hardware reader failed to read (the tracker turns this into a recorded gap)."""


class ReaderUnavailable(ReaderError):
    """A reader cannot be used on this machine; the message says why and how to fix it."""


class LedgerError(WattwiseError):
    """The run ledger cannot be opened, migrated, read or written."""


class ConfigError(WattwiseError):
    """Invalid user input: an option, an environment variable or a config value."""


class DataError(WattwiseError):
    """A reference data table is missing, malformed or holds an implausible value."""


class UnknownRunError(LedgerError, ConfigError):
    """No run has this id or id prefix, or the prefix is ambiguous: bad input (exit 2)."""


class UnknownKeyError(ConfigError):
    """A region, country, hardware name or similar key is not known; lists close matches."""
