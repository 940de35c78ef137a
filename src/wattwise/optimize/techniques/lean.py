"""The lean eager decoding step (lossless: pre-transposed weights, a static key/value cache
written in place, no module calls; nothing compiled), alone (``lean``) and, when the
speculative variant was built, verifying its draft (``speculative+lean``)."""

from __future__ import annotations

from collections.abc import Iterator

from wattwise.optimize.registry import (
    Built,
    Context,
    Technique,
    bind_gen,
    builtin_model,
    register,
)
from wattwise.optimize.types import Skipped

NOTE = (
    "lossless: the same weights, pre-transposed once (logits differ by float rounding; "
    "'same text' checks the path), a static key/value cache written in place, no module "
    "calls; eager, nothing compiled"
)


def _lean(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize import lean

    made = ctx.variant(
        "lean",
        ["lean-step"],
        lambda: lean.LeanDecoder(ctx.subject.model),
        NOTE,
        decoder=lambda dec: bind_gen(lean.lean_generate, subject=dec),
    )
    yield made
    spec = (ctx.use("speculative") or {}).get("speculative")
    if isinstance(made, Skipped) or spec is None:
        return
    dec = made.artifact
    yield ctx.variant(
        "speculative+lean",
        ["speculative-ngram", "lean-step"],
        lambda: dec,
        "lossless: the speculative variant's draft verified by lean passes; batches decode "
        "with the lean one-token step",
        parts=(spec, made),  # building its parts counts too
        decoder=lambda _: bind_gen(
            lean.lean_speculative_generate, subject=dec, draft=spec.artifact
        ),
    )


register(
    Technique(
        "lean",
        _lean,
        "lean eager decoding step: pre-transposed weights, in-place static key/value cache",
        order=95,
        needs=(builtin_model("the lean decoding step drives the built-in model's layers"),),
        uses=("speculative",),
    )
)
