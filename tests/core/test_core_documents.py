"""The typed documents describe what the producers really write: same keys, JSON-serialisable."""

from __future__ import annotations

import json
from typing import get_type_hints

from wattwise.accounting import Context, account
from wattwise.core.documents import (
    AuditDocument,
    ComponentDocument,
    FootprintDocument,
    RunDocument,
    WindowDocument,
)
from wattwise.core.provenance import Provenance
from wattwise.ledger.serialize import run_to_dict
from wattwise.tracker.model import ComponentEnergy, RunResult, WindowResult


def _run() -> RunResult:
    c = ComponentEnergy("rapl:package-0", "cpu", "package-0", 12.5, Provenance.MEASURED, "powercap")
    w = WindowResult("generate", 0.5, 1.5, (c,), counts={"requests": 4.0})
    return RunResult("r1", "demo", "2026-01-01T00:00:00+00:00", 2.0, (c,), windows=(w,),
                     counts={"requests": 4.0})  # fmt: skip


def test_footprint_document_has_exactly_the_keys_a_footprint_writes() -> None:
    fp = account(3.6e6, "measured", 3600.0, Context(country="FR"), devices=[("gpu", "H100", 1)])
    doc = json.loads(json.dumps(fp.to_dict()))
    assert set(doc) == set(get_type_hints(FootprintDocument))
    assert set(doc["assumptions"][0]) == {"name", "value", "unit", "provenance", "source"}
    assert {a["provenance"] for a in doc["assumptions"]} <= {p.value for p in Provenance}


def test_run_document_describes_run_to_dict() -> None:
    doc = json.loads(json.dumps(run_to_dict(_run(), include_samples=True)))
    hints = set(get_type_hints(RunDocument))
    assert set(doc) <= hints
    assert RunDocument.__required_keys__ <= set(doc)
    assert set(doc["energy"]["components"][0]) <= set(get_type_hints(ComponentDocument))
    assert set(doc["windows"][0]) == set(get_type_hints(WindowDocument))


def test_audit_document_names_the_footprint_and_run_sections() -> None:
    hints = get_type_hints(AuditDocument)
    assert hints["footprint"] is FootprintDocument
    assert {"version", "run_id", "workload", "context", "run", "scale", "recommendations"} <= set(
        hints
    )
