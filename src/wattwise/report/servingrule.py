"""The recommendation of an audit of a serving endpoint (``wattwise audit --serve-url``): serve
at the configuration the benchmark measured as the lowest energy per output token that meets
the SLOs without failed requests (:func:`wattwise.bench.summary.recommend`).

It reads ``workload.model.serving`` (:func:`wattwise.audit.serving.serving_summary`). The audit's
yearly figures are already scaled at that configuration, so the action carries no further
saving of its own (``effect`` None); its evidence is the measured J/output token of every
configuration, and its cost the latency there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wattwise.units import format_number as fn

if TYPE_CHECKING:
    from wattwise.core.documents import AuditFindingsDocument as Doc
    from wattwise.report.recommend import Recommendation


def _serving(doc: Doc) -> Mapping[str, Any] | None:
    model = (doc.get("workload") or {}).get("model")
    serving = model.get("serving") if isinstance(model, Mapping) else None
    return serving if isinstance(serving, Mapping) else None


def _mj(x: Any) -> str:
    return f"{fn(x * 1e3)} mJ" if isinstance(x, int | float) else "no figure"


def _n(x: Any) -> str:
    return fn(x) if isinstance(x, int | float) else "-"


def rule_serving_config(doc: Doc) -> Recommendation | None:
    """Serve at the measured recommended configuration, or say that none qualified."""
    from wattwise.report.recommend import Recommendation

    serving = _serving(doc)
    if serving is None:
        return None
    rec = serving.get("recommended") or {}
    configs = [c for c in serving.get("configs", []) if isinstance(c, Mapping)]
    evidence = "measured at " + str(serving.get("url")) + ": " + "; ".join(
        f"{c['name']} {_mj(c.get('j_per_output_token'))}/output token, "
        f"{_n(c.get('j_per_request'))} J/request, {c.get('ok')} ok / {c.get('failed')} failed"
        for c in configs
    )
    slo = rec.get("slo") or {}
    slos = ", ".join(f"{k[:-3].upper()} p95 <= {v:g} ms" for k in ("ttft_ms", "itl_ms")
                     if isinstance(v := slo.get(k), int | float))  # fmt: skip
    if not rec.get("name"):
        rejected = "; ".join(f"{k}: {v}" for k, v in (rec.get("rejected") or {}).items())
        return Recommendation(
            "serving-config", "No measured serving configuration qualified",
            f"no configuration met {slos or 'the SLOs'} without failed requests ({rejected}): "
            "fix the failures or measure other concurrencies before choosing one",
            None, None, None, "", evidence, "none", "measured",
        )  # fmt: skip
    worst = min(
        (c for c in configs if isinstance(c.get("j_per_output_token"), int | float)),
        key=lambda c: -float(c["j_per_output_token"]), default=None,
    )  # the costliest configuration, for the comparison
    rec_j = rec.get("j_per_output_token")
    versus = ""
    if worst and worst["name"] != rec["name"] and isinstance(rec_j, int | float):
        cut = 1.0 - rec_j / float(worst["j_per_output_token"])
        versus = f", {cut:.0%} less energy per output token than {worst['name']}"
    where = (f"concurrency {rec['concurrency']}" if rec.get("concurrency")
             else f"{rec.get('rate_per_s')} requests/s")  # fmt: skip
    return Recommendation(
        "serving-config",
        f"Serve at {where} (measured lowest energy per token)",
        f"run the endpoint at {rec['name']}: {_mj(rec_j)} per output token{versus}"
        + (f", meeting {slos}" if slos else "")
        + "; this audit's yearly figures are scaled at it",
        None, None, None, "", evidence,
        f"latency there: TTFT p95 {_n(rec.get('ttft_ms_p95'))} ms, inter-token p95 "
        f"{_n(rec.get('itl_ms_p95'))} ms",
        "measured",
    )  # fmt: skip
