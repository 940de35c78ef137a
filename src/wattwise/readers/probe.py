"""What a reader's ``probe()`` found: the vocabulary of ``wattwise doctor``, not of tracking.

Defined apart from :mod:`wattwise.readers.base` (which re-exports it, lazily) because a tracker
never probes: discovery opens the readers it chooses, so ``Tracker.start()`` does not create
this dataclass (~1 ms of start-up). Reader modules import it inside their ``probe()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.readers.base import DeviceInfo

__all__ = ["ProbeResult"]


@dataclass(frozen=True)
class ProbeResult:
    """What ``probe()`` found: usable or not, why, and the devices it would report."""

    reader: str
    available: bool
    reason: str
    devices: tuple[DeviceInfo, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)
