"""Prometheus: a ``prometheus_client`` collector of a tracker's devices and run
(``pip install 'wattwise[prometheus]'``).

Inside a training or serving process, next to its tracker::

    with wattwise.track("serve") as t:
        exporter = serve(t, port=9464)      # http://127.0.0.1:9464/metrics
        ...
    exporter.close()

``wattwise exporter`` does the same for the whole machine (a tracker of its own, no run
metrics), serving HTTP or pushing to a Pushgateway for batch jobs (:func:`push`).

Metrics (energies in joules, power in watts, as Prometheus names units):

* ``wattwise_energy_joules_total{device,kind,provenance}``: energy counted per device since the
  tracker started — a counter's difference (``measured``), the integral of power samples
  (``integrated``) or a model (``estimated``: such devices are labelled so, never passed off as
  measured); it never decreases.
* ``wattwise_power_watts{device,kind,provenance}``: latest power per device (while it is known).
* ``wattwise_gap_estimate_joules{device,kind}``: energy estimated for the seconds a device could
  not be read (a gauge: revised as the device's mean power changes), with
  ``wattwise_unread_seconds{device,kind}``.
* ``wattwise_device_info{device,kind,name,provenance,source} 1``.
* With ``run_metrics`` (a tracked run): ``wattwise_run_energy_joules_total{run,run_id}`` (the
  devices' counted energy; the run's total is that plus ``wattwise_run_gap_estimate_joules``),
  ``wattwise_run_units_total{run,run_id,unit}`` (tokens, requests, samples, steps: what
  ``count()`` and ``step()`` counted), ``wattwise_run_elapsed_seconds``, and
  ``wattwise_run_info{run,run_id,status} 1``.

A scrape reads no device: values are the tracker's latest readings
(:func:`wattwise.tracker.live.live_state`), as fresh as its sampling interval.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping
from typing import Any

try:
    from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
    from prometheus_client import start_http_server as _start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        f"wattwise.integrations.prometheus needs prometheus_client: "
        f"pip install 'wattwise[prometheus]' ({exc})"
    ) from exc

from wattwise.tracker.core import Tracker
from wattwise.tracker.live import LiveState, live_state

__all__ = ["DEFAULT_PORT", "Exporter", "WattwiseCollector", "push", "serve"]

#: The exporter's port: 9464, the one OpenTelemetry's Prometheus exporter uses.
DEFAULT_PORT = 9464
DEVICE_LABELS = ("device", "kind", "provenance")
RUN_LABELS = ("run", "run_id")


class WattwiseCollector(Collector):
    """Yields the metrics of ``tracker`` (see the module docstring) at each collection.

    ``run_metrics``: also the run's (energy, units counted, elapsed time); off for a tracker that
    only measures the machine (``wattwise exporter``).
    """

    def __init__(self, tracker: Tracker, *, run_metrics: bool = True) -> None:
        self.tracker = tracker
        self.run_metrics = run_metrics

    def describe(self) -> list[Any]:
        """Nothing to check at registration (the device set is known only once started)."""
        return []

    def collect(self) -> Iterator[Any]:
        state = live_state(self.tracker)
        yield from device_families(state)
        if self.run_metrics:
            yield from run_families(state)


def device_families(state: LiveState) -> Iterator[Any]:
    """Per-device metric families of ``state``."""
    created = state.started_wall_s or None
    energy = CounterMetricFamily(
        "wattwise_energy_joules",
        "Energy counted per device since the tracker started (J); provenance says how",
        labels=DEVICE_LABELS,
        unit="joules",
    )
    power = GaugeMetricFamily(
        "wattwise_power_watts", "Latest power per device (W)", labels=DEVICE_LABELS, unit="watts"
    )
    gap = GaugeMetricFamily(
        "wattwise_gap_estimate_joules",
        "Energy estimated for the seconds a device could not be read (J, estimated)",
        labels=("device", "kind"),
        unit="joules",
    )
    unread = GaugeMetricFamily(
        "wattwise_unread_seconds",
        "Seconds of the run whose energy a device's readings do not cover",
        labels=("device", "kind"),
        unit="seconds",
    )
    info = InfoMetricFamily(
        "wattwise_device",
        "An energy-reporting device: its name, how its energy is obtained, where it is read",
        labels=("device", "kind", "name", "provenance", "source"),
    )
    for d in state.devices:
        i = d.device
        labels = [i.device_id, i.kind, i.provenance.value]
        energy.add_metric(labels, d.energy_j, created=created)
        if d.power_w is not None:
            power.add_metric(labels, d.power_w)
        gap.add_metric([i.device_id, i.kind], d.gap_estimate_j)
        unread.add_metric([i.device_id, i.kind], d.missing_s)
        info.add_metric([i.device_id, i.kind, i.name, i.provenance.value, i.source], {})
    yield from (energy, power, gap, unread, info)


def run_families(state: LiveState) -> Iterator[Any]:
    """The run's metric families (none before the tracker started)."""
    if not state.started_wall_s:
        return
    created = state.started_wall_s
    labels = [state.name, state.run_id]
    energy = CounterMetricFamily(
        "wattwise_run_energy_joules",
        "Energy of the run counted by its devices (J); its total adds the gap estimate",
        labels=RUN_LABELS,
        unit="joules",
    )
    energy.add_metric(labels, state.counted_j, created=created)
    gap = GaugeMetricFamily(
        "wattwise_run_gap_estimate_joules",
        "Energy of the run estimated for seconds its devices could not be read (J)",
        labels=RUN_LABELS,
        unit="joules",
    )
    gap.add_metric(labels, state.gap_estimate_j)
    units = CounterMetricFamily(
        "wattwise_run_units",
        "Work counted in the run (tokens, requests, samples, steps...)",
        labels=(*RUN_LABELS, "unit"),
    )
    for unit, n in state.counts.items():
        units.add_metric([*labels, unit], n, created=created)
    elapsed = GaugeMetricFamily(
        "wattwise_run_elapsed_seconds",
        "Seconds since the run started (its duration once it ended)",
        labels=RUN_LABELS,
        unit="seconds",
    )
    elapsed.add_metric(labels, state.elapsed_s)
    info = InfoMetricFamily("wattwise_run", "A tracked run", labels=(*RUN_LABELS, "status"))
    info.add_metric([*labels, state.status], {})
    yield from (energy, gap, units, elapsed, info)


