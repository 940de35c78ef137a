"""The built-in model: a small decoder-only transformer, Llama-style (RMSNorm, SwiGLU MLP, no
biases, tied input/output embeddings), written with plain ``nn.Linear`` layers so that dynamic
quantization applies and structured pruning is a matter of slicing weight rows and columns.

Per-layer head and MLP widths are part of the config (``heads``, ``mlp``), so a pruned model is
an ordinary model of a smaller config. Learned absolute position embeddings (no rotary), which
keeps attention-head slicing trivial. Generation keeps a key/value cache per layer.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

#: Per layer: keys and values so far, stacked [2, B, H, T, D] (None before the first step).
KVCache = list[torch.Tensor | None]
StepHook = Callable[[float], None]


@dataclass(frozen=True)
class LMConfig:
    """Shape of a :class:`TinyLM`. ``heads`` / ``mlp`` (per layer) default to ``n_heads`` /
    ``d_mlp`` for every layer; pruning sets them."""

    vocab_size: int = 2048
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 8
    d_mlp: int = 768
    max_seq: int = 128
    heads: tuple[int, ...] = field(default=())
    mlp: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if not self.heads:
            object.__setattr__(self, "heads", (self.n_heads,) * self.n_layers)
        if not self.mlp:
            object.__setattr__(self, "mlp", (self.d_mlp,) * self.n_layers)
        if len(self.heads) != self.n_layers or len(self.mlp) != self.n_layers:
            raise ValueError("heads and mlp need one entry per layer")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["heads"] = list(self.heads)
        d["mlp"] = list(self.mlp)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LMConfig:
        d = dict(d)
        d["heads"] = tuple(d.get("heads", ()))
        d["mlp"] = tuple(d.get("mlp", ()))
        return cls(**d)

    def pruned(self, heads: tuple[int, ...], mlp: tuple[int, ...]) -> LMConfig:
        return replace(self, heads=heads, mlp=mlp)


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Written out: torch 2.13's F.rms_norm is not a fused kernel on CPU (it decomposes into
        # more ops, with dtype copies) and was slower per decoding step than these five.
        out: torch.Tensor = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return out * self.weight


@functools.lru_cache(maxsize=512)
def verify_mask(t: int, total: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Additive attention mask [t, total] for ``t`` new tokens after ``total - t`` cached ones:
    0 where token i may look (the cache and new tokens 0..i), -inf elsewhere. Cached per shape
    (a speculative verification pass needs one per layer): building a boolean mask per layer
    and letting SDPA convert it cost ~10 % of a verification pass at batch 1."""
    with torch.inference_mode(False):  # a normal tensor, usable outside inference mode too
        allowed = torch.ones(t, total, dtype=torch.bool, device=device).tril(total - t)
        mask = torch.zeros(t, total, dtype=dtype, device=device)
        return mask.masked_fill_(~allowed, float("-inf"))


