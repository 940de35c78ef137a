"""The agreement logic without torch: two "ranks" as threads over a barrier-backed all-reduce.
A rank with no GPU of its own takes part with zeros, so the job's choice is the other rank's
own; and two ranks whose GPUs allow different limits measure one common grid."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from wattwise.errors import WattwiseError
from wattwise.power import simulator
from wattwise.power.gpu_model import H100, GpuModel
from wattwise.power.nvml_control import NvmlControl
from wattwise.power.session import _NoGpus
from wattwise.power.tuner import TuneOptions, TuneResult, tune, tune_steps

QUICK = TuneOptions(grid_step_w=50.0, warmup_steps=1, steps_per_setting=4, min_measure_s=0.2)


class ThreadAgreement:
    """``world_size`` threads reduce element-wise; each call returns once all have called."""

    def __init__(self, world_size: int) -> None:
        self.world_size = world_size
        self._barrier = threading.Barrier(world_size)
        self._lock = threading.Lock()
        self._parts: list[list[float]] = []
        self._result: list[float] = []

    def _reduce(self, values: Sequence[float], op: Any) -> list[float]:
        with self._lock:
            self._parts.append([float(v) for v in values])
        if self._barrier.wait() == 0:
            self._result = [op(col) for col in zip(*self._parts, strict=True)]
            self._parts = []
        self._barrier.wait()
        out = list(self._result)
        self._barrier.wait()
        return out

    def sum(self, values: Sequence[float]) -> list[float]:
        return self._reduce(values, sum)

    def max(self, values: Sequence[float]) -> list[float]:
        return self._reduce(values, max)


def _rank(control: NvmlControl, sim: Any, agree: ThreadAgreement, out: dict[int, Any], r: int,
          ) -> None:  # fmt: skip
    control.open()
    clock = sim.now_s if sim is not None else (lambda: 0.0)
    gen = tune_steps(control, clock, QUICK, agree)
    try:
        n = next(gen)
        while True:
            for _ in range(n):  # a data-parallel job: both ranks step together
                if sim is not None:
                    sim.run_steps(1)
            n = gen.send(None)
    except StopIteration as done:
        out[r] = done.value
    except WattwiseError as exc:
        out[r] = exc


def _job(controls: list[tuple[NvmlControl, Any]]) -> list[TuneResult]:
    agree, out = ThreadAgreement(len(controls)), {}
    threads = [threading.Thread(target=_rank, args=(c, s, agree, out, r))
               for r, (c, s) in enumerate(controls)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)  # nobody left waiting in an all-reduce
    return [out[r] for r in range(len(controls))]


def test_a_rank_without_a_gpu_leaves_the_choice_to_the_others() -> None:
    sim = simulator.SimulatedNvml(shape="memory-bound", seed=3)
    with_gpu, without = _job([(NvmlControl(sim, simulated=True), sim), (_NoGpus(), None)])
    alone_sim = simulator.SimulatedNvml(shape="memory-bound", seed=3)
    alone_control = NvmlControl(alone_sim, simulated=True)
    alone_control.open()
    alone = tune(alone_control, alone_sim, QUICK)
    assert with_gpu.chosen == without.chosen == alone.chosen  # zeros change nothing
    assert with_gpu.settings == alone.settings


def test_ranks_with_different_limits_measure_one_common_grid() -> None:
    narrow = GpuModel(**{**H100.__dict__, "name": "narrow", "min_limit_w": 300.0,
                         "max_limit_w": 650.0, "default_limit_w": 650.0})  # fmt: skip
    a = simulator.SimulatedNvml(shape="memory-bound", seed=1)
    b = simulator.SimulatedNvml(shape="memory-bound", seed=2, model=narrow)
    ra, rb = _job([(NvmlControl(a, simulated=True), a), (NvmlControl(b, simulated=True), b)])
    grid = [s.power_limit_w for s in ra.planned]
    assert grid == [s.power_limit_w for s in rb.planned]
    assert grid[0] == 650.0 and min(grid) == 300.0  # what both GPUs accept
    assert ra.chosen == rb.chosen and 300.0 <= ra.chosen.setting.power_limit_w <= 650.0


class FailingSim(simulator.SimulatedNvml):
    """A GPU whose driver refuses the second power-limit change (NVML_ERROR_NOT_SUPPORTED)."""

    sets = 0

    def nvmlDeviceSetPowerManagementLimit(self, handle: Any, limit_mw: int) -> None:
        self.sets += 1
        if self.sets == 2:
            raise simulator.NVMLError(simulator.NVML_ERROR_NOT_SUPPORTED)
        super().nvmlDeviceSetPowerManagementLimit(handle, limit_mw)


def test_a_rank_that_fails_stops_every_rank_at_the_same_agreement() -> None:
    a = simulator.SimulatedNvml(shape="memory-bound", seed=1)
    b = FailingSim(shape="memory-bound", seed=2)
    ra, rb = _job([(NvmlControl(a, simulated=True), a), (NvmlControl(b, simulated=True), b)])
    assert isinstance(ra, WattwiseError) and isinstance(rb, WattwiseError)
    assert "1 rank(s) could not" in str(ra) and "here: setting the power limit" in str(rb)
    assert "here:" not in str(ra)
