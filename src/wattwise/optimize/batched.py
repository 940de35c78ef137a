"""Batched speculative decoding of the built-in model through compiled passes (lossless).

:func:`~wattwise.optimize.compiled.compiled_speculative_generate` verifies one sequence's draft
per pass; a batch used to fall back to one-token passes. Here every row of a batch gets its
own draft (the same :class:`~wattwise.optimize.speculative.NgramDraft`: context lookup, then the
n-gram tables), all rows are verified in one compiled pass of ``B x width`` tokens, and each
row accepts its own number of tokens: rows then sit at different positions. So the pass takes
positions per row (``pos`` [B, width]), writes each row's new keys/values at its own positions
(a scatter into the static cache) and masks per row (key position <= the row's query position);
a row's entries past its accepted tokens lie beyond every later query of that row until
overwritten. Drafts shorter than the width are padded (never accepted); a finished row keeps
being fed (its output is cut), so the batch shape, and the compiled graph, never changes.

Why it pays at batch 8 where a batch of one-token passes saves less: the compiled one-token pass
of 8 rows is no longer dispatch-bound, but its matrix products have only 8 rows; a pass of
8 x 4 tokens costs far less than 4 passes (measured in ``benchmarks/optimize.md``), and every
accepted draft token is a token without a pass of its own.

Greedy tokens are each row's own greedy text (up to floating-point ties), as in the batch-1
case; the lab checks the batch rows against the baseline's batch-1 text too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wattwise.optimize.compiled import CompiledDecoder, StaticStep, _check_fits
from wattwise.optimize.model import StepHook
from wattwise.optimize.speculative import NgramDraft, SpecStats

#: Width (tokens per row per pass) of the batched verification pass: the last token and up to
#: ``width - 1`` draft tokens.
DEFAULT_BATCH_WIDTH = 4


class RowStep(StaticStep):
    """:class:`~wattwise.optimize.compiled.StaticStep` with positions per row: ``pos`` [B, t].
    Returns the greedy next token after each position, [B, t]."""

    def forward(self, ids: torch.Tensor, pos: torch.Tensor, kv: list[torch.Tensor]) -> torch.Tensor:
        m = self.model
        b, t = ids.shape
        d = m.cfg.head_dim
        x = m.embed(ids) + m.pos(pos.clamp(max=m.cfg.max_seq - 1))
        key_pos: torch.Tensor = self.key_pos  # type: ignore[assignment]
        # [B, 1, t, cache]: row b's query at pos[b, i] sees keys at positions <= pos[b, i]
        allowed = key_pos[None, None, :] <= pos[:, :, None]
        mask = torch.where(allowed, 0.0, float("-inf")).to(x.dtype)[:, None]
        for i, blk in enumerate(m.layers()):
            h = blk.attn.n_heads
            qkv = blk.attn.qkv(blk.norm1(x)).view(b, t, 3, h, d).permute(2, 0, 3, 1, 4)
            where = pos[None, :, None, :, None].expand(2, b, h, t, d)
            kv[i].scatter_(3, where, qkv[1:])
            y = F.scaled_dot_product_attention(qkv[0], kv[i][0], kv[i][1], attn_mask=mask)
            x = x + blk.attn.o(y.transpose(1, 2).reshape(b, t, h * d))
            x = x + blk.mlp(blk.norm2(x))
        out: torch.Tensor = m.lm_head(m.norm(x)).argmax(-1)
        return out


class BatchedDecoder(CompiledDecoder):
    """Compiled passes with positions per row (:class:`RowStep`), one graph per (batch,
    width); ``width``: the verification width (its slack is reserved in the cache)."""

    def __init__(
        self,
        model: nn.Module,
        *,
        width: int = DEFAULT_BATCH_WIDTH,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, slack=width - 1, options=options)
        self.width = width
        self._step = RowStep(self.model, self.cache_len).eval()

    @torch.inference_mode()
    def warm(self, shapes: Iterable[tuple[int, int]]) -> None:
        """Compile the passes of (batch, width) ``shapes`` now (one call each)."""
        for batch, width in shapes:
            if (batch, width) in self._fns:
                continue
            kv = self.new_cache(batch)
            ids = torch.zeros(batch, width, dtype=torch.long)
            self(ids, torch.arange(width).repeat(batch, 1), kv)


@torch.inference_mode()
def batched_speculative_generate(
    decoder: BatchedDecoder,
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    draft: NgramDraft,
    stats: SpecStats | None = None,
) -> torch.Tensor:
    """Greedy decoding of ``new_tokens`` after ``prompt`` [B, T] (rows of equal length),
    verifying each row's draft in one compiled pass of ``B x decoder.width`` tokens per step.
    ``on_step`` gets one call per pass (its wall time); ``stats`` counts passes and tokens
    (all rows together)."""
    model = decoder.model
    _check_fits(model, prompt, new_tokens)
    rows, t_prompt = prompt.shape
    w = decoder.width
    limit = decoder.cache_len - 1
    t0 = time.perf_counter()
    first, kv = decoder.prefill(prompt)
    ctxs = [draft.context(prompt[r].tolist()) for r in range(rows)]
    for r, ctx in enumerate(ctxs):
        ctx.extend([int(first[r, 0])])
    pos = torch.full((rows,), t_prompt, dtype=torch.long)  # next position fed, per row
    offsets = torch.arange(w)
    end = t_prompt + new_tokens
    while True:
        if on_step is not None:
            t1 = time.perf_counter()
            on_step(t1 - t0)
            t0 = t1
        left = [end - len(c.tokens) for c in ctxs]
        if max(left) <= 0:
            break
        drafts = [
            draft.propose(c.tokens, min(w - 1, n - 1), c) if n > 0 else []
            for c, n in zip(ctxs, left, strict=True)
        ]
        ids = torch.tensor(
            [[c.tokens[-1], *d, *[0] * (w - 1 - len(d))] for c, d in zip(ctxs, drafts, strict=True)]
        )
        at = (pos[:, None] + offsets).clamp_(max=limit)
        pred = decoder(ids, at, kv)
        same = (ids[:, 1:] == pred[:, :-1]).to(torch.int8).cumprod(1)
        n_ok = same.sum(1).tolist()
        pred_rows: list[list[int]] = pred.tolist()
        for r, ctx in enumerate(ctxs):
            if left[r] <= 0:
                continue
            m = min(int(n_ok[r]), len(drafts[r]))
            ctx.extend(pred_rows[r][: m + 1])
            pos[r] += m + 1
            if stats is not None:
                stats.tokens += m + 1
                stats.drafted += len(drafts[r])
                stats.accepted += m
        if stats is not None:
            stats.passes += 1
    return torch.tensor([c.tokens[:end] for c in ctxs], dtype=prompt.dtype)


def speculative_compiled_generate(
    model: nn.Module,
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    *,
    decoder: CompiledDecoder,
    batched: BatchedDecoder | None,
    draft: NgramDraft,
) -> torch.Tensor:
    """The ``speculative+compiled`` variant's decoding: one row through ``decoder``'s compiled
    verification passes, a batch through ``batched`` (per-row acceptance); ``batched`` None:
    a batch decodes with the compiled one-token pass. ``model`` is not used (the decoders
    hold it): the lab's generate-function signature."""
    from wattwise.optimize.compiled import compiled_generate, compiled_speculative_generate

    del model
    if prompt.shape[0] == 1:
        return compiled_speculative_generate(decoder, prompt, new_tokens, on_step, draft)
    if batched is None:
        return compiled_generate(decoder, prompt, new_tokens, on_step)
    return batched_speculative_generate(batched, prompt, new_tokens, on_step, draft)
