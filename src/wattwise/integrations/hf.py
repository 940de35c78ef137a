"""The Hugging Face ``Trainer`` measured: ``Trainer(..., callbacks=[WattwiseCallback()])``.

Works with every ``Trainer`` subclass (TRL's ``SFTTrainer``, ``Seq2SeqTrainer``, ...): it only
listens to the Trainer's events.

* **Run**: one per ``train()`` (and one per ``evaluate()`` / ``predict()`` called outside it),
  stored in the ledger (``store=True``: ``$WATTWISE_DB`` or the default file) with its context
  and footprint; ``callback.result`` / ``callback.footprint`` hold the last one.
* **Windows**: ``train``, ``epoch N`` (0-based, as ``state.epoch``), ``evaluate`` and
  ``predict``. The Trainer has no "evaluation begins" event: an evaluation window opens at its
  first prediction step (the dataloader's set-up before it is left out) and is named when the
  Trainer says which it was (``on_evaluate`` / ``on_predict``).
* **Counts**: ``steps`` (optimizer steps), ``samples`` and ``tokens`` of the training batches —
  tokens from ``state.num_input_tokens_seen`` when the Trainer tracks them
  (``include_num_input_tokens_seen``; summed over processes), else from the shape of the
  model's ``input_ids`` (padding included) read by a forward pre-hook on the model while it is
  in training mode; no device sync, no copy.
* **Tuning** (``tune=True``): the GPUs' power limit profiled during the first optimizer steps,
  the chosen one held, the originals restored at the end (:mod:`wattwise.integrations.tuning`;
  ``callback.tuning``).
* **Logs**: ``energy_j``, ``co2e_g``, ``j_per_token`` and the forecast of the whole training
  (from ``max_steps``) are added to every ``logs`` dict the Trainer logs, before the ``report_to``
  integrations (TensorBoard, W&B, MLflow, ...) see it: the callback moves itself ahead of them in
  the Trainer's callback list (just after ``DefaultFlowCallback``).

transformers is imported here only: ``import wattwise`` never imports it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

try:
    from transformers import TrainerCallback
    from transformers.trainer_callback import DefaultFlowCallback
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError(
        f"wattwise.integrations.hf needs transformers ({exc}): pip install 'wattwise[hf]'"
    ) from exc

from wattwise.integrations.training import MeteredCallback, TrainingMeter, batch_units, logger
from wattwise.integrations.tuning import TrainingTuner, TuneSpec

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.accounting.context import Context
    from wattwise.readers.base import Reader
    from wattwise.tracker.sink import RunSink
    from wattwise.tracker.sync import SyncSpec

__all__ = ["WattwiseCallback"]


def _tracks_tokens(args: Any) -> bool:
    return getattr(args, "include_num_input_tokens_seen", "no") not in ("no", False, None)


class WattwiseCallback(MeteredCallback, TrainerCallback):
    """Energy, carbon and J per token of a Hugging Face Trainer run (see the module docstring).

    ``name``: the run's name (default: ``args.run_name`` when set, else the model's class name).
    ``store``: the ledger (True: the default one; a path or URL; False: none). ``context``: where
    the energy is used, a :class:`~wattwise.accounting.Context` or settings such as
    ``{"country": "FR", "pue": 1.2}`` (over ``WATTWISE_*`` and ``[tool.wattwise]``). ``sinks``:
    further run sinks; ``mlflow=True`` adds an :class:`~wattwise.integrations.mlflow.MlflowSink`
    (energy, CO2e, cost, per-unit metrics and the run document in the active MLflow run).
    ``sync``: device sync at window boundaries
    (:mod:`wattwise.tracker.sync`). ``log_metrics=False`` keeps the Trainer's logs untouched.
    ``readers`` / ``interval_s``: as :class:`~wattwise.tracker.core.Tracker`. ``tune``: tune
    the GPUs' power limit during the fit (True, or a mapping of :func:`wattwise.power.tuned`
    arguments; :mod:`wattwise.integrations.tuning`). A bad context or argument, or tuning
    without the privilege, raises here, before training.
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
        readers: Sequence[Reader] | None = None,
        interval_s: float = 1.0,
        tune: TuneSpec = False,
    ) -> None:
        self.name = name
        self.log_metrics = log_metrics
        self.tuner = TrainingTuner(tune) if tune else None
        self.meter = TrainingMeter(
            store=store, context=context, sinks=sinks, mlflow=mlflow, sync=sync, readers=readers,
            interval_s=interval_s,
        )  # fmt: skip
        self._hook: Any = None
        self._samples = 0  # seen by the forward hook since the last optimizer step
        self._tokens = 0
        self._tokens_seen: float | None = None  # the Trainer's own count at the last step
        self._epoch = 0
        self._warned_order = False

    # ------------------------------------------------------------------ the Trainer's events
    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._go_first(args)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._go_first(args)
        model = kwargs.get("model")
        if self.tuner is not None:
            self.tuner.begin(type(model).__name__)
        total = state.max_steps - state.global_step if state.max_steps > 0 else None
        self.meter.begin(self._run_name(args, model), total_steps=total)
        self.meter.open("train")
        self._epoch = int(state.epoch or 0)  # resumed: epochs go on from there
        self._tokens_seen = float(state.num_input_tokens_seen) if _tracks_tokens(args) else None
        self._samples = self._tokens = 0
        self._watch(model)

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.meter.open("epoch", f"epoch {self._epoch}")

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.meter.close("epoch")
        self._epoch += 1

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._flush(state)
        self.meter.step(1)
        if self.tuner is not None:
            self.tuner.step()

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.meter.is_open("eval"):
            self.meter.begin(self._run_name(args, kwargs.get("model")), standalone=True)
            self.meter.open("eval", "evaluation")
            if self.tuner is not None:
                self.tuner.pause()

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._end_evaluation("evaluate")

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any, **kwargs: Any) -> None:
        self._end_evaluation("predict")

    def on_log(
        self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
    ) -> None:
        if not self.log_metrics or not isinstance(logs, dict):
            return
        metrics = self.meter.metrics()
        history = getattr(state, "log_history", None)
        # The Trainer appended a copy of ``logs`` to state.log_history just before on_log:
        # it gets the metrics too (trainer_state.json, ``trainer.state.log_history``).
        last = history[-1] if history else None
        if isinstance(last, dict) and all(k in last and last[k] is v for k, v in logs.items()):
            last.update(metrics)
        logs.update(metrics)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._flush(state)
        self._unwatch()
        self._tune_end()
        self.meter.end("finished")

    # ------------------------------------------------------------------ internals
    def _end_evaluation(self, name: str) -> None:
        if self.tuner is not None:
            self.tuner.resume()
        self.meter.close("eval", name)
        if self.meter.standalone:
            self.meter.end("finished")

    def _run_name(self, args: Any, model: Any) -> str:
        run_name = getattr(args, "run_name", None)
        if self.name:
            return self.name
        if run_name and run_name != getattr(args, "output_dir", None):
            return str(run_name)
        return type(model).__name__ if model is not None else "hf-trainer"

    def _flush(self, state: Any) -> None:
        """Count the work of the optimizer step that just ended."""
        samples, tokens = self._samples, float(self._tokens)
        self._samples = self._tokens = 0
        if self._tokens_seen is not None:
            now = float(state.num_input_tokens_seen)
            tokens, self._tokens_seen = max(0.0, now - self._tokens_seen), now
        self.meter.add_batch(samples, int(tokens))

    def _watch(self, model: Any) -> None:
        """A forward pre-hook that reads the training batches' shapes (samples, tokens)."""
        self._unwatch()
        register = getattr(model, "register_forward_pre_hook", None)
        if register is None:
            return
        main = getattr(model, "main_input_name", "input_ids")

        def seen(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if module.training:
                batch = {main: args[0], **kwargs} if args else kwargs
                samples, tokens = batch_units(batch)
                self._samples += samples
                self._tokens += tokens

        self._hook = register(seen, with_kwargs=True)

    def _unwatch(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _go_first(self, args: Any) -> None:
        """Stand just after ``DefaultFlowCallback`` in the Trainer's callback list, ahead of the
        ``report_to`` integrations, so the numbers added to ``logs`` reach them.

        The Trainer puts the user's callbacks after its reporting ones and gives a callback no
        handle on the list; the list is the one of the caller (``CallbackHandler.call_event``),
        reordered in place (the loop calling us goes on correctly: only entries it already
        visited move). When it cannot be found, one warning says the metrics reach only the
        callbacks after this one.
        """
        frame: FrameType | None = sys._getframe(1)
        for _ in range(4):
            if frame is None:
                break
            callbacks = getattr(frame.f_locals.get("self"), "callbacks", None)
            if isinstance(callbacks, list) and any(c is self for c in callbacks):
                rest = [c for c in callbacks if c is not self]
                i = 0
                while i < len(rest) and isinstance(rest[i], DefaultFlowCallback):
                    i += 1
                wanted = [*rest[:i], self, *rest[i:]]
                if any(a is not b for a, b in zip(wanted, callbacks, strict=True)):
                    callbacks[:] = wanted
                return
            frame = frame.f_back
        if getattr(args, "report_to", None) and not self._warned_order:
            self._warned_order = True
            logger.warning(
                "wattwise: cannot find the Trainer's callback list: energy metrics reach only "
                "the callbacks after WattwiseCallback, maybe not report_to=%s",
                args.report_to,
            )
