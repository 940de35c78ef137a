"""Post-training quantization of linear layers: dynamic int8, weight-only int8 and int4.

* Dynamic int8 (int8 weights, activations quantized per batch at run time) uses
  ``torch.ao.quantization.quantize_dynamic``. It is deprecated since torch 2.10 in favour of
  torchao, but torchao's int8 configs were *slower* than fp32 in eager mode on this kind of CPU
  (0.34× dynamic, 0.86× weight-only; shared/notes/optimization-on-cpu.md), while
  ``quantize_dynamic`` (fbgemm / onednn kernels) was ~2× faster. We keep it and silence its
  deprecation warning here, deliberately. It replaces only ``nn.Linear``: Hugging Face GPT-2's
  ``Conv1D`` layers are left as they are, which we report instead of pretending.
* Weight-only int8 / int4 use the CPU kernels that ship in torch itself
  (``aten._weight_int8pack_mm``, ``aten._weight_int4pack_mm_for_cpu`` — the kernels gpt-fast and
  torchao use on CPU), so there is no extra dependency. A missing kernel is detected with a small
  probe and reported as a skipped technique.
"""

from __future__ import annotations

import copy
import warnings
from functools import lru_cache

import torch
from torch import nn

from wattwise.optimize.types import TechniqueSkipped

INT4_GROUP = 32


def _linear_names(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` replaced by a dynamic int8 linear layer."""
    if not _linear_names(model):
        raise TechniqueSkipped(
            "dynamic int8 quantizes nn.Linear layers and this model has none "
            "(e.g. GPT-2 uses Conv1D): convert it or use weight-only int8"
        )
    if "fbgemm" not in torch.backends.quantized.supported_engines and (
        "x86" not in torch.backends.quantized.supported_engines
    ):
        raise TechniqueSkipped("this torch build has no int8 CPU engine (fbgemm/x86)")
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated (torch >= 2.10) but still the fastest eager-mode
        # int8 path on CPU; see the module docstring.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        out: nn.Module = quantize_dynamic(  # type: ignore[no-untyped-call]
            copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8
        )
        return out


class Int8WeightOnlyLinear(nn.Module):
    """``y = x @ (W_int8 * scale).T + b`` with per-output-channel symmetric int8 weights."""

    qweight: torch.Tensor  # buffers, declared for the type checker
    scale: torch.Tensor

    def __init__(self, lin: nn.Linear) -> None:
        super().__init__()
        w = lin.weight.detach().float()
        scale = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-8)
        self.register_buffer("qweight", torch.round(w / scale[:, None]).to(torch.int8))
        self.register_buffer("scale", scale)
        self.bias = None if lin.bias is None else nn.Parameter(lin.bias.detach().clone())
        self.in_features = lin.in_features
        self.out_features = lin.out_features
        self.quantized_numel = w.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y: torch.Tensor = torch.ops.aten._weight_int8pack_mm(
            x.reshape(-1, shape[-1]).float().contiguous(), self.qweight, self.scale
        )
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features)


class Int4WeightOnlyLinear(nn.Module):
    """Asymmetric int4 weights in groups of :data:`INT4_GROUP` input channels (packed for the
    CPU kernel); activations stay fp32."""

    qweight: torch.Tensor  # buffers, declared for the type checker
    scales_zeros: torch.Tensor

    def __init__(self, lin: nn.Linear, group: int = INT4_GROUP) -> None:
        super().__init__()
        w = lin.weight.detach().float()
        out_f, in_f = w.shape
        wg = w.reshape(out_f, in_f // group, group)
        lo = wg.amin(-1)
        hi = wg.amax(-1)
        scale = ((hi - lo) / 15.0).clamp(min=1e-8)
        q = torch.round((wg - lo[..., None]) / scale[..., None]).clamp(0, 15).to(torch.int32)
        # The kernel dequantizes (q - 8) * scale + zero, so zero = lo + 8 * scale.
        zero = lo + 8.0 * scale
        self.register_buffer(
            "qweight",
            torch.ops.aten._convert_weight_to_int4pack_for_cpu(q.reshape(out_f, in_f), 1),
        )
        self.register_buffer(
            "scales_zeros", torch.stack([scale, zero], -1).transpose(0, 1).contiguous()
        )
        self.bias = None if lin.bias is None else nn.Parameter(lin.bias.detach().clone())
        self.group = group
        self.in_features = in_f
        self.out_features = out_f
        self.quantized_numel = w.numel()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y: torch.Tensor = torch.ops.aten._weight_int4pack_mm_for_cpu(
            x.reshape(-1, shape[-1]).float().contiguous(),
            self.qweight,
            self.group,
            self.scales_zeros,
        )
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features)


@lru_cache(maxsize=2)
def kernel_available(bits: int) -> str | None:
    """None when the weight-only kernel for ``bits`` (8 or 4) runs here, else why not."""
    try:
        lin = nn.Linear(64, 32, bias=False)
        layer = Int8WeightOnlyLinear(lin) if bits == 8 else Int4WeightOnlyLinear(lin)
        x = torch.randn(2, 64)
        err = (layer(x) - lin(x)).abs().max().item()
        if not err < 1.0:
            return f"the int{bits} kernel gave wrong results (max error {err:.3g})"
    except (RuntimeError, NotImplementedError, AttributeError) as exc:
        return f"no int{bits} weight-only kernel for CPU in this torch build ({type(exc).__name__})"
    return None


def _replace_linears(model: nn.Module, bits: int) -> nn.Module:
    why = kernel_available(bits)
    if why is not None:
        raise TechniqueSkipped(f"skipped: {why}")
    out = copy.deepcopy(model)
    names = _linear_names(out)
    if not names:
        raise TechniqueSkipped(
            "weight-only quantization needs nn.Linear layers; this model has none"
        )
    replaced = 0
    for name in names:
        parent_name, _, attr = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        lin = getattr(parent, attr)
        if bits == 4 and lin.in_features % INT4_GROUP:
            continue  # the int4 kernel needs whole groups; such a layer stays fp32
        setattr(parent, attr, Int8WeightOnlyLinear(lin) if bits == 8 else Int4WeightOnlyLinear(lin))
        replaced += 1
    if replaced == 0:
        raise TechniqueSkipped(
            f"no linear layer has in_features divisible by {INT4_GROUP} for int4"
        )
    return out


def quantize_weight_only_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` weights are int8 (per-channel), fp32 activations."""
    return _replace_linears(model, 8)


def quantize_weight_only_int4(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` weights are int4 (groups of 32), fp32 activations.
    Raises :class:`TechniqueSkipped` when this torch build has no CPU int4 kernel."""
    return _replace_linears(model, 4)


def is_quantized(model: nn.Module) -> bool:
    """True when some layer of ``model`` holds quantized weights."""
    return any(
        hasattr(m, "_packed_params") or isinstance(m, Int8WeightOnlyLinear | Int4WeightOnlyLinear)
        for m in model.modules()
    )
