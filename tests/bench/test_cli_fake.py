"""``wattwise bench serve`` as a user runs it, against the canned-stream server: the document,
the ledger run (one window per configuration), --launch, and errors in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli.clirun import wattwise
from wattwise.cli import main
from wattwise.ledger import Ledger

FAKE = Path(__file__).with_name("fakeserver.py")


def test_sweep_document_and_ledger_run(fake_url: str, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    p = wattwise("bench", "serve", "--url", fake_url, "--model", "slow", "--concurrency", "1,2",
                 "--requests", "5", "--max-tokens", "3", "--slo-ttft-ms", "10000", "--json",
                 "--db", str(db))  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [c["concurrency"] for c in doc["configs"]] == [1, 2]
    for c in doc["configs"]:
        assert c["requests"] == {"sent": 5, "ok": 5, "failed": 0, "timed_out": 0, "errors": {},
                                 "warmup_sent": c["concurrency"], "warmup_failed": 0}  # fmt: skip
        assert c["window"]["kind"] == "steady" and c["window"]["duration_s"] > 0
        assert c["j_per_output_token"] > 0 and c["output_tokens_per_s"] > 0
        assert set(c["ttft_ms"]) >= {"p50", "p95", "p99"}
        assert c["provenance"]["tokens"].startswith("usage")
        assert c["provenance"]["energy"] != "none" and c["provenance"]["devices"]
    assert doc["recommended"]["name"] in ("c=1", "c=2")
    assert doc["ledger"].startswith("stored in the ledger")
    with Ledger.open(str(db)) as ledger:
        run = ledger.get_run(doc["run_id"])
        extra = ledger.get_extra(doc["run_id"]) if hasattr(ledger, "get_extra") else None
    assert [w.name for w in run.windows] == ["c=1", "c=2"]
    for w, c in zip(run.windows, doc["configs"], strict=True):
        assert w.counts["tokens"] == c["window_output_tokens"]
        assert abs(w.start_s - c["window"]["start_s"]) < 1e-3  # the energy's bounds
        assert w.energy.total_j == c["energy_j"] or abs(w.energy.total_j - c["energy_j"]) < 1e-5
    if extra is not None:
        assert extra["bench"]["configs"][0]["name"] == "c=1"
    html = tmp_path / "r.html"
    p = wattwise("report", doc["run_id"], "--db", str(db), "--out", str(html))
    assert p.returncode == 0, p.stderr
    page = html.read_text()
    assert "<section id='serving'>" in page and 'data-label="c=2"' in page
    assert page.count('data-chart="scatter"') == 1


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (cheaper than a new interpreter): exit code, stdout, stderr."""
    code = main(["bench", "serve", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_failures_are_counted_and_never_recommended(
    fake_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(capsys, "--url", fake_url, "--model", "http500", "--concurrency",
                              "2", "--requests", "4", "--no-store")  # fmt: skip
    assert code == 0, err
    assert "0/4" in out and "4 failed (0 timed out): HTTP 500 x4" in out
    assert "recommended: none (no configuration meets the SLOs without failures)" in out


def test_launch_starts_and_stops_the_server(tmp_path: Path) -> None:
    p = wattwise("bench", "serve", "--launch", f"{sys.executable} {FAKE} {{port}}",
                 "--rate", "50", "--requests", "5", "--json", "--no-store")  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["model"] == "canned" and doc["server"]["ready_s"] >= 0
    assert doc["configs"][0]["mode"] == "open" and doc["configs"][0]["rate_per_s"] == 50.0


def test_bad_prompt_file_names_the_lines(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    data = tmp_path / "p.jsonl"
    data.write_text('{"prompt": "ok"}\n\nnot json\n{"messages": "hi"}\n{"prompt": ""}\n')
    code, _, err = run_main(capsys, "--url", "http://127.0.0.1:9/v1", "--dataset", str(data),
                            "--no-store")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "3 bad line(s): line 3: not JSON" in err
    assert 'line 4: "messages" must be a non-empty list' in err and "line 5:" in err


def test_no_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--url", "http://127.0.0.1:9/v1", "--no-store")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "/models does not answer" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--concurrency", "0"], "--concurrency"),
        (["--concurrency", "1,,4"], "comma-separated list"),
        (["--rate", "nan"], "--rate"),
        (["--requests", "1.5"], "--requests"),
        (["--requests", "4", "--duration", "5"], "not allowed with"),
        (["--launch", "x", "--launch-builtin"], "not allowed with"),
        (["--slo-ttft-ms", "-1"], "--slo-ttft-ms"),
    ],
)
def test_bad_flags_are_one_line_before_anything_runs(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", "serve", "--url", "http://127.0.0.1:9/v1", *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


def test_params_without_hardware_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--url", "http://127.0.0.1:9/v1", "--params", "8B",
                            "--no-store")  # fmt: skip
    assert code == 2 and "--params and --hardware go together" in err
