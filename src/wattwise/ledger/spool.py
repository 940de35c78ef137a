"""A local, append-only spool for ledger writes that could not commit.

When the database cannot take a write (locked past the retry budget, read-only, disk full,
deleted, damaged, server down), the ledger appends the write as one JSON line to a spool file,
one file per run, and fsyncs it. The file lives beside the SQLite file
(``ledger.db.spool/RUN_ID.jsonl``) when that folder takes it, else under the user's state
directory (``$XDG_STATE_HOME/wattwise/spool/HASH/``, default ``~/.local/state``) keyed by a hash
of the ledger's location. The writer holds an exclusive ``flock`` on its file while it writes, so
another process replaying the spool skips files still being written.

Record (one JSON object a line): ``{"v": 1, "op", "run_id", "seq", "at", "data"}`` — ``op`` is
the ledger method (``begin_run``, ``append_samples``, ``append_gaps``, ``heartbeat``,
``finish_run``, ``set_extra``), ``seq`` the run's write sequence number (replay applies records
with a higher ``seq`` than the ledger's ``runs.spool_seq`` only, so replaying twice adds
nothing), ``at`` the wall-clock time of the write (ISO 8601 UTC).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattwise.ledger.location import LedgerLocation

SUFFIX = ".jsonl"
VERSION = 1


def state_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME`` (absolute) or ``~/.local/state``."""
    env = os.environ if env is None else env
    value = env.get("XDG_STATE_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / ".local" / "state"


def spool_dirs(location: LedgerLocation, env: Mapping[str, str] | None = None) -> list[Path]:
    """Where spool files of ``location`` may be, in the order the writer tries them."""
    digest = hashlib.sha256(location.key.encode()).hexdigest()[:16]
    dirs = []
    if location.sqlite_path is not None:
        dirs.append(location.sqlite_path.parent / f"{location.sqlite_path.name}.spool")
    dirs.append(state_home(env) / "wattwise" / "spool" / digest)
    return dirs


@dataclass
class SpoolRecord:
    """One spooled write."""

    op: str
    run_id: str
    seq: int
    at: str
    data: dict[str, Any]

    def to_line(self) -> str:
        doc = {
            "v": VERSION,
            "op": self.op,
            "run_id": self.run_id,
            "seq": self.seq,
            "at": self.at,
            "data": self.data,
        }
        return json.dumps(doc, allow_nan=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_line(cls, line: str) -> SpoolRecord | None:
        """The record on ``line``, None for a torn or foreign line (a write cut by a crash)."""
        try:
            doc = json.loads(line)
            return cls(
                str(doc["op"]), str(doc["run_id"]), int(doc["seq"]), str(doc["at"]), doc["data"]
            )
        except (ValueError, KeyError, TypeError):
            return None


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SpoolFile:
    """An open spool file of one run, locked by this process; every append is fsynced."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def create(cls, folder: Path, run_id: str, ledger: str) -> SpoolFile:
        """Open (appending, locked) ``RUN_ID.jsonl`` in ``folder``; raises OSError if it cannot.

        A ``LEDGER.txt`` beside it names the ledger the spool belongs to (``ledger``).
        """
        folder.mkdir(parents=True, exist_ok=True)
        note = folder / "LEDGER.txt"
        if not note.exists():
            note.write_text(f"wattwise spool of ledger {ledger}\n", encoding="utf-8")
        path = folder / f"{run_id}{SUFFIX}"
        for _ in range(3):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # A replayer may have removed the file between open and lock: open it again.
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    _fsync_dir(folder)
                    return cls(path, fd)
            except OSError:
                pass
            os.close(fd)
        raise OSError(errno.EBUSY, f"spool file {path} is held by another process")

    def append(self, line: str) -> None:
        """Append one record line and fsync it. Raises OSError (disk full, ...)."""
        data = line.encode("utf-8")
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def records(self) -> list[SpoolRecord]:
        return read_records(self.path)

    def close(self, *, remove: bool = False) -> None:
        """Release the lock; ``remove`` deletes the file first (after its replay committed)."""
        if self._fd < 0:
            return
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()
            _fsync_dir(self.path.parent)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1


def read_records(path: Path) -> list[SpoolRecord]:
    """The complete records of a spool file, in file order (torn lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        rec = SpoolRecord.from_line(line) if line.strip() else None
        if rec is not None:
            out.append(rec)
    return out


def pending_files(location: LedgerLocation, env: Mapping[str, str] | None = None) -> list[Path]:
    """Spool files of ``location`` waiting for replay (sorted by name within each folder)."""
    out: list[Path] = []
    for d in spool_dirs(location, env):
        with contextlib.suppress(OSError):
            out += sorted(p for p in d.iterdir() if p.suffix == SUFFIX and p.is_file())
    return out


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[int | None]:
    """Lock a spool file for replay: yields its fd, or None when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)
