"""The power-setting recommendations: the GPU power cap and the CPU frequency governor.

:func:`power_cap` uses the saving and slowdown that ``wattwise tune`` measured for the audited
command (the document's ``power_profile``, :mod:`wattwise.audit.power`) when there is such a
profile, else the published figure (:data:`wattwise.report.recommend.POWER_CAP_SAVING`). With a
profile the yearly saving is the GPU share of the run's energy times the measured saving, less
the other components' share times the slowdown (their power assumed unchanged over a longer
run). :func:`cpu_governor` turns the CPU frequency advice (:mod:`wattwise.power.cpuadvice`)
into an unquantified recommendation: nothing about the CPU's energy is measured by it.
"""

from __future__ import annotations

from typing import Any

from wattwise.core.documents import AuditFindingsDocument as Doc
from wattwise.report.recommend import (
    POWER_CAP_SAVING,
    POWER_CAP_SOURCE,
    Recommendation,
    _accelerator_share,
    _fraction_rec,
    _num,
)


def _limit(setting: Any) -> str:
    w = _num((setting or {}).get("power_limit_w")) if isinstance(setting, dict) else None
    return "?" if w is None else f"{w:,.0f} W"


def measured_evidence(profile: dict[str, Any]) -> str:
    """Where the measured figures come from, in one sentence."""
    saving = _num(profile.get("energy_saving")) or 0.0
    slowdown = _num(profile.get("slowdown")) or 0.0
    date = str(profile.get("created_at") or "?")[:10]
    return (
        f"measured by wattwise tune on {profile.get('gpu_model')}, {date}: at "
        f"{_limit(profile.get('chosen'))}, {saving:.1%} less GPU energy per "
        f"{profile.get('unit') or 'step'} and {slowdown:.1%} slower than at the default "
        f"{_limit(profile.get('default'))}, measured in the same run"
    )


def _measured_cap(doc: Doc, profile: dict[str, Any]) -> Recommendation | None:
    saving = _num(profile.get("energy_saving"))
    slowdown = _num(profile.get("slowdown")) or 0.0
    if saving is None or saving <= 0:
        return None
    share = _accelerator_share(doc)
    action = (
        f"set the GPUs' power limit to {_limit(profile.get('chosen'))} (`wattwise tune` applies "
        "the saved profile; or nvidia-smi -pl)"
    )
    title = "Cap the GPUs' power limit (measured)"
    cost = f"{slowdown:.1%} more time per {profile.get('unit') or 'step'} (measured)"
    evidence = measured_evidence(profile)
    if share <= 0 or not profile.get("gpu_measured"):
        currency = str((doc.get("scale") or {}).get("currency") or "")
        return Recommendation(
            "power-cap", title, action, None, None, None, currency,
            evidence + "; this audit did not measure the GPU's energy, so no yearly saving is "
            "claimed", cost, "none",
        )  # fmt: skip
    fraction = share * saving - (1.0 - share) * slowdown
    return _fraction_rec(
        doc, "power-cap", title, action, fraction,
        f"{share:.0%} of the run's energy is GPU energy; {evidence}; the other components' "
        "energy is taken to grow with the time", cost, "measured",
    )  # fmt: skip


def power_cap(doc: Doc) -> Recommendation | None:
    """A GPU power cap: measured by ``wattwise tune`` when a profile exists, else published."""
    profile = doc.get("power_profile")
    if isinstance(profile, dict):
        return _measured_cap(doc, profile)
    share = _accelerator_share(doc)
    if share <= 0:
        return None
    return _fraction_rec(
        doc,
        "power-cap",
        "Cap the GPUs' power limit",
        "set a lower GPU power limit (`wattwise tune -- COMMAND` measures the best one; or "
        "nvidia-smi -pl) and check the time cost",
        POWER_CAP_SAVING * share,
        f"{share:.0%} of the run's energy is accelerator energy; {POWER_CAP_SOURCE}",
        "a few per cent longer runs; measure it on your workload before adopting",
        "estimated",
    )


def cpu_governor(doc: Doc) -> Recommendation | None:
    """The CPU frequency advice (informational: no kWh claimed, none is measured)."""
    cf = doc.get("cpufreq")
    advice = cf.get("advice") if isinstance(cf, dict) else None
    if not isinstance(advice, list) or not advice:
        return None
    first = advice[0]
    more = "; ".join(str(a.get("title")) for a in advice[1:])
    summary = "; ".join(str(s) for s in cf.get("summary") or [])
    return Recommendation(
        "cpu-governor", str(first.get("title")), str(first.get("action")), None, None, None,
        str((doc.get("scale") or {}).get("currency") or ""),
        f"this machine: {summary}. {first.get('effect')} ({first.get('source')})"
        + (f"; also: {more}" if more else ""),
        "response time may change a little; no saving is claimed until measured "
        "(`wattwise run` before and after)", "none",
    )  # fmt: skip
