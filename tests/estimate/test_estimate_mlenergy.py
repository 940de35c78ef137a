"""The serving and diffusion estimates against the shipped ML.ENERGY Benchmark v3 runs (measured
GPU energy; `benchmarks/mlenergy_accuracy.py` prints the full tables). These pin the held-out
accuracy the benchmark reports, so a change to the model or its defaults that loses it fails
here: the serving defaults were set on the Llama 3.1 runs only, the bounds below apply to the
other models' runs."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from wattwise.estimate import estimate_inference
from wattwise.estimate.diffusion import diffusion_estimate
from wattwise.estimate.inputs import VideoInputs

DATA = Path(__file__).parent / "data"
PRECISION = {"bfloat16": "bf16", "fp8": "fp8", "mxfp4": "int4"}
INPUT_TOKENS = {"lm-arena-chat": 200, "gpqa": 250, "sourcegraph-fim": 1500}


def _factor(ratios: list[float]) -> float:
    return statistics.median(max(r, 1 / r) for r in ratios)


def test_serving_text_on_held_out_models_stays_near_the_target() -> None:
    """Benchmark: median factor 1.26 on 440 held-out runs (target 1.25); bound 1.30."""
    ratios = []
    with (DATA / "mlenergy_v3_llm.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["architecture"] not in ("Dense Transformer", "MoE") or r["model_id"].startswith(
                "meta-llama/Llama-3.1-"
            ):
                continue
            out = float(r["avg_output_len"])
            est = estimate_inference(
                hardware=r["gpu_model"], params=float(r["total_params_billions"]) * 1e9,
                active_params=float(r["activated_params_billions"]) * 1e9,
                input_tokens=INPUT_TOKENS[r["task"]], output_tokens=out,
                chips=int(r["num_gpus"]), batch_size=int(r["max_num_seqs"]),
                precision=PRECISION[r["weight_precision"]],
            )  # fmt: skip
            j = est.wh_per_request["accelerators"].value * 3600 / out
            ratios.append(j / float(r["energy_per_token_joules"]))
    assert len(ratios) == 440
    assert _factor(ratios) <= 1.30


def test_video_on_held_out_models_meets_the_target() -> None:
    """Benchmark: median factor 1.41 on 288 held-out video runs (target 1.5)."""
    ratios = []
    with (DATA / "mlenergy_v3_diffusion.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["task"] != "text-to-video" or r["model_id"] == "Wan-AI/Wan2.1-T2V-14B-Diffusers":
                continue
            est = diffusion_estimate(VideoInputs(
                hardware=r["gpu_model"], params=float(r["total_params_billions"]) * 1e9,
                steps=int(r["inference_steps"]), width=int(r["width"]), height=int(r["height"]),
                frames=int(r["num_frames"]), cfg=r["model_id"] != "tencent/HunyuanVideo",
                chips=int(r["num_gpus"]), batch_size=int(r["batch_size"]),
            ))  # fmt: skip
            ratios.append(est.wh_per_item["accelerators"].value * 3600
                          / float(r["energy_per_item_joules"]))  # fmt: skip
    assert len(ratios) == 288
    assert _factor(ratios) <= 1.5
