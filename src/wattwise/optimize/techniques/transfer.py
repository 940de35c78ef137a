"""Transfer learning to the Jargon File: fine-tuning the built-in model vs training the same
architecture from scratch to the same perplexity (a comparison; no variant)."""

from __future__ import annotations

from collections.abc import Iterator

from wattwise.optimize.registry import (
    Context,
    Technique,
    builtin_model,
    register,
    training_budget,
)
from wattwise.optimize.types import Comparison


def _transfer(ctx: Context) -> Iterator[Comparison]:
    from wattwise.optimize.transfer import transfer_vs_scratch

    yield transfer_vs_scratch(
        ctx.subject.model,
        ctx.subject.builtin,
        ctx.tracker,
        scratch_s=ctx.share_s("transfer-scratch"),
        finetune_cap_s=ctx.share_s("transfer-finetune"),
        say=ctx.say,
        **ctx.train_kw(),
    )


register(
    Technique(
        "transfer",
        _transfer,
        "fine-tune on a new domain vs train from scratch to the same perplexity",
        order=70,
        needs=(
            builtin_model(
                "transfer learning uses the built-in model and the shipped Jargon File"
            ),
            training_budget("transfer-scratch"),
        ),
        # fine-tuning's share is a cap: it stops once it matches scratch
        budget={"transfer-scratch": 0.15, "transfer-finetune": 0.15},
    )
)
