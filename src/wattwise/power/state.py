"""The settings always come back: originals recorded before any change, restored at the end.

The state file ``$XDG_STATE_HOME/wattwise/power-state.json`` (default ``~/.local/state/...``) is
written atomically *before* the first change::

    {"version": 1, "pid": 1234, "created_at": "2026-...Z", "simulated": false,
     "shape": null, "reset_clocks": false,
     "gpus": [{"index": 0, "uuid": "GPU-...", "name": "NVIDIA H100 80GB HBM3",
               "power_limit_w": 700.0}]}

:class:`guarded` restores the recorded limits (and resets locked clocks when the plan locks
them) on normal exit, on an exception and on SIGINT, SIGTERM and SIGHUP (after which the process
exits with 128 + the signal number); then it removes the file. Nothing survives SIGKILL, so the
file stays: ``wattwise tune --reset`` (:func:`reset_from_file`) restores from it, and
``wattwise doctor`` warns while it exists (:func:`pending_changes`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from wattwise.errors import WattwiseError
from wattwise.power.nvml_control import NvmlControl

STATE_VERSION = 1
RESTORE_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/wattwise`` (default ``~/.local/state/wattwise``)."""
    environ = os.environ if env is None else env
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wattwise"


def state_path(env: Mapping[str, str] | None = None) -> Path:
    return state_dir(env) / "power-state.json"


def _host() -> str:
    import re
    import socket

    return re.sub(r"[^A-Za-z0-9._-]+", "-", socket.gethostname()) or "host"


def gpus_state_path(nvml_indices: list[int], env: Mapping[str, str] | None = None) -> Path:
    """The state file of a process that tunes only some of this node's GPUs
    (``power-state-<host>-gpu0-2.json``), so that jobs on other GPUs of the node keep theirs."""
    return state_dir(env) / f"power-state-{_host()}-gpu{'-'.join(map(str, nvml_indices))}.json"


def state_path_for(control: NvmlControl, env: Mapping[str, str] | None = None) -> Path:
    """:func:`gpus_state_path` of the GPUs ``control`` selected, else :func:`state_path`."""
    if control.select is None or control.simulated:
        return state_path(env)
    return gpus_state_path([control.settings(i).index for i in range(control.count)], env)


def rank_state_path(rank: int, env: Mapping[str, str] | None = None) -> Path:
    """The state file of rank ``rank`` of a distributed job on this node
    (``power-state-<host>-rank<N>.json``: a home directory shared by the nodes keeps them apart)."""
    return state_dir(env) / f"power-state-{_host()}-rank{rank}.json"


def state_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """Every state file that may hold this node's originals: the one of a tune of every GPU,
    then those of tunes of some GPUs or of a distributed job's ranks on this node
    (``wattwise tune --reset`` and ``doctor`` read all)."""
    mine = sorted(state_dir(env).glob(f"power-state-{_host()}-*.json"))
    return [state_path(env), *mine]


