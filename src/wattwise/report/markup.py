"""Building blocks of the report's templates: provenance badges, numbers and money for people
(SI prefixes and grouped digits, never e-notation). Everything here returns plain text (or a
:class:`Badge` cell): the templates escape it (:mod:`wattwise.report.templating`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wattwise.core.documents import FootprintDocument
from wattwise.units import format_energy, format_number

PROVENANCE_ORDER = ("measured", "integrated", "estimated", "assumed")


@dataclass(frozen=True)
class Badge:
    """A table cell (or a template value) shown as a provenance badge."""

    provenance: str | None


#: A table cell: text (escaped by the template) or a provenance badge.
Cell = str | Badge


def badge_parts(provenance: str | None) -> tuple[str, str, str]:
    """(label, CSS kind, text) of a badge: the colour of the weakest kind in a label such as
    ``mixed: measured + estimated``; a value the user supplied (``given``, formerly ``user``)
    reads "given by you"."""
    label = provenance or "none"
    kinds = [k for k in (*PROVENANCE_ORDER, "user", "given") if k in label]
    weakest = next(
        (k for k in reversed(PROVENANCE_ORDER) if k in kinds), kinds[0] if kinds else "none"
    )
    css = "user" if weakest == "given" else weakest
    text = "given by you" if label in ("user", "given") else label
    return label, css, text


def num(x: Any, digits: int = 3) -> str:
    """A number for people: ``digits`` significant digits, grouped, never e-notation."""
    if not isinstance(x, int | float) or not math.isfinite(float(x)):
        return "—"
    return format_number(float(x), digits)


def energy(x: Any) -> str:
    """``1.2 kWh``, ``340 mJ``; ``—`` when not a number."""
    if not isinstance(x, int | float) or not math.isfinite(float(x)):
        return "—"
    return format_energy(float(x))


def money(x: Any, currency: str) -> str:
    """``1,234.50 EUR``, ``0.00114 EUR``; ``unknown — give --price`` when no price is known
    (:func:`wattwise.accounting.money.format_money`, as everywhere else)."""
    from wattwise.accounting.money import format_money

    ok = isinstance(x, int | float) and math.isfinite(float(x))
    return format_money(float(x) if ok else None, currency or None)


def attr_num(x: Any) -> str:
    """A raw number for a ``data-`` attribute (``.9g``); empty when not a number."""
    return f"{float(x):.9g}" if isinstance(x, int | float) else ""


def assumption(fp: FootprintDocument, name: str) -> Mapping[str, object]:
    """The footprint's assumption called ``name``; empty when it has none."""
    return next((a for a in fp.get("assumptions", []) if a.get("name") == name), {})
