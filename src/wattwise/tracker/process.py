"""Run a command under a tracker: forward signals, follow its count reports, pass its exit code.

:func:`run_tracked` is what ``wattwise run`` and ``wattwise audit -- CMD`` share:

* the command is checked first (:func:`check_command`): exit code 127 when it is not found,
  126 when it is not an executable file, as a POSIX shell does;
* SIGINT, SIGTERM and SIGHUP received by wattwise are forwarded to the command (installed
  before it starts, so none slips in between) — except a Ctrl-C from the terminal, which the
  command receives directly, once; the command decides how to end, and the run is
  ``interrupted`` when it ends after a signal;
* the command's :func:`wattwise.workloads.counts.report_count` lines are followed while it
  runs and fed to the tracker (``steps`` as step marks at the time the child made them); bad
  values are ignored with a note in the run;
* the exit code is the command's, or 128 + N when signal N ended it (as a shell reports it).

This module uses only the tracker and the counts protocol: nothing from ``wattwise.cli``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
#: Signals forwarded to the command (SIGHUP: the terminal went away; absent on Windows).
FORWARDED_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: How often the count reports are followed while the command runs, seconds.
DEFAULT_POLL_S = 1.0


@dataclass(frozen=True)
class ProcessOutcome:
    """How a tracked command ended: its exit code and the signals forwarded to it."""

    exit_code: int
    signals: tuple[int, ...] = ()
    started: bool = True
    error: str = ""

    @property
    def status(self) -> str:
        """The run status: ``finished`` (exit 0), ``interrupted`` (after a signal), ``failed``."""
        if self.exit_code == 0:
            return "finished"
        return "interrupted" if self.signals else "failed"


def executable_status(prog: str) -> int:
    """0 if ``prog`` can be executed, else the shell's exit code (127 not found, 126 not exec)."""
    if os.sep in prog or (os.altsep is not None and os.altsep in prog):
        p = Path(prog)
        if not p.exists():
            return EXIT_NOT_FOUND
        return 0 if (p.is_file() and os.access(p, os.X_OK)) else EXIT_NOT_EXECUTABLE
    if shutil.which(prog):
        return 0
    # Found on PATH but not executable: a shell says "permission denied", exit 126.
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and (Path(d) / prog).is_file():
            return EXIT_NOT_EXECUTABLE
    return EXIT_NOT_FOUND


def check_command(command: Sequence[str]) -> tuple[int, str] | None:
    """None if ``command`` can start, else (exit code, one line saying why)."""
    status = executable_status(command[0])
    if status == EXIT_NOT_FOUND:
        return status, f"command not found: {command[0]}"
    if status == EXIT_NOT_EXECUTABLE:
        return status, f"permission denied (not an executable file): {command[0]}"
    return None


def exit_code_of(returncode: int) -> int:
    """A Popen return code as a shell reports it: 128 + N for a command ended by signal N."""
    return returncode if returncode >= 0 else 128 - returncode


def _start_error_code(exc: OSError) -> int:
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT:
        return EXIT_NOT_FOUND
    return EXIT_NOT_EXECUTABLE  # EACCES, ENOEXEC (no #! line), a directory, ...


def _controlling_tty() -> int | None:
    """A file descriptor on this process's controlling terminal, or None (non-inheritable)."""
    try:
        return os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


class _Forwarder:
    """Signal handlers that pass SIGINT/TERM/HUP on to the child (pending until it exists).

    A Ctrl-C on the terminal sends SIGINT to the whole foreground process group, which holds
    the command too: forwarding it again would hit the command a second time — typically inside
    its ``except KeyboardInterrupt:`` clean-up (a checkpoint being saved). So a SIGINT is not
    forwarded while wattwise is in the foreground process group of its controlling terminal and
    the command is running (it got the signal directly, once); every other signal is.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self.forwarded: list[int] = []
        self._pending: list[int] = []
        self._child: subprocess.Popen[bytes] | None = None
        self._old: dict[int, Any] = {}
        self._tty: int | None = None

    def install(self) -> bool:
        """Install the handlers; False when not possible (not the main thread)."""
        try:
            for s in FORWARDED_SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        except ValueError:  # signal only works in the main thread of the main interpreter
            self.restore()
            return False
        self._tty = _controlling_tty()
        return True

    def restore(self) -> None:
        for s, h in self._old.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(s, h)
        self._old.clear()
        if self._tty is not None:
            with contextlib.suppress(OSError):
                os.close(self._tty)
            self._tty = None

    def _sent_by_the_terminal_to_us_both(self, signum: int) -> bool:
        """A SIGINT while we (and the command, same group) are the terminal's foreground."""
        if signum != signal.SIGINT or self._tty is None:
            return False
        try:
            return os.tcgetpgrp(self._tty) == os.getpgrp()
        except OSError:
            return False

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._child is None:
            self._pending.append(signum)
        elif not self._sent_by_the_terminal_to_us_both(signum):
            self._send(signum)

    def _send(self, signum: int) -> None:
        assert self._child is not None
        with contextlib.suppress(ProcessLookupError, OSError):
            self._child.send_signal(signum)
            self.forwarded.append(signum)

    def attach(self, child: subprocess.Popen[bytes]) -> None:
        """Follow ``child``; a signal that arrived while it was starting is sent now."""
        self._child = child
        while self._pending:
            self._send(self._pending.pop(0))


