"""Energy from a remote ``wattwise exporter``: the Prometheus text parser, the reader over a
real exporter (prometheus_client over HTTP), a counter reset, and a benchmark measured by it."""

from __future__ import annotations

import time

import pytest

from conftest import FakeClock
from integrations.requires import module
from tracker.fakes import CounterReader
from wattwise.bench.remote import ExporterReader, parse_text
from wattwise.errors import ReaderUnavailable
from wattwise.tracker.core import Tracker

TEXT = """# HELP wattwise_energy_joules Energy
# TYPE wattwise_energy_joules counter
wattwise_energy_joules_total{device="nvml:GPU-1",kind="gpu",provenance="measured"} 120.5
wattwise_energy_joules_total{device="cpu-model:machine",kind="cpu",provenance="estimated"} 7e1
wattwise_device_info{device="nvml:GPU-1",kind="gpu",name="H200 \\"SXM\\"",provenance="measured",\
source="nvml:x"} 1.0
"""


def test_parse_text_reads_labels_values_and_escapes() -> None:
    rows = list(parse_text(TEXT))
    assert [(m, v) for m, _, v in rows] == [
        ("wattwise_energy_joules_total", 120.5), ("wattwise_energy_joules_total", 70.0),
        ("wattwise_device_info", 1.0)]  # fmt: skip
    assert rows[2][1]["name"] == 'H200 "SXM"' and rows[0][1]["kind"] == "gpu"


def test_counter_reset_is_a_gap_not_negative_energy(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = iter([TEXT, TEXT.replace("120.5", "150.5"), TEXT.replace("120.5", "3.0")])
    reader = ExporterReader("http://exporter/metrics")
    monkeypatch.setattr(reader, "_scrape", lambda: next(texts))
    devices = {d.device_id: d for d in reader.open()}
    assert devices["remote:nvml:GPU-1"].provenance.value == "measured"
    assert devices["remote:cpu-model:machine"].provenance.value == "estimated"
    assert devices["remote:nvml:GPU-1"].name == 'H200 "SXM"'
    first = {r.device_id: r for r in reader.read()}
    assert first["remote:nvml:GPU-1"].energy_j == 30.0 and not first["remote:nvml:GPU-1"].rebased
    reset = {r.device_id: r for r in reader.read()}
    assert reset["remote:nvml:GPU-1"].rebased and reset["remote:nvml:GPU-1"].energy_j == 30.0


def test_a_url_without_wattwise_metrics_is_unavailable(fake_url: str) -> None:
    with pytest.raises(ReaderUnavailable, match=r"cannot scrape|no wattwise_energy"):
        ExporterReader(fake_url + "/models").open()


def test_benchmark_measured_by_a_real_exporter(fake_url: str, clock: FakeClock) -> None:
    module("prometheus_client", "prometheus")
    from wattwise.bench.serve import BenchOptions, bench_serve
    from wattwise.integrations.prometheus import serve

    remote = Tracker("exporter", readers=[CounterReader(time.monotonic, 200.0, "fake:gpu", "gpu")],
                     interval_s=0.05).start()  # fmt: skip
    try:
        with serve(remote, port=0) as exporter:
            doc = bench_serve(BenchOptions(url=fake_url, model="slow", concurrency=[1],
                                           requests=8, max_tokens=6, energy_from=exporter.url,
                                           store=False))  # fmt: skip
    finally:
        remote.stop()
    (c,) = doc["configs"]
    assert [d["device_id"] for d in c["provenance"]["devices"]] == ["remote:fake:gpu"]
    assert c["provenance"]["devices"][0]["source"].startswith(f"exporter:{exporter.url}")
    assert c["provenance"]["energy"] == "measured"
    # 200 W for the window, read at scrapes as fresh as the exporter's 50 ms sampling
    assert c["mean_power_w"] == pytest.approx(200.0, rel=0.5)
    assert doc["energy"]["source"].startswith("remote wattwise exporter")
