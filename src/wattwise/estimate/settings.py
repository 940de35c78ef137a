"""The estimator's settings in one declarative table: name, flag, type and range, default, help
text and unit of every input of ``wattwise estimate train | finetune | infer``.

Each :class:`EstimateSetting` names a field of a parameter object (:mod:`wattwise.estimate.inputs`):
the ``site`` group fills :class:`~wattwise.estimate.inputs.SiteInputs` and takes its flag, help
and range from the accounting settings (:data:`wattwise.accounting.context.SETTINGS`, the same
flags ``wattwise footprint`` has), every other setting fills the command's own object
(:data:`INPUTS`). The command line adds one flag per entry and builds the objects from them with
:func:`~wattwise.estimate.inputs.from_values`; no flag is renamed anywhere else.
``tests/estimate/test_estimate_settings.py`` checks every entry against the objects and
``--help``.

A default of ``None`` means "not given": the estimator's documented default is used and recorded
``assumed`` (the help text says which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wattwise.argtypes import number, whole
from wattwise.estimate import defaults as d
from wattwise.estimate.inference import DEFAULT_BATCH_SIZE
from wattwise.estimate.inputs import (
    DEFAULT_FINETUNE_METHOD,
    DIFFUSION_ARCHITECTURES,
    FINETUNE_METHODS,
    DiffusionInputs,
    FinetuneInputs,
    ServingInputs,
    SiteInputs,
    TrainingInputs,
    VideoInputs,
    from_values,
)
from wattwise.estimate.power import POWER_BASES

#: The commands the table serves, and the parameter object each builds.
INPUTS: dict[str, type[TrainingInputs] | type[ServingInputs] | type[DiffusionInputs]] = {
    "train": TrainingInputs,
    "finetune": FinetuneInputs,
    "infer": ServingInputs,
    "image": DiffusionInputs,
    "video": VideoInputs,
}
ALL: tuple[str, ...] = ("train", "finetune", "infer", "image", "video")
GENERATE: tuple[str, ...] = ("image", "video")
TRAINING: tuple[str, ...] = ("train", "finetune")
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")

# Plausible bounds per quantity: far beyond any real run, far below overflow.
MAX_PARAMS = 1e15  # 1,000 x the largest published dense models
MAX_TOKENS = 1e17  # ~1,000 x the largest published pre-training corpora
MAX_FLOPS = 1e30
MAX_CHIPS = 10_000_000
MAX_POWER_W = 5_000.0  # per accelerator: a GB200 superchip draws ~2.7 kW


def _size(high: float, *, positive: bool = True) -> Callable[[str], float]:
    """A size (SI suffixes: 7B, 1.4T) within (0, ``high``] (``positive=False``: [0, ``high``])."""
    return number(low=0.0, low_inclusive=not positive, high=high, si=True)


def _fraction() -> Callable[[str], float]:
    """A fraction within (0, 1]."""
    return number(low=0.0, low_inclusive=False, high=1.0)


def _weights(text: str) -> tuple[float, ...]:
    """24 comma-separated non-negative hourly weights (a diurnal load profile)."""
    import argparse

    parse = number(low=0.0, high=1e12)
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != 24:
        raise argparse.ArgumentTypeError(f"a diurnal profile has 24 weights, got {len(parts)}")
    return tuple(parse(p) for p in parts)


@dataclass(frozen=True)
class EstimateSetting:
    """One input of an estimate on the command line.

    ``name``: the field of the parameter object it fills (units in the name); ``flag``: the
    option (``aliases``: older spellings still accepted); ``parse``: the :mod:`wattwise.argtypes`
    converter that checks type and range (None: text, or one of ``choices``); ``default``: the
    value when the flag is absent (None: the estimator's default, recorded ``assumed``);
    ``unit``: of the value (``""`` for a name, a choice or a switch); ``commands``: where the
    flag exists; ``required``: the commands that need it; ``switch``: a flag without a value;
    ``group``: ``site`` for a setting resolved by the site resolver.

    The flag of an ``estimate`` setting is its name with dashes (``chip_hours`` ->
    ``--chip-hours``); a ``site`` setting has the accounting table's flag (``--intensity``).
    """

    name: str
    flag: str
    help: str
    unit: str
    commands: tuple[str, ...] = ALL
    parse: Callable[[str], Any] | None = None
    default: object = None
    choices: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    metavar: str | None = None
    aliases: tuple[str, ...] = ()
    switch: bool = False
    group: str = "estimate"

    @property
    def help_text(self) -> str:
        """The help line ``--help`` shows: the help, the unit (unless the help names it) and a
        non-None default."""
        unit = f" [{self.unit}]" if self.unit and self.unit not in self.help else ""
        default = "" if self.default in (None, False) else f" (default {self.default})"
        return f"{self.help}{unit}{default}"

    @property
    def flags(self) -> tuple[str, ...]:
        """The flag and its aliases."""
        return (self.flag, *self.aliases)

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON (``wattwise estimate settings --json``); no converter."""
        return {
            "name": self.name,
            "flag": self.flag,
            "aliases": list(self.aliases),
            "commands": list(self.commands),
            "required": list(self.required),
            "group": self.group,
            "unit": self.unit,
            "default": self.default,
            "choices": list(self.choices),
            "help": self.help,
        }


#: Unit and metavar of each accounting setting the estimator resolves, and the old spellings of
#: two flags (``--grid-intensity``, ``--market-intensity``) the estimate commands still accept.
_SITE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("country", "", "CODE", ()),
    ("region", "", "GRID", ()),
    ("cloud", "", "PROVIDER", ()),
    ("cloud_region", "", "REGION", ()),
    ("pue", "ratio", "PUE", ()),
    ("cooling", "", "TYPE", ()),
    ("cfe", "fraction", "F", ()),
    ("supplier_factor_g_per_kwh", "gCO2e/kWh", "G", ("--market-intensity",)),
    ("intensity_g_per_kwh", "gCO2e/kWh", "G", ("--grid-intensity",)),
    ("price_per_kwh", "currency/kWh", "PRICE", ()),
    ("currency", "", "ISO", ()),
    ("year", "year", "YEAR", ()),
)


