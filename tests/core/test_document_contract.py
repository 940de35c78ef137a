"""The typed documents are what the producers write: a contract checked on real runs and audits.

Real runs (``wattwise run --json``, ``runs show --json``, ``runs export``, the ledger's copy)
and two real audits of a small command (one serving, one training; no lab) are checked key by
key and value by value against :mod:`wattwise.core.documents` (:mod:`core.doccheck`), as
written and after a JSON round trip. Every optional key must be absent from some document and
present in another, and every shape of the module must be exercised, so the types cannot drift
from the JSON in either direction. The two parts a small command on this machine cannot produce
(the lab's serving what-ifs, an accelerator's utilisation) come from the same functions fed a
lab document and a run with GPUs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, get_type_hints, is_typeddict

import pytest

from cli.clirun import SRC, wattwise
from core.doccheck import Shapes
from wattwise.accounting import Context
from wattwise.audit import analysis as an
from wattwise.audit.pipeline import AuditOptions, load_audit, run_audit
from wattwise.audit.scaling import training_scale
from wattwise.core import documents as d
from wattwise.core.assumption import AssumptionDocument
from wattwise.core.provenance import Provenance
from wattwise.ledger import Ledger, run_to_dict
from wattwise.report.recommend import recommend
from wattwise.report.rundoc import run_document
from wattwise.tracker.model import ComponentEnergy, Gap, RunResult, Sample, WindowResult

COUNT = "from wattwise.workloads.counts import report_count; import time; time.sleep(0.2); "
SERVE = COUNT + "report_count(requests=3, tokens=30)"
TRAIN = COUNT + "report_count(steps=3, tokens=30)"

Produced = list[tuple[str, object, Any]]  # (what, value, its type)
PowerRow = d.PowerWhatifDocument


def _json(p: Any) -> Any:
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _audit(tmp: Path, db: Path, code: str, **opts: Any) -> Any:
    out = tmp / f"report-{len(list(tmp.glob('*.html')))}.html"
    options = AuditOptions(
        out=out, command=[sys.executable, "-c", code], lab=False, db=str(db), quiet_stdout=True,
        **opts,
    )  # fmt: skip
    return run_audit(options, Context(country="DE"), lambda line: None)


def _run_with_gaps_and_gpus() -> RunResult:
    """A run no reader on this machine gives: GPUs (one in the catalog, one not) and a gap."""
    gpus = (
        ComponentEnergy("nvml:0", "gpu", "H100 SXM5 80GB", 9000.0, Provenance.MEASURED, "nvml"),
        ComponentEnergy("nvml:1", "gpu", "a GPU not in the catalog", 10.0, Provenance.MEASURED,
                        "nvml", params={"index": "1"}, missing_s=0.5, note="read twice"),
    )  # fmt: skip
    return RunResult(
        "r-gpu", "gpus", "2026-01-01T00:00:00+00:00", 60.0, gpus,
        windows=(WindowResult("step", 1.0, 2.0, gpus[:1], {"steps": 1.0}, parent="epoch"),),
        counts={"steps": 1.0},
        samples=(Sample("nvml:0", 1.0, 150.0, None), Sample("nvml:1", 1.0, None, 4.0)),
        gaps=(Gap("nvml:1", 2.0, None, "NVML_ERROR_GPU_IS_LOST"), Gap("nvml:0", 1.0, 1.5, "busy")),
    )  # fmt: skip


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Produced:
    """Every document the producers write, from real runs and audits (a few seconds)."""
    tmp = tmp_path_factory.mktemp("documents")
    db = tmp / "ledger.db"
    env = {"WATTWISE_DB": str(db), "XDG_DATA_HOME": str(tmp / "data"),
           "XDG_STATE_HOME": str(tmp / "state"), "XDG_CACHE_HOME": str(tmp / "cache")}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setenv("PYTHONPATH", SRC)  # the audited command imports wattwise (report_count)
        command = ("--", sys.executable, "-c", SERVE)
        ran = _json(wattwise("run", "--json", "--country", "FR", *command, **env))
        shown = _json(wattwise("runs", "show", ran["run_id"], "--json", **env))
        serve = _audit(tmp, db, SERVE, params=1e6)
        train = _audit(tmp, db, TRAIN)
        exported = _json(wattwise("runs", "export", "--format", "json", **env))
        with Ledger.open(str(db), readonly=True) as ledger:
            audited = ledger.get_run(serve.run_id, with_samples=True)
            trained = ledger.get_run(train.run_id)
            plain = ledger.get_run(ran["run_id"], with_samples=True)
            stored = [load_audit(ledger, a.run_id)[1] for a in (serve, train)]
    gpu_run = _run_with_gaps_and_gpus()
    from report.synthetic import synthetic_lab

    lab = synthetic_lab()  # a lab document as LabResult.to_dict writes it

    de, fr = Context(country="DE"), Context(country="FR")
    return [
        ("wattwise run --json", ran, d.RunDocument),
        ("wattwise runs show --json", shown, d.RunDocument),
        ("wattwise runs export", exported, list[d.RunDocument]),
        ("an audited run, samples", run_to_dict(audited, include_samples=True), d.RunDocument),
        ("a run with GPUs and gaps", run_to_dict(gpu_run, include_samples=True), d.RunDocument),
        ("a serving audit", serve.doc, d.AuditDocument),
        ("a training audit", train.doc, d.AuditDocument),
        ("the audits as stored", stored, list[d.AuditDocument]),
        ("a training run scaled", training_scale(trained, de), d.TrainingScaleDocument),
        ("a plain run's report", run_document(plain, fr), d.RunReportDocument),
        ("the lab's serving what-ifs", an.power_whatifs(lab, serve.doc["scale"]), list[PowerRow]),
        ("GPUs against their TDP", an.utilisation(gpu_run), d.UtilisationDocument),
    ]


@pytest.fixture(scope="module")
def shapes(produced: Produced) -> Shapes:
    s = Shapes()
    for what, value, hint in produced:
        s.check(value, hint, f"{what} (in memory)")
        s.check(json.loads(json.dumps(value)), hint, f"{what} (as JSON)")
    return s


def _module_shapes() -> dict[str, type]:
    shapes = {n: t for n, t in vars(d).items() if is_typeddict(t) and not n.startswith("_")}
    return {**shapes, "AssumptionDocument": AssumptionDocument}


def test_every_document_matches_its_type(shapes: Shapes) -> None:
    assert shapes.errors == []


def test_every_key_is_written_and_every_optional_key_is_sometimes_absent(shapes: Shapes) -> None:
    never_written, never_absent = [], []
    for name in shapes.present:
        td = _module_shapes()[name]
        keys = td.__required_keys__ | td.__optional_keys__
        never_written += [f"{name}.{k}" for k in sorted(keys - shapes.present[name])]
        never_absent += [f"{name}.{k}" for k in sorted(td.__optional_keys__ - shapes.absent[name])]
    assert never_written == []
    assert never_absent == []  # such a key is required: move it out of the total=False class


def test_every_document_shape_is_exercised(shapes: Shapes) -> None:
    """A shape counts when it, or one that extends it (all its keys, same types), was checked
    (a TypedDict keeps no bases at run time)."""
    hints = {n: get_type_hints(td).items() for n, td in _module_shapes().items()}
    covered = {n for n in hints if any(hints[n] <= hints[c] for c in shapes.present)}
    assert sorted(set(hints) - covered) == []


def test_audit_has_every_recommendation_shape(produced: Produced) -> None:
    """The serving audit in DE ranks a cleaner region (an effect) and unquantified actions."""
    doc = next(v for w, v, _ in produced if w == "a serving audit")
    assert isinstance(doc, dict)
    effects = [r["effect"] for r in doc["recommendations"]]
    assert any(e is not None for e in effects) and None in effects


def test_recommendation_rows_are_the_dataclass_fields(produced: Produced) -> None:
    """``to_dict`` writes exactly what ``dataclasses.asdict`` wrote before it was typed."""
    doc = next(v for w, v, _ in produced if w == "a serving audit")
    assert isinstance(doc, dict)
    findings = {k: v for k, v in doc.items() if k != "recommendations"}
    recs = recommend(findings)
    assert recs and [r.to_dict() for r in recs] == [dataclasses.asdict(r) for r in recs]
    assert [list(r.to_dict()) for r in recs] == [list(dataclasses.asdict(r)) for r in recs]
