"""``wattwise audit --serve-url`` end to end against the session's real ``transformers serve``
of the exported built-in model (``served``, conftest.py; runs before test_transformers_serve.py,
whose last test stops it), and its one-line errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from bench.served import Served
from cli.clirun import wattwise
from wattwise.audit.pipeline import AUDIT_KEY
from wattwise.ledger import Ledger
from wattwise.units import j_to_kwh

MAX_TOKENS = 6


def test_audit_of_a_serving_endpoint_scales_at_its_recommended_configuration(
    served: Served, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(f'{{"prompt": "And God said, let there be {w}"}}\n'
                               for w in ("light", "water", "land", "fire")))  # fmt: skip
    db, html = tmp_path / "ledger.db", tmp_path / "report.html"
    p = wattwise(
        "audit", "--serve-url", served.base_url, "--model", served.model,
        "--concurrency", "1,4", "--requests", "9", "--max-tokens", str(MAX_TOKENS),
        "--dataset", str(prompts), "--slo-ttft-ms", "60000", "--scale-requests-per-day",
        "5000", "--country", "FR", "--json", "--out", str(html),
        timeout=240, WATTWISE_DB=str(db),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    serving = doc["workload"]["model"]["serving"]
    assert doc["workload"]["kind"] == "serving" and serving["model"] == served.model
    assert [c["name"] for c in serving["configs"]] == ["c=1", "c=4"]
    assert all(c["ok"] == 9 and c["failed"] == 0 for c in serving["configs"])
    rec_name = serving["recommended"]["name"]
    assert rec_name in ("c=1", "c=4")
    # The benchmark's document is stored with the audited run; the scale is its J/request.
    with Ledger.open(str(db), readonly=True) as ledger:
        extra = ledger.get_extra(doc["run_id"])
    bench = extra["bench"]
    assert extra[AUDIT_KEY]["run_id"] == doc["run_id"] == bench["run_id"]
    rec = next(c for c in bench["configs"] if c["name"] == rec_name)
    assert rec["j_per_output_token"] == min(c["j_per_output_token"] for c in bench["configs"])
    sc = doc["scale"]
    assert sc["unit"] == "request" and sc["it_j_per_unit"] == rec["j_per_request"] > 0
    assert sc["year"]["it_energy_kwh"] == pytest.approx(
        j_to_kwh(rec["j_per_request"] * 5000 * 365.25)
    )
    assert doc["lab"] is None and "--serve-url" in doc["lab_note"]
    rules = [r["rule"] for r in doc["recommendations"]]
    assert "serving-config" in rules
    page = html.read_text("utf-8")
    assert "Energy per output token vs inter-token latency" in page  # the serving section
    assert "optimisation lab skipped" in page and "Serve at concurrency" in page
    assert "stored in the ledger" in p.stderr
    # `wattwise report RUN_ID` rebuilds it from the ledger alone, serving section included.
    again = tmp_path / "again.html"
    r = wattwise("report", doc["run_id"], "--out", str(again), WATTWISE_DB=str(db))
    assert r.returncode == 0, r.stderr
    assert "Energy per output token vs inter-token latency" in again.read_text("utf-8")


def test_an_unreachable_endpoint_fails_in_one_line_before_anything_runs(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = wattwise("audit", "--serve-url", f"http://127.0.0.1:{port}/v1", "--model", "m",
                 "--out", str(tmp_path / "r.html"))  # fmt: skip
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "does not answer" in p.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "1,4"], "--concurrency applies to a serving endpoint"),
        (["--serve-url", "http://127.0.0.1:9/v1", "--techniques", "int8-dynamic"],
         "drop --techniques"),
    ],
)  # fmt: skip
def test_options_that_do_not_go_together_fail_in_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    p = wattwise("audit", *args, "--out", str(tmp_path / "r.html"))
    assert p.returncode == 2 and message in p.stderr and p.stderr.count("\n") == 1
