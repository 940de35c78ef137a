"""Load generation: one configuration (closed loop at a fixed concurrency, or open loop at a
Poisson arrival rate), warmed up, then measured over its steady-state window.

The window is opened and closed live, at the events that bound it (:class:`WindowLive`), so its
energy is the difference of counter readings at its boundaries (``Meter``), not a slice of a
sampled timeline. Tokens are counted as they stream inside the window: one per content chunk,
corrected to the server's ``usage`` count when a request completes inside the window.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wattwise.bench.client import Prompt, stream_request
from wattwise.bench.stats import RequestRecord, steady_possible


class Meter(Protocol):
    """Opens and closes a named energy window (blocking calls: run in a worker thread)."""

    def open(self, name: str) -> Any: ...

    def close(self, handle: Any, counts: dict[str, float]) -> Any: ...


@dataclass(frozen=True)
class LoadSpec:
    """One configuration: ``concurrency`` (closed loop) or ``rate_per_s`` (open loop, Poisson),
    bounded by ``requests`` or ``duration_s``; ``warmup`` requests are sent first, unmeasured."""

    concurrency: int | None = None
    rate_per_s: float | None = None
    requests: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    seed: int = 0

    @property
    def name(self) -> str:
        return f"c={self.concurrency}" if self.concurrency else f"rate={self.rate_per_s:g}/s"


@dataclass
class LoadResult:
    """What one configuration produced: the measured requests, the warm-up's, the window."""

    spec: LoadSpec
    records: list[RequestRecord]
    warmup: list[RequestRecord]
    window_kind: str = ""
    window_start_s: float = math.nan
    window_end_s: float = math.nan
    window_tokens: float = 0.0
    window_completed: int = 0
    window_energy: Any = None  # what Meter.close returned
    notes: list[str] = field(default_factory=list)


class WindowLive:
    """The steady-state window, driven by request events (rule: :class:`stats.SteadyWindow`)."""

    def __init__(self, meter: Meter, name: str, possible: bool) -> None:
        self.meter = meter
        self.name = name
        self.possible = possible
        self.state = "before"  # before | open | closed
        self.kind = "steady" if possible else "span"
        self.tokens = 0.0
        self.completed = 0
        self.start_s = math.nan
        self.end_s = math.nan
        self._handle: asyncio.Task[Any] | None = None
        self._closed: asyncio.Task[Any] | None = None
        self.all_sent = False

    def _open(self) -> None:
        self.state = "open"
        self.start_s = time.monotonic()
        self._handle = asyncio.ensure_future(asyncio.to_thread(self.meter.open, self.name))

    def close(self) -> None:
        if self.state != "open":
            return
        self.state = "closed"
        self.end_s = time.monotonic()
        counts = {"output_tokens": self.tokens, "requests": float(self.completed)}
        handle = self._handle

        async def finish() -> Any:
            assert handle is not None
            opened = await handle
            return await asyncio.to_thread(self.meter.close, opened, counts)

        self._closed = asyncio.ensure_future(finish())

    def on_send(self, last: bool) -> None:
        if self.state == "before" and not self.possible:
            self._open()
        if last:
            self.all_sent = True
            if self.kind == "steady":
                self.close()

    def on_chunk(self, _rec: RequestRecord) -> None:
        if self.state == "open":
            self.tokens += 1.0

    def on_done(self, rec: RequestRecord, all_done: bool) -> None:
        if self.state == "before" and self.possible:
            self.kind = "tail" if self.all_sent else "steady"
            self._open()
        elif self.state == "open" and rec.ok:
            self.completed += 1
            if rec.token_source == "usage":  # the server's count replaces the chunk count
                self.tokens += rec.output_tokens - len(rec.chunk_s)
        if all_done:
            self.close()

    async def result(self) -> Any:
        self.close()
        return await self._closed if self._closed is not None else None


@dataclass
class Target:
    """Where requests go: an ``httpx.AsyncClient``, the ``/v1`` base URL, the model name."""

    client: Any
    base_url: str
    model: str
    max_tokens: int
    timeout_s: float


