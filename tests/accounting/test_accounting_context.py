"""Where the accounting context comes from: flags > environment > config files > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattwise.accounting import Context, default_config_paths, read_config, resolve_context
from wattwise.errors import ConfigError, UnknownKeyError


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_pyproject_tool_section_is_read(tmp_path: Path) -> None:
    py = _write(
        tmp_path / "pyproject.toml",
        '[project]\nname="x"\n[tool.wattwise]\ncountry = "DE"\npue = 1.2\n',
    )
    ctx = resolve_context({}, {}, [py])
    assert (ctx.country, ctx.pue) == ("DE", 1.2)
    assert ctx.origin("pue") == str(py)


def test_pyproject_without_section_and_missing_file_are_empty(tmp_path: Path) -> None:
    py = _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert read_config(py) == {}
    assert read_config(tmp_path / "nope.toml") == {}
    assert resolve_context({}, {}, [py, tmp_path / "nope.toml"]) == Context()


def test_precedence_flags_over_env_over_config(tmp_path: Path) -> None:
    _write(tmp_path / "wattwise.toml", 'country = "FR"\npue = 1.3\nprice = 0.2\ncurrency = "EUR"\n')
    _write(tmp_path / "pyproject.toml", "[tool.wattwise]\npue = 1.9\nwue = 0.5\n")
    env = {"WATTWISE_COUNTRY": "SE", "WATTWISE_PUE": "1.15"}
    ctx = resolve_context({"country": "NO", "pue": None}, env, default_config_paths(tmp_path))
    assert ctx.country == "NO"  # flag
    assert ctx.pue == 1.15  # env beats config; a None flag is "not given"
    assert ctx.origin("pue") == "WATTWISE_PUE"
    assert (ctx.price_per_kwh, ctx.currency) == (0.2, "EUR")  # wattwise.toml
    assert ctx.wue_l_per_kwh == 0.5  # the lower-precedence pyproject still fills gaps
    ctx2 = resolve_context({}, {}, default_config_paths(tmp_path))
    assert ctx2.pue == 1.3  # wattwise.toml before pyproject.toml


def test_location_group_is_decided_by_one_layer(tmp_path: Path) -> None:
    # A region in the config file must not combine with a country on the command line.
    ww = _write(tmp_path / "wattwise.toml", 'region = "US-CA"\ncooling = "immersion"\n')
    ctx = resolve_context({"country": "DE", "pue": 1.1}, {}, [ww])
    assert (ctx.country, ctx.region) == ("DE", None)
    assert (ctx.pue, ctx.cooling) == (1.1, None)


def test_cloud_flags_with_dashes_and_env(tmp_path: Path) -> None:
    ctx = resolve_context({"cloud": "GCP", "cloud-region": "europe-west1"}, {}, [])
    assert (ctx.cloud, ctx.cloud_region) == ("gcp", "europe-west1")
    env = {"WATTWISE_CLOUD": "aws", "WATTWISE_CLOUD_REGION": "us-east-1"}
    ctx = resolve_context({}, env, [])
    assert (ctx.cloud, ctx.cloud_region) == ("aws", "us-east-1")


def test_country_alpha3_normalised() -> None:
    assert resolve_context({"country": "fra"}, {}, []).country == "FR"


def test_bad_numbers_name_their_origin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WATTWISE_PUE: pue='fast' is not a number"):
        resolve_context({}, {"WATTWISE_PUE": "fast"}, [])
    ww = _write(tmp_path / "wattwise.toml", "cfe = 80\n")
    with pytest.raises(
        ConfigError, match=r"wattwise.toml: carbon-free fraction 80 must be within 0-1"
    ):
        resolve_context({}, {}, [ww])


def test_unknown_config_key_suggests(tmp_path: Path) -> None:
    ww = _write(tmp_path / "wattwise.toml", 'contry = "FR"\n')
    with pytest.raises(UnknownKeyError, match="country"):
        resolve_context({}, {}, [ww])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"pue": 0.9}, "PUE 0.9 is impossible"),
        ({"cfe": 1.5}, "within 0-1"),
        ({"cfe": -0.1}, "within 0-1"),
        ({"price": -0.1, "currency": "EUR"}, "must not be negative"),
        ({"pue": 1.2, "cooling": "air"}, "not both"),
        ({"cfe": 0.5, "supplier_factor": 20}, "not both"),
        ({"cloud_region": "us-east-1"}, "needs --cloud"),
        ({"country": "FR", "region": "US-CA"}, "US-CA is in US, not in FR"),
        ({"currency": "euro", "price": 0.2}, "ISO 4217"),
    ],
)
def test_bad_input_is_refused_with_one_clear_line(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        resolve_context(flags, {}, [])
    assert "\n" not in str(info.value)


def test_unknown_keys_list_close_matches() -> None:
    with pytest.raises(UnknownKeyError, match="europe-west1"):
        resolve_context({"cloud": "gcp", "cloud_region": "europe-wst1"}, {}, [])
    with pytest.raises(UnknownKeyError, match="immersion"):
        resolve_context({"cooling": "imersion"}, {}, [])
    with pytest.raises(UnknownKeyError, match="azure"):
        resolve_context({"cloud": "azur"}, {}, [])


def test_context_to_dict_round_trip() -> None:
    ctx = resolve_context({"country": "DE", "pue": 1.1, "cfe": 0.5}, {}, [])
    again = Context(**ctx.to_dict())
    assert again == ctx
