"""What the server keeps about a pushed run besides the run itself: its accounted figures, its
tags, its phases — the rows of :data:`~wattwise.server.schema.server_runs` and its children.

A pushed document is the ledger's run document (:class:`~wattwise.core.documents.RunDocument`,
``wattwise run --json``'s) and may carry ``context`` (the accounting settings it ran under,
:meth:`~wattwise.accounting.context.Context.to_dict`), ``tags`` (a list of strings) and ``model``
(a string). The footprint is accounted here, from the run's energy in that context
(:func:`wattwise.accounting.runs.footprint_of`, as ``runs show`` does): a document's own
``footprint`` is not trusted. A run without a location is accounted on the world-average grid
and its assumptions say so, never a guessed country.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from wattwise.accounting.context import Context, resolve_context
from wattwise.accounting.footprint import Footprint
from wattwise.accounting.runs import footprint_of
from wattwise.core.run import RunResult
from wattwise.errors import ConfigError, LedgerError

RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_TAGS, MAX_TAG_CHARS = 50, 200


@dataclass(frozen=True)
class Extras:
    """The parts of a pushed document beside the run: its context, tags and model."""

    context: Context
    tags: tuple[str, ...]
    model: str | None


def extras_of(doc: Mapping[str, Any]) -> Extras:
    """``context`` / ``tags`` / ``model`` of a pushed document, checked (LedgerError: one line)."""
    raw_ctx = doc.get("context") or {}
    if not isinstance(raw_ctx, dict):
        raise LedgerError("context must be an object of accounting settings")
    try:
        ctx = resolve_context({str(k): v for k, v in raw_ctx.items()}, {}, ())
    except ConfigError as exc:
        raise LedgerError(f"context: {exc}") from exc
    tags = doc.get("tags") or []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise LedgerError(f"tags must be a list of at most {MAX_TAGS} strings")
    clean = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_CHARS:
            raise LedgerError(f"each tag must be a string of 1-{MAX_TAG_CHARS} characters")
        clean.append(tag.strip())
    model = doc.get("model")
    if model is not None and (not isinstance(model, str) or len(model) > MAX_TAG_CHARS):
        raise LedgerError(f"model must be a string of at most {MAX_TAG_CHARS} characters")
    return Extras(ctx, tuple(dict.fromkeys(clean)), model or None)


def hardware_of(result: RunResult) -> str:
    """The accelerators of a run (``2× NVIDIA H100``), else its CPUs, else ``unknown``."""
    for kind in ("gpu", "cpu"):
        names = Counter(c.name for c in result.components if c.kind == kind)
        if names:
            return ", ".join(f"{n}× {name}" if n > 1 else name for name, n in sorted(names.items()))
    return "unknown"


def calendar_of(started_at: str) -> tuple[str, str, str]:
    """(day, ISO week's Monday, month) of a start time, UTC; LedgerError if it is no time."""
    try:
        t = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LedgerError(f"started_at {started_at!r} is not an ISO 8601 time") from exc
    t = (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    day = t.date()
    return day.isoformat(), (day - timedelta(days=day.weekday())).isoformat(), day.isoformat()[:7]


def index_rows(
    result: RunResult, extras: Extras, project_id: int, pushed_at: str
) -> tuple[dict[str, Any], Footprint]:
    """The ``server_runs`` row of ``result`` and the footprint it was accounted with."""
    fp = footprint_of(result, extras.context)
    day, week, month = calendar_of(result.started_at)
    tokens = result.counts.get("tokens")
    row = {
        "run_id": result.run_id,
        "project_id": project_id,
        "name": result.name,
        "started_at": result.started_at,
        "day": day,
        "week": week,
        "month": month,
        "status": result.status,
        "duration_s": result.duration_s,
        "energy_j": result.energy.total_j,
        "energy_provenance": result.energy.label,
        "facility_energy_kwh": fp.facility_energy_kwh,
        "co2e_location_g": fp.co2e_location_g,
        "co2e_market_g": fp.co2e_market_g,
        "cost": fp.cost.value if fp.cost else None,
        "currency": fp.cost.currency if fp.cost else None,
        "water_l": fp.water_l,
        "tokens": tokens if tokens and tokens > 0 else None,
        "model": extras.model,
        "hardware": hardware_of(result),
        "location": fp.location,
        "pushed_at": pushed_at,
    }
    return row, fp


def phase_rows(result: RunResult, project_id: int) -> list[dict[str, Any]]:
    """Energy (J) and time (s) per top-level window name (a phase: train, eval, serve...)."""
    out: dict[str, dict[str, Any]] = {}
    for w in result.windows:
        if w.parent is not None:
            continue
        name = w.name[:MAX_TAG_CHARS]
        row = out.setdefault(
            name, {"run_id": result.run_id, "project_id": project_id, "phase": name,
                   "energy_j": 0.0, "duration_s": 0.0},
        )  # fmt: skip
        row["energy_j"] += w.energy.total_j
        row["duration_s"] += w.duration_s
    return list(out.values())