class Attention(nn.Module):
    """Multi-head self-attention with a fused q/k/v projection (rows: q heads, k heads, v heads)."""

    def __init__(self, d_model: int, n_heads: int, head_dim: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = head_dim
        self.qkv = nn.Linear(d_model, 3 * n_heads * head_dim, bias=False)
        self.o = nn.Linear(n_heads * head_dim, d_model, bias=False)

    def forward(
        self, x: torch.Tensor, cache: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Output for ``x`` [B, T, d_model] and the keys/values so far, stacked [2, B, H, T, D]."""
        b, t, _ = x.shape
        h, d = self.n_heads, self.head_dim
        qkv = self.qkv(x).view(b, t, 3, h, d).permute(2, 0, 3, 1, 4)  # [3, B, H, T, D]
        q = qkv[0]
        kv = qkv[1:]
        if cache is not None:  # one concatenation for keys and values together
            kv = torch.cat([cache, kv], dim=3)
        if cache is not None and t > 1:
            # Several new tokens after a cache (speculative verification): token i sees the
            # cache and new tokens 0..i. SDPA's is_causal aligns the mask top-left, which is
            # wrong when queries and keys differ in length, so the mask is explicit.
            mask = verify_mask(t, kv.shape[3], x.dtype, x.device)
            y = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=mask)
        else:
            # Prefill (no cache, t > 1) is causal; a decode step (t == 1) attends to everything.
            y = F.scaled_dot_product_attention(q, kv[0], kv[1], is_causal=cache is None and t > 1)
        return self.o(y.transpose(1, 2).reshape(b, t, h * d)), kv


class MLP(nn.Module):
    """SwiGLU MLP with a fused gate/up projection (rows: gate channels, then up channels)."""

    def __init__(self, d_model: int, d_mlp: int) -> None:
        super().__init__()
        self.d_mlp = d_mlp
        self.gate_up = nn.Linear(d_model, 2 * d_mlp, bias=False)
        self.down = nn.Linear(d_mlp, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g, u = self.gate_up(x).chunk(2, dim=-1)
        out: torch.Tensor = self.down(F.silu(g) * u)
        return out


class Block(nn.Module):
    def __init__(self, cfg: LMConfig, layer: int) -> None:
        super().__init__()
        self.norm1 = RMSNorm(cfg.d_model)
        self.attn = Attention(cfg.d_model, cfg.heads[layer], cfg.head_dim)
        self.norm2 = RMSNorm(cfg.d_model)
        self.mlp = MLP(cfg.d_model, cfg.mlp[layer])

    def forward(
        self, x: torch.Tensor, cache: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a, new_cache = self.attn(self.norm1(x), cache)
        x = x + a
        return x + self.mlp(self.norm2(x)), new_cache


class TinyLM(nn.Module):
    """The built-in decoder-only language model. ``forward(ids)`` returns logits [B, T, V]."""

    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_seq, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.embed.weight  # tied
        self.apply(self._init)
        for blk in self.layers():  # GPT-2 style scaled init of the residual projections
            for lin in (blk.attn.o, blk.mlp.down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))

    def layers(self) -> list[Block]:
        """The transformer blocks, typed."""
        return [cast(Block, b) for b in self.blocks]

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(
        self, ids: torch.Tensor, cache: KVCache | None = None, start: int = 0
    ) -> torch.Tensor:
        logits, _ = self.step(ids, cache, start)
        return logits

    def step(
        self, ids: torch.Tensor, cache: KVCache | None, start: int, *, last_only: bool = False
    ) -> tuple[torch.Tensor, KVCache]:
        """Logits for ``ids`` at positions ``start..`` (only the last position's with
        ``last_only``, all decoding needs), and the updated key/value cache."""
        t = ids.shape[1]
        x = self.embed(ids) + self.pos.weight[start : start + t]  # a slice, no index tensor
        layers: KVCache = cache if cache is not None else [None] * len(self.blocks)
        new: KVCache = []
        for blk, c in zip(self.blocks, layers, strict=True):
            x, kv = blk(x, c)
            new.append(kv)
        if last_only and t > 1:
            x = x[:, -1:]
        return self.lm_head(self.norm(x)), new


@torch.inference_mode()
def generate(
    model: TinyLM, prompt: torch.Tensor, new_tokens: int, on_step: StepHook | None = None
) -> torch.Tensor:
    """Greedy decoding of ``new_tokens`` after ``prompt`` [B, T] with a key/value cache.

    ``on_step(seconds)`` is called with the wall time of every decoding step (the prefill
    step included, as the first). Prompt + new tokens must fit ``max_seq``.
    """
    if prompt.shape[1] + new_tokens > model.cfg.max_seq:
        raise ValueError("prompt + new tokens exceed the model's context")
    cache: KVCache = []

    def prefill() -> torch.Tensor:
        nonlocal cache
        logits, cache = model.step(prompt, None, 0, last_only=True)
        return logits[:, -1].argmax(-1, keepdim=True)

    def step(nxt: torch.Tensor, pos: int) -> torch.Tensor:
        nonlocal cache
        logits, cache = model.step(nxt, cache, pos)
        return logits[:, -1].argmax(-1, keepdim=True)

    return greedy_loop(prompt, new_tokens, on_step, prefill, step)


def greedy_loop(
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    prefill: Callable[[], torch.Tensor],
    step: Callable[[torch.Tensor, int], torch.Tensor],
) -> torch.Tensor:
    """The decoding loop of greedy generation: ``prefill()`` gives the first new token [B, 1],
    ``step(token, position)`` the next after ``token`` fed at ``position``; ``on_step`` gets the
    wall time of each (see :func:`generate`). Returns prompt and new tokens, [B, T + new]."""
    out = [prompt]
    t0 = time.perf_counter()
    nxt = prefill()
    pos = prompt.shape[1]
    for i in range(new_tokens):
        out.append(nxt)
        if on_step is not None:
            t1 = time.perf_counter()
            on_step(t1 - t0)
            t0 = t1
        if i == new_tokens - 1:
            break
        nxt = step(nxt, pos)
        pos += 1
    return torch.cat(out, dim=1)


def count_params(model: nn.Module) -> int:
    """Parameters, counting the packed weights of quantized layers too (each copy once)."""
    n = sum(p.numel() for p in model.parameters())  # tied weights are counted once
    for m in model.modules():
        weight_fn = getattr(m, "weight", None)
        if hasattr(m, "_packed_params") and callable(weight_fn):  # torch.ao dynamic Linear
            n += int(weight_fn().numel())
        n += int(getattr(m, "quantized_numel", 0))  # wattwise weight-only layers
    return n
