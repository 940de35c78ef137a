"""One line of ``wattwise runs list``: a run's summary as the ledger lists it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunSummary:
    """One line of ``wattwise runs list``.

    ``status`` is the effective status (a ``running`` run whose recorder is gone is
    ``interrupted``); ``total_energy_j`` and ``duration_s`` are then derived from its samples.
    ``provenance`` is the total's label (``measured``, ``mixed: measured + estimated``, ``none``).
    """

    run_id: str
    name: str
    started_at: str
    duration_s: float
    status: str
    total_energy_j: float
    provenance: str
    exit_code: int | None
    command: tuple[str, ...] | None
