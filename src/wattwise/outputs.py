"""Every file wattwise writes goes through here: checked before long work, written atomically.

* :func:`check_output_path` runs *before* a lab, an audit or a training starts: it refuses, with
  one line (:class:`~wattwise.errors.ConfigError`, exit code 2 from the CLI), a path that is a
  directory, whose folder is missing or not writable, or that is the open ledger (or one of
  SQLite's ``-wal`` / ``-shm`` / ``-journal`` companions) under any spelling, symlink or hard link.
* :func:`atomic_output` (and :func:`atomic_write_text` / :func:`atomic_write_bytes` on top of it)
  writes into a temporary file beside the target, fsyncs it and renames it over the target only
  on success; on any failure the temporary file is removed and the previous file is untouched.
  :func:`atomic_directory` does the same for a directory (the built-in model cache).

A failure to write (a full disk, a quota, an I/O error) is an :class:`OutputError`: one line,
``cannot write FILE: No space left on device``, exit code 1 from the CLI, the previous file
intact. Standard output is guarded the same way (:func:`guard_stdout`): a full disk or a closed
stdout is an :class:`OutputError` naming standard output; a reader that went away (a broken
pipe: ``wattwise runs export | head``) is :class:`PipeClosed`, which the CLI ends quietly with
exit code 141 (128 + SIGPIPE, as a shell reports a writer killed by a closed pipe).

A symlinked target is followed: the file it points to is replaced and the link kept. The
replaced file keeps its permission bits; a new file gets ``0o666`` less the umask, as ``open``
would give it. This module is the lowest layer: standard library and :mod:`wattwise.errors` only
(callers pass the ledger's files: :func:`wattwise.ledger.location.ledger_files`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError, WattwiseError

#: Files SQLite keeps beside a database while it is open.
LEDGER_COMPANIONS = ("", "-wal", "-shm", "-journal")
_TMP_MARK = ".wattwise-tmp."


def _protected(ledger_paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """(real path, what it is) of every ledger file and its SQLite companions."""
    out: list[tuple[str, str]] = []
    for lp in ledger_paths:
        base = os.path.realpath(os.path.expanduser(os.fspath(lp)))
        out.append((base, f"the ledger file ({base})"))
        out.extend(
            (base + suffix, f"the ledger's {suffix[1:]} file ({base + suffix})")
            for suffix in LEDGER_COMPANIONS
            if suffix
        )
    return out


def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_output_path(
    path: str | os.PathLike[str],
    *,
    what: str = "--out",
    ledger_paths: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """``path`` (``~`` expanded) if wattwise may write a file there, else ConfigError (one line
    naming ``what``, the flag it came from). Call it before any long work starts.

    Refused: a directory; a folder that does not exist or cannot be written (tested for real:
    a temporary file is created in it and removed); an existing file
    that cannot be written; any of ``ledger_paths`` or its SQLite companions, compared by real
    path (every spelling and symlink) and, for existing files, by device and inode (hard links).
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    if not str(path).strip():
        raise ConfigError(f"{what}: give a file name")
    real = os.path.realpath(p)
    for guarded, name in _protected(ledger_paths):
        if real == guarded or _same_file(real, guarded):
            raise ConfigError(
                f"{what} {path}: that is {name}; writing there would destroy the ledger; "
                "give another file name"
            )
    if os.path.isdir(real):
        raise ConfigError(f"{what} {path}: is a directory; give a file name in it")
    if _is_stream(p):  # /dev/stdout, /dev/null, a named pipe: written straight through
        if not os.access(p, os.W_OK):
            raise ConfigError(f"{what} {path}: not writable")
        return p
    folder = os.path.dirname(real) or "."
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigError(f"{what} {path}: {os.path.dirname(p)} is a file, not a folder")
    if not os.path.isdir(folder):
        raise ConfigError(f"{what} {path}: folder {os.path.dirname(p) or '.'} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{what} {path}: cannot write in folder {folder} (permission denied or read-only)"
        )
    if os.path.exists(real) and not os.access(real, os.W_OK):
        raise ConfigError(f"{what} {path}: the file exists and is not writable")
    _probe_folder(Path(real), what, path)
    return p


def _probe_folder(real: Path, what: str, path: str | os.PathLike[str]) -> None:
    """Create and remove a temporary file beside ``real``: the only test of writability that
    cannot be fooled (``/proc``, a read-only mount as root, an ACL); cheap."""
    try:
        tmp = _new_temp(real)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"{what} {path}: cannot write in folder {real.parent}: {reason}"
        ) from None
    with contextlib.suppress(OSError):
        os.unlink(tmp)


class OutputError(WattwiseError):
    """A file (or standard output) could not be written: ``cannot write WHAT: REASON``."""


