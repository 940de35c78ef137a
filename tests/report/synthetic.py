"""A synthetic but complete audit document and run, built with the real analysis functions.

No workload runs and no lab trains: the run (devices, windows, samples) is constructed, the
accounting, scaling, regions and what-ifs are the real pure functions, the lab document has the
shape of :meth:`LabResult.to_dict` with figures close to a real audit's (variants whose labels
crowd each other, a wide energy range). Rendering it takes well under a second, so the browser
checks run on every test run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from wattwise.accounting import Context
from wattwise.audit import analysis as an
from wattwise.readers.base import Provenance
from wattwise.report.html import render_report
from wattwise.report.recommend import recommend
from wattwise.tracker.model import ComponentEnergy, RunResult, Sample, WindowResult

DURATION_S = 60.0
#: Long device names, as real readers produce them: the legend must not overlap.
DEVICES = (
    ("gpu0", "gpu", "NVIDIA A100-SXM4-80GB <0> (NVML total energy)", 9000.0),
    ("cpu0", "cpu", "CPU package-0 (RAPL intel-rapl:0, measured)", 2400.0),
    ("dram0", "dram", "DRAM of package-0 (RAPL intel-rapl:0:0)", 300.0),
    ("cpu1", "cpu", "CPU package-1 (RAPL intel-rapl:1, measured)", 2100.0),
)


def _components(scale: float) -> tuple[ComponentEnergy, ...]:
    return tuple(
        ComponentEnergy(d, k, n, j * scale, Provenance.MEASURED, f"{n} counter")
        for d, k, n, j in DEVICES
    )


def synthetic_run() -> RunResult:
    """A 60 s run: 'load' (10 s) then 'generate' (50 s, 400 requests, 25,600 tokens)."""
    samples = tuple(
        Sample(d, t / 2, 40.0 + j / DURATION_S * (1 + 0.3 * math.sin(t / 5)), None)
        for t in range(int(DURATION_S * 2) + 1)
        for d, _, _, j in DEVICES
    )
    windows = (
        WindowResult("load", 0.0, 10.0, _components(1 / 6)),
        WindowResult(
            "generate",
            10.0,
            DURATION_S,
            _components(5 / 6),
            counts={"requests": 400.0, "tokens": 25_600.0},
        ),
    )
    return RunResult(
        run_id="0123456789abcdef0123456789abcdef",
        name="audit:builtin",
        started_at="2026-12-01T10:00:00+00:00",
        duration_s=DURATION_S,
        components=_components(1.0),
        windows=windows,
        counts={"requests": 400.0, "tokens": 25_600.0},
        samples=samples,
        host={"hostname": "synthetic-host"},
    )


def _variant(name: str, techs: list[str], mj: float, ppl: float, **kw: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        "name": name, "techniques": techs, "j_per_token": mj / 1e3,
        "j_per_token_batch": mj / 1e3 * 0.4, "batch": 8, "tokens_per_s": 2210.0,
        "tokens_per_s_batch": 9000.0, "perplexity": ppl, "size_bytes": 4_000_000,
        "optimisation_energy_j": 120.0, "provenance": "measured", "pareto": False,
        "recommended": False, "greedy_equal": None, "greedy_prompts": 0,
    }  # fmt: skip
    v.update(kw)
    return v


def synthetic_lab() -> dict[str, Any]:
    """Variants like a real lab's: two decoding variants close together, one far out (×30)."""
    from wattwise.optimize.lab import pareto_front

    variants = [
        _variant("baseline", ["fp32"], 10.0, 40.00, optimisation_energy_j=0.0),
        _variant("int8-dynamic", ["int8-dynamic"], 19.0, 39.99),
        _variant("prune-structured", ["prune-structured"], 8.0, 46.0),
        _variant("distill", ["distill"], 4.0, 52.0),
        _variant("speculative", ["speculative-ngram"], 6.1, 40.0,
                 greedy_equal=16, greedy_prompts=16),
        _variant("speculative+compiled", ["speculative-ngram", "compiled-static-cache"], 5.9,
                 40.0, greedy_equal=16, greedy_prompts=16),
        _variant("combined", ["prune-structured", "int8-dynamic"], 300.0, 47.0),
    ]  # fmt: skip
    front = pareto_front([(v["j_per_token"], v["perplexity"]) for v in variants])
    for v, on in zip(variants, front, strict=True):
        v["pareto"] = on
    variants[5]["recommended"] = True
    return {
        "model": "builtin:tiny", "baseline": "baseline", "tolerance": 0.02,
        "recommended": "speculative+compiled", "provenance": "measured",
        "energy_source": "synthetic", "run_id": None, "total_energy_j": 900.0,
        "settings": {"budget_s": 3, "rounds": 3, "batch_size": 8},
        "variants": variants, "skipped": [], "comparisons": [], "notes": [],
    }  # fmt: skip


