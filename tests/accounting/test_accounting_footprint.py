"""Footprints computed by hand for a few places; every figure names its inputs."""

from __future__ import annotations

import json

import pytest

from wattwise.accounting import (
    Context,
    Device,
    account,
    compare_regions,
    embodied_share_g,
    resolve_context,
    sci,
)
from wattwise.data import lookup
from wattwise.errors import ConfigError

KWH = 3.6e6  # joules per kWh
HOUR = 3600.0
YEAR_S = 365.25 * 24 * 3600


def test_no_location_assumes_world_average_in_the_output() -> None:
    fp = account(10 * KWH, "measured", HOUR, Context())
    grid = fp.assumption("grid_intensity")
    assert grid.provenance == "assumed"
    assert "world average assumed" in grid.source
    assert "assumed" in fp.location
    assert fp.intensity_g_per_kwh == 473.007  # OWID/Ember world 2024, the latest year
    assert account(KWH, "measured", HOUR, Context(year=2023)).intensity_g_per_kwh == 481
    assert fp.pue == lookup.industry_pue().pue  # industry PUE, also assumed
    assert fp.assumption("pue").provenance == "assumed"
    d = fp.to_dict()
    assert any(
        a["name"] == "grid_intensity" and a["provenance"] == "assumed" for a in d["assumptions"]
    )


def test_golden_france_by_hand() -> None:
    ctx = resolve_context({"country": "FR", "pue": 1.1, "price": 0.15, "currency": "EUR"}, {}, [])
    fp = account(10 * KWH, "measured", HOUR, ctx)
    # 10 kWh IT x 1.1 = 11 kWh; OWID/Ember France 2024 (the latest year) = 44.179 g/kWh.
    assert fp.facility_energy_kwh == pytest.approx(11.0)
    assert fp.co2e_location_g == pytest.approx(11.0 * 44.179)
    assert fp.co2e_market_g == pytest.approx(fp.co2e_location_g)  # no instrument: stated
    assert fp.assumption("cfe").provenance == "assumed"
    assert fp.cost is not None and fp.cost.currency == "EUR"
    assert fp.cost.value == pytest.approx(11.0 * 0.15)
    assert fp.water_l == pytest.approx(10 * 1.8)  # WUE is per IT kWh, industry 1.8 assumed
    assert fp.assumption("pue").provenance == "given"
    assert fp.assumption("pue").source == "--pue"


def test_golden_gcp_region_location_vs_market() -> None:
    ctx = resolve_context({"cloud": "gcp", "cloud_region": "europe-west1", "year": 2024}, {}, [])
    fp = account(10 * KWH, "integrated", HOUR, ctx)
    # GCP PUE preset 1.1; Google 2024 Belgium 103.37 g/kWh, CFE 0.84.
    assert fp.facility_energy_kwh == pytest.approx(11.0)
    assert fp.co2e_location_g == pytest.approx(11.0 * 103.37)
    assert fp.co2e_market_g == pytest.approx(11.0 * 103.37 * (1 - 0.84))
    cfe = fp.assumption("cfe")
    assert (cfe.value, cfe.provenance) == (0.84, "estimated")
    assert "2024" in fp.assumption("grid_intensity").source
    # Belgium has no Eurostat figure of its own: the EU average, in EUR, assumed and said so.
    price = fp.assumption("price")
    assert fp.cost is not None and fp.cost.currency == "EUR"
    assert price.provenance == "assumed" and price.unit == "EUR/kWh"
    assert "gcp:europe-west1 is in BE" in price.source and "EU average" in price.source
    assert fp.cost.value == pytest.approx(11.0 * float(price.value))


def test_gcp_default_is_the_latest_published_year_with_its_year_shown() -> None:
    ctx = resolve_context({"cloud": "gcp", "cloud_region": "europe-west1"}, {}, [])
    fp = account(KWH, "measured", HOUR, ctx)
    assert fp.co2e_location_g == pytest.approx(1.1 * 126.43)  # Google 2025, PUE preset 1.1
    assert "2025" in fp.assumption("grid_intensity").source


