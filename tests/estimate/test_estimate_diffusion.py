"""Image and video estimates: latent tokens, CFG, attention's quadratic term, boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from wattwise.errors import ConfigError
from wattwise.estimate import context_from_numbers
from wattwise.estimate.diffusion import (
    SD14_UNET_MACS_BATCH2,
    SD14_UNET_PARAMS,
    DiffusionEstimate,
    diffusion_estimate,
)
from wattwise.estimate.inputs import DiffusionInputs, VideoInputs

CTX = context_from_numbers(pue=1.2, intensity_location_g_per_kwh=400, price_per_kwh=0.1)


def _est(**kw: Any) -> DiffusionEstimate:
    base: dict[str, Any] = {"hardware": "H100", "params": 12e9, "steps": 50, "width": 1024,
                               "height": 1024}  # fmt: skip
    base.update(kw)
    cls = VideoInputs if "frames" in kw else DiffusionInputs
    return diffusion_estimate(cls(**base), CTX)


def test_latent_tokens_of_published_shapes() -> None:
    flux = _est()
    assert flux.latent_tokens == 4096  # 1024/8/2 squared
    wan = _est(params=14e9, frames=81, width=832, height=480)
    assert wan.latent_tokens == 21 * 30 * 52
    assert wan.kind == "video"


def test_cfg_doubles_the_denoiser_and_attention_is_quadratic() -> None:
    on, off = _est(), _est(cfg=False)
    assert on.passes == 2 * off.passes
    lin_on = on.flops["denoiser_linear"].value
    assert lin_on == pytest.approx(2 * off.flops["denoiser_linear"].value)
    big = _est(width=2048, height=2048)
    ratio_lin = big.flops["denoiser_linear"].value / lin_on
    ratio_att = big.flops["attention"].value / on.flops["attention"].value
    assert ratio_lin == pytest.approx(4.0)
    assert ratio_att == pytest.approx(16.0)


def test_boundaries_nest_and_json_names_the_unit() -> None:
    est = _est()
    data = est.to_dict()
    w = data["wh_per_image"]
    assert list(w) == ["accelerators", "node", "facility"]
    assert w["accelerators"]["value"] < w["node"]["value"] < w["facility"]["value"]
    for band in w.values():
        assert band["low"] <= band["value"] <= band["high"]
    assert "wh_per_video" in _est(frames=17).to_dict()


def test_unet_rule_reproduces_the_published_sd14_count() -> None:
    """SD v1.4 at 512x512, one step without guidance: the U-Net's published MACs per sample."""
    est = _est(params=SD14_UNET_PARAMS, architecture="unet", steps=1, cfg=False, width=512,
               height=512)  # fmt: skip
    per_pass = est.flops["denoiser_linear"].value
    assert per_pass == pytest.approx(SD14_UNET_MACS_BATCH2, rel=0.01)  # 2 x MACs/2 samples


def test_weights_that_do_not_fit_are_an_error() -> None:
    with pytest.raises(ConfigError, match="cannot hold"):
        _est(params=60e9, hardware="L4")
    with pytest.raises(ConfigError, match="architecture"):
        DiffusionInputs(hardware="H100", params=1e9, steps=1, width=8, height=8,
                        architecture="gan")  # fmt: skip
