"""The ledger never fails a write because of a value (issue 10, defect 2, second line of
defence): non-finite numbers anywhere in a run are refused with a recorded note, and what the
ledger gives back is always valid JSON."""

from __future__ import annotations

import io
import json
import math
import uuid
from pathlib import Path

import pytest

from wattwise.ledger import Ledger
from wattwise.readers.base import Provenance
from wattwise.tracker.model import ComponentEnergy, Gap, RunResult, Sample, WindowResult

NAN, INF = float("nan"), float("inf")


def _comp(energy_j: float, missing_s: float = 0.0) -> ComponentEnergy:
    return ComponentEnergy("rapl:0", "cpu", "pkg", energy_j, Provenance.MEASURED, "pc",
                           missing_s=missing_s)


def _strict(text: str) -> object:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_nan_count_is_refused_with_a_note_and_the_run_finishes(tmp_path: Path) -> None:
    rid = uuid.uuid4().hex
    with Ledger.open(str(tmp_path / "l.db")) as led:
        led.begin_run(rid, "nan", "2025-03-01T10:00:00+00:00", None, {}, [])
        led.finish_run(RunResult(rid, "nan", "2025-03-01T10:00:00+00:00", 2.0, (_comp(5.0),),
                                 counts={"tokens": NAN, "requests": 2.0, "steps": -1.0}))
        assert led.outcome(rid).state == "stored"
        run = led.get_run(rid)
    assert run.status == "finished" and run.counts == {"requests": 2.0}
    assert any("tokens" in n and "NaN" in n for n in run.notes)
    assert any("steps" in n and "out of range" in n for n in run.notes)


def test_non_finite_values_anywhere_never_fail_a_write(tmp_path: Path) -> None:
    rid = uuid.uuid4().hex
    with Ledger.open(str(tmp_path / "l.db")) as led:
        led.begin_run(rid, "bad", "2025-03-01T10:00:00+00:00", None, {}, [])
        led.append_samples(rid, [Sample("rapl:0", NAN, 1.0, 1.0), Sample("rapl:0", 1.0, INF, 2.0),
                                 Sample("rapl:0", 2.0, 3.0, 4.0)])
        led.append_gaps(rid, [Gap("rapl:0", INF, None, "x"), Gap("rapl:0", 1.0, NAN, "y")])
        result = RunResult(
            rid, "bad", "2025-03-01T10:00:00+00:00", INF, (_comp(NAN), _comp(3.0, missing_s=INF)),
            windows=(WindowResult("w", 0.0, NAN, ()),
                     WindowResult("ok", 0.0, 1.0, (_comp(-INF),), {"tokens": INF})),
            samples=(Sample("rapl:0", 0.0, None, NAN),),
        )
        led.finish_run(result)
        led.set_extra(rid, "footprint", {"co2_g": NAN, "list": [1.0, INF]})
        assert led.outcome(rid).state == "stored"
        run = led.get_run(rid)
        assert led.get_extra(rid) == {"footprint": {"co2_g": None, "list": [1.0, None]}}
        buf = io.StringIO()
        led.export("json", buf, include_samples=True)
    docs = _strict(buf.getvalue())
    assert isinstance(docs, list) and docs[0]["run_id"] == rid
    assert [w.name for w in run.windows] == ["ok"] and run.windows[0].counts == {}
    numbers = [run.duration_s, *(c.energy_j for c in run.components),
               *(c.missing_s for c in run.components)]
    assert all(math.isfinite(x) for x in numbers)
    assert run.samples == (Sample("rapl:0", 0.0, None, None),)
    assert any("non-finite" in n for n in run.notes) and any("'w' refused" in n for n in run.notes)
    assert any("footprint" in n for n in run.notes)


def test_non_finite_samples_appended_mid_run_are_noted(tmp_path: Path) -> None:
    rid = uuid.uuid4().hex
    with Ledger.open(str(tmp_path / "l.db")) as led:
        led.begin_run(rid, "bad", "2025-03-01T10:00:00+00:00", None, {}, [])
        led.append_samples(rid, [Sample("gpu:0", 0.0, NAN, None), Sample("gpu:0", NAN, 1.0, None),
                                 Sample("gpu:0", 1.0, 100.0, None)])
        run = led.get_run(rid)
    assert [s.t_s for s in run.samples] == [0.0, 1.0] and run.samples[0].power_w is None
    assert any("1 sample(s) with a non-finite time" in n for n in run.notes)
    assert any("1 non-finite sample value(s)" in n for n in run.notes)
