"""Is the process that records a run still alive? (Used to spot runs whose recorder was killed.)

A pid can only be checked on the machine that recorded the run, and pids are reused, so the
ledger stores the host name and the process creation time next to the pid.
"""

from __future__ import annotations

import os
import socket


def this_host() -> str:
    """The host name stored with a recorder's pid."""
    return socket.gethostname()


def process_create_time_s(pid: int) -> float | None:
    """Creation time of process ``pid`` (seconds since the Unix epoch), None if unknown."""
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:  # psutil missing, no such process, access denied: simply unknown
        return None


def recorder_alive(pid: int | None, host: str | None, create_time_s: float | None) -> bool | None:
    """True / False when the recorder's liveness can be checked here, None when it cannot.

    It cannot be checked for a run recorded on another host (a shared PostgreSQL ledger) or
    without a pid. A zombie (killed, not yet reaped by its parent) counts as dead; so does a live
    process whose creation time differs from the recorded one by more than a second (pid reuse).
    """
    if pid is None or host is None or host != this_host():
        return None
    try:
        import psutil
    except ImportError:  # psutil is a dependency, but a bare os.kill check is still right
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by another user
            return True
        return True
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if create_time_s is not None and abs(proc.create_time() - create_time_s) > 1.0:
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # exists, owned by another user
        return True
    return True