def _site_settings() -> tuple[EstimateSetting, ...]:
    """The site group: flag, help and range from the accounting settings table."""
    from wattwise.accounting.context import SETTINGS as ACCOUNTING
    from wattwise.accounting.context import flag_type

    by_field = {s.field: s for s in ACCOUNTING}
    out = []
    for name, unit, metavar, aliases in _SITE:
        a = by_field[name]
        out.append(
            EstimateSetting(
                name, a.flag, a.help, unit, ALL, None if a.kind is str else flag_type(a),
                metavar=metavar, aliases=aliases, group="site",
            )
        )  # fmt: skip
    return tuple(out)


_N, _B = "N", "B"

SETTINGS: tuple[EstimateSetting, ...] = (
    EstimateSetting("hardware", "--hardware", "accelerator (see 'estimate hardware list')", "",
                    required=ALL, metavar="NAME"),
    EstimateSetting("chips", "--chips", "number of accelerators (infer: per replica; default: 8 "
                    "for training, for infer the fewest that hold weights and KV cache; assumed)",
                    "chips",
                    parse=whole(low=1, high=MAX_CHIPS, si=True), metavar=_N),
    EstimateSetting("params", "--params", "total parameters (7B, 70e9)", "parameters",
                    parse=_size(MAX_PARAMS), required=("finetune", "infer", *GENERATE), metavar=_N),
    EstimateSetting("active_params", "--active-params",
                    "parameters active per token (mixture-of-experts)", "parameters",
                    ("train", "finetune", "infer"), _size(MAX_PARAMS), metavar=_N),
    EstimateSetting("precision", "--precision", "number format: sets the dense peak (infer: and "
                    "the weight width; the KV cache stays 16-bit)", "", default="bf16",
                    choices=PRECISIONS),
    EstimateSetting("power_basis", "--power-basis", "per-chip power: TDP, a measured average "
                    "(--power-w) or the utilisation model (default, assumed)", "",
                    choices=POWER_BASES),
    EstimateSetting("power_w", "--power-w",
                    "measured average power per chip (implies --power-basis measured)", "W",
                    parse=number(low=0.0, low_inclusive=False, high=MAX_POWER_W), metavar="W"),
    # training and fine-tuning
    EstimateSetting("tokens", "--tokens", "training tokens, e.g. 1.4T (finetune: dataset tokens "
                    "x epochs)", "tokens", TRAINING, _size(MAX_TOKENS), metavar=_N),
    EstimateSetting("flops", "--flops", "total training FLOPs (default 6 x N_active x tokens, "
                    "estimated)", "FLOP", TRAINING, _size(MAX_FLOPS), metavar="F"),
    EstimateSetting("chip_hours", "--chip-hours", "known accelerator-hours", "h", TRAINING,
                    _size(1e10), metavar="H"),
    EstimateSetting("mfu", "--mfu", "model FLOPs utilisation in (0, 1] (default by hardware "
                    "generation and scale, assumed)", "ratio", (*TRAINING, *GENERATE), _fraction(),
                    metavar="F"),
    EstimateSetting("cost_per_chip_hour", "--cost-per-chip-hour",
                    "rental price per accelerator-hour, added to the cost", "currency/chip-hour",
                    TRAINING, number(low=0.0, high=1e6), metavar="X"),
    EstimateSetting("method", "--method", f"fine-tuning method (default "
                    f"{DEFAULT_FINETUNE_METHOD}, assumed)", "", ("finetune",),
                    choices=FINETUNE_METHODS),
    EstimateSetting("scratch_tokens", "--scratch-tokens", "tokens of the from-scratch comparison "
                    f"(default {d.CHINCHILLA_TOKENS_PER_PARAM:g} x params, assumed)", "tokens",
                    ("finetune",), _size(MAX_TOKENS), metavar=_N),
    # serving
    EstimateSetting("input_tokens", "--input-tokens", "prompt tokens per request", "tokens",
                    ("infer",), _size(1e9, positive=False), required=("infer",), metavar=_N),
    EstimateSetting("output_tokens", "--output-tokens", "generated tokens per request", "tokens",
                    ("infer",), _size(1e9, positive=False), required=("infer",), metavar=_N),
    EstimateSetting("requests_per_day", "--requests-per-day", "requests served per day",
                    "requests/day", ("infer", *GENERATE), _size(1e13, positive=False), default=0.0,
                    metavar=_N),
    EstimateSetting("batch_size", "--batch-size", f"infer: maximum concurrent sequences, the KV "
                    f"cache admits fewer if it must (default {DEFAULT_BATCH_SIZE}); image/video: "
                    "items generated together (default 1)", "sequences", ("infer", *GENERATE),
                    whole(low=1, high=1_000_000, si=True), metavar=_N),
    EstimateSetting("mfu_prefill", "--mfu-prefill", f"prefill MFU in (0, 1] (default "
                    f"{d.PREFILL_MFU.band.value:g}, assumed)", "ratio", ("infer",), _fraction(),
                    metavar="F", aliases=("--mfu",)),
    EstimateSetting("bandwidth_efficiency", "--bandwidth-efficiency", "achieved fraction of peak "
                    f"memory bandwidth in decode (default by chip: H100 0.55, B200 0.35, others "
                    f"{d.BANDWIDTH_EFFICIENCY.band.value:g}; measured in vLLM)", "fraction",
                    ("infer",), _fraction(), metavar="F"),
    EstimateSetting("kv_bytes_per_token", "--kv-bytes-per-token", "KV-cache bytes per token "
                    "(default: a grouped-query-attention decoder of --params, assumed)", "bytes",
                    ("infer",), _size(1e10), metavar=_B),
    EstimateSetting("weight_bytes_per_param", "--weight-bytes-per-param",
                    "e.g. 0.5 for 4-bit weights (default from --precision)", "bytes",
                    ("infer",), number(low=0.0, low_inclusive=False, high=16.0), metavar=_B),
    EstimateSetting("always_on", "--always-on", "replicas run 24 h/day: count their idle power",
                    "", ("infer",), switch=True, default=False),
    EstimateSetting("training_tokens", "--training-tokens",
                    "estimate training on these tokens for the break-even day", "tokens",
                    ("infer",), _size(MAX_TOKENS), metavar=_N),
    EstimateSetting("training_energy_kwh", "--training-energy-kwh",
                    "known training facility energy for the break-even day", "kWh", ("infer",),
                    _size(1e12, positive=False), metavar="KWH"),
    EstimateSetting("requests_per_second", "--requests-per-second", "mean request rate: sizes "
                    "the fleet (replicas, utilisation, idle power)", "requests/s", ("infer",),
                    _size(1e9), metavar="R"),
    EstimateSetting("diurnal", "--diurnal", "24 comma-separated hourly weights of the load "
                    "(relative; default flat)", "", ("infer",), _weights, metavar="W0,..,W23"),
    EstimateSetting("slo_ttft_ms", "--slo-ttft-ms", "time-to-first-token objective", "ms",
                    ("infer",), _size(1e9), metavar="MS"),
    EstimateSetting("slo_itl_ms", "--slo-itl-ms", "inter-token latency objective: caps the "
                    "concurrency per replica", "ms", ("infer",), _size(1e9), metavar="MS"),
    # image and video generation
    EstimateSetting("steps", "--steps", "denoising steps", "steps", GENERATE,
                    whole(low=1, high=100_000), required=GENERATE, metavar=_N),
    EstimateSetting("width", "--width", "output width", "pixels", GENERATE,
                    whole(low=1, high=1_000_000), required=GENERATE, metavar="PX"),
    EstimateSetting("height", "--height", "output height", "pixels", GENERATE,
                    whole(low=1, high=1_000_000), required=GENERATE, metavar="PX"),
    EstimateSetting("frames", "--frames", "output frames of a video", "frames", ("video",),
                    whole(low=1, high=10_000_000), required=("video",), metavar=_N),
    EstimateSetting("architecture", "--architecture", "denoiser: diffusion transformer or "
                    "U-Net (default dit, assumed)", "", GENERATE,
                    choices=DIFFUSION_ARCHITECTURES),
    EstimateSetting("cfg", "--cfg", "classifier-free guidance: two denoiser passes per step "
                    "(default on, assumed; --no-cfg for guidance-distilled models)", "",
                    GENERATE, switch=True),
    EstimateSetting("latent_factor", "--latent-factor", "VAE spatial downsampling (default 8, "
                    "assumed)", "pixels", GENERATE, whole(low=1, high=1024), metavar=_N),
    EstimateSetting("patch", "--patch", "transformer patch size in latent pixels (default 2, "
                    "assumed; unet: default from a published U-Net count)", "latent pixels",
                    GENERATE, whole(low=1, high=1024), metavar=_N),
    EstimateSetting("temporal_factor", "--temporal-factor", "video VAE temporal downsampling "
                    "(default 4, assumed)", "frames", ("video",), whole(low=1, high=1024),
                    metavar=_N),
    EstimateSetting("hidden_size", "--hidden-size", "transformer width (default from --params, "
                    "assumed)", "", GENERATE, whole(low=1, high=1_000_000), metavar=_N),
    EstimateSetting("text_encoder_params", "--text-encoder-params", "text encoder parameters "
                    "(default T5-XXL encoder for dit, CLIP ViT-L for unet, assumed)", "parameters",
                    GENERATE, _size(MAX_PARAMS), metavar=_N),
    EstimateSetting("text_tokens", "--text-tokens", "prompt tokens (default 512 dit, 77 unet)",
                    "tokens", GENERATE, whole(low=1, high=10_000_000), metavar=_N),
    *_site_settings(),
)  # fmt: skip


def settings_for(command: str) -> tuple[EstimateSetting, ...]:
    """The settings of ``command`` (``train``, ``finetune`` or ``infer``), in table order."""
    return tuple(s for s in SETTINGS if command in s.commands)


def inputs_from(
    command: str, values: dict[str, object]
) -> tuple[TrainingInputs | ServingInputs | DiffusionInputs, SiteInputs]:
    """The parameter objects of ``command`` from setting values by name (None = not given)."""
    return from_values(INPUTS[command], values), from_values(SiteInputs, values)


__all__ = [
    "INPUTS",
    "SETTINGS",
    "EstimateSetting",
    "inputs_from",
    "settings_for",
]
