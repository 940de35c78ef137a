"""Extract the steady-state runs of the ML.ENERGY Leaderboard v3 into the CSV files the accuracy
benchmark reads (``tests/estimate/data/mlenergy_v3_{llm,diffusion}.csv``).

The ML.ENERGY Benchmark (Chung et al., "The ML.ENERGY Benchmark: Toward Automated Inference
Energy Measurement and Optimization", NeurIPS Datasets and Benchmarks 2025) measures GPU energy
with Zeus (NVML counters) over each run's steady state, LLMs served by vLLM at a fixed maximum
batch (``max_num_seqs``), diffusion pipelines in diffusers. The leaderboard publishes the
per-configuration results as JSON (github.com/ml-energy/leaderboard, ``public/data/tasks/``,
``last_updated`` 2026-02-16); this script keeps the columns an estimate needs and the measured
ones, one row per configuration, unchanged. Only stable runs are published there.

Run (with a checkout of the leaderboard repository)::

    python benchmarks/mlenergy_extract.py /path/to/leaderboard [commit]
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "estimate" / "data"
LLM_TASKS = ("lm-arena-chat", "gpqa", "sourcegraph-fim")
LLM_COLS = ("task", "model_id", "architecture", "total_params_billions",
            "activated_params_billions", "weight_precision", "gpu_model", "num_gpus",
            "tensor_parallel", "expert_parallel", "data_parallel", "max_num_seqs",
            "avg_batch_size", "avg_output_len", "energy_per_token_joules",
            "energy_per_request_joules", "avg_power_watts", "output_throughput_tokens_per_sec",
            "median_itl_ms")  # fmt: skip
DIFF_COLS = ("task", "model_id", "total_params_billions", "weight_precision", "gpu_model",
             "num_gpus", "ulysses_degree", "ring_degree", "batch_size", "inference_steps",
             "width", "height", "num_frames", "energy_per_item_joules", "avg_power_watts",
             "batch_latency_s")  # fmt: skip


def _read(repo: Path, commit: str, task: str) -> list[dict[str, object]]:
    text = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:public/data/tasks/{task}.json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rows: list[dict[str, object]] = json.loads(text)["configurations"]
    return rows


def _num(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def main() -> None:
    repo = Path(sys.argv[1])
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    with (OUT / "mlenergy_v3_llm.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(LLM_COLS)
        for task in LLM_TASKS:
            for c in _read(repo, commit, task):
                w.writerow([task] + [_num(c[k]) for k in LLM_COLS[1:]])
    with (OUT / "mlenergy_v3_diffusion.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(DIFF_COLS)
        for task in ("text-to-image", "text-to-video"):
            for c in _read(repo, commit, task):
                video = task == "text-to-video"
                w.writerow([
                    task, c["model_id"], _num(c["total_params_billions"]),
                    c["weight_precision"], c["gpu_model"], c["num_gpus"], c["ulysses_degree"],
                    c["ring_degree"], c["batch_size"], c["inference_steps"],
                    c["video_width" if video else "image_width"],
                    c["video_height" if video else "image_height"],
                    c["num_frames"] if video else 1,
                    _num(c["energy_per_video_joules" if video else "energy_per_image_joules"]),
                    _num(c["avg_power_watts"]), _num(c["batch_latency_s"]),
                ])  # fmt: skip


if __name__ == "__main__":
    main()
