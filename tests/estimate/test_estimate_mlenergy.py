"""The serving and diffusion estimates against the shipped ML.ENERGY Benchmark v3 runs (measured
GPU energy; `benchmarks/mlenergy_accuracy.py` prints the full tables). These pin the held-out
accuracy the benchmark reports, so a change to the model or its defaults that loses it fails
here: the serving defaults were set on the Llama 3.1 runs only, the bounds below apply to the
other models' runs."""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path
from types import ModuleType

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "mlenergy_accuracy.py"


def _benchmark() -> ModuleType:
    """The benchmark's own row-to-estimate mapping (one definition of what is estimated)."""
    spec = importlib.util.spec_from_file_location("mlenergy_accuracy", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _factor(ratios: list[float]) -> float:
    return statistics.median(max(r, 1 / r) for r in ratios)


def test_serving_text_on_held_out_models_stays_near_the_target() -> None:
    """Benchmark: median factor 1.26 on 440 held-out runs (target 1.25); bound 1.30."""
    bench = _benchmark()
    ratios = [x for r, x in bench.text_ratios()
              if not r["model_id"].startswith(bench.TEXT_CALIBRATION)]  # fmt: skip
    assert len(ratios) == 440
    assert _factor(ratios) <= 1.30


def test_video_on_held_out_models_meets_the_target() -> None:
    """Benchmark: median factor 1.41 on 288 held-out video runs (target 1.5)."""
    bench = _benchmark()
    ratios = [x for r, x in bench.diffusion_ratios() if r["task"] == "text-to-video"
              and r["model_id"] not in bench.DIFFUSION_CALIBRATION]  # fmt: skip
    assert len(ratios) == 288
    assert _factor(ratios) <= 1.5
