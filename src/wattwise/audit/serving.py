"""``wattwise audit --serve-url URL``: the audit of a real OpenAI-compatible endpoint.

Instead of the built-in workload, the audit runs the serving benchmark
(:func:`wattwise.bench.serve.bench_serve`: streaming client, closed-loop concurrency sweep,
steady-state window per configuration, the recommendation of the lowest J/output token that
meets the SLOs) against ``URL``. The benchmark's run in the ledger *is* the audited run: its
result document stays under ``extra["bench"]`` (the report draws its serving section from it)
and the audit is stored beside it under ``extra["audit"]``.

The audit's scaling (:func:`serving_scale`) is per request at the *recommended* configuration:
its measured J/request (steady-state window energy / output tokens in the window × mean output
tokens of its successful requests, :mod:`wattwise.bench.summary`) × requests per day, per day
and per year. When no configuration was recommended (every one failed requests or missed an
SLO), the run is scaled per request over the whole benchmark run instead, and the note says so;
when no request succeeded at all, per run (a run is never multiplied by a request rate).

The optimisation lab is skipped: the served model is opaque to it (:data:`LAB_NOTE`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wattwise.core.documents import ScaleBasisDocument, ScaleDocument
from wattwise.errors import ConfigError, LedgerError
from wattwise.units import j_to_kwh

if TYPE_CHECKING:
    from wattwise.accounting import Context
    from wattwise.audit.workload import Measured
    from wattwise.core.run import RunResult

Say = Callable[[str], None]
#: Closed-loop concurrencies measured when ``--concurrency`` is not given (as ``bench serve``).
DEFAULT_CONCURRENCY = (1, 8)
DEFAULT_REQUESTS = 32
LAB_NOTE = (
    "optimisation lab skipped: the audit measured a serving endpoint (--serve-url), whose model "
    "is opaque to the lab; the recommendation is the measured serving configuration; run "
    "`wattwise optimize --model PATH` on the served Hugging Face model for its variants"
)


@dataclass
class ServeAudit:
    """The endpoint to audit and the benchmark's settings (the ``bench serve`` options)."""

    url: str
    model: str = ""
    concurrency: Sequence[int] = DEFAULT_CONCURRENCY
    requests: int = DEFAULT_REQUESTS
    max_tokens: int = 64
    slo_ttft_ms: float | None = None
    slo_itl_ms: float | None = None
    energy_from: str | None = None
    dataset: str | None = None  # JSON Lines prompts; None: the built-in set
    timeout_s: float = 120.0
    notes: list[str] = field(default_factory=list)


def check_endpoint(url: str, timeout_s: float = 5.0) -> list[str]:
    """The model ids ``URL/models`` lists; ConfigError (one line) when it does not answer."""
    from wattwise.bench.launch import list_models

    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"--serve-url {url!r}: give the API's base URL, http://HOST:PORT/v1")
    try:
        return list_models(base, timeout_s)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--serve-url {base}: {base}/models does not answer ({exc})") from None


def measure_serving(
    serve: ServeAudit, db: str | None, say: Say
) -> tuple[Measured, str, dict[str, Any]]:
    """Benchmark the endpoint into the ledger ``db``: (what was measured, the run's id, the
    benchmark's result document). LedgerError when the run was not stored (no partial report)."""
    from wattwise.audit.workload import Measured
    from wattwise.bench.serve import BenchOptions, bench_serve

    models = check_endpoint(serve.url)
    if not serve.model and not models:
        raise ConfigError(f"{serve.url.rstrip('/')}/models lists no model: give --model")
    opts = BenchOptions(
        url=serve.url, model=serve.model or models[0], concurrency=list(serve.concurrency),
        requests=serve.requests, max_tokens=serve.max_tokens, timeout_s=serve.timeout_s,
        energy_from=serve.energy_from, slo_ttft_ms=serve.slo_ttft_ms,
        slo_itl_ms=serve.slo_itl_ms, dataset=serve.dataset, store=True, db=db,
    )  # fmt: skip
    bench = bench_serve(opts, say=lambda m: say(f"  bench: {m}"))
    if not str(bench.get("ledger") or "").startswith("stored"):
        raise LedgerError(f"no report built: the benchmark run is {bench.get('ledger')}")
    rec = recommended_config(bench)
    model: dict[str, Any] = {
        "name": bench["model"],
        "url": bench["url"],
        "prompt_tokens": (rec or {}).get("mean_prompt_tokens") or 16,
        "new_tokens": (rec or {}).get("mean_output_tokens") or serve.max_tokens,
        "serving": serving_summary(bench),
    }
    desc = f"serving endpoint {bench['url']} (model {bench['model']}) under load"
    return Measured(None, "serving", desc, None, model), str(bench["run_id"]), bench


