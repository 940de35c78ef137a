"""``wattwise bench serve``: energy per token of an OpenAI-compatible server under load.

For each configuration (closed-loop concurrencies, then open-loop rates), in turn: a warm-up,
then the measured requests; one tracker window per configuration, bounded live by its steady
state (:mod:`wattwise.bench.load`). The whole sweep is one tracked run (stored in the ledger,
with this result document under ``extra["bench"]``). Energy comes from this machine's readers
(the server runs here) or from a remote ``wattwise exporter`` (``energy_from``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattwise.bench.client import Prompt, new_client
from wattwise.bench.load import LoadResult, LoadSpec, Target, run_load
from wattwise.bench.summary import config_doc, recommend
from wattwise.errors import ConfigError, LedgerError

DOC_KIND = "wattwise.bench.serve"
DOC_VERSION = 1
Say = Callable[[str], None]


@dataclass
class BenchOptions:
    """Settings of one benchmark (the command line's options, validated there)."""

    url: str = ""
    model: str = ""
    concurrency: Sequence[int] = ()
    rates: Sequence[float] = ()
    requests: int | None = None
    duration_s: float | None = None
    warmup: int | None = None  # None: the concurrency (open loop: 2)
    max_tokens: int = 64
    dataset: str | None = None
    timeout_s: float = 120.0
    energy_from: str | None = None
    slo_ttft_ms: float | None = None
    slo_itl_ms: float | None = None
    launch: str | None = None
    launch_builtin: bool = False
    builtin_size: str = "default"
    ready_timeout_s: float = 300.0
    store: bool = True
    db: str | None = None
    seed: int = 0
    params: float | None = None  # with hardware: the estimator's figure beside each config
    hardware: str | None = None
    notes: list[str] = field(default_factory=list)

    def specs(self) -> list[LoadSpec]:
        n = self.requests if self.requests is not None or self.duration_s is not None else 32
        out = [LoadSpec(concurrency=c, requests=n, duration_s=self.duration_s,
                        warmup=c if self.warmup is None else self.warmup, seed=self.seed)
               for c in self.concurrency]  # fmt: skip
        out += [LoadSpec(rate_per_s=r, requests=n, duration_s=self.duration_s,
                         warmup=2 if self.warmup is None else self.warmup, seed=self.seed)
                for r in self.rates]  # fmt: skip
        return out


class TrackerMeter:
    """A :class:`~wattwise.bench.load.Meter` over a tracker: one window per configuration."""

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker

    def open(self, name: str) -> Any:
        return self.tracker.start_window(name)

    def close(self, handle: Any, counts: dict[str, float]) -> Any:
        self.tracker.count(tokens=counts["output_tokens"], requests=counts["requests"])
        return self.tracker.stop_window(handle)


def load_prompts(opts: BenchOptions) -> list[Prompt]:
    from wattwise.bench.prompts import builtin_prompts, load_dataset

    return load_dataset(opts.dataset) if opts.dataset else builtin_prompts()


@contextlib.contextmanager
def _server(opts: BenchOptions, say: Say) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """``(base URL, model, launched-server description or None)``, the server started if asked."""
    from wattwise.bench import launch

    if not (opts.launch or opts.launch_builtin):
        if not opts.url:
            raise ConfigError("give --url http://HOST:PORT/v1, or --launch CMD / --launch-builtin")
        base = opts.url.rstrip("/")
        yield base, opts.model or _first_model(base), None
        return
    env = None
    if opts.launch_builtin:
        from wattwise.bench.export import export_builtin

        say(f"exporting the built-in model '{opts.builtin_size}' as a Hugging Face checkpoint")
        model_dir = export_builtin(opts.builtin_size, progress=say)
        port = launch.free_port()
        longest = max([*opts.concurrency, 8])
        cmd = launch.builtin_command(model_dir, port, longest, 1024 + opts.max_tokens)
        base, env = f"http://127.0.0.1:{port}/v1", launch.builtin_env()
    else:
        assert opts.launch is not None
        cmd, base = launch.launch_command(opts.launch)
        base = base or opts.url.rstrip("/")
        if not base:
            raise ConfigError("--launch CMD without {port} in it needs --url")
    say(f"starting the server: {' '.join(cmd)}")
    t0 = time.monotonic()
    with launch.serving(cmd, base, opts.ready_timeout_s, env) as (server, models):
        desc = {"command": list(cmd), "ready_s": round(time.monotonic() - t0, 2),
                "models": models, "pid": server.proc.pid,
                "torch_threads": (env or {}).get("OMP_NUM_THREADS")}  # fmt: skip
        if not models and not opts.model:
            raise ConfigError(f"{base}/models lists no model: give --model")
        yield base, opts.model or models[0], desc


def _first_model(base: str) -> str:
    from wattwise.bench.launch import list_models

    try:
        models = list_models(base)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{base}/models does not answer ({exc}); is the server up?") from None
    if not models:
        raise ConfigError(f"{base}/models lists no model: give --model")
    return models[0]


async def _sweep(target: Target, prompts: Sequence[Prompt], specs: Sequence[LoadSpec],
                 meter: TrackerMeter, say: Say) -> list[LoadResult]:  # fmt: skip
    out: list[LoadResult] = []
    async with target.client:
        for spec in specs:
            say(f"{spec.name}: warm-up {spec.warmup}, then "
                + (f"{spec.requests} requests" if spec.requests else f"{spec.duration_s:g} s"))
            res = await run_load(target, prompts, spec, meter)
            ok = sum(1 for r in res.records if r.ok)
            say(f"{spec.name}: {ok}/{len(res.records)} ok, window {res.window_kind} "
                f"{res.window_end_s - res.window_start_s:.2f} s")
            out.append(res)
    return out


def _open_ledger(opts: BenchOptions) -> Any:
    if not opts.store:
        return None
    try:
        from wattwise.ledger import Ledger

        return Ledger.open(opts.db)
    except (LedgerError, ImportError) as exc:
        opts.notes.append(f"results not stored in the ledger: {exc}")
        return None


def _tracker(opts: BenchOptions, ledger: Any) -> Any:
    from wattwise.tracker.core import Tracker

    readers: list[Any] | None = None
    if opts.energy_from:
        from wattwise.bench.remote import ExporterReader

        readers = [ExporterReader(opts.energy_from)]
        opts.notes.append(f"energy from the exporter at {opts.energy_from}: window bounds are as "
                          "fresh as its sampling interval")  # fmt: skip
    return Tracker("bench-serve", interval_s=0.5, readers=readers, sink=ledger)


def bench_serve(opts: BenchOptions, say: Say | None = None) -> dict[str, Any]:
    """Run the benchmark of ``opts`` and return its result document (see the module docstring)."""
    say = say or (lambda _m: None)
    try:
        import httpx  # noqa: F401  (the client; checked before anything starts)
    except ImportError as exc:
        raise ConfigError(f"wattwise bench serve needs httpx ({exc}): pip install "
                          "'wattwise[serving]'") from None  # fmt: skip
    specs = opts.specs()
    if not specs:
        raise ConfigError("give --concurrency LIST and/or --rate LIST")
    if bool(opts.params) != bool(opts.hardware):
        raise ConfigError("--params and --hardware go together (the estimator's figure)")
    if opts.hardware:
        from wattwise.estimate.hardware import get_hardware

        get_hardware(opts.hardware)  # an unknown name fails now, not after the sweep
    prompts = load_prompts(opts)
    ledger = _open_ledger(opts)
    try:
        with _server(opts, say) as (base, model, server):
            max_conc = max([s.concurrency or 64 for s in specs])
            client = new_client(max_conc, opts.timeout_s, tls=base.startswith("https:"))
            target = Target(client, base, model, opts.max_tokens, opts.timeout_s)
            tracker = _tracker(opts, ledger).start()
            t0 = time.monotonic()
            try:
                results = asyncio.run(_sweep(target, prompts, specs, TrackerMeter(tracker), say))
            except BaseException:
                tracker.stop(status="failed")
                raise
            run = tracker.stop()
        doc = _document(opts, base, model, server, results, run, t0, len(prompts))
        if ledger is not None:
            _store(ledger, run.run_id, doc)
        return doc
    finally:
        if ledger is not None:
            ledger.close()


def _store(ledger: Any, run_id: str, doc: dict[str, Any]) -> None:
    try:
        ledger.set_extra(run_id, "bench", doc)
    except LedgerError as exc:
        doc["notes"].append(f"result document not stored in the ledger: {exc}")
    ledger.settle(run_id)
    doc["ledger"] = ledger.outcome(run_id).line()


def _timeline(run: Any) -> list[dict[str, float]]:
    """Total power (W) over time (s since the run started), summed over devices per sample."""
    by_t: dict[float, float] = {}
    for s in run.samples:
        if s.power_w is not None:
            t = round(s.t_s, 2)
            by_t[t] = by_t.get(t, 0.0) + s.power_w
    return [{"t_s": t, "power_w": round(p, 3)} for t, p in sorted(by_t.items())]


def _document(opts: BenchOptions, base: str, model: str, server: dict[str, Any] | None,
              results: list[LoadResult], run: Any, t0: float,
              n_prompts: int) -> dict[str, Any]:  # fmt: skip
    source = (f"remote wattwise exporter {opts.energy_from}" if opts.energy_from
              else "this machine's readers (server and client on this host)")  # fmt: skip
    windows = {w.name: w for w in run.windows}
    for res in results:  # the tracker's own window (start/end, components) for each config
        res.window_energy = windows.get(res.spec.name, res.window_energy)
    configs = [config_doc(r, t0, source) for r in results]
    if opts.params and opts.hardware:
        from wattwise.bench.estimate import estimate_beside

        for c in configs:
            c["estimate"] = estimate_beside(c, opts.params, opts.hardware)
    return {
        "kind": DOC_KIND, "version": DOC_VERSION, "url": base, "model": model,
        "server": server, "run_id": run.run_id,
        "settings": {"max_tokens": opts.max_tokens, "requests": opts.requests,
                     "duration_s": opts.duration_s, "warmup": opts.warmup,
                     "timeout_s": opts.timeout_s, "prompts": opts.dataset or
                     f"built-in set ({n_prompts} public-domain passages)", "seed": opts.seed},
        "configs": configs,
        "recommended": recommend(configs, opts.slo_ttft_ms, opts.slo_itl_ms),
        "energy": {"total_j": run.energy.total_j, "provenance": run.energy.label,
                   "source": source},
        "timeline": _timeline(run),
        "notes": [*opts.notes, *run.notes],
        "ledger": None,
    }  # fmt: skip
