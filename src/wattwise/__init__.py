"""wattwise: assess, reduce and report the energy, carbon and cost of generative AI work.

The public API is re-exported lazily so that ``import wattwise`` stays fast: nothing heavy
(SQLAlchemy, vendor libraries, torch) is imported until a feature that needs it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "track": ("wattwise.tracker.core", "track"),
    "Tracker": ("wattwise.tracker.core", "Tracker"),
    "RunResult": ("wattwise.tracker.model", "RunResult"),
    "Provenance": ("wattwise.readers.base", "Provenance"),
    "WattwiseError": ("wattwise.errors", "WattwiseError"),
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.errors import WattwiseError as WattwiseError
    from wattwise.readers.base import Provenance as Provenance
    from wattwise.tracker.core import Tracker as Tracker
    from wattwise.tracker.core import track as track
    from wattwise.tracker.model import RunResult as RunResult


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'wattwise' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
