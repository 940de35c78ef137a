"""What the training-framework callbacks share: a run per fit, its windows, counts and metrics.

The Hugging Face and Lightning callbacks translate their framework's events into calls on one
:class:`TrainingMeter`:

* **a run** per fit (``Trainer.train()``, ``lightning.Trainer.fit()``), or per evaluate / test /
  predict called outside a fit; written to the ledger named by ``store`` as it goes (``True``:
  ``$WATTWISE_DB`` or the default file; a path or URL; ``False``: nowhere) with its accounting
  context and footprint, as ``wattwise run`` stores them;
* **windows** (``train``, ``epoch N``, ``evaluate``, ``predict``, ...), each opened and closed
  after the device's queued work is done (``Tracker(sync=...)``, default ``"auto"``);
* **counts**: ``samples``, ``tokens`` (see :func:`batch_units`) and ``steps`` (optimizer steps,
  which also drive the forecast);
* **live metrics** for the framework's loggers (:meth:`TrainingMeter.metrics`): ``energy_j`` (the
  run so far, J), ``co2e_g`` (facility energy × location-based grid intensity, gCO2e),
  ``j_per_token`` (the run's energy so far over the tokens so far) and, once a step was seen,
  ``forecast_energy_j`` / ``forecast_co2e_g`` / ``forecast_remaining_s`` of the whole training
  (from ``max_steps``; the human line goes to the ``wattwise`` logger at INFO).

The accounting context comes the usual way: the callback's ``context=`` (a
:class:`~wattwise.accounting.Context`, or settings such as ``{"country": "FR"}``, the CLI's
flags) > ``WATTWISE_*`` environment variables > ``wattwise.toml`` / ``[tool.wattwise]`` in the
working directory. When none gives a location, the world-average grid intensity is assumed and
**said**: a warning on the ``wattwise`` logger and a note in the stored run.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wattwise.accounting.context import (
    Context,
    check_context,
    default_config_paths,
    resolve_context,
)
from wattwise.accounting.site import SiteFactors, resolve_site
from wattwise.core.provenance import Provenance
from wattwise.errors import WattwiseError
from wattwise.units import format_duration, format_energy, format_mass_g, format_si, j_to_kwh

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.accounting.footprint import Footprint
    from wattwise.integrations.tuning import TrainingTuner
    from wattwise.readers.base import Reader
    from wattwise.tracker.core import Tracker, Window
    from wattwise.tracker.model import RunResult
    from wattwise.tracker.sink import RunSink
    from wattwise.tracker.sync import SyncSpec

logger = logging.getLogger("wattwise")

#: A forecast is recomputed only when this many times its own cost has passed since the last
#: one (its cost grows with the steps seen, up to ~10 ms): at most 0.5 % of the wall time,
#: whatever the logging cadence; in between, the last one is logged again.
FORECAST_COST_FACTOR = 200.0
#: Step ends kept before they are handed to the tracker anyway (a fit that never logs).
MAX_PENDING_STEPS = 1000

#: How to give a location, said with the assumption when none was given.
HOW_TO_LOCATE = (
    "give one: WattwiseCallback(context={'country': 'FR'}), WATTWISE_COUNTRY=FR or "
    "country = 'FR' under [tool.wattwise] in pyproject.toml"
)


def training_context(context: Context | Mapping[str, object] | None) -> Context:
    """The accounting context of a training run: a :class:`Context` as given (checked against
    the tables), else ``context`` as flags > ``WATTWISE_*`` environment > config files in the
    working directory (:func:`wattwise.accounting.context.resolve_context`). Raises
    ConfigError / UnknownKeyError for a bad value, naming where it came from."""
    if isinstance(context, Context):
        return check_context(context)
    return resolve_context(dict(context or {}), os.environ, default_config_paths(Path.cwd()))


def assumed_grid_line(site: SiteFactors) -> str | None:
    """The sentence that says the grid intensity was assumed (None when it was not)."""
    for a in site.assumptions:
        if a.name == "grid_intensity" and a.provenance is Provenance.ASSUMED:
            return f"CO2e uses {float(a.value):.0f} gCO2e/kWh: {a.source}; {HOW_TO_LOCATE}"
    return None


def _shape(x: object) -> tuple[int, ...] | None:
    shape = getattr(x, "shape", None)
    if shape is None:
        return None
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        return None
    return dims or None


def _first_shape(batch: object) -> tuple[int, ...] | None:
    items: Sequence[object]
    if isinstance(batch, Mapping):
        items = list(batch.values())
    elif isinstance(batch, (list, tuple)):
        items = batch
    else:
        items = [batch]
    for item in items:
        if (shape := _shape(item)) is not None:
            return shape
    return None


def batch_units(batch: object) -> tuple[int, int]:
    """(samples, tokens) of a batch, from tensor shapes only (no device sync, nothing copied).

    ``tokens``: the positions of the batch's ``input_ids`` (a mapping key), padding included —
    what the HF Trainer counts with ``include_num_input_tokens_seen="all"``; 0 without
    ``input_ids``. ``samples``: the first dimension of ``input_ids`` (1 for a single 1-D
    sequence), else of the batch's first tensor; 0 when nothing in it has a shape.
    """
    ids = batch.get("input_ids") if isinstance(batch, Mapping) else None
    shape = _shape(ids)
    if shape is not None:
        return (1 if len(shape) == 1 else shape[0]), math.prod(shape)
    first = _first_shape(batch)
    return (first[0] if first else 0), 0


class MeteredCallback:
    """What both framework callbacks expose of their :class:`TrainingMeter` (``self.meter``)."""

    meter: TrainingMeter
    tuner: TrainingTuner | None = None

    @property
    def tuning(self) -> dict[str, Any] | None:
        """With ``tune=True``: the last fit's power tuning (:mod:`wattwise.integrations.tuning`)."""
        return self.tuner.report if self.tuner is not None else None

    def _tune_end(self, exc: BaseException | None = None) -> None:
        """Restore the GPU settings of a tuned fit; its summary becomes a note of the run."""
        line = self.tuner.end(exc) if self.tuner is not None else None
        if line:
            self.meter.add_note(line)

    @property
    def result(self) -> RunResult | None:
        """The last finished run (None before one ended)."""
        return self.meter.result

    @property
    def footprint(self) -> Footprint | None:
        """The last run's footprint in its context."""
        return self.meter.footprint

    def count(self, **units: object) -> None:
        """Count more work in the current run (``callback.count(images=32)``)."""
        self.meter.count(**units)


