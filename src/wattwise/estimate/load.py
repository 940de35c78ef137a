"""Serving fleets under a real load: replicas, utilisation and energy per request with idle power.

Given a mean rate ``λ`` (``--requests-per-second``, or ``--requests-per-day`` / 86,400) and an
optional diurnal profile of 24 hourly weights (``λ_h = λ · 24 · w_h / Σw``; default flat):

1. **Latency objectives.** The inter-token latency at concurrency ``b`` is one decode step,
   ``ITL(b) = b / decode_tokens_per_s(b)``; with ``--slo-itl-ms`` the replica runs at most the
   largest ``b`` (up to the admitted concurrency) that meets it. Time to first token is the
   prefill of one request plus one step, ``TTFT ≈ prefill(I) + ITL(1)`` (queueing aside); with
   ``--slo-ttft-ms`` the estimate says whether the replica layout can meet it at all.
2. **Capacity.** A replica serves ``C = 1 / seconds_per_request(b_max)`` requests per second at
   that concurrency (:mod:`wattwise.estimate.inference`). Hour ``h`` needs
   ``ceil(λ_h / C)`` replicas (sized at 100 % of capacity at the hour's mean rate: no burst
   headroom, assumed).
3. **Concurrency at low load.** A replica receiving ``λ_r`` requests per second holds, by
   Little's law, ``b = λ_r · latency(b)`` sequences (a fixed point, at least 1, at most
   ``b_max``): at a trickle of requests it decodes one sequence at a time and reads all the
   weights per token, which is why energy per request rises many-fold at low load.
4. **Idle power.** A provisioned replica that is busy a fraction
   ``u = λ_r · seconds_per_request(b)`` of the time draws its chips' idle power and half its
   host power the rest of the time.

Two ways to provision: **always on** (the peak hour's replicas 24 h a day) and **scale to zero**
(each hour's replicas only; cold starts and model loading not counted). Each reports replicas,
replica-hours per day, mean utilisation, facility kWh per day and Wh per request including
idle, as bands (low: favourable bound of every factor, high: unfavourable).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from wattwise.estimate.hardware import Accelerator, get_hardware
from wattwise.estimate.inference import (
    HOST_IDLE_FRACTION,
    InferenceEstimate,
    serving_estimate,
)
from wattwise.estimate.inputs import ServingInputs
from wattwise.estimate.power import chip_power
from wattwise.estimate.training import TrainingEstimate
from wattwise.estimate.types import Band, EstimateContext, default_context

_KEYS = ("value", "low", "high")
_FIXED_POINT_ROUNDS = 40


class _Replica:
    """Serving estimates of one replica layout at any concurrency (cached by batch)."""

    def __init__(self, inputs: ServingInputs, ctx: EstimateContext, chips: int) -> None:
        self._inputs = replace(
            inputs, chips=chips, requests_per_day=0.0, always_on=False, requests_per_second=None,
            diurnal=None, slo_ttft_ms=None, slo_itl_ms=None, training_tokens=None,
            training_energy_kwh=None,
        )  # fmt: skip
        self._ctx = ctx
        self._cache: dict[int, InferenceEstimate] = {}

    def at(self, batch: int) -> InferenceEstimate:
        b = max(1, int(batch))
        if b not in self._cache:
            self._cache[b] = serving_estimate(replace(self._inputs, batch_size=b), self._ctx)
        return self._cache[b]

    def itl_s(self, batch: int) -> float:
        est = self.at(batch)
        tok_s = est.decode_tokens_per_s.value
        return est.batch_size / tok_s if tok_s > 0 else 0.0

    def latency_s(self, batch: int) -> float:
        est = self.at(batch)
        return est.seconds_per_request.value * est.batch_size


def _slo_batch(rep: _Replica, admitted: int, slo_itl_ms: float | None) -> tuple[int, bool]:
    """The largest concurrency meeting the ITL objective (binary search), and whether any does."""
    if slo_itl_ms is None:
        return admitted, True
    limit = slo_itl_ms / 1000.0
    if rep.itl_s(1) > limit:
        return 1, False
    lo, hi = 1, admitted
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if rep.itl_s(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo, True


def _concurrency(rep: _Replica, rate_per_replica: float, b_max: int) -> int:
    """Little's law fixed point ``b = λ_r · latency(b)`` within [1, b_max]."""
    b = float(b_max)
    for _ in range(_FIXED_POINT_ROUNDS):
        nxt = min(float(b_max), max(1.0, rate_per_replica * rep.latency_s(round(b))))
        if abs(nxt - b) < 0.5:
            b = nxt
            break
        b = nxt
    return max(1, round(b))


def hourly_rates(rate_per_s: float, diurnal: tuple[float, ...] | None) -> list[float]:
    """Mean requests per second in each hour of the day (flat without a profile)."""
    if diurnal is None:
        return [rate_per_s] * 24
    total = sum(diurnal)
    return [rate_per_s * 24.0 * w / total for w in diurnal]


def _idle_node_w(inputs: ServingInputs, acc: Accelerator, chips: int) -> float:
    power = chip_power(acc, inputs.power_basis, inputs.power_w)
    return chips * (power.idle_w + power.host_w.value * HOST_IDLE_FRACTION)


