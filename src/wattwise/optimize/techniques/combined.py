"""Combinations: int8 dynamic quantization on top of the structurally pruned and the distilled
variants (when those techniques are requested); their training counts in the combination's
optimisation energy."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from wattwise.optimize.registry import Built, Context, Technique, register
from wattwise.optimize.types import Skipped

#: (technique, its variant) that the combination quantizes.
SOURCES = (("prune-structured", "pruned-structured"), ("distill", "distilled"))


def _combined(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.quantize import quantize_dynamic_int8

    for technique, src_name in SOURCES:
        made = ctx.use(technique)
        if made is None:  # not requested
            continue
        name = f"{src_name}+int8"
        src = made.get(src_name)
        if src is None:
            yield Skipped(name, f"needs the '{src_name}' variant, which was skipped")
            continue
        yield ctx.variant(
            name,
            [*src.variant.techniques, "int8-dynamic"],
            functools.partial(quantize_dynamic_int8, src.model),
            parts=(src,),
        )


register(
    Technique(
        "combined",
        _combined,
        "int8-dynamic on top of the pruned-structured and distilled variants",
        order=80,
        uses=tuple(t for t, _ in SOURCES),
    )
)
