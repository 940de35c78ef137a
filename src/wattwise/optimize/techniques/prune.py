"""Pruning techniques, each with a recovery fine-tune when its budget share allows one:
unstructured (50 % of every linear layer's weights zeroed; the gain is the compressed size) and
structured (25 % of heads and 50 % of MLP channels removed from the built-in architecture)."""

from __future__ import annotations

from collections.abc import Iterator

from wattwise.optimize.registry import MIN_TRAIN_S, Built, Context, Technique, register
from wattwise.optimize.types import Skipped


def _unstructured(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.prune import unstructured_with_recovery

    s = ctx.subject
    t_rec = ctx.share_s("prune-unstructured")
    recover = t_rec >= MIN_TRAIN_S
    yield ctx.variant(
        "pruned-50%",
        ["prune-unstructured-50%"] + (["recovery"] if recover else []),
        lambda: unstructured_with_recovery(
            s.model, s.train_ids, 0.5, t_rec if recover else 0.0, **ctx.train_kw()
        ),
        "dense kernels get no faster from zeros: the gain is the compressed size",
        compressed_size=True,
    )


def _structured(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.prune import structured_with_recovery

    s = ctx.subject
    t_rec = ctx.share_s("prune-structured")
    recover = t_rec >= MIN_TRAIN_S
    yield ctx.variant(
        "pruned-structured",
        ["prune-heads-25%", "prune-mlp-50%"] + (["recovery"] if recover else []),
        lambda: structured_with_recovery(
            s.model, s.train_ids, 0.25, 0.5, t_rec if recover else 0.0, **ctx.train_kw()
        ),
        "" if recover else f"no recovery fine-tune: budget share {t_rec:.2g} s < {MIN_TRAIN_S} s",
    )


register(
    Technique(
        "prune-unstructured",
        _unstructured,
        "magnitude pruning of half of every linear layer, then a masked recovery fine-tune",
        order=40,
        budget={"prune-unstructured": 0.08},
    )
)
register(
    Technique(
        "prune-structured",
        _structured,
        "remove attention heads and MLP channels (built-in architecture), then fine-tune",
        order=50,
        budget={"prune-structured": 0.12},
    )
)
