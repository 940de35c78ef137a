"""The estimators' inputs as typed, frozen parameter objects, valid by construction.

* :class:`TrainingInputs` — a pre-training run (``estimate train``);
* :class:`FinetuneInputs` — a fine-tuning run and its from-scratch comparison (``estimate
  finetune``);
* :class:`ServingInputs` — a serving load (``estimate infer``);
* :class:`SiteInputs` — where the energy is used (PUE, grid, price), resolved by the one site
  resolver (:func:`wattwise.accounting.site.resolve_site`) into an
  :class:`~wattwise.estimate.types.EstimateContext`.

Units are in the field names (``power_w``, ``chip_hours``, ``training_energy_kwh``,
``kv_bytes_per_token``); counts (``params``, ``tokens``, ``chips``) are plain numbers and ratios
(``mfu``, ``bandwidth_efficiency``, ``cfe``) are fractions in (0, 1].

The provenance rule is the same for every field: a value the caller sets is recorded ``given``
("given by you") in the estimate's assumptions; a field left at ``None`` takes the estimator's
documented default and is recorded ``assumed`` (or ``estimated`` where wattwise computes it,
e.g. FLOPs from 6·N·D). Fields with a concrete default (``precision="bf16"``,
``requests_per_day=0``, ``always_on=False``) are plain choices of the scenario.

The one declarative table of flags, help texts and units over these fields is
:data:`wattwise.estimate.settings.SETTINGS`; the command line builds these objects from it.
Construction checks every value (:class:`~wattwise.errors.ConfigError`, one line).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from wattwise.errors import ConfigError
from wattwise.estimate.hardware import Accelerator

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.estimate.types import EstimateContext

_T = TypeVar("_T")

#: Fine-tuning methods (see :mod:`wattwise.estimate.training`), and the one assumed when none is
#: given (recorded as ``assumed``).
FINETUNE_METHODS: tuple[str, ...] = ("full", "lora", "qlora")
DEFAULT_FINETUNE_METHOD = "lora"


def positive(name: str, value: float | None) -> None:
    """Raise ConfigError unless ``value`` is None or a finite number > 0."""
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise ConfigError(f"{name} must be a positive number, got {value:g}")


def check_mfu(mfu: float | None, name: str = "MFU") -> None:
    """Raise ConfigError unless ``mfu`` is None or in (0, 1]."""
    if mfu is not None and not (0.0 < mfu <= 1.0):
        raise ConfigError(f"{name} must be in (0, 1], got {mfu:g}")


def check_chips(chips: int | None) -> None:
    """Raise ConfigError unless ``chips`` is None or a whole number >= 1."""
    if chips is not None and (chips < 1 or int(chips) != chips):
        raise ConfigError(f"chips must be a whole number >= 1, got {chips}")


def check_active(params: float | None, active_params: float | None) -> None:
    """Raise ConfigError when the active parameters exceed the total."""
    if params is not None and active_params is not None and active_params > params:
        raise ConfigError(f"active params {active_params:.3g} exceed total params {params:.3g}")


def from_values(cls: type[_T], values: Mapping[str, object]) -> _T:
    """``cls`` built from the ``values`` that name one of its fields and are not None (a value
    not given keeps the field's default, so its provenance stays ``assumed``)."""
    names = {f.name for f in fields(cast(Any, cls))}
    return cls(**{k: v for k, v in values.items() if k in names and v is not None})


@dataclass(frozen=True)
class TrainingInputs:
    """A pre-training run. Give ``params`` (and ``active_params`` for mixture-of-experts) with
    ``tokens``, or ``flops``, or ``chip_hours``.

    ``hardware``: catalog name or :class:`Accelerator`. ``params`` / ``active_params``: parameter
    counts. ``tokens``: training tokens. ``flops``: total model FLOP (default ``6·N·D``,
    ``estimated``). ``chip_hours``: accelerator-hours (default from FLOPs / (peak x MFU)).
    ``chips``: accelerators (default 8, one node: only wall-clock time depends on it). ``mfu``:
    model FLOPs utilisation (default by hardware generation and scale). ``precision``: sets the
    dense peak. ``power_basis``: ``tdp``, ``measured`` or ``utilisation`` (default; ``measured``
    when ``power_w`` is given). ``power_w``: average power per chip, W. ``cost_per_chip_hour``:
    rental price per accelerator-hour in the site's currency (0 or None: none).
    """

    hardware: str | Accelerator
    params: float | None = None
    active_params: float | None = None
    tokens: float | None = None
    flops: float | None = None
    chip_hours: float | None = None
    chips: int | None = None
    mfu: float | None = None
    precision: str = "bf16"
    power_basis: str | None = None
    power_w: float | None = None
    cost_per_chip_hour: float | None = None

    def __post_init__(self) -> None:
        for name, v in (
            ("params", self.params),
            ("active params", self.active_params),
            ("tokens", self.tokens),
            ("flops", self.flops),
            ("chip-hours", self.chip_hours),
            ("power", self.power_w),
        ):
            positive(name, v)
        if self.cost_per_chip_hour != 0:
            positive("cost per chip-hour", self.cost_per_chip_hour)
        check_chips(self.chips)
        check_mfu(self.mfu)
        check_active(self.params, self.active_params)

    @property
    def active(self) -> float | None:
        """Parameters a token passes through: ``active_params``, else ``params``."""
        return self.active_params if self.active_params is not None else self.params


@dataclass(frozen=True)
class FinetuneInputs(TrainingInputs):
    """A fine-tuning run: :class:`TrainingInputs` (``params`` required, ``tokens`` = dataset
    tokens x epochs) plus the ``method`` (``full``, ``lora`` or ``qlora``; default ``lora``,
    ``assumed``) and the from-scratch comparison's ``scratch_tokens`` (default 20 tokens per
    parameter, Chinchilla, ``assumed``)."""

    method: str | None = None
    scratch_tokens: float | None = None

    def __post_init__(self) -> None:
        if self.params is None:
            raise ConfigError("fine-tuning needs params (the model's parameter count)")
        super().__post_init__()
        if self.method is not None and self.method not in FINETUNE_METHODS:
            raise ConfigError(
                f"unknown fine-tuning method {self.method!r}; choose full, lora or qlora"
            )
        positive("scratch tokens", self.scratch_tokens)


@dataclass(frozen=True)
class ServingInputs:
    """A serving load: ``requests_per_day`` requests of ``input_tokens`` in and
    ``output_tokens`` out on replicas of ``chips`` accelerators.

    ``params``: total parameters (``active_params`` for mixture-of-experts). ``chips``: per
    replica (default: the smallest power of two that holds weights and KV cache). ``batch_size``:
    sequences decoded together (default 16). ``precision``: compute peak and, unless
    ``weight_bytes_per_param`` is given, weight width (KV: 16-bit, 32 at fp32).
    ``kv_bytes_per_token``: KV-cache bytes per token (default: a GQA decoder's).
    ``mfu_prefill``: prefill MFU (default 0.45).
    ``bandwidth_efficiency``: achieved fraction of peak memory bandwidth in decode (default
    0.3). ``power_basis`` / ``power_w``: as for training. ``always_on``: replicas provisioned
    24 h/day, their idle power counted. ``training_tokens``: estimate the training of the same
    model on these tokens for the break-even day; ``training_energy_kwh``: a known training
    facility energy instead. Fleet sizing (:mod:`wattwise.estimate.load`):
    ``requests_per_second`` (or ``requests_per_day``), a ``diurnal`` profile of 24 hourly
    weights (relative; default flat), and latency objectives ``slo_ttft_ms`` (time to first
    token) and ``slo_itl_ms`` (inter-token latency) in milliseconds.
    """

    hardware: str | Accelerator
    params: float
    input_tokens: float
    output_tokens: float
    active_params: float | None = None
    requests_per_day: float = 0.0
    chips: int | None = None
    batch_size: int | None = None
    precision: str = "bf16"
    weight_bytes_per_param: float | None = None
    kv_bytes_per_token: float | None = None
    mfu_prefill: float | None = None
    bandwidth_efficiency: float | None = None
    power_basis: str | None = None
    power_w: float | None = None
    always_on: bool = False
    training_tokens: float | None = None
    training_energy_kwh: float | None = None
    requests_per_second: float | None = None
    diurnal: tuple[float, ...] | None = None
    slo_ttft_ms: float | None = None
    slo_itl_ms: float | None = None

    def __post_init__(self) -> None:
        positive("params", self.params)
        self._check_load()
        positive("active params", self.active_params)
        positive("batch size", self.batch_size)
        positive("weight bytes per parameter", self.weight_bytes_per_param)
        positive("KV bytes per token", self.kv_bytes_per_token)
        positive("training energy", self.training_energy_kwh)
        positive("training tokens", self.training_tokens)
        self._check_counts()
        check_mfu(self.mfu_prefill, "prefill MFU")
        check_mfu(self.bandwidth_efficiency, "bandwidth efficiency")
        check_active(self.params, self.active_params)
        if self.training_tokens is not None and self.training_energy_kwh is not None:
            raise ConfigError(
                "give training tokens (to estimate the training) or a known training energy, "
                "not both"
            )

    def _check_load(self) -> None:
        """A load is a rate per second or per day (not both); a profile has 24 weights."""
        positive("requests per second", self.requests_per_second)
        positive("TTFT SLO", self.slo_ttft_ms)
        positive("inter-token latency SLO", self.slo_itl_ms)
        if self.requests_per_second is not None and self.requests_per_day:
            raise ConfigError("give requests per second or requests per day, not both")
        if self.diurnal is not None and (
            len(self.diurnal) != 24
            or min(self.diurnal) < 0
            or sum(self.diurnal) <= 0
            or not all(math.isfinite(w) for w in self.diurnal)
        ):
            raise ConfigError("a diurnal profile is 24 hourly weights >= 0, not all zero")

    def _check_counts(self) -> None:
        """Counts are finite and >= 0, a request has tokens; batch and chips are whole."""
        for name, v in (
            ("input tokens", self.input_tokens),
            ("output tokens", self.output_tokens),
            ("requests per day", self.requests_per_day),
        ):
            if not math.isfinite(v) or v < 0:
                raise ConfigError(f"{name} must be >= 0, got {v:g}")
        if self.input_tokens + self.output_tokens <= 0:
            raise ConfigError("a request needs input or output tokens")
        if self.batch_size is not None and int(self.batch_size) != self.batch_size:
            raise ConfigError(f"batch size must be a whole number, got {self.batch_size}")
        check_chips(self.chips)

    @property
    def active(self) -> float:
        """Parameters a token passes through: ``active_params``, else ``params``."""
        return self.active_params or self.params


#: Denoiser architectures of ``estimate image | video`` (see :mod:`wattwise.estimate.diffusion`).
DIFFUSION_ARCHITECTURES: tuple[str, ...] = ("dit", "unet")


@dataclass(frozen=True)
class DiffusionInputs:
    """An image or video generation load (``estimate image | video``).

    ``params``: denoiser parameters. ``steps``: denoising steps. ``width`` / ``height``: output
    pixels (:class:`VideoInputs` adds ``frames``). ``architecture``: ``dit``
    (default, assumed) or ``unet``. ``cfg``: classifier-free guidance doubles the denoiser
    passes (default on, assumed). ``latent_factor``: VAE spatial downsampling (default 8);
    ``patch``: transformer patch size (default 2). ``hidden_size``: the transformer width
    (default from ``params``).
    ``text_encoder_params`` / ``text_tokens``: the text encoder's size and prompt length.
    ``chips``: per replica (default 1); ``batch_size``: items generated together (default 1).
    ``mfu``, ``precision``, ``power_basis``, ``power_w``: as for training.
    ``requests_per_day``: items per day for the daily and yearly totals.
    """

    hardware: str | Accelerator
    params: float
    steps: int
    width: int
    height: int
    architecture: str | None = None
    cfg: bool | None = None
    latent_factor: int | None = None
    patch: int | None = None
    hidden_size: int | None = None
    text_encoder_params: float | None = None
    text_tokens: int | None = None
    chips: int | None = None
    batch_size: int | None = None
    mfu: float | None = None
    precision: str = "bf16"
    power_basis: str | None = None
    power_w: float | None = None
    requests_per_day: float = 0.0

    def __post_init__(self) -> None:
        for name, v in (
            ("params", self.params), ("steps", self.steps), ("width", self.width),
            ("height", self.height),
            ("latent factor", self.latent_factor), ("patch", self.patch),
            ("hidden size", self.hidden_size),
            ("text encoder params", self.text_encoder_params), ("text tokens", self.text_tokens),
            ("batch size", self.batch_size), ("power", self.power_w),
        ):  # fmt: skip
            positive(name, v)
        if not math.isfinite(self.requests_per_day) or self.requests_per_day < 0:
            raise ConfigError(f"requests per day must be >= 0, got {self.requests_per_day:g}")
        if self.architecture is not None and self.architecture not in DIFFUSION_ARCHITECTURES:
            raise ConfigError(
                f"unknown denoiser architecture {self.architecture!r}; choose dit or unet"
            )
        check_chips(self.chips)
        check_mfu(self.mfu)

    @property
    def frame_count(self) -> int | None:
        """Output frames: None for an image."""
        return None


@dataclass(frozen=True)
class VideoInputs(DiffusionInputs):
    """A video generation load: :class:`DiffusionInputs` plus ``frames`` (required) and the
    video VAE's ``temporal_factor`` (default 4, assumed)."""

    frames: int | None = None
    temporal_factor: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.frames is None:
            raise ConfigError("a video needs frames (--frames)")
        positive("frames", self.frames)
        positive("temporal factor", self.temporal_factor)

    @property
    def frame_count(self) -> int | None:
        """Output frames of the video."""
        return self.frames


@dataclass(frozen=True)
class SiteInputs:
    """Where the energy is used, as the accounting settings name it (each None = not given).

    A place (``country``, sub-national ``region``, ``cloud`` + ``cloud_region``), the facility's
    ``pue`` or ``cooling`` type, contractual instruments for market-based carbon (``cfe``
    fraction, ``supplier_factor_g_per_kwh``), a location-based ``intensity_g_per_kwh`` to use
    instead of the tables, a ``price_per_kwh`` in ``currency`` and the data ``year`` to prefer.
    :meth:`context` resolves them (flags > ``WATTWISE_*`` environment > config files).
    """

    country: str | None = None
    region: str | None = None
    cloud: str | None = None
    cloud_region: str | None = None
    pue: float | None = None
    cooling: str | None = None
    cfe: float | None = None
    supplier_factor_g_per_kwh: float | None = None
    intensity_g_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None
    year: int | None = None

    def given(self) -> dict[str, Any]:
        """The settings given, keyed by their accounting flag name (``intensity``,
        ``supplier-factor``), so a given value's source names the flag the user typed."""
        from wattwise.accounting.context import SETTINGS

        flag_of = {s.field: s.flag.lstrip("-") for s in SETTINGS}
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {flag_of[k]: v for k, v in values.items() if v is not None}

    def context(
        self, environ: Mapping[str, str] | None = None, config_paths: Sequence[Path | str] = ()
    ) -> EstimateContext:
        """The site factors for these settings, with ``environ`` and config files below them."""
        from wattwise.estimate.site import resolve_estimate_context

        return resolve_estimate_context(self.given(), environ, config_paths)


__all__ = [
    "DEFAULT_FINETUNE_METHOD",
    "DIFFUSION_ARCHITECTURES",
    "FINETUNE_METHODS",
    "DiffusionInputs",
    "FinetuneInputs",
    "ServingInputs",
    "SiteInputs",
    "TrainingInputs",
    "VideoInputs",
    "check_chips",
    "check_mfu",
    "from_values",
    "positive",
]
