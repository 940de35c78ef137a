"""Inference and serving estimates: prefill (compute-bound) and decode (memory-bound) apart.

Per request with ``I`` input and ``O`` output tokens, on a replica of ``n`` chips serving a batch
of ``B`` sequences:

* **Prefill** is compute-bound: ``2 · N_active · I + 2 · L · d · I²`` FLOP at
  ``peak · MFU_prefill`` per chip (the second term: causal attention scores, which grow with
  the square of the prompt: +19 % for an 8B model at 10,000 input tokens; ``L`` and ``d`` from
  the shape in :mod:`wattwise.estimate.layout`, taken from the active parameters).
  Chip-seconds = FLOP / (peak · MFU); power = the compute-bound draw.
* **Decode** is memory-bandwidth-bound: every step reads the weights once for the whole batch,
  plus each sequence's KV cache: ``bytes = W_read + B · ctx · kv_bytes_per_token``, where the
  mean context a decoded token attends over is ``ctx = I + O`` (token-weighted over outputs of
  varying length: ``I + E[O²] / (2 E[O])``, which is ``I + O`` for exponentially distributed
  lengths, the long tail of chat; fixed-length outputs would give ``I + O/2``). Step time =
  ``max(bytes / (n · BW · η), (2 · N_active + 4 · L · d · ctx) · B / (n · peak16 · MFU_dec))``:
  η is the achieved fraction of peak bandwidth (by chip generation), ``MFU_dec`` the achieved
  fraction of the 16-bit peak once the step is compute-bound (narrow matrix multiplications,
  attention against a 16-bit KV cache, sampling and scheduling between steps), the
  ``4 · L · d · ctx`` term the attention scores. Both defaults, and the memory-bound power
  draw, are calibrated on steady-state runs of one model family (Llama 3.1 under vLLM, ML.ENERGY
  Benchmark v3) and checked on the other models (``benchmarks/estimator_accuracy.md``). A step
  yields ``B`` tokens, so a request's share of decode is ``O / B`` steps. Power is the
  memory-bound draw, rising towards the compute-bound draw as the step becomes compute-bound.
* For a mixture-of-experts model the weights read per step are
  ``N_total · (1 - (1 - N_active/N_total)^B)``: one token reads its active experts, a large batch
  touches them all (shared layers are treated like routed ones: an approximation).
* ``B`` is the concurrency the KV cache admits beside the weights, at most ``--batch-size``
  (serving-engine semantics, arithmetic in :mod:`wattwise.estimate.layout`, which also holds the
  default KV bytes per token).

Boundaries (published serving figures differ mostly by this):

* ``accelerators``: the chips only;
* ``node``: accelerators + host CPU and DRAM (a share of each chip's TDP per chip);
* ``facility``: node x PUE.

Power is modelled, not taken at TDP: an H100 decoding an 8B model at batch 64 drew 290-360 W of
its 700 W TDP, so TDP-based serving estimates overstate accelerator energy about twofold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from wattwise.core.provenance import Provenance
from wattwise.core.units import DAYS_PER_YEAR
from wattwise.estimate import defaults as d
from wattwise.estimate.hardware import Accelerator, get_hardware
from wattwise.estimate.inputs import ServingInputs, TrainingInputs
from wattwise.estimate.layout import BYTES_PER_PARAM as BYTES_PER_PARAM
from wattwise.estimate.layout import DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE
from wattwise.estimate.layout import (
    Layout,
    decode_attention_flops,
    layout,
    prefill_attention_flops,
)
from wattwise.estimate.layout import default_chips as default_chips
from wattwise.estimate.layout import kv_bytes_per_token_default as kv_bytes_per_token_default
from wattwise.estimate.power import ChipPower, chip_power
from wattwise.estimate.training import TrainingEstimate, training_estimate
from wattwise.estimate.types import (
    Assumption,
    Band,
    EstimateContext,
    cost_to_dict,
    default_context,
)

BOUNDARIES: tuple[str, ...] = ("accelerators", "node", "facility")
#: Mean context a decoded token attends over is ``I + share · O``: 1/2 for fixed-length outputs,
#: 1 for exponentially distributed ones (token-weighted: ``E[O²] / (2 E[O]) = E[O]``), the shape
#: of chat outputs (a long tail; the ML.ENERGY benchmark's synthetic workloads draw them so).
CONTEXT_OUTPUT_SHARE = 1.0
#: While idle but provisioned (``always_on``), the host draws about half its loaded power.
HOST_IDLE_FRACTION = 0.5


@dataclass(frozen=True)
class InferenceEstimate:
    """A serving estimate. Energies per request in Wh, daily/yearly in kWh, carbon in kgCO2e.

    ``wh_per_request`` and ``wh_per_1k_output_tokens`` map each boundary (``accelerators``,
    ``node``, ``facility``) to a band. ``daily`` and ``yearly`` hold ``energy_kwh`` (facility),
    ``co2e_location_kg``, ``co2e_market_kg`` and ``cost`` in ``currency`` (no ``cost`` and a
    None ``currency`` when no price is known for the place). ``breakeven_days`` is the number of
    days of serving whose cumulative facility energy equals the training's (None without one).
    """

    hardware: str
    chips: int
    batch_size: int
    input_tokens: float
    output_tokens: float
    requests_per_day: float
    wh_per_request: dict[str, Band]
    wh_per_1k_output_tokens: dict[str, Band] | None
    seconds_per_request: Band  # replica busy time per request (batch-shared)
    decode_tokens_per_s: Band  # per replica, whole batch
    daily: dict[str, Band]
    yearly: dict[str, Band]
    currency: str | None
    breakeven_days: Band | None
    assumptions: tuple[Assumption, ...]
    #: Requested and admitted concurrency with the KV-cache arithmetic (wattwise.estimate.layout).
    concurrency: dict[str, Any] = field(default_factory=dict)
    #: Fleet sizing under a load (wattwise.estimate.load); empty without one.
    load: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the keys of the CLI's ``--json`` output."""

        def period(p: dict[str, Band]) -> dict[str, Any]:
            out: dict[str, Any] = {k: v.to_dict() for k, v in p.items() if k != "cost"}
            out["cost"] = cost_to_dict(p.get("cost"), self.currency)
            return out

        return {
            "kind": "infer",
            "hardware": self.hardware,
            "chips": self.chips,
            "batch_size": self.batch_size,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "requests_per_day": self.requests_per_day,
            "wh_per_request": {k: v.to_dict() for k, v in self.wh_per_request.items()},
            "wh_per_1k_output_tokens": (
                None
                if self.wh_per_1k_output_tokens is None
                else {k: v.to_dict() for k, v in self.wh_per_1k_output_tokens.items()}
            ),
            "seconds_per_request": self.seconds_per_request.to_dict(),
            "decode_tokens_per_s": self.decode_tokens_per_s.to_dict(),
            "daily": period(self.daily),
            "yearly": period(self.yearly),
            "breakeven_days": None
            if self.breakeven_days is None
            else self.breakeven_days.to_dict(),
            "breakeven_day": (
                None if self.breakeven_days is None else math.ceil(self.breakeven_days.value)
            ),
            "concurrency": dict(self.concurrency),
            **({"load": self.load} if self.load else {}),
            "assumptions": [a.to_dict() for a in self.assumptions],
        }


