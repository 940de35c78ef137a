"""A footprint badges what the user set as ``given`` (read "given by you"), table figures as
``estimated`` and defaults as ``assumed``; the energy keeps its own provenance."""

from __future__ import annotations

import json

from wattwise.accounting import Context, account
from wattwise.core import Provenance

KWH_J = 3.6e6


def test_every_value_the_user_sets_is_given() -> None:
    ctx = Context(pue=1.2, intensity_g_per_kwh=100.0, cfe=0.5, price_per_kwh=0.2, currency="EUR",
                  wue_l_per_kwh=0.5, embodied_lifetime_years=5.0,
                  origins={"pue": "--pue"})  # fmt: skip
    fp = account(KWH_J, "measured", 3600.0, ctx, devices=[("gpu", "H100", 1)])
    for name in ("pue", "grid_intensity", "cfe", "price", "wue", "embodied_lifetime"):
        assert fp.assumption(name).provenance is Provenance.GIVEN, name
    assert {a.name for a in fp.given} >= {"pue", "grid_intensity", "price"}
    assert fp.assumption("pue").source == "--pue"
    doc = json.loads(json.dumps(fp.to_dict()))
    assert {a["provenance"] for a in doc["assumptions"] if a["name"] == "pue"} == {"given"}


def test_supplier_factor_given_by_the_user_is_given() -> None:
    fp = account(KWH_J, "measured", 3600.0, Context(country="DE", supplier_factor_g_per_kwh=50.0))
    assert fp.assumption("market_factor").provenance is Provenance.GIVEN
    assert fp.assumption("grid_intensity").provenance is Provenance.ESTIMATED  # the table's


def test_defaults_are_assumed_and_never_given() -> None:
    fp = account(KWH_J, "measured", 3600.0, Context(), devices=[("gpu", "H100", 1)])
    assert not fp.given
    for name in ("pue", "grid_intensity", "cfe", "wue", "embodied_lifetime"):
        assert fp.assumption(name).provenance is Provenance.ASSUMED, name


def test_energy_assumption_takes_the_weakest_kind_of_a_mixed_total() -> None:
    fp = account(KWH_J, "mixed: measured + estimated", 3600.0, Context())
    energy = fp.assumption("it_energy")
    assert energy.provenance is Provenance.ESTIMATED
    assert "mixed: measured + estimated" in energy.source
    assert fp.energy_provenance == "mixed: measured + estimated"
    assert account(KWH_J, "integrated", 1.0, Context()).assumption("it_energy").provenance == (
        Provenance.INTEGRATED
    )
