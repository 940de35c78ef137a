"""The start-up path of CPU matching gives the answers a scan of the whole table gives."""

from __future__ import annotations

import functools

import pytest

from wattwise.readers import cpu_tdp
from wattwise.readers.cpu_tdp import (
    FUZZY_THRESHOLD,
    CpuMatch,
    CpuTdpEntry,
    load_cpu_tdp_table,
    match_cpu_model,
    normalise_cpu_name,
)

#: Names as /proc/cpuinfo and platform.processor() print them (cloud guests, laptops, servers).
REAL_NAMES = [
    "Intel(R) Xeon(R) Processor",
    "Intel(R) Xeon(R) CPU @ 2.20GHz",
    "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
    "Intel(R) Xeon(R) Platinum 8480+",
    "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz",
    "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz",
    "13th Gen Intel(R) Core(TM) i7-1365U",
    "AMD EPYC 7763 64-Core Processor",
    "AMD EPYC 7B13",
    "AMD EPYC",
    "AMD Ryzen 7 5800H with Radeon Graphics",
    "AMD Ryzen Threadripper PRO 5995WX 64-Cores",
    "Neoverse-N1",
    "Intel Aubrey Isle",  # the one row whose name has no digit: the exact-only path finds it
    "Intel(R) Aubrey Isle Processor",
    "",
]


@functools.cache
def _whole_table_index() -> dict[str, CpuTdpEntry]:
    index: dict[str, CpuTdpEntry] = {}
    for entry in load_cpu_tdp_table():
        index.setdefault(cpu_tdp._normalise_with_patterns(cpu_tdp._fold(entry.model)), entry)
    return index


@functools.cache
def _by_model_tokens() -> dict[frozenset[str], list[tuple[frozenset[str], CpuTdpEntry]]]:
    out: dict[frozenset[str], list[tuple[frozenset[str], CpuTdpEntry]]] = {}
    for key, entry in _whole_table_index().items():
        cand = frozenset(key.split())
        out.setdefault(cpu_tdp._model_tokens(cand), []).append((cand, entry))
    return out


def _reference_match(name: str) -> CpuMatch | None:
    """The matcher as it was before the start-up work: index every row, then look up."""
    index = _whole_table_index()
    key = cpu_tdp._normalise_with_patterns(cpu_tdp._fold(name))
    if not key:
        return None
    if key in index:
        return CpuMatch(index[key], "exact", 1.0)
    tokens = frozenset(key.split())
    wanted = cpu_tdp._model_tokens(tokens)
    if not wanted:
        return None
    best: list[tuple[float, CpuTdpEntry]] = []
    for cand, entry in _by_model_tokens().get(wanted, []):  # in table order
        score = len(tokens & cand) / len(tokens | cand)
        if score < FUZZY_THRESHOLD:
            continue
        if not best or score > best[0][0]:
            best = [(score, entry)]
        elif score == best[0][0]:
            best.append((score, entry))
    if not best or len({e.tdp_w for _, e in best}) > 1:
        return None
    return CpuMatch(best[0][1], "fuzzy", round(best[0][0], 3))


def _variants(model: str) -> list[str]:
    words = model.split()
    return [
        model,
        f"{model} CPU @ 2.40GHz",  # the noise /proc/cpuinfo adds
        " ".join(words[1:]),  # vendor dropped: a fuzzy case
        " ".join(words[:-1]),  # last word dropped: fuzzy or no match
    ]


def test_the_fast_normalisation_equals_the_patterns_on_every_row() -> None:
    names = [e.model for e in load_cpu_tdp_table()] + REAL_NAMES
    for name in names:
        slow = cpu_tdp._normalise_with_patterns(cpu_tdp._fold(name))
        assert normalise_cpu_name(name) == slow, name


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_match_as_a_whole_table_scan_does(name: str) -> None:
    assert match_cpu_model(name) == _reference_match(name)


def test_table_rows_and_their_variants_match_as_a_whole_table_scan_does() -> None:
    table = load_cpu_tdp_table()
    for entry in table[::60]:  # ~80 rows, 4 variants each: every kind of row
        for name in _variants(entry.model):
            assert match_cpu_model(name) == _reference_match(name), name


def test_the_table_has_one_row_per_line() -> None:
    """The matcher finds rows by offsets of "\\n" in the lower-cased text: no quoted line
    breaks, no other line separators, and lower-casing keeps every offset."""
    text = cpu_tdp._table_text()
    lines = text.splitlines()
    assert lines == text.rstrip("\n").split("\n")
    assert len(load_cpu_tdp_table()) == len([ln for ln in lines[1:] if ln.strip()])
    assert cpu_tdp._lowered() is not None


def test_a_zero_width_space_in_the_table_does_not_hide_the_model() -> None:
    """The shipped row "AMD Ryzen 5 6600HS" ends in U+200B: it matched nothing."""
    assert any("\u200b" in e.model for e in load_cpu_tdp_table())
    m = match_cpu_model("AMD Ryzen 5 6600HS Creator Edition")
    assert m is not None and m.entry.model.startswith("AMD Ryzen 5 6600HS")
    exact = match_cpu_model("AMD Ryzen 5 6600HS")
    assert exact is not None and exact.method == "exact"


def test_digit_free_names_are_those_of_the_table() -> None:
    """The matcher answers names without a digit from this set; it must be the table's."""
    keys = set(_whole_table_index())
    assert {k for k in keys if not cpu_tdp._model_tokens(k.split())} == cpu_tdp.DIGIT_FREE_NAMES


def test_a_bare_family_name_is_answered_without_reading_the_table() -> None:
    cpu_tdp._table_text.cache_clear()
    assert match_cpu_model("Intel(R) Xeon(R) Processor") is None
    assert cpu_tdp._table_text.cache_info().currsize == 0


def test_a_bare_family_name_is_answered_without_compiling_the_name_patterns() -> None:
    """Start-up: a cloud guest's digit-free name needs none of the normalising patterns; a name
    with a model number compiles them once."""
    cpu_tdp._patterns.cache_clear()
    assert match_cpu_model("Intel(R) Xeon(R) Processor") is None
    assert match_cpu_model("AMD EPYC Processor") is None
    assert cpu_tdp._patterns.cache_info().currsize == 0
    m = match_cpu_model("Intel(R) Aubrey Isle Processor")  # digit-free, but a row's tokens
    assert m == _reference_match("Intel(R) Aubrey Isle Processor")
    assert cpu_tdp._patterns.cache_info().currsize == 1
