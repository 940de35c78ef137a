"""Quantization techniques: int8 dynamic (activations quantized per batch), int8 and int4
weight-only (see :mod:`wattwise.optimize.quantize`)."""

from __future__ import annotations

from collections.abc import Iterator

from wattwise.optimize.registry import Built, Context, Technique, register
from wattwise.optimize.types import Skipped


def _int8_dynamic(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.quantize import quantize_dynamic_int8

    yield ctx.variant(
        "int8-dynamic",
        ["int8-dynamic"],
        lambda: quantize_dynamic_int8(ctx.subject.model),
        "torch.ao.quantization.quantize_dynamic (deprecated API, deliberately kept: torchao "
        "int8 was slower in eager mode on CPU)",
    )


def _int8_weight(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.quantize import quantize_weight_only_int8

    yield ctx.variant(
        "int8-weight", ["int8-weight-only"], lambda: quantize_weight_only_int8(ctx.subject.model)
    )


def _int4_weight(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.quantize import quantize_weight_only_int4

    yield ctx.variant(
        "int4-weight", ["int4-weight-only"], lambda: quantize_weight_only_int4(ctx.subject.model)
    )


register(
    Technique(
        "int8-dynamic",
        _int8_dynamic,
        "int8 weights, activations quantized per batch (torch.ao dynamic quantization)",
        order=10,
    )
)
register(Technique("int8-weight", _int8_weight, "int8 weight-only linear layers", order=20))
register(
    Technique(
        "int4-weight", _int4_weight, "int4 weight-only linear layers (needs a CPU kernel)", order=30
    )
)
