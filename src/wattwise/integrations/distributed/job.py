"""``track_job``: one stored run for a whole ``torch.distributed`` job, each device read once.

Every rank enters ``track_job`` at the same point (after ``init_process_group``)::

    with track_job("train", store=True) as t:
        ...                       # training; t.count(tokens=n), t.step(), t.window("eval")

On entry, when the job has a process group, a gloo group is made for the results
(:mod:`~wattwise.integrations.distributed.gather`) and the ranks wait for each other, so their
trackers start together. Each rank's tracker reads what :func:`~.env.plan` gives it (the local
rank 0 of each node: the node's CPU, memory and GPUs; the others count their work only; with
``per_gpu=True`` each rank its own GPU). Rank 0 begins the job run in the ledger at once and
streams its own node's samples to it, so the run is listed while it goes on (and, if rank 0 is
killed, it stays as an interrupted run with node 0's energy). On exit each rank stops its
tracker; the others send their results to rank 0, which waits up to ``timeout_s`` for them,
merges them (:mod:`~wattwise.integrations.distributed.merge`) and stores the job run once, with
the job's environment in its ``host`` and ``extra["distributed"]``.

Outside a distributed job (``WORLD_SIZE`` unset or 1, ``distributed`` not True) it is
:func:`wattwise.track` with the same arguments. Like the tracker, nothing here raises into the
training once constructed: a failure to gather or store is a note (and a warning on the ranks
whose result did not reach rank 0).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

from wattwise.api import LedgerOpener
from wattwise.api import tracker as plain_tracker
from wattwise.core.run import Gap, RunResult, Sample
from wattwise.integrations.distributed.env import JobEnv, Role, detect_job, plan
from wattwise.integrations.distributed.gather import GatherGroup, open_group
from wattwise.integrations.distributed.merge import JobRun, RankResult, merge_job, node_prefix
from wattwise.readers.base import DeviceInfo, Reader
from wattwise.tracker.core import Tracker, Window
from wattwise.tracker.model import WindowResult
from wattwise.tracker.outcome import outcome
from wattwise.validate import check_number

__all__ = ["DistributedTracker", "NodeSink", "track_job"]

#: Default wait (s) of rank 0 for the other ranks' results, and of a rank for rank 0.
DEFAULT_TIMEOUT_S = 60.0
#: Samples per ledger write when rank 0 adds the other nodes' timelines.
SAMPLES_PER_WRITE = 10_000


class NodeSink:
    """Rank 0's ledger while the job runs: its node's devices, samples and gaps under the node
    prefix, the job's environment in ``host``. The final write is the job run's, made after the
    gather: ``finish_run`` only keeps what the tracker gives it."""

    what = "ledger"

    def __init__(self, ledger: Any, node: int, job_host: Mapping[str, str]) -> None:
        self.ledger = ledger
        self.prefix = node_prefix(node)
        self.node = node
        self.job_host = dict(job_host)
        self.began = False
        self.final: RunResult | None = None

    def begin_run(
        self,
        run_id: str,
        name: str,
        started_at: str,
        command: Sequence[str] | None,
        host: Mapping[str, str],
        devices: Sequence[DeviceInfo],
    ) -> None:
        moved = [
            replace(d, device_id=self.prefix + d.device_id, name=f"{d.name} (node {self.node})")
            for d in devices
        ]
        self.ledger.begin_run(run_id, name, started_at, command, {**host, **self.job_host}, moved)
        self.began = True

    def append_samples(self, run_id: str, samples: Sequence[Sample]) -> None:
        p = self.prefix
        moved = [Sample(p + s.device_id, s.t_s, s.power_w, s.energy_j) for s in samples]
        self.ledger.append_samples(run_id, moved)

    def append_gaps(self, run_id: str, gaps: Sequence[Gap]) -> None:
        p = self.prefix
        self.ledger.append_gaps(run_id, [replace(g, device_id=p + g.device_id) for g in gaps])

    def heartbeat(self, run_id: str) -> None:
        self.ledger.heartbeat(run_id)

    def finish_run(self, result: RunResult) -> None:
        self.final = result  # the job run is written after the gather

    def hurry(self) -> None:
        self.ledger.hurry()


def _without_gpus(readers: list[Reader]) -> list[Reader]:
    """``readers`` less those reading a GPU (closed): another process reads the GPUs."""
    kept = []
    for r in readers:
        try:
            gpu = any(d.kind == "gpu" for d in r.open())
        except Exception:
            gpu = False
        if gpu:
            with contextlib.suppress(Exception):
                r.close()
        else:
            kept.append(r)
    return kept


def readers_for(role: Role, gpus: Sequence[str] | None = None) -> tuple[list[Reader], list[str]]:
    """The open readers of a process with ``role`` (``gpus``: the user's choice for a node's
    leader), and the notes of discovery. Never raises."""
    from wattwise.readers.registry import default_readers, gpu_readers

    notes: list[str] = []
    try:
        if role.machine:
            chosen = gpus if role.gpus is None else (role.gpus or None)
            readers = default_readers(notes, gpus=None if chosen is None else list(chosen))
            return (_without_gpus(readers) if role.gpus == () else readers), notes
        if role.gpus:
            return gpu_readers(gpus=list(role.gpus)), notes
    except Exception as exc:  # never hurt the training
        notes.append(f"reader discovery failed: {exc}")
    return [], notes


class DistributedTracker:
    """A tracker for one rank of a distributed job; rank 0 stores the job run (see the module
    docstring). ``distributed``: None (the default) when ``WORLD_SIZE`` > 1; True also for a
    job of one process (device ids then get ``node0:``). ``per_gpu``: each rank reads its own GPU
    (local rank 0 the CPU too) instead of local rank 0 reading the whole node. ``timeout_s``:
    how long rank 0 waits for the others' results at the end. ``environ`` (default
    ``os.environ``) is where the job's variables are read; ``readers`` replaces discovery on the
    ranks that measure (tests). Other keyword arguments go to the
    :class:`~wattwise.tracker.core.Tracker` (``interval_s``, ``gpus``, ...)."""

    def __init__(
        self,
        name: str = "run",
        *,
        store: bool | str = False,
        distributed: bool | None = None,
        per_gpu: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        environ: Mapping[str, str] | None = None,
        readers: Sequence[Reader] | None = None,
        **tracker_kwargs: Any,
    ) -> None:
        self.name = name
        self.timeout_s = check_number(
            timeout_s, "timeout_s", low=0.0, low_inclusive=False, high=86_400.0
        )
        self._store = store
        self._environ = dict(os.environ if environ is None else environ)
        self.env: JobEnv = detect_job(self._environ)
        self.active = self.env.distributed if distributed is None else bool(distributed)
        self.per_gpu = bool(per_gpu)
        self._readers = readers
        self._gpus = tracker_kwargs.pop("gpus", None)
        self._kwargs = tracker_kwargs
        self.role: Role | None = None
        self.tracker: Tracker | None = None
        #: This rank's result after stop: on rank 0 the job run, elsewhere the rank's own run.
        self.result: RunResult | None = None
        #: The merged job (rank 0 only).
        self.job: JobRun | None = None
        self._group: GatherGroup | None = None
        self._group_why = ""
        self._ledger: Any = None
        self._sink: NodeSink | None = None
        self._stored: bool | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> DistributedTracker:
        """Make the gather group (collective) and start this rank's tracker. Never raises."""
        if self.tracker is not None:
            return self
        if not self.active:
            kwargs = dict(self._kwargs, gpus=self._gpus, readers=self._readers)
            self.tracker = plain_tracker(self.name, store=self._store, **kwargs)
            self.tracker.start()
            return self
        notes = list(self.env.problems)
        self._open_group()  # without torch.distributed imported: at once, no group
        role, note = plan(self.env, per_gpu=self.per_gpu, environ=self._environ)
        self.role = role
        notes += [note] if note else []
        found: list[str] = []
        if self._readers is not None:
            readers = list(self._readers) if role.measures else []
        else:
            readers, found = readers_for(role, self._gpus)
        kwargs = dict(self._kwargs)
        if not role.measures:
            kwargs.setdefault("sampler", False)
        sink = self._open_ledger(notes) if self.env.rank == 0 else None
        self.tracker = Tracker(self.name, readers=readers, sink=sink, **kwargs)
        # The slow parts (discovery, the ledger) are done: wait for the others, start together.
        why = self._group.barrier() if self._group is not None else ""
        for n in [*found, *notes, *([why] if why else [])]:
            self.tracker.add_note(n)
        self.tracker.start()
        return self

    def _open_group(self) -> None:
        self._group, self._group_why = open_group(self.timeout_s)
        if self._group is not None:
            self.env = self.env.with_group(self._group.rank, self._group.world_size)

    def _open_ledger(self, notes: list[str]) -> NodeSink | None:
        if self._store is False:
            return None
        try:
            self._ledger = LedgerOpener(self._store)()
        except Exception as exc:  # the run stays in memory
            notes.append(f"ledger not used: {exc}")
            return None
        self._sink = NodeSink(self._ledger, self.env.node, self.env.job_host())
        return self._sink

    def stop(self, *, exit_code: int | None = None, status: str = "finished") -> RunResult:
        """Stop this rank's tracker; send its result to rank 0, or (rank 0) gather, merge and
        store the job run. Returns :attr:`result`. Never raises."""
        if self.result is not None:
            return self.result
        if self.tracker is None:
            self.start()
        assert self.tracker is not None
        local = self.tracker.stop(exit_code=exit_code, status=status)
        if not self.active:
            self.result = local
            return local
        try:
            self.result = self._finish(local)
        except Exception as exc:  # pragma: no cover - defensive: never hurt the training
            self.result = replace(local, notes=(*local.notes, f"distributed: {exc}"))
        return self.result

    def _finish(self, local: RunResult) -> RunResult:
        assert self.tracker is not None and self.role is not None
        me = RankResult(self.env, self.role, self.tracker.start_wall_s, local)
        others: list[RankResult] = []
        missing: dict[int, str] = {}
        if self.env.world_size > 1:
            if self._group is None:
                self._open_group()
            if self.env.rank != 0:
                return self._send(me)
            others, missing = self._receive()
        if self.env.rank != 0:
            return local
        self.job = merge_job([me, *others], missing=missing, per_gpu=self.per_gpu)
        return self._store_job(self.job)

    def _send(self, me: RankResult) -> RunResult:
        why = self._group_why if self._group is None else ""
        if self._group is not None:
            why = self._group.send(me.to_bytes(), self.timeout_s)
        if not why:
            return me.run
        line = f"rank {self.env.rank}: this rank's result is not in the job run: {why}"
        warnings.warn(f"wattwise: {line}", RuntimeWarning, stacklevel=4)
        return replace(me.run, notes=(*me.run.notes, line))

    def _receive(self) -> tuple[list[RankResult], dict[int, str]]:
        world = self.env.world_size
        if self._group is None:
            return [], dict.fromkeys(range(1, world), self._group_why)
        got, missing = self._group.receive(self.timeout_s, beat=self._beat)
        out = []
        for src, data in sorted(got.items()):
            try:
                out.append(RankResult.from_bytes(data))
            except ValueError as exc:
                missing[src] = str(exc)
        return out, missing

    def _beat(self) -> None:
        if self._ledger is not None and self.tracker is not None:
            with contextlib.suppress(Exception):
                self._ledger.heartbeat(self.tracker.run_id)

    def _store_job(self, job: JobRun) -> RunResult:
        result = job.result
        ledger, sink = self._ledger, self._sink
        if ledger is None or sink is None:
            return result
        rid = result.run_id
        try:
            if sink.began and sink.final is not None and not sink.final.samples:
                for i in range(0, len(job.other_samples), SAMPLES_PER_WRITE):
                    ledger.append_samples(rid, job.other_samples[i : i + SAMPLES_PER_WRITE])
                ledger.finish_run(replace(result, samples=()))
            else:  # the root's samples did not all reach the ledger: write the whole timeline
                ledger.finish_run(result)
            ledger.set_extra(rid, "distributed", job.info)
            ledger.settle(rid)
            done = ledger.outcome(rid)
            self._stored = bool(done.stored)
            if not done.stored:
                result = replace(result, notes=(*result.notes, f"ledger: {done.line()}"))
        except Exception as exc:
            self._stored = False
            result = replace(result, notes=(*result.notes, f"ledger: job run not stored: {exc}"))
        finally:
            with contextlib.suppress(Exception):
                ledger.close()
        return result

    @property
    def stored(self) -> bool | None:
        """Whether the run reached the ledger for good: on rank 0 (or outside a job) after
        :meth:`stop`; None on other ranks, without ``store`` or before stop."""
        if not self.active:
            return None if self.tracker is None else self.tracker.stored
        return self._stored

    def __enter__(self) -> DistributedTracker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status, exit_code, note = outcome(exc_type, exc)
        if note:
            self.add_note(note)
        self.stop(status=status, exit_code=exit_code)

    # ------------------------------------------------------------------ the tracker's API
    def _t(self) -> Tracker:
        if self.tracker is None:
            self.start()
        assert self.tracker is not None
        return self.tracker

    @property
    def run_id(self) -> str:
        """This rank's run id; on rank 0 the job run's."""
        return self._t().run_id

    def count(self, **units: object) -> None:
        """Add work done by this rank (``tokens=n``); the job run adds every rank's."""
        self._t().count(**units)

    def step(self, n: object = 1, *, at_s: object = None) -> None:
        """Mark ``n`` training steps (the job's steps are the largest rank's count)."""
        self._t().step(n, at_s=at_s)

    def start_window(self, name: str) -> Window:
        return self._t().start_window(name)

    def stop_window(self, window: Window) -> WindowResult | None:
        return self._t().stop_window(window)

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Window]:
        """``with t.window("eval"):``: a window on every rank, joined by name in the job."""
        with self._t().window(name) as w:
            yield w

    def add_note(self, note: str) -> None:
        self._t().add_note(note)

    @property
    def notes(self) -> tuple[str, ...]:
        return self._t().notes


def track_job(name: str = "run", **kwargs: Any) -> DistributedTracker:
    """``with track_job("train", store=True) as t:`` on every rank: one job run, stored once
    by rank 0. Arguments as for :class:`DistributedTracker`."""
    return DistributedTracker(name, **kwargs)
