"""WattwiseCallback in a real Lightning fit: a tiny LightningModule language model on CPU."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from integrations.conftest import SEQ_LEN, VOCAB, fake_device, require, token_rows
from wattwise.ledger import Ledger

torch = require("torch", "lightning")
pl = require("lightning.pytorch", "lightning")

from wattwise.errors import ConfigError  # noqa: E402
from wattwise.integrations.lightning import WattwiseCallback  # noqa: E402


class TinyLM(pl.LightningModule):  # type: ignore[misc]
    """Next-token prediction with an embedding and a linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, 16)
        self.out = torch.nn.Linear(16, VOCAB)

    def _loss(self, batch: dict[str, Any]) -> Any:
        ids = batch["input_ids"]
        logits = self.out(self.emb(ids[:, :-1]))
        return torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
        return self._loss(batch)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
        return self._loss(batch)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
        return self._loss(batch)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Recorder(pl.loggers.Logger):  # type: ignore[misc]
    """A logger that keeps what it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[tuple[int | None, dict[str, float]]] = []

    @property
    def name(self) -> str:
        return "recorder"

    @property
    def version(self) -> str:
        return "0"

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.metrics.append((step, dict(metrics)))


def loader(n: int, batch_size: int = 4) -> Any:
    rows = [{"input_ids": torch.tensor(r)} for r in token_rows(n)]
    return torch.utils.data.DataLoader(rows, batch_size=batch_size)


def fit_trainer(tmp_path: Path, cb: WattwiseCallback, logger: Any, **kw: Any) -> Any:
    settings: dict[str, Any] = {
        "accelerator": "cpu", "devices": 1, "max_epochs": 2, "logger": logger,
        "enable_checkpointing": False, "enable_progress_bar": False,
        "enable_model_summary": False, "log_every_n_steps": 1, "num_sanity_val_steps": 1,
        "default_root_dir": str(tmp_path), **kw,
    }  # fmt: skip
    return pl.Trainer(callbacks=[cb], **settings)


def test_a_lightning_fit_is_measured_logged_and_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no wattwise.toml / [tool.wattwise] here: no location at all
    db = tmp_path / "runs.db"
    cb = WattwiseCallback(store=str(db), readers=[fake_device()], interval_s=0.05)
    rec = Recorder()
    trainer = fit_trainer(tmp_path, cb, rec)
    torch.manual_seed(0)
    model = TinyLM()
    with caplog.at_level(logging.INFO, logger="wattwise"):
        trainer.fit(model, loader(8), loader(4))
    res = cb.result
    assert res is not None and res.status == "finished" and res.name == "TinyLM"
    assert res.counts == {"steps": 4, "samples": 16, "tokens": 16 * SEQ_LEN}
    names = Counter(w.name for w in res.windows)
    assert names == {"sanity check": 1, "train": 1, "epoch 0": 1, "epoch 1": 1, "evaluate": 2}
    by_name = {w.name: w for w in res.windows}
    assert by_name["epoch 1"].parent == "train"
    assert by_name["epoch 1"].counts == {"samples": 8, "tokens": 8 * SEQ_LEN}
    assert all(w.energy.total_j > 0 for w in res.windows)

    ours = [(step, m) for step, m in rec.metrics if "energy_j" in m]
    assert [step for step, _m in ours] == [1, 2, 3, 4, 4]  # each step, and at the end
    for _step, m in ours:
        assert m["energy_j"] > 0 and m["co2e_g"] > 0 and m["j_per_token"] > 0
        assert m["forecast_energy_j"] > 0
    assert ours[-1][1]["energy_j"] > ours[0][1]["energy_j"]

    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("world average assumed" in m for m in said), said
    with Ledger.open(str(db), readonly=True) as led:
        stored = led.get_run(res.run_id, with_samples=False)
        extra = led.get_extra(res.run_id)
    assert stored.counts == res.counts and Counter(w.name for w in stored.windows) == names
    assert extra["footprint"]["location"] == "world average (assumed)"

    # test() outside fit(): a run of its own.
    trainer.test(model, loader(4), verbose=False)
    assert cb.result is not None and cb.result.run_id != res.run_id
    assert [w.name for w in cb.result.windows] == ["test"]


def test_a_fit_that_raises_ends_its_run_as_failed(tmp_path: Path) -> None:
    class Broken(TinyLM):
        def training_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
            if batch_idx == 1:
                raise RuntimeError("out of memory")
            return super().training_step(batch, batch_idx)

    cb = WattwiseCallback(store=False, context={"country": "DE"}, readers=[fake_device()],
                          log_every_n_steps=10)  # fmt: skip
    trainer = fit_trainer(tmp_path, cb, Recorder(), num_sanity_val_steps=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        trainer.fit(Broken(), loader(8), loader(4))
    res = cb.result
    assert res is not None and res.status == "failed"
    assert res.counts == {"steps": 1, "samples": 4, "tokens": 4 * SEQ_LEN}
    assert "the fit raised RuntimeError" in res.notes
    assert cb.footprint is not None and "DE" in cb.footprint.location
    with pytest.raises(ConfigError, match="log_every_n_steps"):
        WattwiseCallback(log_every_n_steps=0)
