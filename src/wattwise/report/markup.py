"""HTML building blocks of the report: escaping, provenance badges, numbers and money for
people (SI prefixes and grouped digits, never e-notation), cards, scrolling tables and chart
containers. Cell contents are HTML the caller escaped with :func:`e`; table heads are escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from wattwise.units import format_number

PROVENANCE_ORDER = ("measured", "integrated", "estimated", "assumed")


def e(x: object) -> str:
    return escape(str(x))


def badge(provenance: str | None) -> str:
    """A coloured badge: the weakest kind in a label such as ``mixed: measured + estimated``;
    a value the user supplied (``given``, formerly ``user``) reads "given by you"."""
    label = provenance or "none"
    kinds = [k for k in (*PROVENANCE_ORDER, "user", "given") if k in label]
    weakest = next(
        (k for k in reversed(PROVENANCE_ORDER) if k in kinds), kinds[0] if kinds else "none"
    )
    css = "user" if weakest == "given" else weakest
    text = "given by you" if label in ("user", "given") else label
    return f"<span class='badge b-{css}' data-provenance={quoteattr(label)}>{e(text)}</span>"


def num(x: Any, digits: int = 3) -> str:
    """A number for people: ``digits`` significant digits, grouped, never e-notation."""
    if not isinstance(x, int | float) or not math.isfinite(float(x)):
        return "—"
    return format_number(float(x), digits)


def money(x: Any, currency: str) -> str:
    """``1,234.50 EUR``, ``0.00114 EUR``; ``unknown`` when no price is known."""
    if not isinstance(x, int | float) or not math.isfinite(float(x)):
        return "unknown"
    v = float(x)
    shown = f"{v:,.2f}" if abs(v) >= 1 else format_number(v)
    return f"{shown} {e(currency)}".strip()


def card(metric: str, value: float | None, label: str, shown: str, sub: str) -> str:
    data = f" data-value='{value:.9g}'" if isinstance(value, int | float) else ""
    return (
        f"<div class='card' data-metric={quoteattr(metric)}{data}><div class='k'>{e(label)}</div>"
        f"<div class='v'>{shown}</div><div class='s'>{sub}</div></div>"
    )


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    """A table in a horizontal scroll container (wide tables scroll on a phone). ``head``
    is plain text (escaped here); cells are HTML the caller escaped."""
    nums = set(numeric)
    th = "".join(f"<th{' class=n' if i in nums else ''}>{e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in nums else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return (
        f"<div class='scroll'><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def scroll_chart(markup: str) -> str:
    """An SVG chart in a horizontal scroll container: on a narrow screen the chart keeps a
    readable size (``min-width``) and scrolls instead of shrinking its text."""
    return f"<div class='chart'>{markup}</div>"


def assumption(fp: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return next((a for a in fp.get("assumptions", []) if a.get("name") == name), {})


# --------------------------------------------------------------------------- sections
