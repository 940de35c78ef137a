"""A lean eager decoding step for the built-in model (lossless: the same greedy text).

At batch 1 a decoding step of the 0.70 M-parameter built-in model is per-op dispatch more than
arithmetic (~0.5 ms of CPU per step on the lab's 2-vCPU Xeon, of which the matrix products are
about a third). :class:`LeanDecoder` runs the same computation as
:meth:`~wattwise.optimize.model.TinyLM.step` with less around it, without compiling anything
(building one takes milliseconds):

- **Pre-transposed weights.** Every projection is ``torch.mm(x, W_t)`` with ``W_t`` a
  contiguous ``[in, out]`` copy made once, instead of ``F.linear(x, W)`` on the ``[out, in]``
  weight. On one row that is ~5 us instead of ~9-10 us per product (nine per step), measured
  with 1 torch thread on the lab's VM; the kernels sum in a different order, so logits differ
  from the reference by float rounding (bit-equal on 3 of 50 steps checked; the greedy text
  was the reference's on 16 + 64 held-out prompts at batch 1 and 8 / 8 batches of 8).
- **Static key/value cache written in place.** One ``[2, B, H, max_seq, D]`` tensor per layer,
  allocated once per generation; a pass writes its positions in place and attends over the
  view ``[:end]`` (no mask for one token, the cached verification mask for several): no
  ``torch.cat`` of the growing cache per layer and step, and speculative decoding drops
  rejected drafts by attending less, not by slicing and copying.
- **No module calls.** Weights are plain tensors held in tuples, activations stay 2-D
  ``[B * t, d]`` (no 3-D ``matmul`` folding), no per-step shape checks.

:func:`lean_speculative_generate` verifies the speculative draft
(:mod:`wattwise.optimize.speculative`) with these passes. The decoder holds copies of the
weights taken when it is built: a model changed afterwards needs a new decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wattwise.optimize.model import StepHook, TinyLM, greedy_loop, verify_mask
from wattwise.optimize.speculative import DEFAULT_K, NgramDraft, SpecStats, speculative_loop
from wattwise.optimize.types import TechniqueSkipped

#: One block's tensors: norm1 weight, norm1 eps, qkv^T, o^T, norm2 weight, norm2 eps,
#: gate_up^T, down^T, heads.
_Layer = tuple[torch.Tensor, float, torch.Tensor, torch.Tensor, torch.Tensor, float,
               torch.Tensor, torch.Tensor, int]  # fmt: skip


def _t(w: torch.Tensor) -> torch.Tensor:
    """A contiguous [in, out] copy of a linear layer's [out, in] weight."""
    return w.detach().t().contiguous()


