"""The ``run_totals`` table: per-device sample totals kept while a run is recorded.

``append_samples`` updates them in its own transaction, so they are always consistent with the
samples committed; readers of an unfinished run use them instead of reading its timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields

import sqlalchemy as sa

from wattwise.core.run import Sample
from wattwise.ledger import schema as t
from wattwise.ledger.derive import SeriesTotals, totals_of

_FIELDS = [f.name for f in fields(SeriesTotals)]
_KEYS = ("run_id", "device_id")


def _row_values(run_id: str, device_id: str, tot: SeriesTotals) -> dict[str, object]:
    values: dict[str, object] = {"run_id": run_id, "device_id": device_id, **asdict(tot)}
    values["in_order"] = 1 if tot.in_order else 0
    return values


def _from_row(row: sa.Row[tuple[object, ...]]) -> SeriesTotals:
    m = row._mapping
    tot = SeriesTotals(**{name: m[name] for name in _FIELDS})
    tot.in_order = bool(m["in_order"])
    return tot


def update_totals(conn: sa.Connection, run_id: str, samples: Sequence[Sample]) -> None:
    """Add ``samples`` (in the order given) to the run's totals."""
    if not samples:
        return
    by_device: dict[str, list[Sample]] = {}
    for s in samples:
        by_device.setdefault(s.device_id, []).append(s)
    found = {
        row.device_id: _from_row(row)
        for row in conn.execute(
            sa.select(t.run_totals).where(
                t.run_totals.c.run_id == run_id, t.run_totals.c.device_id.in_(list(by_device))
            )
        )
    }
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for device_id, series in by_device.items():
        tot = found.get(device_id) or SeriesTotals()
        for s in series:
            tot.add(s)
        row = _row_values(run_id, device_id, tot)
        (updates if device_id in found else inserts).append(row)
    if inserts:
        conn.execute(t.run_totals.insert(), inserts)
    if updates:  # one executemany for every device (8 GPUs: one statement, not eight)
        conn.execute(
            t.run_totals.update()
            .where(
                t.run_totals.c.run_id == sa.bindparam("b_run_id"),
                t.run_totals.c.device_id == sa.bindparam("b_device_id"),
            )
            .values({k: sa.bindparam(f"b_{k}") for k in updates[0] if k not in _KEYS}),
            [{f"b_{k}": v for k, v in row.items()} for row in updates],
        )


def replace_totals(conn: sa.Connection, run_id: str, samples: Sequence[Sample]) -> None:
    """Recompute the run's totals from its complete timeline ``samples``."""
    conn.execute(t.run_totals.delete().where(t.run_totals.c.run_id == run_id))
    rows = [_row_values(run_id, d, tot) for d, tot in totals_of(samples).items()]
    if rows:
        conn.execute(t.run_totals.insert(), rows)


def load_totals(conn: sa.Connection, run_id: str) -> dict[str, SeriesTotals] | None:
    """The run's per-device totals; None when it has none or any is unusable (out of order)."""
    rows = conn.execute(sa.select(t.run_totals).where(t.run_totals.c.run_id == run_id)).all()
    if not rows:
        return None
    out = {row.device_id: _from_row(row) for row in rows}
    return out if all(tot.in_order for tot in out.values()) else None
