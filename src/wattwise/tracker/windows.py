"""Named windows of a run, kept in a bounded log.

A server that opens a window per request runs for months: the first :data:`MAX_WINDOWS` windows
are kept one by one, later ones are merged into one window per (name, parent), whose energies,
missing seconds and counts add up (see :func:`~wattwise.tracker.model.merge_windows`), and the
run says so in a note.
"""

from __future__ import annotations

from wattwise.tracker.devices import Snapshot
from wattwise.tracker.model import WindowResult, merge_windows
from wattwise.tracker.notes import NoteLog
from wattwise.tracker.outcome import short_repr
from wattwise.validate import clean_name

#: Windows kept one by one in a run.
MAX_WINDOWS = 10_000


def clean_name_noted(notes: NoteLog, name: object, what: str) -> str:
    """A run or window name fit for the ledger and a terminal
    (:func:`wattwise.validate.clean_name`: ``str()`` of a non-string, control characters
    removed, an empty one named ``what``, at most 200 characters); a changed name gets a note,
    once per kind of change. Never raises."""
    clean, why = clean_name(name, placeholder=what)
    if why:
        notes.once(
            f"name:{what}:{why}",
            f"{what} name {short_repr(name)} {why}: recorded as {clean!r}",
            repeat_label=f"{what} names changed ({why})",
        )
    return clean


class Window:
    """An open (or closed) named window; returned by :meth:`Tracker.start_window`.

    Compared by identity: two windows may share a name and a start. A plain class, not a
    dataclass: creating one costs ~1 ms inside every process's first ``Tracker.start()``.
    """

    __slots__ = ("counts", "name", "parent", "result", "start")

    def __init__(
        self,
        name: str,
        parent: str | None,
        start: Snapshot,
        counts: dict[str, float] | None = None,
        result: WindowResult | None = None,
    ) -> None:
        self.name = name
        self.parent = parent
        self.start = start
        self.counts: dict[str, float] = {} if counts is None else counts
        self.result = result

    def __repr__(self) -> str:
        return (
            f"Window(name={self.name!r}, parent={self.parent!r}, start={self.start!r}, "
            f"counts={self.counts!r}, result={self.result!r})"
        )


class WindowLog:
    """The closed windows of a run, bounded (caller serialises calls)."""

    def __init__(self, notes: NoteLog, max_windows: int = MAX_WINDOWS) -> None:
        self._notes = notes
        self._max = max_windows
        self._windows: list[WindowResult] = []
        self._merged_at: dict[tuple[str, str | None], int] = {}

    def keep(self, res: WindowResult) -> None:
        """Keep ``res``; beyond the bound, merge it into the window of its name and parent."""
        if len(self._windows) < self._max:
            self._windows.append(res)
            return
        key = (res.name, res.parent)
        idx = self._merged_at.get(key)
        if idx is None:
            self._merged_at[key] = len(self._windows)
            self._windows.append(res)
            return
        self._windows[idx] = merge_windows(self._windows[idx], res)
        self._notes.once(
            f"windows-merged:{res.name}:{res.parent}",
            f"more than {self._max} windows: later windows {res.name!r} are merged into one "
            "(energies and counts add up; it spans from the first start to the last end)",
            repeat_label=f"windows {res.name!r} merged",
        )

    def all(self) -> tuple[WindowResult, ...]:
        return tuple(self._windows)
