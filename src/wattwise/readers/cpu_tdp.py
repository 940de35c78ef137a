"""The shipped CPU TDP table and the matching of a CPU model name against it.

Used by the CPU power model (:mod:`wattwise.readers.cpu_model`, which documents where the table
comes from and how a TDP is scaled to the machine). A match is exact after normalisation, or
fuzzy only when the model-number tokens agree.

Start-up cost: matching runs inside ``Tracker.start()``, so it does not parse and normalise the
whole table (4,854 rows, ~25 ms of CPU). Every token of a normalised name is a substring of the
lower-cased raw name (normalising only lower-cases, deletes and splits), so only the rows whose
raw line contains every model-number token of the name (or, without any, every token) can
match; they are found with ``str.find`` on the rarest token, and only their model field is
normalised. A name without a digit can only match exactly, and only one row's name has no digit
(:data:`DIGIT_FREE_NAMES`), so such a name is usually answered without reading the table. The
result is the one a scan of the whole table gives (``tests/readers/test_cpu_tdp.py`` checks
this against such a scan); the whole table is parsed and checked by
:func:`load_cpu_tdp_table` (tests, the doctor).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import NamedTuple

from wattwise.errors import DataError

#: Fuzzy matches below this token similarity (Jaccard over normalised tokens) are rejected.
FUZZY_THRESHOLD = 0.6

_TABLE_RESOURCE = "cpu_tdp.csv"


class CpuTdpEntry(NamedTuple):
    """One row of ``data/cpu_tdp.csv``: a CPU model, its TDP (W) and threads per socket.

    The records here are NamedTuples (immutable, compared by value), not frozen dataclasses:
    creating a dataclass costs ~1 ms, and this module is imported inside ``Tracker.start()``.
    """

    model: str
    tdp_w: float
    threads_per_socket: int | None = None


class CpuMatch(NamedTuple):
    """A table row matched to a model name; ``method`` is ``exact`` or ``fuzzy``."""

    entry: CpuTdpEntry
    method: str
    score: float


# ---------------------------------------------------------------------------------------------
# The TDP table
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _table_text() -> str:
    """The table's text: read from the package directory, or through importlib.resources
    (imported only then: it costs ~5 ms) when the package is not a plain directory (a zip)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        with open(os.path.join(here, "data", _TABLE_RESOURCE), encoding="utf-8") as f:
            return f.read()
    except OSError:
        from importlib import resources

        resource = resources.files("wattwise").joinpath("data", _TABLE_RESOURCE)
        return resource.read_text(encoding="utf-8")


def _split_row(line: str) -> list[str]:
    """The fields of one CSV line; without a quote character, csv's split is the plain one
    (and the ``csv`` module is not imported)."""
    if '"' not in line:
        return line.split(",")
    import csv

    return next(csv.reader([line]), [])


def _columns(header_line: str) -> tuple[int, int, int | None]:
    """Positions of ``model``, ``tdp_w`` and (optional) ``threads_per_socket``."""
    header = _split_row(header_line)
    try:
        model, tdp = header.index("model"), header.index("tdp_w")
    except ValueError as exc:
        raise DataError(f"{_TABLE_RESOURCE} header {header!r}: {exc}") from exc
    threads = header.index("threads_per_socket") if "threads_per_socket" in header else None
    return model, tdp, threads


def _entry(row: Sequence[str], cols: tuple[int, int, int | None], line_no: int) -> CpuTdpEntry:
    """One checked row. Raises :class:`DataError` naming the line."""
    i_model, i_tdp, i_threads = cols
    try:
        tdp_w = float(row[i_tdp])
        threads_raw = row[i_threads].strip() if i_threads is not None else ""
        threads = int(threads_raw) if threads_raw else None
        model = row[i_model].strip()
    except (IndexError, TypeError, ValueError) as exc:
        raise DataError(f"{_TABLE_RESOURCE} line {line_no}: {exc}") from exc
    if not 1.0 <= tdp_w <= 500.0:
        raise DataError(f"{_TABLE_RESOURCE} line {line_no}: implausible TDP {tdp_w} W")
    return CpuTdpEntry(model, tdp_w, threads)


