"""Documented defaults of the estimator: utilisation (MFU), power draw, host share, embodied.

Each default is a :class:`~wattwise.estimate.types.Band` with its source. They are chosen from
principles and published per-generation figures (hardware generation, scale, how the vendor
defines TDP), not fitted to the runs the tests reproduce.

Model FLOPs utilisation (MFU) = useful model FLOP/s (6·N·D per second for training) divided by
the dense peak of the chosen precision. Published points by generation:

* Volta: GPT-3 on V100 19.7 % (Patterson et al. 2021 Table 4); PaLM paper Table 2 lists GPT-3
  at 21.3 %; Megatron-LM (2019) ~30 % of peak on 512 V100s.
* Ampere: Megatron-Turing NLG 30.2 % (PaLM Table 2); OPT-175B 147 TFLOP/s per A100 = 47 %
  (Zhang et al. 2022); LLaMA-65B 380 tokens/s/GPU on 2,048 A100s = 6·65.2e9·380 / 312e12 ≈ 48 %
  (Touvron et al. 2023); BLOOM ~150 TFLOP/s (~48 %, Le Scao et al. 2022); MegaScale 55.2 % on
  12,288 GPUs (Jiang et al. 2024).
* Hopper: Llama 3 405B 38–43 % BF16 MFU on 8K–16K H100s (Dubey et al. 2024 Table 4).
* TPU v3: Gopher 32.5 % (PaLM Table 2); T5 37 %, Meena 34 %, Switch 28 % of peak (Patterson 2021).
* TPU v4: PaLM 540B 46.2 % MFU on 6,144 chips (Chowdhery et al. 2022).
* Blackwell, CDNA, Gaudi, TPU v5: few public numbers; a lower default and a wide range.

Scale: MFU falls at very large scale as communication grows (Llama 3: 43 % at 8K GPUs, 38–41 %
at 16K): above 8,192 chips the central value and low bound are multiplied by 0.9. Models under
1 B parameters run small matrix multiplications; their low bound is multiplied by 0.6.

Fine-tuning runs are smaller (one node, short sequences, small batches): the training MFU is
multiplied by 0.75 (assumed; no systematic published survey).
"""

from __future__ import annotations

from wattwise.core.band import Band
from wattwise.core.defaults import LIFETIME_YEARS, Default
from wattwise.core.units import HOURS_PER_YEAR

__all__ = ["HOURS_PER_YEAR", "LIFETIME_YEARS", "Default", "default_mfu"]

_MFU: dict[str, Default] = {
    "pascal": Default(Band(0.30, 0.15, 0.45), "assumed for pre-tensor-core GPUs"),
    "volta": Default(
        Band(0.25, 0.15, 0.40),
        "GPT-3 on V100 19.7% (Patterson 2021); Megatron-LM ~30% (Shoeybi 2019)",
    ),
    "turing": Default(Band(0.25, 0.15, 0.40), "assumed like Volta (inference parts)"),
    "ampere": Default(
        Band(0.40, 0.28, 0.55),
        "MT-NLG 30% (PaLM Table 2), OPT-175B 47%, LLaMA-65B ~48%, MegaScale 55%",
    ),
    "ada": Default(Band(0.35, 0.20, 0.50), "assumed (inference parts, few training reports)"),
    "hopper": Default(
        Band(0.38, 0.25, 0.50), "Llama 3 405B 38-43% BF16 MFU on 8K-16K H100 (Dubey 2024)"
    ),
    "blackwell": Default(Band(0.30, 0.20, 0.45), "assumed: young software stack, few reports"),
    "cdna2": Default(Band(0.30, 0.20, 0.45), "assumed: few public MFU reports on MI250X"),
    "cdna3": Default(Band(0.30, 0.20, 0.45), "assumed: few public MFU reports on MI300X"),
    "tpu-v2": Default(Band(0.30, 0.20, 0.45), "assumed from TPU v3 reports"),
    "tpu-v3": Default(
        Band(0.35, 0.25, 0.45),
        "Gopher 32.5% (PaLM Table 2); T5 37%, Meena 34%, Switch 28% (Patterson 2021)",
    ),
    "tpu-v4": Default(
        Band(0.46, 0.35, 0.57), "PaLM 540B 46.2% MFU on 6,144 TPU v4 (Chowdhery 2022)"
    ),
    "tpu-v5": Default(Band(0.45, 0.30, 0.60), "assumed like TPU v4"),
    "gaudi2": Default(Band(0.35, 0.25, 0.50), "assumed: few public MFU reports"),
    "gaudi3": Default(Band(0.35, 0.25, 0.50), "assumed: few public MFU reports"),
}
_MFU_FALLBACK = Default(Band(0.30, 0.15, 0.50), "assumed: unknown architecture")