async def _one(
    target: Target, prompt: Prompt, rec: RequestRecord, on_chunk: Callable[[RequestRecord], None]
) -> RequestRecord:
    try:
        return await asyncio.wait_for(
            stream_request(target.client, target.base_url, target.model, prompt,
                           target.max_tokens, rec, on_chunk),
            target.timeout_s,
        )  # fmt: skip
    except asyncio.TimeoutError:
        rec.end_s = time.monotonic()
        rec.error, rec.timed_out = f"timed out after {target.timeout_s:g} s", True
        return rec


def _noop(_rec: RequestRecord) -> None:
    return None


async def _closed_loop(
    target: Target, prompts: Sequence[Prompt], conc: int, n: int | None, until_s: float | None,
    win: WindowLive | None, records: list[RequestRecord], offset: int,
) -> None:  # fmt: skip
    """``conc`` workers, each sending its next request as soon as its last one ends."""
    counter = iter(range(10**12))
    finished = [0]

    async def worker() -> None:
        while True:
            i = next(counter)
            if (n is not None and i >= n) or (until_s is not None and time.monotonic() >= until_s):
                return
            rec = RequestRecord(index=i, send_s=time.monotonic())
            records.append(rec)
            if win is not None:
                win.on_send(last=n is not None and i == n - 1)
            await _one(target, prompts[(offset + i) % len(prompts)], rec,
                       win.on_chunk if win else _noop)  # fmt: skip
            finished[0] += 1
            if win is not None:
                win.on_done(rec, n is not None and finished[0] == n)

    await asyncio.gather(*(worker() for _ in range(conc)))


async def _open_loop(
    target: Target, prompts: Sequence[Prompt], rate: float, n: int | None, until_s: float | None,
    win: WindowLive, records: list[RequestRecord], seed: int,
) -> None:  # fmt: skip
    """Requests sent at Poisson arrivals of ``rate`` per second (seeded), whatever is in flight."""
    rng = random.Random(seed)
    tasks: list[asyncio.Task[RequestRecord]] = []
    pending = [0]

    async def send(i: int, last: bool) -> RequestRecord:
        rec = RequestRecord(index=i, send_s=time.monotonic())
        records.append(rec)
        win.on_send(last)
        await _one(target, prompts[i % len(prompts)], rec, win.on_chunk)
        pending[0] -= 1
        win.on_done(rec, win.all_sent and pending[0] == 0)
        return rec

    t_next = time.monotonic()
    i = 0
    while n is None or i < n:
        t_next += rng.expovariate(rate)
        if until_s is not None and t_next >= until_s:
            break
        await asyncio.sleep(max(0.0, t_next - time.monotonic()))
        last = n is not None and i == n - 1
        pending[0] += 1
        tasks.append(asyncio.ensure_future(send(i, last)))
        i += 1
    if not win.all_sent:  # a --duration run: the deadline is the last send
        win.on_send(last=True)
    await asyncio.gather(*tasks)


async def run_load(
    target: Target, prompts: Sequence[Prompt], spec: LoadSpec, meter: Meter
) -> LoadResult:
    """Warm up, then measure one configuration; the window's energy comes from ``meter``."""
    warm: list[RequestRecord] = []
    conc = spec.concurrency or 1
    if spec.warmup:
        await _closed_loop(target, prompts, min(conc, spec.warmup), spec.warmup, None, None,
                           warm, offset=len(prompts) // 2)  # fmt: skip
    records: list[RequestRecord] = []
    until = None if spec.duration_s is None else time.monotonic() + spec.duration_s
    possible = spec.concurrency is None or steady_possible(spec.requests, spec.concurrency)
    win = WindowLive(meter, spec.name, possible)
    if spec.concurrency:
        if spec.duration_s is not None:  # the deadline is the last send
            asyncio.get_running_loop().call_later(spec.duration_s, win.on_send, True)
        await _closed_loop(target, prompts, conc, spec.requests, until, win, records, 0)
    else:
        assert spec.rate_per_s is not None
        await _open_loop(target, prompts, spec.rate_per_s, spec.requests, until, win, records,
                         spec.seed)  # fmt: skip
    energy = await win.result()
    return LoadResult(spec, records, warm, win.kind, win.start_s, win.end_s, win.tokens,
                      win.completed, energy)  # fmt: skip
