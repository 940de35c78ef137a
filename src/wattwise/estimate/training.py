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

from dataclasses import dataclass, field, replace
from typing import Any

from wattwise.core.provenance import Provenance
from wattwise.errors import ConfigError
from wattwise.estimate import defaults as d
from wattwise.estimate.hardware import Accelerator, get_hardware
from wattwise.estimate.inputs import DEFAULT_FINETUNE_METHOD as DEFAULT_FINETUNE_METHOD
from wattwise.estimate.inputs import FINETUNE_METHODS as FINETUNE_METHODS
from wattwise.estimate.inputs import (
    FinetuneInputs,
    TrainingInputs,
)
from wattwise.estimate.power import chip_power
from wattwise.estimate.site_carbon import embodied_of_chip_hours, money_and_carbon
from wattwise.estimate.types import (
    Assumption,
    Band,
    EstimateContext,
    cost_to_dict,
    default_context,
)

#: FLOPs per active parameter per token by method (see the module docstring).
FLOPS_PER_PARAM_TOKEN: dict[str, float] = {"train": 6.0, "full": 6.0, "lora": 4.0, "qlora": 4.0}
QLORA_OVERHEAD = Band(1.3, 1.15, 1.6)
#: Relative mismatch tolerated between a given FLOPs figure and k · N · D.
FLOPS_TOLERANCE = 0.25


