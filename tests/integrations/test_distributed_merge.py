"""Joining ranks' results into one job run, and the job run stored by rank 0 (no torch here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FakeClock
from tracker.fakes import CounterReader
from wattwise.core.run import RunResult
from wattwise.integrations.distributed import DistributedTracker, RankResult, merge_job
from wattwise.integrations.distributed.env import JobEnv, Role
from wattwise.integrations.distributed.merge import merge_counts
from wattwise.ledger import Ledger
from wattwise.tracker.core import Tracker


def _env(rank: int, node: int, host: str, *, local: int = 0, world: int = 4) -> JobEnv:
    return JobEnv(
        rank=rank, world_size=world, local_rank=local, local_world_size=2, node_rank=node,
        nodes=2, job_id="77", launcher="torchrun", hostname=host,
    )  # fmt: skip


def _run(power_w: float | None, *, seconds: float = 10.0, tokens: float = 0.0) -> RunResult:
    """A finished run of ``seconds`` with one CPU counter at ``power_w`` (None: no reader), an
    ``epoch`` window over its second half, ``tokens`` and 3 steps."""
    clock = FakeClock()
    readers = [] if power_w is None else [CounterReader(clock, power_w, "rapl:package-0")]
    t = Tracker("job", readers=readers, clock=clock, sampler=False)
    t.start()
    clock.advance(seconds / 2)
    t.sample()
    with t.window("epoch"):
        clock.advance(seconds / 2)
        t.count(tokens=tokens)
        t.step(3)
    return t.stop()


def _rank(rank: int, node: int, host: str, power_w: float | None, **kw: float) -> RankResult:
    local = rank % 2
    role = Role(True, None) if power_w is not None else Role(False, ())
    start = 1_000.0 + kw.pop("late_s", 0.0)
    return RankResult(_env(rank, node, host, local=local), role, start, _run(power_w, **kw))


def test_each_node_once_counts_added_steps_shared() -> None:
    ranks = [
        _rank(0, 0, "a", 50.0, tokens=100),
        _rank(1, 0, "a", None, tokens=200),
        _rank(2, 1, "b", 30.0, tokens=300),
        _rank(3, 1, "b", None, tokens=400),
    ]
    job = merge_job(ranks, missing={}).result
    comps = {c.device_id: c for c in job.components}
    assert set(comps) == {"node0:rapl:package-0", "node1:rapl:package-0"}
    assert comps["node0:rapl:package-0"].energy_j == pytest.approx(500.0)  # 50 W x 10 s
    assert comps["node1:rapl:package-0"].energy_j == pytest.approx(300.0)
    assert comps["node1:rapl:package-0"].params["hostname"] == "b"
    assert job.energy.total_j == pytest.approx(800.0)
    assert job.counts == {"tokens": 1000.0, "steps": 3.0}  # steps: every rank took the same 3
    (epoch,) = job.windows
    assert epoch.counts["tokens"] == 1000.0
    assert epoch.energy.total_j == pytest.approx(400.0)  # (50 + 30) W x 5 s
    assert job.host["job_id"] == "77" and job.host["job_hostnames"] == "a,b"
    assert job.run_id == ranks[0].run.run_id
    assert not any("no energy reader" in n for n in job.notes)  # counting ranks: not noise


def test_a_device_reported_twice_on_one_host_is_counted_once() -> None:
    # a launcher whose local ranks could not be told: both think they lead host "a"
    job = merge_job([_rank(0, 0, "a", 50.0), _rank(1, 1, "a", 50.0)], missing={}).result
    assert [c.device_id for c in job.components] == ["node0:rapl:package-0"]
    assert any("counted once" in n for n in job.notes)


def test_a_dead_rank_is_a_gap_and_a_note_not_a_lost_run() -> None:
    ranks = [_rank(0, 0, "a", 50.0, tokens=1), _rank(1, 0, "a", None, tokens=2)]
    merged = merge_job(ranks, missing={2: "Connection reset by peer"})
    job = merged.result
    (gap,) = [g for g in job.gaps if g.device_id == "node1:rank2"]
    assert gap.start_s == 0.0 and gap.end_s == pytest.approx(job.duration_s)
    assert "Connection reset by peer" in gap.error
    assert any("rank 2 sent no result" in n and "node 1's CPU" in n for n in job.notes)
    assert job.counts["tokens"] == 3.0
    assert merged.info["missing"] == [{"rank": 2, "node": 1, "reason": "Connection reset by peer"}]


def test_times_of_a_later_rank_are_shifted_onto_the_root() -> None:
    ranks = [_rank(0, 0, "a", 50.0), _rank(2, 1, "b", 30.0, late_s=1.5)]
    job = merge_job(ranks, missing={}).result
    assert job.duration_s == pytest.approx(11.5)
    late = [s.t_s for s in job.samples if s.device_id == "node1:rapl:package-0"]
    assert min(late) == pytest.approx(1.5)
    (epoch,) = job.windows
    assert (epoch.start_s, epoch.end_s) == (pytest.approx(5.0), pytest.approx(11.5))


def test_a_failed_rank_fails_the_job() -> None:
    ok, bad = _rank(0, 0, "a", 50.0), _rank(1, 0, "a", None)
    bad = RankResult(
        bad.env, bad.role, bad.start_wall_s, RunResult(**{**bad.run.__dict__, "status": "failed"})
    )
    assert merge_job([ok, bad], missing={}).result.status == "failed"


def test_rank_result_round_trips_as_bytes() -> None:
    r = _rank(2, 1, "b", 30.0, tokens=5)
    back = RankResult.from_bytes(r.to_bytes())
    assert back.env.node == 1 and back.role == r.role and back.start_wall_s == r.start_wall_s
    assert back.run.energy.total_j == pytest.approx(r.run.energy.total_j)
    assert len(back.run.samples) == len(r.run.samples) and back.run.counts == r.run.counts
    with pytest.raises(ValueError, match="not a wattwise rank result"):
        RankResult.from_bytes(b"{}")


def test_merge_counts_rule() -> None:
    assert merge_counts([{"tokens": 1, "steps": 4}, {"tokens": 2, "steps": 4}]) == {
        "tokens": 3.0,
        "steps": 4.0,
    }


def test_one_process_job_is_stored_with_node_prefix(tmp_path: Path) -> None:
    db = str(tmp_path / "job.db")
    clock = FakeClock()
    reader = CounterReader(clock, 40.0, "rapl:package-0")
    env = {"SLURM_JOB_ID": "555", "SLURM_JOB_NODELIST": "n[1-2]"}
    with DistributedTracker(
        "solo", store=db, distributed=True, environ=env, readers=[reader], clock=clock,
        sampler=False, flush_interval_s=0.0,
    ) as t:  # fmt: skip
        for _ in range(4):
            clock.advance(1.0)
            assert t.tracker is not None
            t.tracker.sample()  # streamed to the ledger under the node prefix
        t.count(tokens=10)
    assert t.stored is True and t.result is not None
    led = Ledger.open(db, readonly=True)
    stored = led.get_run(t.run_id)
    assert [c.device_id for c in stored.components] == ["node0:rapl:package-0"]
    assert stored.energy.total_j == pytest.approx(160.0)
    assert {s.device_id for s in stored.samples} == {"node0:rapl:package-0"}
    assert stored.host["job_id"] == "555" and stored.host["job_node_list"] == "n[1-2]"
    extra = led.get_extra(t.run_id)["distributed"]
    assert (
        extra["world_size"] == 1
        and extra["ranks"][0]["measures"] == "CPU and memory + every GPU it sees"
    )


def test_rank_zero_without_a_process_group_stores_its_node_and_names_the_rest(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "job.db")
    clock = FakeClock()
    reader = CounterReader(clock, 40.0, "rapl:package-0")
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1"}
    t = DistributedTracker(
        "half", store=db, environ=env, readers=[reader], clock=clock, sampler=False
    )
    with t:
        clock.advance(2.0)
    assert t.stored is True and t.result is not None
    stored = Ledger.open(db, readonly=True).get_run(t.run_id)
    assert stored.energy.total_j == pytest.approx(80.0)
    assert any(g.device_id == "node1:rank1" for g in stored.gaps)
    assert any(
        "rank 1 sent no result (torch.distributed is not initialised" in n for n in stored.notes
    )


def test_a_rank_that_cannot_send_warns_and_keeps_its_own_result() -> None:
    env = {"RANK": "1", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1"}
    clock = FakeClock()
    t = DistributedTracker("other", environ=env, readers=[CounterReader(clock, 5.0)], clock=clock,
                           sampler=False)  # fmt: skip
    with pytest.warns(RuntimeWarning, match="not in the job run"), t:
        clock.advance(1.0)
    assert t.result is not None and t.stored is None
    assert t.result.energy.total_j == pytest.approx(5.0)
    assert any("not in the job run" in n for n in t.result.notes)


def test_outside_a_job_it_is_a_plain_tracked_run(tmp_path: Path) -> None:
    clock = FakeClock()
    reader = CounterReader(clock, 10.0, "rapl:package-0")
    with DistributedTracker("plain", store=str(tmp_path / "p.db"), environ={}, readers=[reader],
                            clock=clock, sampler=False) as t:  # fmt: skip
        clock.advance(1.0)
    assert not t.active and t.stored is True and t.result is not None
    assert [c.device_id for c in t.result.components] == ["rapl:package-0"]


def test_rank_zero_streams_its_node_while_the_job_runs(tmp_path: Path) -> None:
    """Before the end, the job run is in the ledger with node 0's samples (so a killed rank 0
    leaves an interrupted run with its node's energy, not nothing)."""
    db = str(tmp_path / "job.db")
    clock = FakeClock()
    reader = CounterReader(clock, 20.0, "rapl:package-0")
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1"}
    t = DistributedTracker("live", store=db, environ=env, readers=[reader], clock=clock,
                           sampler=False, flush_interval_s=0.0).start()  # fmt: skip
    for _ in range(3):
        clock.advance(1.0)
        assert t.tracker is not None
        t.tracker.sample()
    running = Ledger.open(db, readonly=True).get_run(t.run_id)
    assert running.status == "running" and running.host["job_world_size"] == "2"
    assert {s.device_id for s in running.samples} == {"node0:rapl:package-0"}
    assert running.energy.total_j == pytest.approx(60.0)
    t.stop()
