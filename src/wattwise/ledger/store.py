"""The run ledger: incremental writing of runs while they are recorded, reading and export.

Every write is its own short transaction, so a recorder killed with SIGKILL leaves its run in
the ledger with everything committed up to its last ``append_samples`` / ``heartbeat``. Readers
report such a run as ``interrupted`` (its recording process is gone, or its heartbeat is older
than ``stale_after_s``) with energy derived from its samples (see :mod:`wattwise.ledger.derive`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, TextIO

import sqlalchemy as sa

from wattwise import jsonsafe
from wattwise.errors import LedgerError, UnknownRunError
from wattwise.ledger import schema as t
from wattwise.ledger.engine import DB_ERRORS, WRITE_OPTION, create_engine, translate_error
from wattwise.ledger.liveness import process_create_time_s, this_host
from wattwise.ledger.location import LedgerLocation, resolve_location
from wattwise.ledger.migrations import migrate
from wattwise.ledger.rows import (
    component,
    component_row,
    dumps,
    duration_s_of,
    effective_status,
    insert_devices,
    insert_result_rows,
    load_run,
    loads,
    now_utc,
    parse_time,
)
from wattwise.ledger.serialize import run_to_dict
from wattwise.readers.base import DeviceInfo
from wattwise.tracker.model import (
    ComponentEnergy,
    Gap,
    RunResult,
    Sample,
    summarize,
)

STATUSES = ("running", "finished", "failed", "interrupted")
#: A running run whose heartbeat is older than this is reported as interrupted.
DEFAULT_STALE_AFTER_S = 30.0
CSV_FIELDS = (
    "run_id",
    "name",
    "started_at",
    "duration_s",
    "status",
    "device",
    "kind",
    "energy_j",
    "provenance",
    "source",
)


@dataclass(frozen=True)
class RunSummary:
    """One line of ``wattwise runs list``.

    ``status`` is the effective status (a ``running`` run whose recorder is gone is
    ``interrupted``); ``total_energy_j`` and ``duration_s`` are then derived from its samples.
    ``provenance`` is the total's label (``measured``, ``mixed: measured + estimated``, ``none``).
    """

    run_id: str
    name: str
    started_at: str
    duration_s: float
    status: str
    total_energy_j: float
    provenance: str
    exit_code: int | None
    command: tuple[str, ...] | None


class Ledger:
    """A run ledger in a SQLite file or a PostgreSQL database. Use :meth:`open` to get one.

    Thread-safe: each call checks a connection out of the engine's pool.
    """

    def __init__(self, engine: sa.Engine, location: LedgerLocation, stale_after_s: float) -> None:
        self._engine = engine
        self.location = location
        self.stale_after_s = stale_after_s

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, url: str | None = None, *, stale_after_s: float = DEFAULT_STALE_AFTER_S
    ) -> Ledger:
        """Open (creating and migrating as needed) the ledger at ``url``.

        ``url``: a file path or a SQLAlchemy URL; None means ``$WATTWISE_DB`` or the default file
        (see :mod:`wattwise.ledger.location`). Raises :class:`LedgerError` with one line for an
        unusable path, a file that is not a wattwise ledger, or one from a newer wattwise.
        """
        location = resolve_location(url)
        engine = create_engine(location)
        ledger = cls(engine, location, stale_after_s)
        try:
            with ledger._tx(write=True, action="open") as conn:
                migrate(conn, location.display)
        except BaseException:
            engine.dispose()
            raise
        return ledger

    @property
    def url(self) -> str:
        """The database URL (as given to SQLAlchemy)."""
        return self.location.url

    def close(self) -> None:
        """Release the database connections. Safe to call twice."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self, *, write: bool, action: str) -> Iterator[sa.Connection]:
        """One transaction; database errors become one-line :class:`LedgerError`s."""
        try:
            with self._engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except LedgerError:
            raise
        except DB_ERRORS as exc:
            raise translate_error(exc, self.location.display, action) from exc

    # -- writing ------------------------------------------------------------------------------

    def begin_run(
        self,
        run_id: str,
        name: str,
        started_at: str,
        command: Sequence[str] | None,
        host: Mapping[str, str],
        devices: Sequence[DeviceInfo],
        *,
        pid: int | None = None,
    ) -> None:
        """Record the start of a run (status ``running``) and the devices it reads.

        ``started_at`` is the wall-clock start, ISO 8601 UTC. ``pid`` is the recording process
        (default: this one); readers use it to tell a live run from a killed one.
        """
        pid = os.getpid() if pid is None else pid
        now = now_utc().isoformat()
        with self._tx(write=True, action="begin a run") as conn:
            if self._run_row(conn, run_id) is not None:
                raise LedgerError(f"run {run_id} already exists in {self.location.display}")
            conn.execute(
                t.runs.insert().values(
                    run_id=run_id,
                    name=name,
                    started_at=started_at,
                    status="running",
                    command=None if command is None else dumps(list(command)),
                    host=dumps(dict(host)),
                    notes="[]",
                    updated_at=now,
                    pid=pid,
                    pid_host=this_host(),
                    pid_create_time_s=process_create_time_s(pid),
                    extra="{}",
                )
            )
            insert_devices(conn, run_id, devices)

    def append_samples(self, run_id: str, samples: Sequence[Sample]) -> None:
        """Add timeline samples (power W / cumulative energy J at ``t_s``); also a heartbeat."""
        with self._tx(write=True, action="append samples") as conn:
            self._touch(conn, run_id)
            if samples:
                conn.execute(
                    t.samples.insert(),
                    [
                        {
                            "run_id": run_id,
                            "device_id": s.device_id,
                            "t_s": s.t_s,
                            "power_w": s.power_w,
                            "energy_j": s.energy_j,
                        }
                        for s in samples
                    ],
                )

    def append_gaps(self, run_id: str, gaps: Sequence[Gap]) -> None:
        """Add or update gaps; a gap is identified by (device, ``start_s``), so an open gap
        (``end_s`` None) written earlier is replaced when it is written again closed. Also a
        heartbeat."""
        with self._tx(write=True, action="append gaps") as conn:
            self._touch(conn, run_id)
            for g in gaps:
                conn.execute(
                    t.gaps.delete().where(
                        t.gaps.c.run_id == run_id,
                        t.gaps.c.device_id == g.device_id,
                        t.gaps.c.start_s == g.start_s,
                    )
                )
                conn.execute(
                    t.gaps.insert().values(
                        run_id=run_id,
                        device_id=g.device_id,
                        start_s=g.start_s,
                        end_s=g.end_s,
                        error=g.error,
                    )
                )

    def heartbeat(self, run_id: str) -> None:
        """Say that the run's recorder is alive (call it at least every ``stale_after_s / 3``)."""
        with self._tx(write=True, action="record a heartbeat") as conn:
            self._touch(conn, run_id)

    def finish_run(self, result: RunResult) -> None:
        """Store a finished (or failed / interrupted) run, in one transaction.

        Creates the run if :meth:`begin_run` was not called. Replaces its windows, per-device
        energies and counts; replaces its samples and gaps only when ``result`` carries some (a
        tracker that kept no timeline in memory keeps what it appended incrementally).
        """
        if result.status not in STATUSES:
            raise LedgerError(f"invalid run status {result.status!r}: one of {', '.join(STATUSES)}")
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
            "notes": dumps(list(result.notes)),
            "updated_at": now_utc().isoformat(),
        }
        rid = result.run_id
        with self._tx(write=True, action="store the run") as conn:
            if self._run_row(conn, rid) is None:
                conn.execute(t.runs.insert().values(run_id=rid, extra="{}", **values))
            else:
                conn.execute(t.runs.update().where(t.runs.c.run_id == rid).values(**values))
            replaced = [t.windows, t.components, t.counts]
            replaced += [t.samples] if result.samples else []
            replaced += [t.gaps] if result.gaps else []
            for table in replaced:
                conn.execute(table.delete().where(table.c.run_id == rid))
            insert_result_rows(conn, result)

    def mark_interrupted(self, run_id: str, reason: str = "marked interrupted") -> RunResult:
        """Close a run that will not finish: status ``interrupted``, energy derived from its
        samples (unless it already has per-device energy), ``reason`` added to its notes."""
        with self._tx(write=True, action="mark the run interrupted") as conn:
            row = self._run_row(conn, run_id)
            if row is None:
                raise LedgerError(f"no run {run_id} in {self.location.display}")
            if row.status in ("finished", "failed"):
                raise LedgerError(f"run {run_id} already ended ({row.status})")
            result = self._load(conn, row, with_samples=True, reason=reason)
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(
                    status="interrupted",
                    duration_s=result.duration_s,
                    ended_at=now_utc().isoformat(),
                    notes=dumps([*loads(row.notes, []), reason]),
                    updated_at=now_utc().isoformat(),
                )
            )
            has_own = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.components)
                .where(t.components.c.run_id == run_id, t.components.c.window_seq.is_(None))
            ).scalar()
            if not has_own and result.components:
                conn.execute(
                    t.components.insert(),
                    [component_row(run_id, None, c) for c in result.components],
                )
            return self._load(conn, self._run_row(conn, run_id), with_samples=True)

    def set_extra(self, run_id: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) under ``key`` in the run's ``extra`` object."""
        with self._tx(write=True, action="update the run") as conn:
            row = conn.execute(
                sa.select(t.runs.c.extra).where(t.runs.c.run_id == run_id).with_for_update()
            ).first()
            if row is None:
                raise LedgerError(f"no run {run_id} in {self.location.display}")
            extra = loads(row.extra, {})
            extra = extra if isinstance(extra, dict) else {}
            extra[key] = value
            conn.execute(
                t.runs.update().where(t.runs.c.run_id == run_id).values(extra=dumps(extra))
            )

    def get_extra(self, run_id: str) -> dict[str, Any]:
        """The run's ``extra`` JSON object (empty when nothing was set)."""
        with self._tx(write=False, action="read the run") as conn:
            found = conn.execute(sa.select(t.runs.c.extra).where(t.runs.c.run_id == run_id)).first()
        if found is None:
            raise LedgerError(f"no run {run_id} in {self.location.display}")
        extra = loads(found.extra, {})
        return extra if isinstance(extra, dict) else {}

    # -- reading ------------------------------------------------------------------------------

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        """The ``limit`` most recent runs, newest first."""
        with self._tx(write=False, action="list runs") as conn:
            rows = conn.execute(
                sa.select(t.runs).order_by(t.runs.c.started_at.desc(), t.runs.c.run_id).limit(limit)
            ).all()
            ids = [r.run_id for r in rows]
            comps: dict[str, list[ComponentEnergy]] = {}
            if ids:
                for c in conn.execute(
                    sa.select(t.components).where(
                        t.components.c.run_id.in_(ids), t.components.c.window_seq.is_(None)
                    )
                ):
                    comps.setdefault(c.run_id, []).append(component(c))
            out = []
            for row in rows:
                status, reason = effective_status(row, self.stale_after_s)
                own = comps.get(row.run_id, [])
                if not own and status in ("running", "interrupted"):
                    result = self._load(conn, row, with_samples=True, reason=reason)
                    own, duration_s = list(result.components), result.duration_s
                else:
                    duration_s = duration_s_of(conn, row, status)
                summary = summarize(own)
                command = loads(row.command, None)
                out.append(
                    RunSummary(
                        run_id=row.run_id,
                        name=row.name,
                        started_at=row.started_at,
                        duration_s=duration_s,
                        status=status,
                        total_energy_j=summary.total_j,
                        provenance=summary.label,
                        exit_code=row.exit_code,
                        command=tuple(command) if isinstance(command, list) else None,
                    )
                )
            return out

    def resolve_run_id(self, run_id_or_prefix: str) -> str:
        """The full id of the run whose id is, or starts with, ``run_id_or_prefix``.

        Raises :class:`LedgerError` for an unknown or ambiguous prefix (listing candidates).
        """
        with self._tx(write=False, action="find the run") as conn:
            return self._resolve(conn, run_id_or_prefix)

    def get_run(self, run_id_or_prefix: str, *, with_samples: bool = True) -> RunResult:
        """The run whose id is, or starts with, ``run_id_or_prefix``, with its effective status.

        A ``running`` run whose recorder is gone comes back ``interrupted``, its per-device energy
        derived from its samples. Raises :class:`LedgerError` for an unknown or ambiguous prefix.
        """
        with self._tx(write=False, action="read the run") as conn:
            run_id = self._resolve(conn, run_id_or_prefix)
            return self._load(conn, self._run_row(conn, run_id), with_samples=with_samples)

    def export(
        self,
        fmt: str,
        out: TextIO,
        run_ids: Sequence[str] | None = None,
        *,
        include_samples: bool = False,
    ) -> int:
        """Write runs to ``out`` as ``csv`` or ``json``; return the number of runs written.

        ``run_ids`` (ids or unique prefixes) selects runs; None exports all, oldest first.
        JSON: a list of :func:`~wattwise.ledger.serialize.run_to_dict` documents. CSV: one row
        per run and device (run-level energy), columns :data:`CSV_FIELDS`; a run without
        per-device energy gets one row with empty device columns.
        """
        if fmt not in ("csv", "json"):
            raise LedgerError(f"unknown export format {fmt!r}: use csv or json")
        with self._tx(write=False, action="export runs") as conn:
            if run_ids is None:
                ids = list(
                    conn.execute(
                        sa.select(t.runs.c.run_id).order_by(t.runs.c.started_at, t.runs.c.run_id)
                    ).scalars()
                )
            else:
                ids = [self._resolve(conn, r) for r in run_ids]
            writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
            if fmt == "csv":
                writer.writeheader()
            else:
                out.write("[")
            for i, run_id in enumerate(ids):
                result = self._load(conn, self._run_row(conn, run_id), with_samples=include_samples)
                if fmt == "json":
                    out.write(",\n" if i else "\n")
                    out.write(jsonsafe.dumps(run_to_dict(result, include_samples=include_samples)))
                    continue
                base = {
                    "run_id": result.run_id,
                    "name": result.name,
                    "started_at": result.started_at,
                    "duration_s": result.duration_s,
                    "status": result.status,
                }
                for c in result.components or [None]:
                    writer.writerow(
                        base
                        if c is None
                        else {
                            **base,
                            "device": c.device_id,
                            "kind": c.kind,
                            "energy_j": c.energy_j,
                            "provenance": c.provenance.value,
                            "source": c.source,
                        }
                    )
            if fmt == "json":
                out.write("\n]\n" if ids else "]\n")
            return len(ids)

    # -- internals ----------------------------------------------------------------------------

    def _load(
        self, conn: sa.Connection, row: Any, *, with_samples: bool, reason: str | None = None
    ) -> RunResult:
        return load_run(
            conn, row, stale_after_s=self.stale_after_s, with_samples=with_samples, reason=reason
        )

    def _run_row(self, conn: sa.Connection, run_id: str) -> Any:
        return conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()

    def _touch(self, conn: sa.Connection, run_id: str) -> None:
        done = conn.execute(
            t.runs.update()
            .where(t.runs.c.run_id == run_id)
            .values(updated_at=now_utc().isoformat())
        )
        if done.rowcount == 0:
            raise LedgerError(f"no run {run_id} in {self.location.display} (call begin_run first)")

    def _resolve(self, conn: sa.Connection, prefix: str) -> str:
        prefix = prefix.strip()
        if not prefix:
            raise UnknownRunError("empty run id")
        if self._run_row(conn, prefix) is not None:
            return prefix
        found = conn.execute(
            sa.select(t.runs.c.run_id, t.runs.c.name, t.runs.c.started_at)
            .where(t.runs.c.run_id.startswith(prefix, autoescape=True))
            .order_by(t.runs.c.started_at.desc())
            .limit(11)
        ).all()
        if len(found) == 1:
            return str(found[0].run_id)
        if not found:
            raise UnknownRunError(f"no run {prefix!r} in {self.location.display}")
        shown = "; ".join(f"{r.run_id} ({r.name}, {r.started_at})" for r in found[:10])
        more = ", ..." if len(found) > 10 else ""
        raise UnknownRunError(f"run id prefix {prefix!r} is ambiguous: {shown}{more}")
