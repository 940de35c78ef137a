"""Graph-compiled decoding with a static key/value cache (lossless), and, when the speculative
variant was built, its draft verified by compiled passes (``speculative+compiled``, reusing
the compiled decoder and the draft)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wattwise.optimize.registry import (
    Built,
    Context,
    Technique,
    bind_gen,
    builtin_model,
    cxx_compiler,
    register,
)
from wattwise.optimize.types import Skipped

NOTE = (
    "lossless: the same weights (perplexity evaluated eagerly; 'same text' checks the compiled "
    "path); one-token decoding steps compiled by TorchInductor with a static key/value cache; "
    "the energy of compiling is the optimisation energy (inductor caches compiled graphs on "
    "disk, so a second run compiles for less)"
)


def _compiled(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize import compiled as comp

    s = ctx.subject

    def make() -> Any:
        dec = comp.CompiledDecoder(s.model, options=ctx.compile_options)
        dec.warm([(1, 1), (ctx.batch_size, 1)])
        return dec

    made = ctx.variant(
        "compiled",
        ["compiled-static-cache"],
        make,
        NOTE,
        decoder=lambda dec: bind_gen(comp.compiled_generate, subject=dec),
    )
    if isinstance(made, Skipped):
        yield made
        return
    dec = made.artifact
    made.variant.notes.append(
        f"compiled (batch, width) shapes {sorted(dec.shapes)}, inductor options {dec.options}"
    )
    yield made
    spec = (ctx.use("speculative") or {}).get("speculative")
    if spec is None:
        return
    widths = comp.DEFAULT_VERIFY_WIDTHS
    yield ctx.variant(
        "speculative+compiled",
        ["speculative-ngram", "compiled-static-cache"],
        lambda: dec.warm([(1, w) for w in widths]),
        f"lossless: the speculative variant's draft verified by compiled passes of width "
        f"{max(widths)} (up to {max(widths) - 1} draft tokens); batches decode with the "
        "compiled one-token pass",
        parts=(spec, made),  # building its parts counts too
        decoder=lambda _: bind_gen(
            comp.compiled_speculative_generate, subject=dec, draft=spec.artifact
        ),
    )


register(
    Technique(
        "compiled",
        _compiled,
        "TorchInductor-compiled decoding steps with a static key/value cache",
        order=100,
        needs=(
            builtin_model("compiled decoding here drives the built-in model's static cache"),
            cxx_compiler(),
        ),
        uses=("speculative",),
    )
)
