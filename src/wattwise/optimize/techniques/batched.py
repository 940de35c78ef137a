"""Batched speculative decoding (``speculative+compiled+batched``): at batch 1 the
``speculative+compiled`` variant's decoding; a batch verifies every row's own draft in one
compiled pass of batch x width tokens, each row accepting its own count
(:mod:`wattwise.optimize.batched`). Lossless; reuses the speculative draft and the compiled
decoder, compiling one more pass (batch, width)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from wattwise.optimize.registry import (
    Built,
    Context,
    Technique,
    builtin_model,
    cxx_compiler,
    register,
)
from wattwise.optimize.types import Skipped

NAME = "speculative+compiled+batched"


def _batched(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.batched import (
        DEFAULT_BATCH_WIDTH,
        BatchedDecoder,
        speculative_compiled_generate,
    )

    spec = (ctx.use("speculative") or {}).get("speculative")
    made = ctx.use("compiled") or {}
    both, comp = made.get("speculative+compiled"), made.get("compiled")
    if spec is None or both is None or comp is None:
        yield Skipped(NAME, "needs the 'speculative+compiled' variant: add speculative,compiled")
        return
    dec = comp.artifact  # the compiled decoder (its batch-1 passes)

    def make() -> Any:
        bdec = BatchedDecoder(ctx.subject.model, options=dec.options)
        if ctx.batch_size > 1:
            bdec.warm([(ctx.batch_size, bdec.width)])
        return bdec

    yield ctx.variant(
        NAME,
        ["speculative-ngram", "compiled-static-cache", "batched-verification"],
        make,
        f"lossless: batch 1 as speculative+compiled; a batch verifies every row's own draft in "
        f"one compiled pass of batch x {DEFAULT_BATCH_WIDTH} tokens, each row accepting its "
        "own count",
        parts=(both,),
        decoder=lambda bdec: functools.partial(
            speculative_compiled_generate, decoder=dec, batched=bdec, draft=spec.artifact
        ),
    )


register(
    Technique(
        "batched",
        _batched,
        "batched speculative verification (rows accept different counts) at batch > 1",
        order=105,
        needs=(
            builtin_model("batched verification drives the built-in model's static cache"),
            cxx_compiler(),
        ),
        uses=("speculative", "compiled"),
    )
)
