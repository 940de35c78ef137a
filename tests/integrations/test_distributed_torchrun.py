"""Real distributed jobs on this machine: torchrun (gloo, CPU) with fake powercap trees whose
counters advance with real time (:mod:`integrations.live_powercap`).

Each job runs ~2 s of idle work per rank; every wait is bounded and a job still running at its
deadline is killed with its whole process group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from integrations.live_powercap import LivePowercap
from wattwise.core.run import RunResult
from wattwise.ledger import Ledger

pytest.importorskip("torch.distributed")

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")
JOB = str(HERE / "dist_job.py")
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
DEADLINE_S = 120.0
WORK_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(powercap: Path, db: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""),
        WATTWISE_POWERCAP_ROOT=str(powercap),
        WW_DB=str(db),
        WW_SECONDS=str(WORK_S),
        OMP_NUM_THREADS="1",
    )
    env.update(extra)
    return env


def _start(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(procs: Sequence[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    """Wait for every process (bounded); kill the process groups of those still running."""
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            for q in procs:
                if q.poll() is None:
                    os.killpg(q.pid, signal.SIGKILL)
            stdout, stderr = p.communicate()
            pytest.fail(f"job still running after {DEADLINE_S:g} s: {stderr[-2000:]}")
        out.append((p.returncode, stdout, stderr))
    return out


def _job_run(stdout: str, db: Path) -> tuple[RunResult, dict[str, Any]]:
    line = json.loads(stdout.strip().splitlines()[-1])
    assert line["stored"] is True
    led = Ledger.open(str(db), readonly=True)
    assert len(led.list_runs()) == 1  # one job run, stored once
    return led.get_run(line["run_id"]), led.get_extra(line["run_id"])["distributed"]


def _cpu_power_w(run: RunResult, info: dict[str, Any]) -> dict[str, float]:
    """Mean package power per node (W): its energy over its rank's tracked duration."""
    duration = {str(r["node"]): r["duration_s"] for r in info["ranks"] if r["local_rank"] == 0}
    return {
        c.params["node"]: c.energy_j / duration[c.params["node"]]
        for c in run.components
        if c.kind == "cpu"
    }


def test_two_nodes_on_localhost_each_read_once_and_added(tmp_path: Path) -> None:
    """Two torchrun launches (``--nnodes 2``): node 0 runs two processes, node 1 one; each node
    has its own fake package counter (50 W, 30 W). One job run: each node's power read once
    (node 0's two processes do not make 100 W), and the job's CPU power is their sum."""
    db = tmp_path / "job.db"
    port = str(_free_port())
    with (
        LivePowercap(tmp_path / "pc0", power_w=50.0) as pc0,
        LivePowercap(tmp_path / "pc1", power_w=30.0) as pc1,
    ):
        procs = [
            _start(
                [*TORCHRUN, "--nnodes", "2", "--node-rank", str(node), "--nproc-per-node",
                 str(nproc), "--master-addr", "127.0.0.1", "--master-port", port, JOB],
                _env(pc.root, db),
            )
            for node, nproc, pc in ((0, 2, pc0), (1, 1, pc1))
        ]  # fmt: skip
        results = _finish(procs)
    for code, _, stderr in results:
        assert code == 0, stderr[-3000:]
    run, info = _job_run(results[0][1], db)
    cpu = sorted(c.device_id for c in run.components if c.kind == "cpu")
    assert cpu == ["node0:rapl:package-0", "node1:rapl:package-0"]
    power = _cpu_power_w(run, info)
    assert power["0"] == pytest.approx(50.0, abs=pc0.step_error_w(WORK_S))  # not 100 W
    assert power["1"] == pytest.approx(30.0, abs=pc1.step_error_w(WORK_S))
    error_w = pc0.step_error_w(WORK_S) + pc1.step_error_w(WORK_S)
    assert sum(power.values()) == pytest.approx(80.0, abs=error_w)
    assert run.counts == {"tokens": 600.0, "steps": 5.0}  # 100 + 200 + 300; steps shared
    assert [r["measures"] for r in info["ranks"]][1] == "counts only"
    assert run.host["job_launcher"] == "torchrun" and run.host["job_world_size"] == "3"
    assert run.host["job_nodes"] == "2" and len(info["ranks"]) == 3 and info["missing"] == []
    offsets_s = [r["start_offset_s"] for r in info["ranks"]]
    assert max(map(abs, offsets_s)) < 0.5, offsets_s  # the ranks started together
    (train,) = run.windows
    assert train.counts["tokens"] == 600.0
    assert {c.device_id for c in train.components if c.kind == "cpu"} == set(cpu)


