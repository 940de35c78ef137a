"""The Python API in one place: ``wattwise.track()`` and a tracker that stores its run.

The tracker (:class:`wattwise.tracker.core.Tracker`) writes to sinks it is given and never opens
a ledger itself; this module is where ``store=`` becomes a ledger: ``store=True`` is
``$WATTWISE_DB`` or the default file, a string names another database (a path or a SQLAlchemy
URL). The ledger is opened when the tracker starts (not at construction) and closed when it
stops; if it cannot be opened, the run stays in memory and its notes say why
("ledger not used: ...").
"""

from __future__ import annotations

import contextlib
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.tracker.core import Tracker
    from wattwise.tracker.model import RunResult
    from wattwise.tracker.sink import RunSink

__all__ = ["LedgerOpener", "track", "tracker"]


class LedgerOpener:
    """Opens the ledger named by ``store`` when called (a tracker's ``open_sink``)."""

    #: How the tracker names this sink in a note when it cannot be opened.
    what = "ledger"

    def __init__(self, store: bool | str) -> None:
        if not isinstance(store, (bool, str)):
            raise TypeError(f"store must be True, False or a database path/URL, not {store!r}")
        self.url = None if store is True else str(store)

    def __call__(self) -> RunSink:
        from wattwise.ledger import Ledger

        return Ledger.open(self.url)


def tracker(name: str = "run", *, store: bool | str = False, **kwargs: Any) -> Tracker:
    """A :class:`~wattwise.tracker.core.Tracker` (not started) that also writes its run to the
    ledger named by ``store`` (False: to no ledger) and, with ``$WATTWISE_SERVER_URL`` set,
    pushes it to that team server (:func:`wattwise.push.sink.with_env_sink`). Other keyword
    arguments go to Tracker."""
    from wattwise.tracker.core import Tracker

    if os.environ.get("WATTWISE_SERVER_URL", "").strip():  # push the run to that team server
        from wattwise.push.sink import with_env_sink

        kwargs["sinks"] = with_env_sink(kwargs.get("sinks", ()))
    if store is not False and "open_sink" not in kwargs and kwargs.get("sink") is None:
        kwargs["open_sink"] = LedgerOpener(store)
    return Tracker(name, **kwargs)


class track(contextlib.ContextDecorator):  # lower-case: reads as a function
    """``with wattwise.track("name") as t:`` or ``@wattwise.track("name")``.

    Each entry creates a fresh tracker (:func:`tracker`, so ``store=True`` writes the run to the
    ledger as it goes); the finished tracker stays available as ``.tracker`` and its result as
    ``.result``.
    """

    def __init__(self, name: str = "run", **kwargs: Any) -> None:
        self.name = name
        self.kwargs = kwargs
        self.tracker: Tracker | None = None
        self.result: RunResult | None = None

    def __enter__(self) -> Tracker:
        self.tracker = tracker(self.name, **self.kwargs)
        return self.tracker.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.tracker is not None
        self.tracker.__exit__(exc_type, exc, tb)
        self.result = self.tracker.result
