"""How a number was obtained: the one provenance vocabulary of wattwise.

Every number wattwise reports says where it came from. From most to least trustworthy:

* ``measured`` — a hardware energy counter (RAPL ``energy_uj``, NVML total energy);
* ``integrated`` — power samples integrated over time by wattwise;
* ``estimated`` — a model (TDP × utilisation, FLOPs / MFU, ...) or a reference table's figure
  for what the user named (a country's yearly grid average, a provider's fleet PUE);
* ``given`` — a value the user supplied (``--pue 1.2``, ``--power-w 200``, ``method="lora"``):
  wattwise neither measured it nor chose it, and reports it as **given by you**;
* ``assumed`` — a default wattwise used because the user did not say.

Documents written before ``given`` existed spelled it ``user``; :class:`Provenance` still reads
that spelling (``Provenance("user") is Provenance.GIVEN``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Provenance(str, Enum):
    """How a number was obtained, from most to least trustworthy (see the module docstring)."""

    MEASURED = "measured"  # a hardware energy counter (RAPL energy_uj, NVML total energy)
    INTEGRATED = "integrated"  # power samples integrated over time by wattwise
    ESTIMATED = "estimated"  # a model (TDP x utilisation, FLOPs / MFU, ...) or a table figure
    GIVEN = "given"  # a value the user supplied: "given by you"
    ASSUMED = "assumed"  # a default the user did not set

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Provenance | None:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _ALIASES:
                return _ALIASES[text]
            for member in cls:
                if member.value == text:
                    return member
        return None

    @property
    def label(self) -> str:
        """The words a person reads: ``given by you`` for :attr:`GIVEN`, else the value."""
        return "given by you" if self is Provenance.GIVEN else self.value


#: Earlier spellings still accepted when reading stored documents.
_ALIASES: dict[str, Provenance] = {"user": Provenance.GIVEN, "given by you": Provenance.GIVEN}

#: Order used when a total mixes kinds: the total is only as good as its weakest part. A given
#: value ranks below an estimate (wattwise cannot check it) and above a default.
PROVENANCE_RANK: dict[Provenance, int] = {
    Provenance.MEASURED: 0,
    Provenance.INTEGRATED: 1,
    Provenance.ESTIMATED: 2,
    Provenance.GIVEN: 3,
    Provenance.ASSUMED: 4,
}


def weakest(provenances: Iterable[Provenance]) -> Provenance | None:
    """The least trustworthy provenance in ``provenances`` (None when there is none)."""
    items = list(provenances)
    if not items:
        return None
    return max(items, key=lambda p: PROVENANCE_RANK[p])


def as_provenance(value: Provenance | str) -> Provenance:
    """``value`` as a :class:`Provenance` (accepts the stored spellings, ``user`` included).

    Raises ValueError for a string that names no provenance.
    """
    return value if isinstance(value, Provenance) else Provenance(value)
