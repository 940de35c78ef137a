"""The run ledger: incremental writing of runs while they are recorded, reading and export.

Every write is its own short transaction, so a recorder killed with SIGKILL leaves its run in
the ledger with everything committed up to its last ``append_samples`` / ``heartbeat``. Readers
report such a run as ``interrupted`` (its recording process is gone, or its heartbeat is older
than ``stale_after_s``) with energy derived from its samples (see :mod:`wattwise.ledger.derive`).
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import sqlalchemy as sa

from wattwise import jsonsafe
from wattwise.core.run import ComponentEnergy, Gap, RunResult, Sample, summarize
from wattwise.errors import LedgerError, UnknownRunError
from wattwise.ledger import schema as t
from wattwise.ledger.clean import (
    clean_gaps,
    clean_json,
    clean_op_texts,
    clean_result,
    clean_samples,
    clean_text,
)
from wattwise.ledger.engine import (
    DB_ERRORS,
    create_engine,
    disk_full,
    sqlite_opener,
    translate_error,
)
from wattwise.ledger.liveness import process_create_time_s, this_host
from wattwise.ledger.location import LedgerLocation, require_persistent, resolve_location
from wattwise.ledger.migrations import LATEST_VERSION, current_version, migrate
from wattwise.ledger.ops import Op
from wattwise.ledger.outcome import WriteOutcome
from wattwise.ledger.readonly import open_readonly
from wattwise.ledger.rows import (
    MAX_TIMELINE_POINTS,
    component,
    component_row,
    dumps,
    duration_s_of,
    effective_status,
    load_run,
    loads,
    now_utc,
)
from wattwise.ledger.serialize import CSV_FIELDS, run_to_dict, write_csv_rows
from wattwise.ledger.spool import pending_files
from wattwise.ledger.summary import RunSummary as RunSummary  # re-exported
from wattwise.ledger.writer import DEFAULT_WRITE_BUDGET_S, SETTLE_BUDGET_S, WritePath
from wattwise.readers.base import DeviceInfo

STATUSES = ("running", "finished", "failed", "interrupted")
#: A running run whose heartbeat is older than this is reported as interrupted.
DEFAULT_STALE_AFTER_S = 30.0


class Ledger:
    """A run ledger in a SQLite file or a PostgreSQL database. Use :meth:`open` to get one.

    Thread-safe: each call checks a connection out of the engine's pool; writes are serialised.
    The writing methods (:meth:`begin_run`, :meth:`append_samples`, :meth:`append_gaps`,
    :meth:`heartbeat`, :meth:`finish_run`, :meth:`set_extra`) never raise because the
    database is unusable: they wait out locks, else spool the write (see
    :mod:`wattwise.ledger.writer`); ask :meth:`outcome` where a run went. They raise
    :class:`LedgerError` only for a write that makes no sense (a run begun twice, an unknown
    run, an invalid status, a value that is not JSON).
    """

    def __init__(
        self,
        engine: sa.Engine,
        location: LedgerLocation,
        stale_after_s: float,
        *,
        readonly: bool = False,
        version: int = LATEST_VERSION,
        write_budget_s: float = DEFAULT_WRITE_BUDGET_S,
    ) -> None:
        self._engine = engine
        self.location = location
        self.stale_after_s = stale_after_s
        self.readonly = readonly
        #: The ledger's schema version (below the latest only for a read-only open).
        self.version = version
        self._writes = WritePath(engine, location, budget_s=write_budget_s)
        #: What the open replayed from the spool (one line per spool file).
        self.replayed: list[str] = []

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        readonly: bool = False,
        persistent: bool = False,
        write_budget_s: float = DEFAULT_WRITE_BUDGET_S,
    ) -> Ledger:
        """Open the ledger at ``url``: for writing (creating, migrating, replaying its spool) or
        ``readonly``.

        ``url``: a file path or a SQLAlchemy URL; None means ``$WATTWISE_DB`` or the default file
        (see :mod:`wattwise.ledger.location`). ``readonly``: SQLite opens the file with
        ``mode=ro`` and nothing is written, migrated or replayed (a missing or empty ledger reads
        as one with no runs). ``persistent``: refuse an in-memory ledger (commands that store
        runs). ``write_budget_s``: how long a write waits out other writers' locks before it
        goes to the spool. Raises :class:`~wattwise.errors.ConfigError` for an empty or invalid
        location and :class:`LedgerError` with one line for an unusable path, a file that is not
        a wattwise ledger, or one from a newer wattwise.
        """
        location = resolve_location(url)
        if persistent:
            require_persistent(location)
        if readonly:
            return open_readonly(cls, location, stale_after_s)
        engine = create_engine(location)
        ledger = cls(engine, location, stale_after_s, write_budget_s=write_budget_s)
        try:
            try:
                with ledger._tx(write=False, action="open") as conn:  # no write lock if current
                    version = current_version(conn, location.display)
            except LedgerError as exc:
                if not disk_full(location, str(exc)):
                    raise
                # An existing WAL ledger on a full disk cannot even be read (SQLite must create
                # its -shm/-wal files): runs go to the spool, replayed at the next open.
                engine.dispose()
                ledger._writes.go_down(
                    f"cannot open ledger at {location.display}: the disk is full ({exc})"
                )
                return ledger
            if version != LATEST_VERSION:
                ledger._writes.run_tx(functools.partial(migrate, where=location.display), "open")
            opener = sqlite_opener(engine)
            if opener is not None:
                opener.mode = "rw"  # created now: never re-create it if it is deleted later
            ledger._writes.remember_identity()
            ledger.replayed = ledger._writes.replay_pending()
        except BaseException:
            engine.dispose()
            raise
        return ledger

    @property
    def url(self) -> str:
        """The database URL (as given to SQLAlchemy)."""
        return self.location.url

    def close(self) -> None:
        """Release the database connections and spool files. Safe to call twice."""
        self._writes.close()
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
        """One read transaction; database errors become one-line :class:`LedgerError`s."""
        assert not write
        try:
            with self._engine.connect() as conn, conn.begin():
                yield conn
        except LedgerError:
            raise
        except DB_ERRORS as exc:
            raise translate_error(exc, self.location.display, action) from exc

    def _write(self, op: str, run_id: str, /, **data: Any) -> None:
        if self.readonly:
            raise LedgerError(f"ledger {self.location.display} was opened read-only")
        data, note = clean_op_texts(op, data)
        run_id = clean_text(run_id)
        self._writes.write(Op(op, run_id, now_utc().isoformat(), data))
        if note:  # a write without notes of its own: the note follows it
            self._writes.write(Op("heartbeat", run_id, now_utc().isoformat(), {"notes": [note]}))

    # -- writing ------------------------------------------------------------------------------

    def outcome(self, run_id: str) -> WriteOutcome:
        """Where the writes of run ``run_id`` went: ``stored`` (its final write and every one
        before committed), ``spooled`` (waiting in a spool file, replayed at the ledger's next
        open) or ``lost``; ``.line()`` says it in one line for a person."""
        return self._writes.outcome(run_id)

    def settle(self, run_id: str, budget_s: float = SETTLE_BUDGET_S) -> None:
        """Call after the run's last write (and before :meth:`outcome`): when its writes were
        spooled because other writers held the lock, try for up to ``budget_s`` seconds more
        to get them into the database. Returns at once when they are stored already."""
        self._writes.settle(run_id, budget_s)

    def hurry(self) -> None:
        """The recorder is stopping: a write of another thread that is waiting out a lock
        spools now instead of waiting its full budget (call before joining the sampler)."""
        self._writes.hurry()

    def pending_spool(self) -> list[Path]:
        """Spool files of this ledger that wait for a replay (by any process)."""
        return pending_files(self.location)

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
        self._write(
            "begin_run",
            run_id,
            name=name,
            started_at=started_at,
            command=None if command is None else list(command),
            host={str(k): str(v) for k, v in dict(host).items()},
            devices=list(devices),
            pid=pid,
            pid_host=this_host(),
            pid_ct=process_create_time_s(pid),
        )

    def append_samples(self, run_id: str, samples: Sequence[Sample]) -> None:
        """Add timeline samples (power W / cumulative energy J at ``t_s``); also a heartbeat.

        A sample value that is not finite is refused (a note says how many)."""
        clean, notes = clean_samples(samples)
        self._write("append_samples", run_id, samples=clean, notes=notes)

    def append_gaps(self, run_id: str, gaps: Sequence[Gap]) -> None:
        """Add or update gaps; a gap is identified by (device, ``start_s``), so an open gap
        (``end_s`` None) written earlier is replaced when it is written again closed. Also a
        heartbeat."""
        clean, notes = clean_gaps(gaps)
        self._write("append_gaps", run_id, gaps=clean, notes=notes)

    def heartbeat(self, run_id: str) -> None:
        """Say that the run's recorder is alive (call it at least every ``stale_after_s / 3``)."""
        self._write("heartbeat", run_id)

    def finish_run(self, result: RunResult) -> None:
        """Store a finished (or failed / interrupted) run, in one transaction.

        Creates the run if :meth:`begin_run` was not called. Replaces its windows, per-device
        energies and counts; replaces its samples and gaps only when ``result`` carries some (a
        tracker that kept no timeline in memory keeps what it appended incrementally). A number
        that is not finite (a NaN count) is refused with a note, never an error.
        """
        if result.status not in STATUSES:
            raise LedgerError(f"invalid run status {result.status!r}: one of {', '.join(STATUSES)}")
        self._write("finish_run", result.run_id, result=clean_result(result))

    def mark_interrupted(self, run_id: str, reason: str = "marked interrupted") -> RunResult:
        """Close a run that will not finish: status ``interrupted``, energy derived from its
        samples (unless it already has per-device energy), ``reason`` added to its notes."""
        done: list[RunResult] = []

        def mark(conn: sa.Connection) -> None:
            row = self._run_row(conn, run_id)
            if row is None:
                raise LedgerError(f"no run {run_id} in {self.location.display}")
            if row.status in ("finished", "failed"):
                raise LedgerError(f"run {run_id} already ended ({row.status})")
            result = self._load(conn, row, with_samples=False, reason=reason)
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
            done.append(self._load(conn, self._run_row(conn, run_id), with_samples=True))

        if self.readonly:
            raise LedgerError(f"ledger {self.location.display} was opened read-only")
        self._writes.run_tx(mark, "mark the run interrupted")
        return done[-1]

    def set_extra(self, run_id: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) under ``key`` in the run's ``extra`` object.

        Non-finite floats in ``value`` are stored as null (with a note)."""
        value, refused = clean_json(value)
        dumps(value)  # raises LedgerError now for a value that is not JSON
        if not self._writes.knows(run_id):
            self.get_extra(run_id)  # raises LedgerError for an unknown run
        self._write("set_extra", run_id, key=key, value=value, refused=refused)

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
                sa.select(*t.RUN_READ_COLUMNS)
                .order_by(t.runs.c.started_at.desc(), t.runs.c.run_id)
                .limit(limit)
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
                    result = self._load(conn, row, with_samples=False, reason=reason)
                    own, duration_s = list(result.components), result.duration_s
                else:
                    duration_s = duration_s_of(conn, row, status, totals=self._has_totals)
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
        derived from its samples. ``with_samples``: its timeline, at most about
        :data:`~wattwise.ledger.rows.MAX_TIMELINE_POINTS` samples per device (an even selection
        with each device's first and last; ``export`` gives every sample). Raises
        :class:`LedgerError` for an unknown or ambiguous prefix.
        """
        with self._tx(write=False, action="read the run") as conn:
            run_id = self._resolve(conn, run_id_or_prefix)
            return self._load(conn, self._run_row(conn, run_id), with_samples=with_samples,
                              max_points=MAX_TIMELINE_POINTS)

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
                write_csv_rows(writer, result)
            if fmt == "json":
                out.write("\n]\n" if ids else "]\n")
            return len(ids)

    # -- internals ----------------------------------------------------------------------------

    def _load(
        self,
        conn: sa.Connection,
        row: Any,
        *,
        with_samples: bool,
        reason: str | None = None,
        max_points: int | None = None,
    ) -> RunResult:
        return load_run(
            conn,
            row,
            stale_after_s=self.stale_after_s,
            with_samples=with_samples,
            reason=reason,
            totals=self._has_totals,
            max_points=max_points,
        )

    @property
    def _has_totals(self) -> bool:
        return self.version >= 2

    def _run_row(self, conn: sa.Connection, run_id: str) -> Any:
        return conn.execute(sa.select(*t.RUN_READ_COLUMNS).where(t.runs.c.run_id == run_id)).first()

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
