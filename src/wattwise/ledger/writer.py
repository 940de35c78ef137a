"""How the ledger writes: retries that wait out a lock, the spool when the database is unusable.

Each write is one short transaction. When another process holds the database's write lock,
the write waits SQLite's busy timeout, then retries with back-off until ``budget_s`` seconds
have passed (it never gives the run up). When the write still cannot commit — locked past the
budget, a read-only or deleted or damaged file, a full disk, a server that is down — the write
goes to the run's spool file (:mod:`wattwise.ledger.spool`) and returns normally; later writes
of that run follow it there, in order, while probes (every :data:`PROBE_EVERY_S` seconds, and
once with the full budget at the final write) try to replay the spool into the database and
return to writing directly. Only a write that makes no sense (a run begun twice, an unknown
run, an invalid status) raises.

:meth:`WritePath.outcome` says where each run's writes went (:class:`WriteOutcome`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from wattwise.errors import LedgerError
from wattwise.ledger import schema as t
from wattwise.ledger.engine import (
    DB_ERRORS,
    WRITE_OPTION,
    busy_timeout_s,
    file_identity,
    file_read_only,
    is_busy,
    set_busy_timeout,
    sqlite_header_ok,
    translate_error,
)
from wattwise.ledger.location import LedgerLocation
from wattwise.ledger.ops import FINAL_OPS, Op, apply, from_record, to_record
from wattwise.ledger.outcome import LOST, SPOOLED, STORED, WriteOutcome
from wattwise.ledger.spool import (
    SpoolFile,
    SpoolRecord,
    claimed,
    pending_files,
    read_records,
    spool_dirs,
)

log = logging.getLogger("wattwise")

#: Seconds a write may spend waiting out other writers' locks before it is spooled (below the
#: readers' 30 s heartbeat staleness, so a waiting recorder is not shown as interrupted).
DEFAULT_WRITE_BUDGET_S = 20.0
#: Seconds a write made on the caller's thread before or after the workload (``begin_run``,
#: ``finish_run``, ``set_extra``) may wait for a lock before it is spooled: the user's command
#: must not start late, and wattwise must stop well within a typical 30 s kill grace. The
#: sampler thread's writes keep the long budget and replay the spool once the lock goes.
CALLER_WRITE_BUDGET_S = 1.5
#: The writes made on the caller's thread (see :data:`CALLER_WRITE_BUDGET_S`); so is any write
#: made by the thread that called ``begin_run`` of that run.
CALLER_OPS = ("begin_run", "finish_run", "set_extra")
#: Seconds a run whose last writes were spooled (lock held by other writers past
#: :data:`CALLER_WRITE_BUDGET_S`) keeps trying to replay them once its command has ended, before
#: it says "spooled" (:meth:`WritePath.settle`); not after a signal, which must stop promptly.
SETTLE_BUDGET_S = 10.0
#: While a run is spooled, how often a write also tries to replay the spool (seconds).
PROBE_EVERY_S = 10.0
#: How long such a probe waits for a lock (seconds): it must not stall the recorder.
PROBE_WAIT_S = 0.25
#: Longest single SQLite lock wait inside one write's budget (seconds), so that a sampler-thread
#: write waiting out a lock gives way soon to a caller's write (which then spools at once).
_SLICE_S = 0.5
_FIRST_DELAY_S = 0.05
_MAX_DELAY_S = 1.0


class Unavailable(Exception):
    """The database cannot take a write now; ``str()`` is one line saying why."""


@dataclass
class _RunState:
    seq: int = 0
    begin: Op | None = None
    begun: bool = False
    finished: bool = False
    spool: SpoolFile | None = None
    reason: str = ""
    lost: str = ""
    final_tried: bool = False
    settle_until_s: float | None = None
    last_probe_s: float = field(default_factory=time.monotonic)


class WritePath:
    """The write side of one open ledger (thread-safe: writes are serialised)."""

    def __init__(
        self, engine: sa.Engine, location: LedgerLocation, *, budget_s: float
    ) -> None:
        self.engine = engine
        self.location = location
        self.budget_s = max(budget_s, busy_timeout_s(location))
        self._lock = threading.RLock()
        self._runs: dict[str, _RunState] = {}
        #: Set while a caller-thread write waits for ``_lock``: a long wait in progress stops.
        self._urgent = threading.Event()
        #: The thread that began each run: its writes (before and after the workload, e.g. a
        #: last flush of samples at stop) get the caller's short budget too.
        self._caller_thread: dict[str, int] = {}
        self.identity: tuple[int, int] | None = None
        #: Why the database could not even be opened (a full disk): every write is spooled and
        #: nothing is replayed into it by this process (its schema was never checked).
        self.down_reason = ""

    def go_down(self, reason: str) -> None:
        """The ledger could not be opened (``reason``, one line): spool every write."""
        self.down_reason = reason

    def remember_identity(self) -> None:
        """Note which file the ledger is (a write to a file deleted or replaced is spooled)."""
        if self.location.sqlite_path is not None:
            self.identity = file_identity(self.location.sqlite_path)

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _attempt(self, wait_s: float) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            set_busy_timeout(conn, wait_s)
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def commit(self, fn: Callable[[sa.Connection], object], budget_s: float, action: str) -> None:
        """Run ``fn`` in a write transaction, retrying on a lock for up to ``budget_s`` s.

        Raises :class:`Unavailable` when it cannot commit, LedgerError from ``fn`` as is.
        """
        started_s = time.monotonic()
        deadline = started_s + budget_s
        delay_s = _FIRST_DELAY_S
        per_try_s = min(busy_timeout_s(self.location), _SLICE_S)
        while True:
            self._check_identity()
            if self._urgent.is_set() and budget_s > CALLER_WRITE_BUDGET_S:
                deadline = min(deadline, time.monotonic())  # give way: spool now
            wait_s = max(0.0, min(per_try_s, deadline - time.monotonic()))
            try:
                with self._attempt(wait_s) as conn:
                    fn(conn)
                return
            except LedgerError:
                raise
            except DB_ERRORS as exc:
                if is_busy(exc):
                    if time.monotonic() + delay_s < deadline:
                        time.sleep(delay_s)
                        delay_s = min(2 * delay_s, _MAX_DELAY_S)
                        continue
                    raise Unavailable(
                        f"ledger {self.location.display} stayed locked by another process "
                        f"for {_waited(time.monotonic() - started_s)}"
                    ) from exc
                self.engine.dispose()  # the next attempt opens the file anew
                why = translate_error(exc, self.location.display, action, self.location.sqlite_path)
                raise Unavailable(str(why)) from exc

    def run_tx(self, fn: Callable[[sa.Connection], object], action: str) -> None:
        """:meth:`commit` with the full budget; Unavailable becomes a one-line LedgerError."""
        try:
            self.commit(fn, self.budget_s, action)
        except Unavailable as exc:
            raise LedgerError(str(exc)) from exc

    def _check_identity(self) -> None:
        """Unavailable when the SQLite file was deleted, replaced or made read-only."""
        path = self.location.sqlite_path
        if self.identity is None or path is None:
            return
        if file_identity(path) != self.identity:
            self.engine.dispose()
            raise Unavailable(
                f"the ledger file {self.location.display} was deleted or replaced while "
                "wattwise was writing to it"
            )
        if not sqlite_header_ok(path):  # a pooled connection would not notice until it reads
            self.engine.dispose()
            raise Unavailable(
                f"{self.location.display} is damaged (it is no longer a SQLite database): "
                "move it away or pass --db"
            )
        if file_read_only(path):
            self.engine.dispose()
            raise Unavailable(
                f"cannot write ledger at {self.location.display}: the file or its directory "
                "is read-only"
            )

    def hurry(self) -> None:
        """Make a sampler-thread write now waiting out a lock give way (spool) at once; the
        next caller-thread write clears this. For a recorder that is stopping."""
        self._urgent.set()

    # -- the write path -----------------------------------------------------------------------

    def write(self, op: Op) -> None:
        """Commit ``op``, or spool it; raises only LedgerError for a write that makes no sense."""
        me = threading.get_ident()
        caller = op.name in CALLER_OPS or self._caller_thread.get(op.run_id) == me
        if caller:
            if not self._lock.acquire(blocking=False):
                self._urgent.set()  # a sampler-thread write waiting out a lock gives way
                self._lock.acquire()
                self._urgent.clear()
            self._lock.release()
        with self._lock:
            st = self._runs.setdefault(op.run_id, _RunState())
            st.seq += 1
            op.seq = st.seq
            if op.name == "begin_run":
                st.begin = op
                self._caller_thread[op.run_id] = threading.get_ident()
            if st.spool is not None:
                self._spool(st, op)
                self._probe(st, final=op.name in FINAL_OPS)
                return
            if self.down_reason:
                st.reason = self.down_reason
                log.warning("wattwise: %s; writing the run to a local spool", st.reason)
                self._spool(st, op)
                return
            try:
                self.commit(lambda c: apply(c, op, where=self.location.display),
                            self._budget_for(caller), f"write ({op.name})")
            except Unavailable as exc:
                st.reason = str(exc)
            except LedgerError as exc:
                if not (st.begun and str(exc).startswith("no run")):
                    raise
                st.reason = f"run {op.run_id} disappeared from the ledger (was the file replaced?)"
            except (ValueError, TypeError) as exc:  # a value the database cannot take
                st.lost = st.lost or f"its {op.name} write was refused by the database ({exc})"
                log.warning("wattwise: run %s: %s", op.run_id, st.lost)
                return
            else:
                st.begun = st.begun or op.name == "begin_run"
                if op.name == "finish_run":
                    st.finished = True
                return
            log.warning("wattwise: %s; writing the run to a local spool", st.reason)
            self._spool(st, op)
            if self._file_gone(st.reason):  # what was committed there went with that file
                st.seq += 1
                note = (
                    f"ledger: {st.reason} (at {op.at}); what this run had written there before "
                    "(part of its timeline) stayed in that file; its totals are complete"
                )
                self._spool(st, Op("heartbeat", op.run_id, op.at, {"notes": [note]}, st.seq))

    def _budget_for(self, caller: bool) -> float:
        """The lock budget of a write: short on the caller's thread, long on the sampler's."""
        if caller:
            return min(self.budget_s, CALLER_WRITE_BUDGET_S)
        return self.budget_s

    @staticmethod
    def _file_gone(reason: str) -> bool:
        return "deleted or replaced" in reason or "damaged" in reason or "disappeared" in reason

    def _spool(self, st: _RunState, op: Op) -> None:
        """Append ``op`` to the run's spool file, creating it (with the run's start) if needed.

        When the folder of the spool file fills up or turns read-only, the file moves to the
        next spool folder (its records copied first, in order)."""
        line = to_record(op).to_line()
        if st.spool is not None:
            try:
                st.spool.append(line)
                return
            except OSError as exc:
                error = f"{st.spool.path}: {exc.strerror or exc}"
            old = st.spool
            lines = [r.to_line() for r in old.records()] + [line]
            if self._new_spool(st, op.run_id, lines, skip=old.path.parent):
                old.close(remove=True)
                return
            st.lost = f"{st.reason}; and the spool could not be written ({error})"
            log.warning("wattwise: run %s not stored: %s", op.run_id, st.lost)
            return
        lines = [line]
        if st.begin is not None and op is not st.begin:
            lines.insert(0, to_record(st.begin).to_line())
        if not self._new_spool(st, op.run_id, lines):
            log.warning("wattwise: run %s not stored: %s", op.run_id, st.lost)

    def _new_spool(
        self, st: _RunState, run_id: str, lines: list[str], skip: Path | None = None
    ) -> bool:
        """Write ``lines`` to a new spool file in the first folder that takes them."""
        error = "no spool folder"
        for folder in spool_dirs(self.location):
            if folder == skip:
                continue
            spool: SpoolFile | None = None
            try:
                spool = SpoolFile.create(folder, run_id, self.location.display)
                for text in lines:
                    spool.append(text)
            except OSError as exc:  # read-only or full: try the next folder
                error = f"{folder}: {exc.strerror or exc}"
                if spool is not None:
                    spool.close(remove=True)
                continue
            st.spool = spool
            return True
        st.lost = f"{st.reason}; and no spool could be written ({error})"
        return False

    def _probe(self, st: _RunState, *, final: bool) -> None:
        """Try to replay this process's own spool of a run (see the module docstring)."""
        if self.down_reason:
            return  # replayed at the ledger's next open, which checks its schema first
        now = time.monotonic()
        if final and not st.final_tried:
            st.final_tried = True
            budget_s = min(self.budget_s, CALLER_WRITE_BUDGET_S)
        elif now - st.last_probe_s >= PROBE_EVERY_S:
            budget_s = PROBE_WAIT_S
        else:
            return
        st.last_probe_s = now
        self._replay_own(st, budget_s)

    def _replay_own(self, st: _RunState, budget_s: float) -> bool:
        """Replay this process's spool of one run within ``budget_s``; True when it went in."""
        assert st.spool is not None
        records = st.spool.records()
        try:
            self.commit(partial(self._replay, records=records), budget_s, "replay the spool")
        except (Unavailable, LedgerError) as exc:
            st.reason = str(exc)
            return False
        log.warning("wattwise: ledger usable again: %d spooled write(s) replayed", len(records))
        st.spool.close(remove=True)
        st.spool = None
        st.lost = ""
        st.finished = st.finished or any(r.op == "finish_run" for r in records)
        st.begun = st.begun or any(r.op == "begin_run" for r in records)
        return True

    def settle(self, run_id: str, budget_s: float) -> None:
        """The run's last write was made: if it went to the spool, keep trying to replay the
        spool into the database (a lock held by many other writers usually goes within
        seconds). ``budget_s`` counts from the run's first settle: later calls (after one more
        write) use what is left of it. Ctrl-C stops the wait; the spool stays."""
        with self._lock:
            st = self._runs.get(run_id)
            if st is None or st.spool is None or st.lost or self.down_reason:
                return
            now = time.monotonic()
            if st.settle_until_s is None:
                st.settle_until_s = now + max(0.0, budget_s)
            left_s = st.settle_until_s - now
            if left_s <= 0:
                return
            self._urgent.clear()  # nothing else of this run waits: the whole budget is ours
            with contextlib.suppress(KeyboardInterrupt):
                self._replay_own(st, left_s)

    def _replay(self, conn: sa.Connection, *, records: Sequence[SpoolRecord]) -> None:
        by_run: dict[str, list[Op]] = {}
        for rec in records:
            by_run.setdefault(rec.run_id, []).append(from_record(rec))
        for run_id, ops in by_run.items():
            mark = conn.execute(
                sa.select(t.runs.c.spool_seq).where(t.runs.c.run_id == run_id)
            ).scalar()
            for op in sorted(ops, key=lambda o: o.seq):
                if mark is not None and op.seq <= mark:
                    continue
                apply(conn, op, replay=True, where=self.location.display)

    def replay_pending(self) -> list[str]:
        """Replay every spool file of this ledger that no live writer holds; one line each.

        A file is removed only after its replay committed. Stops at the first file the
        database cannot take (it stays for the next open).
        """
        done: list[str] = []
        for path in pending_files(self.location):
            with claimed(path) as fd:
                if fd is None:
                    continue
                records = read_records(path)
                if records:
                    try:
                        self.commit(partial(self._replay, records=records),  # at open:
                                    min(self.budget_s, CALLER_WRITE_BUDGET_S),  # caller's thread
                                    "replay the spool")
                    except Unavailable as exc:
                        log.warning("wattwise: spool %s not replayed yet: %s", path, exc)
                        break
                    except LedgerError as exc:
                        bad = path.with_suffix(".rejected")
                        with contextlib.suppress(OSError):
                            path.rename(bad)
                        log.warning("wattwise: spool %s cannot be replayed (%s): kept as %s",
                                    path, exc, bad)
                        continue
                    done.append(f"replayed {len(records)} spooled write(s) of run "
                                f"{records[0].run_id[:12]} from {path}")
                elif time.time() - _mtime(path) < 60.0:
                    continue  # maybe a writer that is just starting: leave it
                with contextlib.suppress(OSError):
                    path.unlink()
        return done

    # -- outcome ------------------------------------------------------------------------------

    def outcome(self, run_id: str) -> WriteOutcome:
        """Where the writes of ``run_id`` made through this ledger went."""
        with self._lock:
            st = self._runs.get(run_id)
            if st is None:
                return self._outcome_unknown(run_id)
            if st.lost:
                return WriteOutcome(LOST, st.lost, run_id)
            if st.spool is not None:
                return WriteOutcome(SPOOLED, st.reason, run_id, str(st.spool.path))
            if st.finished:
                return WriteOutcome(STORED, "", run_id)
            if not st.begun:
                return WriteOutcome(
                    LOST, f"run {run_id} was never written to {self.location.display}", run_id
                )
            return WriteOutcome(
                LOST,
                "the recorder stopped writing before the run ended "
                "(the ledger shows it as interrupted)",
                run_id,
            )

    def _outcome_unknown(self, run_id: str) -> WriteOutcome:
        try:
            with self.engine.connect() as conn:
                status = conn.execute(
                    sa.select(t.runs.c.status).where(t.runs.c.run_id == run_id)
                ).scalar()
        except DB_ERRORS as exc:
            return WriteOutcome(LOST, str(translate_error(exc, self.location.display, "read")),
                                run_id)
        if status is not None and status != "running":
            return WriteOutcome(STORED, "", run_id)
        return WriteOutcome(LOST, f"run {run_id} was not written to {self.location.display}",
                            run_id)

    def knows(self, run_id: str) -> bool:
        """True when this ledger wrote (or spooled) the start or end of ``run_id``."""
        with self._lock:
            st = self._runs.get(run_id)
            return st is not None and (st.begun or st.finished or st.spool is not None)

    def spool_paths(self) -> list[Path]:
        """Spool files this process is writing now."""
        with self._lock:
            return [st.spool.path for st in self._runs.values() if st.spool is not None]

    def close(self) -> None:
        """Release this process's spool files (they stay on disk for the next open)."""
        with self._lock:
            for st in self._runs.values():
                if st.spool is not None:
                    st.spool.close()


def _waited(seconds: float) -> str:
    """How long a write actually waited, for a person ("0.4 s", "39 s")."""
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