@lru_cache(maxsize=1)
def load_cpu_tdp_table() -> tuple[CpuTdpEntry, ...]:
    """The whole shipped CPU TDP table (cached). Raises :class:`DataError` when it is malformed.

    One row per line (no quoted line breaks), which the matcher relies on.
    """
    lines = _table_text().splitlines()
    if not lines:
        raise DataError(f"{_TABLE_RESOURCE} is empty")
    cols = _columns(lines[0])
    import csv  # the full parse only (tests, the doctor)

    rows = csv.reader(lines[1:])
    return tuple(_entry(row, cols, n) for n, row in enumerate(rows, start=2) if row)


_Row = tuple[int, str]  # (offset of a table row's line in the table text, the line)


@lru_cache(maxsize=1)
def _lowered() -> str | None:
    """The table text lower-cased, or None where that moves offsets (a character whose lower
    case is longer, which the shipped table does not have): then every line is looked at."""
    text = _table_text()
    low = text.lower()
    return low if len(low) == len(text) else None


def _line_spans(text: str, needle: str | None) -> Iterator[tuple[int, int]]:
    """(start, end) of each line of ``text`` holding ``needle`` (every line when None)."""
    pos = text.find(needle) if needle is not None else 0
    while 0 <= pos < len(text):
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        yield start, end
        pos = text.find(needle, end) if needle is not None else end + 1


#: The normalised names in ``data/cpu_tdp.csv`` without a digit (a model number). A name
#: without a digit can only match exactly, so any other such name (a cloud guest's bare
#: "Intel(R) Xeon(R) Processor", "AMD EPYC") is unknown without reading the table.
#: ``tests/readers/test_cpu_tdp.py`` recomputes this from the table.
DIGIT_FREE_NAMES = frozenset({"intel aubrey isle"})


@lru_cache(maxsize=16)
def _candidates(needles: frozenset[str]) -> dict[str, _Row]:
    """Normalised model name -> its row (first in table order), for the rows whose raw line
    holds every needle: the whole table's index restricted to those rows (module docstring).

    Lines are found with ``str.find`` over the lower-cased text, and only the model field of
    those is split out and normalised; a row is parsed and checked (:func:`_entry_of`) only
    once it is a match.
    """
    text = _table_text()
    low = _lowered()
    header_end = text.find("\n")
    if header_end < 0:
        raise DataError(f"{_TABLE_RESOURCE} has no rows")
    i_model = _columns(text[:header_end].rstrip("\r"))[0]
    if low is None:
        spans = _line_spans(text, None)
    else:  # follow the rarest needle (str.count is a fast C loop)
        spans = _line_spans(low, min(sorted(needles), key=low.count))
    index: dict[str, _Row] = {}
    for start, end in spans:
        line_low = low[start:end] if low is not None else text[start:end].lower()
        if start <= header_end or not all(t in line_low for t in needles):
            continue
        line = text[start:end].rstrip("\r")
        fields = _split_row(line)
        if i_model < len(fields):
            index.setdefault(normalise_cpu_name(fields[i_model]), (start, line))
    return index


def _entry_of(row: _Row) -> CpuTdpEntry:
    """The checked table entry of a row from :func:`_candidates`. Raises :class:`DataError`."""
    start, line = row
    text = _table_text()
    header = text[: text.find("\n")].rstrip("\r")
    line_no = text.count("\n", 0, start) + 1
    return _entry(_split_row(line), _columns(header), line_no)


#: Trademarks, then the noise left out of a name, in this order (compiled on first use: the
#: eight patterns cost ~1 ms, and a name :func:`match_cpu_model` answers without normalising,
#: or one without any trigger below, never needs them).
_TRADEMARKS = r"\((?:r|tm|c)\)|®|™"
_NOISE = (
    r"@.*$",  # "@ 2.90GHz": the clock, not the model
    r"\([^)]*\)",  # "(OEM Only)", "(9M Cache, up to 4.00 GHz)"
    r"\bwith radeon.*$",  # "AMD Ryzen 7 5800H with Radeon Graphics"
    r"\b\d+-core\b",  # "AMD EPYC 7763 64-Core Processor"
    r"\b\d+(?:\.\d+)?\s*ghz\b",
    r"^\d+(?:st|nd|rd|th) gen\b",  # "13th Gen Intel(R) Core(TM) i7-1365U"
    r"\b(?:cpu|processor|apu)\b",
)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    """:data:`_TRADEMARKS` and :data:`_NOISE`, compiled (once)."""
    return tuple(re.compile(p) for p in (_TRADEMARKS, *_NOISE))


