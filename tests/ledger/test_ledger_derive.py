"""Energy derived from the samples of a run that never finished (pure function)."""

from __future__ import annotations

import pytest

from wattwise.ledger.derive import derive_components
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.tracker.model import Sample

COUNTER = DeviceInfo("rapl:package-0", "cpu", "package-0", Provenance.MEASURED, "powercap")
POWER = DeviceInfo("nvml:0", "gpu", "GPU 0", Provenance.INTEGRATED, "nvml:power")


def test_counter_reset_is_skipped_not_subtracted() -> None:
    samples = [
        Sample(COUNTER.device_id, t, None, e) for t, e in [(0, 50), (1, 80), (2, 5), (3, 25)]
    ]
    [c] = derive_components([COUNTER], samples, duration_s=4.0, reason="killed")
    assert c.energy_j == pytest.approx(30.0 + 20.0)
    assert c.provenance is Provenance.MEASURED
    assert c.missing_s == pytest.approx(1.0)  # 4 s run, samples cover 3 s
    assert "killed" in c.note and "t=3.0 s" in c.note


def test_power_integration_and_unordered_samples() -> None:
    samples = [Sample(POWER.device_id, t, p, None) for t, p in [(2.0, 300.0), (0.0, 100.0)]]
    [c] = derive_components([POWER], samples, duration_s=2.0, reason="x")
    assert c.energy_j == pytest.approx(400.0)
    assert c.provenance is Provenance.INTEGRATED and c.missing_s == 0.0


def test_device_without_samples_and_unknown_device() -> None:
    samples = [Sample("mystery", t, 10.0, None) for t in (0.0, 1.0)]
    comps = {c.device_id: c for c in derive_components([COUNTER], samples, 1.0, "x")}
    assert comps[COUNTER.device_id].energy_j == 0.0
    assert comps[COUNTER.device_id].missing_s == 1.0
    assert "too few samples" in comps[COUNTER.device_id].note
    assert comps["mystery"].kind == "unknown" and comps["mystery"].energy_j == pytest.approx(10.0)
