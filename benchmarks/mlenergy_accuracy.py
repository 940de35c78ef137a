"""Blind estimates against the steady-state runs of the ML.ENERGY Benchmark v3 (measured GPU
energy, Zeus/NVML; LLMs under vLLM, diffusion pipelines in diffusers; H100 and B200, 1-8 GPUs).

Blind: the estimate gets the model's total and active parameters, the weights' precision, the
GPU, the GPU count, the maximum batch (``max_num_seqs``) and the mean output length of the
workload; input lengths are not published and are stated here per task (LM Arena chat 200,
GPQA 250, Sourcegraph fill-in-the-middle 1,500 tokens: assumed). For diffusion: the pipeline's
settings (steps, resolution, frames, batch, whether it uses classifier-free guidance, its VAE
factor and patch), as a planner reads them from the model card. Boundary: accelerators only
(what the benchmark measures). Mamba-hybrid LLMs (Nemotron Nano) are left out: the model is a
transformer's.

**Calibration and validation.** The serving defaults fitted on these data (bandwidth
efficiency by chip generation, the memory-bound power ratio, the decode MFU; the diffusion
sequence-parallel cost) were set on one family each: Llama 3.1 (8B/70B/405B, bf16 and fp8) for
text, FLUX.1-dev and Wan 2.1 14B for images and video. Every other model is a validation row;
the tables report both groups apart.

Run from the repository root: ``PYTHONPATH=src python benchmarks/mlenergy_accuracy.py``
(``estimator_accuracy.py --write`` includes these tables).
"""

from __future__ import annotations

import collections
import csv
import math
import statistics
from pathlib import Path

from wattwise.estimate import estimate_inference
from wattwise.estimate.diffusion import diffusion_estimate
from wattwise.estimate.inputs import DiffusionInputs, VideoInputs

DATA = Path(__file__).resolve().parent.parent / "tests" / "estimate" / "data"
SOURCE = (
    "ML.ENERGY Leaderboard v3 data (github.com/ml-energy/leaderboard @ 0cd52da, "
    "public/data/tasks/*.json, updated 2026-02-16; Chung et al., NeurIPS D&B 2025)"
)
PRECISION = {"bfloat16": "bf16", "fp8": "fp8", "mxfp4": "int4"}
INPUT_TOKENS = {"lm-arena-chat": 200, "gpqa": 250, "sourcegraph-fim": 1500}
#: Pipeline settings from the model cards: classifier-free guidance, VAE factor, patch size.
#: FLUX.1-dev and HunyuanVideo are guidance-distilled (one pass per step); SANA's DC-AE
#: downsamples 32x with patch 1; the others use an 8x VAE and 2x2 patches.
PIPELINES: dict[str, tuple[bool, int, int]] = {
    "black-forest-labs/FLUX.1-dev": (False, 8, 2),
    "stabilityai/stable-diffusion-3.5-large": (True, 8, 2),
    "stabilityai/stable-diffusion-3.5-medium": (True, 8, 2),
    "PixArt-alpha/PixArt-Sigma-XL-2-1024-MS": (True, 8, 2),
    "Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers": (True, 8, 2),
    "Efficient-Large-Model/SANA1.5_1.6B_1024px_diffusers": (True, 32, 1),
    "Efficient-Large-Model/SANA1.5_4.8B_1024px_diffusers": (True, 32, 1),
    "Wan-AI/Wan2.1-T2V-14B-Diffusers": (True, 8, 2),
    "Wan-AI/Wan2.1-T2V-1.3B-Diffusers": (True, 8, 2),
    "zai-org/CogVideoX-2b": (True, 8, 2),
    "zai-org/CogVideoX1.5-5B": (True, 8, 2),
    "tencent/HunyuanVideo": (False, 8, 2),
}
TEXT_CALIBRATION = "meta-llama/Llama-3.1-"
DIFFUSION_CALIBRATION = ("black-forest-labs/FLUX.1-dev", "Wan-AI/Wan2.1-T2V-14B-Diffusers")


def _median_factor(ratios: list[float]) -> float:
    return statistics.median(max(r, 1.0 / r) for r in ratios)


def _geo(ratios: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(r) for r in ratios))


