"""Serving estimates: prefill/decode model, modelled power, boundaries, daily totals, bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from wattwise.errors import ConfigError
from wattwise.estimate import (
    BOUNDARIES,
    context_from_numbers,
    estimate_inference,
    estimate_training,
)
from wattwise.estimate.inference import (
    InferenceEstimate,
    kv_bytes_per_token_default,
    weights_read_params,
)
from wattwise.estimate.layout import (
    decode_attention_flops,
    kv_value_bytes,
    prefill_attention_flops,
)

CTX = context_from_numbers(pue=1.2, intensity_location_g_per_kwh=400, price_per_kwh=0.1)


def _note(est: InferenceEstimate, name: str) -> str:
    return next(a.value for a in est.assumptions if a.name == name)


MLENERGY = Path(__file__).parent / "data" / "mlenergy_v3_llm.csv"


def _measured(model: str, gpu: str, batch: int) -> dict[str, str]:
    """One steady-state vLLM run of the ML.ENERGY Benchmark v3 (measured GPU energy)."""
    with MLENERGY.open(encoding="utf-8") as f:
        return next(r for r in csv.DictReader(f) if r["model_id"] == model
                    and r["gpu_model"] == gpu and int(r["max_num_seqs"]) == batch)  # fmt: skip


def _estimate_of(run: dict[str, str]) -> InferenceEstimate:
    return estimate_inference(hardware=run["gpu_model"], params=8e9, input_tokens=200,
                              output_tokens=float(run["avg_output_len"]), chips=1,
                              batch_size=int(run["max_num_seqs"]), context=CTX)  # fmt: skip


@pytest.mark.parametrize("gpu", ["H100", "B200"])
@pytest.mark.parametrize("batch", [8, 64, 256])
def test_8b_decode_matches_the_measured_energy_per_token(gpu: str, batch: int) -> None:
    """Llama-3.1-8B under vLLM (a calibration run): J/output token within 1.4x of the
    measurement, at a small and a large batch, on both generations."""
    run = _measured("meta-llama/Llama-3.1-8B-Instruct", gpu, batch)
    est = _estimate_of(run)
    j_per_token = est.wh_per_request["accelerators"].value * 3600 / float(run["avg_output_len"])
    assert 1 / 1.4 <= j_per_token / float(run["energy_per_token_joules"]) <= 1.4


def test_modelled_decode_power_is_near_the_measured_draw_and_below_tdp() -> None:
    """Measured: 610 W of the H100's 700 W decoding Llama-3.1-8B at batch 64 under vLLM; the
    model's mean draw is within 25 % of that, and serving at TDP overstates energy."""
    run = _measured("meta-llama/Llama-3.1-8B-Instruct", "H100", 64)
    est = _estimate_of(run)
    mean_w = est.wh_per_request["accelerators"].value * 3600 / est.seconds_per_request.value
    assert 0.75 <= mean_w / float(run["avg_power_watts"]) <= 1.25
    tdp = estimate_inference(hardware="H100", params=8e9, input_tokens=200,
                             output_tokens=float(run["avg_output_len"]), batch_size=64, chips=1,
                             context=CTX, power_basis="tdp")  # fmt: skip
    assert tdp.wh_per_request["accelerators"].value > est.wh_per_request["accelerators"].value


def test_boundaries_nest_and_facility_is_node_times_pue() -> None:
    est = estimate_inference(hardware="A100", params=13e9, input_tokens=800, output_tokens=200,
                             context=CTX)  # fmt: skip
    w = est.wh_per_request
    assert tuple(w) == BOUNDARIES
    assert w["accelerators"].value < w["node"].value < w["facility"].value
    assert w["facility"].value == pytest.approx(w["node"].value * 1.2)
    for band in w.values():
        assert band.low <= band.value <= band.high
    per_1k = est.wh_per_1k_output_tokens
    assert per_1k is not None
    assert per_1k["node"].value == pytest.approx(w["node"].value * 1000 / 200)


