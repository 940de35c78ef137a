"""MlflowSink against a real MLflow with a local file store in tmp_path (issue 12, item 4)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from conftest import FakeClock
from integrations.requires import module
from tracker.fakes import CounterReader, PowerReader
from wattwise.tracker.core import Tracker


@pytest.fixture
def mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """MLflow with its tracking store in ``tmp_path`` (a ``file:`` store: mlflow-skinny has no
    SQL store, and MLflow 3 asks for this opt-in to use a file store)."""
    mod = module("mlflow", "mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mod.set_tracking_uri(uri)
    yield mod
    while mod.active_run() is not None:
        mod.end_run()


def _tracked(clock: FakeClock, sink: Any, *, fail: bool = False) -> Any:
    """A run of 10 s: 4 s "load" (40 W CPU + 100 W GPU), then 6 s "train" counting tokens."""
    readers = [CounterReader(clock, 40.0), PowerReader(clock, 100.0)]
    t = Tracker("fine-tune", readers=readers, clock=clock, sampler=False, sinks=[sink]).start()
    with t.window("load"):
        clock.advance(4.0)
        t.sample()
    with t.window("train"):
        for _ in range(6):
            clock.advance(1.0)
            t.count(tokens=1000, samples=8)
            t.sample()
    return t.stop(status="failed" if fail else "finished")


def test_a_run_is_logged_to_a_new_mlflow_run(mlflow: Any, clock: FakeClock) -> None:
    from mlflow.tracking import MlflowClient

    from wattwise.integrations.mlflow import MlflowSink

    sink = MlflowSink(context={"country": "FR"})
    result = _tracked(clock, sink)
    client = MlflowClient()
    runs = client.search_runs(["0"])
    assert len(runs) == 1  # no active run: the sink made one, named after the wattwise run
    run = runs[0]
    assert run.info.run_name == "fine-tune" and run.info.status == "FINISHED"
    m, tags = run.data.metrics, run.data.tags
    assert m["wattwise.energy_j"] == pytest.approx(result.energy.total_j)
    assert m["wattwise.energy_j"] == pytest.approx(10 * 140.0)
    assert m["wattwise.cpu.energy_j"] == pytest.approx(400.0)
    assert m["wattwise.gpu.energy_j"] == pytest.approx(1000.0)
    assert m["wattwise.window.train.energy_j"] == pytest.approx(6 * 140.0)
    assert m["wattwise.window.load.energy_j"] == pytest.approx(4 * 140.0)
    assert m["wattwise.window.train.duration_s"] == pytest.approx(6.0)
    assert m["wattwise.count.tokens"] == 6000
    # tokens were counted in "train" only: J per token from that window's energy
    assert m["wattwise.j_per_token"] == pytest.approx(6 * 140.0 / 6000)
    assert m["wattwise.window.train.j_per_token"] == pytest.approx(6 * 140.0 / 6000)
    # CO2e in France: the footprint's, and the window's share of it
    from wattwise.accounting.context import resolve_context
    from wattwise.accounting.runs import footprint_of

    fp = footprint_of(result, resolve_context({"country": "FR"}))
    assert m["wattwise.co2e_g"] == pytest.approx(fp.co2e_location_g)
    assert m["wattwise.window.train.co2e_g"] == pytest.approx(fp.co2e_location_g * 0.6)
    assert fp.cost is not None
    assert m[f"wattwise.cost_{fp.cost.currency.lower()}"] == pytest.approx(fp.cost.value)
    assert m["wattwise.sci_g_per_token"] == pytest.approx(fp.sci_g_per_unit["token"])
    # provenance and assumptions as tags
    assert tags["wattwise.run_id"] == result.run_id
    assert tags["wattwise.energy_provenance"] == "mixed: measured + integrated"
    assert "fake:gpu gpu" in tags["wattwise.devices"] and "integrated" in tags["wattwise.devices"]
    assert tags["wattwise.location"] == fp.location
    # a country's grid: the table's yearly average (estimated), its source named
    assert "(estimated: grid_country.csv" in tags["wattwise.assumption.grid_intensity"]
    assert "pue" in tags["wattwise.assumed"].split(", ")  # no PUE given: an assumption, said
    # the run document as an artifact: wattwise run --json's shape, with its footprint
    path = client.download_artifacts(run.info.run_id, f"wattwise/run-{result.run_id}.json")
    doc = json.loads(Path(path).read_text())
    assert doc["run_id"] == result.run_id
    assert doc["energy"]["total_j"] == pytest.approx(result.energy.total_j)
    assert [w["name"] for w in doc["windows"]] == ["load", "train"]
    assert doc["footprint"]["co2e_location_g"] == pytest.approx(fp.co2e_location_g)
    assert doc["context"] == {"country": "FR"}


def test_the_active_run_is_used_and_left_open(
    mlflow: Any, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from mlflow.tracking import MlflowClient

    from wattwise.integrations.mlflow import MlflowSink

    with mlflow.start_run(run_name="mine") as mine:
        with caplog.at_level(logging.WARNING, logger="wattwise"):
            sink = MlflowSink(prefix="ww")  # no location anywhere: the assumption is said
        _tracked(clock, sink, fail=True)
        run = MlflowClient().get_run(mine.info.run_id)
        assert run.info.status == "RUNNING"  # the user's run: not ended by the sink
    assert run.data.metrics["ww.energy_j"] == pytest.approx(1400.0)
    assert "grid_intensity" in run.data.tags["ww.assumed"]
    assert "world average" in run.data.tags["ww.assumption.grid_intensity"]
    assert run.data.tags["ww.status"] == "failed"
    assert "no location given" in caplog.text
    assert len(MlflowClient().search_runs(["0"])) == 1  # no second run


def test_a_failed_run_ends_its_own_mlflow_run_failed(mlflow: Any, clock: FakeClock) -> None:
    from mlflow.tracking import MlflowClient

    from wattwise.integrations.mlflow import MlflowSink

    _tracked(clock, MlflowSink(context={"country": "DE"}), fail=True)
    (run,) = MlflowClient().search_runs(["0"])
    assert run.info.status == "FAILED"


def test_an_mlflow_failure_is_a_note_not_an_exception(mlflow: Any, clock: FakeClock) -> None:
    from wattwise.integrations.mlflow import MlflowSink

    sink = MlflowSink(run_id="0" * 32, context={"country": "FR"})  # no such run
    result = _tracked(clock, sink)
    assert result.energy.total_j == pytest.approx(1400.0)
    assert any(n.startswith("MLflow write failed") for n in result.notes), result.notes


def test_metric_names_are_what_every_store_accepts() -> None:
    from wattwise.integrations.mlflow import metric_name

    assert metric_name("wattwise", "window", "epoch 1/3: eval") == "wattwise.window.epoch_1_3_eval"
    assert metric_name("wattwise", "..") == "wattwise._"
    assert len(metric_name("w", "x" * 400)) == 250


def test_without_mlflow_the_sink_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from wattwise.errors import ConfigError
    from wattwise.integrations.mlflow import MlflowSink

    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'wattwise\[mlflow\]'"):
        MlflowSink()