def recommended_config(bench: dict[str, Any]) -> dict[str, Any] | None:
    """The configuration document the benchmark recommended, None when none was."""
    name = (bench.get("recommended") or {}).get("name")
    return next((c for c in bench.get("configs", []) if c.get("name") == name), None)


def serving_summary(bench: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of the benchmark (the full document stays in ``extra["bench"]``)."""
    rec = bench.get("recommended") or {}
    keep = ("name", "concurrency", "rate_per_s", "j_per_output_token", "ttft_ms_p95",
            "itl_ms_p95", "slo", "reason", "rejected")  # fmt: skip
    configs = [
        {"name": c["name"], "concurrency": c.get("concurrency"),
         "j_per_output_token": c.get("j_per_output_token"), "j_per_request": c.get("j_per_request"),
         "output_tokens_per_s": c.get("output_tokens_per_s"),
         "ttft_ms_p95": (c.get("ttft_ms") or {}).get("p95"),
         "itl_ms_p95": (c.get("itl_ms") or {}).get("p95"),
         "failed": c["requests"]["failed"], "ok": c["requests"]["ok"],
         "energy_provenance": c["provenance"]["energy"]}
        for c in bench.get("configs", [])
    ]  # fmt: skip
    return {
        "url": bench["url"],
        "model": bench["model"],
        "recommended": {k: rec.get(k) for k in keep},
        "configs": configs,
        "energy_source": (bench.get("energy") or {}).get("source"),
    }


def serving_scale(
    config: dict[str, Any], url: str, ctx: Context, requests_per_day: float
) -> ScaleDocument | None:
    """The audit's scale from one measured configuration (``configs[i]`` of the benchmark):
    its J/request × ``requests_per_day``, per day and per year (365.25 days), accounted in
    ``ctx``. None when the configuration has no J/request (no energy or no successful request)."""
    from wattwise.audit.analysis import DAYS_PER_YEAR, period, site_doc

    j_req, j_tok = config.get("j_per_request"), config.get("j_per_output_token")
    if not isinstance(j_req, int | float) or not j_req > 0:
        return None
    site = site_doc(ctx)
    price = site["price_per_kwh"]
    common: ScaleBasisDocument = {
        "workload": "serve",
        "workload_basis": f"measured serving endpoint {url}: scaled per request at its "
        f"recommended configuration {config['name']}",
        "provenance": str(config["provenance"]["energy"]),
        "pue": site["pue"]["value"],
        "intensity_g_per_kwh": site["intensity_location_g_per_kwh"]["value"],
        "price_per_kwh": price["value"] if price else None,
        "currency": site["currency"] or "",
        "site": site,
    }
    day_kwh = j_to_kwh(float(j_req) * requests_per_day)
    tokens_j = float(j_tok) if isinstance(j_tok, int | float) else None
    doc: ScaleDocument = {
        "unit": "request",
        "units_per_day": requests_per_day,
        "units_measured": float(config["requests"]["ok"]),
        "basis": f"measured at {config['name']}: steady-state window energy / output tokens "
        f"in it ({j_tok:.4g} J/token) x mean output tokens per request "
        f"({config.get('mean_output_tokens')}) = {j_req:.4g} J/request",
        "it_j_per_unit": float(j_req),
        "it_j_per_token": tokens_j,
        **common,  # type: ignore[typeddict-item]
        "day": period(day_kwh, ctx),
        "year": period(day_kwh * DAYS_PER_YEAR, ctx),
    }
    return doc


def audit_scale(
    bench: dict[str, Any],
    result: RunResult,
    fp: Any,
    ctx: Context,
    requests_per_day: float,
    notes: list[str],
) -> ScaleDocument:
    """The scale at the recommended configuration, else (noted) over the whole run."""
    from wattwise.audit import analysis as an

    rec = recommended_config(bench)
    sc = serving_scale(rec, str(bench["url"]), ctx, requests_per_day) if rec else None
    if sc is not None:
        return sc
    why = (bench.get("recommended") or {}).get("reason") or "no J/request measured"
    if result.counts.get("requests", 0) > 0:
        notes.append(
            f"no recommended serving configuration ({why}): scaled per request over the whole "
            "benchmark run (warm-ups and drains included) instead of at one configuration"
        )
        return an.scale(result, fp, ctx, requests_per_day, "serve")
    notes.append(
        f"no recommended serving configuration ({why}) and no request succeeded: no energy per "
        "request was measured, so the run is not multiplied by a request rate (scaled per run)"
    )
    sc = an.scale(result, fp, ctx, requests_per_day, None)  # per run: counted no requests
    sc["workload_basis"] = "no request to the endpoint succeeded: scaled per benchmark run"
    return sc
