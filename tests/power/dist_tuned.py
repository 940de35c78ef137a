"""One rank of a 2-process data-parallel job for the tests (gloo, CPU): a simulated GPU each.

Run with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` set and
``WW_SHAPES`` = one simulated shape per rank (comma-separated). Each rank tunes inside
``wattwise.power.tuned(distributed=True)`` for ``WW_STEPS`` steps and prints its report as one
JSON line (``limit_w``: its GPU's power limit at the last step, inside the block).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import torch.distributed as dist

import wattwise
from wattwise.power.tuner import TuneOptions


def main() -> None:
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    shape = os.environ["WW_SHAPES"].split(",")[rank]
    quick = TuneOptions(grid_step_w=50.0, warmup_steps=1, steps_per_setting=4, min_measure_s=0.2)
    with wattwise.power.tuned(
        simulated_gpu=shape, options=quick, distributed=True, workload="dist", seed=rank
    ) as t:
        for _ in range(int(os.environ.get("WW_STEPS", "150"))):
            t.step()
        assert t.control is not None
        limit_w = t.control.settings(0).power_limit_w
    print(json.dumps({"rank": rank, "limit_w": limit_w, **t.report()}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
