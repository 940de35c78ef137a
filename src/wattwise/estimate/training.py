"""Training and fine-tuning estimates: FLOPs -> chip-hours -> energy, carbon, cost, embodied.

Compute (Kaplan et al. 2020; Hoffmann et al. 2022): a dense decoder spends ~2 FLOP per parameter
per token in the forward pass and ~4 in the backward pass (gradients with respect to activations
and to weights, 2 each), so training costs ``6 · N_active · D`` FLOP for ``D`` tokens. For a
mixture-of-experts model ``N_active`` is the parameters one token passes through.

Fine-tuning (``D`` = fine-tuning tokens, i.e. dataset tokens x epochs):

* ``full``: every weight is trained: ``6 · N · D``, like pre-training.
* ``lora``: the base weights are frozen. The forward pass (2ND) and the backward pass through the
  frozen weights for the activation gradients (2ND) still run; the weight-gradient matmuls (2ND)
  are skipped (only the low-rank adapters, <1 % of N, get gradients): ``≈ 4 · N · D``.
  Gradient checkpointing, if used, adds a second forward pass (+2ND) — pass ``flops`` then.
* ``qlora``: LoRA over 4-bit (NF4) base weights (Dettmers et al. 2023). Same matmul FLOPs as
  LoRA, but each matmul first dequantises its weights to bf16, a memory-bound step that slows
  training; modelled as 1.3x LoRA's effective FLOPs (range 1.15-1.6, assumed from reported
  QLoRA-vs-LoRA slowdowns of roughly a third).

Time: ``chip_hours = FLOPs / (peak_dense(precision) · MFU) / 3600``, or given directly.
Energy: ``IT kWh = chip_hours · (P_chip + P_host) / 1000``; facility = IT x PUE; carbon =
facility x gCO2e/kWh; cost = facility x price (+ chip-hours x rental price if given); embodied =
chip_hours x embodied per chip / lifetime hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from wattwise.core.provenance import Provenance
from wattwise.errors import ConfigError
from wattwise.estimate import defaults as d
from wattwise.estimate.hardware import Accelerator, get_hardware
from wattwise.estimate.power import chip_power
from wattwise.estimate.site_carbon import embodied_of_chip_hours, money_and_carbon
from wattwise.estimate.types import Assumption, Band, EstimateContext, default_context

#: FLOPs per active parameter per token by method (see the module docstring).
FLOPS_PER_PARAM_TOKEN: dict[str, float] = {"train": 6.0, "full": 6.0, "lora": 4.0, "qlora": 4.0}
QLORA_OVERHEAD = Band(1.3, 1.15, 1.6)
FINETUNE_METHODS: tuple[str, ...] = ("full", "lora", "qlora")
#: Fine-tuning method assumed when none is given (recorded as ``assumed``).
DEFAULT_FINETUNE_METHOD = "lora"
#: Relative mismatch tolerated between a given FLOPs figure and k · N · D.
FLOPS_TOLERANCE = 0.25


@dataclass(frozen=True)
class TrainingEstimate:
    """A training or fine-tuning estimate. Every quantity is a :class:`Band`.

    Units: ``flops`` in FLOP, ``chip_hours`` in accelerator-hours, ``wall_clock_days`` in days,
    energies in kWh, carbon in kgCO2e, ``cost`` in ``currency``.
    """

    kind: str
    hardware: str
    chips: int
    flops: Band | None
    chip_hours: Band
    wall_clock_days: Band
    it_energy_kwh: Band
    facility_energy_kwh: Band
    co2e_location_kg: Band
    co2e_market_kg: Band
    cost: Band
    currency: str
    embodied_co2e_kg: Band
    assumptions: tuple[Assumption, ...]
    #: Fine-tuning only: the same model trained from scratch, and the fraction transfer saves.
    scratch_facility_energy_kwh: Band | None = None
    transfer_saving_fraction: Band | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the keys of the CLI's ``--json`` output."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "hardware": self.hardware,
            "chips": self.chips,
            "flops": self.flops.to_dict() if self.flops else None,
            "chip_hours": self.chip_hours.to_dict(),
            "wall_clock_days": self.wall_clock_days.to_dict(),
            "it_energy_kwh": self.it_energy_kwh.to_dict(),
            "facility_energy_kwh": self.facility_energy_kwh.to_dict(),
            "co2e_location_kg": self.co2e_location_kg.to_dict(),
            "co2e_market_kg": self.co2e_market_kg.to_dict(),
            "cost": {**self.cost.to_dict(), "currency": self.currency},
            "embodied_co2e_kg": self.embodied_co2e_kg.to_dict(),
            "assumptions": [a.to_dict() for a in self.assumptions],
        }
        if self.scratch_facility_energy_kwh is not None:
            out["scratch_facility_energy_kwh"] = self.scratch_facility_energy_kwh.to_dict()
        if self.transfer_saving_fraction is not None:
            out["transfer_saving_fraction"] = self.transfer_saving_fraction.to_dict()
        out.update(self.extra)
        return out


def positive(name: str, value: float | None) -> None:
    """Raise ConfigError unless ``value`` is None or a finite number > 0."""
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise ConfigError(f"{name} must be a positive number, got {value:g}")


def check_mfu(mfu: float | None, name: str = "MFU") -> None:
    """Raise ConfigError unless ``mfu`` is None or in (0, 1]."""
    if mfu is not None and not (0.0 < mfu <= 1.0):
        raise ConfigError(f"{name} must be in (0, 1], got {mfu:g}")


def training_flops(active_params: float, tokens: float, method: str = "train") -> float:
    """Model FLOPs of training ``active_params`` on ``tokens``: k · N · D (k by method)."""
    try:
        k = FLOPS_PER_PARAM_TOKEN[method]
    except KeyError:
        raise ConfigError(f"unknown training method {method!r}") from None
    return k * active_params * tokens


def _resolve(hardware: str | Accelerator) -> Accelerator:
    return hardware if isinstance(hardware, Accelerator) else get_hardware(hardware)


def _flops_band(
    method: str,
    params: float | None,
    active: float | None,
    tokens: float | None,
    flops: float | None,
    notes: list[Assumption],
) -> Band | None:
    """Model FLOPs as a band (QLoRA's dequantisation overhead widens it), or None."""
    n = active if active is not None else params
    computed = training_flops(n, tokens, method) if (n is not None and tokens is not None) else None
    if (
        flops is not None
        and computed is not None
        and abs(flops - computed) > FLOPS_TOLERANCE * computed
    ):
        k = FLOPS_PER_PARAM_TOKEN[method]
        raise ConfigError(
            f"--flops {flops:.3g} is inconsistent with {k:g} x params x tokens = "
            f"{computed:.3g} (more than {FLOPS_TOLERANCE:.0%} apart); give one or the other"
        )
    if flops is None and computed is not None:
        k = FLOPS_PER_PARAM_TOKEN[method]
        notes.append(
            Assumption(
                "flops",
                f"{computed:.4g}",
                "FLOP",
                Provenance.ESTIMATED,
                f"{k:g} x N_active x D ({method}); see wattwise.estimate.training",
            )
        )
        flops = computed
    elif flops is not None:
        notes.append(
            Assumption("flops", f"{flops:.4g}", "FLOP", Provenance.GIVEN, "given by you (flops)")
        )
    if flops is None:
        return None
    if method == "qlora":
        notes.append(
            Assumption(
                "qlora_dequantisation_overhead",
                f"{QLORA_OVERHEAD.value:g}",
                "x LoRA FLOPs",
                Provenance.ASSUMED,
                "NF4 -> bf16 dequantisation per matmul (Dettmers 2023); assumed",
            )
        )
        return Band.exact(flops).mul(QLORA_OVERHEAD)
    return Band.exact(flops)


def _estimate(
    *,
    kind: str,
    method: str,
    hardware: str | Accelerator,
    params: float | None,
    active_params: float | None,
    tokens: float | None,
    flops: float | None,
    chip_hours: float | None,
    chips: int | None,
    mfu: float | None,
    precision: str,
    power_basis: str | None,
    power_w: float | None,
    context: EstimateContext | None,
    cost_per_chip_hour: float | None,
) -> TrainingEstimate:
    for name, v in (
        ("params", params),
        ("active params", active_params),
        ("tokens", tokens),
        ("flops", flops),
        ("chip-hours", chip_hours),
        ("power", power_w),
        ("cost per chip-hour", cost_per_chip_hour),
    ):
        if name == "cost per chip-hour" and v == 0:
            continue
        positive(name, v)
    if chips is not None and (chips < 1 or int(chips) != chips):
        raise ConfigError(f"chips must be a whole number >= 1, got {chips}")
    check_mfu(mfu)
    if params is not None and active_params is not None and active_params > params:
        raise ConfigError(f"active params {active_params:.3g} exceed total params {params:.3g}")
    acc = _resolve(hardware)
    ctx = context or default_context()
    ctx.validate()
    notes: list[Assumption] = []

    flops_band = _flops_band(method, params, active_params, tokens, flops, notes)
    if flops_band is None and chip_hours is None:
        raise ConfigError("give tokens and params, or flops, or chip-hours")
    if chips is None:
        n_chips = 8
        notes.append(
            Assumption(
                "chips",
                "8",
                "chips",
                Provenance.ASSUMED,
                "one 8-accelerator node (only wall-clock time depends on it)",
            )
        )
    else:
        n_chips = int(chips)

    if chip_hours is not None:
        ch = Band.exact(chip_hours)
        notes.append(
            Assumption(
                "chip_hours", f"{chip_hours:g}", "h", Provenance.GIVEN, "given by you (chip-hours)"
            )
        )
        if flops_band is not None:
            implied = flops_band.value / (chip_hours * 3600 * acc.peak_flops(precision))
            notes.append(
                Assumption(
                    "implied_mfu",
                    f"{implied:.3g}",
                    "ratio",
                    Provenance.ESTIMATED,
                    f"FLOPs / (chip-hours x dense {precision} peak)",
                )
            )
    else:
        assert flops_band is not None
        peak = acc.peak_flops(precision)
        n = active_params if active_params is not None else params
        if mfu is not None:
            m = Band.exact(mfu)
            notes.append(
                Assumption("mfu", f"{mfu:g}", "ratio", Provenance.GIVEN, "given by you (MFU)")
            )
        else:
            dm = d.default_mfu(acc.architecture, n_chips, n, finetune=kind == "finetune")
            m = dm.band
            notes.append(
                Assumption(
                    "mfu",
                    f"{m.value:.3g} ({m.low:.3g}-{m.high:.3g})",
                    "ratio",
                    Provenance.ASSUMED,
                    f"{acc.architecture}: {dm.source}",
                )
            )
        notes.append(
            Assumption(
                "peak_flops",
                f"{peak:.4g}",
                f"FLOP/s dense {precision}",
                Provenance.ASSUMED,
                f"{acc.name}: {acc.source}",
            )
        )
        ch = Band(
            flops_band.value / (peak * m.value) / 3600,
            flops_band.low / (peak * m.high) / 3600,
            flops_band.high / (peak * m.low) / 3600,
        )
    wall = ch.scale(1.0 / (n_chips * 24.0))

    power = chip_power(acc, power_basis, power_w)
    notes.append(
        Assumption(
            "power_basis",
            power.basis,
            "",
            Provenance.ASSUMED if power_basis is None and power_w is None else Provenance.GIVEN,
            _basis_source(power_basis, power_w),
        )
    )
    notes.extend(power.assumptions)
    per_chip_w = power.compute_w.add(power.host_w)
    it_kwh = ch.mul(per_chip_w).scale(1e-3)
    out = money_and_carbon(it_kwh, ctx)
    notes.extend(ctx.assumptions())

    rental = Band.exact(0.0)
    if cost_per_chip_hour:
        rental = ch.scale(cost_per_chip_hour)
        notes.append(
            Assumption(
                "cost_per_chip_hour",
                f"{cost_per_chip_hour:g}",
                f"{ctx.currency}/chip-hour",
                Provenance.GIVEN,
                "given by you (rental price per chip-hour)",
            )
        )
    embodied, enote = embodied_of_chip_hours(acc, ch)
    notes.append(enote)
    return TrainingEstimate(
        kind=kind,
        hardware=acc.name,
        chips=n_chips,
        flops=flops_band,
        chip_hours=ch,
        wall_clock_days=wall,
        it_energy_kwh=it_kwh,
        facility_energy_kwh=out["facility"],
        co2e_location_kg=out["loc"],
        co2e_market_kg=out["mkt"],
        cost=out["cost"].add(rental),
        currency=ctx.currency,
        embodied_co2e_kg=embodied,
        assumptions=tuple(notes),
    )


def _basis_source(power_basis: str | None, power_w: float | None) -> str:
    """Where the power basis (tdp | measured | utilisation) came from."""
    if power_basis is not None:
        return "given by you (power basis)"
    if power_w is not None:
        return "given by you: a power per chip (--power-w) implies the measured basis"
    return "no power basis given: the utilisation model (default)"


def estimate_training(
    *,
    hardware: str | Accelerator,
    params: float | None = None,
    active_params: float | None = None,
    tokens: float | None = None,
    flops: float | None = None,
    chip_hours: float | None = None,
    chips: int | None = None,
    mfu: float | None = None,
    precision: str = "bf16",
    power_basis: str | None = None,
    power_w: float | None = None,
    context: EstimateContext | None = None,
    cost_per_chip_hour: float | None = None,
) -> TrainingEstimate:
    """Estimate a pre-training run.

    Give ``params`` (and ``active_params`` for mixture-of-experts) with ``tokens``, or ``flops``,
    or ``chip_hours``. ``mfu`` defaults by hardware generation and scale (see
    :mod:`wattwise.estimate.defaults`). ``power_basis`` is ``tdp``, ``measured`` (with
    ``power_w`` per chip) or ``utilisation`` (default). ``context`` holds PUE, grid intensities
    and price (defaults: industry-average PUE, world-average grid, all marked ``assumed``).
    """
    return _estimate(
        kind="train",
        method="train",
        hardware=hardware,
        params=params,
        active_params=active_params,
        tokens=tokens,
        flops=flops,
        chip_hours=chip_hours,
        chips=chips,
        mfu=mfu,
        precision=precision,
        power_basis=power_basis,
        power_w=power_w,
        context=context,
        cost_per_chip_hour=cost_per_chip_hour,
    )


def estimate_finetune(
    *,
    hardware: str | Accelerator,
    params: float,
    tokens: float | None = None,
    method: str | None = None,
    active_params: float | None = None,
    flops: float | None = None,
    chip_hours: float | None = None,
    chips: int | None = None,
    mfu: float | None = None,
    precision: str = "bf16",
    power_basis: str | None = None,
    power_w: float | None = None,
    context: EstimateContext | None = None,
    cost_per_chip_hour: float | None = None,
    scratch_tokens: float | None = None,
) -> TrainingEstimate:
    """Estimate fine-tuning (``full``, ``lora`` or ``qlora``) and its saving over training from
    scratch.

    ``tokens`` are fine-tuning tokens (dataset tokens x epochs). The from-scratch comparison
    trains the same model on ``scratch_tokens`` (default: 20 tokens per parameter, Chinchilla)
    with the same hardware, chips, power basis and context.
    """
    chosen = DEFAULT_FINETUNE_METHOD if method is None else method
    if chosen not in FINETUNE_METHODS:
        raise ConfigError(f"unknown fine-tuning method {chosen!r}; choose full, lora or qlora")
    ft = _estimate(
        kind="finetune",
        method=chosen,
        hardware=hardware,
        params=params,
        active_params=active_params,
        tokens=tokens,
        flops=flops,
        chip_hours=chip_hours,
        chips=chips,
        mfu=mfu,
        precision=precision,
        power_basis=power_basis,
        power_w=power_w,
        context=context,
        cost_per_chip_hour=cost_per_chip_hour,
    )
    positive("scratch tokens", scratch_tokens)
    n = active_params if active_params is not None else params
    sc_tokens = scratch_tokens if scratch_tokens is not None else d.CHINCHILLA_TOKENS_PER_PARAM * n
    scratch = _estimate(
        kind="train",
        method="train",
        hardware=hardware,
        params=params,
        active_params=active_params,
        tokens=sc_tokens,
        flops=None,
        chip_hours=None,
        chips=chips,
        mfu=None,
        precision=precision,
        power_basis=power_basis,
        power_w=power_w,
        context=context,
        cost_per_chip_hour=None,
    )
    sf, ff = scratch.facility_energy_kwh, ft.facility_energy_kwh
    saving = Band.of(1 - ff.value / sf.value, 1 - ff.low / sf.low, 1 - ff.high / sf.high)
    note = Assumption(
        "scratch_tokens",
        f"{sc_tokens:.4g}",
        "tokens",
        Provenance.ASSUMED if scratch_tokens is None else Provenance.GIVEN,
        "20 tokens per parameter (Chinchilla, Hoffmann 2022)"
        if scratch_tokens is None
        else "given by you (scratch tokens)",
    )
    method_note = (
        Assumption("finetune_method", chosen, "", Provenance.ASSUMED,
                   f"no method given: {chosen} assumed (wattwise's default)")
        if method is None
        else Assumption("finetune_method", chosen, "", Provenance.GIVEN, "given by you (method)")
    )  # fmt: skip
    return replace(
        ft,
        assumptions=(*ft.assumptions, method_note, note),
        scratch_facility_energy_kwh=sf,
        transfer_saving_fraction=saving,
    )
