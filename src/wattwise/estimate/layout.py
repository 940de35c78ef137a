"""How a serving replica is laid out: weight and KV-cache widths, chips, and admitted concurrency.

Serving-engine semantics (vLLM, TGI, TensorRT-LLM): ``--batch-size`` is the *maximum*
concurrency. An engine admits only as many sequences as its KV cache holds beside the weights;
the rest wait. So, on a replica of ``n`` chips of ``M`` bytes each:

* usable memory ``U = n · M · 0.9`` (activations, framework buffers and fragmentation take the
  rest);
* room for the KV cache ``R = U - W`` with ``W = params · bytes_per_param``;
* one sequence holds at most ``(I + O) · kv_bytes_per_token`` (its whole context, as an engine
  must reserve it to finish without preemption);
* admitted concurrency ``A = min(B, floor(R / ((I + O) · kv)))``.

Only when the weights alone do not fit (or leave no room for one sequence) is it an error.

KV bytes per token, when not given, assume a grouped-query-attention decoder with 8 KV heads of
128 dims and ``L = (N / 196,608)^(1/3)`` layers (``N ≈ 12 · L · d²`` with ``d = 128 · L``, the
shape of Llama-3 8B/70B/405B): ``kv = 2 · L · 8 · 128 · bytes``. Llama-3.1-8B: 128 KiB/token.
For a mixture-of-experts model ``N`` is the *active* parameter count: every token passes through
all attention layers, and the attention's shape follows the active path, not the experts (a
235 B-total, 22 B-active model taken at its total would get 2.2x the layers of its active path
and 2.2x its KV bytes per token).

The KV cache holds *activations* (keys and values), so its width is the activation width, not
the weight width: 16-bit for weight-only quantisation (int4 AWQ/GPTQ, int8) and for fp8 weights
alike, as serving engines keep it unless told otherwise (vLLM's ``--kv-cache-dtype auto`` = the
model's activation dtype; an fp8 KV cache is opt-in); 32-bit for an fp32 model. Give
``kv_bytes_per_token`` for an fp8 or quantised KV cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wattwise.core.provenance import Provenance
from wattwise.errors import ConfigError
from wattwise.estimate.hardware import Accelerator
from wattwise.estimate.inputs import ServingInputs
from wattwise.estimate.types import Assumption

BYTES_PER_PARAM: dict[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
DEFAULT_BATCH_SIZE = 16
#: Fraction of each chip's memory usable for weights and KV cache (the rest: activations,
#: framework buffers, fragmentation).
USABLE_MEMORY_FRACTION = 0.9
_PEAK_PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")


@dataclass(frozen=True)
class Layout:
    """How a request runs: weight and KV widths, admitted batch, chips per replica, peaks."""

    bpp: float  # weight bytes per parameter
    kv_tok: float  # KV-cache bytes per token
    batch: int  # admitted concurrency (<= the requested maximum)
    chips: int
    peak: float  # dense FLOP/s per chip at the weights' precision
    peak_act: float  # dense FLOP/s per chip at the activations' precision (attention)
    bw: float  # memory bytes/s per chip
    admission: dict[str, Any]


def kv_bytes_per_token_default(params: float, kv_bytes_per_value: float = 2.0) -> float:
    """KV-cache bytes per token of a GQA decoder of ``params`` parameters (module docstring)."""
    layers, _ = attention_shape(params)
    return 2.0 * layers * 8 * 128 * kv_bytes_per_value


def kv_value_bytes(precision: str) -> float:
    """Bytes per cached key/value element: the activation width of ``precision`` (4 for
    fp32/tf32, else 2: weight-only quantisation and fp8 weights keep a 16-bit KV cache)."""
    return 4.0 if precision.lower() in ("fp32", "tf32") else 2.0


def attention_shape(params: float) -> tuple[float, float]:
    """(layers, model width) of a decoder of ``params`` parameters in the Llama-3 shape of the
    module docstring: ``L = (N / 196,608)^(1/3)``, ``d = 128 · L``."""
    layers: float = (params / 196_608.0) ** (1.0 / 3.0)
    return layers, 128.0 * layers


def prefill_attention_flops(params: float, input_tokens: float) -> float:
    """Attention-score FLOPs of a causal prefill of ``input_tokens`` (beside ``2 · N · I``):
    ``Q·Kᵀ`` and ``softmax·V`` are ``2 · I² · d`` FLOPs each per layer, half of them masked, so
    ``2 · L · d · I²`` (the context term of Kaplan et al. 2020's ``2N + 2·L·n_ctx·d``)."""
    layers, width = attention_shape(params)
    return 2.0 * layers * width * input_tokens * input_tokens


def decode_attention_flops(params: float, context_tokens: float) -> float:
    """Attention-score FLOPs of one decoded token against ``context_tokens`` of KV cache (beside
    ``2 · N``): ``Q·Kᵀ`` and ``softmax·V`` are ``2 · ctx · d`` each per layer, ``4 · L · d · ctx``.
    Memory-bound in practice (the KV read is counted as bytes); counted so that a long context
    at a large batch moves the step towards compute-bound as it should."""
    layers, width = attention_shape(params)
    return 4.0 * layers * width * context_tokens


def default_chips(need_bytes: float, acc: Accelerator) -> int:
    """Smallest power-of-two chip count whose usable memory holds ``need_bytes``."""
    n = 1
    while n * acc.memory_bytes * USABLE_MEMORY_FRACTION < need_bytes:
        n *= 2
        if n > 4096:
            raise ConfigError(f"the model does not fit on 4096 {acc.name} chips")
    return n


def admit(
    requested: int, chips: int, weights_bytes: float, seq_kv_bytes: float, acc: Accelerator
) -> dict[str, Any]:
    """The admitted concurrency and its arithmetic (module docstring); ConfigError when the
    weights alone (or with one sequence) do not fit on ``chips`` x ``acc``."""
    usable = chips * acc.memory_bytes * USABLE_MEMORY_FRACTION
    room = usable - weights_bytes
    if chips * acc.memory_bytes < weights_bytes or room < seq_kv_bytes:
        raise ConfigError(
            f"{chips} x {acc.name} ({acc.memory_gb:g} GB each) cannot hold "
            f"{weights_bytes / 1e9:.3g} GB of weights and one sequence's KV cache "
            f"({seq_kv_bytes / 1e9:.3g} GB); add chips or use narrower weights"
        )
    fits = math.floor(room / seq_kv_bytes) if seq_kv_bytes > 0 else requested
    admitted = max(1, min(requested, fits))
    return {
        "requested": requested,
        "admitted": admitted,
        "limited_by": "kv_cache" if admitted < requested else "batch_size",
        "usable_memory_bytes": usable,
        "weights_bytes": weights_bytes,
        "kv_room_bytes": room,
        "kv_bytes_per_sequence": seq_kv_bytes,
        "sequences_that_fit": fits,
    }


def _admission_note(adm: dict[str, Any], chips: int, acc: Accelerator) -> Assumption:
    gb = 1e9
    text = (
        f"usable {chips} x {acc.memory_gb:g} GB x {USABLE_MEMORY_FRACTION:g} = "
        f"{adm['usable_memory_bytes'] / gb:.4g} GB - weights {adm['weights_bytes'] / gb:.4g} GB"
        f" = {adm['kv_room_bytes'] / gb:.4g} GB for KV; / {adm['kv_bytes_per_sequence'] / gb:.4g}"
        f" GB per sequence = {adm['sequences_that_fit']} sequences; admitted "
        f"min({adm['requested']}, {adm['sequences_that_fit']})"
    )
    if adm["limited_by"] == "kv_cache":
        text += f": the KV cache, not --batch-size {adm['requested']}, limits concurrency"
    return Assumption("admitted_concurrency", str(adm["admitted"]), "sequences",
                      Provenance.ESTIMATED, text)  # fmt: skip


def _activation_peak(acc: Accelerator, precision: str, fallback: float) -> float:
    """Dense peak at the activations' precision (attention runs there: the KV cache is
    16-bit), or ``fallback`` (the weights' peak) when the catalog has none for that width."""
    try:
        return acc.peak_flops(precision)
    except ConfigError:
        return fallback


def layout(inputs: ServingInputs, acc: Accelerator, notes: list[Assumption]) -> Layout:
    """Weight and KV widths from the precision, the chips that hold them, and the concurrency
    the KV cache admits (module docstring)."""
    prec = inputs.precision.lower()
    wbpp = inputs.weight_bytes_per_param
    if wbpp is None and prec not in BYTES_PER_PARAM:
        raise ConfigError(f"unknown precision {inputs.precision!r}")
    bpp = wbpp or BYTES_PER_PARAM[prec]
    kv_val_bytes = kv_value_bytes(prec if wbpp is None else "bf16")
    requested = DEFAULT_BATCH_SIZE if inputs.batch_size is None else int(inputs.batch_size)
    given_kv = inputs.kv_bytes_per_token
    kv_tok = given_kv or kv_bytes_per_token_default(inputs.active, kv_val_bytes)
    notes.append(
        Assumption(
            "kv_bytes_per_token",
            f"{kv_tok:.4g}",
            "bytes",
            Provenance.GIVEN if given_kv else Provenance.ASSUMED,
            "given by you (KV bytes per token)"
            if given_kv
            else "GQA decoder, 8 KV heads x 128 dims, layers from N (wattwise.estimate.layout)",
        )
    )
    weights = inputs.params * bpp
    seq_kv = (inputs.input_tokens + inputs.output_tokens) * kv_tok
    if inputs.chips is None:
        n = default_chips(weights + requested * seq_kv, acc)
        notes.append(
            Assumption("chips", str(n), "chips per replica", Provenance.ASSUMED,
                       "smallest power of two whose memory holds weights + KV cache")
        )  # fmt: skip
    else:
        n = int(inputs.chips)
    adm = admit(requested, n, weights, seq_kv, acc)
    notes.append(_admission_note(adm, n, acc))
    peak = acc.peak_flops(inputs.precision if prec in _PEAK_PRECISIONS else "bf16")
    peak_act = _activation_peak(acc, "fp32" if kv_val_bytes == 4.0 else "bf16", peak)
    return Layout(bpp, kv_tok, int(adm["admitted"]), n, peak, peak_act, acc.memory_bw_bytes_s,
                  adm)  # fmt: skip


__all__ = [
    "BYTES_PER_PARAM",
    "DEFAULT_BATCH_SIZE",
    "USABLE_MEMORY_FRACTION",
    "Layout",
    "admit",
    "attention_shape",
    "decode_attention_flops",
    "default_chips",
    "kv_bytes_per_token_default",
    "kv_value_bytes",
    "layout",
    "prefill_attention_flops",
]
