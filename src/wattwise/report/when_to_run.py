"""The audit's "when to run" recommendation: start a training job in its grid's clean hours.

Fires for a ``train`` workload (a job that can wait; serving cannot) whose place (the audit's
context: cloud region, grid or country) has a shipped hourly series
(:mod:`wattwise.data.hourly_regions`). The saving is measured, not assumed: the backtest of
:func:`wattwise.schedule.skill.history_skill` over the series' reference year, for a job as
long as the audited run with :data:`FLEX_H` hours of slack, planned **on the history as a
forecast** (the same hours one week earlier) and judged on the actual hours; its median saving
against starting at once cuts the site's intensity. The perfect-knowledge median is beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wattwise.core.documents import AuditFindingsDocument as Doc
from wattwise.errors import WattwiseError
from wattwise.report.savings import Effect

#: Slack given to the job: it must finish within a day of the time it would have finished.
FLEX_H = 24


def _place(ctx: Mapping[str, Any]) -> str | None:
    if ctx.get("cloud") and ctx.get("cloud_region"):
        return f"{ctx['cloud']}:{ctx['cloud_region']}"
    for key in ("region", "country"):
        if ctx.get(key):
            return str(ctx[key])
    return None


def rule_when_to_run(doc: Doc) -> Any:
    """A :class:`~wattwise.report.recommend.Recommendation` (or None)."""
    from wattwise.data.hourly_regions import hourly_region
    from wattwise.report.recommend import MIN_RELATIVE_SAVING, _effect_rec
    from wattwise.schedule.skill import history_skill

    scale = doc.get("scale") or {}
    run = doc.get("run") or {}
    duration_s = run.get("duration_s")
    intensity = scale.get("intensity_g_per_kwh")
    if scale.get("workload") != "train" or not isinstance(duration_s, int | float):
        return None
    if not isinstance(intensity, int | float) or not intensity > 0:
        return None
    place = _place(doc.get("context") or {})
    if place is None:
        return None
    job_h = max(1, math.ceil(duration_s / 3600 - 1e-9))
    if job_h > 24 * 7:
        return None
    try:
        region = hourly_region(place)
        skill = history_skill(region.grid, job_h, FLEX_H)
    except WattwiseError:
        return None
    if skill is None or skill.forecast_median < MIN_RELATIVE_SAVING:
        return None
    cut, perfect, year = skill.forecast_median, skill.perfect_median, skill.year
    return _effect_rec(
        doc,
        "when-to-run",
        f"Start each run in {region.grid}'s low-carbon hours",
        f"plan each {job_h} h run with 'wattwise run --deadline T --duration {job_h}h "
        f"--grid {region.region}' (or 'wattwise schedule'), allowing up to {FLEX_H} h of delay",
        Effect(intensity_g_per_kwh=float(intensity) * (1 - cut)),
        f"median saving {100 * cut:.1f} % over every day of {year} in {region.grid} "
        f"(planned on the previous week's hours, judged on the actual ones; "
        f"{100 * perfect:.1f} % with perfect knowledge), {region.place}",
        f"each run starts up to {FLEX_H} h later; not for serving (users wait)",
        "estimated",
    )
