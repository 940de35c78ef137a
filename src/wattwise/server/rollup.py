"""The per-day sums behind the dashboard and ``/aggregates`` (:data:`~.schema.server_rollup`).

Every push adds its run to one row per (dimension value, day, currency) with an upsert
(``INSERT ... ON CONFLICT DO UPDATE``, SQLite and PostgreSQL alike; rows in key order, so
concurrent pushes lock them in the same order and never deadlock). A read that filters by day
only (the dashboard's date range) sums these rows: a few hundred, whatever the number of runs.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from wattwise.server import schema as s

#: Summed columns, in base units (``runs`` is a count).
SUMS = ("runs", "duration_s", "energy_j", "facility_energy_kwh", "co2e_location_g",
        "co2e_market_g", "water_l", "cost", "tokens", "token_energy_j")  # fmt: skip
DIMS = ("tag", "model", "hardware", "phase", "status", "location")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def increments(
    row: dict[str, Any], tags: tuple[str, ...], phases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rollup rows one run (its ``server_runs`` row, tags, phases) adds to."""
    tokens = row["tokens"] or 0.0
    figures = {
        "runs": 1.0, "duration_s": row["duration_s"], "energy_j": row["energy_j"],
        "facility_energy_kwh": row["facility_energy_kwh"],
        "co2e_location_g": row["co2e_location_g"], "co2e_market_g": row["co2e_market_g"],
        "water_l": row["water_l"], "cost": row["cost"] or 0.0, "tokens": tokens,
        "token_energy_j": row["energy_j"] if tokens else 0.0,
    }  # fmt: skip
    base = {"project_id": row["project_id"], "day": row["day"], "week": row["week"],
            "month": row["month"], "currency": row["currency"] or ""}  # fmt: skip
    keys = [("all", ""), ("model", row["model"] or ""), ("hardware", row["hardware"]),
            ("status", row["status"]), ("location", row["location"])]  # fmt: skip
    keys += [("tag", t) for t in tags]
    out = [{**base, "dim": d, "key": k[:200], **figures} for d, k in keys]
    energy = row["energy_j"]
    for p in phases:
        share = p["energy_j"] / energy if energy > 0 else 0.0
        scaled = {f: v * share for f, v in figures.items()}
        scaled.update(runs=1.0, duration_s=p["duration_s"], energy_j=p["energy_j"])
        out.append({**base, "dim": "phase", "key": p["phase"], **scaled})
    return sorted(out, key=lambda r: (r["dim"], r["day"], r["key"], r["currency"]))


def add(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Upsert ``rows`` into the rollup (sums added)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    r = s.server_rollup
    stmt = insert(r)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "dim", "day", "key", "currency"],
        set_={f: r.c[f] + stmt.excluded[f] for f in SUMS},
    )
    conn.execute(stmt, rows)  # executemany: one cached statement, rows in the order given


def usable(since: str | None, until: str | None, other_filters: bool) -> bool:
    """Whether a read can use the rollup: no filter but a range of whole days."""
    return not other_filters and all(x is None or _DAY.match(x) for x in (since, until))


def read(
    conn: sa.Connection, project_id: int, group: str, since: str | None, until: str | None
) -> list[Any]:
    """Rows (key, currency, sums...) per ``group`` (a period, or a dimension of :data:`DIMS`)."""
    r = s.server_rollup.c
    dim = "all" if group in ("day", "week", "month") else group
    key = r[group] if dim == "all" else r.key
    where = [r.project_id == project_id, r.dim == dim]
    if since:
        where.append(r.day >= since)
    if until:
        where.append(r.day < until)
    q = (
        sa.select(key.label("key"), r.currency, *(sa.func.sum(r[f]).label(f) for f in SUMS))
        .where(*where)
        .group_by(key, r.currency)
    )
    return list(conn.execute(q))
