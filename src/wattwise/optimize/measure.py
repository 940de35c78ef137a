"""Measuring a model variant: energy and CPU time per generated token, speed, latency, size.

Energy comes from the tracker's windows (one window per measurement, energy = difference of the
readers' cumulative energies at its boundaries); on machines without counters it is the CPU /
memory power model's estimate of the *whole machine*, so other processes' load leaks in. The
CPU seconds of the measuring thread (``getrusage(RUSAGE_THREAD)``) are the cross-check that
other processes cannot disturb. Both are taken as medians over interleaved rounds by the lab.
"""

from __future__ import annotations

import gzip
import io
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from wattwise.optimize.model import StepHook, TinyLM, generate

GenerateFn = Callable[[nn.Module, torch.Tensor, int, StepHook | None], torch.Tensor]

_RUSAGE = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


class WindowTracker(Protocol):
    def window(self, name: str) -> Any: ...

    def count(self, **units: float) -> None: ...


def cpu_s() -> float:
    """CPU seconds (user + system) of this thread (of the process where threads are not
    distinguished)."""
    r = resource.getrusage(_RUSAGE)
    return r.ru_utime + r.ru_stime


def builtin_generate(
    model: nn.Module, prompt: torch.Tensor, new_tokens: int, on_step: StepHook | None
) -> torch.Tensor:
    """Greedy generation with the built-in model's key/value cache."""
    assert isinstance(model, TinyLM)
    return generate(model, prompt, new_tokens, on_step)


def hf_generate(
    model: nn.Module, prompt: torch.Tensor, new_tokens: int, on_step: StepHook | None
) -> torch.Tensor:
    """Greedy ``model.generate`` of a Hugging Face causal LM, exactly ``new_tokens`` tokens;
    step times come from a logits processor (called once per decoding step)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class _Timer(LogitsProcessor):
        def __init__(self) -> None:
            self.t = time.perf_counter()

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            now = time.perf_counter()
            if on_step is not None:
                on_step(now - self.t)
            self.t = now
            return scores

    with torch.inference_mode():
        out = model.generate(  # type: ignore[operator]
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=0,
            logits_processor=LogitsProcessorList([_Timer()]),
        )
    assert isinstance(out, torch.Tensor)
    return out


@dataclass
class GenRound:
    """One measurement window: energy (J), tokens, wall and CPU seconds, step latencies (s)."""

    energy_j: float
    tokens: int
    wall_s: float
    cpu_s: float
    provenance: str
    step_s: list[float] = field(default_factory=list)


def measure_generation(
    tracker: WindowTracker,
    label: str,
    model: nn.Module,
    gen: GenerateFn,
    prompts: torch.Tensor,
    *,
    batch: int,
    new_tokens: int,
    min_window_s: float,
) -> GenRound:
    """Generate ``new_tokens`` for batches of ``batch`` prompts, cycling through ``prompts``,
    until at least ``min_window_s`` of wall time has passed, inside one tracker window."""
    steps: list[float] = []
    tokens = 0
    i = 0
    rows = prompts.shape[0]
    with tracker.window(label) as w:
        c0 = cpu_s()
        t0 = time.perf_counter()
        while True:
            idx = [(i + j) % rows for j in range(batch)]
            gen(model, prompts[idx], new_tokens, steps.append)
            i += batch
            tokens += batch * new_tokens
            tracker.count(tokens=batch * new_tokens)
            if time.perf_counter() - t0 >= min_window_s:
                break
        wall = time.perf_counter() - t0
        c1 = cpu_s()
    res = w.result
    energy = res.energy.total_j if res is not None else float("nan")
    prov = res.energy.label if res is not None else "none"
    return GenRound(energy, tokens, wall, c1 - c0, prov, steps)


def size_bytes(model: nn.Module, *, compressed: bool = False) -> int:
    """Bytes of the serialised ``state_dict`` (``torch.save``), gzip-compressed if asked."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    data = buf.getvalue()
    return len(gzip.compress(data, compresslevel=6)) if compressed else len(data)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation (NaN when empty)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[min(98, max(0, round(q * 100) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