#: Chips above which communication lowers MFU (Llama 3: 43% at 8K H100s, 38-41% at 16K).
LARGE_SCALE_CHIPS = 8192
LARGE_SCALE_FACTOR = 0.9
SMALL_MODEL_PARAMS = 1e9
SMALL_MODEL_LOW_FACTOR = 0.6
FINETUNE_MFU_FACTOR = 0.75


def default_mfu(
    architecture: str, n_chips: int, params: float | None = None, finetune: bool = False
) -> Default:
    """Default training MFU for a hardware generation and scale, as a band with its source."""
    base = _MFU.get(architecture, _MFU_FALLBACK)
    v, lo, hi = base.band.value, base.band.low, base.band.high
    notes = [base.source]
    if n_chips > LARGE_SCALE_CHIPS:
        v, lo = v * LARGE_SCALE_FACTOR, lo * LARGE_SCALE_FACTOR
        notes.append(f"x{LARGE_SCALE_FACTOR} above {LARGE_SCALE_CHIPS} chips")
    if params is not None and params < SMALL_MODEL_PARAMS:
        lo *= SMALL_MODEL_LOW_FACTOR
        notes.append(f"low x{SMALL_MODEL_LOW_FACTOR} for a model under 1B parameters")
    if finetune:
        v, lo, hi = v * FINETUNE_MFU_FACTOR, lo * FINETUNE_MFU_FACTOR, hi * FINETUNE_MFU_FACTOR
        notes.append(f"x{FINETUNE_MFU_FACTOR} for fine-tuning (assumed)")
    return Default(Band(v, lo, hi), "; ".join(notes))


# --- power draw -------------------------------------------------------------------------------
#: Fraction of the dynamic range (TDP - idle) drawn under compute-bound load (training, prefill)
#: for a GPU whose TDP is a power limit. AI2 measured >600 W average of 700 W on H100s while
#: training (Morrison et al. 2025): (600 - 70) / (700 - 70) = 0.84.
COMPUTE_FRACTION_GPU = Default(
    Band(0.85, 0.70, 1.00), "H100 training >600 W of 700 W (Morrison et al. 2025)"
)
#: TPU TDP is a provisioning figure: Patterson 2021 Table 3 averages 221 W (v2, TDP 280) and
#: 283 W (v3, TDP 450) of measured *system* power per chip, host share included.
COMPUTE_FRACTION_PROVISIONING = Default(
    Band(0.50, 0.40, 0.70),
    "TPU average draw well under TDP: 221 W of 280 (v2), 283 W of 450 (v3) incl. host "
    "(Patterson 2021 Table 3)",
)
#: Memory-bound decode leaves the tensor units mostly idle, but a continuous-batching engine
#: streams HBM near its limit. Measured (ML.ENERGY Benchmark v3, vLLM, Llama 3.1 8B/70B/405B,
#: Chung et al. 2025, batch 8-4096, per GPU): H100s drew 408-691 W of 700 (0.54-0.98 of the
#: dynamic range above idle) and B200s 449-975 W of 1,000 (0.36-0.97); an earlier H100 run
#: outside a serving engine (8B, batch 64, 290-360 W) sits below. Expressed relative to the
#: compute-bound fraction so TPUs scale the same way; the decode step moves towards the
#: compute-bound draw as its compute share grows.
MEMORY_BOUND_RATIO = Default(
    Band(0.65, 0.47, 0.85),
    "ML.ENERGY v3 (vLLM, Llama 3.1 8B/70B/405B, batch 8-4096): H100 408-691 W of 700, B200 "
    "449-975 W of 1,000 per GPU while decoding (calibrated on these runs)",
)
#: Host CPU + DRAM average power per accelerator, as a fraction of the accelerator TDP. A DGX
#: H100 has 2 x 350 W CPUs and 2 TB DDR5 (~300 W): ~1 kW per 8 GPUs = 125 W/GPU = 0.18 TDP at
#: full load; Google reports host CPU/DRAM at 0.06 Wh against 0.14 Wh of accelerators (0.43) in
#: production serving, idle machines aside (Elsworth et al. 2025).
HOST_FRACTION_OF_TDP = Default(
    Band(0.15, 0.10, 0.30),
    "DGX H100 host ~1 kW per 8 GPUs (0.18 TDP at full load); Google Gemini serving host/"
    "accelerator energy 0.06/0.14",
)
#: Idle power when the catalog has none: ~10-15 % of TDP on data-centre GPUs.
IDLE_FRACTION_FALLBACK = 0.12