def _rms(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """:class:`~wattwise.optimize.model.RMSNorm`, the same five ops in the same order."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class LeanDecoder:
    """Eager forward passes of a :class:`TinyLM` with pre-transposed weights and a static
    key/value cache (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, TinyLM):
            raise TechniqueSkipped(
                "the lean decoding step drives the built-in model's layers; "
                "run it with --model builtin"
            )
        cfg = model.cfg
        self.model = model
        self.max_seq = cfg.max_seq
        self.d_model = cfg.d_model
        self.head_dim = cfg.head_dim
        with torch.no_grad():
            self.embed = model.embed.weight.detach()
            self.pos = model.pos.weight.detach()
            self.layers: list[_Layer] = [
                (blk.norm1.weight.detach(), blk.norm1.eps, _t(blk.attn.qkv.weight),
                 _t(blk.attn.o.weight), blk.norm2.weight.detach(), blk.norm2.eps,
                 _t(blk.mlp.gate_up.weight), _t(blk.mlp.down.weight), blk.attn.n_heads)
                for blk in model.layers()
            ]  # fmt: skip
            self.norm = (model.norm.weight.detach(), model.norm.eps)
            self.head = _t(model.lm_head.weight)

    def new_cache(self, batch: int) -> list[torch.Tensor]:
        """Uninitialised caches, one [2, batch, H_layer, max_seq, D] tensor per layer (a pass
        writes its positions before attending to them)."""
        dtype = self.embed.dtype
        return [
            torch.empty(2, batch, layer[8], self.max_seq, self.head_dim, dtype=dtype)
            for layer in self.layers
        ]

    def step(
        self, ids: torch.Tensor, start: int, kv: list[torch.Tensor], *, last_only: bool = False
    ) -> torch.Tensor:
        """Logits [B, t, V] for ``ids`` [B, t] at positions ``start..start + t - 1`` (only
        the last position's with ``last_only``), their keys/values written into ``kv``; the
        cache must hold positions ``0..start - 1`` of this sequence. Positions must stay
        inside the model's context (callers check)."""
        b, t = ids.shape
        d, hd = self.d_model, self.head_dim
        end = start + t
        x = (self.embed[ids] + self.pos[start:end]).view(b * t, d)
        # one token attends to the whole cache; a prefill is causal; several tokens after a
        # cache (speculative verification) need the explicit mask (see model.Attention)
        mask = verify_mask(t, end, x.dtype, x.device) if t > 1 and start > 0 else None
        causal = t > 1 and start == 0
        for (w1, e1, qkv_t, o_t, w2, e2, gu_t, down_t, h), c in zip(self.layers, kv, strict=True):
            qkv = torch.mm(_rms(x, w1, e1), qkv_t).view(b, t, 3, h, hd).permute(2, 0, 3, 1, 4)
            c[:, :, :, start:end] = qkv[1:]
            y = F.scaled_dot_product_attention(
                qkv[0], c[0, :, :, :end], c[1, :, :, :end], attn_mask=mask, is_causal=causal
            )
            x = x + torch.mm(y.transpose(1, 2).reshape(b * t, h * hd), o_t)
            g, u = torch.mm(_rms(x, w2, e2), gu_t).chunk(2, dim=-1)
            x = x + torch.mm(F.silu(g) * u, down_t)
        if last_only and t > 1:
            x, t = x.view(b, t, d)[:, -1], 1
        return torch.mm(_rms(x, *self.norm), self.head).view(b, t, -1)


def _check_fits(decoder: LeanDecoder, prompt: torch.Tensor, new_tokens: int) -> None:
    if prompt.shape[1] + new_tokens > decoder.max_seq:
        raise ValueError("prompt + new tokens exceed the model's context")


@torch.inference_mode()
def lean_generate(
    decoder: LeanDecoder, prompt: torch.Tensor, new_tokens: int, on_step: StepHook | None
) -> torch.Tensor:
    """Greedy decoding of ``new_tokens`` after ``prompt`` [B, T] through ``decoder``'s passes
    (any batch); ``on_step`` as in :func:`~wattwise.optimize.model.generate`."""
    _check_fits(decoder, prompt, new_tokens)
    kv = decoder.new_cache(prompt.shape[0])

    def prefill() -> torch.Tensor:
        return decoder.step(prompt, 0, kv, last_only=True)[:, -1].argmax(-1, keepdim=True)

    def step(nxt: torch.Tensor, pos: int) -> torch.Tensor:
        return decoder.step(nxt, pos, kv)[:, -1].argmax(-1, keepdim=True)

    return greedy_loop(prompt, new_tokens, on_step, prefill, step)


@torch.inference_mode()
def lean_speculative_generate(
    decoder: LeanDecoder,
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    draft: NgramDraft,
    k: int = DEFAULT_K,
    stats: SpecStats | None = None,
) -> torch.Tensor:
    """Speculative greedy decoding (:func:`~wattwise.optimize.speculative.
    speculative_generate`: up to ``k`` draft tokens per pass) whose passes are ``decoder``'s.
    A rejected draft's cache entries are overwritten by the next pass before anything attends
    to them. Batches of more than one row use :func:`lean_generate`."""
    if prompt.shape[0] != 1 or prompt.shape[1] < 2:
        return lean_generate(decoder, prompt, new_tokens, on_step)
    _check_fits(decoder, prompt, new_tokens)
    kv = decoder.new_cache(1)

    def prefill() -> int:
        return int(decoder.step(prompt, 0, kv, last_only=True)[0, -1].argmax())

    def verify(row: list[int], pos: int) -> list[int]:
        ids = torch.tensor([row], dtype=prompt.dtype)
        pred: list[int] = decoder.step(ids, pos, kv)[0].argmax(-1).tolist()
        return pred

    return speculative_loop(prompt, new_tokens, on_step, draft, k, stats, prefill, verify)