def test_prefill_is_compute_bound_and_grows_with_input_tokens() -> None:
    short = estimate_inference(hardware="H100", params=70e9, input_tokens=100, output_tokens=1,
                               chips=4, context=CTX)  # fmt: skip
    long = estimate_inference(hardware="H100", params=70e9, input_tokens=10_000, output_tokens=1,
                              chips=4, context=CTX)  # fmt: skip
    # (2 x N x I + 2 x L x d x I^2) / (peak x 0.45) x compute-bound power: the linear term plus
    # causal attention's quadratic one, with the Llama-3 shape of 70B (L ~ 70.9, d = 128 L).
    layers = (70e9 / 196_608) ** (1 / 3)
    flops = 2 * 70e9 * 9_900 + 2 * layers * 128 * layers * (10_000**2 - 100**2)
    prefill_j = flops / (989.4e12 * 0.45) * (70 + 630 * 0.85)
    diff_j = (long.wh_per_request["accelerators"].value
              - short.wh_per_request["accelerators"].value) * 3600  # fmt: skip
    assert diff_j == pytest.approx(prefill_j, rel=0.05)


def test_daily_yearly_and_breakeven_day() -> None:
    train = estimate_training(hardware="H100", params=8e9, tokens=1.5e13, chips=1024, context=CTX)
    est = estimate_inference(hardware="H100", params=8e9, input_tokens=500, output_tokens=300,
                             requests_per_day=1e7, context=CTX, training=train)  # fmt: skip
    day = est.daily["energy_kwh"].value
    assert day == pytest.approx(est.wh_per_request["facility"].value * 1e7 / 1000)
    assert est.yearly["energy_kwh"].value == pytest.approx(day * 365.25)  # the Julian year
    assert est.daily["co2e_location_kg"].value == pytest.approx(day * 0.4)
    assert est.daily["cost"].value == pytest.approx(day * 0.1)
    assert est.breakeven_days is not None
    assert est.breakeven_days.value == pytest.approx(train.facility_energy_kwh.value / day)
    d = est.to_dict()
    assert d["breakeven_day"] >= est.breakeven_days.value
    assert set(d["wh_per_request"]) == set(BOUNDARIES)
    assert set(d["daily"]) >= {"energy_kwh", "co2e_location_kg", "cost"}


def test_always_on_counts_idle_replicas() -> None:
    kw = {"hardware": "H100", "params": 8e9, "input_tokens": 200, "output_tokens": 200,
          "requests_per_day": 1000.0, "context": CTX}  # fmt: skip
    busy = estimate_inference(**kw)  # type: ignore[arg-type]
    always = estimate_inference(always_on=True, **kw)  # type: ignore[arg-type]
    assert always.daily["energy_kwh"].value > 5 * busy.daily["energy_kwh"].value


def test_moe_reads_fewer_weights_at_small_batch() -> None:
    assert weights_read_params(100e9, 100e9, 8) == 100e9
    assert weights_read_params(400e9, 100e9, 1) == pytest.approx(100e9)
    assert 100e9 < weights_read_params(400e9, 100e9, 4) < 400e9
    moe = estimate_inference(hardware="H100", params=400e9, active_params=100e9, batch_size=1,
                             input_tokens=0, output_tokens=100, context=CTX)  # fmt: skip
    dense = estimate_inference(hardware="H100", params=400e9, batch_size=1, input_tokens=0,
                               output_tokens=100, context=CTX)  # fmt: skip
    assert moe.wh_per_request["node"].value < dense.wh_per_request["node"].value