def weights_read_params(total: float, active: float, batch: int) -> float:
    """Parameters read per decode step for a batch (MoE: experts touched by ``batch`` tokens)."""
    if active >= total:
        return total
    frac = active / total
    return max(active, total * (1.0 - (1.0 - frac) ** batch))


@dataclass(frozen=True)
class _Scenario:
    eta: float
    mfu: float
    decode_mfu: float
    p_compute_w: float
    p_memory_w: float
    host_w: float


def _per_request(
    s: _Scenario, lay: Layout, inputs: ServingInputs, read_params: float
) -> tuple[float, float, float, float]:
    """(accelerator J, host J, replica seconds, decode tokens/s) for one request of ``inputs``
    laid out as ``lay`` under scenario ``s``; ``read_params`` are read per decode step."""
    active, inp, out = inputs.active, inputs.input_tokens, inputs.output_tokens
    bpp, kv_tok, batch, n, peak, bw = lay.bpp, lay.kv_tok, lay.batch, lay.chips, lay.peak, lay.bw
    # Prefill: chip-seconds at the compute-bound draw; the replica is busy chip_s / n seconds.
    prefill_chip_s = (2.0 * active * inp + prefill_attention_flops(active, inp)) / (peak * s.mfu)
    acc_j = prefill_chip_s * s.p_compute_w
    replica_s = prefill_chip_s / n
    tok_s = 0.0
    if out > 0:
        ctx = inp + out * CONTEXT_OUTPUT_SHARE
        step_bytes = read_params * bpp + batch * ctx * kv_tok
        t_mem = step_bytes / (n * bw * s.eta)
        step_flops = 2.0 * active + decode_attention_flops(active, ctx)
        t_comp = step_flops * batch / (n * lay.peak_act * s.decode_mfu)
        t_step = max(t_mem, t_comp)
        share = t_comp / t_step
        p_step = s.p_memory_w + (s.p_compute_w - s.p_memory_w) * share
        steps_share = out / batch  # this request's share of the batch's decode steps
        acc_j += steps_share * t_step * n * p_step
        replica_s += steps_share * t_step
        tok_s = batch / t_step
    host_j = replica_s * n * s.host_w
    return acc_j, host_j, replica_s, tok_s


