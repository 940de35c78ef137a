"""The job a process belongs to (rank, node, launcher) and what it measures in it.

Read from the environment the launchers set:

* torchrun (``torch.distributed.run``): ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
  ``LOCAL_WORLD_SIZE``, ``GROUP_RANK`` (the node's rank), ``GROUP_WORLD_SIZE`` (nodes),
  ``TORCHELASTIC_RUN_ID``; ``NODE_RANK`` is read where ``GROUP_RANK`` is not set.
* Slurm (``srun``): ``SLURM_PROCID``, ``SLURM_LOCALID``, ``SLURM_NTASKS``, ``SLURM_NODEID``,
  ``SLURM_NNODES``, ``SLURM_TASKS_PER_NODE``, ``SLURM_JOB_ID``, ``SLURM_JOB_NODELIST``.

torchrun's variables win where both are set (torchrun started by ``srun`` once per node); Slurm
still gives the job id and the node list. A variable that is set but not a whole number is
ignored, and :attr:`JobEnv.problems` says so (the run's notes show it).

Who measures what (:func:`plan`), never twice: by default the process of local rank 0 of each
node reads the node's CPU, memory and platform counters and every GPU it can see; the other
processes only count their work. With ``per_gpu=True`` every process reads its own GPU (the one
its launcher bound to it, else the one of its local rank) and local rank 0 also reads the CPU.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from wattwise.readers.nvml import visible_device_tokens

__all__ = ["JobEnv", "Role", "detect_job", "own_gpu", "plan"]

#: Launcher names in :attr:`JobEnv.launcher`.
TORCHRUN, SLURM, ENV = "torchrun", "slurm", "env"


@dataclass(frozen=True)
class JobEnv:
    """One process's place in a job. ``None``: the environment does not say."""

    rank: int = 0
    world_size: int = 1
    local_rank: int | None = None
    local_world_size: int | None = None
    node_rank: int | None = None
    nodes: int | None = None
    job_id: str = ""
    node_list: str = ""
    launcher: str = ""  # torchrun | slurm | env (RANK / WORLD_SIZE only) | "" (none)
    hostname: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def distributed(self) -> bool:
        """More than one process in the job."""
        return self.world_size > 1

    @property
    def local(self) -> int:
        """The local rank; without one, the rank within its node when ranks are packed per node
        (``LOCAL_WORLD_SIZE`` known), else 0 (the process is taken to be alone on its node)."""
        if self.local_rank is not None:
            return self.local_rank
        if self.local_world_size:
            return self.rank % self.local_world_size
        return 0

    @property
    def node(self) -> int:
        """The node's number in device ids (``node1:rapl:package-0``)."""
        if self.node_rank is not None:
            return self.node_rank
        if self.local_world_size:
            return self.rank // self.local_world_size
        return self.rank

    def node_of(self, rank: int) -> int | None:
        """The node of another ``rank`` when ranks are packed per node (else None)."""
        return rank // self.local_world_size if self.local_world_size else None

    def job_host(self) -> dict[str, str]:
        """The job's fields for a run's ``host`` (strings; empty ones left out)."""
        items = {
            "job_launcher": self.launcher,
            "job_id": self.job_id,
            "job_world_size": str(self.world_size),
            "job_nodes": "" if self.nodes is None else str(self.nodes),
            "job_node_list": self.node_list,
        }
        return {k: v for k, v in items.items() if v}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (for the job run's ``extra`` and the gathered results)."""
        return {
            "rank": self.rank,
            "world_size": self.world_size,
            "local_rank": self.local,
            "local_world_size": self.local_world_size,
            "node": self.node,
            "nodes": self.nodes,
            "job_id": self.job_id,
            "node_list": self.node_list,
            "launcher": self.launcher,
            "hostname": self.hostname,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> JobEnv:
        """Inverse of :meth:`to_dict` (the node is kept as the node rank)."""

        def num(key: str) -> int | None:
            v = d.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        return cls(
            rank=num("rank") or 0,
            world_size=num("world_size") or 1,
            local_rank=num("local_rank"),
            local_world_size=num("local_world_size"),
            node_rank=num("node"),
            nodes=num("nodes"),
            job_id=str(d.get("job_id") or ""),
            node_list=str(d.get("node_list") or ""),
            launcher=str(d.get("launcher") or ""),
            hostname=str(d.get("hostname") or ""),
        )

    def with_group(self, rank: int, world_size: int) -> JobEnv:
        """This env with the rank and world size of an initialised process group (they are the
        truth); a disagreement with the environment is a problem noted."""
        if (rank, world_size) == (self.rank, self.world_size):
            return self
        why = (
            f"torch.distributed says rank {rank} of {world_size}, the environment rank "
            f"{self.rank} of {self.world_size}: the process group's numbers are used"
        )
        return replace(self, rank=rank, world_size=world_size, problems=(*self.problems, why))


def _first(env: Mapping[str, str], names: tuple[str, ...], problems: list[str]) -> int | None:
    """The first of ``names`` set to a whole number >= 0 (one set otherwise is a problem)."""
    for name in names:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            continue
        value = raw.strip()
        if value.isdigit():
            return int(value)
        problems.append(f"{name}={raw!r} is not a whole number >= 0: ignored")
    return None


def slurm_tasks_on_node(tasks_per_node: str, node: int) -> int | None:
    """The number of tasks on ``node`` from ``SLURM_TASKS_PER_NODE`` (``"4(x2),2"``: 4 on
    nodes 0 and 1, 2 on node 2), or None when it cannot be told."""
    counts: list[int] = []
    for part in tasks_per_node.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:\(x(\d+)\))?\s*", part)
        if m is None:
            return None
        counts += [int(m.group(1))] * int(m.group(2) or 1)
    return counts[node] if 0 <= node < len(counts) else None


def detect_job(environ: Mapping[str, str] | None = None) -> JobEnv:
    """This process's :class:`JobEnv` from ``environ`` (default ``os.environ``). Never raises."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    rank = _first(env, ("RANK", "SLURM_PROCID"), problems)
    world = _first(env, ("WORLD_SIZE", "SLURM_NTASKS"), problems)
    node_rank = _first(env, ("GROUP_RANK", "NODE_RANK", "SLURM_NODEID"), problems)
    local_world = _first(env, ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE"), problems)
    if local_world is None and "LOCAL_WORLD_SIZE" not in env and node_rank is not None:
        local_world = slurm_tasks_on_node(env.get("SLURM_TASKS_PER_NODE", ""), node_rank)
    torchrun = "TORCHELASTIC_RUN_ID" in env or "GROUP_RANK" in env
    launcher = TORCHRUN if torchrun else SLURM if "SLURM_JOB_ID" in env else ENV if world else ""
    run_id = env.get("TORCHELASTIC_RUN_ID", "")
    world = world if world else 1
    if rank is not None and rank >= world:
        problems.append(f"rank {rank} is not below the world size {world}: taken as rank 0")
        rank = 0
    return JobEnv(
        rank=rank or 0,
        world_size=world,
        local_rank=_first(env, ("LOCAL_RANK", "SLURM_LOCALID"), problems),
        local_world_size=local_world or None,
        node_rank=node_rank,
        nodes=_first(env, ("GROUP_WORLD_SIZE", "SLURM_NNODES", "SLURM_JOB_NUM_NODES"), problems),
        job_id=env.get("SLURM_JOB_ID") or ("" if run_id in ("", "none") else run_id),
        node_list=env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or "",
        launcher=launcher,
        hostname=_hostname(),
        problems=tuple(problems),
    )


def _hostname() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - not on POSIX
        import socket

        return socket.gethostname()


@dataclass(frozen=True)
class Role:
    """What one process measures: the node's machine devices (CPU package, DRAM, platform, or
    their model estimates) and which GPUs (``None``: every GPU it sees; ``()``: none)."""

    machine: bool
    gpus: tuple[str, ...] | None

    @property
    def measures(self) -> bool:
        return self.machine or self.gpus != ()

    def describe(self) -> str:
        parts = ["CPU and memory"] if self.machine else []
        if self.gpus is None:
            parts.append("every GPU it sees")
        elif self.gpus:
            parts.append("GPU " + ", ".join(self.gpus))
        return " + ".join(parts) if parts else "counts only"

    def to_dict(self) -> dict[str, object]:
        return {"machine": self.machine, "gpus": None if self.gpus is None else list(self.gpus)}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Role:
        gpus = d.get("gpus")
        listed = tuple(str(g) for g in gpus) if isinstance(gpus, (list, tuple)) else None
        return cls(bool(d.get("machine")), listed)


#: Variables that bind GPUs to a process, CUDA's first.
GPU_VISIBILITY_VARS = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")


def own_gpu(local_rank: int, environ: Mapping[str, str]) -> str | None:
    """The GPU a process of ``local_rank`` uses: the only one its launcher left visible, else
    the ``local_rank``-th visible one (``torch.cuda.set_device(LOCAL_RANK)``); None when there
    is no such GPU. Returned as the index or UUID the visibility variable names."""
    for var in GPU_VISIBILITY_VARS:
        value = environ.get(var)
        if value is None:
            continue
        tokens = visible_device_tokens(value)
        if len(tokens) == 1:
            return tokens[0]
        return tokens[local_rank] if local_rank < len(tokens) else None
    return str(local_rank)


def plan(env: JobEnv, *, per_gpu: bool, environ: Mapping[str, str]) -> tuple[Role, str]:
    """This process's :class:`Role` in the job, and a note when its GPU cannot be told."""
    leader = env.local == 0
    if not per_gpu:
        return (Role(True, None) if leader else Role(False, ())), ""
    gpu = own_gpu(env.local, environ)
    if gpu is None:
        note = (
            f"per_gpu: local rank {env.local} has no visible GPU of its own "
            "(CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES): it reads no GPU"
        )
        return Role(leader, ()), note
    return Role(leader, (gpu,)), ""
