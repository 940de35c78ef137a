"""Pre-run estimates: training, fine-tuning and inference footprints, the hardware catalog and a
forecast of a live run from its first steps.

Pure functions over frozen dataclasses (no I/O beyond reading the shipped hardware table). The
inputs are typed parameter objects (:mod:`wattwise.estimate.inputs`), the site a resolved
:class:`EstimateContext`; the command line builds both from one settings table
(:data:`wattwise.estimate.settings.SETTINGS`)::

    from wattwise.estimate import SiteInputs, TrainingInputs, training_estimate
    est = training_estimate(TrainingInputs(hardware="A100", params=7e9, tokens=1e12, chips=256),
                            SiteInputs(country="FR").context())
    est.facility_energy_kwh.value, est.to_dict()

The keyword forms take the same fields: ``estimate_training(hardware="A100", params=7e9,
tokens=1e12, chips=256)``, ``estimate_finetune(...)``, ``estimate_inference(...)``.
"""

from __future__ import annotations

from wattwise.estimate.forecast import Forecast, forecast
from wattwise.estimate.hardware import Accelerator, get_hardware, list_hardware
from wattwise.estimate.inference import (
    BOUNDARIES,
    InferenceEstimate,
    estimate_inference,
    serving_estimate,
)
from wattwise.estimate.inputs import FinetuneInputs, ServingInputs, SiteInputs, TrainingInputs
from wattwise.estimate.training import (
    TrainingEstimate,
    estimate_finetune,
    estimate_training,
    finetune_estimate,
    training_estimate,
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
    "FinetuneInputs",
    "Forecast",
    "InferenceEstimate",
    "ServingInputs",
    "SiteInputs",
    "TrainingEstimate",
    "TrainingInputs",
    "context_from_numbers",
    "default_context",
    "estimate_finetune",
    "estimate_inference",
    "estimate_training",
    "finetune_estimate",
    "forecast",
    "get_hardware",
    "list_hardware",
    "serving_estimate",
    "training_estimate",
    "training_flops",
]