class PipeClosed(Exception):  # a condition, not a fault: the reader left
    """The reader of standard output went away (a broken pipe): stop writing, quietly."""


def write_failure(what: str | os.PathLike[str], exc: OSError) -> OutputError:
    """The one line for a failed write of ``what``: ``cannot write WHAT: No space left ...``."""
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else "") or str(exc)
    return OutputError(f"cannot write {os.fspath(what)}: {reason}")


def _is_stream(path: Path) -> bool:
    """True for an existing character device, FIFO or socket (nothing to rename over)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _target(path: str | os.PathLike[str]) -> Path:
    """The file to replace: ``path`` with ``~`` expanded and symlinks followed."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _new_temp(target: Path) -> Path:
    """Create an empty, exclusive temporary file beside ``target`` (same suffix, so tools that
    pick a format from the extension still do); mode ``0o666`` less the umask."""
    for _ in range(100):
        tmp = target.with_name(f".{secrets.token_hex(4)}{_TMP_MARK}{target.name}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name beside {target}")  # pragma: no cover


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # some filesystems do not open directories; the rename is still atomic
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _commit(tmp: Path, target: Path) -> None:
    """fsync ``tmp``, give it the old target's permission bits, rename it over ``target``."""
    _fsync_path(tmp)
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
    os.replace(tmp, target)
    _fsync_path(target.parent, directory=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on a clean exit it replaces ``path``
    (fsynced, permissions kept), on any exception it is removed and ``path`` is untouched.

    The temporary file exists (empty) when yielded; a writer may truncate or replace it. A
    character device or pipe (``/dev/stdout``) is yielded as it is: there is nothing to rename.
    An :class:`OSError` while writing or committing (a full disk) becomes an
    :class:`OutputError` naming ``path``.
    """
    target = _target(path)
    plain = Path(os.path.expanduser(os.fspath(path)))
    if _is_stream(plain):
        try:
            yield plain
        except OSError as exc:
            raise write_failure(path, exc) from None
        return
    try:
        tmp = _new_temp(target)
    except OSError as exc:
        raise write_failure(path, exc) from None
    try:
        yield tmp
        _commit(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise write_failure(path, exc) from None
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as a Path."""
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", newline: str = ""
) -> Path:
    """Write ``text`` to ``path`` atomically (``newline=""``: no newline translation)."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding=encoding, newline=newline) as f:
        f.write(text)
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path`` to fill; on a clean exit it becomes
    ``path`` (its files fsynced), replacing a directory already there; on any exception it is
    removed and ``path`` is untouched. Readers see either the old directory or the complete
    new one, never a half-written one (between the two renames, briefly, neither)."""
    target = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{secrets.token_hex(4)}{_TMP_MARK}{target.name}")
    tmp.mkdir()
    try:
        yield tmp
        for entry in tmp.iterdir():
            if entry.is_file():
                _fsync_path(entry)
        _fsync_path(tmp, directory=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
            old = target.with_name(f".{secrets.token_hex(4)}{_TMP_MARK}old.{target.name}")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        _fsync_path(target.parent, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------- standard output
STDOUT_NAME = "standard output"


class GuardedStream:
    """A text stream in front of ``sys.stdout`` whose write failures are one clear thing.

    A broken pipe becomes :class:`PipeClosed`; any other :class:`OSError` (a full disk, an I/O
    error) an :class:`OutputError` naming standard output; ``stream=None`` (stdout closed,
    ``wattwise ... >&-``) fails every write with ``cannot write standard output: it is
    closed``. Everything else is passed through to the stream.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _fail(self, exc: OSError) -> BaseException:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            return PipeClosed()
        return write_failure(STDOUT_NAME, exc)

    def _target(self) -> Any:
        if self._stream is None:
            raise OutputError(f"cannot write {STDOUT_NAME}: it is closed")
        return self._stream

    def write(self, text: str) -> int:
        target = self._target()
        try:
            return int(target.write(text))
        except OSError as exc:
            raise self._fail(exc) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._fail(exc) from None

    def isatty(self) -> bool:
        return self._stream is not None and bool(self._stream.isatty())

    def fileno(self) -> int:
        return int(self._target().fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


def guard_stdout() -> GuardedStream:
    """Put a :class:`GuardedStream` in front of ``sys.stdout`` (once); return it."""
    current: Any = sys.stdout
    if isinstance(current, GuardedStream):
        return current
    guarded = GuardedStream(current)
    sys.stdout = guarded
    return guarded


def silence_stdout() -> None:
    """After a broken pipe: point file descriptor 1 at ``/dev/null`` so the interpreter's
    last flush at exit cannot fail again (and print an ``Exception ignored`` line)."""
    with contextlib.suppress(OSError, ValueError):
        fd = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(fd, 1)
        finally:
            os.close(fd)
