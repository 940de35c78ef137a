"""The estimator's figure beside each measured configuration: ``wattwise estimate infer`` for
the same model size (``--params``) and accelerator (``--hardware``), at the configuration's
batch (its concurrency; for an open loop, the mean number of requests in flight, arrival rate x
mean end-to-end time, Little's law) and its measured mean prompt and output lengths.

Per 1,000 output tokens the estimator gives Wh for the accelerators and for the node (adding
the host's share); both are given here in J per output token, as bands, labelled ``estimated``.
"""

from __future__ import annotations

import math
from typing import Any

from wattwise.errors import ConfigError

WH_TO_J = 3600.0


def _batch(c: dict[str, Any]) -> int:
    if c.get("concurrency"):
        return int(c["concurrency"])
    e2e_ms = c["e2e_ms"].get("mean")
    rate = c.get("rate_per_s") or 0.0
    return max(1, round(rate * e2e_ms / 1e3)) if e2e_ms else 1


def estimate_beside(c: dict[str, Any], params: float, hardware: str,
                    chips: int | None = None) -> dict[str, Any] | None:  # fmt: skip
    """The estimate for configuration document ``c`` (None when it has no successful request)."""
    from wattwise.estimate.inference import estimate_inference

    out_tokens = c.get("mean_output_tokens")
    if not out_tokens:
        return None
    batch = _batch(c)
    try:
        est = estimate_inference(hardware=hardware, params=params, chips=chips,
                                 input_tokens=c.get("mean_prompt_tokens") or 0.0,
                                 output_tokens=out_tokens, batch_size=batch)  # fmt: skip
    except (ConfigError, ValueError, KeyError) as exc:
        raise ConfigError(f"--hardware {hardware} / --params: {exc}") from None
    per_1k = est.wh_per_1k_output_tokens or {}

    def j(part: str) -> dict[str, float]:
        b = per_1k[part]
        return {k: round(getattr(b, k) * WH_TO_J / 1000.0, 9) for k in ("value", "low", "high")}

    measured = c.get("j_per_output_token")
    node = j("node")
    ratio = measured / node["value"] if measured and node["value"] > 0 else None
    return {"hardware": est.hardware, "chips": est.chips, "params": params, "batch_size": batch,
            "j_per_output_token_accelerators": j("accelerators"), "j_per_output_token_node": node,
            "measured_over_estimate": None if ratio is None or not math.isfinite(ratio)
            else round(ratio, 3), "provenance": "estimated (wattwise estimate infer)"}  # fmt: skip