#: Substrings without which none of the patterns above (nor the comma rule) can match: a name
#: holding none of them normalises to its lower-cased, whitespace-collapsed self.
_TRIGGERS = (
    "(", "®", "™", "@", ",",  # trademarks, parentheses, the clock, commas
    "with radeon", "-core", "ghz", "gen", "cpu", "processor", "apu",
)


def normalise_cpu_name(name: str) -> str:
    """Lower-case ``name`` without trademarks, clock, core count and filler words.

    ``"Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"`` -> ``"intel xeon platinum 8375c"``;
    ``"AMD EPYC 7763 64-Core Processor"`` -> ``"amd epyc 7763"``.
    """
    s = _fold(name)
    if not any(t in s for t in _TRIGGERS):
        return " ".join(s.split())
    return _normalise_with_patterns(s)


def _fold(name: str) -> str:
    """Lower case, with zero-width spaces as spaces (the table has ``"6600HS\u200b"``)."""
    s = name.lower()
    return s.replace("\u200b", " ") if "\u200b" in s else s


def _normalise_with_patterns(lowered: str) -> str:
    s = lowered
    for pattern in _patterns():  # the trademarks first, then the noise
        s = pattern.sub(" ", s)
    s = s.replace(",", " ")
    return " ".join(s.split())


def _may_match(folded: str) -> bool:
    """False when no row can match the name whose :func:`_fold` is ``folded``.

    Every token of the normalised name is a substring of ``folded`` (normalising only deletes
    and splits), so a name without a digit has no model-number token and can only match one of
    :data:`DIGIT_FREE_NAMES` exactly, which needs each of that name's tokens in ``folded``. A
    cloud guest's bare ``Intel(R) Xeon(R) Processor`` is answered here, without normalising.
    """
    if any(c.isdigit() for c in folded):
        return True
    return any(all(t in folded for t in n.split()) for n in DIGIT_FREE_NAMES)


def _model_tokens(tokens: Iterable[str]) -> frozenset[str]:
    """Tokens that carry a digit: the model number ("8375c", "e5-2686", "v4", "7")."""
    return frozenset(t for t in tokens if any(c.isdigit() for c in t))


def match_cpu_model(name: str) -> CpuMatch | None:
    """Match a CPU model name against the TDP table; None when unknown.

    Exact match after :func:`normalise_cpu_name` first. Otherwise a fuzzy match that only
    considers rows whose model-number tokens (tokens with a digit) are exactly the name's, so a
    bare family name ("AMD EPYC", "Intel Xeon") or an unknown SKU ("AMD EPYC 7B13") never
    borrows the TDP of another part. Among those, the best Jaccard token similarity wins if it
    reaches :data:`FUZZY_THRESHOLD`; a tie between rows of different TDP is treated as unknown.
    """
    if not _may_match(_fold(name)):
        return None  # no digit, and no digit-free row's tokens: normalising cannot help
    key = normalise_cpu_name(name)
    if not key:
        return None
    tokens = frozenset(key.split())
    wanted = _model_tokens(tokens)
    if not wanted and key not in DIGIT_FREE_NAMES:
        return None  # only an exact match could come, and no row has this name
    index = _candidates(wanted or tokens)
    exact = index.get(key)
    if exact is not None:
        return CpuMatch(_entry_of(exact), "exact", 1.0)
    if not wanted:
        return None
    best: list[tuple[float, _Row]] = []
    for cand_key, row in index.items():
        cand = frozenset(cand_key.split())
        if _model_tokens(cand) != wanted:
            continue
        score = len(tokens & cand) / len(tokens | cand)
        if score < FUZZY_THRESHOLD:
            continue
        if not best or score > best[0][0]:
            best = [(score, row)]
        elif score == best[0][0]:
            best.append((score, row))
    entries = [_entry_of(row) for _, row in best]
    if not entries or len({e.tdp_w for e in entries}) > 1:
        return None
    score, entry = best[0][0], entries[0]
    return CpuMatch(entry, "fuzzy", round(score, 3))
