"""Who a process is in a job (torchrun, Slurm) and what it measures (no torch here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from readers.fake_powercap import make_powercap
from wattwise.integrations.distributed.env import (
    JobEnv,
    Role,
    detect_job,
    own_gpu,
    plan,
    slurm_tasks_on_node,
)
from wattwise.integrations.distributed.job import readers_for
from wattwise.readers import registry
from wattwise.readers.base import DeviceInfo, ProbeResult, Provenance, Reader, Reading

TORCHRUN = {
    "RANK": "5",
    "LOCAL_RANK": "1",
    "WORLD_SIZE": "8",
    "LOCAL_WORLD_SIZE": "4",
    "GROUP_RANK": "1",
    "GROUP_WORLD_SIZE": "2",
    "TORCHELASTIC_RUN_ID": "job-42",
}
SLURM = {
    "SLURM_JOB_ID": "1234",
    "SLURM_PROCID": "6",
    "SLURM_LOCALID": "2",
    "SLURM_NTASKS": "8",
    "SLURM_NODEID": "1",
    "SLURM_NNODES": "2",
    "SLURM_TASKS_PER_NODE": "4(x2)",
    "SLURM_JOB_NODELIST": "gpu[01-02]",
}


def test_torchrun_environment() -> None:
    env = detect_job(TORCHRUN)
    assert (env.rank, env.world_size, env.local, env.node) == (5, 8, 1, 1)
    assert (env.local_world_size, env.nodes, env.launcher, env.job_id) == (
        4,
        2,
        "torchrun",
        "job-42",
    )
    assert env.distributed and env.problems == ()
    assert env.job_host() == {
        "job_launcher": "torchrun",
        "job_id": "job-42",
        "job_world_size": "8",
        "job_nodes": "2",
    }


def test_slurm_environment_with_its_node_list() -> None:
    env = detect_job(SLURM)
    assert (env.rank, env.world_size, env.local, env.node, env.nodes) == (6, 8, 2, 1, 2)
    assert env.local_world_size == 4  # from SLURM_TASKS_PER_NODE on node 1
    assert (env.launcher, env.job_id, env.node_list) == ("slurm", "1234", "gpu[01-02]")


def test_torchrun_under_srun_takes_torchrun_ranks_and_slurm_job() -> None:
    # srun starts one torchrun per node: SLURM_PROCID is the node, RANK the worker
    env = detect_job({**SLURM, **TORCHRUN, "SLURM_PROCID": "1", "SLURM_NTASKS": "2"})
    assert (env.rank, env.world_size, env.local, env.node) == (5, 8, 1, 1)
    assert (env.launcher, env.job_id, env.node_list) == ("torchrun", "1234", "gpu[01-02]")


def test_no_job_is_one_process() -> None:
    env = detect_job({})
    assert (env.rank, env.world_size, env.local, env.node, env.launcher) == (0, 1, 0, 0, "")
    assert not env.distributed


def test_bad_values_are_ignored_and_said() -> None:
    env = detect_job({"RANK": "two", "WORLD_SIZE": "4", "LOCAL_RANK": "-1"})
    assert env.rank == 0 and env.world_size == 4 and env.local_rank is None
    assert any("RANK='two'" in p for p in env.problems)
    assert any("LOCAL_RANK='-1'" in p for p in env.problems)
    env = detect_job({"RANK": "9", "WORLD_SIZE": "4"})
    assert env.rank == 0 and "not below the world size" in env.problems[0]


def test_without_local_rank_ranks_are_packed_or_alone() -> None:
    packed = detect_job({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4"})
    assert (packed.local, packed.node, packed.node_of(6)) == (1, 1, 1)
    alone = detect_job({"RANK": "5", "WORLD_SIZE": "8"})
    assert (alone.local, alone.node, alone.node_of(6)) == (0, 5, None)


@pytest.mark.parametrize(
    ("value", "node", "tasks"),
    [("4(x2)", 1, 4), ("4(x2),2", 2, 2), ("3", 0, 3), ("2,1", 1, 1), ("4(x2)", 2, None),
     ("garbage", 0, None)],
)  # fmt: skip
def test_slurm_tasks_per_node(value: str, node: int, tasks: int | None) -> None:
    assert slurm_tasks_on_node(value, node) == tasks


def test_env_round_trips_through_a_document() -> None:
    env = detect_job(TORCHRUN)
    back = JobEnv.from_dict(env.to_dict())
    assert (back.rank, back.node, back.local, back.world_size, back.job_id) == (
        5,
        1,
        1,
        8,
        "job-42",
    )


def test_group_numbers_win_over_the_environment() -> None:
    env = detect_job({"RANK": "1", "WORLD_SIZE": "2"}).with_group(3, 4)
    assert (env.rank, env.world_size) == (3, 4) and "torch.distributed says" in env.problems[0]


def test_plan_per_node_local_rank_zero_reads_the_node() -> None:
    leader = detect_job({**TORCHRUN, "LOCAL_RANK": "0", "RANK": "4"})
    other = detect_job(TORCHRUN)
    assert plan(leader, per_gpu=False, environ={}) == (Role(True, None), "")
    assert plan(other, per_gpu=False, environ={}) == (Role(False, ()), "")
    assert not Role(False, ()).measures and Role(False, ()).describe() == "counts only"


def test_plan_per_gpu_each_rank_its_gpu_and_the_leader_the_cpu() -> None:
    leader = detect_job({**TORCHRUN, "LOCAL_RANK": "0", "RANK": "4"})
    other = detect_job(TORCHRUN)  # local rank 1
    assert plan(leader, per_gpu=True, environ={}) == (Role(True, ("0",)), "")
    assert plan(other, per_gpu=True, environ={}) == (Role(False, ("1",)), "")
    visible = {"CUDA_VISIBLE_DEVICES": "4,5,6,7"}
    assert plan(other, per_gpu=True, environ=visible) == (Role(False, ("5",)), "")
    role, note = plan(other, per_gpu=True, environ={"CUDA_VISIBLE_DEVICES": ""})
    assert role == Role(False, ()) and "no visible GPU" in note


def test_own_gpu_follows_the_launchers_binding() -> None:
    assert own_gpu(3, {"CUDA_VISIBLE_DEVICES": "GPU-abc"}) == "GPU-abc"  # one GPU bound
    assert own_gpu(1, {"CUDA_VISIBLE_DEVICES": "2,3"}) == "3"
    assert own_gpu(2, {"CUDA_VISIBLE_DEVICES": "2,3"}) is None
    assert own_gpu(1, {"HIP_VISIBLE_DEVICES": "0,1"}) == "1"
    assert own_gpu(2, {}) == "2"


def test_role_round_trips() -> None:
    for role in (Role(True, None), Role(False, ()), Role(True, ("GPU-1",))):
        assert Role.from_dict(role.to_dict()) == role


class _FakeGpu:
    """A GPU reader as the registry's NVML factory would return it (records its selection)."""

    name = "nvml"

    def __init__(self, gpus: list[str] | None) -> None:
        self.gpus = gpus
        self.closed = False

    def probe(self) -> ProbeResult:
        return ProbeResult(self.name, True, "ok", tuple(self.open()))

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo("nvml:GPU-1", "gpu", "Fake", Provenance.MEASURED, "fake")]

    def read(self) -> list[Reading]:
        return []

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[_FakeGpu]:
    made: list[_FakeGpu] = []

    def factory(gpus: list[str] | None = None) -> _FakeGpu:
        made.append(_FakeGpu(gpus))
        return made[-1]

    monkeypatch.setitem(registry.HARDWARE_READERS, "nvml", factory)
    monkeypatch.setitem(registry.HARDWARE_READERS, "amdsmi", lambda gpus=None: None)
    make_powercap(tmp_path / "pc", {"intel-rapl:0": {"name": "package-0"}})
    monkeypatch.setenv("WATTWISE_POWERCAP_ROOT", str(tmp_path / "pc" / "class" / "powercap"))
    return made


def _kinds(readers: list[Reader]) -> set[str]:
    return {d.kind for r in readers for d in r.open()}


def test_readers_of_each_role_never_overlap(fake_gpus: list[_FakeGpu]) -> None:
    leader, _ = readers_for(Role(True, None))
    assert {"cpu", "gpu"} <= _kinds(leader) and fake_gpus[-1].gpus is None
    own, _ = readers_for(Role(False, ("3",)))
    assert _kinds(own) == {"gpu"} and fake_gpus[-1].gpus == ["3"]  # no CPU: the leader has it
    leader_own, _ = readers_for(Role(True, ("0",)))
    assert {"cpu", "gpu"} <= _kinds(leader_own) and fake_gpus[-1].gpus == ["0"]
    cpu_only, _ = readers_for(Role(True, ()))
    assert "gpu" not in _kinds(cpu_only) and fake_gpus[-1].closed
    assert readers_for(Role(False, ())) == ([], [])
