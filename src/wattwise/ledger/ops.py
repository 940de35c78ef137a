"""The ledger's writes as values (:class:`Op`), applied to a connection or kept in the spool.

Every write of a run — direct or replayed from the spool — goes through :func:`apply`, so a
replayed run is stored exactly as a directly written one. ``replay=True`` makes each write
idempotent: a ``begin_run`` of a run that exists is skipped, a heartbeat keeps the time it was
taken (a replay must not make a dead recorder look alive), and the run's ``spool_seq`` records
the last replayed record (see :mod:`wattwise.ledger.spool`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from wattwise.errors import LedgerError
from wattwise.ledger import schema as t
from wattwise.ledger.clean import clean_json, clean_result
from wattwise.ledger.rows import (
    dumps,
    insert_devices,
    insert_result_rows,
    loads,
    now_utc,
    parse_time,
)
from wattwise.ledger.serialize import run_from_dict, run_to_dict
from wattwise.ledger.spool import SpoolRecord
from wattwise.ledger.totals import replace_totals, update_totals
from wattwise.readers.base import DeviceInfo, Provenance
from wattwise.tracker.model import Gap, RunResult, Sample

#: Writes after which a run counts as stored (when they and everything before committed).
FINAL_OPS = ("finish_run", "set_extra")


@dataclass
class Op:
    """One write of a run. ``data`` holds Python values (see :func:`to_record` for JSON)."""

    name: str
    run_id: str
    at: str
    data: dict[str, Any]
    seq: int = 0


def to_record(op: Op) -> SpoolRecord:
    """The spool record of ``op`` (JSON-safe: values were cleaned before)."""
    d = op.data
    if op.name == "begin_run":
        data: dict[str, Any] = {
            **{k: d[k] for k in ("name", "started_at", "host", "pid", "pid_host", "pid_ct")},
            "command": None if d["command"] is None else list(d["command"]),
            "devices": [
                {**vars(dev), "provenance": dev.provenance.value, "params": dict(dev.params)}
                for dev in d["devices"]
            ],
        }
    elif op.name == "append_samples":
        data = {
            "samples": [[s.device_id, s.t_s, s.power_w, s.energy_j] for s in d["samples"]],
            "notes": list(d.get("notes", [])),
        }
    elif op.name == "append_gaps":
        data = {
            "gaps": [[g.device_id, g.start_s, g.end_s, g.error] for g in d["gaps"]],
            "notes": list(d.get("notes", [])),
        }
    elif op.name == "finish_run":
        data = {"result": run_to_dict(d["result"], include_samples=True)}
    else:
        data = dict(d)
    return SpoolRecord(op.name, op.run_id, op.seq, op.at, data)


def from_record(rec: SpoolRecord) -> Op:
    """Inverse of :func:`to_record`. Raises LedgerError for a record it cannot read."""
    d = rec.data
    try:
        if rec.op == "begin_run":
            data = dict(d)
            data["devices"] = [
                DeviceInfo(
                    x["device_id"], x["kind"], x["name"], Provenance(x["provenance"]),
                    x["source"], dict(x.get("params") or {}),
                )
                for x in d["devices"]
            ]
        elif rec.op == "append_samples":
            data = {
                "samples": [Sample(str(a), float(b), c, e) for a, b, c, e in d["samples"]],
                "notes": [str(n) for n in d.get("notes", [])],
            }
        elif rec.op == "append_gaps":
            data = {
                "gaps": [Gap(str(a), float(b), c, str(e)) for a, b, c, e in d["gaps"]],
                "notes": [str(n) for n in d.get("notes", [])],
            }
        elif rec.op == "finish_run":
            data = {"result": run_from_dict(d["result"])}
        elif rec.op in ("heartbeat", "set_extra"):
            data = dict(d)
        else:
            raise LedgerError(f"unknown spool record {rec.op!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise LedgerError(f"unreadable spool record {rec.op} #{rec.seq}: {exc}") from exc
    return Op(rec.op, rec.run_id, rec.at, data, rec.seq)


def run_exists(conn: sa.Connection, run_id: str) -> bool:
    found = conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first()
    return found is not None


def add_notes(conn: sa.Connection, run_id: str, notes: Sequence[str]) -> None:
    """Append ``notes`` the run does not have yet to its notes."""
    if not notes:
        return
    found = conn.execute(sa.select(t.runs.c.notes).where(t.runs.c.run_id == run_id)).first()
    if found is None:
        return
    have = [str(n) for n in loads(found.notes, [])]
    new = [n for n in notes if n not in have]
    if new:
        conn.execute(
            t.runs.update().where(t.runs.c.run_id == run_id).values(notes=dumps(have + new))
        )


def apply(conn: sa.Connection, op: Op, *, replay: bool = False, where: str = "") -> None:
    """Perform ``op`` inside the caller's transaction.

    Raises LedgerError for a write that makes no sense (a run begun twice, a write to a run that
    does not exist) unless ``replay``, which creates what is missing instead.
    """
    rid = op.run_id
    if op.name == "begin_run":
        if run_exists(conn, rid):
            if replay:
                return
            raise LedgerError(f"run {rid} already exists in {where}")
        _insert_run(conn, op)
        return
    if op.name != "finish_run" and not run_exists(conn, rid):
        if not replay:
            raise LedgerError(f"no run {rid} in {where} (call begin_run first)")
        _insert_stub(conn, op)
    beat = op.at if replay else now_utc().isoformat()
    if op.name == "append_samples":
        samples: list[Sample] = op.data["samples"]
        _touch(conn, rid, beat)
        if samples:
            conn.execute(
                t.samples.insert(),
                [
                    {"run_id": rid, "device_id": s.device_id, "t_s": s.t_s,
                     "power_w": s.power_w, "energy_j": s.energy_j}
                    for s in samples
                ],
            )
            update_totals(conn, rid, samples)
        add_notes(conn, rid, op.data.get("notes", []))
    elif op.name == "append_gaps":
        _touch(conn, rid, beat)
        for g in op.data["gaps"]:
            conn.execute(
                t.gaps.delete().where(
                    t.gaps.c.run_id == rid,
                    t.gaps.c.device_id == g.device_id,
                    t.gaps.c.start_s == g.start_s,
                )
            )
            conn.execute(
                t.gaps.insert().values(
                    run_id=rid, device_id=g.device_id, start_s=g.start_s, end_s=g.end_s,
                    error=g.error,
                )
            )
        add_notes(conn, rid, op.data.get("notes", []))
    elif op.name == "heartbeat":
        _touch(conn, rid, beat)
        add_notes(conn, rid, op.data.get("notes", []))
    elif op.name == "finish_run":
        _finish(conn, op.data["result"])
    elif op.name == "set_extra":
        _set_extra(conn, rid, op.data["key"], op.data["value"], int(op.data.get("refused", 0)))
    else:
        raise LedgerError(f"unknown ledger write {op.name!r}")
    if replay and op.seq:
        conn.execute(t.runs.update().where(t.runs.c.run_id == rid).values(spool_seq=op.seq))


def _insert_run(conn: sa.Connection, op: Op) -> None:
    d = op.data
    conn.execute(
        t.runs.insert().values(
            run_id=op.run_id,
            name=d["name"],
            started_at=d["started_at"],
            status="running",
            command=None if d["command"] is None else dumps(list(d["command"])),
            host=dumps(dict(d["host"])),
            notes="[]",
            updated_at=op.at,
            pid=d["pid"],
            pid_host=d["pid_host"],
            pid_create_time_s=d["pid_ct"],
            extra="{}",
        )
    )
    insert_devices(conn, op.run_id, d["devices"])


def _insert_stub(conn: sa.Connection, op: Op) -> None:
    """A run row for replayed records whose ``begin_run`` is gone (a damaged spool file)."""
    conn.execute(
        t.runs.insert().values(
            run_id=op.run_id, name=op.run_id[:12], started_at=op.at, status="running",
            host="{}", notes=dumps(["ledger: replayed from a spool without its start record"]),
            updated_at=op.at, extra="{}",
        )
    )


def _touch(conn: sa.Connection, run_id: str, at: str) -> None:
    conn.execute(t.runs.update().where(t.runs.c.run_id == run_id).values(updated_at=at))


#: Notes the ledger itself adds to a run start with this; ``finish_run`` keeps them.
LEDGER_NOTE = "ledger: "


def _finish(conn: sa.Connection, result: RunResult) -> None:
    result = clean_result(result)
    found = conn.execute(sa.select(t.runs.c.notes).where(t.runs.c.run_id == result.run_id)).first()
    kept = [str(n) for n in loads(found.notes, [])] if found is not None else []
    notes = list(result.notes) + [
        n for n in kept if n.startswith(LEDGER_NOTE) and n not in result.notes
    ]
    started = parse_time(result.started_at)
    ended = started + timedelta(seconds=result.duration_s) if started else now_utc()
    values: dict[str, Any] = {
        "name": result.name,
        "started_at": result.started_at,
        "ended_at": ended.isoformat(),
        "duration_s": result.duration_s,
        "status": result.status,
        "command": None if result.command is None else dumps(list(result.command)),
        "exit_code": result.exit_code,
        "host": dumps(dict(result.host)),
        "notes": dumps(notes),
        "updated_at": now_utc().isoformat(),
    }
    rid = result.run_id
    if not run_exists(conn, rid):
        conn.execute(t.runs.insert().values(run_id=rid, extra="{}", **values))
    else:
        conn.execute(t.runs.update().where(t.runs.c.run_id == rid).values(**values))
    replaced = [t.windows, t.components, t.counts]
    replaced += [t.samples] if result.samples else []
    replaced += [t.gaps] if result.gaps else []
    for table in replaced:
        conn.execute(table.delete().where(table.c.run_id == rid))
    insert_result_rows(conn, result)
    if result.samples:
        replace_totals(conn, rid, result.samples)


def _set_extra(conn: sa.Connection, run_id: str, key: str, value: Any, refused: int) -> None:
    value, more = clean_json(value)
    refused += more
    row = conn.execute(
        sa.select(t.runs.c.extra).where(t.runs.c.run_id == run_id).with_for_update()
    ).first()
    if row is None:  # pragma: no cover - apply() checked
        raise LedgerError(f"no run {run_id}")
    extra = loads(row.extra, {})
    extra = extra if isinstance(extra, dict) else {}
    extra[key] = value
    conn.execute(t.runs.update().where(t.runs.c.run_id == run_id).values(extra=dumps(extra)))
    if refused:
        note = f"ledger: {refused} non-finite value(s) in {key!r} stored as null"
        add_notes(conn, run_id, [note])
