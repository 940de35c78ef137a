"""The lab's techniques, one module each; every public module here is imported on first use
of the registry (:mod:`wattwise.optimize.registry`) and registers its techniques. Adding a
technique is adding a module here (or anywhere, calling ``register`` at import).

The training routines that used to live in this module's place are in
:mod:`wattwise.optimize.distill`, :mod:`wattwise.optimize.transfer` and
:mod:`wattwise.optimize.prune`; their old names still resolve here.
"""

from __future__ import annotations

from typing import Any

_MOVED = {
    "distill_vs_scratch": "wattwise.optimize.distill",
    "DistillResult": "wattwise.optimize.distill",
    "transfer_vs_scratch": "wattwise.optimize.transfer",
    "unstructured_with_recovery": "wattwise.optimize.prune",
    "structured_with_recovery": "wattwise.optimize.prune",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_MOVED[name]), name)