def test_gcp_year_2020_is_lifecycle_and_says_so() -> None:
    ctx = resolve_context({"cloud": "gcp", "cloud_region": "europe-west1", "year": 2020}, {}, [])
    src = account(KWH, "measured", HOUR, ctx).assumption("grid_intensity").source
    assert "2020; lifecycle" in src


def test_golden_us_state_and_cost_from_eia() -> None:
    ctx = resolve_context({"region": "US-CA", "pue": 1.2}, {}, [])
    fp = account(100 * KWH, "measured", HOUR, ctx)
    ca = lookup.region_factor("US-CA").intensity_g_per_kwh
    assert fp.co2e_location_g == pytest.approx(120 * ca)
    assert fp.cost is not None
    assert fp.cost.currency == "USD"
    assert fp.cost.value == pytest.approx(120 * 0.1753)  # EIA 2020 commercial 17.53 c/kWh


def test_market_based_supplier_factor_and_cfe() -> None:
    base = {"country": "DE", "pue": 1.0}
    loc = account(KWH, "measured", HOUR, resolve_context(base, {}, []))
    sup = account(KWH, "measured", HOUR, resolve_context({**base, "supplier_factor": 30}, {}, []))
    cfe = account(KWH, "measured", HOUR, resolve_context({**base, "cfe": 0.75}, {}, []))
    assert sup.co2e_location_g == loc.co2e_location_g == pytest.approx(344.14)  # Germany 2024
    assert sup.co2e_market_g == pytest.approx(30.0)
    assert cfe.co2e_market_g == pytest.approx(344.14 * 0.25)
    assert sup.assumption("market_factor").provenance == "given"


def test_user_intensity_overrides_tables() -> None:
    fp = account(KWH, "measured", HOUR, Context(intensity_g_per_kwh=100.0, pue=1.0))
    assert fp.co2e_location_g == pytest.approx(100.0)
    assert fp.assumption("grid_intensity").provenance == "given"


def test_cooling_and_provider_pue_presets() -> None:
    imm = account(KWH, "measured", HOUR, Context(cooling="immersion"))
    aws = account(KWH, "measured", HOUR, Context(cloud="aws", cloud_region="us-east-1"))
    assert imm.pue == lookup.cooling_preset("immersion").pue
    assert "range 1.02-1.05" in imm.assumption("pue").source
    assert aws.pue == 1.135
    assert aws.water_l == pytest.approx(0.18)  # AWS site WUE, per IT kWh
    assert aws.assumption("wue").provenance == "estimated"


def test_embodied_share_and_boundary_stated() -> None:
    devices = [Device("gpu", "NVIDIA H100 80GB HBM3", 8)]
    fp = account(KWH, "measured", HOUR, Context(pue=1.0), devices)
    # 8 x 150 kg x (1 h / 4 years)
    assert fp.embodied_co2e_g == pytest.approx(8 * 150_000 * HOUR / (4 * YEAR_S))
    a = fp.assumption("embodied:gpu:NVIDIA H100 80GB HBM3")
    assert "boundary card" in a.source and a.value == 150
    die = account(KWH, "measured", HOUR, Context(pue=1.0, embodied_boundary="die"), devices)
    assert die.embodied_co2e_g == pytest.approx(8 * 14_652 * HOUR / (4 * YEAR_S))
    assert "boundary die" in die.assumption("embodied:gpu:NVIDIA H100 80GB HBM3").source
    unknown = account(KWH, "measured", HOUR, Context(), [("cpu", "Xeon", 2)])
    assert unknown.assumption("embodied:cpu:Xeon").value == "not counted"
    assert unknown.embodied_co2e_g == 0.0


