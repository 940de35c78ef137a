"""MLflow: a run sink that logs wattwise runs to MLflow runs (``pip install 'wattwise[mlflow]'``).

``wattwise.track("train", sinks=[MlflowSink()])`` logs, when the run finishes:

* metrics (``prefix`` ``wattwise``): ``wattwise.energy_j`` (IT energy, J), ``.duration_s``,
  ``.mean_power_w``, ``.<kind>.energy_j`` per device kind (``gpu``, ``cpu``, ``dram``...),
  ``.facility_energy_kwh``, ``.co2e_g`` (location-based), ``.co2e_market_g``,
  ``.embodied_co2e_g``, ``.water_l``, ``.cost_<currency>`` (when a price is known),
  ``.count.<unit>`` and ``.j_per_<unit>`` (``wattwise.j_per_token``), ``.sci_g_per_<unit>``; per
  window name ``wattwise.window.<name>.energy_j``, ``.duration_s``, ``.co2e_g``,
  ``.cost_<currency>``, ``.j_per_<unit>`` and ``.windows`` (windows of that name, totalled: a
  window's CO2e and cost are the run's per-joule factors applied to its energy);
* tags (provenance and assumptions; tags, not params, as params are write-once in MLflow and two
  wattwise runs may log into one MLflow run): ``wattwise.run_id``, ``wattwise.status``,
  ``wattwise.energy_provenance`` (``measured``, ``mixed: measured + estimated``...),
  ``wattwise.devices``, ``wattwise.location``, ``wattwise.assumed`` (the inputs that are
  defaults), one ``wattwise.assumption.<name>`` per input (value, unit, provenance, source);
* the run document (``wattwise run --json``'s: ``run_to_dict`` plus its footprint and context)
  as the artifact ``wattwise/run-<run_id>.json``.

Which MLflow run: ``run_id`` when given; else the run active when the wattwise run starts (it is
yours: it stays open); else a new run, named after the wattwise run, in the current experiment,
ended with the wattwise run's status (FINISHED, FAILED or KILLED). The client is told the run id
explicitly, so the sampler thread and ``stop()`` from another thread log to the same run.

The accounting context is resolved as the command line does (:mod:`.context`); without a
location the world average is used and said (a warning when the sink is made, and the tags). An
MLflow call that fails becomes a note of the wattwise run ("MLflow write failed (finish_run):
..."), never an exception in your code. ``mlflow`` is imported only by this module, when a sink
is made.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wattwise.accounting.context import Context
from wattwise.accounting.footprint import Footprint
from wattwise.accounting.runs import footprint_of
from wattwise.core.run import Gap, RunResult, Sample, WindowResult, merge_windows
from wattwise.errors import ConfigError, WattwiseError
from wattwise.integrations.context import context_for, unlocated_line
from wattwise.ledger.serialize import run_to_dict
from wattwise.readers.base import DeviceInfo

__all__ = ["MlflowSink", "metric_name"]

#: MLflow's limits per ``log_batch`` call (mlflow.utils.validation).
MAX_METRICS_PER_BATCH = 1000
MAX_TAGS_PER_BATCH = 100
#: Longest tag value written (MLflow accepts 8000 characters; 5000 leaves room for encodings).
MAX_TAG_CHARS = 5000
#: Longest metric or tag key (MLflow: 250).
MAX_KEY_CHARS = 250
#: The MLflow run status for a wattwise run status.
MLFLOW_STATUS = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}

_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")
log = logging.getLogger("wattwise")


def metric_name(*parts: str) -> str:
    """An MLflow key from ``parts`` joined by dots, each part reduced to the characters every
    store accepts (letters, digits, ``_``, ``-``; others become ``_``), at most 250 characters."""
    cleaned = [_BAD.sub("_", p).strip("._") or "_" for p in parts]
    return ".".join(cleaned)[:MAX_KEY_CHARS]


def _singular(unit: str) -> str:
    """``tokens`` -> ``token`` (as SCI's functional units are named)."""
    return unit.rstrip("s") or unit


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise ConfigError(
            f"MlflowSink needs MLflow: pip install 'wattwise[mlflow]' ({exc})"
        ) from exc
    return mlflow


class MlflowSink:
    """Logs wattwise runs to MLflow (see the module docstring). A :class:`RunSink`.

    ``run_id``: the MLflow run to log to (default: the active one, else a new one).
    ``tracking_uri``: MLflow's (default: MLflow's own, ``MLFLOW_TRACKING_URI``).
    ``context``: a :class:`~wattwise.accounting.context.Context` or a mapping of settings
    (``{"country": "FR", "pue": 1.2}``) standing for command-line flags over the environment and
    config files. ``prefix``: the first part of every key. ``log_document``: also log the run
    document as an artifact. Raises ConfigError when MLflow is not installed or a context value
    is invalid (at construction, before the run).
    """

    #: How the tracker names this sink in notes.
    what = "MLflow"

    def __init__(
        self,
        *,
        run_id: str | None = None,
        tracking_uri: str | None = None,
        context: Context | Mapping[str, object] | None = None,
        prefix: str = "wattwise",
        log_document: bool = True,
    ) -> None:
        self._mlflow = _import_mlflow()
        self.context = context_for(context)
        self.prefix = metric_name(prefix)
        self.log_document = log_document
        self._fixed_run_id = run_id
        self._tracking_uri = tracking_uri
        self._client: Any = None
        #: wattwise run id -> (MLflow run id, whether this sink created it)
        self._targets: dict[str, tuple[str, bool]] = {}
        if line := unlocated_line(self.context, self.what):  # said now, before the run
            log.warning("%s", line)

    # ------------------------------------------------------------------ RunSink
    def begin_run(
        self,
        run_id: str,
        name: str,
        started_at: str,
        command: Sequence[str] | None,
        host: Mapping[str, str],
        devices: Sequence[DeviceInfo],
    ) -> None:
        """Find (or create) the MLflow run and tag it with the wattwise run and its devices.
        Called in the thread that starts the tracker, so MLflow's active run is that thread's."""
        if run_id not in self._targets:
            self._targets[run_id] = self._target(name)
        target, _created = self._targets[run_id]
        tags = {
            self._key("run_id"): run_id,
            self._key("run_name"): name,
            self._key("started_at"): started_at,
            self._key("devices"): _devices_line(devices) or "none",
        }
        self._log(target, metrics={}, tags=tags)

    def append_samples(self, run_id: str, samples: Sequence[Sample]) -> None:
        """Nothing: MLflow gets the run's totals when it finishes (no writes from the sampler)."""

    def append_gaps(self, run_id: str, gaps: Sequence[Gap]) -> None:
        """Nothing: gaps are in the run document."""

    def heartbeat(self, run_id: str) -> None:
        """Nothing."""

    def finish_run(self, result: RunResult) -> None:
        """Log the run's metrics, tags and document; end the MLflow run if this sink made it."""
        if result.run_id not in self._targets:  # begin failed every time: try once more now
            self._targets[result.run_id] = self._target(result.name)
        target, created = self._targets[result.run_id]
        fp, error = self._footprint(result)
        metrics = self.run_metrics(result, fp)
        tags = self.run_tags(result, fp)
        if error:
            tags[self._key("footprint_error")] = error
        self._log(target, metrics=metrics, tags=tags)
        if self.log_document:
            doc: dict[str, Any] = dict(run_to_dict(result))  # plus footprint and context
            doc["footprint"] = fp.to_dict() if fp is not None else None
            doc["context"] = self.context.to_dict()
            self._client_().log_dict(target, doc, f"wattwise/run-{result.run_id}.json")
        if created:
            status = MLFLOW_STATUS.get(result.status, "FINISHED")
            self._client_().set_terminated(target, status=status)
        del self._targets[result.run_id]

    # ------------------------------------------------------------------ what is logged
    def run_metrics(self, result: RunResult, fp: Footprint | None) -> dict[str, float]:
        """The metrics of ``result`` (see the module docstring), by key; finite values only."""
        p = self.prefix
        total_j = result.energy.total_j
        out: dict[str, float] = {
            metric_name(p, "energy_j"): total_j,
            metric_name(p, "duration_s"): result.duration_s,
            metric_name(p, "mean_power_w"): result.mean_power_w(),
        }
        by_kind: dict[str, float] = {}
        for c in result.components:
            by_kind[c.kind] = by_kind.get(c.kind, 0.0) + c.energy_j
        for kind, energy_j in by_kind.items():
            out[metric_name(p, kind, "energy_j")] = energy_j
        for unit, n in result.counts.items():
            out[metric_name(p, "count", unit)] = n
        for unit, j in result.energy_per().items():
            out[metric_name(p, f"j_per_{_singular(unit)}")] = j
        if fp is not None:
            out.update(_footprint_metrics(p, fp))
        for w in _windows_by_name(result.windows):
            out.update(self._window_metrics(w, total_j, fp))
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def _window_metrics(
        self, w: tuple[WindowResult, int, float], run_j: float, fp: Footprint | None
    ) -> dict[str, float]:
        window, n, duration_s = w
        base = (self.prefix, "window", window.name)
        energy_j = window.energy.total_j
        out = {
            metric_name(*base, "energy_j"): energy_j,
            metric_name(*base, "duration_s"): duration_s,
            metric_name(*base, "windows"): float(n),
        }
        for unit, j in window.energy_per().items():
            out[metric_name(*base, f"j_per_{_singular(unit)}")] = j
        if fp is not None and run_j > 0:
            share = energy_j / run_j
            out[metric_name(*base, "co2e_g")] = fp.co2e_location_g * share
            if fp.cost is not None:
                out[metric_name(*base, f"cost_{fp.cost.currency.lower()}")] = fp.cost.value * share
        return out

    def run_tags(self, result: RunResult, fp: Footprint | None) -> dict[str, str]:
        """Provenance and assumptions of ``result`` as MLflow tags."""
        tags = {
            self._key("run_id"): result.run_id,
            self._key("status"): result.status,
            self._key("energy_provenance"): result.energy.label,
            self._key("components"): "; ".join(
                f"{c.device_id} {c.kind} {c.energy_j:.6g} J {c.provenance.value} ({c.source})"
                for c in result.components
            )
            or "none",
        }
        if result.notes:
            tags[self._key("notes")] = " | ".join(result.notes)
        if fp is None:
            return tags
        tags[self._key("location")] = fp.location
        tags[self._key("assumed")] = ", ".join(a.name for a in fp.assumed) or "none"
        for a in fp.assumptions:
            value = f"{a.value:.6g}" if isinstance(a.value, float) else str(a.value)
            line = f"{value} {a.unit}".strip() + f" ({a.provenance.value}: {a.source})"
            tags[self._key("assumption", a.name)] = line
        return tags

    # ------------------------------------------------------------------ internals
    def _key(self, *parts: str) -> str:
        return metric_name(self.prefix, *parts)

    def _client_(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self._tracking_uri)
        return self._client

    def _target(self, name: str) -> tuple[str, bool]:
        """(MLflow run id, created here): the given run, the active one, or a new one."""
        if self._fixed_run_id is not None:
            return self._fixed_run_id, False
        active = self._mlflow.active_run()
        if active is not None and self._tracking_uri in (None, self._mlflow.get_tracking_uri()):
            return str(active.info.run_id), False
        run = self._client_().create_run(
            _experiment_id(), run_name=name, tags={self._key("created_by"): "wattwise"}
        )
        return str(run.info.run_id), True

    def _footprint(self, result: RunResult) -> tuple[Footprint | None, str]:
        try:
            return footprint_of(result, self.context), ""
        except WattwiseError as exc:  # e.g. a unit count MLflow cannot account: energy only
            return None, str(exc)

    def _log(self, run_id: str, *, metrics: Mapping[str, float], tags: Mapping[str, str]) -> None:
        from mlflow.entities import Metric, RunTag

        now_ms = int(time.time() * 1000)
        ms = [Metric(k, float(v), now_ms, 0) for k, v in metrics.items()]
        ts = [RunTag(k, str(v)[:MAX_TAG_CHARS]) for k, v in tags.items()]
        client = self._client_()
        for chunk in _chunks(ms, MAX_METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=chunk)
        for chunk in _chunks(ts, MAX_TAGS_PER_BATCH):
            client.log_batch(run_id, tags=chunk)


def _footprint_metrics(p: str, fp: Footprint) -> dict[str, float]:
    out = {
        metric_name(p, "facility_energy_kwh"): fp.facility_energy_kwh,
        metric_name(p, "co2e_g"): fp.co2e_location_g,
        metric_name(p, "co2e_market_g"): fp.co2e_market_g,
        metric_name(p, "embodied_co2e_g"): fp.embodied_co2e_g,
        metric_name(p, "water_l"): fp.water_l,
        metric_name(p, "pue"): fp.pue,
        metric_name(p, "intensity_g_per_kwh"): fp.intensity_g_per_kwh,
    }
    if fp.cost is not None:
        out[metric_name(p, f"cost_{fp.cost.currency.lower()}")] = fp.cost.value
    for unit, g in fp.sci_g_per_unit.items():
        out[metric_name(p, f"sci_g_per_{unit}")] = g
    return out


def _windows_by_name(windows: Iterable[WindowResult]) -> list[tuple[WindowResult, int, float]]:
    """One window per name (energies and counts added), how many windows it stands for, and
    their time added up (s; windows of one name may be apart or overlap)."""
    merged: dict[str, tuple[WindowResult, int, float]] = {}
    for w in windows:
        prev = merged.get(w.name)
        if prev is None:
            merged[w.name] = (w, 1, w.duration_s)
        else:
            merged[w.name] = (merge_windows(prev[0], w), prev[1] + 1, prev[2] + w.duration_s)
    return list(merged.values())


def _devices_line(devices: Sequence[DeviceInfo]) -> str:
    return "; ".join(
        f"{d.device_id} {d.kind} {d.name} {d.provenance.value} ({d.source})" for d in devices
    )


def _experiment_id() -> str:
    """The current experiment (``mlflow.set_experiment``, ``MLFLOW_EXPERIMENT_NAME`` / ``_ID``),
    as MLflow's own ``start_run`` would choose it; the default experiment otherwise."""
    try:
        from mlflow.tracking.fluent import _get_experiment_id

        return str(_get_experiment_id() or "0")
    except Exception:  # a future MLflow without the helper: the default experiment
        return "0"


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
