"""The lean eager decoding step against the reference decode and TorchScript, interleaved.

    PYTHONPATH=src python benchmarks/lean_step.py [--rounds 5] [--jit]

On the shipped built-in model, 1 torch thread (as the lab), 16 held-out prompts of 16 tokens,
48 new tokens: first the same-text check of every variant against ``model.generate`` (batch 1
per prompt, and one batch of 8), then per round CPU-ms per generated token (this thread's
``getrusage``, windows of >= 1 s) of each variant at batch 1 and 8, interleaved; medians,
ranges and per-round ratios. ``--jit`` adds the compiled module's static step traced with
``torch.jit.trace`` as is, frozen (``torch.jit.freeze``) and through
``torch.jit.optimize_for_inference`` (plain decoding). No tracker, no energy: the lab
(``wattwise optimize --techniques speculative,lean``) measures that.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from wattwise.optimize.builtin import get_builtin
from wattwise.optimize.compiled import StaticStep
from wattwise.optimize.lean import LeanDecoder, lean_generate, lean_speculative_generate
from wattwise.optimize.measure import cpu_s
from wattwise.optimize.model import TinyLM, generate, greedy_loop
from wattwise.optimize.speculative import NgramDraft, speculative_generate

PROMPT, NEW, N_PROMPTS = 16, 48, 16
Gen = Callable[[torch.Tensor], torch.Tensor]


def jit_generate(model: TinyLM, mode: str) -> Gen:
    """Plain greedy decoding through a traced static step (``trace``, ``freeze``, ``ofi``)."""
    cache_len = model.cfg.max_seq
    fns: dict[int, Any] = {}

    def cache(b: int) -> list[torch.Tensor]:
        return [torch.zeros(2, b, h, cache_len, model.cfg.head_dim) for h in model.cfg.heads]

    def fn(b: int) -> Any:
        if b not in fns:
            step = StaticStep(model, cache_len).eval()
            args = (torch.zeros(b, 1, dtype=torch.long), torch.tensor([PROMPT]), cache(b))
            t0 = time.perf_counter()
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced: Any = torch.jit.trace(step, args, check_trace=False)
                if mode in ("freeze", "ofi"):
                    traced = torch.jit.freeze(traced.eval())
                if mode == "ofi":
                    traced = torch.jit.optimize_for_inference(traced)
            print(f"  jit-{mode} batch {b}: traced in {time.perf_counter() - t0:.2f} s")
            fns[b] = traced
        return fns[b]

    @torch.no_grad()
    def gen(prompt: torch.Tensor) -> torch.Tensor:
        b, t = prompt.shape
        f = fn(b)
        logits, kv0 = model.step(prompt, None, 0, last_only=True)
        kv = cache(b)
        for static, c in zip(kv, kv0, strict=True):
            assert c is not None
            static[:, :, :, :t] = c
        pos = torch.tensor([t])

        def step(nxt: torch.Tensor, _p: int) -> torch.Tensor:
            out: torch.Tensor = f(nxt, pos, kv)
            pos.add_(1)
            return out

        return greedy_loop(prompt, NEW, None, lambda: logits[:, -1].argmax(-1, keepdim=True), step)

    return gen


def cpu_ms_per_token(gen: Gen, prompts: torch.Tensor, batch: int) -> float:
    tokens, i = 0, 0
    c0, t0 = cpu_s(), time.perf_counter()
    while True:
        gen(prompts[[(i + j) % len(prompts) for j in range(batch)]])
        i, tokens = i + batch, tokens + batch * NEW
        if time.perf_counter() - t0 >= 1.0:
            return (cpu_s() - c0) / tokens * 1e3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jit", action="store_true", help="add TorchScript-traced static steps")
    args = ap.parse_args()
    torch.set_num_threads(1)
    b = get_builtin("default")
    model, held = b.model.eval(), b.heldout_ids
    stride = (held.numel() - PROMPT - 1) // N_PROMPTS
    prompts = torch.stack([held[i * stride : i * stride + PROMPT] for i in range(N_PROMPTS)])
    draft = NgramDraft.build_for_model(model, b.train_ids, b.spec.config.vocab_size)
    lean = LeanDecoder(model)
    variants: dict[str, Gen] = {
        "plain": lambda p: generate(model, p, NEW),
        "speculative": lambda p: speculative_generate(model, p, NEW, None, draft),
        "lean": lambda p: lean_generate(lean, p, NEW, None),
        "speculative+lean": lambda p: lean_speculative_generate(lean, p, NEW, None, draft),
    }
    if args.jit:
        for mode in ("trace", "freeze", "ofi"):
            variants[f"jit-{mode}"] = jit_generate(model, mode)
    ref = [generate(model, prompts[i : i + 1], NEW) for i in range(N_PROMPTS)]
    ref8 = generate(model, prompts[:8], NEW)
    for name, gen in variants.items():
        same = sum(torch.equal(gen(prompts[i : i + 1]), ref[i]) for i in range(N_PROMPTS))
        same8 = torch.equal(gen(prompts[:8]), ref8)
        print(f"{name}: same text {same}/{N_PROMPTS} at batch 1, {same8} at batch 8")
    res: dict[tuple[str, int], list[float]] = {(n, bs): [] for n in variants for bs in (1, 8)}
    for _ in range(args.rounds):
        for name, gen in variants.items():
            for bs in (1, 8):
                res[name, bs].append(cpu_ms_per_token(gen, prompts, bs))
    for (name, bs), v in res.items():
        print(
            f"{name:18s} b{bs}: {statistics.median(v):.3f} CPU-ms/token ({min(v):.3f}-{max(v):.3f})"
        )
    pairs = [("plain", n) for n in variants if n != "plain"] + [("speculative", "speculative+lean")]
    for bs in (1, 8):
        for a, c in pairs:
            r = [x / y for x, y in zip(res[a, bs], res[c, bs], strict=True)]
            spread = f"{min(r):.2f}-{max(r):.2f}"
            print(f"b{bs} {c} over {a}: x{statistics.median(r):.2f} per round ({spread})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
