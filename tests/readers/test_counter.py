"""CounterSanity and check_power_w: what a reader accepts from a counter, what it calls a glitch."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattwise.readers.counter import (
    COUNTER_64_BIT,
    DEFAULT_MAX_POWER_W,
    RAPL_MAX_POWER_MARGIN,
    SLACK_S,
    CounterSanity,
    PowerCap,
    check_power_w,
    default_cap,
    stated_cap,
)

PKG_RANGE_UJ = 262143328850  # a real Intel package max_energy_range_uj
UJ = 1e-6
CPU_CAP = default_cap("cpu")


def rapl(max_range: float = PKG_RANGE_UJ, cap: PowerCap = CPU_CAP) -> CounterSanity:
    return CounterSanity("energy_uj of package-0", UJ, float(max_range), cap)


def nvml(cap_w: float = 1400.0) -> CounterSanity:
    return CounterSanity("total energy of GPU 0 (mJ)", 1e-3, 0.0, PowerCap(cap_w, "test"))


def test_first_value_is_the_zero() -> None:
    c = rapl()
    assert c.update(123_456_789, 10.0).energy_j == 0.0
    step = c.update(123_456_789 + 55_000_000, 11.0)
    assert step.energy_j == pytest.approx(55.0) and not step.rebased and step.reason == ""


def test_wrap_at_max_range_is_accepted_at_plausible_power() -> None:
    c = rapl()
    c.update(PKG_RANGE_UJ - 10_000_000, 0.0)  # 10 J before the wrap
    step = c.update(20_000_000, 1.0)  # 20 J after it: 30 J in 1 s = 30 W
    assert step.energy_j == pytest.approx(30.0) and not step.rebased
    assert c.wraps == 1


@pytest.mark.parametrize("glitch", [5, 999999999999999999])
def test_defect_7_glitches_are_refused_not_counted_as_wraps(glitch: int) -> None:
    c = rapl()
    c.update(1_000_000, 0.0)
    c.update(56_000_000, 1.0)  # 55 W
    step = c.update(glitch, 2.0)
    assert step.energy_j is None and not step.rebased
    assert "energy_uj of package-0" in step.reason and "glitch" in step.reason
    if glitch == 5:  # in range, but the wrap it implies would be ~262 kJ in 1 s
        assert "counter glitch" in step.reason and "W" in step.reason
    else:  # outside [0, max_energy_range_uj]
        assert "out of range" in step.reason
    assert c.wraps == 0


@pytest.mark.parametrize("glitch", [5, 999999999999999999])
def test_recovery_continues_exactly_when_the_hardware_kept_counting(glitch: int) -> None:
    c = rapl()
    c.update(1_000_000, 0.0)
    c.update(56_000_000, 1.0)
    assert c.update(glitch, 2.0).energy_j is None
    assert c.update(glitch, 3.0).energy_j is None  # a constant glitch is not a restart
    step = c.update(1_000_000 + 4 * 55_000_000, 4.0)
    assert step.energy_j == pytest.approx(220.0) and not step.rebased  # no energy lost


def test_restarted_counter_is_rebased_without_a_jump() -> None:
    c = rapl()
    c.update(199_945_000_000, 0.0)
    c.update(200_000_000_000, 1.0)  # 55 W, 200 kJ into the range
    # The counter restarts near zero: as a wrap that would be ~62 kJ in 1 s, so it is refused;
    # then it rises at 55 W from there: unknown energy in between, so re-base.
    assert c.update(3_000_000, 2.0).energy_j is None
    step = c.update(58_000_000, 3.0)
    assert step.rebased and step.energy_j == pytest.approx(55.0)  # continues from last good
    after = c.update(113_000_000, 4.0)
    assert after.energy_j == pytest.approx(110.0) and not after.rebased


def test_nvml_decrease_is_a_reset_not_a_wrap() -> None:
    c = nvml()
    c.update(1_000_000_000_000, 0.0)
    assert c.update(1_000_000_005_000, 1.0).energy_j == pytest.approx(5.0)
    step = c.update(2_000, 2.0)
    assert step.energy_j is None and "went back" in step.reason and c.wraps == 0
    rebased = c.update(2_300, 3.0)
    assert rebased.rebased and rebased.energy_j == pytest.approx(5.0)
    assert c.update(3_300, 4.0).energy_j == pytest.approx(6.0)


def test_nvml_glitch_low_then_back_continues_exactly() -> None:
    c = nvml()
    c.update(1_000_000_000_000, 0.0)
    assert c.update(0, 1.0).energy_j is None
    step = c.update(1_000_000_900_000, 2.0)  # 900 J in 2 s: the counter kept counting
    assert step.energy_j == pytest.approx(900.0) and not step.rebased


def test_sixty_four_bit_counter_is_bounded() -> None:
    c = nvml()
    c.update(10, 0.0)
    assert c.update(COUNTER_64_BIT * 2, 1.0).energy_j is None


@pytest.mark.parametrize(
    "raw", [float("nan"), float("inf"), -1, -0.5, "abc", None, True, [1], 10**400]
)
def test_values_that_are_not_counter_values_are_glitches(raw: object) -> None:
    c = rapl()
    c.update(1_000_000, 0.0)
    step = c.update(raw, 1.0)
    assert step.energy_j is None and "glitch" in step.reason
    assert c.update(2_000_000, 2.0).energy_j == pytest.approx(1.0)


def test_a_first_value_that_glitches_waits_for_a_good_one() -> None:
    c = rapl()
    assert c.update(float("nan"), 0.0).energy_j is None
    assert c.update(7_000_000, 1.0).energy_j == 0.0
    assert c.update(8_000_000, 2.0).energy_j == pytest.approx(1.0)


def test_a_counter_step_read_right_after_it_ticks_is_plausible() -> None:
    # NVML advances in ~100 ms steps: 70 J seen between reads 1 ms apart is a step, not 70 kW.
    c = nvml(cap_w=1400.0)
    c.update(1_000_000, 0.0)
    assert c.update(1_070_000, 0.001).energy_j == pytest.approx(70.0)


def test_a_jump_beyond_the_stated_cap_is_refused() -> None:
    cap = stated_cap("cpu", 125.0, RAPL_MAX_POWER_MARGIN, "max power")
    assert cap.max_power_w == 500.0 and "125 W" in cap.source
    c = rapl(cap=cap)
    c.update(0, 0.0)
    # 1.2 kJ in 1 s is more than 500 W x (1 s + the 1 s slack) allows.
    assert c.update(1_200_000_000, 1.0).energy_j is None
    assert c.update(1_300_000_000, 3.0).energy_j == pytest.approx(1300.0)  # 433 W: plausible


def test_caps_fall_back_to_documented_defaults() -> None:
    for stated in (None, 0.0, -3.0, float("nan"), float("inf")):
        cap = stated_cap("gpu", stated, 2.0, "limit")
        assert cap.max_power_w == DEFAULT_MAX_POWER_W["gpu"] and "default" in cap.source
    assert default_cap("unknown-kind").max_power_w > 0
    params = stated_cap("gpu", 700.0, 2.0, "the enforced power limit").params()
    assert params["plausible_max_power_w"] == "1400"
    assert "700 W" in params["plausible_max_power"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "infinite"),
        (-5, "out of range"),
        ("N/A", "not a number"),
        (None, "not a number"),
        (5_000_000, "above"),  # 5 kW in mW through a 1.4 kW cap
    ],
)
def test_power_samples_that_cannot_be_true_are_refused(value: object, why: str) -> None:
    power_w, reason = check_power_w(value, 1e-3, PowerCap(1400.0, "test"), "power of GPU 0")
    assert power_w is None and why in reason and "power of GPU 0" in reason


def test_plausible_power_sample_is_scaled_to_watts() -> None:
    assert check_power_w(187_500, 1e-3, PowerCap(1400.0, "test"), "p") == (187.5, "")


values = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["x", None, "", "12"]),
)


@given(st.lists(st.tuples(values, st.floats(min_value=0.0, max_value=5.0)), max_size=40))
def test_any_sequence_gives_finite_non_decreasing_energy_within_the_cap(
    seq: list[tuple[object, float]],
) -> None:
    c = CounterSanity("c", UJ, 1e9, PowerCap(100.0, "test"))
    t_s, last_j, last_good_t_s = 0.0, 0.0, 0.0
    for raw, dt_s in seq:
        t_s += dt_s
        step = c.update(raw, t_s)
        if step.energy_j is None:
            assert step.reason
            continue
        assert math.isfinite(step.energy_j) and step.energy_j >= last_j
        # Never more than the cap allows since the previous accepted value.
        assert step.energy_j - last_j <= 100.0 * (t_s - last_good_t_s + SLACK_S) + 1e-9
        last_j, last_good_t_s = step.energy_j, t_s
