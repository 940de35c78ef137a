"""Power management: GPU power-limit and clock tuning, CPU frequency governors.

Control is kept apart from the readers (which only measure). Every module here imports its
vendor library itself, only when used: importing this package imports none of them.

``with wattwise.power.tuned() as t: ... t.step()`` tunes the GPUs from inside a loop
(:mod:`wattwise.power.session`); ``tuned`` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["TunedSession", "tuned"]

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.power.session import TunedSession as TunedSession
    from wattwise.power.session import tuned as tuned


def __getattr__(name: str) -> Any:
    if name in __all__:
        from wattwise.power import session

        return getattr(session, name)
    raise AttributeError(f"module 'wattwise.power' has no attribute {name!r}")