@dataclass(frozen=True)
class TrainingEstimate:
    """A training or fine-tuning estimate. Every quantity is a :class:`Band`.

    Units: ``flops`` in FLOP, ``chip_hours`` in accelerator-hours, ``wall_clock_days`` in days,
    energies in kWh, carbon in kgCO2e, ``cost`` in ``currency`` (both None when no electricity
    price is known for the place: "unknown — give --price").
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
    cost: Band | None
    currency: str | None
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
            "cost": cost_to_dict(self.cost, self.currency),
            "embodied_co2e_kg": self.embodied_co2e_kg.to_dict(),
            "assumptions": [a.to_dict() for a in self.assumptions],
        }
        if self.scratch_facility_energy_kwh is not None:
            out["scratch_facility_energy_kwh"] = self.scratch_facility_energy_kwh.to_dict()
        if self.transfer_saving_fraction is not None:
            out["transfer_saving_fraction"] = self.transfer_saving_fraction.to_dict()
        out.update(self.extra)
        return out


def training_flops(active_params: float, tokens: float, method: str = "train") -> float:
    """Model FLOPs of training ``active_params`` on ``tokens``: k · N · D (k by method)."""
    try:
        k = FLOPS_PER_PARAM_TOKEN[method]
    except KeyError:
        raise ConfigError(f"unknown training method {method!r}") from None
    return k * active_params * tokens


def _resolve(hardware: str | Accelerator) -> Accelerator:
    return hardware if isinstance(hardware, Accelerator) else get_hardware(hardware)


def _flops_band(inputs: TrainingInputs, method: str, notes: list[Assumption]) -> Band | None:
    """Model FLOPs as a band (QLoRA's dequantisation overhead widens it), or None."""
    n, tokens, flops = inputs.active, inputs.tokens, inputs.flops
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


def _chips(chips: int | None, notes: list[Assumption]) -> int:
    """The chip count, 8 (one node) assumed when not given."""
    if chips is not None:
        return int(chips)
    notes.append(
        Assumption("chips", "8", "chips", Provenance.ASSUMED,
                   "one 8-accelerator node (only wall-clock time depends on it)")
    )  # fmt: skip
    return 8


def _given_chip_hours(
    chip_hours: float, flops: Band | None, acc: Accelerator, precision: str,
    notes: list[Assumption],
) -> Band:  # fmt: skip
    """Chip-hours the user gave, and the MFU they imply with the FLOPs (if known)."""
    notes.append(
        Assumption("chip_hours", f"{chip_hours:g}", "h", Provenance.GIVEN,
                   "given by you (chip-hours)")
    )  # fmt: skip
    if flops is not None:
        implied = flops.value / (chip_hours * 3600 * acc.peak_flops(precision))
        notes.append(
            Assumption("implied_mfu", f"{implied:.3g}", "ratio", Provenance.ESTIMATED,
                       f"FLOPs / (chip-hours x dense {precision} peak)")
        )  # fmt: skip
    return Band.exact(chip_hours)


def _modelled_chip_hours(
    inputs: TrainingInputs, flops: Band, acc: Accelerator, n_chips: int, finetune: bool,
    notes: list[Assumption],
) -> Band:  # fmt: skip
    """Chip-hours = FLOPs / (dense peak x MFU) / 3600, MFU given or assumed by generation."""
    peak = acc.peak_flops(inputs.precision)
    if inputs.mfu is not None:
        m = Band.exact(inputs.mfu)
        notes.append(
            Assumption("mfu", f"{inputs.mfu:g}", "ratio", Provenance.GIVEN, "given by you (MFU)")
        )
    else:
        dm = d.default_mfu(acc.architecture, n_chips, inputs.active, finetune=finetune)
        m = dm.band
        notes.append(
            Assumption("mfu", f"{m.value:.3g} ({m.low:.3g}-{m.high:.3g})", "ratio",
                       Provenance.ASSUMED, f"{acc.architecture}: {dm.source}")
        )  # fmt: skip
    notes.append(
        Assumption("peak_flops", f"{peak:.4g}", f"FLOP/s dense {inputs.precision}",
                   Provenance.ASSUMED, f"{acc.name}: {acc.source}")
    )  # fmt: skip
    return Band(
        flops.value / (peak * m.value) / 3600,
        flops.low / (peak * m.high) / 3600,
        flops.high / (peak * m.low) / 3600,
    )


def _rental(
    inputs: TrainingInputs, ch: Band, currency: str | None, notes: list[Assumption]
) -> Band:
    """The rental cost of the chip-hours (zero when no price per chip-hour is given)."""
    price = inputs.cost_per_chip_hour
    if not price:
        return Band.exact(0.0)
    unit = f"{currency}/chip-hour" if currency else "currency unknown/chip-hour"
    notes.append(
        Assumption("cost_per_chip_hour", f"{price:g}", unit, Provenance.GIVEN,
                   "given by you (rental price per chip-hour)")
    )  # fmt: skip
    return ch.scale(price)


def _estimate(
    inputs: TrainingInputs, context: EstimateContext | None, *, kind: str, method: str
) -> TrainingEstimate:
    """FLOPs -> chip-hours -> energy, carbon, cost and embodied carbon of ``inputs``."""
    acc = _resolve(inputs.hardware)
    ctx = context or default_context()
    ctx.validate()
    notes: list[Assumption] = []
    flops_band = _flops_band(inputs, method, notes)
    if flops_band is None and inputs.chip_hours is None:
        raise ConfigError("give tokens and params, or flops, or chip-hours")
    n_chips = _chips(inputs.chips, notes)
    if inputs.chip_hours is not None:
        ch = _given_chip_hours(inputs.chip_hours, flops_band, acc, inputs.precision, notes)
    else:
        assert flops_band is not None
        ch = _modelled_chip_hours(inputs, flops_band, acc, n_chips, kind == "finetune", notes)

    power = chip_power(acc, inputs.power_basis, inputs.power_w)
    notes.append(
        Assumption(
            "power_basis",
            power.basis,
            "",
            Provenance.ASSUMED
            if inputs.power_basis is None and inputs.power_w is None
            else Provenance.GIVEN,
            _basis_source(inputs.power_basis, inputs.power_w),
        )
    )
    notes.extend(power.assumptions)
    it_kwh = ch.mul(power.compute_w.add(power.host_w)).scale(1e-3)
    out, electricity = money_and_carbon(it_kwh, ctx)
    notes.extend(ctx.assumptions())
    rental = _rental(inputs, ch, ctx.currency, notes)
    embodied, enote = embodied_of_chip_hours(acc, ch)
    notes.append(enote)
    return TrainingEstimate(
        kind=kind,
        hardware=acc.name,
        chips=n_chips,
        flops=flops_band,
        chip_hours=ch,
        wall_clock_days=ch.scale(1.0 / (n_chips * 24.0)),
        it_energy_kwh=it_kwh,
        facility_energy_kwh=out["facility"],
        co2e_location_kg=out["loc"],
        co2e_market_kg=out["mkt"],
        # no electricity price: the whole cost is unknown (a rental alone is not the cost)
        cost=None if electricity is None else electricity.add(rental),
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


def training_estimate(
    inputs: TrainingInputs, context: EstimateContext | None = None
) -> TrainingEstimate:
    """Estimate the pre-training run ``inputs`` at the site ``context``.

    ``context`` holds PUE, grid intensities and price (default: industry-average PUE,
    world-average grid, US commercial price, all marked ``assumed``). The method is in the
    module docstring; every input and default is listed in the estimate's ``assumptions``.
    """
    return _estimate(inputs, context, kind="train", method="train")


def finetune_estimate(
    inputs: FinetuneInputs, context: EstimateContext | None = None
) -> TrainingEstimate:
    """Estimate the fine-tuning run ``inputs`` and its saving over training the same model
    from scratch on ``inputs.scratch_tokens`` (default 20 tokens per parameter, Chinchilla)
    with the same hardware, chips, power basis and ``context``."""
    chosen = DEFAULT_FINETUNE_METHOD if inputs.method is None else inputs.method
    ft = _estimate(inputs, context, kind="finetune", method=chosen)
    n = inputs.active
    assert n is not None  # FinetuneInputs requires params
    sc_tokens = (
        inputs.scratch_tokens
        if inputs.scratch_tokens is not None
        else d.CHINCHILLA_TOKENS_PER_PARAM * n
    )
    scratch_inputs = TrainingInputs(
        hardware=inputs.hardware, params=inputs.params, active_params=inputs.active_params,
        tokens=sc_tokens, chips=inputs.chips, precision=inputs.precision,
        power_basis=inputs.power_basis, power_w=inputs.power_w,
    )  # fmt: skip
    scratch = _estimate(scratch_inputs, context, kind="train", method="train")
    sf, ff = scratch.facility_energy_kwh, ft.facility_energy_kwh
    saving = Band.of(1 - ff.value / sf.value, 1 - ff.low / sf.low, 1 - ff.high / sf.high)
    return replace(
        ft,
        assumptions=(*ft.assumptions, *_finetune_notes(inputs, chosen, sc_tokens)),
        scratch_facility_energy_kwh=sf,
        transfer_saving_fraction=saving,
    )


def _finetune_notes(inputs: FinetuneInputs, chosen: str, sc_tokens: float) -> list[Assumption]:
    """The fine-tuning method and the from-scratch tokens, each given or assumed."""
    method = (
        Assumption("finetune_method", chosen, "", Provenance.ASSUMED,
                   f"no method given: {chosen} assumed (wattwise's default)")
        if inputs.method is None
        else Assumption("finetune_method", chosen, "", Provenance.GIVEN, "given by you (method)")
    )  # fmt: skip
    scratch = Assumption(
        "scratch_tokens",
        f"{sc_tokens:.4g}",
        "tokens",
        Provenance.ASSUMED if inputs.scratch_tokens is None else Provenance.GIVEN,
        "20 tokens per parameter (Chinchilla, Hoffmann 2022)"
        if inputs.scratch_tokens is None
        else "given by you (scratch tokens)",
    )
    return [method, scratch]


# Keyword-argument forms of the above, for scripts and notebooks. Each takes exactly the fields
# of its parameter object (tests/estimate/test_estimate_inputs.py checks the signatures against
# the dataclasses) and builds it from its own arguments, so nothing is forwarded by hand.


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
    """Estimate a pre-training run: :func:`training_estimate` of :class:`TrainingInputs` built
    from these arguments (see its fields for units and defaults).

    Give ``params`` (and ``active_params`` for mixture-of-experts) with ``tokens``, or ``flops``,
    or ``chip_hours``. ``mfu`` defaults by hardware generation and scale (see
    :mod:`wattwise.estimate.defaults`). ``power_basis`` is ``tdp``, ``measured`` (with
    ``power_w`` per chip) or ``utilisation`` (default). ``context`` holds PUE, grid intensities
    and price (defaults: industry-average PUE, world-average grid, all marked ``assumed``).
    """
    given = dict(locals())
    site = given.pop("context")
    return training_estimate(TrainingInputs(**given), site)


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
    scratch: :func:`finetune_estimate` of :class:`FinetuneInputs` built from these arguments.

    ``tokens`` are fine-tuning tokens (dataset tokens x epochs). The from-scratch comparison
    trains the same model on ``scratch_tokens`` (default: 20 tokens per parameter, Chinchilla)
    with the same hardware, chips, power basis and context.
    """
    given = dict(locals())
    site = given.pop("context")
    return finetune_estimate(FinetuneInputs(**given), site)
