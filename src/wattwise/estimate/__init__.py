"""Pre-run estimates: training, fine-tuning and inference footprints, the hardware catalog and a
forecast of a live run from its first steps.

Pure functions over frozen dataclasses (no I/O beyond reading the shipped hardware table)::

    from wattwise.estimate import estimate_training, estimate_inference
    est = estimate_training(hardware="A100", params=7e9, tokens=1e12, chips=256)
    est.facility_energy_kwh.value, est.to_dict()
"""

from __future__ import annotations

from wattwise.estimate.forecast import Forecast, forecast
from wattwise.estimate.hardware import Accelerator, get_hardware, list_hardware
from wattwise.estimate.inference import BOUNDARIES, InferenceEstimate, estimate_inference
from wattwise.estimate.training import (
    TrainingEstimate,
    estimate_finetune,
    estimate_training,
    training_flops,
)
from wattwise.estimate.types import (
    Assumption,
    Band,
    EstimateContext,
    Factor,
    context_from_numbers,
    default_context,
)

__all__ = [
    "BOUNDARIES",
    "Accelerator",
    "Assumption",
    "Band",
    "EstimateContext",
    "Factor",
    "Forecast",
    "InferenceEstimate",
    "TrainingEstimate",
    "context_from_numbers",
    "default_context",
    "estimate_finetune",
    "estimate_inference",
    "estimate_training",
    "forecast",
    "get_hardware",
    "list_hardware",
    "training_flops",
]
