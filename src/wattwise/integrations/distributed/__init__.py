"""torch.distributed jobs and clusters: one run per job, each node's devices read once.

``with track_job("train", store=True) as t:`` on every rank (torchrun, Slurm ``srun`` or any
launcher that sets ``RANK`` / ``WORLD_SIZE``): the local rank 0 of each node reads the node's
CPU, memory and GPUs, every rank counts its own work, and at the end rank 0 gathers the results
over the job's process group and stores one job run whose components are per node and device
(``node1:rapl:package-0``). See :mod:`.job` for the lifecycle, :mod:`.env` for who measures
what, :mod:`.merge` for how results are joined and :mod:`.gather` for the transport.

Importing this package does not import torch; a job that uses it has torch already.
"""

from wattwise.integrations.distributed.env import JobEnv, Role, detect_job, plan
from wattwise.integrations.distributed.job import DistributedTracker, track_job
from wattwise.integrations.distributed.merge import JobRun, RankResult, merge_job

__all__ = [
    "DistributedTracker",
    "JobEnv",
    "JobRun",
    "RankResult",
    "Role",
    "detect_job",
    "merge_job",
    "plan",
    "track_job",
]
