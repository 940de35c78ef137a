"""Image and video generation estimates: a FLOP model of diffusion denoisers, compute-bound.

Per generated item (an image, or a video of ``F`` frames) at ``W x H`` pixels:

* **Latent tokens.** The VAE downsamples by ``f`` (``--latent-factor``, default 8) in space and,
  for video, by ``t`` (``--temporal-factor``, default 4) in time with a causal first frame:
  ``F_lat = 1 + (F - 1) // t`` (Wan 2.1, HunyuanVideo, CogVideoX). A diffusion transformer
  (``dit``) patchifies by ``p`` (``--patch``, default 2):
  ``T = F_lat · ceil(H / (f·p)) · ceil(W / (f·p))``. FLUX at 1024 x 1024: 4,096 tokens; Wan
  2.1 at 832 x 480 x 81 frames: 21 x 30 x 52 = 32,760 tokens.
* **One denoiser pass** = ``2 · N · T`` (every weight multiplies every token) + attention's
  quadratic term ``4 · L · T² · d`` (``QKᵀ`` and ``AV``). With ``N ≈ 12 · L · d²`` that is
  ``T² · N / (3 · d)``; the width ``d`` (``--hidden-size``) defaults to ``(r · N / 12)^(1/3)``
  with ``r = d / L = 64`` (SD3-medium 1,536 / 24), band ``r`` = 41 (DiT-XL/2, 1,152 / 28) to
  128 (Wan 2.1 14B, 5,120 / 40). At 32,760 video tokens attention is about half of a pass.
* A **U-Net** (``unet``) spends most of its FLOPs at downsampled resolutions; its effective
  tokens per latent pixel come from a published count: the Stable Diffusion v1.4 U-Net,
  859.52 M parameters, 888,870 M MACs for a batch of 2 (classifier-free guidance) at a 64 x 64
  latent (onnx-tool model zoo), i.e. ``2 · 444.4e9 / (2 · 859.52e6 · 4,096) = 0.126`` tokens per
  latent pixel, attention included (``--patch`` overrides it).
* **Classifier-free guidance** (``--cfg``, default on) runs the denoiser twice per step
  (conditional and unconditional): passes = ``steps x 2``.
* **Text encoder**, once per item (twice with guidance, for the negative prompt):
  ``2 · N_text · tokens``. Default for ``dit``: a T5-XXL encoder, half of T5's 11 B (encoder and
  decoder of equal depth, Raffel et al. 2020), 512 tokens; for ``unet``: CLIP ViT-L/14's text
  model, 123.13 M, 77 tokens (onnx-tool).
* **VAE decode**, once per item: the Stable Diffusion VAE decoder's published 1,271,959 M MACs
  for a 512 x 512 image (onnx-tool), i.e. 9.7 MFLOP per output pixel, applied to every frame
  (a 3-D video VAE differs: assumed).

Time: ``chip-seconds = FLOPs / (dense peak · MFU)`` with the MFU default by hardware generation
(:func:`wattwise.estimate.defaults.default_mfu`): a denoiser pass is one large matrix
multiplication over thousands of tokens, as in training. Energy: chip-seconds x the
compute-bound draw (power basis as for training), plus the host share; facility = node x PUE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wattwise.core.provenance import Provenance
from wattwise.core.units import DAYS_PER_YEAR
from wattwise.errors import ConfigError
from wattwise.estimate import defaults as d
from wattwise.estimate.hardware import Accelerator, get_hardware
from wattwise.estimate.inference import BOUNDARIES, period_totals
from wattwise.estimate.inputs import DiffusionInputs
from wattwise.estimate.layout import BYTES_PER_PARAM, USABLE_MEMORY_FRACTION
from wattwise.estimate.power import chip_power
from wattwise.estimate.types import (
    Assumption,
    Band,
    EstimateContext,
    cost_to_dict,
    default_context,
)

#: Sequence parallelism (Ulysses / ring attention) splits one item's tokens over the chips of a
#: replica and exchanges them every layer: efficiency ``1 / (1 + c · (n - 1))``. ``c`` from the
#: ML.ENERGY Benchmark v3 (diffusers + xDiT-style parallelism on H100 and B200), FLUX.1-dev and
#: Wan 2.1 14B at 1-8 GPUs (the calibration rows of benchmarks/estimator_accuracy.md).
SEQUENCE_PARALLEL_COST = 0.1
SP_SOURCE = "ML.ENERGY v3, FLUX.1-dev and Wan 2.1 14B on 1-8 H100/B200"
#: Width / depth of published diffusion transformers: value SD3-medium, band DiT-XL/2 to Wan 2.1.
WIDTH_PER_LAYER = Band(64.0, 41.0, 128.0)
#: Stable Diffusion v1.4 U-Net (onnx-tool model zoo): parameters, MACs for a batch of 2, latent.
SD14_UNET_PARAMS = 859.52e6
SD14_UNET_MACS_BATCH2 = 888_870e6
SD14_LATENT_PIXELS = 64 * 64
UNET_TOKENS_PER_LATENT_PIXEL = SD14_UNET_MACS_BATCH2 / 2 / (SD14_UNET_PARAMS * SD14_LATENT_PIXELS)
#: Stable Diffusion VAE decoder (onnx-tool): MACs for one 512 x 512 image -> FLOP per pixel.
VAE_DECODER_FLOP_PER_PIXEL = 2 * 1_271_959e6 / (512 * 512)
#: Default text encoders: (parameters, prompt tokens, source) per architecture.
TEXT_ENCODERS: dict[str, tuple[float, int, str]] = {
    "dit": (5.5e9, 512, "T5-XXL encoder: half of T5's 11B (equal encoder/decoder depth, "
            "Raffel et al. 2020), 512 tokens"),
    "unet": (123.13e6, 77, "CLIP ViT-L/14 text model, 123.13M parameters (onnx-tool), 77 tokens"),
}  # fmt: skip
DEFAULTS: dict[str, tuple[object, str]] = {
    "architecture": ("dit", "a diffusion transformer (FLUX, SD3, Wan); --architecture unet for "
                     "Stable Diffusion 1.x/2.x/XL"),
    "cfg": (True, "classifier-free guidance on: two denoiser passes per step"),
    "latent_factor": (8, "VAE downsampling of SD, SDXL, SD3, FLUX, Wan 2.1"),
    "patch": (2, "patch size of DiT, SD3, FLUX, Wan 2.1"),
    "temporal_factor": (4, "temporal VAE downsampling of Wan 2.1, HunyuanVideo, CogVideoX"),
    "chips": (1, "one accelerator per replica"),
    "batch_size": (1, "one item at a time"),
}  # fmt: skip


@dataclass(frozen=True)
class DiffusionEstimate:
    """An image or video estimate: Wh per item for each boundary, FLOPs by term, seconds per
    item, daily/yearly totals (facility kWh, kgCO2e, cost in ``currency``), assumptions."""

    kind: str
    hardware: str
    chips: int
    latent_tokens: int
    passes: int
    flops: dict[str, Band]
    wh_per_item: dict[str, Band]
    seconds_per_item: Band  # replica-seconds per item (throughput)
    latency_s: Band  # one batch of ``batch_size`` items, start to end
    g_co2e_per_item: dict[str, Band]
    daily: dict[str, Band]
    yearly: dict[str, Band]
    currency: str | None
    requests_per_day: float
    assumptions: tuple[Assumption, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``wh_per_image`` (or ``wh_per_video``) per boundary, and the rest."""
        unit = "image" if self.kind == "image" else "video"

        def period(p: dict[str, Band]) -> dict[str, Any]:
            out: dict[str, Any] = {k: v.to_dict() for k, v in p.items() if k != "cost"}
            out["cost"] = cost_to_dict(p.get("cost"), self.currency)
            return out

        return {
            "kind": self.kind,
            "hardware": self.hardware,
            "chips": self.chips,
            "latent_tokens": self.latent_tokens,
            "denoiser_passes": self.passes,
            f"wh_per_{unit}": {k: v.to_dict() for k, v in self.wh_per_item.items()},
            f"seconds_per_{unit}": self.seconds_per_item.to_dict(),
            "latency_s": self.latency_s.to_dict(),
            f"g_co2e_per_{unit}": {k: v.to_dict() for k, v in self.g_co2e_per_item.items()},
            "flops": {k: v.to_dict() for k, v in self.flops.items()},
            "requests_per_day": self.requests_per_day,
            "daily": period(self.daily),
            "yearly": period(self.yearly),
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def _pick(inputs: DiffusionInputs, name: str, notes: list[Assumption], unit: str = "") -> Any:
    """A field's value: given (recorded ``given``) or the documented default (``assumed``)."""
    value = getattr(inputs, name)
    if value is not None:
        notes.append(Assumption(name, str(value), unit, Provenance.GIVEN, f"given by you ({name})"))
        return value
    default, why = DEFAULTS[name]
    notes.append(Assumption(name, str(default), unit, Provenance.ASSUMED, why))
    return default


def latent_tokens(inputs: DiffusionInputs, arch: str, f: int, p: int | None, t: int) -> float:
    """Tokens one denoiser pass sees (module docstring); a U-Net's are effective tokens."""
    n = inputs.frame_count
    frames = 1 if n is None else 1 + (n - 1) // t
    if arch == "unet" and p is None:
        pixels = math.ceil(inputs.height / f) * math.ceil(inputs.width / f)
        return frames * pixels * UNET_TOKENS_PER_LATENT_PIXEL
    q = f * (p or 2)
    return float(frames * math.ceil(inputs.height / q) * math.ceil(inputs.width / q))


def _attention(params: float, tokens: float, hidden: int | None) -> Band:
    """Attention FLOPs of one pass, ``T² · N / (3 d)``, the width given or from the shape band
    (a wider model has fewer layers: less attention)."""
    if hidden is not None:
        return Band.exact(tokens**2 * params / (3.0 * hidden))

    def at(r: float) -> float:
        width: float = (r * params / 12.0) ** (1.0 / 3.0)
        return tokens**2 * params / (3.0 * width)

    return Band(at(WIDTH_PER_LAYER.value), at(WIDTH_PER_LAYER.high), at(WIDTH_PER_LAYER.low))


def _flops(inputs: DiffusionInputs, notes: list[Assumption]) -> tuple[dict[str, Band], int, int]:
    """FLOPs per item by term (denoiser linear, attention, text encoder, VAE decode, total),
    the latent tokens and the denoiser passes."""
    arch = _pick(inputs, "architecture", notes)
    cfg = bool(_pick(inputs, "cfg", notes))
    f = int(_pick(inputs, "latent_factor", notes, "pixels"))
    p = inputs.patch if arch == "unet" else int(_pick(inputs, "patch", notes, "latent pixels"))
    t = int(_pick(inputs, "temporal_factor", notes, "frames")) if inputs.frame_count else 1
    tokens = latent_tokens(inputs, arch, f, p, t)
    if arch == "unet" and p is None:
        notes.append(Assumption("unet_tokens_per_latent_pixel",
                                f"{UNET_TOKENS_PER_LATENT_PIXEL:.4g}", "", Provenance.ASSUMED,
                                "SD v1.4 U-Net 888,870M MACs (batch 2) / 859.52M params / 64x64 "
                                "latent (onnx-tool), attention included"))  # fmt: skip
    passes = inputs.steps * (2 if cfg else 1)
    linear = Band.exact(2.0 * inputs.params * tokens * passes)
    attn = (
        Band.exact(0.0)
        if arch == "unet"
        else _attention(inputs.params, tokens, inputs.hidden_size).scale(passes)
    )
    te_params, te_tokens, te_source = TEXT_ENCODERS[arch]
    given_te = inputs.text_encoder_params is not None or inputs.text_tokens is not None
    te_params = inputs.text_encoder_params or te_params
    te_tokens = inputs.text_tokens or te_tokens
    notes.append(Assumption("text_encoder", f"{te_params:.4g} params x {te_tokens} tokens", "",
                            Provenance.GIVEN if given_te else Provenance.ASSUMED,
                            "given by you" if given_te else te_source))  # fmt: skip
    text = Band.exact(2.0 * te_params * te_tokens * (2 if cfg else 1))
    pixels = inputs.width * inputs.height * (inputs.frame_count or 1)
    vae = Band(pixels * VAE_DECODER_FLOP_PER_PIXEL, pixels * VAE_DECODER_FLOP_PER_PIXEL * 0.5,
               pixels * VAE_DECODER_FLOP_PER_PIXEL * 2.0)  # fmt: skip
    notes.append(Assumption("vae_decoder_flop_per_pixel", f"{VAE_DECODER_FLOP_PER_PIXEL:.4g}",
                            "FLOP", Provenance.ASSUMED,
                            "SD VAE decoder 1,271,959M MACs at 512x512 (onnx-tool); band x0.5-x2 "
                            "for other (3-D video) VAEs, assumed"))  # fmt: skip
    terms = {"denoiser_linear": linear, "attention": attn, "text_encoder": text, "vae_decode": vae}
    total = Band.exact(0.0)
    for band in terms.values():
        total = total.add(band)
    return {**terms, "total": total}, round(tokens), passes


def _check_memory(inputs: DiffusionInputs, acc: Accelerator, chips: int) -> None:
    bpp = BYTES_PER_PARAM.get(inputs.precision.lower(), 2.0)
    need = inputs.params * bpp
    if need > chips * acc.memory_bytes * USABLE_MEMORY_FRACTION:
        raise ConfigError(
            f"{chips} x {acc.name} ({acc.memory_gb:g} GB each) cannot hold "
            f"{need / 1e9:.3g} GB of denoiser weights; add chips (--chips)"
        )


def _mfu(inputs: DiffusionInputs, acc: Accelerator, chips: int, notes: list[Assumption]) -> Band:
    if inputs.mfu is not None:
        notes.append(Assumption("mfu", f"{inputs.mfu:g}", "ratio", Provenance.GIVEN,
                                "given by you (MFU)"))  # fmt: skip
        return Band.exact(inputs.mfu)
    dm = d.default_mfu(acc.architecture, chips, inputs.params)
    m = dm.band
    why = f"{acc.architecture}: {dm.source} (a denoiser pass is one large matrix multiplication, "
    why += "as in training)"
    if chips > 1:
        eff = 1.0 / (1.0 + SEQUENCE_PARALLEL_COST * (chips - 1))
        m = m.scale(eff)
        why += (f"; x{eff:.3g} for {chips} chips in one sequence-parallel group (each extra chip "
                f"costs {SEQUENCE_PARALLEL_COST:g} of the group's efficiency: {SP_SOURCE})")
    notes.append(Assumption("mfu", f"{m.value:.3g} ({m.low:.3g}-{m.high:.3g})", "ratio",
                            Provenance.ASSUMED, why))  # fmt: skip
    return m


def diffusion_estimate(
    inputs: DiffusionInputs, context: EstimateContext | None = None
) -> DiffusionEstimate:
    """Estimate generating one image (or one video, :class:`VideoInputs`) per request (module
    docstring): Wh per item at each boundary, FLOPs by term, and daily/yearly totals."""
    acc = (
        inputs.hardware
        if isinstance(inputs.hardware, Accelerator)
        else get_hardware(inputs.hardware)
    )
    ctx = context or default_context()
    ctx.validate()
    notes: list[Assumption] = []
    flops, tokens, passes = _flops(inputs, notes)
    chips = int(_pick(inputs, "chips", notes, "chips"))
    batch = int(_pick(inputs, "batch_size", notes, "items"))
    _check_memory(inputs, acc, chips)
    mfu = _mfu(inputs, acc, chips, notes)
    peak = acc.peak_flops(inputs.precision)
    notes.append(Assumption("peak_flops", f"{peak:.4g}", f"FLOP/s dense {inputs.precision}",
                            Provenance.ASSUMED, f"{acc.name}: {acc.source}"))  # fmt: skip
    power = chip_power(acc, inputs.power_basis, inputs.power_w)
    chosen = inputs.power_basis is not None or inputs.power_w is not None
    why = (
        "given by you (power basis / --power-w)"
        if chosen
        else "no power basis given: the utilisation model (default)"
    )
    given = Provenance.GIVEN if chosen else Provenance.ASSUMED
    notes.append(Assumption("power_basis", power.basis, "", given, why))
    notes.extend(power.assumptions)
    total = flops["total"]
    chip_s = Band(total.value / (peak * mfu.value), total.low / (peak * mfu.high),
                  total.high / (peak * mfu.low))  # fmt: skip
    acc_wh = chip_s.mul(power.compute_w).scale(1 / 3600)
    node_wh = acc_wh.add(chip_s.mul(power.host_w).scale(1 / 3600))
    per_item = {"accelerators": acc_wh, "node": node_wh, "facility": node_wh.mul(ctx.pue.band)}
    assert tuple(per_item) == BOUNDARIES
    facility_kwh = per_item["facility"].scale(1e-3)
    grams = {
        "location": facility_kwh.mul(ctx.intensity_location_g_per_kwh.band),
        "market": facility_kwh.mul(ctx.market.band),
    }
    notes.extend(ctx.assumptions())
    daily = period_totals(facility_kwh.scale(inputs.requests_per_day), ctx)
    return DiffusionEstimate(
        kind="image" if inputs.frame_count is None else "video",
        hardware=acc.name,
        chips=chips,
        latent_tokens=tokens,
        passes=passes,
        flops=flops,
        wh_per_item=per_item,
        seconds_per_item=chip_s.scale(1.0 / chips),
        latency_s=chip_s.scale(batch / chips),
        g_co2e_per_item=grams,
        daily=daily,
        yearly={k: v.scale(DAYS_PER_YEAR) for k, v in daily.items()},
        currency=ctx.currency,
        requests_per_day=inputs.requests_per_day,
        assumptions=tuple(notes),
    )


__all__ = [
    "DEFAULTS",
    "TEXT_ENCODERS",
    "DiffusionEstimate",
    "diffusion_estimate",
    "latent_tokens",
]
