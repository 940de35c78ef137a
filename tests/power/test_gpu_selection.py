"""Only the job's GPUs are tuned: ``select=`` / ``gpus=`` / ``CUDA_VISIBLE_DEVICES`` limit the
control to those GPUs (by NVML index or UUID prefix), a MIG instance is refused, and the state
file finds each GPU again by UUID, whichever GPUs the restoring process sees."""

from __future__ import annotations

import pytest

import wattwise
from power.fake_control_nvml import ControlNvml, h100_control
from wattwise.errors import WattwiseError
from wattwise.power import simulator
from wattwise.power.nvml_control import NvmlControl, PowerControlError
from wattwise.power.state import read_state, record, reset_from_file, state_path
from wattwise.power.tuner import TuneOptions

FAST = TuneOptions(grid_step_w=100.0, warmup_steps=0, steps_per_setting=2, min_measure_s=0.0)


def _limits_w(sim: simulator.SimulatedNvml) -> list[float]:
    sim.nvmlInit()
    try:
        return [sim.nvmlDeviceGetPowerManagementLimit(sim.nvmlDeviceGetHandleByIndex(i)) / 1000
                for i in range(sim.count)]  # fmt: skip
    finally:
        sim.nvmlShutdown()


def test_select_by_index_or_uuid_prefix_and_refuse_mig() -> None:
    sim = simulator.SimulatedNvml(shape="mixed", count=3)
    uuid_1 = simulator.SIMULATED_UUID_PREFIX + "0001"
    with NvmlControl(sim, simulated=True, select=["2", uuid_1]) as c:
        assert c.count == 2 and [c.settings(i).index for i in range(2)] == [2, 1]
        assert c.gpu(0).startswith("GPU 2 (")
        c.set_power_limit(0, 400.0)
    assert _limits_w(sim) == [700.0, 700.0, 400.0]
    for bad, said in (("7", "not a visible"), ("GPU-5157", "several"), ("MIG-1234", "MIG")):
        with pytest.raises(PowerControlError, match=said), NvmlControl(sim, select=[bad]):
            pass


def test_tuned_changes_only_the_visible_gpus_and_restores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = simulator.SimulatedNvml(shape="memory-bound", count=3)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,2")
    seen: set[tuple[float, ...]] = set()
    allowed = {"privileged": lambda: True}  # root or CAP_SYS_ADMIN, as the CI runner may not be
    with wattwise.power.tuned(nvml=sim, options=FAST, reuse=False, save=False, **allowed) as t:
        for _ in range(30):
            sim.run_steps(1)
            t.step()
            seen.add(tuple(_limits_w(sim)))
    assert t.control is not None and t.control.count == 2
    assert {limits[1] for limits in seen} == {700.0}  # GPU 1 is another job's: never touched
    assert {limits[0] for limits in seen} != {700.0}  # GPUs 0 and 2 were tuned
    assert t.report()["restored"] is True and _limits_w(sim) == [700.0, 700.0, 700.0]


def test_the_state_file_restores_by_uuid_whatever_the_restorer_sees() -> None:
    sim = simulator.SimulatedNvml(shape="mixed", count=3)
    path = state_path()
    with NvmlControl(sim, simulated=True, select=["2"]) as c:
        record(c, path, reset_clocks=False)  # what guarded() writes first
        c.set_power_limit(0, 300.0)  # then the process dies without restoring
    doc = read_state(path)
    assert doc is not None and doc["gpus"][0]["index"] == 2
    with NvmlControl(sim, simulated=True) as every:  # `wattwise tune --reset`: all GPUs
        _doc, failures = reset_from_file(every, path)
    assert failures == [] and _limits_w(sim) == [700.0, 700.0, 700.0] and not path.exists()


def test_one_tuner_per_gpu_jobs_on_other_gpus_of_the_node_go_on() -> None:
    """Two single-GPU jobs on one node each keep a state file of their own GPU; a second tuner of
    a GPU another one recorded is refused, with the file named."""
    from wattwise.power.state import guarded, state_path_for

    fake = ControlNvml([h100_control(0), h100_control(1)])
    allowed = {"privileged": lambda: True}
    with NvmlControl(fake, select=["0"], **allowed) as job0, NvmlControl(
        fake, select=["1"], **allowed
    ) as job1, NvmlControl(fake, **allowed) as every:  # fmt: skip
        with guarded(job0, state_path_for(job0), reset_clocks=False) as g0:
            own = state_path_for(job0)
            assert own.name.endswith("-gpu0.json") and own.exists()
            job0.set_power_limit(0, 300.0)
            with guarded(job1, state_path_for(job1), reset_clocks=False) as g1:
                job1.set_power_limit(0, 400.0)  # another GPU: its own file, no conflict
            assert g1.restored
            for rival in (every, job0):
                path = state_path_for(rival).with_name("power-state-rival.json")
                with pytest.raises(WattwiseError, match="one tuner per GPU"):
                    guarded(rival, path, reset_clocks=False).__enter__()
                assert not path.exists()
        assert g0.restored
    assert [g.power_limit_mw for g in fake.gpus] == [700_000, 700_000]


def test_a_block_that_cannot_start_changes_nothing_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import signal

    from wattwise.workloads.counts import STEP_LISTENERS

    sim = simulator.SimulatedNvml(shape="mixed", count=2)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-4f3c0000-aaaa-bbbb-cccc-0123456789ab")
    with pytest.raises(PowerControlError, match="MIG instance"):
        wattwise.power.tuned(nvml=sim, privileged=lambda: True).__enter__()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    state_path().parent.mkdir(parents=True, exist_ok=True)
    state_path().write_text('{"version": 1, "pid": 1, "simulated": false, "gpus": []}')
    with pytest.raises(WattwiseError, match="wattwise tune --reset"):
        wattwise.power.tuned(nvml=sim, privileged=lambda: True).__enter__()
    assert _limits_w(sim) == [700.0, 700.0] and STEP_LISTENERS == []
    assert {s: signal.getsignal(s) for s in handlers} == handlers
