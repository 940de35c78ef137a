"""Pruning: unstructured magnitude pruning and structured removal of heads / MLP channels.

Unstructured pruning only zeroes weights: dense kernels run exactly as fast as before (measured:
a CSR sparse matmul was 2–5× *slower* at 50 % sparsity on this CPU), so its value is the size of
the compressed checkpoint, which the lab reports. Structured pruning really removes attention
heads and MLP channels from the built-in :class:`~wattwise.optimize.model.TinyLM`, so the
matrices shrink and every step does less work.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from wattwise.optimize.model import TinyLM
from wattwise.optimize.train import train_lm
from wattwise.optimize.types import TechniqueSkipped

Masks = dict[str, torch.Tensor]


def prune_unstructured(model: nn.Module, amount: float = 0.5) -> tuple[nn.Module, Masks]:
    """A copy of ``model`` with the ``amount`` fraction of smallest-magnitude weights of every
    ``nn.Linear`` set to zero (per layer), and the 0/1 masks (parameter name -> mask) to keep
    them at zero during a recovery fine-tune. Tied output embeddings are left dense."""
    if not 0.0 < amount < 1.0:
        raise ValueError("amount must be in (0, 1)")
    out = copy.deepcopy(model)
    tied = {id(p) for m in out.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    masks: Masks = {}
    for name, mod in out.named_modules():
        if not isinstance(mod, nn.Linear) or id(mod.weight) in tied:
            continue
        w = mod.weight.data
        k = int(w.numel() * amount)
        if k == 0:
            continue
        threshold = w.abs().flatten().kthvalue(k).values
        mask = (w.abs() > threshold).to(w.dtype)
        w.mul_(mask)
        masks[f"{name}.weight" if name else "weight"] = mask
    if not masks:
        raise TechniqueSkipped("unstructured pruning needs nn.Linear layers; this model has none")
    return out, masks


def sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero weights over the model's ``nn.Linear`` weights."""
    zeros = 0
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            zeros += int((m.weight.detach() == 0).sum())
            total += m.weight.numel()
    return zeros / total if total else 0.0


def _keep(scores: torch.Tensor, frac_removed: float) -> torch.Tensor:
    n = scores.numel()
    keep = max(1, n - round(n * frac_removed))
    return scores.topk(keep).indices.sort().values


def prune_structured(model: nn.Module, head_frac: float = 0.25, mlp_frac: float = 0.5) -> TinyLM:
    """A smaller :class:`TinyLM`: in every layer the ``head_frac`` least important attention
    heads and ``mlp_frac`` least important MLP channels are removed (at least one of each stays).

    Importance is the L2 norm of the weights a head / channel owns (its q/k/v rows and output
    columns; its gate and up rows and down column) — a weight-magnitude criterion that needs no
    data. Only the built-in architecture is supported (a user model raises
    :class:`TechniqueSkipped`).
    """
    if not isinstance(model, TinyLM):
        raise TechniqueSkipped(
            "structured pruning slices the built-in model's heads and MLP channels; for other "
            "models use unstructured pruning or quantization"
        )
    if not (0.0 <= head_frac < 1.0 and 0.0 <= mlp_frac < 1.0):
        raise ValueError("head_frac and mlp_frac must be in [0, 1)")
    cfg = model.cfg
    hd = cfg.head_dim
    head_keep: list[torch.Tensor] = []
    mlp_keep: list[torch.Tensor] = []
    for blk in model.layers():
        h = blk.attn.n_heads
        qkv = blk.attn.qkv.weight.detach().view(3, h, hd, -1)
        o = blk.attn.o.weight.detach().view(-1, h, hd)
        head_score = qkv.pow(2).sum(dim=(0, 2, 3)) + o.pow(2).sum(dim=(0, 2))
        head_keep.append(_keep(head_score, head_frac))
        m = blk.mlp.d_mlp
        gu = blk.mlp.gate_up.weight.detach().view(2, m, -1)
        down = blk.mlp.down.weight.detach()
        ch_score = gu[0].norm(dim=1) * gu[1].norm(dim=1) * down.norm(dim=0)
        mlp_keep.append(_keep(ch_score, mlp_frac))
    new_cfg = cfg.pruned(tuple(k.numel() for k in head_keep), tuple(k.numel() for k in mlp_keep))
    out = TinyLM(new_cfg)
    with torch.no_grad():
        out.embed.weight.copy_(model.embed.weight)
        out.pos.weight.copy_(model.pos.weight)
        out.norm.weight.copy_(model.norm.weight)
        for src, dst, hk, mk in zip(model.layers(), out.layers(), head_keep, mlp_keep, strict=True):
            dst.norm1.weight.copy_(src.norm1.weight)
            dst.norm2.weight.copy_(src.norm2.weight)
            h = src.attn.n_heads
            qkv = src.attn.qkv.weight.view(3, h, hd, -1)[:, hk]
            dst.attn.qkv.weight.copy_(qkv.reshape(-1, cfg.d_model))
            o = src.attn.o.weight.view(cfg.d_model, h, hd)[:, hk]
            dst.attn.o.weight.copy_(o.reshape(cfg.d_model, -1))
            m = src.mlp.d_mlp
            gu = src.mlp.gate_up.weight.view(2, m, -1)[:, mk]
            dst.mlp.gate_up.weight.copy_(gu.reshape(-1, cfg.d_model))
            dst.mlp.down.weight.copy_(src.mlp.down.weight[:, mk])
    out.eval()
    return out


def unstructured_with_recovery(
    model: nn.Module, data: torch.Tensor, amount: float, recover_s: float, *, batch: int, seq: int
) -> nn.Module:
    """Magnitude-prune ``amount`` of every linear layer, then fine-tune ``recover_s`` seconds
    with the pruned weights held at zero (0: no fine-tune)."""
    pruned, masks = prune_unstructured(model, amount)
    if recover_s > 0:
        train_lm(
            pruned,
            data,
            time_s=recover_s,
            batch=batch,
            seq=seq,
            lr=5e-4,
            warmup=10,
            masks=masks,
            seed=1,
        )
    return pruned


def structured_with_recovery(
    model: nn.Module,
    data: torch.Tensor,
    head_frac: float,
    mlp_frac: float,
    recover_s: float,
    *,
    batch: int,
    seq: int,
) -> TinyLM:
    """Remove heads / MLP channels, then fine-tune ``recover_s`` seconds (0: no fine-tune)."""
    pruned = prune_structured(model, head_frac, mlp_frac)
    if recover_s > 0:
        train_lm(pruned, data, time_s=recover_s, batch=batch, seq=seq, lr=1e-3, warmup=10, seed=2)
    return pruned
