"""The Prometheus exporter: scraped over HTTP and parsed with prometheus_client's parser, pushed
to a (fake) Pushgateway, and scraped by a real Prometheus server (issue 12, item 5)."""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from conftest import FakeClock
from integrations.promtools import ModelReader, by, fake_pushgateway, free_port, parse, scrape
from integrations.requires import module, program
from tracker.fakes import CounterReader, PowerReader
from wattwise.tracker.core import Tracker


@pytest.fixture(autouse=True)
def _prometheus_client() -> None:
    module("prometheus_client", "prometheus")


def _tracker(clock: FakeClock) -> Tracker:
    readers = [CounterReader(clock, 40.0), PowerReader(clock, 100.0), ModelReader(clock, 25.0)]
    return Tracker("serve", readers=readers, clock=clock, sampler=False).start()


def test_a_scrape_over_http_has_every_device_with_its_provenance(clock: FakeClock) -> None:
    from wattwise.integrations.prometheus import serve

    t = _tracker(clock)
    with serve(t, port=0) as exporter:
        assert exporter.url.startswith("http://127.0.0.1:")
        for _ in range(5):
            clock.advance(2.0)
            t.sample()
        m = scrape(exporter.url)
        energy = m["wattwise_energy_joules_total"]
        assert by(energy, "device") == pytest.approx(
            {"fake:cpu": 400.0, "fake:gpu": 1000.0, "cpu-model:machine": 250.0}
        )
        # honest provenance: a counter is measured, power samples integrated, a model estimated
        assert by(energy, "provenance") == pytest.approx(
            {"measured": 400.0, "integrated": 1000.0, "estimated": 250.0}
        )
        assert by(m["wattwise_power_watts"], "device") == pytest.approx(
            {"fake:cpu": 40.0, "fake:gpu": 100.0, "cpu-model:machine": 25.0}
        )
        info = {dict(k)["device"]: dict(k) for k in m["wattwise_device_info"]}
        assert info["cpu-model:machine"]["source"] == "model:fake"
        assert set(by(m["wattwise_energy_joules_created"], "device")) == set(info)
        # counters never go down from one scrape to the next
        clock.advance(1.0)
        t.sample()
        later = by(scrape(exporter.url)["wattwise_energy_joules_total"], "device")
        assert all(later[d] >= v for d, v in by(energy, "device").items())
        assert later["fake:cpu"] == pytest.approx(440.0)
    t.stop()


def test_run_metrics_count_energy_and_tokens_and_end_with_the_run(clock: FakeClock) -> None:
    from wattwise.integrations.prometheus import Exporter

    t = _tracker(clock)
    exporter = Exporter(t)
    for _ in range(4):
        clock.advance(1.0)
        t.count(tokens=500, requests=2)
        t.sample()
    m = parse(exporter.text())
    (labels,) = m["wattwise_run_energy_joules_total"]
    assert dict(labels) == {"run": "serve", "run_id": t.run_id}
    assert m["wattwise_run_energy_joules_total"][labels] == pytest.approx(4 * 165.0)
    assert by(m["wattwise_run_units_total"], "unit") == {"tokens": 2000.0, "requests": 8.0}
    assert m["wattwise_run_elapsed_seconds"][labels] == pytest.approx(4.0)
    assert by(m["wattwise_run_info"], "status") == {"running": 1.0}
    clock.advance(1.0)
    result = t.stop()
    m = parse(exporter.text())
    assert m["wattwise_run_energy_joules_total"][labels] == pytest.approx(result.energy.total_j)
    assert by(m["wattwise_run_info"], "status") == {"finished": 1.0}
    assert "wattwise_power_watts" not in m  # no power once the run has ended


def test_a_device_that_cannot_be_read_is_a_gap_estimate_not_a_lower_counter(
    clock: FakeClock,
) -> None:
    from wattwise.integrations.prometheus import Exporter
    from wattwise.tracker.core import Tracker

    power = PowerReader(clock, 100.0)
    cpu = CounterReader(clock, 40.0)
    t = Tracker(readers=[cpu, power], clock=clock, sampler=False).start()
    exporter = Exporter(t, run_metrics=False)
    clock.advance(2.0)
    t.sample()
    power.read = lambda: []  # type: ignore[method-assign]  # the GPU vanishes for 3 s
    for _ in range(3):
        clock.advance(1.0)
        t.sample()
    m = parse(exporter.text())
    assert by(m["wattwise_energy_joules_total"], "device")["fake:gpu"] == pytest.approx(200.0)
    assert by(m["wattwise_unread_seconds"], "device")["fake:gpu"] == pytest.approx(3.0)
    assert by(m["wattwise_gap_estimate_joules"], "device")["fake:gpu"] == pytest.approx(300.0)
    assert by(m["wattwise_unread_seconds"], "device")["fake:cpu"] == 0.0
    assert "wattwise_run_energy_joules_total" not in m  # run_metrics=False
    t.stop()


