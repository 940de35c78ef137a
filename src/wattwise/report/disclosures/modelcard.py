"""The Hugging Face model card ``co2_eq_emissions`` metadata block, and merging it into a card.

The Hub documents the block (https://huggingface.co/docs/hub/model-cards-co2) as::

    co2_eq_emissions:
      emissions: number (in grams of CO2)
      source: "source of the information ..."
      training_type: "pre-training or fine-tuning"
      geographical_location: "as granular as possible ..."
      hardware_used: "how much compute and what kind, e.g. 8 v100 GPUs"

The Hub does not say whether ``emissions`` is location- or market-based, nor whether it covers
facility overhead: wattwise writes the **location-based** figure of facility energy (IT × PUE) —
the physical grid's, as ISO/IEC 21031 SCI uses — and says so, with the market-based figure and
any offsets, in comments inside the block (offsets are never subtracted). Only the documented
keys are written, so the Hub's metadata check sees nothing unknown.

:func:`merge_front_matter` replaces the block in an existing card's YAML front matter (or adds
it, or adds front matter) leaving **every other byte of the file as it was**: the bytes before
and after the block, the line endings, a byte-order mark, comments and key order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wattwise.errors import ConfigError
from wattwise.report.disclosures.subject import Work, total_of

KEY = "co2_eq_emissions"
_KEY_LINE = re.compile(rf"^{KEY}[ \t]*:")
_FENCE = "---"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string escapes are a subset of YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _g(x: float) -> str:
    """A YAML number, 6 significant digits (``369.857``)."""
    return repr(float(f"{x:.6g}"))


def _n(x: float) -> str:
    """A number in a comment, 6 significant digits (``40``, ``6.6``)."""
    return f"{x:.6g}"


def _training_type(works: Sequence[Work]) -> str | None:
    stages = {w.stage for w in works}
    if stages == {"pre-training"} or stages == {"fine-tuning"}:
        return next(iter(stages))
    if stages <= {"pre-training", "fine-tuning"} and len(stages) == 2:
        return "pre-training and fine-tuning"
    return None


def _source(works: Sequence[Work]) -> str:
    from wattwise import __version__

    kinds = " + ".join(sorted({w.energy_provenance for w in works}))
    return (
        f"wattwise {__version__}: energy {kinds}; location-based gCO2e of facility energy "
        "(IT x PUE) x grid intensity"
    )


@dataclass(frozen=True)
class Block:
    """The block's lines (no newline characters) and the figures they state."""

    lines: tuple[str, ...]
    emissions_g: float
    training_type: str | None


def co2_block(works: Sequence[Work]) -> Block:
    """The ``co2_eq_emissions`` block of ``works`` (added up when several)."""
    total = total_of(works)
    locations = "; ".join(dict.fromkeys(w.location for w in works))
    hardware = "; ".join(dict.fromkeys(w.hardware_text for w in works))
    ttype = _training_type(works)
    lines = [
        f"{KEY}:",
        f"  emissions: {_g(total.co2e_location_g)}",
        f"  source: {_q(_source(works))}",
    ]
    if ttype is not None:
        lines.append(f"  training_type: {_q(ttype)}")
    lines += [
        f"  geographical_location: {_q(locations)}",
        f"  hardware_used: {_q(hardware)}",
        "  # wattwise: emissions are gCO2e, location-based, of facility energy "
        f"{_n(total.facility_energy_kwh)} kWh (IT {_n(total.it_energy_kwh)} kWh x PUE);",
        "  # the Hub does not say location- or market-based: market-based (GHG Protocol "
        f"Scope 2) = {_n(total.co2e_market_g)} g; embodied hardware share "
        f"{_n(total.embodied_co2e_g)} g not included",
    ]
    if ttype is None:
        lines.append("  # training_type not stated (give --stage pre-training|fine-tuning)")
    if total.offsets_kg is not None:
        lines.append(
            f"  # offsets: {_n(total.offsets_kg)} kgCO2e declared, reported separately, NOT "
            "subtracted from emissions (GHG Protocol)"
        )
    else:
        lines.append("  # offsets: none declared (offsets are never subtracted from emissions)")
    return Block(tuple(lines), total.co2e_location_g, ttype)


# ------------------------------------------------------------------------------ merging


def _lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` (each piece keeps its own line ending)."""
    return [p for p in re.split(r"(?<=\n)", text) if p]


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def _newline(lines: Sequence[str]) -> str:
    for line in lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
    return "\n"


def _front_matter(lines: Sequence[str]) -> tuple[int, int] | None:
    """(index of the first line inside, index of the closing fence) or None (no front matter)."""
    if not lines or _bare(lines[0]).rstrip() != _FENCE:
        return None
    for i in range(1, len(lines)):
        if _bare(lines[i]).rstrip() in (_FENCE, "..."):
            return 1, i
    raise ConfigError("the model card's front matter opens with '---' and never closes")


def _block_span(lines: Sequence[str], start: int, end: int) -> tuple[int, int] | None:
    """[first, last) lines of the top-level ``co2_eq_emissions`` entry within [start, end)."""
    for i in range(start, end):
        if _KEY_LINE.match(lines[i]):
            j = i + 1
            last = j
            while j < end:
                bare = _bare(lines[j])
                if bare.strip() == "":
                    j += 1
                    continue
                if bare[0] in " \t":
                    j += 1
                    last = j
                    continue
                break
            return i, last
    return None


def merge_front_matter(original: bytes, block: Block) -> bytes:
    """``original`` (a model card) with ``block`` in its YAML front matter; every byte outside
    the replaced (or inserted) block unchanged. ConfigError for a card that is not UTF-8 or
    whose front matter never closes."""
    bom = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
    try:
        text = original[len(bom) :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the model card is not UTF-8 text ({exc.reason})") from None
    lines = _lines(text)
    nl = _newline(lines)
    new = [line + nl for line in block.lines]
    fm = _front_matter(lines)
    if fm is None:
        merged = [_FENCE + nl, *new, _FENCE + nl, *lines]
    else:
        start, end = fm
        span = _block_span(lines, start, end)
        if span is None:
            merged = [*lines[:end], *new, *lines[end:]]
        else:
            merged = [*lines[: span[0]], *new, *lines[span[1] :]]
    return bom + "".join(merged).encode("utf-8")


def front_matter_text(card: bytes) -> str | None:
    """The YAML between the fences of ``card`` (None when it has no front matter)."""
    text = card.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    lines = _lines(text)
    fm = _front_matter(lines)
    if fm is None:
        return None
    return "".join(lines[fm[0] : fm[1]])


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    """A unified diff of the card (what ``--dry-run`` shows)."""
    import difflib

    a = before.decode("utf-8", "replace").splitlines(keepends=True)
    b = after.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, path, f"{path} (merged)"))
