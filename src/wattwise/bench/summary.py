"""One configuration's figures (the result document's ``configs[i]``) and the recommendation.

Energy per output token is the steady-state window's energy over the output tokens streamed
inside it (ML.ENERGY's method); energy per request is that times the mean output tokens of the
configuration's successful requests. Rates are per second of the window. Latency percentiles
are over every successful measured request (warm-up excluded). Failed and timed-out requests
are counted and their reasons listed; a configuration with failures is never recommended.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from wattwise.bench.load import LoadResult
from wattwise.bench.stats import latency_summary

#: The latency percentile the SLOs are checked at.
SLO_PERCENTILE = "p95"
#: Distinct error reasons listed per configuration.
MAX_ERROR_KINDS = 5


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, digits)


def _requests(res: LoadResult) -> dict[str, Any]:
    failed = [r for r in res.records if not r.ok]
    kinds = Counter(r.error.split(":")[0] if r.error.startswith("HTTP") else r.error
                    for r in failed)
    return {
        "sent": len(res.records),
        "ok": len(res.records) - len(failed),
        "failed": len(failed),
        "timed_out": sum(1 for r in failed if r.timed_out),
        "errors": dict(kinds.most_common(MAX_ERROR_KINDS)),
        "warmup_sent": len(res.warmup),
        "warmup_failed": sum(1 for r in res.warmup if not r.ok),
    }


def _token_source(res: LoadResult) -> str:
    sources = {r.token_source for r in res.records if r.ok}
    if sources == {"usage"}:
        return "usage (the server's completion_tokens)"
    if sources == {"chunks"}:
        return "chunks (no usage from the server: one token per streamed chunk assumed)"
    return "mixed: usage where the server sent it, else streamed chunks" if sources else "none"


def _energy(window: Any) -> dict[str, Any]:
    """Energy, power and provenance of a tracker window result (None: not measured)."""
    if window is None:
        return {"energy_j": None, "mean_power_w": None, "power_by_device_w": {},
                "energy_provenance": "none", "devices": []}  # fmt: skip
    dur = max(window.duration_s, 1e-9)
    e = window.energy
    return {
        "energy_j": _round(e.total_j),
        "mean_power_w": _round(e.total_j / dur, 3),
        "power_by_device_w": {c.device_id: _round(c.energy_j / dur, 3) for c in window.components},
        "energy_provenance": e.label,
        "devices": [{"device_id": c.device_id, "kind": c.kind, "provenance": c.provenance.value,
                     "source": c.source, "missing_s": _round(c.missing_s, 3)}
                    for c in window.components],
    }


def _by_device(window: Any, tokens: float) -> dict[str, float | None]:
    """J per output token of each device of the window (accelerator apart from host)."""
    if window is None or tokens <= 0:
        return {}
    return {c.device_id: _round(c.energy_j / tokens, 9) for c in window.components}


def config_doc(res: LoadResult, t0_s: float, energy_source: str) -> dict[str, Any]:
    """The document of one configuration; ``t0_s``: the client clock at the run's start."""
    ok = [r for r in res.records if r.ok]
    en = _energy(res.window_energy)
    dur = res.window_end_s - res.window_start_s
    tokens = res.window_tokens
    j_tok = en["energy_j"] / tokens if en["energy_j"] is not None and tokens > 0 else None
    mean_out = sum(r.output_tokens for r in ok) / len(ok) if ok else None
    prompts = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
    if tokens <= 0:
        res.notes.append("no output token streamed inside the window (too short): no energy per "
                         "token; give more --requests or a --duration")  # fmt: skip
    doc: dict[str, Any] = {
        "name": res.spec.name,
        "mode": "closed" if res.spec.concurrency else "open",
        "concurrency": res.spec.concurrency,
        "rate_per_s": res.spec.rate_per_s,
        "requests": _requests(res),
        "window": _window(res, t0_s, dur),
        "window_output_tokens": _round(tokens, 1),
        "window_completed": res.window_completed,
        "j_per_output_token": _round(j_tok, 9),
        "j_per_request": _round(j_tok * mean_out if j_tok is not None and mean_out else None, 6),
        "j_per_output_token_by_device": _by_device(res.window_energy, tokens),
        "output_tokens_per_s": _round(tokens / dur if dur > 0 else None, 3),
        "requests_per_s": _round(res.window_completed / dur if dur > 0 else None, 4),
        "mean_output_tokens": _round(mean_out, 2),
        "mean_prompt_tokens": _round(sum(prompts) / len(prompts) if prompts else None, 2),
        **latency_summary(res.records),
        **{k: en[k] for k in ("energy_j", "mean_power_w", "power_by_device_w")},
        "provenance": {"energy": en["energy_provenance"], "energy_source": energy_source,
                       "tokens": _token_source(res), "devices": en["devices"],
                       "window": _window_note(res.window_kind)},
        "notes": list(res.notes),
    }
    return doc


