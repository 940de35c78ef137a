"""Hardware readers: one module per interface, plus CPU / memory power models and a registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wattwise.readers.base import DeviceInfo, Provenance, Reader, Reading

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.probe import ProbeResult as ProbeResult

__all__ = ["DeviceInfo", "ProbeResult", "Provenance", "Reader", "Reading"]


def __getattr__(name: str) -> object:
    """``ProbeResult``, imported on first use (see :mod:`wattwise.readers.probe`)."""
    if name == "ProbeResult":
        from wattwise.readers.probe import ProbeResult

        return ProbeResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
