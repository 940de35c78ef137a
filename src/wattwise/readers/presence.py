"""Cheap tests that a hardware interface is absent, made before its reader module is imported.

Reader discovery runs inside ``Tracker.start()``, on the caller's thread. Importing a hardware
reader costs milliseconds (its modules, and for NVML the ``pynvml`` binding, ~20 ms), which a
machine without that hardware (most VMs, every CPU-only laptop) should not pay. Each function
here answers with the reason the interface cannot be used, or None when it may be there; None
means "import the reader and let it decide", so a None is never wrong, only slower. The
reasons are the ones the readers themselves give (they use these functions too).

Imports nothing beyond ``os``, ``sys`` and ``typing`` at module level.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # pragma: no cover
    from importlib.machinery import ModuleSpec

# -- Linux powercap (RAPL) -------------------------------------------------------------------

DEFAULT_POWERCAP_ROOT = "/sys/class/powercap"
ROOT_ENV_VAR = "WATTWISE_POWERCAP_ROOT"


def powercap_root(environ: Mapping[str, str] | None = None) -> str:
    """The powercap root: ``$WATTWISE_POWERCAP_ROOT`` when set and non-empty, else sysfs."""
    env = os.environ if environ is None else environ
    return env.get(ROOT_ENV_VAR) or DEFAULT_POWERCAP_ROOT


def no_powercap_tree(root: str | os.PathLike[str]) -> str:
    """The reason given when ``root`` is not a directory."""
    return (
        f"no powercap tree at {os.fspath(root)} (not Linux, RAPL driver intel_rapl_msr not "
        f"loaded, or a VM / container without RAPL; set {ROOT_ENV_VAR} if sysfs is mounted "
        "elsewhere)"
    )


def powercap_missing(root: str | os.PathLike[str] | None = None) -> str | None:
    """Why RAPL cannot be read under ``root`` (default :func:`powercap_root`), or None."""
    root = powercap_root() if root is None else root
    return None if os.path.isdir(root) else no_powercap_tree(root)


# -- NVIDIA (NVML) ---------------------------------------------------------------------------

#: The shared library pynvml loads on every platform but Windows (``pynvml._LoadNvmlLibrary``).
NVML_LIBRARY = "libnvidia-ml.so.1"
NO_NVIDIA_DRIVER_FIX = (
    "On a GPU machine install the NVIDIA driver; in a container, start it with the NVIDIA "
    "Container Toolkit (docker run --gpus all)"
)


def nvml_library_missing(library: str | None = None) -> str | None:
    """Why NVML's shared library (default :data:`NVML_LIBRARY`) cannot be loaded, or None.

    The same ``dlopen`` that pynvml's ``nvmlInit`` does, so the answer is the one NVML would
    give; made first because importing pynvml (a 6,000-line module of ctypes structures) costs
    ~20 ms. Where the library loads it stays loaded, and pynvml's own load reuses it. On
    Windows, where pynvml searches for ``nvml.dll`` itself, the answer is always None.
    """
    if sys.platform.startswith("win"):
        return None
    library = library or NVML_LIBRARY
    try:
        _dlopen(library)
    except OSError as exc:
        return f"no NVIDIA driver: {library} was not found ({exc}). {NO_NVIDIA_DRIVER_FIX}"
    return None


def _dlopen(library: str) -> None:
    """``dlopen`` ``library`` as ``ctypes.CDLL`` does; raises OSError when it cannot be loaded.

    Through ``_ctypes.dlopen`` (what ``ctypes.CDLL`` calls) where it exists: importing the
    ``ctypes`` package costs ~1.5 ms more.
    """
    try:
        from _ctypes import dlopen
    except ImportError:  # an interpreter without CPython's _ctypes
        import ctypes

        ctypes.CDLL(library)
        return
    dlopen(library, getattr(os, "RTLD_NOW", 2) | getattr(os, "RTLD_LOCAL", 0))


# -- AMD (amdsmi) ----------------------------------------------------------------------------

AMD_INSTALL_HINT = 'pip install "wattwise[amd]"'


def amdsmi_missing() -> str | None:
    """Why the ``amdsmi`` binding cannot be used: it is not installed; else None.

    The package is looked up without importing it (an installed amdsmi that cannot load
    ``libamd_smi.so`` is left to the reader, which says so), by :func:`top_level_spec`.
    """
    try:
        spec = top_level_spec("amdsmi")
    except (ImportError, ValueError):  # a broken or half-imported package: let the reader tell
        return None
    if spec is None:
        return f"the amdsmi package is not installed: {AMD_INSTALL_HINT}"
    return None


def top_level_spec(name: str) -> ModuleSpec | None:
    """The module spec of the top-level module ``name``, or None where no finder has it.

    What ``importlib.util.find_spec(name)`` answers for a top-level name (the module's
    ``__spec__`` when imported, else the first of ``sys.meta_path`` that finds it), without
    importing ``importlib.util`` (~0.7 ms, inside ``Tracker.start()``). Raises ValueError for
    an imported module without a spec, as find_spec does.
    """
    module = sys.modules.get(name)
    if module is not None:
        spec = getattr(module, "__spec__", None)
        if spec is None:
            raise ValueError(f"{name}.__spec__ is None")
        return cast("ModuleSpec", spec)
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is not None and (spec := find(name, None)) is not None:
            return cast("ModuleSpec", spec)
    return None


__all__ = [
    "AMD_INSTALL_HINT",
    "DEFAULT_POWERCAP_ROOT",
    "NO_NVIDIA_DRIVER_FIX",
    "NVML_LIBRARY",
    "ROOT_ENV_VAR",
    "amdsmi_missing",
    "no_powercap_tree",
    "nvml_library_missing",
    "powercap_missing",
    "powercap_root",
    "top_level_spec",
]
