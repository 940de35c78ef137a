"""``wattwise exporter``: this machine's energy per device for Prometheus (pull or push).

Measures every device the readers find (as ``wattwise run`` would: ``wattwise doctor`` lists
them) with a tracker of its own, and serves ``/metrics`` (:mod:`wattwise.integrations.prometheus`)
until SIGTERM or Ctrl-C. With ``--push-gateway`` it pushes instead, every ``--interval``
seconds and once more when stopped: for batch jobs that nothing scrapes.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from wattwise.errors import ConfigError, WattwiseError

#: Seconds between readings: from 10 ms to an hour, as ``wattwise run --interval``.
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.01, 3600.0
#: Default seconds between pushes to a Pushgateway.
DEFAULT_PUSH_INTERVAL_S = 10.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    from wattwise.argtypes import number, whole

    p = sub.add_parser(
        "exporter",
        help="serve this machine's energy per device to Prometheus (or push it)",
        description="Measure this machine's devices and serve Prometheus metrics on "
        "http://HOST:PORT/metrics (wattwise_energy_joules_total{device,kind,provenance}, "
        "wattwise_power_watts, ...) until stopped; with --push-gateway, push them instead. "
        "Needs the prometheus extra: pip install 'wattwise[prometheus]'.",
    )
    p.add_argument(
        "--port",
        type=whole(low=0, high=65535),
        default=9464,
        help="port to serve on (default 9464; 0: any free port, printed)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)",
    )
    p.add_argument(
        "--push-gateway",
        metavar="URL",
        help="push to this Pushgateway (http://host:9091) every --interval seconds instead "
        "of serving",
    )
    p.add_argument("--job", default="wattwise", help="the Pushgateway job name (default wattwise)")
    p.add_argument(
        "--interval",
        type=number(low=MIN_INTERVAL_S, high=MAX_INTERVAL_S),
        metavar="S",
        help="seconds between readings (default 1), and between pushes with --push-gateway "
        f"(default {DEFAULT_PUSH_INTERVAL_S:g})",
    )
    p.add_argument(
        "--gpus",
        metavar="LIST",
        help="GPUs to measure: comma-separated indices or UUIDs (default: those "
        "CUDA_VISIBLE_DEVICES shows, else all)",
    )
    p.set_defaults(handler=handle)


def _exporter_module() -> Any:
    try:
        from wattwise.integrations import prometheus
    except ImportError as exc:
        raise ConfigError(str(exc)) from exc
    return prometheus


def handle(args: argparse.Namespace) -> int:
    from wattwise.tracker.core import Tracker
    from wattwise.validate import check_gpu_list

    prometheus = _exporter_module()
    pushing = args.push_gateway is not None
    default_s = DEFAULT_PUSH_INTERVAL_S if pushing else 1.0
    interval_s = args.interval if args.interval is not None else default_s
    gpus = check_gpu_list(args.gpus, "--gpus") if args.gpus else None
    # Pushing every minute still reads devices every second (power-only devices integrate).
    read_s = min(interval_s, 1.0) if pushing else interval_s
    tracker = Tracker("exporter", interval_s=read_s, gpus=gpus).start()
    exporter = prometheus.Exporter(tracker, run_metrics=False)
    stop = threading.Event()
    _on_signals(stop)
    try:
        _say_devices(tracker)
        if pushing:
            return _push_loop(exporter, args.push_gateway, args.job, interval_s, stop)
        try:
            exporter.serve(args.port, args.host)
        except OSError as exc:
            raise WattwiseError(f"cannot serve on {args.host}:{args.port}: {exc}") from exc
        sys.stderr.write(f"wattwise exporter: serving {exporter.url} (stop: Ctrl-C)\n")
        sys.stderr.flush()
        stop.wait()
        return 0
    finally:
        exporter.close()
        tracker.stop()


def _on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT end the exporter cleanly (a last push, readers closed), exit 0."""

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _say_devices(tracker: Any) -> None:
    from wattwise.cli.render import printable

    lines = [
        f"  {d.device_id}: {d.kind}, {printable(d.name)} ({d.provenance.value}, {d.source})"
        for d in tracker.devices
    ]
    notes = [f"  note: {printable(n)}" for n in tracker.notes]
    head = f"wattwise exporter: {len(lines)} device(s)"
    sys.stderr.write("\n".join([head, *lines, *notes]) + "\n")


def _push_loop(exporter: Any, gateway: str, job: str, interval_s: float, stop: Any) -> int:
    """Push now, every ``interval_s`` and once more at the end. A push that fails is one line
    (the first of a run of failures, and when pushing works again); the loop goes on."""
    failing = False
    while True:
        last = stop.is_set()
        try:
            exporter.push(gateway, job=job)
            if failing:
                sys.stderr.write(f"wattwise exporter: pushing to {gateway} works again\n")
            failing = False
        except Exception as exc:  # a gateway down for a while: say so once, keep trying
            if not failing:
                sys.stderr.write(f"wattwise exporter: cannot push to {gateway}: {exc}\n")
            failing = True
        if last:
            return 1 if failing else 0
        stop.wait(interval_s)