def read_state(path: Path) -> dict[str, Any] | None:
    """The recorded originals, or None when there is no (readable) state file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
        return None
    return doc


def record(
    control: NvmlControl, path: Path, *, reset_clocks: bool, shape: str | None = None
) -> dict[str, Any]:
    """Write the current limits of every GPU to ``path`` (atomically); return the document."""
    from wattwise.outputs import atomic_write_text

    gpus = []
    for i in range(control.count):  # index: NVML's; the UUID finds the GPU again
        s = control.settings(i)
        gpus.append(
            {"index": s.index, "uuid": s.uuid, "name": s.name, "power_limit_w": s.power_limit_w}
        )
    doc = {
        "version": STATE_VERSION,
        "pid": os.getpid(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "simulated": control.simulated,
        "shape": shape,
        "reset_clocks": reset_clocks,
        "gpus": gpus,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    return doc


def restore(control: NvmlControl, doc: Mapping[str, Any]) -> list[str]:
    """Put back the limits in ``doc`` (and reset locked clocks); return the failures (lines)."""
    failures: list[str] = []
    for row in doc.get("gpus", []):
        i = control.position(row.get("uuid"), int(row["index"]))
        if i is None:
            failures.append(f"GPU {row['index']} ({row.get('uuid')}): not found to restore")
            continue
        try:
            if doc.get("reset_clocks"):
                control.reset_sm_clock(i)
            if control.settings(i).power_limit_w != float(row["power_limit_w"]):
                control.set_power_limit(i, float(row["power_limit_w"]))
        except WattwiseError as exc:
            failures.append(f"GPU {row['index']}: {exc}")
    return failures


def is_restored(control: NvmlControl, doc: Mapping[str, Any]) -> bool:
    """True when every GPU in ``doc`` is back at its recorded limit."""
    for row in doc.get("gpus", []):
        i = control.position(row.get("uuid"), int(row["index"]))
        if i is None or control.settings(i).power_limit_w != float(row["power_limit_w"]):
            return False
    return True


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _blocked(signals: tuple[signal.Signals, ...]) -> Iterator[None]:
    """Hold ``signals`` off while restoring (a second Ctrl-C must not interrupt it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class guarded:
    """Record the originals, then restore them however the block ends.

    ``with guarded(control, path, reset_clocks=...) as g: ...``; afterwards ``g.restored`` says
    whether every GPU is back at its recorded limit and ``g.failures`` lists what could not be
    restored. A SIGINT / SIGTERM / SIGHUP inside the block restores, then exits the process
    with ``SystemExit(128 + signum)``.
    """

    def __init__(
        self,
        control: NvmlControl,
        path: Path,
        *,
        reset_clocks: bool,
        shape: str | None = None,
        restore_in_handler: bool = False,
    ) -> None:
        self.control, self.path = control, path
        self.reset_clocks, self.shape = reset_clocks, shape
        #: Restore inside the signal handler itself, then raise SystemExit there (for callers
        #: without a ``with`` block around the work: the training callbacks).
        self.restore_in_handler = restore_in_handler
        self.exited = False
        self.doc: dict[str, Any] = {}
        self.restored = False
        self.failures: list[str] = []
        self._old: dict[int, Any] = {}

    def __enter__(self) -> guarded:
        existing = read_state(self.path)
        if existing is not None:
            raise WattwiseError(
                f"{self.path} records GPU settings an earlier wattwise tune changed and did not "
                "restore (pid {}); run 'wattwise tune --reset' first".format(existing.get("pid"))
            )
        self._refuse_overlap()
        self.control.check_privilege()
        self.doc = record(self.control, self.path, reset_clocks=self.reset_clocks, shape=self.shape)
        if threading.current_thread() is threading.main_thread():
            for sig in RESTORE_SIGNALS:
                self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    def _refuse_overlap(self) -> None:
        """Refuse GPUs that another state file beside ours records (another tune of the same
        GPU, running or killed): two tuners must never fight over one GPU. Simulated GPUs live
        in their own process and never overlap."""
        if self.control.simulated:
            return
        ours = {self.control.settings(i).uuid for i in range(self.control.count)}
        for other in sorted(self.path.parent.glob("power-state*.json")):
            doc = read_state(other) if other != self.path else None
            if doc is None or doc.get("simulated"):
                continue
            shared = ours & {str(g.get("uuid")) for g in doc.get("gpus", [])}
            if shared:
                raise WattwiseError(
                    f"{other} records settings of {', '.join(sorted(shared))} that another "
                    f"wattwise tune (pid {doc.get('pid')}) changed: one tuner per GPU. When it "
                    "is no longer running, run 'wattwise tune --reset' first"
                )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.restore_in_handler and not self.exited:
            self.__exit__(_Signalled, _Signalled(signum), None)  # raises SystemExit
        raise _Signalled(signum)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        if self.exited:  # restored already (in the signal handler)
            return False
        self.exited = True
        with _blocked(RESTORE_SIGNALS):
            try:
                self.failures = restore(self.control, self.doc)
                self.restored = not self.failures and is_restored(self.control, self.doc)
            finally:
                for sig, old in self._old.items():
                    signal.signal(sig, old)
                if self.restored:
                    self.path.unlink(missing_ok=True)
        if isinstance(exc, _Signalled):
            raise SystemExit(128 + exc.signum) from None
        return False


def reset_from_file(control: NvmlControl, path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """``wattwise tune --reset``: restore what ``path`` records, remove it when that worked."""
    doc = read_state(path)
    if doc is None:
        return None, []
    failures = restore(control, doc)
    if not failures and is_restored(control, doc):
        path.unlink(missing_ok=True)
    return doc, failures


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pending_changes(env: Mapping[str, str] | None = None) -> list[str]:
    """Lines for ``wattwise doctor``: GPUs still at settings a wattwise tune changed."""
    return [line for path in state_files(env) for line in _pending_in(path)]


def _pending_in(path: Path) -> list[str]:
    doc = read_state(path)
    if doc is None:
        return []
    kind = "simulated GPU" if doc.get("simulated") else "GPU"
    who = (
        f"a running wattwise tune (pid {doc.get('pid')})"
        if _alive(doc.get("pid"))
        else "a wattwise tune that did not finish"
    )
    lines = []
    for row in doc.get("gpus", []):
        lines.append(
            f"{kind} {row.get('index')} ({row.get('name')}) may still be at a power limit "
            f"{who} set; its original limit was {row.get('power_limit_w')} W: run "
            f"'wattwise tune --reset' ({path})"
        )
    return lines