def _given_or(value: float | None, default: Band) -> Band:
    return Band.exact(value) if value is not None else default


def _efficiency_notes(
    inputs: ServingInputs, eta: Band, mfu: Band, lay: Layout, acc: Accelerator
) -> list[Assumption]:
    """Bandwidth efficiency, prefill MFU, batch size and the chip's peaks, given or assumed."""
    given, assumed = Provenance.GIVEN, Provenance.ASSUMED
    bw_given = inputs.bandwidth_efficiency is not None
    mfu_given = inputs.mfu_prefill is not None
    batch_given = inputs.batch_size is not None
    return [
        Assumption("bandwidth_efficiency", f"{eta.value:g} ({eta.low:g}-{eta.high:g})",
                   "of peak HBM BW", given if bw_given else assumed,
                   "given by you (bandwidth efficiency)" if bw_given
                   else d.bandwidth_efficiency(acc.architecture).source),
        Assumption("mfu_prefill", f"{mfu.value:g} ({mfu.low:g}-{mfu.high:g})", "ratio",
                   given if mfu_given else assumed,
                   "given by you (prefill MFU)" if mfu_given else d.PREFILL_MFU.source),
        Assumption("decode_mfu", f"{d.DECODE_MFU.band.value:g} ({d.DECODE_MFU.band.low:g}-"
                   f"{d.DECODE_MFU.band.high:g})", "of the 16-bit peak", assumed,
                   f"once decode is compute-bound: {d.DECODE_MFU.source}"),
        Assumption("decode_context", f"I + {CONTEXT_OUTPUT_SHARE:g} x O", "tokens", assumed,
                   "mean context a decoded token attends over, outputs of varying length "
                   "(exponential: token-weighted mean I + O)"),
        Assumption("batch_size", str(lay.admission["requested"]), "sequences",
                   given if batch_given else assumed,
                   "given by you (maximum concurrent sequences)" if batch_given
                   else "no batch size given: default maximum concurrent sequences"),
        Assumption("peak_flops", f"{lay.peak:.4g}", f"FLOP/s dense {inputs.precision}", assumed,
                   f"{acc.name}: {acc.source}"),
        Assumption("memory_bandwidth", f"{acc.memory_bw_gb_s:g}", "GB/s", assumed,
                   f"{acc.name}: {acc.source}"),
    ]  # fmt: skip


def _host_power(
    inputs: ServingInputs, acc: Accelerator, power: ChipPower, notes: list[Assumption]
) -> Band:
    """Host CPU + DRAM power per chip: a share of the chip's TDP (or of the given power)."""
    host_base = acc.tdp_w if acc.tdp_w is not None else (inputs.power_w or 0.0)
    host = Band.exact(host_base).mul(d.HOST_FRACTION_OF_TDP.band)
    if power.basis != "utilisation":
        notes.append(
            Assumption("host_power_per_chip", f"{host.value:g}", "W", Provenance.ASSUMED,
                       f"{d.HOST_FRACTION_OF_TDP.band.value:g} x TDP: "
                       f"{d.HOST_FRACTION_OF_TDP.source}")
        )  # fmt: skip
    return host


