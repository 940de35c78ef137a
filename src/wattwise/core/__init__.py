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

from typing import TYPE_CHECKING, Any

# The names below are imported on first use (PEP 562): ``import wattwise.core.provenance``
# (every tracker start) then runs this file without creating the Band, Factor and Assumption
# dataclasses (~3 ms of start-up) nobody asked for.
_LAZY = {
    "Assumption": "assumption",
    "AssumptionDocument": "assumption",
    "Band": "band",
    "BandDocument": "band",
    "ConfigError": "errors",
    "DataError": "errors",
    "LedgerError": "errors",
    "ReaderError": "errors",
    "ReaderUnavailable": "errors",
    "UnknownKeyError": "errors",
    "UnknownRunError": "errors",
    "WattwiseError": "errors",
    "Factor": "factor",
    "PROVENANCE_RANK": "provenance",
    "Provenance": "provenance",
    "as_provenance": "provenance",
    "weakest": "provenance",
}

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.core.assumption import Assumption as Assumption
    from wattwise.core.assumption import AssumptionDocument as AssumptionDocument
    from wattwise.core.band import Band as Band
    from wattwise.core.band import BandDocument as BandDocument
    from wattwise.core.errors import ConfigError as ConfigError
    from wattwise.core.errors import DataError as DataError
    from wattwise.core.errors import LedgerError as LedgerError
    from wattwise.core.errors import ReaderError as ReaderError
    from wattwise.core.errors import ReaderUnavailable as ReaderUnavailable
    from wattwise.core.errors import UnknownKeyError as UnknownKeyError
    from wattwise.core.errors import UnknownRunError as UnknownRunError
    from wattwise.core.errors import WattwiseError as WattwiseError
    from wattwise.core.factor import Factor as Factor
    from wattwise.core.provenance import PROVENANCE_RANK as PROVENANCE_RANK
    from wattwise.core.provenance import Provenance as Provenance
    from wattwise.core.provenance import as_provenance as as_provenance
    from wattwise.core.provenance import weakest as weakest

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


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'wattwise.core' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(f"wattwise.core.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
