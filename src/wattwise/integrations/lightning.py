"""Lightning measured: ``lightning.Trainer(..., callbacks=[WattwiseCallback()])``.

The same behaviour as the Hugging Face callback (:mod:`wattwise.integrations.hf`; both drive
one :class:`~wattwise.integrations.training.TrainingMeter`):

* **Run**: one per ``fit()`` (and one per ``validate()`` / ``test()`` / ``predict()`` called
  outside it), stored in the ledger with its context and footprint; a fit that raises ends its
  run as ``failed`` (``interrupted`` for Ctrl-C) through ``on_exception``.
* **Windows**: ``train``, ``epoch N`` (``trainer.current_epoch``), ``sanity check``,
  ``evaluate`` (validation), ``test`` and ``predict``.
* **Counts**: ``steps`` (optimizer steps: ``trainer.global_step``), ``samples`` and ``tokens`` of
  each training batch, from shapes only (:func:`~wattwise.integrations.training.batch_units`:
  tokens from a mapping batch's ``input_ids``; other work with ``callback.count(...)``).
* **Tuning** (``tune=True``): the GPUs' power limit profiled during the first optimizer steps,
  the chosen one held, the originals restored when training ends or the fit raises
  (:mod:`wattwise.integrations.tuning`; ``callback.tuning``).
* **Logs**: ``energy_j``, ``co2e_g``, ``j_per_token`` and the forecast (from ``max_steps``, else
  ``trainer.estimated_stepping_batches``) go to every logger of the trainer
  (``logger.log_metrics``) every ``log_every_n_steps`` optimizer steps (the trainer's, unless
  given) and once when training ends. They are computed only then: reading the devices every
  batch would cost more than the batch on a small model.

lightning is imported here only (``lightning.pytorch``; ``import wattwise`` never imports it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

try:
    from lightning.pytorch import Callback
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError(
        f"wattwise.integrations.lightning needs lightning ({exc}): "
        "pip install 'wattwise[lightning]'"
    ) from exc

from wattwise.errors import ConfigError
from wattwise.integrations.training import MeteredCallback, TrainingMeter, batch_units
from wattwise.integrations.tuning import TrainingTuner, TuneSpec

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.accounting.context import Context
    from wattwise.readers.base import Reader
    from wattwise.tracker.sink import RunSink
    from wattwise.tracker.sync import SyncSpec

__all__ = ["WattwiseCallback"]

#: The window each evaluation stage gets, by the trainer's hook names.
_STAGES = {"validation": "evaluate", "test": "test", "predict": "predict"}


def _total_steps(trainer: Any) -> int | None:
    """The optimizer steps the fit will take: ``max_steps``, else Lightning's estimate."""
    if getattr(trainer, "max_steps", -1) > 0:
        return int(trainer.max_steps)
    try:
        n = trainer.estimated_stepping_batches
    except Exception:  # an iterable dataset without a length: no forecast
        return None
    return int(n) if isinstance(n, int | float) and math.isfinite(n) and n > 0 else None


class WattwiseCallback(MeteredCallback, Callback):  # type: ignore[misc]  # lightning is untyped here
    """Energy, carbon and J per token of a Lightning fit (see the module docstring).

    ``name``: the run's name (default: the LightningModule's class name). ``store``,
    ``context``, ``sinks``, ``sync``, ``readers``, ``interval_s``: as the Hugging Face
    callback's (:class:`wattwise.integrations.hf.WattwiseCallback`). ``log_metrics=False``: log
    nothing to the trainer's loggers; ``log_every_n_steps``: how often (optimizer steps) they
    get the metrics (default: the trainer's ``log_every_n_steps``). ``tune``: as the Hugging
    Face callback's (True, or a mapping of :func:`wattwise.power.tuned` arguments).
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        store: bool | str = True,
        context: Context | Mapping[str, object] | None = None,
        sinks: Sequence[RunSink] = (),
        mlflow: bool = False,
        sync: SyncSpec = "auto",
        log_metrics: bool = True,
        log_every_n_steps: int | None = None,
        readers: Sequence[Reader] | None = None,
        interval_s: float = 1.0,
        tune: TuneSpec = False,
    ) -> None:
        if log_every_n_steps is not None and log_every_n_steps < 1:
            raise ConfigError(f"log_every_n_steps={log_every_n_steps}: give 1 or more")
        self.name = name
        self.log_metrics = log_metrics
        self.log_every_n_steps = log_every_n_steps
        self.meter = TrainingMeter(
            store=store, context=context, sinks=sinks, mlflow=mlflow, sync=sync, readers=readers,
            interval_s=interval_s,
        )  # fmt: skip
        self._step = 0  # trainer.global_step at the last step counted
        self.tuner = TrainingTuner(tune) if tune else None

    # ------------------------------------------------------------------ fit
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._step = int(trainer.global_step)
        self.meter.begin(self._run_name(pl_module), total_steps=_total_steps(trainer))

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if self.tuner is not None:
            self.tuner.begin(type(pl_module).__name__)
        self.meter.open("train")

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.meter.open("epoch", f"epoch {trainer.current_epoch}")

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        samples, tokens = batch_units(batch)
        self.meter.add_batch(samples, tokens)
        step = int(trainer.global_step)
        if step > self._step:  # an optimizer step ended (not every batch: accumulation)
            self.meter.step(step - self._step)
            if self.tuner is not None:
                self.tuner.step(step - self._step)
            self._step = step
            every = self.log_every_n_steps or getattr(trainer, "log_every_n_steps", 50) or 50
            if step % every == 0:
                self._log(trainer)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.meter.close("epoch")

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._tune_end()
        self.meter.close("train")
        self._log(trainer)  # the loggers are still open here (not in on_fit_end)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self.meter.end("finished")

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._tune_end(exception)
        status = "interrupted" if isinstance(exception, KeyboardInterrupt) else "failed"
        self.meter.end(status, note=f"the fit raised {type(exception).__name__}")

    # ------------------------------------------------------------------ evaluation stages
    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None:
        self.meter.open("sanity", "sanity check")

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        self.meter.close("sanity")

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        if not getattr(trainer, "sanity_checking", False):
            if self.tuner is not None:
                self.tuner.pause()  # not training steps: out of the power profile
            self._stage_start("validation", pl_module)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not getattr(trainer, "sanity_checking", False):
            if self.tuner is not None:
                self.tuner.resume()
            self._stage_end("validation")

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._stage_start("test", pl_module)

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        self._stage_end("test")

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        self._stage_start("predict", pl_module)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        self._stage_end("predict")

    # ------------------------------------------------------------------ internals
    def _stage_start(self, stage: str, pl_module: Any) -> None:
        self.meter.begin(self._run_name(pl_module), standalone=True)  # inside a fit: nothing
        self.meter.open(stage, _STAGES[stage])

    def _stage_end(self, stage: str) -> None:
        self.meter.close(stage)
        if self.meter.standalone:
            self.meter.end("finished")

    def _run_name(self, pl_module: Any) -> str:
        return self.name or type(pl_module).__name__

    def _log(self, trainer: Any) -> None:
        if not self.log_metrics:
            return
        metrics = self.meter.metrics()
        if not metrics:
            return
        for lg in getattr(trainer, "loggers", ()):
            lg.log_metrics(metrics, step=int(trainer.global_step))
