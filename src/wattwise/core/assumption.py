"""One input of an estimate or a footprint: its value, unit, provenance and source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from wattwise.core.provenance import Provenance, as_provenance


class AssumptionDocument(TypedDict):
    """An assumption in JSON. ``provenance`` is a :class:`Provenance` value."""

    name: str
    value: float | str
    unit: str
    provenance: str
    source: str


@dataclass(frozen=True)
class Assumption:
    """One input of a number: ``name``, ``value`` in ``unit``, how it was obtained, its source.

    ``value`` is a number where it is one (a PUE, gCO2e/kWh) and text otherwise (a method name,
    a band written ``0.4 (0.28-0.55)``, ``unknown``). ``provenance`` accepts the stored
    spellings (``"assumed"``, ``"user"``) and is always a :class:`Provenance` afterwards.
    """

    name: str
    value: float | str
    unit: str
    provenance: Provenance
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.provenance, Provenance):
            object.__setattr__(self, "provenance", as_provenance(self.provenance))

    @property
    def given(self) -> bool:
        """True when the user supplied this value."""
        return self.provenance is Provenance.GIVEN

    def to_dict(self) -> AssumptionDocument:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "provenance": self.provenance.value,
            "source": self.source,
        }

    @staticmethod
    def from_dict(d: AssumptionDocument) -> Assumption:
        """Inverse of :meth:`to_dict` (``user`` reads as ``given``)."""
        return Assumption(
            str(d["name"]), d["value"], str(d["unit"]), as_provenance(d["provenance"]),
            str(d["source"]),
        )  # fmt: skip
