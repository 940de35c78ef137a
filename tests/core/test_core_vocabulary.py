"""wattwise.core: one Provenance, one Band, one Assumption, reached by every old import path."""

from __future__ import annotations

import json

import pytest

import wattwise
from wattwise.core import Assumption, Band, Provenance, as_provenance, weakest
from wattwise.core.provenance import PROVENANCE_RANK


def test_given_is_a_provenance_read_as_given_by_you() -> None:
    assert Provenance.GIVEN.value == "given"
    assert Provenance.GIVEN.label == "given by you"
    assert Provenance.MEASURED.label == "measured"
    assert [p.value for p in Provenance] == [
        "measured", "integrated", "estimated", "given", "assumed"
    ]  # fmt: skip


def test_stored_user_spelling_reads_as_given() -> None:
    """Footprints stored before ``given`` existed say ``user``: they must still load."""
    assert Provenance("user") is Provenance.GIVEN
    assert as_provenance("Given") is Provenance.GIVEN
    assert as_provenance(Provenance.ASSUMED) is Provenance.ASSUMED
    with pytest.raises(ValueError):
        Provenance("guessed")


def test_weakest_ranks_given_between_estimated_and_assumed() -> None:
    assert weakest([Provenance.MEASURED, Provenance.GIVEN]) is Provenance.GIVEN
    assert weakest([Provenance.GIVEN, Provenance.ASSUMED]) is Provenance.ASSUMED
    assert weakest([Provenance.ESTIMATED, Provenance.GIVEN]) is Provenance.GIVEN
    assert weakest([]) is None
    assert sorted(PROVENANCE_RANK, key=PROVENANCE_RANK.__getitem__) == list(Provenance)


def test_old_import_paths_reach_the_one_definition() -> None:
    from wattwise.accounting import Assumption as AccountingAssumption
    from wattwise.accounting.footprint import Assumption as FootprintAssumption
    from wattwise.estimate import Band as EstimateBand
    from wattwise.estimate.types import Assumption as EstimateAssumption
    from wattwise.readers.base import PROVENANCE_RANK as READER_RANK
    from wattwise.readers.base import Provenance as ReaderProvenance
    from wattwise.readers.base import weakest as reader_weakest

    assert ReaderProvenance is Provenance and wattwise.Provenance is Provenance
    assert READER_RANK is PROVENANCE_RANK and reader_weakest is weakest
    assert EstimateAssumption is FootprintAssumption is AccountingAssumption is Assumption
    assert EstimateBand is Band


def test_errors_and_units_are_core_definitions() -> None:
    import wattwise.core.errors as core_errors
    import wattwise.core.units as core_units
    import wattwise.errors as errors
    import wattwise.units as units

    for name in ("WattwiseError", "ConfigError", "DataError", "LedgerError", "ReaderError",
                 "ReaderUnavailable", "UnknownKeyError", "UnknownRunError"):  # fmt: skip
        assert getattr(errors, name) is getattr(core_errors, name)
    for name in ("J_PER_KWH", "j_to_kwh", "kwh_to_j", "j_to_wh", "uj_to_j", "mj_to_j"):
        assert getattr(units, name) is getattr(core_units, name)
    assert core_units.kwh_to_j(1.0) == 3.6e6
    assert core_units.SECONDS_PER_YEAR == 365.25 * 86_400
    assert core_units.HOURS_PER_YEAR == 8766.0


def test_assumption_takes_a_stored_spelling_and_round_trips_through_json() -> None:
    a = Assumption("pue", 1.2, "ratio", "user", "--pue")  # type: ignore[arg-type]
    assert a.provenance is Provenance.GIVEN and a.given
    doc = json.loads(json.dumps(a.to_dict()))
    assert doc == {"name": "pue", "value": 1.2, "unit": "ratio", "provenance": "given",
                   "source": "--pue"}  # fmt: skip
    assert Assumption.from_dict(doc) == a
    with pytest.raises(ValueError):
        Assumption("pue", 1.2, "ratio", "guessed", "x")  # type: ignore[arg-type]


def test_band_arithmetic_keeps_its_order() -> None:
    b = Band.of(3.0, 1.0, 2.0)
    assert (b.value, b.low, b.high) == (2.0, 1.0, 3.0)
    assert b.mul(Band.exact(2.0)).add(b).to_dict() == {"value": 6.0, "low": 3.0, "high": 9.0}
    with pytest.raises(ValueError):
        b.scale(-1.0)
