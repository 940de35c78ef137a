"""WattwiseCallback in a real Hugging Face Trainer: a tiny GPT-2 from a config, CPU, no download."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from integrations.conftest import SEQ_LEN, VOCAB, fake_device, require, token_rows
from wattwise.ledger import Ledger

torch = require("torch", "hf")
transformers = require("transformers", "hf")
require("accelerate", "hf")

from wattwise.integrations.hf import WattwiseCallback  # noqa: E402


class Rows(torch.utils.data.Dataset):  # type: ignore[misc]
    """Causal-LM rows of token ids: ``input_ids`` and ``labels``."""

    def __init__(self, n: int) -> None:
        self.rows = [torch.tensor(r) for r in token_rows(n)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.rows[i], "labels": self.rows[i]}


class Reporter(transformers.TrainerCallback):  # type: ignore[misc]
    """Stands where a report_to integration stands (ahead of the user's callbacks): records
    what it is given to log."""

    def __init__(self) -> None:
        self.logs: list[dict[str, float]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        self.logs.append(dict(logs))


def tiny_gpt2() -> Any:
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        n_layer=1, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=SEQ_LEN,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    return transformers.GPT2LMHeadModel(cfg)


def trainer(tmp_path: Path, callbacks: list[Any], n: int = 8, **args: Any) -> Any:
    settings: dict[str, Any] = {
        "output_dir": str(tmp_path / "out"), "use_cpu": True, "report_to": [],
        "per_device_train_batch_size": 4, "per_device_eval_batch_size": 4, "num_train_epochs": 2,
        "logging_steps": 1, "save_strategy": "no", "disable_tqdm": True, **args,
    }  # fmt: skip
    return transformers.Trainer(
        model=tiny_gpt2(),
        args=transformers.TrainingArguments(**settings),
        train_dataset=Rows(n),
        eval_dataset=Rows(4),
        callbacks=callbacks,
    )


def test_a_trainer_run_is_measured_logged_and_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no wattwise.toml / [tool.wattwise] here: no location at all
    db = tmp_path / "runs.db"
    reporter = Reporter()
    cb = WattwiseCallback(store=str(db), readers=[fake_device()], interval_s=0.05)
    tr = trainer(tmp_path, [reporter, cb], eval_strategy="epoch")
    with caplog.at_level(logging.INFO, logger="wattwise"):
        tr.train()
    res = cb.result
    assert res is not None and res.status == "finished"
    assert res.name == "GPT2LMHeadModel"
    # 8 rows, batch 4, 2 epochs: 4 optimizer steps, 16 samples of 16 tokens.
    assert res.counts == {"steps": 4, "samples": 16, "tokens": 16 * SEQ_LEN}
    names = Counter(w.name for w in res.windows)
    assert names == {"train": 1, "epoch 0": 1, "epoch 1": 1, "evaluate": 2}
    by_name = {w.name: w for w in res.windows}
    assert by_name["epoch 0"].parent == "train"
    assert by_name["epoch 0"].counts == {"samples": 8, "tokens": 8 * SEQ_LEN}
    assert by_name["evaluate"].counts == {}  # evaluation batches are not training tokens
    assert all(w.energy.total_j > 0 for w in res.windows)

    # The metrics reached a callback that runs ahead of ours, as report_to integrations do.
    train_logs = [g for g in reporter.logs if "loss" in g]
    assert len(train_logs) == 4
    for g in train_logs:
        assert g["energy_j"] > 0 and g["co2e_g"] > 0 and g["j_per_token"] > 0
    assert all(g["forecast_energy_j"] > 0 for g in train_logs)
    assert train_logs[-1]["energy_j"] > train_logs[0]["energy_j"]
    assert any("eval_loss" in g and g["energy_j"] > 0 for g in reporter.logs)
    history = [g for g in tr.state.log_history if "loss" in g]  # trainer_state.json has them too
    assert [g["energy_j"] for g in history] == [g["energy_j"] for g in train_logs]

    # No location given: the world average was assumed, and it was said.
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("world average assumed" in m and "WATTWISE_COUNTRY" in m for m in said), said
    assert any("world average assumed" in n for n in res.notes)
    assert any("wattwise: forecast at" in r.getMessage() for r in caplog.records)
    assert any("stored in the ledger" in r.getMessage() for r in caplog.records)

    with Ledger.open(str(db), readonly=True) as led:
        stored = led.get_run(res.run_id, with_samples=False)
        extra = led.get_extra(res.run_id)
    assert stored.counts == res.counts
    assert Counter(w.name for w in stored.windows) == names
    assert extra["context"] == {}
    assert extra["footprint"]["location"] == "world average (assumed)"
    assert cb.footprint is not None and cb.footprint.co2e_location_g > 0

    # predict() outside train(): a run of its own, with a predict window.
    tr.predict(Rows(4))
    assert cb.result is not None and cb.result.run_id != res.run_id
    assert [w.name for w in cb.result.windows] == ["predict"]


def test_tokens_from_the_trainer_context_given_and_nothing_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cb = WattwiseCallback(
        "tiny", store=False, context={"country": "FR"}, readers=[fake_device()], interval_s=0.05
    )
    tr = trainer(tmp_path, [cb], num_train_epochs=1, gradient_accumulation_steps=2,
                 include_num_input_tokens_seen="all")  # fmt: skip
    with caplog.at_level(logging.INFO, logger="wattwise"):
        tr.train()
    res = cb.result
    assert res is not None and res.name == "tiny"
    # 2 micro-batches per optimizer step: 1 step; tokens as the Trainer counted them.
    assert res.counts == {"steps": 1, "samples": 8, "tokens": tr.state.num_input_tokens_seen}
    assert tr.state.num_input_tokens_seen == 8 * SEQ_LEN
    assert cb.footprint is not None and "FR" in cb.footprint.location
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [n for n in res.notes if "assumed" in n]
    assert not Path(str(tmp_path / "ledger.db")).exists()  # the isolated default: untouched


def test_mlflow_true_logs_the_trainer_run_to_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations.requires import module

    mlflow = module("mlflow", "mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    cb = WattwiseCallback("tiny-mlflow", store=False, mlflow=True, context={"country": "FR"},
                          readers=[fake_device()], interval_s=0.05)  # fmt: skip
    try:
        with mlflow.start_run() as active:
            trainer(tmp_path, [cb], n=4, num_train_epochs=1).train()
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
    res = cb.result
    assert res is not None and res.status == "finished"
    got = mlflow.tracking.MlflowClient(tracking_uri=uri).get_run(active.info.run_id)
    assert got.data.metrics["wattwise.energy_j"] == pytest.approx(res.energy.total_j)
    assert got.data.metrics["wattwise.window.train.energy_j"] > 0
    assert got.data.metrics["wattwise.j_per_token"] > 0
    assert not any("MLflow write failed" in n for n in res.notes)
