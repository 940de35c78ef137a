"""How a tracked block ended (status and exit code), and small helpers for run metadata."""

from __future__ import annotations


def host_info() -> dict[str, str]:
    import os
    import platform
    import socket

    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": str(os.cpu_count() or 0),
    }


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
