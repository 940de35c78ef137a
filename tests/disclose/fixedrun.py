"""A fixed run stored in a real SQLite ledger: the input of every disclosure golden file.

Two measured GPUs and a CPU package; a 'train' window (3,000 s) then a 'serve' window (600 s,
1,000 requests, 250,000 tokens). Its stored context: France, PUE 1.2, a 30 % carbon-free
contract (market-based below location-based), so every figure is known and fixed.
"""

from __future__ import annotations

from pathlib import Path

from wattwise.core.provenance import Provenance
from wattwise.core.run import ComponentEnergy, RunResult, WindowResult
from wattwise.ledger import Ledger

RUN_ID = "f1xedrun0000000000000000000000aa"
CONTEXT = {"country": "FR", "pue": 1.2, "cfe": 0.3}
DEVICES = (
    ("gpu0", "gpu", "NVIDIA H100 80GB HBM3", 9.0e6, "nvml total energy"),
    ("gpu1", "gpu", "NVIDIA H100 80GB HBM3", 9.0e6, "nvml total energy"),
    ("cpu0", "cpu", "CPU package-0", 1.8e6, "rapl intel-rapl:0"),
)


def _parts(share: float) -> tuple[ComponentEnergy, ...]:
    return tuple(
        ComponentEnergy(d, k, n, j * share, Provenance.MEASURED, src) for d, k, n, j, src in DEVICES
    )


def fixed_run(run_id: str = RUN_ID) -> RunResult:
    """The run (19.8 MJ = 5.5 kWh of IT energy over one hour)."""
    return RunResult(
        run_id=run_id,
        name="finetune-llama",
        started_at="2026-11-30T08:00:00+00:00",
        duration_s=3600.0,
        components=_parts(1.0),
        windows=(
            WindowResult("train", 0.0, 3000.0, _parts(5 / 6)),
            WindowResult(
                "serve",
                3000.0,
                3600.0,
                _parts(1 / 6),
                counts={"requests": 1000.0, "tokens": 250_000.0},
            ),
        ),
        counts={"requests": 1000.0, "tokens": 250_000.0},
    )


def store(db: Path, context: dict[str, object] | None = None, run_id: str = RUN_ID) -> str:
    """Store :func:`fixed_run` with ``context`` (default :data:`CONTEXT`) in ``db``."""
    led = Ledger.open(str(db))
    try:
        led.finish_run(fixed_run(run_id))
        led.set_extra(run_id, "context", dict(CONTEXT if context is None else context))
    finally:
        led.close()
    return run_id
