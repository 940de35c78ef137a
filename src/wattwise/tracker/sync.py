"""Device synchronisation at window boundaries: a window closes after its kernels have run.

GPU frameworks queue work and return at once: a window closed right after a training step would
read the energy counters while the step's kernels still run, and their energy would land in the
next window. The tracker therefore calls a *sync* function before it reads the counters at every
boundary (run start and stop, window start and stop), as Zeus does at ``begin_window`` /
``end_window``. :func:`resolve_sync` turns ``Tracker(sync=...)`` into that function:

* ``"auto"`` (the default): through torch, only when torch is already imported **and** CUDA is
  initialised in this process (``torch.cuda.is_initialized()``). Checked at each boundary (torch
  may be imported after the tracker is made); nothing is imported to check (no CUDA context
  means no queued kernels), so ``import wattwise`` and a CPU run pay a dictionary look-up.
* ``"torch"``: every CUDA device that has a context in this process (``torch.cuda.synchronize``
  per device; only the current one when torch cannot say which have one), and MPS when it is in
  use; torch is imported at the first boundary.
* ``"jax"``: a scalar put on each local device and waited for (``block_until_ready``), the
  workaround Zeus uses for JAX's lack of a device-wide barrier (google/jax#4335).
* ``"cupy"``: the current CuPy device (``cupy.cuda.Device().synchronize()``).
* a callable: called with no argument (e.g. ``lambda: torch.cuda.synchronize(3)``).
* ``None``: no synchronisation.

A sync that raises never reaches the user's code: the run gets one note per kind of failure and
the boundary is read anyway.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from wattwise.errors import ConfigError
from wattwise.readers.presence import top_level_spec
from wattwise.tracker.notes import NoteLog

#: What ``Tracker(sync=...)`` accepts.
SyncSpec = str | Callable[[], object] | None

FRAMEWORKS = ("torch", "jax", "cupy")


def _torch_devices(torch: Any) -> None:
    """Wait for the queued work of every CUDA device with a context here, and of MPS."""
    cuda = torch.cuda
    if cuda.is_initialized():
        has_context = getattr(torch._C, "_cuda_hasPrimaryContext", None)
        if has_context is None:  # pragma: no cover - a build without it: the current device
            cuda.synchronize()
        else:
            for i in range(cuda.device_count()):
                if has_context(i):  # never create a context on an unused GPU just to wait
                    cuda.synchronize(i)
    mps = getattr(torch, "mps", None)
    backends_mps = getattr(getattr(torch, "backends", None), "mps", None)
    if mps is not None and backends_mps is not None and backends_mps.is_available():
        mps.synchronize()


def sync_auto() -> None:
    """Through torch when it is imported and CUDA is initialised; otherwise nothing."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)  # None too while torch is half-imported
    if cuda is not None and cuda.is_initialized():
        _torch_devices(torch)


def sync_torch() -> None:
    _torch_devices(importlib.import_module("torch"))


def sync_jax() -> None:
    jax = importlib.import_module("jax")
    for device in jax.local_devices():
        jax.device_put(0.0, device=device).block_until_ready()


def sync_cupy() -> None:
    importlib.import_module("cupy").cuda.Device().synchronize()


_BY_NAME: dict[str, Callable[[], None]] = {
    "auto": sync_auto,
    "torch": sync_torch,
    "jax": sync_jax,
    "cupy": sync_cupy,
}


def resolve_sync(spec: object, notes: NoteLog) -> Callable[[], None]:
    """The function the tracker calls before each boundary reading; it never raises.

    Raises :class:`~wattwise.errors.ConfigError` at construction for a name that is not one of
    ``"auto"``, ``"torch"``, ``"jax"``, ``"cupy"``, for a framework that is not installed
    (looked up with :func:`~wattwise.readers.presence.top_level_spec`, not imported) and for
    any other non-callable value.
    """
    if spec is None:
        return _nothing
    if isinstance(spec, str):
        name = spec.strip().lower()
        if name not in _BY_NAME:
            raise ConfigError(
                f"sync={spec!r}: give 'auto', 'torch', 'jax', 'cupy', a callable or None"
            )
        if name in FRAMEWORKS and top_level_spec(name) is None:
            raise ConfigError(f"sync={spec!r}: {name} is not installed in this environment")
        return _guarded(_BY_NAME[name], name, notes)
    if callable(spec):
        return _guarded(spec, getattr(spec, "__name__", type(spec).__name__), notes)
    raise ConfigError(f"sync={spec!r}: give 'auto', 'torch', 'jax', 'cupy', a callable or None")


def _nothing() -> None:
    return None


def _guarded(fn: Callable[[], object], label: str, notes: NoteLog) -> Callable[[], None]:
    def sync() -> None:
        try:
            fn()
        except Exception as exc:  # never hurt the run: the boundary is read anyway
            kind = type(exc).__name__
            notes.once(
                f"sync:{label}:{kind}",
                f"device sync ({label}) failed: {kind}: {str(exc)[:200]}; windows were read "
                "without waiting for queued device work",
                repeat_label=f"device sync ({label}) failed",
            )

    return sync
