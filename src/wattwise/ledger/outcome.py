"""Where a run's writes went: the truthful answer to "is this run stored?" (pure).

:meth:`wattwise.ledger.Ledger.outcome` returns a :class:`WriteOutcome`; the CLI prints its
:meth:`~WriteOutcome.line` instead of a fixed "stored in the ledger" line.
"""

from __future__ import annotations

from dataclasses import dataclass

STORED = "stored"
SPOOLED = "spooled"
LOST = "lost"
STATES = (STORED, SPOOLED, LOST)


@dataclass(frozen=True)
class WriteOutcome:
    """The state of one run's writes to a ledger.

    ``state``:

    * ``stored``: its final write (``finish_run`` and every ``set_extra`` after it) committed;
    * ``spooled``: some of its records could not be committed and wait in the local spool file
      ``spool_path``; they are replayed into the ledger at its next (writable) open;
    * ``lost``: the ledger does not hold the finished run and no spool does either.

    ``detail`` says why (the database error, "not finished", ...); empty when stored.
    """

    state: str
    detail: str = ""
    run_id: str = ""
    spool_path: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"invalid write outcome {self.state!r}: one of {', '.join(STATES)}")

    @property
    def stored(self) -> bool:
        return self.state == STORED

    def line(self) -> str:
        """One line for a person, e.g. ``stored in the ledger: wattwise runs show 1a2b3c4d5e6f``."""
        if self.state == STORED:
            return f"stored in the ledger: wattwise runs show {self.run_id[:12]}"
        if self.state == SPOOLED:
            why = f" ({self.detail})" if self.detail else ""
            return (
                f"NOT yet in the ledger{why}: spooled to {self.spool_path}, "
                "replayed at the ledger's next open"
            )
        return f"NOT stored in the ledger: {self.detail or 'reason unknown'}"
