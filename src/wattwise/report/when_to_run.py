"""The audit's "when to run" recommendation: start a training job in its grid's clean hours.

Fires for a ``train`` workload (a job that can wait; serving cannot) whose place (the audit's
context: cloud region, grid or country) has a shipped hourly series
(:mod:`wattwise.data.hourly_regions`). The saving is measured, not assumed: over every day of
the series' reference year, a job as long as the audited run arriving at 00:00, 06:00, 12:00
and 18:00 UTC is planned with :func:`wattwise.schedule.planner.best_start` inside
:data:`FLEX_H` hours of slack **on the history as a forecast** (the same hours one week
earlier) and judged on the actual hours; the median saving against starting at once cuts the
site's intensity. The perfect-knowledge median is given beside it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

from wattwise.core.documents import AuditFindingsDocument as Doc
from wattwise.errors import WattwiseError
from wattwise.report.savings import Effect

#: Slack given to the job: it must finish within a day of the time it would have finished.
FLEX_H = 24
ARRIVALS_H = (0, 6, 12, 18)
LAG_H = 7 * 24


def _place(ctx: Mapping[str, Any]) -> str | None:
    if ctx.get("cloud") and ctx.get("cloud_region"):
        return f"{ctx['cloud']}:{ctx['cloud_region']}"
    for key in ("region", "country"):
        if ctx.get(key):
            return str(ctx[key])
    return None


def typical_saving(values: list[float], job_h: int, flex_h: int = FLEX_H) -> tuple[float, float]:
    """(median saving planned on last week's hours, median with perfect knowledge), 0-1."""
    from wattwise.schedule.planner import best_start, run_at

    forecast, perfect = [], []
    for a in range(LAG_H, len(values) - job_h - flex_h):
        if a % 24 not in ARRIVALS_H:
            continue
        now = sum(values[a : a + job_h]) / job_h
        past = values[a - LAG_H : a - LAG_H + job_h + flex_h]
        start = best_start(past, 0, job_h + flex_h, job_h).start_h
        forecast.append(1 - run_at(values, a + start, job_h).mean_g_per_kwh / now)
        perfect.append(1 - best_start(values, a, a + job_h + flex_h, job_h).mean_g_per_kwh / now)
    return statistics.median(forecast), statistics.median(perfect)


def _reference_values(grid: str) -> tuple[list[float], int]:
    from datetime import datetime, timezone

    from wattwise.data.hourly import hourly_series
    from wattwise.schedule.curve import history_curve, reference_year

    series = hourly_series(grid)
    year = reference_year(series)
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    return list(history_curve(series, start, end).values_g_per_kwh), year


def rule_when_to_run(doc: Doc) -> Any:
    """A :class:`~wattwise.report.recommend.Recommendation` (or None)."""
    from wattwise.data.hourly_regions import hourly_region
    from wattwise.report.recommend import MIN_RELATIVE_SAVING, _effect_rec

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
    try:
        region = hourly_region(place)
        values, year = _reference_values(region.grid)
    except WattwiseError:
        return None
    job_h = max(1, math.ceil(duration_s / 3600 - 1e-9))
    if job_h > 24 * 7:
        return None
    cut, perfect = typical_saving(values, job_h)
    if cut < MIN_RELATIVE_SAVING:
        return None
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