def apply_counts(tracker: Any, events: Sequence[Any]) -> None:
    """Feed count events to the tracker (``steps`` as step marks at the child's time).

    Never raises: a value the tracker cannot take is noted in the run instead.
    """
    for ev in events:
        units = dict(ev.units)
        steps = units.pop("steps", 0.0)
        try:
            if steps > 0:
                at_s = None
                if ev.wall_time_s is not None:
                    at_s = max(
                        0.0, min(tracker.elapsed_s(), ev.wall_time_s - tracker.start_wall_s)
                    )
                tracker.step(int(steps), at_s=at_s)
            if units:
                tracker.count(**units)
        except Exception as exc:  # never lose the run over a count
            tracker.add_note(f"count report ignored: {type(exc).__name__}: {exc}"[:200])


def run_tracked(
    tracker: Any,
    command: Sequence[str],
    *,
    stdout: IO[Any] | int | None = None,
    poll_s: float = DEFAULT_POLL_S,
    on_poll: Callable[[], None] | None = None,
    window: str | None = None,
    env: dict[str, str] | None = None,
) -> ProcessOutcome:
    """Run ``command`` under ``tracker`` (started here if it is not) until it exits.

    ``stdout`` redirects the command's standard output (e.g. to stderr when wattwise prints
    JSON). ``on_poll`` is called every ``poll_s`` seconds after the count reports were applied
    (a live forecast). ``window`` wraps the command in a named window. ``env`` replaces
    ``os.environ`` as the base environment. The tracker is not stopped: the caller stops it
    with ``exit_code=outcome.exit_code, status=outcome.status``. Never raises for a command
    that cannot start: the outcome says 127/126 and why.
    """
    from wattwise.workloads.counts import ENV_VAR, CountsFollower

    refused = check_command(command)
    if refused is not None:
        return ProcessOutcome(refused[0], started=False, error=refused[1])
    tmpdir = tempfile.TemporaryDirectory(prefix="wattwise-")
    counts_file = Path(tmpdir.name) / "counts.jsonl"
    child_env = dict(os.environ if env is None else env)
    child_env[ENV_VAR] = str(counts_file)
    child_env["WATTWISE_RUN_ID"] = tracker.run_id
    follower = CountsFollower(counts_file)
    fwd = _Forwarder()
    # Handlers go in before the command starts, so no signal can slip between the two.
    if not fwd.install():
        tracker.add_note("signals are not forwarded to the command (not the main thread)")
    try:
        tracker.start()
        win = tracker.window(window) if window else contextlib.nullcontext()
        with win:
            try:
                proc = subprocess.Popen(list(command), env=child_env, stdout=stdout)
            except OSError as exc:
                why = f"cannot run {command[0]}: {exc.strerror or exc}"
                tracker.add_note(why)
                return ProcessOutcome(_start_error_code(exc), started=False, error=why)
            fwd.attach(proc)
            tracker.attach_process(proc.pid)
            returncode = _wait(proc, tracker, follower, poll_s, on_poll)
            apply_counts(tracker, follower.poll(final=True))  # the last line, newline or not
    finally:
        fwd.restore()
        for n in follower.notes:
            tracker.add_note(n)
        tmpdir.cleanup()
    signals = tuple(fwd.received)
    if fwd.forwarded:
        names = ", ".join(dict.fromkeys(_signal_name(s) for s in fwd.forwarded))
        tracker.add_note(f"{names} forwarded to the command")
    direct = [s for s in signals if s not in fwd.forwarded]
    if direct:
        names = ", ".join(dict.fromkeys(_signal_name(s) for s in direct))
        tracker.add_note(f"{names} from the terminal: the command received it directly")
    return ProcessOutcome(exit_code_of(returncode), signals)


def _wait(
    proc: subprocess.Popen[bytes],
    tracker: Any,
    follower: Any,
    poll_s: float,
    on_poll: Callable[[], None] | None,
) -> int:
    """Wait for ``proc``, following its counts; a failure to follow never stops the wait."""
    while True:
        try:
            return proc.wait(timeout=poll_s)
        except subprocess.TimeoutExpired:
            pass
        try:
            apply_counts(tracker, follower.poll())
            if on_poll is not None:
                on_poll()
        except Exception as exc:  # never leave the command behind: wait for it plainly
            tracker.add_note(f"count reports not followed live: {type(exc).__name__}: {exc}")
            return proc.wait()


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
