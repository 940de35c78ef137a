"""Human formatting: SI prefixes, grouped digits, three significant digits, never e-notation."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from wattwise.units import (
    format_duration,
    format_energy,
    format_mass_g,
    format_number,
    format_power,
    format_si,
    kwh_to_j,
)

E_NOTATION = re.compile(r"\de[+-]?\d", re.I)


def test_human_numbers_use_si_prefixes_and_grouped_digits_not_e_notation() -> None:
    assert format_energy(kwh_to_j(1090)) == "1.09 MWh"  # was 1.09e+03 kWh
    assert format_number(2210.4) == "2,210"  # was 2.21e+03 (tokens/s)
    assert format_number(14_425) == "14,425"
    assert format_number(1.95e-6) == "0.00000195"
    assert format_si(0.0052, "J") == "5.2 mJ"
    assert format_power(1500) == "1.5 kW"
    assert format_mass_g(3.2e6) == "3.2 t"
    assert format_duration(1e6) == "278 h"


def test_rounding_up_moves_to_the_next_prefix() -> None:
    assert format_energy(kwh_to_j(999.7)) == "1 MWh"  # not "1e+03 kWh"
    assert format_mass_g(999_999) == "1 t"
    assert format_number(999.6) == "1,000"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_no_formatter_ever_writes_e_notation(x: float) -> None:
    for text in (format_number(x), format_energy(x), format_mass_g(x), format_power(x),
                 format_si(x, "Wh")):  # fmt: skip
        assert not E_NOTATION.search(text), text


@given(st.floats(min_value=1e-6, max_value=1e12))
def test_formatted_number_is_the_value_to_three_significant_digits(x: float) -> None:
    shown = float(format_number(x).replace(",", ""))
    assert math.isclose(shown, x, rel_tol=5e-3)
