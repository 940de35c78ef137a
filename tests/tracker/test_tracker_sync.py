"""Tracker(sync=...): queued device work is waited for before each boundary reading (issue 12)."""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
import types
from typing import Any

import pytest

from cli.clirun import cli_env
from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.errors import ConfigError
from wattwise.readers.base import Reading
from wattwise.tracker.core import Tracker
from wattwise.tracker.sync import resolve_sync


class LoggedReader(CounterReader):
    """A counter reader that writes "read" into a shared log at each read."""

    def __init__(self, clock: FakeClock, power_w: float, log: list[str]) -> None:
        super().__init__(clock, power_w)
        self.log = log

    def read(self) -> list[Reading]:
        self.log.append("read")
        return super().read()


class FakeQueue:
    """A device queue: ``launch`` returns at once; ``sync`` waits (the clock runs) until the
    queued kernels are done, as ``torch.cuda.synchronize`` does."""

    def __init__(self, clock: FakeClock, log: list[str]) -> None:
        self.clock = clock
        self.log = log
        self.pending_s = 0.0

    def launch(self, seconds: float) -> None:
        self.pending_s += seconds

    def __call__(self) -> None:
        self.log.append("sync")
        self.clock.advance(self.pending_s)
        self.pending_s = 0.0


def test_sync_comes_before_every_boundary_reading(clock: FakeClock) -> None:
    log: list[str] = []
    t = Tracker(
        readers=[LoggedReader(clock, 10.0, log)], clock=clock, sampler=False,
        sync=FakeQueue(clock, log),
    )  # fmt: skip
    t.start()
    log.append("|start done|")
    with t.window("train"):
        log.append("|window open|")
        clock.advance(1.0)
    log.append("|window closed|")
    t.stop()
    # open() reads nothing; each boundary: sync, then the reading.
    assert log == ["sync", "read", "|start done|", "sync", "read", "|window open|",
                   "sync", "read", "|window closed|", "sync", "read"]  # fmt: skip


def test_queued_kernels_land_in_their_own_window(clock: FakeClock) -> None:
    """A step that only queues 2 s of work: with sync its window holds the 2 s at 100 W; without,
    the window closes at once and the work lands in the next window."""

    def run(sync: bool) -> dict[str, float]:
        log: list[str] = []
        queue = FakeQueue(clock, log)
        t = Tracker(readers=[CounterReader(clock, 100.0)], clock=clock, sampler=False,
                    sync=queue if sync else None)  # fmt: skip
        t.start()
        with t.window("step"):
            queue.launch(2.0)  # returns at once, as a CUDA launch does
        with t.window("after"):
            queue()  # the next thing that waits on the device (e.g. .item())
        res = t.stop()
        return {w.name: w.energy.total_j for w in res.windows}

    assert run(sync=True) == pytest.approx({"step": 200.0, "after": 0.0})
    assert run(sync=False) == pytest.approx({"step": 0.0, "after": 200.0})


def test_a_failing_sync_is_one_note_and_the_run_goes_on(clock: FakeClock) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False, sync=broken)
    t.start()
    for _ in range(3):
        with t.window("w"):
            clock.advance(1.0)
    res = t.stop()
    assert len(calls) == 8  # start, 3 x (open, close), stop
    assert [w.energy.total_j for w in res.windows] == pytest.approx([10.0] * 3)
    failed = [n for n in res.notes if "device sync (broken) failed: RuntimeError" in n]
    assert len(failed) == 1
    assert any("failed 8 times in all" in n for n in res.notes)


def test_sync_none_and_bad_values(clock: FakeClock) -> None:
    t = Tracker(readers=[CounterReader(clock, 10.0)], clock=clock, sampler=False, sync=None)
    t.start()
    assert t.stop().energy.total_j == 0.0
    with pytest.raises(ConfigError, match="give 'auto', 'torch', 'jax', 'cupy'"):
        Tracker(sync="cuda")
    with pytest.raises(ConfigError, match="a callable or None"):
        Tracker(sync=3)  # type: ignore[arg-type]


def test_a_framework_not_installed_is_refused_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wattwise.tracker import sync

    real = sync.top_level_spec
    monkeypatch.setattr(sync, "top_level_spec", lambda name: None if name == "cupy" else real(name))
    with pytest.raises(ConfigError, match="cupy is not installed"):
        Tracker(sync="cupy")


def _fake_module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def _fake_torch(log: list[str], *, initialized: bool, contexts: tuple[bool, ...]) -> Any:
    cuda = types.SimpleNamespace(
        is_initialized=lambda: initialized,
        device_count=lambda: len(contexts),
        synchronize=lambda i=None: log.append(f"cuda.synchronize({i})"),
    )
    c = types.SimpleNamespace(_cuda_hasPrimaryContext=lambda i: contexts[i])
    mps = types.SimpleNamespace(synchronize=lambda: log.append("mps.synchronize()"))
    backends = types.SimpleNamespace(mps=types.SimpleNamespace(is_available=lambda: False))
    return _fake_module("torch", cuda=cuda, _C=c, mps=mps, backends=backends)


def test_auto_syncs_only_the_cuda_devices_torch_initialised(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    log: list[str] = []
    fake = _fake_torch(log, initialized=True, contexts=(True, False, True))
    monkeypatch.setitem(sys.modules, "torch", fake)
    t = Tracker(readers=[LoggedReader(clock, 10.0, log)], clock=clock, sampler=False)
    t.start()
    # Devices 0 and 2 have a context; device 1 is never touched (no context made to wait).
    assert log == ["cuda.synchronize(0)", "cuda.synchronize(2)", "read"]
    t.stop()


def test_auto_does_nothing_while_cuda_is_not_initialised(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    log: list[str] = []
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(log, initialized=False, contexts=(True,)))
    t = Tracker(readers=[LoggedReader(clock, 10.0, log)], clock=clock, sampler=False).start()
    t.stop()
    assert log == ["read", "read"]
    monkeypatch.delitem(sys.modules, "torch")
    resolve_sync("auto", t._notes)()  # no torch at all: nothing, no note
    assert not [n for n in t.notes if "sync" in n]


def test_jax_and_cupy_are_waited_for_through_their_own_calls(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    log: list[str] = []

    class Put:
        def __init__(self, device: str) -> None:
            self.device = device

        def block_until_ready(self) -> None:
            log.append(f"jax:block_until_ready({self.device})")

    jax = _fake_module("jax", local_devices=lambda: ["gpu:0", "gpu:1"],
                       device_put=lambda x, device: Put(device))  # fmt: skip
    device = types.SimpleNamespace(synchronize=lambda: log.append("cupy:synchronize"))
    cupy = _fake_module("cupy", cuda=types.SimpleNamespace(Device=lambda: device))
    monkeypatch.setitem(sys.modules, "jax", jax)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    for name in ("jax", "cupy"):
        t = Tracker(readers=[LoggedReader(clock, 1.0, log)], clock=clock, sampler=False, sync=name)
        t.start()
    assert log == ["jax:block_until_ready(gpu:0)", "jax:block_until_ready(gpu:1)", "read",
                   "cupy:synchronize", "read"]  # fmt: skip


def test_auto_imports_no_framework() -> None:
    """The default costs a look-up: neither import wattwise nor a run imports torch."""
    code = (
        "import sys\n"
        "from wattwise.tracker.core import Tracker\n"
        "t = Tracker(readers=[], sampler=False)\n"
        "with t.window('w'): pass\n"
        "t.stop()\n"
        "print(sorted(m for m in ('torch', 'jax', 'cupy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=cli_env()
    )
    assert out.stdout.strip() == "[]"