class TrainingMeter:
    """A tracked run per fit (or per evaluation outside one), driven by a callback.

    Construction checks everything that could fail (the context against the tables, the
    tracker's arguments, ``store``), so a mistake stops the script before training starts; once
    a run began, nothing here raises into the training loop (the tracker's rule).
    """

    def __init__(
        self,
        *,
        store: bool | str = True,
        context: Context | Mapping[str, object] | None = None,
        sinks: Sequence[RunSink] = (),
        mlflow: bool = False,
        sync: SyncSpec = "auto",
        readers: Sequence[Reader] | None = None,
        interval_s: float = 1.0,
    ) -> None:
        from wattwise.api import LedgerOpener
        from wattwise.push.sink import with_env_sink
        from wattwise.tracker.core import Tracker

        self.context = training_context(context)
        if mlflow:  # the same context as the run's footprint
            from wattwise.integrations.mlflow import MlflowSink

            sinks = (*sinks, MlflowSink(context=self.context))
        sinks = with_env_sink(sinks, context=self.context)  # $WATTWISE_SERVER_URL: push runs
        self.site = resolve_site(self.context)
        self._opener = None if store is False else LedgerOpener(store)
        #: The tracker's clock: step ends are stamped with it, handed over later (see step()).
        self._clock = time.monotonic
        self._tracker_kwargs: dict[str, Any] = {
            "readers": readers, "interval_s": interval_s, "sinks": tuple(sinks), "sync": sync,
            "clock": self._clock,
        }  # fmt: skip
        Tracker("check", **{**self._tracker_kwargs, "readers": []})  # ConfigError now, not later
        self.tracker: Tracker | None = None
        self.result: RunResult | None = None
        self.footprint: Footprint | None = None
        self.standalone = False
        self.total_steps: int | None = None
        self.tokens = 0.0
        self._windows: dict[str, Window] = {}
        #: Samples and tokens of batches not yet given to the tracker: handed over before any
        #: window opens or closes, at each log and at the end (the same windows get them, for
        #: 2 float additions per batch instead of a locked, validated count).
        self._pending = {"samples": 0, "tokens": 0}
        self._steps: list[tuple[float, int]] = []  # (clock time, steps) not yet handed over
        self._forecast: Any = None
        self._forecast_at = self._forecast_cost_s = 0.0
        self._ledger: Any = None
        self._said = False

    @property
    def running(self) -> bool:
        return self.tracker is not None

    # ------------------------------------------------------------------ the run
    def begin(self, name: str, *, total_steps: int | None = None, standalone: bool = False) -> None:
        """Start a run named ``name`` (``total_steps``: optimizer steps it will take, for the
        forecast). ``standalone``: an evaluation outside a fit — inside one (a run is going),
        nothing happens. A run still going when a fit begins (the last fit raised) is ended
        first, as ``interrupted``."""
        if self.tracker is not None:
            if standalone:
                return
            self.end("interrupted", note="the run was still going when the next fit began "
                     "(the training raised?): ended there")  # fmt: skip
        import wattwise.accounting.runs
        import wattwise.estimate.forecast  # noqa: F401 - imported now, not at the first log
        from wattwise.tracker.core import Tracker

        sink, failure = self._open_ledger()
        t = Tracker(name, sink=sink, **self._tracker_kwargs)
        if failure:
            t.add_note(f"ledger not used: {failure}")
        line = assumed_grid_line(self.site)
        if line:
            t.add_note(line)
            if not self._said:
                self._said = True
                logger.warning("wattwise: %s", line)
        self.tracker, self.standalone = t, standalone
        self.total_steps = total_steps if total_steps is not None and total_steps > 0 else None
        self.tokens = 0.0  # result / footprint: the last finished run's until this one ends
        self._pending = {"samples": 0, "tokens": 0}
        self._steps = []
        self._forecast, self._forecast_at, self._forecast_cost_s = None, 0.0, 0.0
        self._windows.clear()
        atexit.register(self._at_exit)
        t.start()

    def end(self, status: str = "finished", *, note: str | None = None) -> RunResult | None:
        """Stop the run (open windows close now), account it, store its context and footprint
        beside it and log one summary line (INFO). Returns its result (the last one when no run
        is going)."""
        t = self.tracker
        if t is None:
            return self.result
        self.tracker = None
        atexit.unregister(self._at_exit)
        self._windows.clear()
        self._hand_over(t)
        if note:
            t.add_note(note)
        result = t.stop(status=status)
        from wattwise.accounting.runs import footprint_of

        self.footprint = None
        try:
            self.footprint = footprint_of(result, self.context)
        except WattwiseError as exc:
            logger.warning("wattwise: footprint not computed: %s", exc)
        self.result = result
        stored = self._store_extras(result)
        logger.info("wattwise: %s", self.summary(stored))
        return result

    def summary(self, stored: str = "") -> str:
        """One line: energy, duration, CO2e, J per token, and where the run was stored."""
        r = self.result
        if r is None:
            return "no run yet"
        parts = [f"{r.name}: {format_energy(r.energy.total_j)} {r.energy.label} in "
                 f"{format_duration(r.duration_s)}"]  # fmt: skip
        if self.footprint is not None:
            parts.append(f"{format_mass_g(self.footprint.co2e_location_g)} CO2e "
                         f"({self.footprint.location})")  # fmt: skip
        per = r.energy_per().get("tokens")
        if per is not None:
            parts.append(f"{format_si(per, 'J')} per token")
        return ", ".join(parts) + (f"; {stored}" if stored else "")

    def _open_ledger(self) -> tuple[Any, str]:
        """(the ledger or None, why it could not be opened)."""
        self._ledger = None
        if self._opener is None:
            return None, ""
        try:
            self._ledger = self._opener()
        except Exception as exc:  # never hurt the training: the run stays in memory
            return None, str(exc)
        return self._ledger, ""

    def _store_extras(self, result: RunResult) -> str:
        """The run's context and footprint into the ledger, then close it; the outcome line."""
        ledger, self._ledger = self._ledger, None
        if ledger is None:
            return ""
        try:
            ledger.set_extra(result.run_id, "context", self.context.to_dict())
            if self.footprint is not None:
                ledger.set_extra(result.run_id, "footprint", self.footprint.to_dict())
            ledger.settle(result.run_id)
            line = str(ledger.outcome(result.run_id).line())
        except WattwiseError as exc:
            line = f"footprint not stored: {exc}"
        finally:
            ledger.close()
        return line

    def _at_exit(self) -> None:
        self.end("interrupted", note="the process exited before the fit's end event (the "
                 "training raised?): the run was ended at exit")  # fmt: skip

    # ------------------------------------------------------------------ windows and counts
    def open(self, key: str, name: str | None = None) -> None:
        """Open window ``name`` (default ``key``) under ``key``, unless one is open there."""
        if self.tracker is not None and key not in self._windows:
            self._hand_over(self.tracker)
            self._windows[key] = self.tracker.start_window(name or key)

    def close(self, key: str, name: str | None = None) -> None:
        """Close the window open under ``key``; ``name``: its name, when only known now (the HF
        Trainer says whether it evaluated or predicted only at the end)."""
        w = self._windows.pop(key, None)
        if w is None or self.tracker is None:
            return
        if name is not None:
            w.name = name  # a constant of ours: the tracker cleaned the one it opened with
        self._hand_over(self.tracker)
        self.tracker.stop_window(w)

    def is_open(self, key: str) -> bool:
        return key in self._windows

    def add_note(self, note: str) -> None:
        """A note in the current run (nothing without one)."""
        if self.tracker is not None:
            self.tracker.add_note(note)

    def add_batch(self, samples: int, tokens: int) -> None:
        """A training batch of ``samples`` and ``tokens`` (whole numbers from
        :func:`batch_units`): kept until the next hand-over (cheap enough for every batch)."""
        if self.tracker is not None:
            self._pending["samples"] += samples
            self._pending["tokens"] += tokens
            self.tokens += tokens

    def count(self, **units: object) -> None:
        """Add other work done to the run and its open windows now (the tracker checks each
        value: a bad one is a note, never an error)."""
        if self.tracker is not None and units:
            self.tracker.count(**units)
            tokens = units.get("tokens")
            if isinstance(tokens, int | float) and math.isfinite(tokens) and tokens > 0:
                self.tokens += tokens

    def _hand_over(self, t: Tracker) -> None:
        """Give the tracker the batches' counts and the step ends kept since the last time."""
        counted = {unit: n for unit, n in self._pending.items() if n > 0}
        if counted:
            t.count(**counted)
            self._pending = {"samples": 0, "tokens": 0}
        if self._steps:
            now_s, now = t.elapsed_s(), self._clock()
            for at, n in self._steps:
                t.step(n, at_s=now_s - (now - at))
            self._steps = []

    def step(self, n: int = 1) -> None:
        """``n`` optimizer steps ended now (counted as ``steps``; they drive the forecast).

        Stamped now and handed to the tracker with the batches' counts (``Tracker.step`` costs
        ~5-25 µs after a training step has cooled the caches: 0.5 % of a 4 ms step)."""
        if self.tracker is not None and n > 0:
            self._steps.append((self._clock(), n))
            if len(self._steps) >= MAX_PENDING_STEPS:
                self._hand_over(self.tracker)

    # ------------------------------------------------------------------ live metrics
    def metrics(self) -> dict[str, float]:
        """Live numbers for the framework's loggers (see the module docstring); {} without a
        run. Reads every device once, so callers ask at their logging cadence, not per step."""
        t = self.tracker
        if t is None:
            return {}
        self._hand_over(t)
        energy_j = t.energy_so_far_j()
        out = {"energy_j": energy_j, "co2e_g": self.co2e_g(energy_j)}
        if self.tokens > 0:
            out["j_per_token"] = energy_j / self.tokens
        fc = self._throttled_forecast()
        if fc is not None:
            out["forecast_energy_j"] = fc.energy_j.value
            if fc.co2e_kg is not None:
                out["forecast_co2e_g"] = fc.co2e_kg.value * 1000.0
            out["forecast_remaining_s"] = fc.remaining_s.value
        return out

    def _throttled_forecast(self) -> Any:
        """The forecast, recomputed (and its line logged) only when
        :data:`FORECAST_COST_FACTOR` times its last cost has passed; else the last one."""
        now = time.perf_counter()
        recent = now - self._forecast_at < FORECAST_COST_FACTOR * self._forecast_cost_s
        if self._forecast is not None and recent:
            return self._forecast
        fc = self.forecast()
        self._forecast_cost_s = time.perf_counter() - now
        self._forecast_at = now
        if fc is not None:
            self._forecast = fc
            logger.info("wattwise: forecast at %s", fc)
        return fc

    def co2e_g(self, energy_j: float) -> float:
        """gCO2e of ``energy_j`` of IT energy: × PUE × location-based intensity of the site."""
        s = self.site
        return j_to_kwh(energy_j) * s.pue.value * s.intensity_location_g_per_kwh.value

    def forecast(self) -> Any:
        """A :class:`~wattwise.estimate.forecast.Forecast` of the whole fit from the steps seen
        (the first step, with its start-up, left out once a second one is seen); None without
        ``total_steps`` or before a step."""
        t, total = self.tracker, self.total_steps
        if t is None or total is None:
            return None
        self._hand_over(t)
        site = self.site
        for warmup in (1, 0):  # warm-up needs a second step; with one step, none
            try:
                return t.forecast(
                    total,
                    intensity_g_per_kwh=site.intensity_location_g_per_kwh.value,
                    pue=site.pue.value,
                    warmup_steps=warmup,
                )
            except WattwiseError:
                continue
        return None
