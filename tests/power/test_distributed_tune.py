"""One power limit for every GPU of a data-parallel job: two real gloo ranks (CPU processes),
each with its own simulated GPU, agree over torch.distributed and apply the same setting.

The ranks run different shapes (memory-bound, mixed) on purpose: their own optima differ
(225 W vs 625 W on the model), so only a real agreement gives both the same limit, chosen from
the job-wide profile (energy summed over the ranks, time the slower rank's).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.requires import module
from wattwise.power import simulator
from wattwise.power.gpu_model import H100, operating_point
from wattwise.power.gpu_model import SHAPES as MODEL_SHAPES
from wattwise.power.selectors import Selector

module("torch.distributed", "hf")

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")
DEADLINE_S = 120.0
SHAPES = ("memory-bound", "mixed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ranks(tmp_path: Path) -> list[dict[str, object]]:
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {
            **os.environ, "PYTHONPATH": SRC + os.pathsep + str(HERE.parent),
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WW_SHAPES": ",".join(SHAPES),
            "OMP_NUM_THREADS": "1",
        }  # fmt: skip
        cmd = [sys.executable, str(HERE / "dist_tuned.py")]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        procs.append(subprocess.Popen(cmd, env=env, cwd=tmp_path, text=True, **pipes))
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"a rank still ran after {DEADLINE_S:g} s")
        assert p.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_two_ranks_agree_on_one_limit_from_the_job_wide_profile(tmp_path: Path) -> None:
    reports = _ranks(tmp_path)
    a, b = reports
    assert a["world_size"] == b["world_size"] == 2
    assert a["tuned"] is True and b["tuned"] is True
    assert a["chosen"]["power_limit_w"] == b["chosen"]["power_limit_w"]
    assert a["limit_w"] == b["limit_w"] == a["chosen"]["power_limit_w"]  # applied on both
    assert a["settings"] == b["settings"]  # the same job-wide numbers on both ranks
    points = [(m["energy_per_step_j"], m["time_per_step_s"]) for m in a["settings"]]
    assert a["settings"][Selector().choose(points, points[0], 2 * 700.0)] == a["chosen"]
    own = {s: simulator.brute_force_optimum(s, Selector(), [(700.0, None)] + [
        (w, None) for w in range(650, 150, -50)])[0] for s in SHAPES}  # fmt: skip
    assert own["memory-bound"] != own["mixed"]  # alone, they would not agree
    assert a["restored"] is True and b["restored"] is True
    at_700 = [operating_point(H100, MODEL_SHAPES[s], 700.0) for s in SHAPES]
    job_j = sum(p.energy_per_step_j for p in at_700)  # energy: summed over the ranks
    job_s = max(p.step_time_s for p in at_700)  # time: the slower rank's
    assert a["default"]["energy_per_step_j"] == pytest.approx(job_j, rel=0.02)
    assert a["default"]["time_per_step_s"] == pytest.approx(job_s, rel=0.02)