def _per_request_bands(
    inputs: ServingInputs, lay: Layout, eta: Band, mfu: Band, power: ChipPower, host: Band
) -> tuple[Band, Band, Band, Band]:
    """(accelerator Wh, host Wh, replica seconds, decode tokens/s) per request, as bands: the
    low end takes the favourable bound of every factor, the high end the unfavourable one."""
    read = weights_read_params(inputs.params, inputs.active, lay.batch)
    dm = d.DECODE_MFU.band
    scen = (
        _Scenario(eta.value, mfu.value, dm.value, power.compute_w.value, power.memory_w.value,
                  host.value),
        _Scenario(eta.high, mfu.high, dm.high, power.compute_w.low, power.memory_w.low, host.low),
        _Scenario(eta.low, mfu.low, dm.low, power.compute_w.high, power.memory_w.high,
                  host.high),
    )  # fmt: skip
    value, low, high = (_per_request(s, lay, inputs, read) for s in scen)
    return (
        Band(value[0] / 3600, low[0] / 3600, high[0] / 3600),
        Band(value[1] / 3600, low[1] / 3600, high[1] / 3600),
        Band(value[2], low[2], high[2]),
        Band(value[3], high[3], low[3]),
    )


def _idle_kwh_per_day(
    inputs: ServingInputs, seconds: Band, chips: int, idle_w: float, host: Band
) -> Band:
    """IT energy of the replicas provisioned 24 h/day while they wait (``always_on``)."""
    idle_node_w = chips * (idle_w + host.value * HOST_IDLE_FRACTION)
    idle_kwh = []
    for sec in (seconds.value, seconds.low, seconds.high):
        busy_s = sec * inputs.requests_per_day
        replicas = max(1, math.ceil(busy_s / 86_400.0))
        idle_kwh.append((replicas * 86_400.0 - busy_s) * idle_node_w / 3.6e6)
    return Band(idle_kwh[0], min(idle_kwh), max(idle_kwh))


def period_totals(facility_kwh: Band, ctx: EstimateContext) -> dict[str, Band]:
    """Facility energy, location/market carbon (kg) and cost of a period's energy (no
    ``cost`` key when no price is known for the place: read it with ``.get("cost")``)."""
    out = {
        "energy_kwh": facility_kwh,
        "co2e_location_kg": facility_kwh.mul(ctx.intensity_location_g_per_kwh.band).scale(1e-3),
        "co2e_market_kg": facility_kwh.mul(ctx.market.band).scale(1e-3),
    }
    cost = ctx.cost_of(facility_kwh)
    if cost is not None:
        out["cost"] = cost
    return out


def _training_kwh(
    inputs: ServingInputs, training: TrainingEstimate | None, ctx: EstimateContext
) -> Band | None:
    """Training facility energy for the break-even day: an estimate given, one made from
    ``training_tokens``, or a known ``training_energy_kwh`` (None without any)."""
    if training is None and inputs.training_tokens is not None:
        training = training_estimate(
            TrainingInputs(hardware=inputs.hardware, params=inputs.params,
                           active_params=inputs.active_params, tokens=inputs.training_tokens,
                           precision=inputs.precision),
            ctx,
        )  # fmt: skip
    if training is not None:
        return training.facility_energy_kwh
    if inputs.training_energy_kwh is not None:
        return Band.exact(inputs.training_energy_kwh)
    return None


