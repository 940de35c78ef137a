"""How a tracked block ended (status and exit code), and small helpers for run metadata."""

from __future__ import annotations

import functools


@functools.cache
def _host_items() -> tuple[tuple[str, str], ...]:
    """The host's identity, read once per process without a subprocess.

    ``platform.platform()`` runs ``uname -p`` in a subprocess on some systems (inside
    ``Tracker.start()``: measured ~20 ms); the same string is built from ``os.uname()`` and the
    C library's version. Windows (no ``os.uname``) falls back to :mod:`platform`.
    """
    import os
    import sys

    v = sys.version_info
    python = f"{v.major}.{v.minor}.{v.micro}"
    if hasattr(os, "uname"):
        u = os.uname()
        try:
            libc = (os.confstr("CS_GNU_LIBC_VERSION") or "").replace(" ", "")
        except (ValueError, OSError):
            libc = ""
        plat = f"{u.sysname}-{u.release}-{u.machine}" + (f"-with-{libc}" if libc else "")
        hostname = u.nodename
    else:  # pragma: no cover - not on Linux
        import platform
        import socket

        plat, hostname = platform.platform(), socket.gethostname()
    return (
        ("hostname", hostname),
        ("platform", plat),
        ("python", python),
        ("cpu_count", str(os.cpu_count() or 0)),
    )


def host_info() -> dict[str, str]:
    """hostname, platform, python and cpu_count of this machine (strings)."""
    return dict(_host_items())


def new_run_id() -> str:
    """A random UUID-4 as 32 hex digits (``uuid.uuid4().hex``), without importing :mod:`uuid`
    (which imports :mod:`platform`: ~3 ms of start-up)."""
    import os

    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
    return f"{n:032x}"


def utc_stamp(wall_s: float) -> str:
    """``wall_s`` (Unix seconds) as ISO 8601 UTC with milliseconds, as ``datetime.isoformat
    (timespec="milliseconds")`` writes it: ``2026-12-01T15:28:34.123+00:00``."""
    import time

    ms = int(wall_s * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall_s)) + f".{ms:03d}+00:00"


def short_repr(value: object, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def outcome(
    exc_type: type[BaseException] | None, exc: BaseException | None
) -> tuple[str, int | None, str]:
    """(status, exit code, note) of a tracked block that ended with ``exc`` (None: normally).

    ``KeyboardInterrupt`` → ``interrupted``; ``SystemExit`` with code 0 or None → ``finished``,
    any other code → ``failed`` with that code (a message as code exits 1, as Python does);
    any other exception → ``failed``.
    """
    if exc_type is None:
        return "finished", None, ""
    if issubclass(exc_type, KeyboardInterrupt):
        return "interrupted", None, "the tracked code was interrupted (KeyboardInterrupt)"
    if issubclass(exc_type, SystemExit):
        code = exc.code if isinstance(exc, SystemExit) else None
        if code is None or code == 0:
            return "finished", 0, "the tracked code called sys.exit(0)"
        exit_code = code if isinstance(code, int) and not isinstance(code, bool) else 1
        return "failed", exit_code, f"the tracked code called sys.exit({short_repr(code)})"
    return "failed", None, f"the tracked code raised {exc_type.__name__}"
