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
from wattwise.ledger.clean import clean_json, clean_result
from wattwise.ledger.ops import Op, apply
from wattwise.ledger.rows import dumps, load_run, loads
from wattwise.ledger.serialize import run_from_dict
from wattwise.server import rollup
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
        # the run's extras as the CLI stores them (set_extra's keys), in one write: it is new
        extra, _refused = clean_json({"context": extras.context.to_dict(),
                                      "footprint": fp.to_dict(), "tags": list(extras.tags),
                                      "model": extras.model})  # fmt: skip
        conn.execute(
            t.runs.update().where(t.runs.c.run_id == result.run_id).values(extra=dumps(extra))
        )
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
        rollup.add(conn, rollup.increments(row, extras.tags, phases))
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
    count: bool = True,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many runs match — -1 when not ``count``ed —, one page of them): newest first, or by
    ``order`` = ``energy_j`` (most energy first)."""
    r = s.server_runs.c
    where = filters.where(project_id)
    total = -1
    if count:
        total = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(s.server_runs).where(*where)
            ).scalar()
            or 0
        )
    key = r.energy_j if order == "energy_j" else r.started_at
    rows = conn.execute(
        sa.select(s.server_runs)
        .where(*where)
        .order_by(key.desc(), r.run_id.desc())  # one direction: the index serves it backwards
        .limit(max(1, min(limit, MAX_LIMIT)))
        .offset(max(0, offset))
    )
    return total, [run_row(x) for x in rows]


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


def _raw(conn: sa.Connection, project_id: int, group: str, filters: Filters) -> list[Any]:
    """The sums of :func:`aggregate` from the runs themselves (any filter)."""
    r = s.server_runs.c
    key, joins = _group_key(group)
    src: Any = s.server_runs
    for table, on in joins:
        src = src.join(table, on)
    share: Any = 1.0
    if group == "phase":  # a phase's share of its run's figures
        ph = s.server_run_phases.c
        share = sa.case((r.energy_j > 0, ph.energy_j / r.energy_j), else_=0.0)
    tokens = sa.func.coalesce(r.tokens, 0.0)
    sums = {
        "runs": sa.func.count(),
        "duration_s": sa.func.sum(s.server_run_phases.c.duration_s if group == "phase"
                                  else r.duration_s),
        **{f: sa.func.sum(r[f] * share) for f in FIGURES},
        "cost": sa.func.sum(sa.func.coalesce(r.cost, 0.0) * share),
        "tokens": sa.func.sum(tokens * share),
        "token_energy_j": sa.func.sum(sa.case((r.tokens > 0, r.energy_j), else_=0.0) * share),
    }  # fmt: skip
    q = (
        sa.select(key.label("key"), r.currency, *(v.label(k) for k, v in sums.items()))
        .select_from(src)
        .where(*filters.where(project_id))
        .group_by(key, r.currency)
    )  # fmt: skip
    return list(conn.execute(q))


def aggregate(
    conn: sa.Connection,
    project_id: int,
    group: str,
    filters: Filters,
    *,
    use_rollup: bool | None = None,
) -> list[dict[str, Any]]:
    """Sums per ``group`` (a period of :data:`PERIODS` or a dimension of :data:`DIMENSIONS`):
    runs, seconds, energy (J), facility kWh, CO2e g (location- and market-based), water L, cost
    per currency, and energy per token (J) over the runs that counted tokens; per phase, each
    figure is the phases' share (their energy over their runs'). Periods in time order,
    dimensions by energy (most first). Read from the per-day rollup when the filters allow
    (``use_rollup`` None: decide; the results are the same), else from the runs."""
    if group not in GROUPS:
        raise LedgerError(f"group must be one of {', '.join(GROUPS)}")
    f = filters
    others = any((f.name, f.tag, f.model, f.hardware, f.phase, f.status))
    if use_rollup is None:
        use_rollup = rollup.usable(f.since, f.until, others)
    found = (rollup.read(conn, project_id, group, f.since, f.until) if use_rollup
             else _raw(conn, project_id, group, f))  # fmt: skip
    merged: dict[Any, dict[str, Any]] = {}
    for row in found:
        key = None if group == "model" and row.key == "" else row.key
        m = merged.setdefault(
            key,
            {"key": key, "runs": 0, "duration_s": 0.0, **dict.fromkeys(FIGURES, 0.0),
             "cost": {}, "tokens": 0.0, "token_energy_j": 0.0},
        )  # fmt: skip
        m["runs"] += round(float(row.runs))
        for name in ("duration_s", *FIGURES, "tokens", "token_energy_j"):
            m[name] += float(getattr(row, name) or 0.0)
        if row.currency:
            m["cost"][row.currency] = m["cost"].get(row.currency, 0.0) + float(row.cost or 0.0)
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
