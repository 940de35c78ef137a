"""The lowest layer of wattwise: one vocabulary for every other package. Standard library only.

* :mod:`~wattwise.core.provenance` — :class:`Provenance` (measured, integrated, estimated,
  given, assumed) and :func:`weakest`;
* :mod:`~wattwise.core.band` — :class:`Band`, a value with low and high bounds;
* :mod:`~wattwise.core.factor` — :class:`Factor`, a site factor: a band with provenance;
* :mod:`~wattwise.core.assumption` — :class:`Assumption`, one input with provenance and source;
* :mod:`~wattwise.core.units` — unit constants and conversions (365.25-day year);
* :mod:`~wattwise.core.errors` — the exception tree;
* :mod:`~wattwise.core.defaults` — defaults no table holds (embodied lifetime, boundary);
* :mod:`~wattwise.core.documents` — typed JSON documents of a run, a footprint and an audit.

Nothing here imports another wattwise package; everything else may import this.
"""

from __future__ import annotations

from wattwise.core.assumption import Assumption, AssumptionDocument
from wattwise.core.band import Band, BandDocument
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
from wattwise.core.factor import Factor
from wattwise.core.provenance import PROVENANCE_RANK, Provenance, as_provenance, weakest

__all__ = [
    "PROVENANCE_RANK",
    "Assumption",
    "AssumptionDocument",
    "Band",
    "BandDocument",
    "ConfigError",
    "DataError",
    "Factor",
    "LedgerError",
    "Provenance",
    "ReaderError",
    "ReaderUnavailable",
    "UnknownKeyError",
    "UnknownRunError",
    "WattwiseError",
    "as_provenance",
    "weakest",
]
