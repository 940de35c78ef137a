"""A tiny distributed job for the tests: every rank runs this under torchrun (or by hand).

Each rank initialises a gloo process group, tracks ``WW_SECONDS`` of idle "work" with
``track_job``, counts ``tokens = 100 × (rank + 1)`` and 5 steps, and rank 0 prints one JSON line
(``run_id``, ``stored``). ``WW_DIE_RANK``: that rank exits at once inside the job (a dead node).
"""

from __future__ import annotations

import json
import os
import time

import torch.distributed as dist

from wattwise.integrations.distributed import track_job


def main() -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    seconds = float(os.environ.get("WW_SECONDS", "2"))
    die = os.environ.get("WW_DIE_RANK")
    job = track_job(
        "dist-job",
        store=os.environ["WW_DB"],
        interval_s=0.25,
        timeout_s=float(os.environ.get("WW_TIMEOUT_S", "20")),
    )
    with job as t, t.window("train"):
        if die is not None and int(die) == rank:
            os._exit(9)  # a node that dies: no result, no goodbye
        time.sleep(seconds)
        t.count(tokens=100 * (rank + 1))
        t.step(5)
    if rank == 0:
        print(json.dumps({"run_id": t.run_id, "stored": t.stored}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
