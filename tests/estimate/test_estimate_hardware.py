"""The accelerator catalog: coverage, aliases, dense peaks, embodied carbon, bad names."""

from __future__ import annotations

import pytest

from wattwise.errors import ConfigError, DataError, UnknownKeyError
from wattwise.estimate.hardware import _parse, get_hardware, list_hardware, normalise

#: The accelerators the issue asks for, by a name a user would type.
REQUIRED = [
    "V100", "A100-40GB", "A100-80GB", "H100-SXM", "H100-PCIE", "H200", "B200", "L4", "L40S",
    "A10G", "T4", "MI250X", "MI300X", "TPU v2", "TPU v3", "TPU v4", "TPU v5e", "TPU v5p",
    "Gaudi 2", "Gaudi 3",
]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED)
def test_required_accelerators_are_in_the_catalog(name: str) -> None:
    acc = get_hardware(name)
    assert acc.memory_gb > 0 and acc.memory_bw_gb_s > 0
    assert "bf16" in acc.peak_tflops
    assert acc.source


@pytest.mark.parametrize("alias", ["A100", "a100-80gb", "A100-SXM4-80GB", "a100 sxm4 80gb"])
def test_aliases_resolve_to_one_row(alias: str) -> None:
    assert get_hardware(alias).name == "A100 SXM4 80GB"


def test_names_and_aliases_are_unique_after_normalisation() -> None:
    seen: dict[str, str] = {}
    for acc in list_hardware():
        for key in (acc.name, *acc.aliases):
            k = normalise(key)
            assert seen.setdefault(k, acc.name) == acc.name


def test_unknown_hardware_lists_the_closest_names() -> None:
    with pytest.raises(UnknownKeyError) as err:
        get_hardware("H10O SXM")
    msg = str(err.value)
    assert "H10O SXM" in msg and "H100 SXM5 80GB" in msg
    assert "\n" not in msg


def test_peaks_are_dense_never_the_sparsity_figure() -> None:
    """mlco2's gpus.csv lists H100 'TFLOPS16' = 1979, the 2:4 sparsity figure; dense is half."""
    h100 = get_hardware("H100")
    assert h100.peak_flops("bf16") == pytest.approx(1979e12 / 2, rel=0.01)
    for acc in list_hardware():
        bf16 = acc.peak_tflops["bf16"]
        # Dense bf16 per chip stays under ~2.5 PFLOP/s in 2025 (B200 2.25 dense, 4.5 sparse).
        assert bf16 <= 2500, acc.name
        if "fp8" in acc.peak_tflops and acc.vendor == "NVIDIA":
            assert acc.peak_tflops["fp8"] == pytest.approx(2 * bf16, rel=0.02), acc.name


def test_fp16_reads_the_bf16_column_and_missing_precisions_fail() -> None:
    a100 = get_hardware("A100")
    assert a100.peak_flops("fp16") == a100.peak_flops("bf16") == 312e12
    with pytest.raises(ConfigError, match="no dense fp8"):
        a100.peak_flops("fp8")
    with pytest.raises(ConfigError, match="unknown precision"):
        a100.peak_flops("fp4")


def test_embodied_carbon_follows_the_stated_llmcarbon_method() -> None:
    """Die area x carbon per area (by process node) + memory x 0.4 kg/GB, boundary stated."""
    cpa = {16: 1.0, 12: 1.2, 8: 1.2, 7: 1.6, 6: 1.6, 5: 1.8, 4: 1.8}
    import csv
    import io
    from importlib import resources

    text = resources.files("wattwise.data").joinpath("hardware.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        acc = get_hardware(row["name"])
        if not row["die_area_mm2"]:
            assert acc.embodied_kgco2e is None
            continue
        expected = float(row["die_area_mm2"]) / 100 * cpa[int(row["process_nm"])]
        expected += acc.memory_gb * 0.4
        assert acc.embodied_kgco2e == pytest.approx(expected, abs=0.01), acc.name
        assert "die" in acc.embodied_boundary and "memory" in acc.embodied_boundary


def test_tpu_tdp_is_a_provisioning_figure_and_gpu_tdp_a_power_limit() -> None:
    assert get_hardware("TPU v3").tdp_kind == "provisioning"
    assert get_hardware("H100").tdp_kind == "power_limit"
    assert get_hardware("TPU v5e").tdp_w is None  # Google does not publish it


def _row(**over: str) -> dict[str, str]:
    base = {
        "name": "X1", "aliases": "", "vendor": "V", "kind": "gpu", "architecture": "hopper",
        "year": "2024", "tdp_w": "700", "tdp_kind": "power_limit", "idle_w": "70",
        "bf16_tflops": "989", "memory_gb": "80", "memory_bw_gb_s": "3350", "source": "s",
    }  # fmt: skip
    base.update(over)
    return base


def test_bad_rows_are_rejected_with_table_and_line() -> None:
    assert _parse(_row(), 2).peak_flops("bf16") == 989e12
    with pytest.raises(DataError, match="sparsity"):
        _parse(_row(bf16_tflops="4500"), 7)
    with pytest.raises(DataError, match=r"line 3.*idle_w"):
        _parse(_row(idle_w="800"), 3)
    with pytest.raises(DataError, match="not a number"):
        _parse(_row(memory_gb="eighty"), 4)
    with pytest.raises(DataError, match="negative"):
        _parse(_row(tdp_w="-1"), 5)