def _scenario(
    rep: _Replica, rates: list[float], replicas: list[int], b_max: int, idle_w: float,
    ctx: EstimateContext,
) -> dict[str, Any]:  # fmt: skip
    """Energy, utilisation and replica-hours of one provisioning over the day's hours."""
    kwh = dict.fromkeys(_KEYS, 0.0)
    idle_kwh = dict.fromkeys(_KEYS, 0.0)
    busy_replica_h = 0.0
    pue = ctx.pue.band
    for rate, n in zip(rates, replicas, strict=True):
        if n == 0:
            continue
        per = rate / n
        est = rep.at(_concurrency(rep, per, b_max)) if rate > 0 else rep.at(1)
        u = min(1.0, per * est.seconds_per_request.value)
        busy_replica_h += u * n
        wh = est.wh_per_request["facility"]
        for k in _KEYS:
            idle = n * (1.0 - u) * idle_w * getattr(pue, k) / 1000.0  # kWh in this hour
            idle_kwh[k] += idle
            kwh[k] += rate * 3600.0 * getattr(wh, k) / 1000.0 + idle
    requests = sum(rates) * 3600.0
    replica_h = float(sum(replicas))
    per_req = {k: (kwh[k] * 1000.0 / requests if requests else 0.0) for k in _KEYS}
    return {
        "replicas": max(replicas),
        "replica_hours_per_day": replica_h,
        "utilisation": busy_replica_h / replica_h if replica_h else 0.0,
        "energy_kwh_per_day": Band(kwh["value"], kwh["low"], kwh["high"]).to_dict(),
        "wh_per_request_facility": Band(
            per_req["value"], per_req["low"], per_req["high"]
        ).to_dict(),
        "idle_share": idle_kwh["value"] / kwh["value"] if kwh["value"] else 0.0,
    }


def fleet(
    inputs: ServingInputs, base: InferenceEstimate, context: EstimateContext | None = None
) -> dict[str, Any]:
    """The fleet that serves ``inputs``' load with ``base``'s replica layout (module docstring);
    empty when no rate is given."""
    rate = inputs.requests_per_second
    if rate is None:
        rate = inputs.requests_per_day / 86_400.0 if inputs.requests_per_day else None
    if not rate:
        return {}
    ctx = context or default_context()
    acc = (
        inputs.hardware
        if isinstance(inputs.hardware, Accelerator)
        else get_hardware(inputs.hardware)
    )
    rep = _Replica(inputs, ctx, base.chips)
    b_max, itl_met = _slo_batch(rep, base.batch_size, inputs.slo_itl_ms)
    one = rep.at(1)
    ttft_s = max(0.0, one.seconds_per_request.value - inputs.output_tokens * rep.itl_s(1))
    ttft_s += rep.itl_s(1)
    capacity = 1.0 / rep.at(b_max).seconds_per_request.value
    rates = hourly_rates(rate, inputs.diurnal)
    need = [math.ceil(r / capacity) if r > 0 else 0 for r in rates]
    idle_w = _idle_node_w(inputs, acc, base.chips)
    peak = max(max(need), 1)
    saturated = rep.at(b_max).wh_per_request["facility"]
    return {
        "requests_per_second_mean": rate,
        "requests_per_second_peak": max(rates),
        "requests_per_day": rate * 86_400.0,
        "diurnal": "flat" if inputs.diurnal is None else list(inputs.diurnal),
        "chips_per_replica": base.chips,
        "concurrency_max": b_max,
        "capacity_requests_per_s_per_replica": capacity,
        "ttft_ms": ttft_s * 1000.0,
        "itl_ms_at_max_concurrency": rep.itl_s(b_max) * 1000.0,
        "slo": {
            "ttft_ms": inputs.slo_ttft_ms,
            "itl_ms": inputs.slo_itl_ms,
            "ttft_met": None if inputs.slo_ttft_ms is None else ttft_s * 1000 <= inputs.slo_ttft_ms,
            "itl_met": None if inputs.slo_itl_ms is None else itl_met,
        },
        "idle_power_w_per_replica": idle_w,
        "wh_per_request_facility_at_saturation": saturated.to_dict(),
        "always_on": _scenario(rep, rates, [peak] * 24, b_max, idle_w, ctx),
        "scale_to_zero": _scenario(rep, rates, need, b_max, idle_w, ctx),
        "method": "wattwise.estimate.load: capacity at the SLO concurrency, Little's-law "
        "concurrency at low load, idle chips and half the host power while waiting; cold "
        "starts not counted",
    }


def serving_with_load(
    inputs: ServingInputs,
    context: EstimateContext | None = None,
    training: TrainingEstimate | None = None,
) -> InferenceEstimate:
    """:func:`~wattwise.estimate.inference.serving_estimate` with the fleet for its load (a
    rate per second counts as ``rate x 86,400`` requests per day in the daily totals)."""
    rps = inputs.requests_per_second
    daily = inputs if rps is None else replace(inputs, requests_per_second=None,
                                               requests_per_day=rps * 86_400.0)  # fmt: skip
    base = serving_estimate(daily, context, training)
    load = fleet(inputs, base, context)
    return replace(base, load=load) if load else base


__all__ = ["fleet", "hourly_rates", "serving_with_load"]