def synthetic_profile() -> dict[str, Any]:
    """A ``wattwise tune`` profile of the synthetic GPU (the shape of wattwise.power.profiles,
    as the audit keeps it): six limits from the A100's 400 W default down to 150 W."""
    rows = [(400.0, 0.100, 30.0), (350.0, 0.1002, 27.1), (300.0, 0.1005, 24.0),
            (250.0, 0.104, 22.6), (200.0, 0.121, 23.4), (150.0, 0.162, 26.9)]  # fmt: skip
    settings = [
        {"power_limit_w": w, "sm_clock_mhz": None, "steps": 40, "time_per_step_s": t,
         "energy_per_step_j": e}
        for w, t, e in rows
    ]  # fmt: skip
    return {
        "gpu_model": "NVIDIA A100-SXM4-80GB", "fingerprint": "0123456789abcdef",
        "created_at": "2026-11-30T09:00:00Z", "unit": "step", "settings": settings,
        "default": settings[0], "chosen": settings[2],
        "selector": "min-energy-within-slowdown:0.02", "energy_saving": 0.2, "slowdown": 0.005,
        "gpu_measured": True,
    }  # fmt: skip


def synthetic_cpufreq() -> dict[str, Any]:
    """The audit's CPU frequency finding for an intel_pstate machine at governor performance."""
    from wattwise.power.cpuadvice import advise
    from wattwise.power.cpufreq import CpuFreqState, Policy, summary_lines

    policies = tuple(
        Policy(f"policy{n}", (n,), "intel_pstate", "performance", ("performance", "powersave"),
               "performance", ("default", "performance", "balance_performance", "power"),
               800_000, 4_700_000, 4_000_000, 800_000, 4_700_000)
        for n in range(8)
    )  # fmt: skip
    state = CpuFreqState("/sys/devices/system/cpu", policies, "active", False)
    return {"available": True, "driver": "intel_pstate", "summary": summary_lines(state),
            "advice": [a.to_dict() for a in advise(state, "serve")]}  # fmt: skip


def synthetic_doc(run: RunResult, ctx: Context) -> dict[str, Any]:
    """The audit document of ``run`` in ``ctx``, as :func:`run_audit` assembles it."""
    from wattwise.cli.footprint import footprint_of

    fp = footprint_of(run, ctx)
    sc = an.scale(run, fp, ctx, 10_000.0)
    lab = synthetic_lab()
    doc: dict[str, Any] = {
        "version": 1,
        "run_id": run.run_id,
        "workload": {"kind": "builtin", "description": "synthetic audit (test)",
                     "exit_code": 0, "batch_size": 1, "model": {"params": 1.2e6}},
        "context": ctx.to_dict(),
        "context_origins": dict(ctx.origins),
        "footprint": fp.to_dict(),
        "run": {"energy_j": run.energy.total_j, "provenance": run.energy.label,
                "components": [{"kind": c.kind, "name": c.name, "energy_j": c.energy_j,
                                "provenance": c.provenance.value} for c in run.components]},
        "phases": an.phases(run),
        "breakdown_j": an.breakdown_j(run, fp.pue),
        "scale": sc,
        "hardware": an.hardware_rows(1.2e6, 16, 64, 10_000.0, ctx),
        "regions": an.regions(run.energy.total_j, run.duration_s, ctx, run.energy.label, fp),
        "whatifs": {"pue": an.pue_whatifs(sc["year"]["it_energy_kwh"], ctx),
                    "power": an.power_whatifs(lab, sc)},
        "lab": lab,
        "utilisation": an.utilisation(run),
        "power_profile": synthetic_profile(),
        "cpufreq": synthetic_cpufreq(),
        "notes": [],
    }  # fmt: skip
    doc["recommendations"] = [r.to_dict() for r in recommend(doc)]
    return doc


def write_synthetic_report(directory: Path, ctx: Context | None = None) -> Path:
    """Render the synthetic audit's report into ``directory``; returns the HTML file."""
    run = synthetic_run()
    html = render_report(synthetic_doc(run, ctx or Context(country="DE")), run)
    out = directory / "synthetic-report.html"
    out.write_text(html, encoding="utf-8")
    return out
