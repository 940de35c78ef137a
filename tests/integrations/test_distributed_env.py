"""Who a process is in a job (torchrun, Slurm) and what it measures: pure, no torch."""

from __future__ import annotations

import pytest

from wattwise.integrations.distributed.env import (
    JobEnv,
    Role,
    detect_job,
    own_gpu,
    plan,
    slurm_tasks_on_node,
)

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