def test_push_to_a_gateway_groups_by_instance(clock: FakeClock) -> None:
    from wattwise.integrations.prometheus import push

    t = _tracker(clock)
    clock.advance(3.0)
    t.sample()
    with fake_pushgateway() as (url, pushes):
        push(t, url, job="train-42", grouping_key={"instance": "node-7"})
    ((method, path, body),) = pushes
    assert method == "PUT" and path == "/metrics/job/train-42/instance/node-7"
    m = parse(body.decode())
    assert by(m["wattwise_energy_joules_total"], "device")["fake:cpu"] == pytest.approx(120.0)
    t.stop()


def test_the_exporter_command_serves_this_machine_and_stops_on_sigterm(tmp_path: Path) -> None:
    from cli.clirun import cli_env
    from readers.fake_powercap import make_powercap

    root = make_powercap(tmp_path, {"intel-rapl:0": {"name": "package-0"}})
    env = cli_env(WATTWISE_POWERCAP_ROOT=str(root))
    p = _start_exporter(["--port", "0", "--interval", "0.2"], env)
    try:
        line = _line_with(p, "serving ")
        url = line.split("serving ", 1)[1].split()[0]
        m = scrape(url)
        energy = m["wattwise_energy_joules_total"]
        assert by(energy, "device").keys() >= {"rapl:package-0"}
        assert dict(next(k for k in energy if dict(k)["device"] == "rapl:package-0")) == {
            "device": "rapl:package-0", "kind": "cpu", "provenance": "measured",
        }  # fmt: skip
        assert "wattwise_run_energy_joules_total" not in m  # the machine, not a run
    finally:
        p.terminate()
        _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err


def test_the_exporter_command_pushes_until_stopped(tmp_path: Path) -> None:
    from cli.clirun import cli_env

    env = cli_env(WATTWISE_POWERCAP_ROOT=str(tmp_path / "none"))
    with fake_pushgateway() as (url, pushes):
        p = _start_exporter(["--push-gateway", url, "--job", "batch", "--interval", "0.3"], env)
        deadline = time.monotonic() + 20
        while len(pushes) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        p.terminate()
        _, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
        assert len(pushes) >= 3, err  # two while running, one final at SIGTERM
    assert all(m == "PUT" and path.startswith("/metrics/job/batch/instance/")
               for m, path, _ in pushes)  # fmt: skip
    devices = by(parse(pushes[-1][2].decode())["wattwise_energy_joules_total"], "provenance")
    assert "estimated" in devices  # no powercap here: the CPU model, labelled as an estimate


def test_the_exporter_command_says_when_the_port_is_taken() -> None:
    from cli.clirun import wattwise

    with fake_pushgateway() as (url, _pushes):
        port = urllib.parse.urlsplit(url).port
        assert port is not None
        p = wattwise("exporter", "--port", str(port), timeout=60)
    assert p.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in p.stderr and "Traceback" not in p.stderr


def test_a_real_prometheus_scrapes_the_exporter(tmp_path: Path) -> None:
    """Debian's prometheus, started here on a free port, scrapes every second and answers
    ``wattwise_energy_joules_total`` through its HTTP API (bounded wait: 30 s)."""
    from wattwise.integrations.prometheus import serve

    binary = program("prometheus", "prometheus")
    t = Tracker("real", readers=[CounterReader(time.monotonic, 50.0)], interval_s=0.2).start()
    exporter = serve(t, port=0)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: wattwise\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter.port}']}}]\n"
    )
    log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        result = _query_until_answered(port, "wattwise_energy_joules_total", server, 30.0)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        exporter.close()
        t.stop()
    assert result, (
        "Prometheus did not answer in 30 s:\n" + (tmp_path / "prometheus.log").read_text()
    )
    (series,) = result
    assert series["metric"]["job"] == "wattwise"
    assert {k: series["metric"][k] for k in ("device", "kind", "provenance")} == {
        "device": "fake:cpu", "kind": "cpu", "provenance": "measured",
    }  # fmt: skip
    value = float(series["value"][1])
    assert math.isfinite(value) and value > 0


def _query_until_answered(
    port: int, query: str, server: subprocess.Popen[Any], timeout_s: float
) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                doc = json.loads(resp.read())
            if doc.get("status") == "success" and doc["data"]["result"]:
                return list(doc["data"]["result"])
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    return []


def _start_exporter(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "wattwise", "exporter", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _line_with(p: subprocess.Popen[str], text: str, timeout_s: float = 30.0) -> str:
    """The first stderr line of ``p`` containing ``text`` (fails after ``timeout_s``)."""
    assert p.stderr is not None
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return line
    pytest.fail(f"no line with {text!r} from the exporter: {''.join(seen)}")


def test_without_prometheus_client_the_command_says_how_to_install_it() -> None:
    import sys

    from cli.clirun import cli_env

    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from wattwise.cli import main\n"
        "sys.exit(main(['exporter', '--port', '0']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert p.returncode == 2
    assert "pip install 'wattwise[prometheus]'" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