class Exporter:
    """A registry holding a :class:`WattwiseCollector` of ``tracker``: :meth:`serve` it over
    HTTP, :meth:`push` it to a Pushgateway, or read :meth:`text`."""

    def __init__(self, tracker: Tracker, *, run_metrics: bool = True) -> None:
        self.tracker = tracker
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = WattwiseCollector(tracker, run_metrics=run_metrics)
        self.registry.register(self.collector)
        self._server: Any = None
        self.host = ""
        self.port = 0

    def serve(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> Exporter:
        """Serve ``/metrics`` on ``host``:``port`` in a daemon thread (``port`` 0: a free one,
        then in :attr:`port`). Raises OSError when the address cannot be used."""
        if self._server is None:
            server, _thread = _start_http_server(port, addr=host, registry=self.registry)
            self._server = server
            self.host, self.port = host, int(server.server_port)
        return self

    @property
    def url(self) -> str:
        """``http://host:port/metrics`` while serving (``""`` otherwise)."""
        if self._server is None:
            return ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def push(
        self,
        gateway: str,
        *,
        job: str = "wattwise",
        grouping_key: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Push the metrics to the Pushgateway at ``gateway`` (``http://host:9091``) under ``job``,
        grouped by ``grouping_key`` (default ``{"instance": <this host's name>}``, so that the
        nodes of one job do not overwrite each other). Raises OSError when it cannot."""
        key = dict(grouping_key) if grouping_key is not None else {"instance": socket.gethostname()}
        push_to_gateway(gateway, job, self.registry, grouping_key=key, timeout=timeout_s)

    def text(self) -> str:
        """The metrics in Prometheus's text format, as a scrape returns them."""
        return generate_latest(self.registry).decode("utf-8")

    def close(self) -> None:
        """Stop serving (if serving). Never raises."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                server.shutdown()
                server.server_close()

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    tracker: Tracker,
    *,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    run_metrics: bool = True,
) -> Exporter:
    """Serve ``tracker``'s metrics on ``host``:``port`` (``/metrics``) from a daemon thread;
    returns the :class:`Exporter` (``close()`` it when done). Only this machine can scrape it
    unless ``host`` says otherwise (``0.0.0.0``)."""
    return Exporter(tracker, run_metrics=run_metrics).serve(port, host)


def push(
    tracker: Tracker,
    gateway: str,
    *,
    job: str = "wattwise",
    grouping_key: Mapping[str, str] | None = None,
    run_metrics: bool = True,
) -> None:
    """Push ``tracker``'s metrics once to a Pushgateway (a batch job: at its end, or now and
    then). See :meth:`Exporter.push`."""
    Exporter(tracker, run_metrics=run_metrics).push(gateway, job=job, grouping_key=grouping_key)
