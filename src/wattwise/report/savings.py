"""Savings of recommended actions against one baseline, combined without double counting.

Every action is an :class:`Effect` on the audit's yearly :class:`Site` (IT energy at scale,
PUE, grid intensity, price). Its saving *alone* is the baseline minus the baseline with the
effect applied. Actions are then ranked and applied **in sequence** (greedily: the next is the
one that saves the most carbon, then facility energy, on top of those ranked above it), so each
action's stated saving is what it adds after the ones above it and the savings of all actions
add up to what doing them all saves. Two actions that claim the same kWh (a cleaner cloud region
with PUE 1.09 and a facility with PUE ≤ 1.1) cannot both count it.

Units: kWh per year (``facility`` = IT × PUE), kgCO2e per year (location-based), money per year
in the site's currency (``None`` when no price is known).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wattwise.core.documents import AuditFindingsDocument, EffectDocument, RegionRowDocument


@dataclass(frozen=True)
class Site:
    """A year at the audit's scale: IT energy (kWh), PUE, gCO2e/kWh, price per facility kWh."""

    it_kwh: float
    pue: float
    intensity_g_per_kwh: float
    price_per_kwh: float | None
    currency: str

    @property
    def facility_kwh(self) -> float:
        return self.it_kwh * self.pue

    @property
    def co2e_kg(self) -> float:
        return self.facility_kwh * self.intensity_g_per_kwh / 1000.0

    @property
    def money(self) -> float | None:
        return None if self.price_per_kwh is None else self.facility_kwh * self.price_per_kwh


@dataclass(frozen=True)
class Effect:
    """What an action changes. ``it_factor`` scales IT energy (0.6: a 40 % cut); ``pue``,
    ``intensity_g_per_kwh`` and ``price_per_kwh`` replace the site's (a move elsewhere);
    ``pue_at_most`` caps the PUE (a better facility: no change where it is already lower).
    ``price_currency``: the currency of ``price_per_kwh``; when it differs from the site's,
    money can no longer be compared (price unknown from then on)."""

    it_factor: float = 1.0
    pue: float | None = None
    pue_at_most: float | None = None
    intensity_g_per_kwh: float | None = None
    price_per_kwh: float | None = None
    price_currency: str | None = None
    price_unknown: bool = False

    def to_dict(self) -> EffectDocument:
        """The effect as the ``effect`` of a recommendation's row (fields in order)."""
        return {
            "it_factor": self.it_factor,
            "pue": self.pue,
            "pue_at_most": self.pue_at_most,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "price_per_kwh": self.price_per_kwh,
            "price_currency": self.price_currency,
            "price_unknown": self.price_unknown,
        }

    def apply(self, s: Site) -> Site:
        pue = self.pue if self.pue is not None else s.pue
        if self.pue_at_most is not None:
            pue = min(pue, self.pue_at_most)
        price = s.price_per_kwh
        if self.price_unknown:
            price = None
        elif self.price_per_kwh is not None:
            same = self.price_currency in (None, s.currency)
            price = self.price_per_kwh if same and s.price_per_kwh is not None else None
        return replace(
            s,
            it_kwh=s.it_kwh * self.it_factor,
            pue=pue,
            intensity_g_per_kwh=(
                s.intensity_g_per_kwh
                if self.intensity_g_per_kwh is None
                else self.intensity_g_per_kwh
            ),
            price_per_kwh=price,
        )


def region_effect(row: RegionRowDocument) -> Effect:
    """Moving to a compared place: its grid intensity, PUE and price per facility kWh."""
    cost, kwh = row.get("cost"), _num(row.get("facility_energy_kwh"))
    price = currency = None
    if isinstance(cost, Mapping) and kwh:
        value = _num(cost.get("value"))
        price = value / kwh if value is not None else None
        currency = str(cost.get("currency") or "")
    return Effect(
        pue=_num(row.get("pue")),
        intensity_g_per_kwh=_num(row.get("intensity_g_per_kwh")),
        price_per_kwh=price,
        price_currency=currency,
        price_unknown=price is None,
    )


@dataclass(frozen=True)
class Saving:
    """What one action saves per year: facility kWh, kgCO2e, money (None: no price)."""

    facility_kwh: float
    co2e_kg: float
    money: float | None


def saving(before: Site, after: Site) -> Saving:
    money = None
    if before.money is not None and after.money is not None:
        money = before.money - after.money
    return Saving(before.facility_kwh - after.facility_kwh, before.co2e_kg - after.co2e_kg, money)


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(float(x)) else None


def baseline_site(doc: AuditFindingsDocument) -> Site | None:
    """The audit's yearly site from ``doc["scale"]``; None when the figures are missing."""
    scale = doc.get("scale") or {}
    year = scale.get("year") or {}
    it, pue = _num(year.get("it_energy_kwh")), _num(scale.get("pue"))
    intensity = _num(scale.get("intensity_g_per_kwh"))
    if it is None:
        return None
    if pue is None:  # older documents: PUE from the year's facility energy
        facility = _num(year.get("facility_energy_kwh"))
        pue = facility / it if facility is not None and it > 0 else 1.0
    if intensity is None:
        kg, facility = _num(year.get("co2e_location_kg")), it * pue
        intensity = kg * 1000.0 / facility if kg is not None and facility > 0 else 0.0
    return Site(
        it, pue, intensity, _num(scale.get("price_per_kwh")), str(scale.get("currency") or "")
    )


@dataclass(frozen=True)
class Step:
    """One action in the combined sequence: its index in the input, its saving after the
    actions before it, and its saving alone."""

    index: int
    marginal: Saving
    alone: Saving


def combine(effects: Sequence[Effect], base: Site) -> tuple[list[Step], Site]:
    """Order ``effects`` greedily by the carbon (then facility energy) each adds on top of the
    ones chosen before; returns the steps in that order and the site after all of them."""
    left = list(range(len(effects)))
    state = base
    steps: list[Step] = []
    while left:

        def gain(i: int, s: Site = state) -> tuple[float, float]:
            g = saving(s, effects[i].apply(s))
            return (g.co2e_kg, g.facility_kwh)

        best = max(left, key=gain)
        after = effects[best].apply(state)
        steps.append(Step(best, saving(state, after), saving(base, effects[best].apply(base))))
        state = after
        left.remove(best)
    return steps, state
