"""The validation boundary: configuration raises one line, run-time values never raise."""

from __future__ import annotations

import math

import pytest

from wattwise.errors import ConfigError
from wattwise.validate import check_int, check_number, clean_number


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 10**400, "abc", None, True, object(), -1]
)
def test_run_time_values_refused_without_raising(value: object) -> None:
    c = clean_number(value)
    assert c.value is None and not c.ok and c.reason


def test_run_time_value_accepted_as_finite_float() -> None:
    assert clean_number(3).value == 3.0
    assert clean_number("2.5").value == 2.5
    assert clean_number(0, low=0, low_inclusive=False).value is None


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-5", "x"])
def test_flag_values_fail_with_one_line_naming_the_flag(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^--interval: ") as err:
        check_number(value, "--interval", low=0, low_inclusive=False)
    assert "\n" not in str(err.value)


def test_integer_flags_refuse_fractions_and_huge_values() -> None:
    with pytest.raises(ConfigError, match="whole number"):
        check_int("2.5", "--limit", low=1)
    with pytest.raises(ConfigError, match="out of range"):
        check_int(99999999999999999999, "--limit", low=1, high=10**9)
    assert check_int("7", "--limit", low=1) == 7
