"""wattwise: assess, reduce and report the energy, carbon and cost of generative AI work.

The public API is re-exported lazily so that ``import wattwise`` stays fast: nothing heavy
(SQLAlchemy, vendor libraries, torch) is imported until a feature that needs it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "track": ("wattwise.api", "track"),
    "Tracker": ("wattwise.tracker.core", "Tracker"),
    "RunResult": ("wattwise.tracker.model", "RunResult"),
    "Provenance": ("wattwise.core.provenance", "Provenance"),
    "WattwiseError": ("wattwise.errors", "WattwiseError"),
    "report_count": ("wattwise.workloads.counts", "report_count"),
    "estimate_training": ("wattwise.estimate", "estimate_training"),
    "estimate_finetune": ("wattwise.estimate", "estimate_finetune"),
    "estimate_inference": ("wattwise.estimate", "estimate_inference"),
    "forecast": ("wattwise.estimate.forecast", "forecast"),
    "account": ("wattwise.accounting", "account"),
    "Context": ("wattwise.accounting", "Context"),
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.accounting import Context as Context
    from wattwise.accounting import account as account
    from wattwise.api import track as track
    from wattwise.core.provenance import Provenance as Provenance
    from wattwise.errors import WattwiseError as WattwiseError
    from wattwise.estimate import estimate_finetune as estimate_finetune
    from wattwise.estimate import estimate_inference as estimate_inference
    from wattwise.estimate import estimate_training as estimate_training
    from wattwise.estimate.forecast import forecast as forecast
    from wattwise.tracker.core import Tracker as Tracker
    from wattwise.tracker.model import RunResult as RunResult
    from wattwise.workloads.counts import report_count as report_count


#: Subpackages reached as attributes (``wattwise.power.tuned``), imported on first use.
_SUBPACKAGES = ("power",)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"wattwise.{name}")
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'wattwise' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBPACKAGES])