def _window(res: LoadResult, t0_s: float, dur: float) -> dict[str, Any]:
    """The window's kind, bounds (s since the run started: the tracker window's, where the
    energy was read) and duration (the client's, over which tokens were counted)."""
    w = res.window_energy
    start, end = (w.start_s, w.end_s) if w is not None else (res.window_start_s - t0_s,
                                                             res.window_end_s - t0_s)  # fmt: skip
    return {"kind": res.window_kind, "start_s": _round(start, 3), "end_s": _round(end, 3),
            "duration_s": _round(dur, 3)}  # fmt: skip


def _window_note(kind: str) -> str:
    return {
        "steady": "steady state: first completion to last request sent",
        "span": "no steady state (requests < 2 x concurrency + 1): first request sent to last "
        "completion, warm-up and drain included",
        "tail": "every request was sent before the first completed: first to last completion",
    }.get(kind, kind)


def _meets(c: dict[str, Any], slo_ttft_ms: float | None, slo_itl_ms: float | None) -> str:
    """Empty when ``c`` meets the SLOs, else why not."""
    if c["j_per_output_token"] is None:
        return "no energy per token"
    if c["requests"]["failed"]:
        return f"{c['requests']['failed']} failed request(s)"
    for key, slo in (("ttft_ms", slo_ttft_ms), ("itl_ms", slo_itl_ms)):
        v = c[key].get(SLO_PERCENTILE)
        if slo is not None and (v is None or v > slo):
            return f"{key[:-3].upper()} {SLO_PERCENTILE} {v} ms > {slo:g} ms"
    return ""


def recommend(configs: Sequence[dict[str, Any]], slo_ttft_ms: float | None,
              slo_itl_ms: float | None) -> dict[str, Any]:  # fmt: skip
    """The configuration of lowest J/output token among those without failures that meet the
    SLOs (checked at p95), with why each other one was passed over."""
    reasons = {c["name"]: _meets(c, slo_ttft_ms, slo_itl_ms) for c in configs}
    ok = [c for c in configs if not reasons[c["name"]]]
    slo = {"ttft_ms": slo_ttft_ms, "itl_ms": slo_itl_ms, "percentile": SLO_PERCENTILE}
    rejected = {k: v for k, v in reasons.items() if v}
    if not ok:
        return {"name": None, "slo": slo, "reason": "no configuration meets the SLOs without "
                "failures", "rejected": rejected}  # fmt: skip
    best = min(ok, key=lambda c: c["j_per_output_token"])
    return {"name": best["name"], "concurrency": best["concurrency"],
            "rate_per_s": best["rate_per_s"], "j_per_output_token": best["j_per_output_token"],
            "ttft_ms_p95": best["ttft_ms"]["p95"], "itl_ms_p95": best["itl_ms"]["p95"],
            "slo": slo, "reason": "lowest energy per output token"
            + (" that meets the SLOs" if slo_ttft_ms or slo_itl_ms else "")
            + " without failed requests", "rejected": rejected}  # fmt: skip
