"""The counts protocol between a tracked command and wattwise (issue 10, defect 3): the child's
``report_count`` never raises and writes only valid JSON; the parent validates what it reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattwise.workloads import counts
from wattwise.workloads.counts import ENV_VAR, CountsFollower, report_count


class Weird:
    def __float__(self) -> float:
        raise RuntimeError("no")


def _lines(path: Path) -> list[dict[str, object]]:
    def refuse(name: str) -> object:
        raise AssertionError(name)

    return [json.loads(ln, parse_constant=refuse) for ln in path.read_text().splitlines()]


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, -math.inf, -1.0, 10**400, 1e16, "x", None, Weird(), True, [1], 2.5],
)
def test_report_count_refuses_bad_values_without_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: object
) -> None:
    f = tmp_path / "c.jsonl"
    monkeypatch.setenv(ENV_VAR, str(f))
    assert report_count(steps=bad, tokens=3) is False  # type: ignore[arg-type]
    (line,) = _lines(f)
    assert line["tokens"] == 3.0 and "steps" not in line
    assert "steps" in line[counts.REFUSED_KEY]  # type: ignore[operator]


def test_report_count_never_raises_when_the_file_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # a directory
    assert report_count(tokens=1) is False
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing" / "c.jsonl"))
    assert report_count(tokens=1) is False
    monkeypatch.delenv(ENV_VAR)
    assert report_count(tokens=1) is False


def test_follower_waits_for_a_partial_line_and_skips_an_over_long_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "MAX_CHUNK_BYTES", 64)
    f = tmp_path / "c.jsonl"
    fol = CountsFollower(f)
    assert fol.poll() == []  # no file yet
    f.write_text('{"tokens": 1}\n{"tok')
    assert [e.units for e in fol.poll()] == [{"tokens": 1.0}]
    with f.open("a") as h:
        h.write('ens": 2}\n' + '{"x": "' + "y" * 200 + '"}\n{"requests": 4}\n')
    assert [e.units for e in fol.poll()] == [{"tokens": 2.0}, {"requests": 4.0}]
    assert any("over-long" in n for n in fol.notes)


def test_follower_notes_are_bounded(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text("".join(f'{{"unit{i}": -1}}\n' for i in range(500)))
    fol = CountsFollower(f)
    assert fol.poll() == []
    assert len(fol.notes) == counts.MAX_NOTES + 1
    assert fol.notes[-1].startswith(f"{500 - counts.MAX_NOTES} more")


_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=70), _values, max_size=6))
def test_any_report_count_call_never_raises_and_writes_valid_json(
    units: dict[str, object],
) -> None:
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "c.jsonl"
        old = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = str(f)
        try:
            ok = report_count(**units)  # type: ignore[arg-type]
        finally:
            if old is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = old
        (line,) = _lines(f)
        assert ok == (counts.REFUSED_KEY not in line)
        for ev in CountsFollower(f).poll():
            assert all(math.isfinite(v) and 0 <= v <= 1e15 for v in ev.units.values())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_in_the_counts_file_give_only_valid_counts(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "c.jsonl"
        f.write_bytes(data + b"\n")
        fol = CountsFollower(f)
        for ev in fol.poll():
            for unit, v in ev.units.items():
                assert unit and not unit.startswith("_")
                assert math.isfinite(v) and 0 <= v <= 1e15
        assert len(fol.notes) <= counts.MAX_NOTES + 1


def test_follower_reads_the_last_line_without_newline_once_the_writer_is_done(
    tmp_path: Path,
) -> None:
    from wattwise.workloads.counts import CountsFollower

    path = tmp_path / "counts.jsonl"
    path.write_text('{"tokens": 2}\n{"tokens": 3}', encoding="utf-8")
    f = CountsFollower(path)
    assert [e.units for e in f.poll()] == [{"tokens": 2.0}]  # a partial line waits
    assert [e.units for e in f.poll(final=True)] == [{"tokens": 3.0}]  # the writer exited
    assert f.poll(final=True) == []  # read once
    assert f.notes == []
