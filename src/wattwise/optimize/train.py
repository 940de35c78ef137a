"""Training, distillation and evaluation loops for causal LMs (time- or step-bounded).

A loop stops at whichever comes first: ``steps``, ``time_s`` of wall time, or ``should_stop()``
returning True (checked every ``check_every`` steps; the lab uses it to stop at an energy
budget). Every loop runs on the caller's thread with torch's thread count as set by the caller.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

LogitsFn = Callable[[torch.Tensor], torch.Tensor]
Progress = Callable[[int, float], None]  # (step, loss)
T = TypeVar("T")


@dataclass(frozen=True)
class TrainReport:
    """What a training loop did: steps, tokens seen, wall seconds, last smoothed loss."""

    steps: int
    tokens: int
    seconds: float
    loss: float


def logits_of(model: nn.Module) -> LogitsFn:
    """A function ids -> logits for the built-in model or a Hugging Face causal LM."""

    def fn(ids: torch.Tensor) -> torch.Tensor:
        out = model(ids)
        return out if isinstance(out, torch.Tensor) else out.logits

    return fn


def batches(
    data: torch.Tensor, batch: int, seq: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch of (input, target) windows of ``seq`` tokens from the 1-D ``data``."""
    idx = torch.randint(0, data.numel() - seq - 1, (batch,), generator=generator)
    x = torch.stack([data[i : i + seq] for i in idx.tolist()])
    y = torch.stack([data[i + 1 : i + seq + 1] for i in idx.tolist()])
    return x, y


def train_lm(
    model: nn.Module,
    data: torch.Tensor,
    *,
    steps: int | None = None,
    time_s: float | None = None,
    batch: int = 16,
    seq: int = 64,
    lr: float = 3e-3,
    warmup: int = 50,
    seed: int = 0,
    teacher: nn.Module | None = None,
    distill_alpha: float = 0.5,
    temperature: float = 2.0,
    should_stop: Callable[[], bool] | None = None,
    check_every: int = 10,
    progress: Progress | None = None,
    masks: dict[str, torch.Tensor] | None = None,
) -> TrainReport:
    """Train ``model`` (next-token cross-entropy; with ``teacher``: plus KL to its softened
    distribution, weight ``distill_alpha``, temperature ``temperature``). AdamW, linear warm-up
    then cosine decay to a tenth of ``lr`` over ``steps``, or over ``time_s`` of wall time when
    only time bounds the run (constant after warm-up when only ``should_stop`` bounds it).

    ``masks`` (parameter name -> 0/1 tensor) keep pruned weights at zero during fine-tuning.
    """
    if steps is None and time_s is None and should_stop is None:
        raise ValueError("give steps, time_s or should_stop")
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    named = dict(model.named_parameters())
    fwd = logits_of(model)
    t_fwd = logits_of(teacher) if teacher is not None else None
    model.train()
    t0 = time.perf_counter()
    step = 0
    tokens = 0
    smooth = float("nan")
    while True:
        if steps is not None and step >= steps:
            break
        if time_s is not None and time.perf_counter() - t0 >= time_s:
            break
        if should_stop is not None and step % check_every == 0 and step > 0 and should_stop():
            break
        scale = min(1.0, (step + 1) / warmup)
        done = _fraction_done(step, steps, time.perf_counter() - t0, time_s)
        if done is not None:
            scale *= 0.55 + 0.45 * math.cos(math.pi * min(1.0, done))
        for g in opt.param_groups:
            g["lr"] = lr * scale
        x, y = batches(data, batch, seq, gen)
        logits = fwd(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        if t_fwd is not None:
            with torch.no_grad():
                t_logits = t_fwd(x)
            kl = F.kl_div(
                F.log_softmax(logits / temperature, -1),
                F.log_softmax(t_logits / temperature, -1),
                log_target=True,
                reduction="batchmean",
            ) * (temperature**2 / seq)
            loss = (1 - distill_alpha) * loss + distill_alpha * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if masks:
            with torch.no_grad():
                for name, mask in masks.items():
                    named[name].mul_(mask)
        step += 1
        tokens += x.numel()
        v = float(loss.detach())
        smooth = v if math.isnan(smooth) else 0.95 * smooth + 0.05 * v
        if progress is not None and step % check_every == 0:
            progress(step, smooth)
    model.eval()
    return TrainReport(step, tokens, time.perf_counter() - t0, smooth)


def _fraction_done(
    step: int, steps: int | None, elapsed_s: float, time_s: float | None
) -> float | None:
    """How far the run is through its bound (0..1): by steps, by wall time, or the larger of
    the two when both bound it; None when neither does (``should_stop`` only)."""
    parts = []
    if steps is not None:
        parts.append(step / max(1, steps))
    if time_s is not None and time_s > 0:
        parts.append(elapsed_s / time_s)
    return max(parts) if parts else None


@torch.inference_mode()
def perplexity(fn: LogitsFn, data: torch.Tensor, *, seq: int = 64, max_tokens: int = 8192) -> float:
    """Held-out perplexity (per token): exp of the mean next-token cross-entropy over
    non-overlapping windows of ``seq`` tokens covering the first ``max_tokens`` of ``data``."""
    n = min(data.numel() - 1, max_tokens)
    windows = max(1, n // seq)
    total = 0.0
    count = 0
    for start in range(0, windows * seq, seq * 16):
        rows = [
            data[s : s + seq + 1]
            for s in range(start, min(start + seq * 16, windows * seq), seq)
            if s + seq + 1 <= data.numel()
        ]
        if not rows:
            break
        chunk = torch.stack(rows)
        logits = fn(chunk[:, :-1]).float()
        total += float(
            F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="sum"
            )
        )
        count += chunk[:, 1:].numel()
    return math.exp(total / max(1, count))


def timed_window(tracker: Any, name: str, fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()`` inside the tracker window ``name``: (its result, the window's energy in J
    (NaN without a result), wall seconds)."""
    t0 = time.perf_counter()
    with tracker.window(name) as w:
        out = fn()
    energy = w.result.energy.total_j if w.result is not None else float("nan")
    return out, energy, time.perf_counter() - t0
