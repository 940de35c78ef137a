"""Run documents for the server tests: real RunResults (the tracker's types) made by hand, so a
test knows every figure it pushes."""

from __future__ import annotations

from typing import Any

from wattwise.accounting.context import Context
from wattwise.core.run import ComponentEnergy, RunResult, Sample, WindowResult
from wattwise.push.sink import run_document
from wattwise.readers.base import Provenance


def make_run(
    run_id: str,
    *,
    name: str = "train",
    day: str = "2026-11-02",
    energy_j: float = 3.6e6,
    gpu: str = "NVIDIA H100 80GB HBM3",
    tokens: float | None = 1000.0,
    phases: tuple[str, ...] = ("train",),
) -> RunResult:
    """A finished run of ``energy_j`` on one GPU, split evenly over ``phases`` (an hour each)."""
    gpu0 = ComponentEnergy("gpu:0", "gpu", gpu, energy_j, Provenance.MEASURED, "nvml")
    windows = []
    for i, phase in enumerate(phases):
        share = ComponentEnergy(
            "gpu:0", "gpu", gpu, energy_j / len(phases), Provenance.MEASURED, "nvml"
        )
        counts = {"tokens": tokens / len(phases)} if tokens else {}
        windows.append(WindowResult(phase, 3600.0 * i, 3600.0 * (i + 1), (share,), counts))
    duration_s = 3600.0 * len(phases)
    samples = tuple(
        Sample("gpu:0", float(t), energy_j / duration_s, None)
        for t in range(0, int(duration_s), 120)
    )
    return RunResult(
        run_id=run_id, name=name, started_at=f"{day}T10:00:00+00:00", duration_s=duration_s,
        components=(gpu0,), windows=tuple(windows), counts={"tokens": tokens} if tokens else {},
        samples=samples, host={"hostname": "test-host"},
    )  # fmt: skip


def make_doc(run_id: str, *, tags: tuple[str, ...] = (), model: str | None = None,
             country: str = "FR", **kw: Any) -> dict[str, Any]:  # fmt: skip
    """The pushed document of :func:`make_run` (accounted in ``country``)."""
    return run_document(make_run(run_id, **kw), Context(country=country), tags=tags, model=model)
