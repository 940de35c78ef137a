"""The notes of a run: bounded, with "once per kind of fault" bookkeeping.

A month-long run with a flapping sensor or a loop that counts NaN must not grow its notes without
bound, nor bury the first, informative note under a million copies: :meth:`NoteLog.once` records
a note the first time a key is seen and only counts the repeats; :meth:`NoteLog.summary` turns
the counts into one line each at the end of the run.
"""

from __future__ import annotations

import threading

#: Most notes one run keeps; beyond it one line says how many were left out.
MAX_NOTES = 1000
#: Most distinct "once" keys remembered (unit names and device ids come from user code).
MAX_KEYS = 10_000


class NoteLog:
    """Append-only notes with a bound, safe to use from the sampler thread."""

    def __init__(self, max_notes: int = MAX_NOTES) -> None:
        self._notes: list[str] = []
        self._max = max_notes
        self._suppressed = 0
        self._repeats: dict[str, int] = {}
        self._labels: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, note: str) -> None:
        """Record ``note`` (or count it as left out once the run holds :data:`MAX_NOTES`)."""
        with self._lock:
            if len(self._notes) < self._max:
                self._notes.append(note)
            else:
                self._suppressed += 1

    def once(self, key: str, note: str, *, repeat_label: str = "") -> bool:
        """Record ``note`` the first time ``key`` is seen; count later ones. True when recorded.

        ``repeat_label`` names the repeats in :meth:`summary` (e.g. ``count(tokens=...)
        ignored``); without it repeats are only counted.
        """
        with self._lock:
            if key in self._repeats:
                self._repeats[key] += 1
                return False
            if len(self._repeats) >= MAX_KEYS:
                self._suppressed += 1
                return False
            self._repeats[key] = 0
            if repeat_label:
                self._labels[key] = repeat_label
        self.add(note)
        return True

    def seen(self, key: str) -> bool:
        with self._lock:
            return key in self._repeats

    def summary(self) -> list[str]:
        """One line per key that repeated, and one for notes left out over the bound."""
        with self._lock:
            out = [
                f"{self._labels[k]} {n + 1} times in all"
                for k, n in self._repeats.items()
                if n > 0 and k in self._labels
            ]
            if self._suppressed:
                out.append(f"{self._suppressed} further notes were left out (limit {self._max})")
            return out

    def all(self, *, with_summary: bool = False) -> tuple[str, ...]:
        with self._lock:
            notes = tuple(self._notes)
        return (*notes, *self.summary()) if with_summary else notes
