"""Training or serving: how an audit scales a measured run to its use.

A **serving** workload is scaled per request: the energy of the windows that counted requests,
divided by them, times the requests per day (``--requests-per-day``), per day and per year.
A **training** workload is not served per request: it is scaled per training run — the run as
measured — and per epoch, step, sample and token where the run counted them (each from the
energy of the windows in which it was counted), and a year holds ``runs_per_year`` runs (1 unless
the caller says otherwise, stated as assumed).

:func:`decide_workload` picks one: the caller's choice (``--workload train|serve``) when given,
else from what the run counted — requests mean serving; steps, epochs or samples without
requests mean training; a run that counted nothing is scaled per run (as training), since
multiplying an opaque command by a request rate would invent a scale nobody measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wattwise.core.documents import PerUnitDocument, TrainingScaleDocument
from wattwise.errors import ConfigError
from wattwise.units import j_to_kwh

if TYPE_CHECKING:
    from wattwise.accounting import Context
    from wattwise.tracker.model import RunResult

WORKLOADS = ("train", "serve")
#: Units a training run counts, in the order the report lists them (plural as counted).
TRAINING_UNITS = ("epochs", "steps", "samples", "tokens")


def decide_workload(result: RunResult, workload: str | None = None) -> tuple[str, str]:
    """(``train`` or ``serve``, why): the caller's choice, else the rule in the module doc."""
    if workload is not None:
        w = workload.strip().lower()
        if w not in WORKLOADS:
            raise ConfigError(f"--workload must be train or serve, got {workload!r}")
        return w, f"given by you (--workload {w})"
    counts = {k: v for k, v in result.counts.items() if v > 0}
    if counts.get("requests", 0) > 0:
        return "serve", f"the run counted {counts['requests']:,.0f} requests: scaled per request"
    trained = [u for u in ("steps", "epochs", "samples") if u in counts]
    if trained:
        what = ", ".join(f"{counts[u]:,.0f} {u}" for u in trained)
        return "train", f"the run counted {what} and no requests: scaled per training run"
    return "train", (
        "the run counted no requests, steps or epochs: scaled per run (as a training run), not "
        "per request; give --workload serve and report requests to scale per request"
    )


def training_scale(
    result: RunResult, ctx: Context, runs_per_year: float = 1.0
) -> TrainingScaleDocument:
    """A training run's scale: the run itself, per counted unit, and ``runs_per_year`` runs.

    Keys: ``unit`` (``training run``), ``units_per_day`` None (not a daily rate),
    ``runs_per_year``, ``it_j_per_unit`` (the run's IT J), ``per`` {unit: {``count``,
    ``it_j``, ``basis``}}, ``it_j_per_token``, ``run`` and ``year`` (periods as
    :func:`wattwise.audit.analysis.period`)."""
    from wattwise.audit.analysis import period

    total_j = result.energy.total_j
    per_j = result.energy_per()  # energy of the windows in which each unit was counted
    per: dict[str, PerUnitDocument] = {}
    for unit in TRAINING_UNITS:
        n = result.counts.get(unit, 0.0)
        if n > 0 and unit in per_j:
            per[unit.rstrip("s")] = {
                "count": n,
                "it_j": per_j[unit],
                "basis": f"energy of the windows that counted {unit} / {n:,.0f} {unit}",
            }
    run_kwh = j_to_kwh(total_j)
    return {
        "unit": "training run",
        "units_per_day": None,
        "units_measured": 1.0,
        "runs_per_year": runs_per_year,
        "runs_per_year_basis": (
            "assumed: one training run a year (the figures are per run)"
            if runs_per_year == 1.0
            else f"given: {runs_per_year:g} runs a year"
        ),
        "basis": "the whole run's energy: one training run is the unit",
        "it_j_per_unit": total_j,
        "it_j_per_token": token["it_j"] if (token := per.get("token")) else None,
        "per": per,
        "run": period(run_kwh, ctx),
        "year": period(run_kwh * runs_per_year, ctx),
    }