# --- inference ------------------------------------------------------------------------------
#: Achieved fraction of peak HBM bandwidth during decode in a continuous-batching engine,
#: by hardware generation. Calibrated on one model family only, Llama 3.1 8B/70B/405B (bf16
#: and fp8, 69 steady-state runs of the ML.ENERGY Benchmark v3 under vLLM, batch 8-4096) and
#: checked on the 440 runs of the other models (benchmarks/estimator_accuracy.md): H100 0.55,
#: B200 0.35 (the younger chip reaches less of its 8 TB/s in the same engine). Other chips take
#: the fallback: between the two, with a wide band (no steady-state measurement here).
BANDWIDTH_EFFICIENCY_BY_ARCH: dict[str, Default] = {
    "hopper": Default(Band(0.55, 0.35, 0.75), "ML.ENERGY v3, vLLM, Llama 3.1 on H100"),
    "blackwell": Default(Band(0.35, 0.25, 0.55), "ML.ENERGY v3, vLLM, Llama 3.1 on B200"),
}
BANDWIDTH_EFFICIENCY = Default(
    Band(0.45, 0.25, 0.70),
    "assumed between the H100 (0.55) and B200 (0.35) measurements (ML.ENERGY v3, vLLM)",
)


def bandwidth_efficiency(architecture: str) -> Default:
    """Default achieved fraction of peak HBM bandwidth while decoding on ``architecture``."""
    return BANDWIDTH_EFFICIENCY_BY_ARCH.get(architecture, BANDWIDTH_EFFICIENCY)


#: Achieved fraction of the dense 16-bit peak in a decode step once it is compute-bound (large
#: batches): many narrow matrix multiplications, attention kernels, sampling and the engine's
#: scheduling between steps. Calibrated with the bandwidth efficiency above (ML.ENERGY v3,
#: Llama 3.1 family): the measured throughput saturates at 10-25 % of the 16-bit peak.
DECODE_MFU = Default(
    Band(0.15, 0.10, 0.25), "ML.ENERGY v3, vLLM, Llama 3.1 8B/70B/405B saturation throughput"
)
#: MFU of prefill (compute-bound, large matrix multiplications).
PREFILL_MFU = Default(Band(0.45, 0.30, 0.65), "assumed: prefill runs near training MFU")


# --- embodied -------------------------------------------------------------------------------
#: Server-share boundary: 3,700 kgCO2e per 8-GPU node (2,500 server + 8 x 150 GPU) / 8
#: (Luccioni et al. 2022, BLOOM; reused by Morrison et al. 2025).
SERVER_SHARE_KGCO2E = 462.5
#: Used when the catalog has no die area: one GPU card, Luccioni 2022 / Cloud Carbon Footprint.
CARD_KGCO2E_FALLBACK = 150.0
# Lifetime (LIFETIME_YEARS) and year length (HOURS_PER_YEAR, 365.25 days) are wattwise.core's,
# shared with the accounting module.

#: Chinchilla-optimal tokens per parameter (Hoffmann et al. 2022), for "training from scratch".
CHINCHILLA_TOKENS_PER_PARAM = 20.0
