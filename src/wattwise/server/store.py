"""The server's reads and writes of runs, always within one project.

:func:`push_run` stores a pushed run document in the ledger's tables through the ledger's own
write path (:func:`wattwise.ledger.ops.apply`, so a pushed run is stored exactly as a recorded
one) and indexes it (:mod:`.index`), in the caller's transaction. It is idempotent by run id: a
run already pushed to the same project is not stored again; one of another project is refused
(:class:`RunConflict`). Reads (:func:`list_runs`, :func:`aggregate`, :func:`get_run`) filter by
project first: a token never reaches another project's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from wattwise.core.run import RunResult
from wattwise.errors import LedgerError
from wattwise.ledger import schema as t
from wattwise.ledger.clean import clean_result
from wattwise.ledger.ops import Op, apply
from wattwise.ledger.rows import load_run, loads
from wattwise.ledger.serialize import run_from_dict
from wattwise.server import schema as s
from wattwise.server.auth import iso, now
from wattwise.server.index import RUN_ID, extras_of, index_rows, phase_rows

#: Groupings of :func:`aggregate`: calendar periods and dimensions.
PERIODS = ("day", "week", "month")
DIMENSIONS = ("tag", "model", "hardware", "phase", "status", "location")
GROUPS = PERIODS + DIMENSIONS
MAX_LIMIT = 1000
#: The figures summed per group, all in base units of their names.
FIGURES = ("energy_j", "facility_energy_kwh", "co2e_location_g", "co2e_market_g", "water_l")


class RunConflict(LedgerError):
    """The run id is already taken outside this project."""


@dataclass(frozen=True)
class Filters:
    """Which runs: start time range (ISO 8601, inclusive since, exclusive until), a name
    substring, an exact tag / model / phase / status, a hardware substring."""

    since: str | None = None
    until: str | None = None
    name: str | None = None
    tag: str | None = None
    model: str | None = None
    hardware: str | None = None
    phase: str | None = None
    status: str | None = None

    def where(self, project_id: int) -> list[sa.ColumnElement[bool]]:
        r = s.server_runs.c
        out: list[sa.ColumnElement[bool]] = [r.project_id == project_id]
        if self.since:
            out.append(r.started_at >= self.since)
        if self.until:
            out.append(r.started_at < self.until)
        if self.name:
            out.append(r.name.ilike(f"%{_escape(self.name)}%", escape="\\"))
        if self.hardware:
            out.append(r.hardware.ilike(f"%{_escape(self.hardware)}%", escape="\\"))
        if self.model:
            out.append(r.model == self.model)
        if self.status:
            out.append(r.status == self.status)
        if self.tag:
            tg = s.server_run_tags.c
            out.append(
                r.run_id.in_(
                    sa.select(tg.run_id).where(tg.project_id == project_id, tg.tag == self.tag)
                )
            )
        if self.phase:
            ph = s.server_run_phases.c
            out.append(
                r.run_id.in_(
                    sa.select(ph.run_id).where(ph.project_id == project_id, ph.phase == self.phase)
                )
            )
        return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def push_run(conn: sa.Connection, project_id: int, doc: Mapping[str, Any]) -> tuple[bool, str]:
    """Store a pushed run document: (True, run id) when new, (False, run id) when this project
    has it already. Raises LedgerError for a document that is no run, RunConflict for a run id
    of another project."""
    if not isinstance(doc, Mapping):
        raise LedgerError("the body must be a wattwise run document (a JSON object)")
    result = clean_result(run_from_dict(doc))
    if not RUN_ID.match(result.run_id):
        raise LedgerError("run_id must be 1-64 letters, digits, '.', '_' or '-'")
    extras = extras_of(doc)
    owner = _owner(conn, result.run_id)
    if owner is not None:
        if owner == project_id:
            return False, result.run_id
        raise RunConflict(f"run {result.run_id} cannot be stored in this project")
    at = iso(now())
    row, fp = index_rows(result, extras, project_id, at)
    with conn.begin_nested():  # a concurrent push of the same run: IntegrityError, see caller
        apply(conn, Op("finish_run", result.run_id, at, {"result": result}))
        for key, value in (
            ("context", extras.context.to_dict()),
            ("footprint", fp.to_dict()),
            ("tags", list(extras.tags)),
            ("model", extras.model),
        ):
            apply(conn, Op("set_extra", result.run_id, at, {"key": key, "value": value}))
        conn.execute(s.server_runs.insert().values(**row))
        if extras.tags:
            conn.execute(
                s.server_run_tags.insert(),
                [{"run_id": result.run_id, "project_id": project_id, "tag": g}
                 for g in extras.tags],
            )  # fmt: skip
        phases = phase_rows(result, project_id)
        if phases:
            conn.execute(s.server_run_phases.insert(), phases)
    return True, result.run_id


def _owner(conn: sa.Connection, run_id: str) -> int | None:
    """The project holding ``run_id``; -1 for a ledger run no project holds; None: free."""
    found = conn.execute(
        sa.select(s.server_runs.c.project_id).where(s.server_runs.c.run_id == run_id)
    ).first()
    if found is not None:
        return int(found.project_id)
    exists = conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first()
    return -1 if exists is not None else None


def run_row(row: Any) -> dict[str, Any]:
    """A ``server_runs`` row as the API lists it."""
    d = dict(row._mapping)
    d.pop("project_id", None)
    d["energy_per_token_j"] = d["energy_j"] / d["tokens"] if d.get("tokens") else None
    return d


def list_runs(
    conn: sa.Connection,
    project_id: int,
    filters: Filters,
    *,
    limit: int = 100,
    offset: int = 0,
    order: str = "started_at",
) -> tuple[int, list[dict[str, Any]]]:
    """(how many runs match, one page of them): newest first, or by ``order`` = ``energy_j``
    (most energy first)."""
    r = s.server_runs.c
    where = filters.where(project_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(s.server_runs).where(*where))
    key = r.energy_j.desc() if order == "energy_j" else r.started_at.desc()
    rows = conn.execute(
        sa.select(s.server_runs)
        .where(*where)
        .order_by(key, r.run_id)
        .limit(max(1, min(limit, MAX_LIMIT)))
        .offset(max(0, offset))
    )
    return int(total.scalar() or 0), [run_row(x) for x in rows]


def _group_key(group: str) -> tuple[Any, list[Any]]:
    """The column to group by and the joins it needs."""
    r = s.server_runs.c
    if group in PERIODS or group in ("model", "hardware", "status", "location"):
        return r[group], []
    if group == "tag":
        tg = s.server_run_tags
        return tg.c.tag, [(tg, tg.c.run_id == r.run_id)]
    ph = s.server_run_phases
    return ph.c.phase, [(ph, ph.c.run_id == r.run_id)]


def aggregate(
    conn: sa.Connection, project_id: int, group: str, filters: Filters
) -> list[dict[str, Any]]:
    """Sums per ``group`` (a period of :data:`PERIODS` or a dimension of :data:`DIMENSIONS`):
    runs, seconds, energy (J; a phase's own energy for ``phase``), facility kWh, CO2e g
    (location- and market-based), water L, cost per currency, and energy per token (J) over
    the runs that counted tokens. Periods in time order, dimensions by energy (most first)."""
    if group not in GROUPS:
        raise LedgerError(f"group must be one of {', '.join(GROUPS)}")
    r = s.server_runs.c
    key, joins = _group_key(group)
    energy = s.server_run_phases.c.energy_j if group == "phase" else r.energy_j
    src: Any = s.server_runs
    for table, on in joins:
        src = src.join(table, on)
    token_j = sa.case((r.tokens.is_not(None), r.energy_j), else_=0.0)
    q = (
        sa.select(
            key.label("key"),
            r.currency,
            sa.func.count().label("runs"),
            sa.func.sum(r.duration_s).label("duration_s"),
            sa.func.sum(energy).label("energy_j"),
            *(sa.func.sum(r[f]).label(f) for f in FIGURES[1:]),
            sa.func.sum(r.cost).label("cost"),
            sa.func.sum(r.tokens).label("tokens"),
            sa.func.sum(token_j).label("token_energy_j"),
        )
        .select_from(src)
        .where(*filters.where(project_id))
        .group_by(key, r.currency)
    )
    merged: dict[Any, dict[str, Any]] = {}
    for row in conn.execute(q):
        m = merged.setdefault(
            row.key,
            {"key": row.key, "runs": 0, "duration_s": 0.0, **dict.fromkeys(FIGURES, 0.0),
             "cost": {}, "tokens": 0.0, "token_energy_j": 0.0},
        )  # fmt: skip
        m["runs"] += int(row.runs)
        for f in ("duration_s", *FIGURES, "tokens", "token_energy_j"):
            m[f] += float(getattr(row, f) or 0.0)
        if row.currency is not None and row.cost is not None:
            m["cost"][row.currency] = m["cost"].get(row.currency, 0.0) + float(row.cost)
    out = list(merged.values())
    for m in out:
        m["energy_per_token_j"] = m["token_energy_j"] / m["tokens"] if m["tokens"] else None
        del m["token_energy_j"]
    if group in PERIODS:
        return sorted(out, key=lambda m: str(m["key"]))
    return sorted(out, key=lambda m: (-m["energy_j"], str(m["key"])))


def get_run(conn: sa.Connection, project_id: int, run_id: str) -> tuple[RunResult, dict[str, Any]]:
    """The run ``run_id`` of this project (with its timeline) and its stored extras (context,
    footprint, tags, model); LedgerError when this project has no such run."""
    owned = conn.execute(
        sa.select(s.server_runs.c.run_id).where(
            s.server_runs.c.run_id == run_id, s.server_runs.c.project_id == project_id
        )
    ).first()
    row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
    if owned is None or row is None:
        raise LedgerError(f"no run {run_id} in this project")
    result = load_run(conn, row, stale_after_s=float("inf"), with_samples=True, max_points=2000)
    extra = loads(row.extra, {})
    return result, extra if isinstance(extra, dict) else {}
