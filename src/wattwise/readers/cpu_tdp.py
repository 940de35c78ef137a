"""The shipped CPU TDP table and the matching of a CPU model name against it.

Used by the CPU power model (:mod:`wattwise.readers.cpu_model`, which documents where the table
comes from and how a TDP is scaled to the machine). A match is exact after normalisation, or
fuzzy only when the model-number tokens agree.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from wattwise.errors import DataError

#: Fuzzy matches below this token similarity (Jaccard over normalised tokens) are rejected.
FUZZY_THRESHOLD = 0.6

_TABLE_RESOURCE = "cpu_tdp.csv"


@dataclass(frozen=True)
class CpuTdpEntry:
    """One row of ``data/cpu_tdp.csv``: a CPU model, its TDP (W) and threads per socket."""

    model: str
    tdp_w: float
    threads_per_socket: int | None = None


@dataclass(frozen=True)
class CpuMatch:
    """A table row matched to a model name; ``method`` is ``exact`` or ``fuzzy``."""

    entry: CpuTdpEntry
    method: str
    score: float


# ---------------------------------------------------------------------------------------------
# The TDP table
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def load_cpu_tdp_table() -> tuple[CpuTdpEntry, ...]:
    """The shipped CPU TDP table (cached). Raises :class:`DataError` when it is malformed."""
    resource = resources.files("wattwise").joinpath("data", _TABLE_RESOURCE)
    text = resource.read_text(encoding="utf-8")
    entries: list[CpuTdpEntry] = []
    for line_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            tdp_w = float(row["tdp_w"])
            threads_raw = (row.get("threads_per_socket") or "").strip()
            threads = int(threads_raw) if threads_raw else None
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{_TABLE_RESOURCE} line {line_no}: {exc}") from exc
        if not 1.0 <= tdp_w <= 500.0:
            raise DataError(f"{_TABLE_RESOURCE} line {line_no}: implausible TDP {tdp_w} W")
        entries.append(CpuTdpEntry(row["model"].strip(), tdp_w, threads))
    return tuple(entries)


@lru_cache(maxsize=1)
def _table_index() -> dict[str, CpuTdpEntry]:
    index: dict[str, CpuTdpEntry] = {}
    for entry in load_cpu_tdp_table():
        index.setdefault(normalise_cpu_name(entry.model), entry)
    return index


_TRADEMARKS = re.compile(r"\((?:r|tm|c)\)|®|™")
_NOISE = [
    re.compile(r"@.*$"),  # "@ 2.90GHz": the clock, not the model
    re.compile(r"\([^)]*\)"),  # "(OEM Only)", "(9M Cache, up to 4.00 GHz)"
    re.compile(r"\bwith radeon.*$"),  # "AMD Ryzen 7 5800H with Radeon Graphics"
    re.compile(r"\b\d+-core\b"),  # "AMD EPYC 7763 64-Core Processor"
    re.compile(r"\b\d+(?:\.\d+)?\s*ghz\b"),
    re.compile(r"^\d+(?:st|nd|rd|th) gen\b"),  # "13th Gen Intel(R) Core(TM) i7-1365U"
    re.compile(r"\b(?:cpu|processor|apu)\b"),
]


def normalise_cpu_name(name: str) -> str:
    """Lower-case ``name`` without trademarks, clock, core count and filler words.

    ``"Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"`` -> ``"intel xeon platinum 8375c"``;
    ``"AMD EPYC 7763 64-Core Processor"`` -> ``"amd epyc 7763"``.
    """
    s = _TRADEMARKS.sub(" ", name.lower())
    for pattern in _NOISE:
        s = pattern.sub(" ", s)
    s = s.replace(",", " ")
    return " ".join(s.split())


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
    key = normalise_cpu_name(name)
    if not key:
        return None
    index = _table_index()
    exact = index.get(key)
    if exact is not None:
        return CpuMatch(exact, "exact", 1.0)
    tokens = frozenset(key.split())
    wanted = _model_tokens(tokens)
    if not wanted:
        return None
    best: list[tuple[float, CpuTdpEntry]] = []
    for cand_key, entry in index.items():
        cand = frozenset(cand_key.split())
        if _model_tokens(cand) != wanted:
            continue
        score = len(tokens & cand) / len(tokens | cand)
        if score < FUZZY_THRESHOLD:
            continue
        if not best or score > best[0][0]:
            best = [(score, entry)]
        elif score == best[0][0]:
            best.append((score, entry))
    if not best or len({e.tdp_w for _, e in best}) > 1:
        return None
    score, entry = best[0]
    return CpuMatch(entry, "fuzzy", round(score, 3))