def text_ratios() -> list[tuple[dict[str, str], float]]:
    """(row, estimated / measured J per output token) for every transformer LLM run."""
    out = []
    with (DATA / "mlenergy_v3_llm.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["architecture"] not in ("Dense Transformer", "MoE"):
                continue
            est = estimate_inference(
                hardware=r["gpu_model"], params=float(r["total_params_billions"]) * 1e9,
                active_params=float(r["activated_params_billions"]) * 1e9,
                input_tokens=INPUT_TOKENS[r["task"]], output_tokens=float(r["avg_output_len"]),
                chips=int(r["num_gpus"]), batch_size=int(r["max_num_seqs"]),
                precision=PRECISION[r["weight_precision"]],
            )  # fmt: skip
            j_per_token = est.wh_per_request["accelerators"].value * 3600
            j_per_token /= float(r["avg_output_len"])
            out.append((r, j_per_token / float(r["energy_per_token_joules"])))
    return out


def diffusion_ratios() -> list[tuple[dict[str, str], float]]:
    """(row, estimated / measured J per image or video) for every diffusion run."""
    out = []
    with (DATA / "mlenergy_v3_diffusion.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            cfg, factor, patch = PIPELINES[r["model_id"]]
            kw = dict(hardware=r["gpu_model"], params=float(r["total_params_billions"]) * 1e9,
                      steps=int(r["inference_steps"]), width=int(r["width"]),
                      height=int(r["height"]), cfg=cfg, latent_factor=factor, patch=patch,
                      chips=int(r["num_gpus"]), batch_size=int(r["batch_size"]))  # fmt: skip
            inputs = (
                VideoInputs(frames=int(r["num_frames"]), **kw)  # type: ignore[arg-type]
                if r["task"] == "text-to-video"
                else DiffusionInputs(**kw)  # type: ignore[arg-type]
            )
            est = diffusion_estimate(inputs).wh_per_item["accelerators"].value * 3600
            out.append((r, est / float(r["energy_per_item_joules"])))
    return out


def _group_line(name: str, ratios: list[float]) -> str:
    if not ratios:
        return f"| {name} | 0 | | | |"
    within = sum(0.8 <= r <= 1.25 for r in ratios) / len(ratios)
    return (f"| {name} | {len(ratios)} | {_median_factor(ratios):.2f} | {_geo(ratios):.2f} | "
            f"{within:.0%} |")  # fmt: skip


def _per_model(rows: list[tuple[dict[str, str], float]], keys: tuple[str, ...]) -> list[str]:
    groups: dict[tuple[str, ...], list[float]] = collections.defaultdict(list)
    for r, ratio in rows:
        groups[tuple(r[k] for k in keys)].append(ratio)
    out = []
    for k, v in sorted(groups.items()):
        out.append(f"| {' | '.join(k)} | {len(v)} | {_median_factor(v):.2f} | {_geo(v):.2f} | "
                   f"{min(v):.2f}-{max(v):.2f} |")  # fmt: skip
    return out


def report() -> str:
    text = text_ratios()
    diff = diffusion_ratios()
    cal = [x for r, x in text if r["model_id"].startswith(TEXT_CALIBRATION)]
    val_rows = [(r, x) for r, x in text if not r["model_id"].startswith(TEXT_CALIBRATION)]
    val = [x for _, x in val_rows]

    def sel(pred: object) -> list[float]:
        return [x for r, x in val_rows if pred(r)]  # type: ignore[operator]

    head = "| group | runs | median factor | geo. mean est/meas | within 0.8-1.25x |"
    out = [
        f"Source: {SOURCE}. Accelerator energy per output token (text) and per item "
        "(images, video); factor = max(est/meas, meas/est).",
        "",
        "#### Serving text (J per output token)",
        "",
        head,
        "|---|---|---|---|---|",
        _group_line("calibration: Llama 3.1 8B/70B/405B", cal),
        _group_line("**validation: all other models**", val),
        _group_line("validation, dense bf16", sel(lambda r: r["architecture"] != "MoE"
                                                  and r["weight_precision"] == "bfloat16")),
        _group_line("validation, mixture-of-experts bf16", sel(
            lambda r: r["architecture"] == "MoE" and r["weight_precision"] == "bfloat16")),
        _group_line("validation, fp8 weights", sel(lambda r: r["weight_precision"] == "fp8")),
        _group_line("validation, 4-bit weights (MXFP4, gpt-oss)",
                    sel(lambda r: r["weight_precision"] == "mxfp4")),
        _group_line("validation, H100", sel(lambda r: r["gpu_model"] == "H100")),
        _group_line("validation, B200", sel(lambda r: r["gpu_model"] == "B200")),
        _group_line("validation, batch <= 64", sel(lambda r: int(r["max_num_seqs"]) <= 64)),
        _group_line("validation, batch > 64", sel(lambda r: int(r["max_num_seqs"]) > 64)),
        _group_line("all runs", cal + val),
        "",
        "| model | precision | GPU | GPUs | runs (batch 8-4096) | median factor | geo. mean | "
        "range |",
        "|---|---|---|---|---|---|---|---|",
        *_per_model(text, ("model_id", "weight_precision", "gpu_model", "num_gpus")),
        "",
        "#### Images and video (J per item)",
        "",
        head,
        "|---|---|---|---|---|",
    ]
    for task, unit in (("text-to-image", "images"), ("text-to-video", "videos")):
        rows = [(r, x) for r, x in diff if r["task"] == task]
        c = [x for r, x in rows if r["model_id"] in DIFFUSION_CALIBRATION]
        v = [x for r, x in rows if r["model_id"] not in DIFFUSION_CALIBRATION]
        one = [x for r, x in rows if r["model_id"] not in DIFFUSION_CALIBRATION
               and r["num_gpus"] == "1"]  # fmt: skip
        calibrated_on = "FLUX.1-dev" if unit == "images" else "Wan 2.1 14B"
        out += [
            _group_line(f"{unit}, calibration ({calibrated_on})", c),
            _group_line(f"**{unit}, validation: all other models**", v),
            _group_line(f"{unit}, validation, 1 GPU", one),
        ]
    out += [
        "",
        "| model | GPU | GPUs | runs (batch, parallel layouts) | median factor | geo. mean | "
        "range |",
        "|---|---|---|---|---|---|---|",
        *_per_model(diff, ("model_id", "gpu_model", "num_gpus")),
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(report())