def test_kv_cache_default_and_chip_count() -> None:
    # Llama-3.1-8B: 32 layers x 8 KV heads x 128 dims x 2 (K, V) x 2 bytes = 131 kB per token.
    assert kv_bytes_per_token_default(8e9) == pytest.approx(131_072, rel=0.1)
    est = estimate_inference(hardware="H100", params=405e9, input_tokens=100, output_tokens=100,
                             context=CTX)  # fmt: skip
    assert est.chips == 16  # 810 GB of bf16 weights need more than 8 x 80 GB x 0.9
    with pytest.raises(ConfigError, match="cannot hold"):
        estimate_inference(hardware="H100", params=405e9, input_tokens=1, output_tokens=1,
                           chips=4, context=CTX)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_tokens": -1, "output_tokens": 10}, "input tokens must be >= 0"),
        ({"input_tokens": 0, "output_tokens": 0}, "needs input or output"),
        ({"input_tokens": 10, "output_tokens": 10, "batch_size": 0}, "batch size"),
        ({"input_tokens": 10, "output_tokens": 10, "mfu_prefill": 2.0}, "prefill MFU"),
        ({"input_tokens": 10, "output_tokens": 10, "bandwidth_efficiency": 0.0}, "bandwidth"),
        ({"input_tokens": 10, "output_tokens": 10, "active_params": 9e9}, "exceed"),
    ],
)
def test_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        estimate_inference(hardware="H100", params=8e9, context=CTX, **kwargs)  # type: ignore[arg-type]


def test_batch_size_is_a_maximum_the_kv_cache_admits_fewer() -> None:
    """Serving-engine semantics: 70B on 4 x H100 at --batch-size 1024 admits what fits."""
    est = estimate_inference(hardware="H100", params=70e9, chips=4, batch_size=1024,
                             input_tokens=1000, output_tokens=500, context=CTX)  # fmt: skip
    adm = est.concurrency
    assert adm["limited_by"] == "kv_cache"
    room = 4 * 80e9 * 0.9 - 70e9 * 2
    assert adm["admitted"] == int(room // (1500 * kv_bytes_per_token_default(70e9)))
    assert est.batch_size == adm["admitted"] < 1024
    note = next(a for a in est.assumptions if a.name == "admitted_concurrency")
    assert "148 GB for KV" in note.source
    small = estimate_inference(hardware="H100", params=8e9, chips=1, batch_size=8,
                               input_tokens=100, output_tokens=100, context=CTX)  # fmt: skip
    assert small.concurrency["admitted"] == 8
    assert small.concurrency["limited_by"] == "batch_size"


def test_prefill_attention_term_is_small_for_short_prompts_and_grows_quadratically() -> None:
    # 8B (Llama-3 shape): +19 % over 2 N I at 10,000 input tokens, +0.2 % at 100.
    lin = 2 * 8e9
    assert prefill_attention_flops(8e9, 10_000) / (lin * 10_000) == pytest.approx(0.19, abs=0.02)
    assert prefill_attention_flops(8e9, 100) / (lin * 100) < 0.003
    assert prefill_attention_flops(8e9, 2_000) == pytest.approx(
        4 * prefill_attention_flops(8e9, 1_000)
    )
    # One decoded token against 10,000 tokens of context: 4 L d ctx, +38 % over 2 N, linear.
    assert decode_attention_flops(8e9, 10_000) / lin == pytest.approx(0.38, abs=0.02)
    assert decode_attention_flops(8e9, 2_000) == pytest.approx(
        2 * decode_attention_flops(8e9, 1_000)
    )


def test_kv_cache_stays_16_bit_under_weight_quantisation() -> None:
    # The KV cache holds activations: int4 or fp8 weights do not narrow it (vLLM's
    # --kv-cache-dtype auto); only the weights shrink.
    args = dict(hardware="H100", params=70e9, input_tokens=2000, output_tokens=500, chips=2,
                batch_size=1024, context=CTX)  # fmt: skip
    kv = {p: _note(estimate_inference(precision=p, **args), "kv_bytes_per_token")
          for p in ("bf16", "fp8", "int4")}  # fmt: skip
    assert kv["bf16"] == kv["fp8"] == kv["int4"]
    assert kv_value_bytes("int4") == kv_value_bytes("fp8") == 2.0
    assert kv_value_bytes("fp32") == 4.0
    int4 = estimate_inference(precision="int4", **args)
    bf16 = estimate_inference(precision="bf16", **args)
    assert int4.concurrency["admitted"] > bf16.concurrency["admitted"]  # room freed by weights
