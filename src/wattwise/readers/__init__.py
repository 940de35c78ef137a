"""Hardware readers: one module per interface, plus CPU / memory power models and a registry."""

from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reader, Reading

__all__ = ["DeviceInfo", "ProbeResult", "Provenance", "Reader", "Reading"]