def serving_estimate(
    inputs: ServingInputs,
    context: EstimateContext | None = None,
    training: TrainingEstimate | None = None,
) -> InferenceEstimate:
    """Estimate the serving load ``inputs`` at the site ``context``: energy, carbon and cost per
    request, per 1,000 output tokens, per day and per year (method in the module docstring).

    ``training`` (an estimate) takes precedence over ``inputs.training_tokens`` and
    ``inputs.training_energy_kwh`` for the break-even day.
    """
    acc = inputs.hardware if isinstance(inputs.hardware, Accelerator) else get_hardware(
        inputs.hardware
    )
    ctx = context or default_context()
    ctx.validate()
    notes: list[Assumption] = []
    lay = layout(inputs, acc, notes)
    power = chip_power(acc, inputs.power_basis, inputs.power_w)
    notes.extend(power.assumptions)
    host = _host_power(inputs, acc, power, notes)
    eta = _given_or(inputs.bandwidth_efficiency, d.bandwidth_efficiency(acc.architecture).band)
    mfu = _given_or(inputs.mfu_prefill, d.PREFILL_MFU.band)
    notes.extend(_efficiency_notes(inputs, eta, mfu, lay, acc))

    acc_wh, host_wh, seconds, tok_s = _per_request_bands(inputs, lay, eta, mfu, power, host)
    node_wh = acc_wh.add(host_wh)
    per_req = {"accelerators": acc_wh, "node": node_wh, "facility": node_wh.mul(ctx.pue.band)}
    out_tokens = inputs.output_tokens
    per_1k = (
        None if out_tokens <= 0 else {k: v.scale(1000.0 / out_tokens) for k, v in per_req.items()}
    )
    rpd = inputs.requests_per_day
    day_facility_kwh = per_req["facility"].scale(rpd / 1000.0)
    if inputs.always_on and rpd > 0:
        idle = _idle_kwh_per_day(inputs, seconds, lay.chips, power.idle_w or 0.0, host)
        day_facility_kwh = day_facility_kwh.add(idle.mul(ctx.pue.band))
        notes.append(
            Assumption("always_on", "true", "", Provenance.GIVEN,
                       "given by you: replicas provisioned 24 h/day; idle chips and hosts counted")
        )  # fmt: skip
    daily = period_totals(day_facility_kwh, ctx)
    notes.extend(ctx.assumptions())

    train_kwh = _training_kwh(inputs, training, ctx)
    breakeven = None
    if train_kwh is not None and rpd > 0:
        breakeven = Band(
            train_kwh.value / day_facility_kwh.value,
            train_kwh.low / day_facility_kwh.high,
            train_kwh.high / day_facility_kwh.low,
        )
    return InferenceEstimate(
        hardware=acc.name,
        chips=lay.chips,
        batch_size=lay.batch,
        input_tokens=inputs.input_tokens,
        output_tokens=out_tokens,
        requests_per_day=rpd,
        wh_per_request=per_req,
        wh_per_1k_output_tokens=per_1k,
        seconds_per_request=seconds,
        decode_tokens_per_s=tok_s,
        daily=daily,
        yearly={k: v.scale(DAYS_PER_YEAR) for k, v in daily.items()},
        currency=ctx.currency,
        breakeven_days=breakeven,
        assumptions=tuple(notes),
        concurrency=lay.admission,
    )


def estimate_inference(
    *,
    hardware: str | Accelerator,
    params: float,
    input_tokens: float,
    output_tokens: float,
    active_params: float | None = None,
    requests_per_day: float = 0.0,
    chips: int | None = None,
    batch_size: int | None = None,
    precision: str = "bf16",
    weight_bytes_per_param: float | None = None,
    kv_bytes_per_token: float | None = None,
    mfu_prefill: float | None = None,
    bandwidth_efficiency: float | None = None,
    power_basis: str | None = None,
    power_w: float | None = None,
    context: EstimateContext | None = None,
    always_on: bool = False,
    training: TrainingEstimate | None = None,
    training_tokens: float | None = None,
    training_energy_kwh: float | None = None,
    requests_per_second: float | None = None,
    diurnal: tuple[float, ...] | None = None,
    slo_ttft_ms: float | None = None,
    slo_itl_ms: float | None = None,
) -> InferenceEstimate:
    """Estimate serving energy, carbon and cost per request, per 1,000 output tokens, per day:
    :func:`serving_estimate` of :class:`ServingInputs` built from these arguments (the keyword
    form, for scripts and notebooks; tests check its signature against the dataclass).

    ``params`` is the total parameter count (``active_params`` for mixture-of-experts);
    ``precision`` sets the compute peak and, unless ``weight_bytes_per_param`` is given, the
    weight width (the KV cache stays 16-bit below bf16: it holds activations). ``chips``
    defaults to the smallest power of two that holds the weights and the batch's KV cache.
    ``always_on`` adds the idle power of the replicas
    provisioned around the clock for ``requests_per_day``. Pass ``training`` (an estimate),
    ``training_tokens`` (estimate the training of the same model) or ``training_energy_kwh``
    (facility kWh) to get the serving day on which cumulative serving energy passes training
    energy. A rate (``requests_per_second`` or ``requests_per_day``) with an optional
    ``diurnal`` profile and latency objectives adds the fleet (:mod:`wattwise.estimate.load`).
    """
    given = dict(locals())
    site, trained = given.pop("context"), given.pop("training")
    from wattwise.estimate.load import serving_with_load  # load builds on this module

    return serving_with_load(ServingInputs(**given), site, trained)
