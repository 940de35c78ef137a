"""One setting for every GPU of a data-parallel job: the ranks agree over ``torch.distributed``.

The tuner (:mod:`wattwise.power.tuner`) never decides on one rank's numbers alone. Everything a
decision rests on goes through an :class:`Agreement` first:

* the power limits every GPU accepts (the highest of the ranks' minimum constraints, the lowest
  of their maximum ones and of their defaults): one grid for the whole job;
* each measured chunk of steps: energy summed over the ranks (J, every GPU of the job) and time
  taken as the slowest rank's (s: in a data-parallel step the slowest GPU sets the pace);
* utilisation (sum of percentages and of GPUs, for the job's average) and the GPU count.

Every rank then holds the same job-wide numbers, so the early stop, the classifier and the
selector reach the same decision on every rank, and every rank applies the same setting at the
same step. A rank that fails to read or apply something keeps going to the next agreement and
says so there (a flag in the sum): every rank then stops tuning at that same point, so none is
left waiting in a collective the failed rank would never join. The ranks must report their
steps together (one ``step()`` per training step on every rank, as data-parallel training
does): each agreement is a collective.

:class:`Alone` is the single-process case (nothing to agree with). :class:`TorchAgreement` uses a
gloo group made from the job's default group (``torch.distributed.new_group(backend="gloo")``,
the integration issue's transport: CPU tensors whatever the training's backend, never mixed with
the training's own NCCL collectives). torch is imported only by :func:`torch_agreement`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol


class Agreement(Protocol):
    """Element-wise reductions over every rank of the job (each rank passes the same length)."""

    world_size: int

    def sum(self, values: Sequence[float]) -> list[float]: ...

    def max(self, values: Sequence[float]) -> list[float]: ...


class Alone:
    """A single process: its own numbers are the job's."""

    world_size = 1

    def sum(self, values: Sequence[float]) -> list[float]:
        return [float(v) for v in values]

    def max(self, values: Sequence[float]) -> list[float]:
        return [float(v) for v in values]


ALONE = Alone()


class TorchAgreement:
    """All-reduce (float64, CPU) over ``group`` (a gloo group of every rank)."""

    def __init__(self, dist: Any, group: Any) -> None:
        self._dist, self.group = dist, group
        self.world_size = int(dist.get_world_size())
        self.rank = int(dist.get_rank())

    def _reduce(self, values: Sequence[float], op: Any) -> list[float]:
        """One all-reduce; a transport failure (a rank gone) becomes a
        :class:`~wattwise.power.nvml_control.PowerControlError`, which stops tuning and
        restores the settings instead of raising torch's error into the training loop."""
        import torch

        from wattwise.power.nvml_control import PowerControlError

        t = torch.tensor([float(v) for v in values], dtype=torch.float64)
        try:
            self._dist.all_reduce(t, op=op, group=self.group)
        except Exception as exc:
            why = f"the ranks could not agree (all-reduce failed: {exc})"
            raise PowerControlError(why) from exc
        return [float(v) for v in t.tolist()]

    def sum(self, values: Sequence[float]) -> list[float]:
        return self._reduce(values, self._dist.ReduceOp.SUM)

    def max(self, values: Sequence[float]) -> list[float]:
        return self._reduce(values, self._dist.ReduceOp.MAX)


def distributed_job() -> Any | None:
    """``torch.distributed`` when this process is a rank of an initialised job of 2 or more
    ranks, else None. Looks only if torch is already imported (never imports it)."""
    import sys

    if "torch" not in sys.modules:
        return None
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return dist
    except Exception:  # a torch without distributed support
        return None
    return None


def torch_agreement(dist: Any) -> TorchAgreement:
    """An agreement over a new gloo group of every rank (every rank must call this together)."""
    return TorchAgreement(dist, dist.new_group(backend="gloo"))


def all_agree(agree: Agreement, ok: bool) -> bool:
    """True when ``ok`` is true on every rank (a collective: every rank must call it)."""
    return agree.sum([1.0 if ok else 0.0])[0] >= agree.world_size


def same_everywhere(agree: Agreement, value: float | None, *, takes_part: bool) -> bool:
    """True when every rank that ``takes_part`` has the same value, none of them None, and at
    least one takes part (a collective: every rank must call it)."""
    if not all_agree(agree, value is not None or not takes_part):
        return False
    v = value if value is not None and takes_part else -math.inf
    hi, neg_lo = agree.max([v, -v if v != -math.inf else -math.inf])
    return hi != -math.inf and hi == -neg_lo
