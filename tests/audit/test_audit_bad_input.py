"""Bad input to ``wattwise audit``: one clear line, nothing measured, nothing lost."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from cli.clirun import wattwise
from wattwise.ledger import Ledger


def _env(tmp_path: Path) -> dict[str, str]:
    return {"WATTWISE_DB": str(tmp_path / "ledger.db"), "XDG_CACHE_HOME": str(tmp_path / "c")}


def test_unknown_region_one_line_with_close_names(tmp_path: Path) -> None:
    p = wattwise("audit", "--region", "US-CAA", "--out", str(tmp_path / "r.html"),
                 **_env(tmp_path))  # fmt: skip
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "US-CA" in lines[0], p.stderr
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "ledger.db").exists()


def test_unwritable_output_checked_before_measuring(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for out in (tmp_path / "no-such-dir" / "r.html", blocker / "r.html", tmp_path):
        p = wattwise("audit", "--out", str(out), **_env(tmp_path))
        assert p.returncode == 2, p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "--out" in lines[0], p.stderr
    assert not (tmp_path / "ledger.db").exists()  # nothing was measured


def test_pdf_without_browser_fails_before_measuring(tmp_path: Path) -> None:
    p = wattwise("audit", "--pdf", "--out", str(tmp_path / "r.html"),
                 WATTWISE_CHROMIUM=str(tmp_path / "no-chromium"), **_env(tmp_path))  # fmt: skip
    assert p.returncode == 2
    assert "chromium" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ledger.db").exists()


def test_command_failing_half_way_still_gets_a_report(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(
        "import sys, time\n"
        "from wattwise.workloads.counts import report_count\n"
        "time.sleep(0.6)\n"
        "report_count(tokens=120, requests=3)\n"
        "sys.exit(3)\n"
    )
    out = tmp_path / "r.html"
    p = wattwise("audit", "--country", "FR", "--out", str(out), "--", sys.executable,
                 str(script), **_env(tmp_path))  # fmt: skip
    assert p.returncode == 3, p.stderr
    assert "exit code 3" in p.stderr and str(out.resolve()) in p.stderr
    html = out.read_text()
    assert "data-exit-code='3'" in html and "failed with exit code 3" in html
    assert "opaque" in html  # the lab was skipped, with the reason
    run_id = re.search(r"run ([0-9a-f]{12})", p.stderr).group(1)  # type: ignore[union-attr]
    with Ledger.open(str(tmp_path / "ledger.db")) as ledger:
        run = ledger.get_run(run_id)
        doc = ledger.get_extra(run.run_id)["audit"]
    assert run.status == "failed" and run.exit_code == 3
    assert run.counts["requests"] == 3 and run.energy.total_j > 0
    assert doc["workload"]["exit_code"] == 3 and doc["scale"]["unit"] == "request"
    assert "FR" in doc["footprint"]["location"]


def test_command_not_found(tmp_path: Path) -> None:
    p = wattwise("audit", "--out", str(tmp_path / "r.html"), "--", "no-such-cmd-xyz",
                 **_env(tmp_path))  # fmt: skip
    assert p.returncode == 127 and "command not found" in p.stderr


def test_command_stopped_by_a_signal_is_recorded_interrupted(tmp_path: Path) -> None:
    """SIGTERM to the audit reaches the command; its run is `interrupted`, as with `run`."""
    import signal
    import subprocess
    import time

    from cli.clirun import cli_env

    ready = tmp_path / "ready"
    script = tmp_path / "job.py"
    script.write_text(
        "import pathlib, sys, time\n"
        f"pathlib.Path({str(ready)!r}).write_text('x')\n"
        "time.sleep(60)\n"
    )
    out = tmp_path / "r.html"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wattwise", "audit", "--out", str(out), "--", sys.executable,
         str(script)],
        env=cli_env(**_env(tmp_path)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), "the command never started"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    with Ledger.open(str(tmp_path / "ledger.db"), readonly=True) as ledger:
        (summary,) = ledger.list_runs()
    assert summary.status == "interrupted" and summary.exit_code == 128 + signal.SIGTERM
