"""Rows <-> result types, and the queries that load and store a whole run (no public API).

JSON columns are compact JSON text; timestamps ISO 8601 UTC text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from wattwise.core.run import (
    ComponentEnergy,
    Gap,
    RunResult,
    Sample,
    WindowResult,
)
from wattwise.errors import LedgerError
from wattwise.ledger import schema as t
from wattwise.ledger.derive import components_from_totals, derive_components
from wattwise.ledger.liveness import recorder_alive
from wattwise.ledger.totals import load_totals
from wattwise.readers.base import DeviceInfo, Provenance


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"value cannot be stored as JSON: {exc}") from exc


def loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def component_row(run_id: str, seq: int | None, c: ComponentEnergy) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "window_seq": seq,
        "device_id": c.device_id,
        "kind": c.kind,
        "name": c.name,
        "energy_j": c.energy_j,
        "provenance": c.provenance.value,
        "source": c.source,
        "params": dumps(dict(c.params)),
        "missing_s": c.missing_s,
        "note": c.note,
    }


def component(row: sa.Row[Any]) -> ComponentEnergy:
    return ComponentEnergy(
        device_id=row.device_id,
        kind=row.kind,
        name=row.name,
        energy_j=float(row.energy_j),
        provenance=Provenance(row.provenance),
        source=row.source,
        params=str_map(loads(row.params, {})),
        missing_s=float(row.missing_s or 0.0),
        note=row.note or "",
    )


def insert_devices(conn: sa.Connection, run_id: str, devices: Sequence[DeviceInfo]) -> None:
    if devices:
        conn.execute(
            t.devices.insert(),
            [
                {
                    "run_id": run_id,
                    "device_id": d.device_id,
                    "kind": d.kind,
                    "name": d.name,
                    "provenance": d.provenance.value,
                    "source": d.source,
                    "params": dumps(dict(d.params)),
                }
                for d in devices
            ],
        )


def insert_result_rows(conn: sa.Connection, result: RunResult) -> None:
    rid = result.run_id
    known = set(
        conn.execute(sa.select(t.devices.c.device_id).where(t.devices.c.run_id == rid)).scalars()
    )
    new_devices: dict[str, DeviceInfo] = {}
    for c in result.components:
        if c.device_id not in known:
            new_devices[c.device_id] = DeviceInfo(
                c.device_id, c.kind, c.name, c.provenance, c.source, c.params
            )
    insert_devices(conn, rid, list(new_devices.values()))
    comp_rows = [component_row(rid, None, c) for c in result.components]
    count_rows = [
        {"run_id": rid, "window_seq": None, "unit": u, "count": n} for u, n in result.counts.items()
    ]
    window_rows = []
    for seq, w in enumerate(result.windows):
        window_rows.append(
            {
                "run_id": rid,
                "seq": seq,
                "name": w.name,
                "parent": w.parent,
                "start_s": w.start_s,
                "end_s": w.end_s,
            }
        )
        comp_rows += [component_row(rid, seq, c) for c in w.components]
        count_rows += [
            {"run_id": rid, "window_seq": seq, "unit": u, "count": n} for u, n in w.counts.items()
        ]
    tables = ((t.windows, window_rows), (t.components, comp_rows), (t.counts, count_rows))
    for table, rows in tables:
        if rows:
            conn.execute(table.insert(), rows)
    if result.samples:
        conn.execute(
            t.samples.insert(),
            [
                {
                    "run_id": rid,
                    "device_id": s.device_id,
                    "t_s": s.t_s,
                    "power_w": s.power_w,
                    "energy_j": s.energy_j,
                }
                for s in result.samples
            ],
        )
    if result.gaps:
        conn.execute(
            t.gaps.insert(),
            [
                {
                    "run_id": rid,
                    "device_id": g.device_id,
                    "start_s": g.start_s,
                    "end_s": g.end_s,
                    "error": g.error,
                }
                for g in result.gaps
            ],
        )


def effective_status(row: Any, stale_after_s: float) -> tuple[str, str]:
    """(status, why) — a ``running`` row whose recorder is gone or silent is interrupted."""
    if row.status != "running":
        return str(row.status), ""
    if recorder_alive(row.pid, row.pid_host, row.pid_create_time_s) is False:
        return "interrupted", f"recording process {row.pid} is gone"
    beat = parse_time(row.updated_at)
    silent_s = (now_utc() - beat).total_seconds() if beat else float("inf")
    if silent_s > stale_after_s:
        return "interrupted", f"no heartbeat for {silent_s:.0f} s"
    return "running", "run still recording"


def duration_s_of(conn: sa.Connection, row: Any, status: str, *, totals: bool = True) -> float:
    """Stored duration, or for an unfinished run the time covered by its samples/heartbeat.

    ``totals``: the ledger has ``run_totals`` (schema version 2), whose last sample times are
    used instead of scanning the samples."""
    if row.duration_s is not None and row.status != "running":
        return float(row.duration_s)
    started = parse_time(row.started_at)
    if status == "running":
        return max(0.0, (now_utc() - started).total_seconds()) if started else 0.0
    last_t = None
    if totals:
        last_t = conn.execute(
            sa.select(sa.func.max(t.run_totals.c.last_t_s)).where(
                t.run_totals.c.run_id == row.run_id
            )
        ).scalar()
    if last_t is None:
        last_t = conn.execute(
            sa.select(sa.func.max(t.samples.c.t_s)).where(t.samples.c.run_id == row.run_id)
        ).scalar()
    beat = parse_time(row.updated_at)
    by_beat = (beat - started).total_seconds() if beat and started else 0.0
    return max(float(last_t or 0.0), by_beat, 0.0)


#: Most timeline samples per device that ``runs show`` / ``get_run`` load (an even selection).
MAX_TIMELINE_POINTS = 4096


def _all_samples(rid: str) -> sa.Select[Any]:
    return sa.select(t.samples).where(t.samples.c.run_id == rid).order_by(t.samples.c.id)


def _timeline(rid: str, max_points: int) -> sa.Select[Any]:
    """Every k-th sample of each device of run ``rid`` (k = ceil(n / max_points)), plus each
    device's last sample: at most ``max_points + 1`` per device, chosen in the database. The
    samples kept carry their exact stored values (cumulative energy included)."""
    s = t.samples.c
    rn = sa.func.row_number().over(partition_by=s.device_id, order_by=s.id).label("rn")
    cnt = sa.func.count().over(partition_by=s.device_id).label("cnt")
    inner = (
        sa.select(s.id, s.device_id, s.t_s, s.power_w, s.energy_j, rn, cnt)
        .where(s.run_id == rid)
        .subquery()
    )
    cap = max(1, int(max_points))
    # ``//``: integer division on every backend (SQLAlchemy 2's ``/`` is true division, which
    # PostgreSQL computes in NUMERIC: a stride of 1.0002 kept only the first and last sample)
    stride = (inner.c.cnt + (cap - 1)) // cap
    return (
        sa.select(inner.c.device_id, inner.c.t_s, inner.c.power_w, inner.c.energy_j)
        .where(sa.or_((inner.c.rn - 1) % stride == 0, inner.c.rn == inner.c.cnt))
        .order_by(inner.c.id)
    )


def load_run(
    conn: sa.Connection,
    row: Any,
    *,
    stale_after_s: float,
    with_samples: bool,
    reason: str | None = None,
    totals: bool = True,
    max_points: int | None = None,
) -> RunResult:
    """Build the RunResult of ``row``; derive energy for unfinished runs.

    ``max_points``: with ``with_samples``, at most about that many timeline samples per device,
    evenly chosen by row order in SQL (see :func:`_timeline`); None loads every sample.

    An unfinished run's energy comes from its ``run_totals`` when it has them (``totals``: the
    ledger's schema has the table) and its samples are not wanted, else from its samples."""
    rid = row.run_id
    status, why = effective_status(row, stale_after_s)
    reason = reason or why
    comp_rows = conn.execute(
        sa.select(t.components).where(t.components.c.run_id == rid).order_by(t.components.c.id)
    ).all()
    count_rows = conn.execute(
        sa.select(t.counts.c.window_seq, t.counts.c.unit, t.counts.c["count"].label("n"))
        .where(t.counts.c.run_id == rid)
        .order_by(t.counts.c.id)
    ).all()
    own = [component(c) for c in comp_rows if c.window_seq is None]
    derive = not own and status in ("running", "interrupted")
    bounded = with_samples and max_points is not None
    kept = load_totals(conn, rid) if derive and totals and (bounded or not with_samples) else None
    samples: tuple[Sample, ...] = ()
    if with_samples or (derive and kept is None):
        full = not with_samples or max_points is None or (derive and kept is None)
        samples = tuple(
            Sample(s.device_id, float(s.t_s), s.power_w, s.energy_j)
            for s in conn.execute(
                _all_samples(rid) if full else _timeline(rid, max_points or MAX_TIMELINE_POINTS)
            )
        )
        if derive and kept is None and bounded:  # derive from all, show a bounded timeline
            derived_from: tuple[Sample, ...] | None = samples
            samples = tuple(
                Sample(s.device_id, float(s.t_s), s.power_w, s.energy_j)
                for s in conn.execute(_timeline(rid, max_points or MAX_TIMELINE_POINTS))
            )
        else:
            derived_from = None
    duration_s = duration_s_of(conn, row, status, totals=totals)
    notes = [str(n) for n in loads(row.notes, [])]
    if derive:
        devices = [
            DeviceInfo(
                d.device_id,
                d.kind,
                d.name,
                Provenance(d.provenance),
                d.source,
                str_map(loads(d.params, {})),
            )
            for d in conn.execute(sa.select(t.devices).where(t.devices.c.run_id == rid))
        ]
        if kept is not None:
            own = list(components_from_totals(devices, kept, duration_s, reason))
        else:
            source = samples if derived_from is None else derived_from
            own = list(derive_components(devices, source, duration_s, reason))
        note = f"{status}: {reason}; energy derived from the samples recorded so far"
        if note not in notes:
            notes.append(note)
    windows = []
    for w in conn.execute(
        sa.select(t.windows).where(t.windows.c.run_id == rid).order_by(t.windows.c.seq)
    ):
        windows.append(
            WindowResult(
                name=w.name,
                start_s=float(w.start_s),
                end_s=float(w.end_s),
                components=tuple(component(c) for c in comp_rows if c.window_seq == w.seq),
                counts={c.unit: float(c.n) for c in count_rows if c.window_seq == w.seq},
                parent=w.parent,
            )
        )
    gaps = tuple(
        Gap(g.device_id, float(g.start_s), g.end_s, g.error)
        for g in conn.execute(sa.select(t.gaps).where(t.gaps.c.run_id == rid).order_by(t.gaps.c.id))
    )
    command = loads(row.command, None)
    return RunResult(
        run_id=rid,
        name=row.name,
        started_at=row.started_at,
        duration_s=duration_s,
        components=tuple(own),
        windows=tuple(windows),
        counts={c.unit: float(c.n) for c in count_rows if c.window_seq is None},
        samples=samples if with_samples else (),
        gaps=gaps,
        notes=tuple(notes),
        status=status,
        command=tuple(str(a) for a in command) if isinstance(command, list) else None,
        exit_code=row.exit_code,
        host=str_map(loads(row.host, {})),
    )
