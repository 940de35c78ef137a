"""Rank results to rank 0 over the job's own ``torch.distributed`` process group.

The transport is torch's: a gloo group made with ``torch.distributed.new_group(backend="gloo")``
from the job's default group (NCCL or gloo), so the results travel on CPU whatever the training
uses, and never interleave with the training's own collectives. Each rank sends its result as
two tensors (its length, then its bytes) with ``isend``; rank 0 receives from every rank with
``irecv``, each in its own thread, all against one deadline.

Why not ``gather_object``: a collective either completes for every rank or fails for all, so one
dead node would lose every node's result. Received one by one, a rank that died (its connection
reset) or does not answer before the deadline is missing alone; rank 0 keeps the others. A gloo
wait that times out closes the group's connections, so the waits share one deadline and the
ranks that answered are done before it.

Nothing here raises: a failure is returned as the reason, for the run's notes.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = ["GatherGroup", "open_group"]

NOT_INITIALISED = "torch.distributed is not initialised (no init_process_group before the end)"
#: How often (s) rank 0 calls ``beat`` while it waits for the others (the ledger's heartbeat).
BEAT_EVERY_S = 5.0


def _dist() -> Any:
    import torch.distributed as dist

    return dist


class GatherGroup:
    """A gloo process group of every rank of the job, for sending results to rank 0."""

    def __init__(self, group: Any, rank: int, world_size: int) -> None:
        self.group = group
        self.rank = rank
        self.world_size = world_size

    def barrier(self) -> str:
        """Wait for every rank (the run starts together); the reason when it failed."""
        try:
            _dist().barrier(group=self.group)
        except Exception as exc:
            return f"start barrier failed: {_short(exc)}"
        return ""

    def send(self, data: bytes, timeout_s: float) -> str:
        """Send ``data`` to rank 0 within ``timeout_s``; the reason when it failed ("" sent)."""
        import torch

        try:
            dist = _dist()
            body = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            size = torch.tensor([body.numel()], dtype=torch.int64)
            works = [
                dist.isend(size, dst=0, group=self.group),
                dist.isend(body, dst=0, group=self.group),
            ]
        except Exception as exc:
            return f"cannot send to rank 0: {_short(exc)}"
        deadline = time.monotonic() + timeout_s
        for w in works:
            why = _wait(w, deadline)
            if why:
                return f"rank 0 did not take this rank's result: {why}"
        return ""

    def receive(
        self, timeout_s: float, beat: Callable[[], None] | None = None
    ) -> tuple[dict[int, bytes], dict[int, str]]:
        """On rank 0: every other rank's bytes, and why each missing rank is missing."""
        deadline = time.monotonic() + timeout_s
        got: dict[int, bytes] = {}
        missing: dict[int, str] = {}
        threads = []
        for src in range(1, self.world_size):
            th = threading.Thread(
                target=self._receive_one,
                args=(src, deadline, got, missing),
                name=f"wattwise-gather-{src}",
                daemon=True,
            )
            th.start()
            threads.append(th)
        last_beat = time.monotonic()
        for th in threads:
            while th.is_alive() and time.monotonic() < deadline + 1.0:
                th.join(0.2)
                if beat is not None and time.monotonic() - last_beat >= BEAT_EVERY_S:
                    last_beat = time.monotonic()
                    beat()
        for src in range(1, self.world_size):
            if src not in got and src not in missing:
                missing[src] = f"no result within {timeout_s:g} s"
        return got, missing

    def _receive_one(
        self, src: int, deadline: float, got: dict[int, bytes], missing: dict[int, str]
    ) -> None:
        import torch

        try:
            dist = _dist()
            size = torch.zeros(1, dtype=torch.int64)
            why = _wait(dist.irecv(size, src=src, group=self.group), deadline)
            if why:
                missing[src] = why
                return
            body = torch.empty(int(size.item()), dtype=torch.uint8)
            why = _wait(dist.irecv(body, src=src, group=self.group), deadline)
            if why:
                missing[src] = why
            else:
                got[src] = body.numpy().tobytes()
        except Exception as exc:
            missing[src] = _short(exc)


def _wait(work: Any, deadline: float) -> str:
    """Wait for a send or receive until ``deadline`` (monotonic s); the reason when it failed."""
    left_s = deadline - time.monotonic()
    if left_s <= 0:
        return "timed out"
    try:
        work.wait(timeout=timedelta(seconds=left_s))
    except Exception as exc:
        return _short(exc)
    return ""


def _short(exc: BaseException) -> str:
    """An exception in one line: gloo's messages start with a source path and run long."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    return text[:200]


def open_group(timeout_s: float) -> tuple[GatherGroup | None, str]:
    """A :class:`GatherGroup` when ``torch.distributed`` is initialised (every rank must call
    this at the same point: it is collective), else None and why. Never raises.

    A process that never imported ``torch.distributed`` has no process group: torch is not
    imported to find that out (seconds of start-up)."""
    if "torch.distributed" not in sys.modules:
        return None, NOT_INITIALISED
    try:
        dist = _dist()
    except Exception as exc:
        return None, f"torch.distributed cannot be imported ({_short(exc)})"
    try:
        if not dist.is_available() or not dist.is_initialized():
            return None, NOT_INITIALISED
        rank, world = dist.get_rank(), dist.get_world_size()
        group = dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout_s))
        return GatherGroup(group, rank, world), ""
    except Exception as exc:
        return None, f"cannot make a gloo group to gather results: {_short(exc)}"
