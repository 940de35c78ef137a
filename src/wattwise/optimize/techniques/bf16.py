"""bf16 weights, activations and key/value cache for the compiled decoding of the built-in
model, with the speculative variant's draft (``speculative+compiled+bf16``). Lossy (bf16
rounding): perplexity and the same-text check say how much (on the built-in model: perplexity
+0.0 %, the baseline's greedy text on 11 of 16 prompts). Eager bf16 products are slower than
fp32 at these sizes (2x at 8 rows of the 384-wide layers), but TorchInductor's autotuned C++
GEMM templates in bf16 made the compiled batch-8 step 2.7x cheaper in CPU time than the fp32
baseline, 1.4x cheaper than the fp32 compiled one (benchmarks/optimize.md)."""

from __future__ import annotations

import copy
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


def _bf16(ctx: Context) -> Iterator[Built | Skipped]:
    import torch

    from wattwise.optimize import compiled as comp
    from wattwise.optimize.batched import speculative_compiled_generate

    spec = (ctx.use("speculative") or {}).get("speculative")
    name = "speculative+compiled+bf16"
    if spec is None:
        yield Skipped(name, "needs the 'speculative' variant (its draft): add speculative")
        return
    held: dict[str, Any] = {}

    def make() -> Any:
        model = copy.deepcopy(ctx.subject.model).to(torch.bfloat16).eval()
        dec = comp.CompiledDecoder(model, options=ctx.compile_options)
        dec.warm([(1, w) for w in comp.DEFAULT_VERIFY_WIDTHS] + [(ctx.batch_size, 1)])
        held["dec"] = dec
        return model

    made = ctx.variant(
        name,
        ["speculative-ngram", "compiled-static-cache", "bf16"],
        make,
        "bf16 weights, activations and key/value cache (lossy rounding); the speculative "
        "variant's draft verified by compiled passes; batches decode with the compiled "
        "one-token pass",
        parts=(spec,),
    )
    if isinstance(made, Built):
        made.gen = functools.partial(
            speculative_compiled_generate,
            decoder=held["dec"],
            batched=None,  # batches: the compiled one-token pass (batched verification
            # did not pay at batch 8: benchmarks/optimize.md)
            draft=spec.artifact,
        )
    yield made


register(
    Technique(
        "bf16",
        _bf16,
        "bf16 weights and activations for compiled speculative decoding",
        order=110,
        needs=(
            builtin_model("bf16 compiled decoding drives the built-in model's static cache"),
            cxx_compiler(),
        ),
        uses=("speculative",),
    )
)