def test_sci_formula_worked_example() -> None:
    # Docs example: 10 kWh IT, PUE 1.2, I = 400 g/kWh, 8 GPUs (card, 150 kg) for 1 h over
    # 4 years, 1e6 tokens. E = 12 kWh; E x I = 4,800 g; M = 8 x 150,000 x 3600 / 126,230,400 s.
    m_g = 8 * 150_000 * 3600 / 126_230_400
    assert embodied_share_g(150, 3600, 4, 8) == pytest.approx(m_g)
    ctx = Context(pue=1.2, intensity_g_per_kwh=400.0)
    fp = account(10 * KWH, "measured", HOUR, ctx, [("gpu", "H100", 8)], {"token": 1e6})
    assert fp.sci_g_per_unit["token"] == pytest.approx((4800 + m_g) / 1e6)
    assert sci(12, 400, m_g, 1e6) == fp.sci_g_per_unit["token"]
    # SCI uses location-based I even when the market-based figure is lower.
    green = account(
        10 * KWH, "measured", HOUR, Context(pue=1.2, intensity_g_per_kwh=400.0, cfe=1.0)
    )
    assert green.co2e_market_g == 0 and green.sci_g_per_unit["run"] == pytest.approx(4800)
    with pytest.raises(ConfigError):
        sci(1, 1, 0, 0)


def test_reaccounting_a_stored_energy_under_other_assumptions() -> None:
    stored_energy_j, duration_s = 5 * KWH, 2 * HOUR
    first = account(stored_energy_j, "measured", duration_s, Context())
    again = account(
        stored_energy_j,
        "measured",
        duration_s,
        resolve_context({"country": "DE", "pue": 1.1}, {}, []),
    )
    assert first.energy_j == again.energy_j
    assert again.co2e_location_g == pytest.approx(5 * 1.1 * 344.14)
    assert again.co2e_location_g != first.co2e_location_g


def test_footprint_json_fields() -> None:
    fp = account(KWH, "estimated", HOUR, Context(price_per_kwh=0.1))
    d = json.loads(json.dumps(fp.to_dict()))
    for key in ("facility_energy_kwh", "co2e_location_g", "co2e_market_g", "water_l", "cost",
                "embodied_co2e_g", "assumptions"):  # fmt: skip
        assert key in d
    assert d["cost"] == {"value": pytest.approx(fp.facility_energy_kwh * 0.1), "currency": "USD"}
    assert "USD assumed" in fp.assumption("price").source
    assert {a["provenance"] for a in d["assumptions"]} <= {
        "measured", "integrated", "estimated", "given", "assumed"
    }  # fmt: skip
    assert d["assumptions"][0]["provenance"] == "estimated"  # the energy's own provenance


def test_eu_country_without_figure_uses_eu_average_stated() -> None:
    fp = account(KWH, "measured", HOUR, Context(country="DE"))
    price = fp.assumption("price")
    assert price.provenance == "assumed" and "EU average" in price.source
    assert fp.cost is not None and fp.cost.currency == "EUR"


def test_negative_energy_refused() -> None:
    with pytest.raises(ConfigError):
        account(-1.0, "measured", HOUR, Context())


def test_compare_regions_sorted_and_consistent() -> None:
    keys = ["US-CA", "FR", "aws:us-east-1", "gcp:europe-west1", "PL", "SE3"]
    rows = compare_regions(10 * KWH, HOUR, Context(), keys)
    assert [r.co2e_location_g for r in rows] == sorted(r.co2e_location_g for r in rows)
    by_key = {r.key: r for r in rows}
    assert set(by_key) == {"US-CA", "FR", "aws:us-east-1", "gcp:europe-west1", "PL", "SE3"}
    assert by_key["aws:us-east-1"].pue == 1.135  # provider PUE for cloud rows
    assert by_key["FR"].pue == lookup.industry_pue().pue
    assert by_key["gcp:europe-west1"].co2e_market_g < by_key["gcp:europe-west1"].co2e_location_g
    assert by_key["FR"].co2e_location_g < by_key["PL"].co2e_location_g
    fixed = compare_regions(10 * KWH, HOUR, Context(pue=1.2), ["aws:us-east-1"])
    assert fixed[0].pue == 1.2  # a user PUE is kept


def test_compare_regions_default_covers_everything() -> None:
    rows = compare_regions(KWH, HOUR, Context())
    kinds = {r.kind for r in rows}
    assert kinds == {"country", "subnational", "cloud"}
    assert len(rows) > 300
    with pytest.raises(Exception, match="closest"):
        compare_regions(KWH, HOUR, Context(), ["aws:us-east-9"])
