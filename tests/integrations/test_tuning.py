"""``tune=True`` in real fits: a Hugging Face Trainer (tiny GPT-2) and a Lightning fit (tiny LM),
on CPU, each driving a simulated memory-bound GPU: the first steps are the profile, the chosen
limit is held for the rest, the saving and slowdown are measured against the default in the same
run, and the originals come back at the end (and when a Lightning fit raises)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.conftest import fake_device, require
from integrations.test_hf import trainer as hf_trainer
from integrations.test_lightning import TinyLM, fit_trainer, loader
from integrations.test_lightning import WattwiseCallback as LightningCallback
from wattwise.power.nvml_control import PRIVILEGE_LINE, PrivilegeError
from wattwise.power.state import state_path
from wattwise.power.tuner import TuneOptions

require("transformers", "hf")
pl = require("lightning.pytorch", "lightning")

from wattwise.integrations.hf import WattwiseCallback as HfCallback  # noqa: E402

#: A short profile (9 steps on the memory-bound shape: default, 300 W, 200 W) for a short fit.
QUICK = TuneOptions(grid_step_w=100.0, warmup_steps=1, steps_per_setting=2, min_measure_s=0.1)
SIM: dict[str, Any] = {"simulated_gpu": "memory-bound", "options": QUICK, "reuse": False}
STEPS = 12


def _check(tuning: dict[str, Any] | None, steps: int) -> None:
    assert tuning is not None and tuning["simulated"] is True and tuning["tuned"] is True
    assert tuning["restored"] is True and not state_path().exists()
    assert tuning["default"]["power_limit_w"] == 700.0  # measured in the same run
    assert tuning["chosen"]["power_limit_w"] < 700.0
    assert tuning["energy_saving"] >= 0.15 and tuning["slowdown"] <= 0.02
    profiled = tuning["tuning_cost"]["profiling_steps"]
    assert tuning["steps"] == steps and tuning["held"]["steps"] == steps - profiled > 0


def test_hf_trainer_tunes_holds_and_restores(tmp_path: Path) -> None:
    cb = HfCallback(store=False, context={"country": "FR"}, readers=[fake_device()], tune=SIM)
    tr = hf_trainer(tmp_path, [cb], n=4, max_steps=STEPS, per_device_train_batch_size=2)
    tr.train()
    _check(cb.tuning, STEPS)
    assert cb.result is not None
    assert any("wattwise tune (SIMULATED GPU): held" in n for n in cb.result.notes)


def test_lightning_fit_tunes_holds_and_restores_also_when_it_raises(tmp_path: Path) -> None:
    cb = LightningCallback(store=False, context={"country": "FR"}, readers=[fake_device()],
                           tune=SIM, log_every_n_steps=100)  # fmt: skip
    short: dict[str, Any] = {"max_steps": STEPS, "max_epochs": -1, "num_sanity_val_steps": 0,
                             "limit_val_batches": 0}  # fmt: skip
    validating = {**short, "limit_val_batches": 1, "val_check_interval": 4}  # paused inside
    fit_trainer(tmp_path, cb, False, **validating).fit(TinyLM(), loader(8, 1), loader(2, 1))
    _check(cb.tuning, STEPS)

    class Broken(TinyLM):
        def training_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
            if batch_idx == 6:
                raise RuntimeError("out of memory")
            return super().training_step(batch, batch_idx)

    trainer = fit_trainer(tmp_path, cb, False, **short)
    with pytest.raises(RuntimeError, match="out of memory"):
        trainer.fit(Broken(), loader(8, batch_size=1))
    assert cb.tuning is not None and cb.tuning["restored"] is True
    assert cb.tuning["tuned"] is False and "during profiling" in cb.tuning["note"]
    assert not state_path().exists()


def test_tuning_without_privilege_refuses_before_training() -> None:
    for callback in (HfCallback, LightningCallback):
        with pytest.raises(PrivilegeError) as err:
            callback(store=False, readers=[fake_device()], tune={"privileged": lambda: False})
        assert str(err.value) == PRIVILEGE_LINE
