"""``wattwise run`` end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli.clirun import cli_env, wattwise


def _powercap_tree(root: Path, energy_uj: int = 1_000_000) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    (zone / "enabled").write_text("1\n")
    return root


def test_run_json_document_and_exit_code(tmp_path: Path) -> None:
    root = _powercap_tree(tmp_path / "powercap")
    script = tmp_path / "job.py"
    script.write_text(
        "import sys\n"
        "from wattwise.workloads.counts import report_count\n"
        "report_count(tokens=100, requests=2)\n"
        "sys.exit(3)\n"
    )
    p = wattwise(
        "run",
        "--json",
        "--name",
        "job",
        "--",
        sys.executable,
        str(script),
        WATTWISE_POWERCAP_ROOT=str(root),
    )
    assert p.returncode == 3, p.stderr
    doc = json.loads(p.stdout)
    assert doc["exit_code"] == 3
    assert doc["duration_s"] > 0
    assert len(doc["run_id"]) == 32
    comps = {c["device"]: c for c in doc["energy"]["components"]}
    assert comps["rapl:package-0"]["provenance"] == "measured"
    assert comps["rapl:package-0"]["kind"] == "cpu"
    assert comps["rapl:package-0"]["source"].startswith("powercap:")
    assert "total_j" in doc["energy"]
    assert doc["counts"] == {"tokens": 100.0, "requests": 2.0}
    # the summary goes to stderr so stdout stays machine-readable
    assert "wattwise: run" in p.stderr
    # the run is in the ledger and can be shown again
    shown = wattwise("runs", "show", doc["run_id"][:8], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run_id"] == doc["run_id"]


def test_builtin_workload_without_counter_is_estimated(tmp_path: Path) -> None:
    p = wattwise(
        "run",
        "--json",
        "--interval",
        "0.2",
        "--",
        sys.executable,
        "-m",
        "wattwise.workloads.demo",
        "--seconds",
        "1",
        WATTWISE_POWERCAP_ROOT=str(tmp_path / "no-such-dir"),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    kinds = {c["kind"]: c for c in doc["energy"]["components"]}
    assert kinds["cpu"]["provenance"] == "estimated"
    assert kinds["memory"]["provenance"] == "estimated"
    # the machine estimate is attributed to the tracked process tree as well
    assert float(kinds["cpu"]["params"]["process_tree_energy_j"]) > 0
    assert doc["energy"]["total_j"] > 0
    assert doc["counts"]["tokens"] > 0
    assert "estimated" in p.stderr


def test_command_not_found_exits_127(tmp_path: Path) -> None:
    p = wattwise("run", "--", "definitely-not-a-command-xyz")
    assert p.returncode == 127
    assert p.stderr.strip() == "wattwise: command not found: definitely-not-a-command-xyz"


def test_empty_command_is_one_clear_line() -> None:
    p = wattwise("run", "--")
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1
    assert "empty command" in p.stderr


def test_unknown_option_is_one_clear_line() -> None:
    p = wattwise("run", "--frobnicate", "--", "true")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "unrecognized arguments: --frobnicate" in lines[0]


def test_unwritable_and_corrupt_ledger_are_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    p = wattwise("run", "--db", str(blocker / "ledger.db"), "--", "true")
    assert p.returncode != 0
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(4096))
    p = wattwise("run", "--db", str(corrupt), "--", "true")
    assert p.returncode != 0
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr


def _wait_for_child(pid: int, timeout_s: float = 60.0) -> None:
    """Wait until wattwise (``pid``) has started the tracked command (a loaded machine is slow)."""
    import psutil

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if psutil.Process(pid).children():
            return
        time.sleep(0.05)
    raise AssertionError("wattwise did not start the command")


def _start_sleeper(db: Path, name: str, **popen: object) -> subprocess.Popen[str]:
    """``wattwise run`` of a long sleep, as a separate process, once it has started the command."""
    cmd = [
        sys.executable,
        "-m",
        "wattwise",
        "run",
        "--db",
        str(db),
        "--name",
        name,
        "--interval",
        "0.2",
        "--",
        sys.executable,
        "-c",
        "import time; time.sleep(60)",
    ]
    proc: subprocess.Popen[str] = subprocess.Popen(cmd, env=cli_env(), text=True, **popen)  # type: ignore[call-overload]
    _wait_for_child(proc.pid)
    return proc


def test_sigterm_is_forwarded_and_run_kept(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    proc = _start_sleeper(db, "sleeper", stderr=subprocess.PIPE)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    listed = wattwise("runs", "list", "--json", "--db", str(db))
    (run,) = json.loads(listed.stdout)
    assert run["name"] == "sleeper" and run["status"] == "interrupted"


def test_sigkill_of_wattwise_keeps_run_and_samples(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    proc = _start_sleeper(db, "killed", stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(5.0)  # samples are flushed every ~2 s
    os.killpg(proc.pid, signal.SIGKILL)  # wattwise and the tracked command, no clean-up
    proc.wait(timeout=10)
    listed = wattwise("runs", "list", "--json", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["name"] == "killed"
    assert run["status"] == "interrupted"
    shown = wattwise("runs", "show", run["run_id"], "--json", "--db", str(db))
    doc = json.loads(shown.stdout)
    assert doc["duration_s"] > 2.0  # samples up to a few seconds before the kill
    assert doc["energy"]["total_j"] > 0


def test_runs_export_csv_and_json(tmp_path: Path) -> None:
    assert wattwise("run", "--quiet", "--", "true").returncode == 0
    assert wattwise("run", "--quiet", "--", "true").returncode == 0
    j = wattwise("runs", "export", "--format", "json")
    assert j.returncode == 0
    assert len(json.loads(j.stdout)) == 2
    out = tmp_path / "runs.csv"
    c = wattwise("runs", "export", "--format", "csv", "--out", str(out))
    assert c.returncode == 0
    header, *rows = out.read_text().splitlines()
    assert "run_id" in header and "provenance" in header and len(rows) >= 2


def test_doctor_explains_every_reader(tmp_path: Path) -> None:
    p = wattwise("doctor", "--json", WATTWISE_POWERCAP_ROOT=str(tmp_path / "none"))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    readers = {r["reader"]: r for r in doc["readers"]}
    assert {"rapl", "nvml", "cpu-model", "memory-model"} <= set(readers)
    assert readers["rapl"]["available"] is False and readers["rapl"]["reason"]
    assert readers["cpu-model"]["available"] is True
    text = wattwise("doctor", WATTWISE_POWERCAP_ROOT=str(tmp_path / "none"))
    assert "cpu-model" in text.stdout and "tdp" in text.stdout.lower()


def test_total_steps_prints_a_live_forecast(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import time\n"
        "from wattwise.workloads.counts import report_count\n"
        "for _ in range(12):\n"
        "    t = time.time()\n"
        "    while time.time() - t < 0.4: pass\n"
        "    report_count(steps=1, tokens=64)\n"
    )
    p = wattwise(
        "run",
        "--json",
        "--interval",
        "0.5",
        "--total-steps",
        "24",
        "--",
        sys.executable,
        str(script),
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["counts"]["steps"] == 12 and doc["counts"]["tokens"] == 12 * 64
    lines = [ln for ln in p.stderr.splitlines() if "forecast" in ln]
    assert lines, p.stderr
    assert "forecast at step " in lines[-1] and "/24 (" in lines[-1] and "done in" in lines[-1]


def test_total_steps_forecast_line_is_human_with_facility_carbon(tmp_path: Path) -> None:
    """Not a dataclass repr, no None, carbon through the site factors (PUE included), and no
    zero lower bound on the time left."""
    script = tmp_path / "train.py"
    script.write_text(
        "import time\n"
        "from wattwise.workloads.counts import report_count\n"
        "for _ in range(8):\n"
        "    t = time.time()\n"
        "    while time.time() - t < 0.4: pass\n"
        "    report_count(steps=1)\n"
    )
    p = wattwise("run", "--no-store", "--interval", "0.2", "--total-steps", "1000",
                 "--country", "FR", "--pue", "1.3", "--", sys.executable, str(script))  # fmt: skip
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if "forecast at" in ln]
    assert lines, p.stderr
    for line in lines:
        assert "Forecast(" not in line and "None" not in line and "e+" not in line
        assert "CO2e (facility energy ×" in line and "PUE 1.3" in line
        assert "(0 ms" not in line and "(0 J" not in line
        assert "low confidence" in line or "% interval" in line


def test_total_steps_must_be_positive() -> None:
    p = wattwise("run", "--total-steps", "0", "--", "true")
    assert p.returncode == 2 and "--total-steps" in p.stderr
