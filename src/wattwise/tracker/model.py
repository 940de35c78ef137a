"""The result types of a tracked run, re-exported from :mod:`wattwise.core.run`.

They live in ``core`` (the lowest layer) so that the ledger, the report and the integrations can
use them without importing the tracker.
"""

from __future__ import annotations

from wattwise.core.run import (
    OVERLAPPING_KINDS,
    ComponentEnergy,
    EnergySummary,
    Gap,
    RunResult,
    Sample,
    WindowResult,
    in_total,
    merge_windows,
    per_unit,
    summarize,
    unit_energy_j,
)

__all__ = [
    "OVERLAPPING_KINDS",
    "ComponentEnergy",
    "EnergySummary",
    "Gap",
    "RunResult",
    "Sample",
    "WindowResult",
    "in_total",
    "merge_windows",
    "per_unit",
    "summarize",
    "unit_energy_j",
]