# a third torchrun job (~16 s); the two-node and README jobs stay in the default suite
@pytest.mark.slow
def test_a_rank_that_dies_is_a_gap_in_the_stored_job_run(tmp_path: Path) -> None:
    """Two processes started by hand (torchrun would stop the job when a worker dies): rank 1,
    alone on "node 1", exits at once inside the job; rank 0 stores its node and the gap."""
    db = tmp_path / "job.db"
    port = str(_free_port())
    with LivePowercap(tmp_path / "pc", power_w=50.0) as pc:
        procs = [
            _start(
                [sys.executable, JOB],
                _env(
                    pc.root,
                    db,
                    RANK=str(rank),
                    LOCAL_RANK="0",
                    WORLD_SIZE="2",
                    LOCAL_WORLD_SIZE="1",
                    MASTER_ADDR="127.0.0.1",
                    MASTER_PORT=port,
                    WW_DIE_RANK="1",
                    WW_SECONDS="0.5",
                    WW_TIMEOUT_S="10",
                ),
            )
            for rank in (0, 1)
        ]
        results = _finish(procs)
    assert results[1][0] == 9  # rank 1 died
    assert results[0][0] == 0, results[0][2][-3000:]
    run, info = _job_run(results[0][1], db)
    assert [c.device_id for c in run.components if c.kind == "cpu"] == ["node0:rapl:package-0"]
    (gap,) = [g for g in run.gaps if g.device_id == "node1:rank1"]
    assert gap.end_s == pytest.approx(run.duration_s)
    assert [m["rank"] for m in info["missing"]] == [1]
    assert any("rank 1 sent no result" in n for n in run.notes)
    assert run.counts["tokens"] == 100.0  # rank 0's only


def test_wattwise_run_measures_a_torchrun_tree_once(tmp_path: Path) -> None:
    """``wattwise run -- torchrun ...``: the parent reads the node; every worker reports counts."""
    code = (
        "import time\n"
        "from wattwise.workloads.counts import report_count\n"
        "time.sleep(1.0)\n"
        "report_count(tokens=7)\n"
    )
    with LivePowercap(tmp_path / "pc", power_w=50.0) as pc:
        args = [
            sys.executable,
            "-m",
            "wattwise",
            "run",
            "--json",
            "--",
            *TORCHRUN,
            "--no-python",
            "--nproc-per-node",
            "2",
            "--master-port",
            str(_free_port()),
            sys.executable,
            "-c",
            code,
        ]
        ((rc, stdout, stderr),) = _finish([_start(args, _env(pc.root, tmp_path / "x.db"))])
    assert rc == 0, stderr[-3000:]
    doc = json.loads(stdout)
    cpu = [c for c in doc["energy"]["components"] if c["kind"] == "cpu"]
    assert [c["device"] for c in cpu] == ["rapl:package-0"]
    assert cpu[0]["energy_j"] / doc["duration_s"] == pytest.approx(
        50.0, abs=pc.step_error_w(doc["duration_s"])
    )
    assert doc["counts"] == {"tokens": 14.0}  # both workers' reports


def test_the_readme_example_runs_under_torchrun_and_stores_one_job_run(tmp_path: Path) -> None:
    readme = (HERE.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## torch.distributed and clusters\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.splitlines()) <= 10, code
    script = tmp_path / "train.py"
    script.write_text(code, encoding="utf-8")
    db = tmp_path / "readme.db"
    with LivePowercap(tmp_path / "pc", power_w=50.0) as pc:
        args = [*TORCHRUN, "--nproc-per-node", "2", "--master-port", str(_free_port()),
                str(script)]  # fmt: skip
        ((rc, _stdout, stderr),) = _finish([_start(args, _env(pc.root, db, WATTWISE_DB=str(db)))])
    assert rc == 0, stderr[-3000:]
    with Ledger.open(str(db), readonly=True) as led:
        (summary,) = led.list_runs()  # one job run for the two ranks
        run = led.get_run(summary.run_id, with_samples=False)
    assert run.status == "finished" and run.name == "train"
    assert [c.device_id for c in run.components if c.kind == "cpu"] == ["node0:rapl:package-0"]
    assert run.counts == {"tokens": 2 * 100 * 4096.0, "steps": 100.0}  # tokens summed; steps shared
