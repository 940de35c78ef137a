"""The optimisation lab (``wattwise optimize``): quantization, pruning, distillation and
transfer learning of generative models, measured in energy per generated token and in quality.

Needs the ``optimize`` extra (torch, transformers, tokenizers); nothing heavy is imported until
a function below is called. Public API::

    run_lab(model="builtin", *, techniques=None, budget_s=120.0, tolerance=0.05, ...) -> LabResult
    get_builtin(size="default") -> Builtin
    quantize_dynamic_int8 / quantize_weight_only_int8 / quantize_weight_only_int4 (model)
    prune_unstructured(model, amount) / prune_structured(model, head_frac, mlp_frac)
    speculative_generate(model, prompt, new_tokens, on_step, NgramDraft.build(ids, vocab))
    compiled_generate(CompiledDecoder(model), prompt, new_tokens, on_step)
    compiled_speculative_generate(CompiledDecoder(model), prompt, new_tokens, on_step, draft)
    lean_generate(LeanDecoder(model), prompt, new_tokens, on_step)
    lean_speculative_generate(LeanDecoder(model), prompt, new_tokens, on_step, draft)

A technique of the lab is one module calling ``wattwise.optimize.registry.register`` (the
shipped ones: ``wattwise.optimize.techniques``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_LAZY = {
    "run_lab": ("wattwise.optimize.lab", "run_lab"),
    "TECHNIQUES": ("wattwise.optimize.lab", "TECHNIQUES"),
    "LabResult": ("wattwise.optimize.types", "LabResult"),
    "Variant": ("wattwise.optimize.types", "Variant"),
    "TechniqueSkipped": ("wattwise.optimize.types", "TechniqueSkipped"),
    "get_builtin": ("wattwise.optimize.builtin", "get_builtin"),
    "TinyLM": ("wattwise.optimize.model", "TinyLM"),
    "LMConfig": ("wattwise.optimize.model", "LMConfig"),
    "generate": ("wattwise.optimize.model", "generate"),
    "quantize_dynamic_int8": ("wattwise.optimize.quantize", "quantize_dynamic_int8"),
    "quantize_weight_only_int8": ("wattwise.optimize.quantize", "quantize_weight_only_int8"),
    "quantize_weight_only_int4": ("wattwise.optimize.quantize", "quantize_weight_only_int4"),
    "prune_unstructured": ("wattwise.optimize.prune", "prune_unstructured"),
    "prune_structured": ("wattwise.optimize.prune", "prune_structured"),
    "distill_vs_scratch": ("wattwise.optimize.distill", "distill_vs_scratch"),
    "transfer_vs_scratch": ("wattwise.optimize.transfer", "transfer_vs_scratch"),
    "load_hf": ("wattwise.optimize.hf", "load_hf"),
    "NgramDraft": ("wattwise.optimize.speculative", "NgramDraft"),
    "speculative_generate": ("wattwise.optimize.speculative", "speculative_generate"),
    "CompiledDecoder": ("wattwise.optimize.compiled", "CompiledDecoder"),
    "compiled_generate": ("wattwise.optimize.compiled", "compiled_generate"),
    "compiled_speculative_generate": (
        "wattwise.optimize.compiled",
        "compiled_speculative_generate",
    ),
    "LeanDecoder": ("wattwise.optimize.lean", "LeanDecoder"),
    "lean_generate": ("wattwise.optimize.lean", "lean_generate"),
    "lean_speculative_generate": ("wattwise.optimize.lean", "lean_speculative_generate"),
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.optimize.builtin import get_builtin as get_builtin
    from wattwise.optimize.compiled import CompiledDecoder as CompiledDecoder
    from wattwise.optimize.compiled import compiled_generate as compiled_generate
    from wattwise.optimize.compiled import (
        compiled_speculative_generate as compiled_speculative_generate,
    )
    from wattwise.optimize.distill import distill_vs_scratch as distill_vs_scratch
    from wattwise.optimize.hf import load_hf as load_hf
    from wattwise.optimize.lab import TECHNIQUES as TECHNIQUES
    from wattwise.optimize.lab import run_lab as run_lab
    from wattwise.optimize.lean import LeanDecoder as LeanDecoder
    from wattwise.optimize.lean import lean_generate as lean_generate
    from wattwise.optimize.lean import lean_speculative_generate as lean_speculative_generate
    from wattwise.optimize.model import LMConfig as LMConfig
    from wattwise.optimize.model import TinyLM as TinyLM
    from wattwise.optimize.model import generate as generate
    from wattwise.optimize.prune import prune_structured as prune_structured
    from wattwise.optimize.prune import prune_unstructured as prune_unstructured
    from wattwise.optimize.quantize import quantize_dynamic_int8 as quantize_dynamic_int8
    from wattwise.optimize.quantize import quantize_weight_only_int4 as quantize_weight_only_int4
    from wattwise.optimize.quantize import quantize_weight_only_int8 as quantize_weight_only_int8
    from wattwise.optimize.speculative import NgramDraft as NgramDraft
    from wattwise.optimize.speculative import speculative_generate as speculative_generate
    from wattwise.optimize.transfer import transfer_vs_scratch as transfer_vs_scratch
    from wattwise.optimize.types import LabResult as LabResult
    from wattwise.optimize.types import TechniqueSkipped as TechniqueSkipped
    from wattwise.optimize.types import Variant as Variant


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'wattwise.optimize' has no attribute {name!r}") from None
    import importlib

    from wattwise.optimize._deps import require_torch

    if module_name != "wattwise.optimize.types":
        require_torch()
    value = getattr(importlib.import_module(module_name), attr)
    if name != "TECHNIQUES":  # read from the registry each time (see lab.__getattr__)
        globals()[name] = value
    return value
