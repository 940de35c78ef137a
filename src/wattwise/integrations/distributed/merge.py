"""One job run from the results of its ranks: components per node and device, counts added.

Rank 0 (the root) calls :func:`merge_job` with the results it received, its own first. Device ids
get their node in front (``node1:rapl:package-0``), so the job run has one component per node
and device; a device that two ranks of one host both reported (a launcher whose local ranks
could not be told apart) with the same source (a RAPL zone's sysfs path) is kept once, from the
lower rank, with a note. Counts are added over
the ranks, except :data:`SHARED_UNITS` (``steps``: every rank of a data-parallel job takes the
same optimizer step), where the job's count is the largest rank's. Windows of the same name are
joined in the order each rank opened them (the n-th ``epoch`` of every rank is one window).

Times are seconds since the root's tracker started. Another rank's times are shifted by the
difference between the wall-clock times at which the two trackers started, so the nodes' clocks
are taken to agree (NTP keeps them within milliseconds). A rank that sent nothing (it died, or
did not answer within the timeout) becomes a gap of the whole run and a note naming it: its
energy is not in the run, and nothing is estimated for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from wattwise.core.run import ComponentEnergy, Gap, RunResult, Sample, WindowResult
from wattwise.integrations.distributed.env import JobEnv, Role
from wattwise.ledger.serialize import run_from_dict, run_to_dict

__all__ = ["SHARED_UNITS", "JobRun", "RankResult", "merge_counts", "merge_job", "node_prefix"]

#: Units the ranks count for the same work: the job's count is the largest, not the sum.
SHARED_UNITS = frozenset({"steps"})
#: The tracker's note for a process without readers: said of a counting-only rank, it is noise.
NO_READER_NOTE = "no energy reader is available"
#: Version of the document a rank sends to the root.
PAYLOAD_VERSION = 1
_STATUS_ORDER = {"finished": 0, "interrupted": 1, "failed": 2}


def node_prefix(node: int) -> str:
    """``node3:``: what goes before a device id of node 3."""
    return f"node{node}:"


@dataclass(frozen=True)
class RankResult:
    """What one rank sends the root: where it ran, what it measured, its run."""

    env: JobEnv
    role: Role
    start_wall_s: float  # Unix time (s) at which its tracker's run started
    run: RunResult

    def to_bytes(self) -> bytes:
        doc = {
            "version": PAYLOAD_VERSION,
            "env": self.env.to_dict(),
            "role": self.role.to_dict(),
            "start_wall_s": self.start_wall_s,
            "run": run_to_dict(self.run, include_samples=True),
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RankResult:
        """Inverse of :meth:`to_bytes`; raises ValueError for anything else."""
        try:
            doc = json.loads(data.decode())
            if doc.get("version") != PAYLOAD_VERSION:
                raise ValueError(f"version {doc.get('version')!r}, not {PAYLOAD_VERSION}")
            return cls(
                env=JobEnv.from_dict(doc["env"]),
                role=Role.from_dict(doc["role"]),
                start_wall_s=float(doc["start_wall_s"]),
                run=run_from_dict(doc["run"]),
            )
        except Exception as exc:
            raise ValueError(f"not a wattwise rank result: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class JobRun:
    """The job run, the samples of the ranks other than the root, and the job's facts."""

    result: RunResult
    #: Samples of the other ranks (the root's own may already be in the ledger).
    other_samples: tuple[Sample, ...]
    #: JSON-ready facts for the run's ``extra["distributed"]``: env, ranks, missing ranks.
    info: dict[str, Any] = field(default_factory=dict)


def merge_counts(counts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Counts of several ranks: added, except :data:`SHARED_UNITS` (the largest)."""
    out: dict[str, float] = {}
    for c in counts:
        for unit, n in c.items():
            prev = out.get(unit, 0.0)
            out[unit] = max(prev, n) if unit in SHARED_UNITS else prev + n
    return out


def _ranks_label(ranks: Sequence[int]) -> str:
    """``rank 0``, ``ranks 1, 3`` or ``ranks 0-7``."""
    if len(ranks) == 1:
        return f"rank {ranks[0]}"
    if list(ranks) == list(range(ranks[0], ranks[0] + len(ranks))) and len(ranks) > 2:
        return f"ranks {ranks[0]}-{ranks[-1]}"
    return "ranks " + ", ".join(map(str, ranks))


def _device_key(r: RankResult, c: ComponentEnergy) -> tuple[str, str, str]:
    """A device as the machine knows it: host, id and source (the sysfs path of a RAPL zone),
    so two nodes sharing a host name but not a counter (containers, tests) stay apart."""
    return (r.env.hostname, c.device_id, c.source)


class _Owners:
    """Which rank a device belongs to: the first (lowest) rank that reported it."""

    def __init__(self, results: Sequence[RankResult]) -> None:
        self.owner: dict[tuple[str, str, str], int] = {}
        self.dropped: dict[int, set[str]] = {}
        for r in results:
            comps = list(r.run.components) + [c for w in r.run.windows for c in w.components]
            for c in comps:
                owner = self.owner.setdefault(_device_key(r, c), r.env.rank)
                if owner != r.env.rank:
                    self.dropped.setdefault(r.env.rank, set()).add(c.device_id)

    def keep(self, r: RankResult, c: ComponentEnergy) -> bool:
        return self.owner.get(_device_key(r, c)) == r.env.rank

    def notes(self) -> list[str]:
        return [
            f"rank {rank} reported {', '.join(sorted(devs))} of a host another rank already "
            "measured: counted once, from the lower rank"
            for rank, devs in sorted(self.dropped.items())
        ]


class _Shift:
    """One rank's results moved onto the job: node prefix on device ids, times shifted."""

    def __init__(self, r: RankResult, t0_wall_s: float, owners: _Owners) -> None:
        self.r = r
        self.offset_s = r.start_wall_s - t0_wall_s
        self.prefix = node_prefix(r.env.node)
        self.owners = owners

    def components(self, comps: Iterable[ComponentEnergy]) -> tuple[ComponentEnergy, ...]:
        env = self.r.env
        where = {"node": str(env.node), "rank": str(env.rank), "hostname": env.hostname}
        return tuple(
            replace(
                c,
                device_id=self.prefix + c.device_id,
                name=f"{c.name} (node {env.node})",
                params={**c.params, **where},
            )
            for c in comps
            if self.owners.keep(self.r, c)
        )

    def samples(self) -> list[Sample]:
        off = self.offset_s
        return [
            Sample(self.prefix + s.device_id, s.t_s + off, s.power_w, s.energy_j)
            for s in self.r.run.samples
        ]

    def gaps(self) -> list[Gap]:
        off = self.offset_s
        return [
            Gap(
                self.prefix + g.device_id,
                g.start_s + off,
                None if g.end_s is None else g.end_s + off,
                g.error,
            )
            for g in self.r.run.gaps
        ]

    def windows(self) -> list[tuple[tuple[str, int], WindowResult]]:
        """Each window keyed by (name, how many of that name this rank opened before)."""
        seen: dict[str, int] = {}
        out = []
        for w in self.r.run.windows:
            k = seen.get(w.name, 0)
            seen[w.name] = k + 1
            moved = replace(
                w,
                start_s=w.start_s + self.offset_s,
                end_s=w.end_s + self.offset_s,
                components=self.components(w.components),
            )
            out.append(((w.name, k), moved))
        return out


def _join_windows(shifts: Sequence[_Shift]) -> tuple[WindowResult, ...]:
    groups: dict[tuple[str, int], list[WindowResult]] = {}
    for s in shifts:
        for key, w in s.windows():
            groups.setdefault(key, []).append(w)
    joined = [
        WindowResult(
            name=ws[0].name,
            start_s=min(w.start_s for w in ws),
            end_s=max(w.end_s for w in ws),
            components=tuple(c for w in ws for c in w.components),
            counts=merge_counts(w.counts for w in ws),
            parent=ws[0].parent,
        )
        for ws in groups.values()
    ]
    return tuple(sorted(joined, key=lambda w: w.start_s))


def _rank_notes(results: Sequence[RankResult]) -> list[str]:
    """Every rank's notes, each once, with the ranks that had it."""
    by_note: dict[str, list[int]] = {}
    for r in results:
        for n in r.run.notes:
            if not r.role.measures and n.startswith(NO_READER_NOTE):
                continue
            by_note.setdefault(n, []).append(r.env.rank)
        for n in r.env.problems:
            by_note.setdefault(n, []).append(r.env.rank)
    return [f"{_ranks_label(ranks)}: {n}" for n, ranks in by_note.items()]


def _missing(
    root: JobEnv, missing: Mapping[int, str], duration_s: float, per_gpu: bool
) -> tuple[list[Gap], list[str], list[dict[str, Any]]]:
    gaps, notes, info = [], [], []
    lws = root.local_world_size
    for rank, why in sorted(missing.items()):
        node = root.node_of(rank)
        where = f"node{node}:rank{rank}" if node is not None else f"rank{rank}"
        gaps.append(Gap(where, 0.0, duration_s, f"no result from rank {rank}: {why}"))
        leader = lws is not None and rank % lws == 0
        what = (
            f"node {node}'s CPU, memory and GPUs (measured by its local rank 0)"
            if leader and not per_gpu
            else "its measurements"
        )
        notes.append(
            f"rank {rank} sent no result ({why}): {what} and its counts are not in this run "
            "(a gap; nothing estimated for it)"
        )
        info.append({"rank": rank, "node": node, "reason": why})
    return gaps, notes, info


def _rank_info(s: _Shift) -> dict[str, Any]:
    r = s.r
    return {
        "rank": r.env.rank,
        "node": r.env.node,
        "local_rank": r.env.local,
        "hostname": r.env.hostname,
        "measures": r.role.describe(),
        "status": r.run.status,
        "start_offset_s": s.offset_s,
        "duration_s": r.run.duration_s,
        "energy_j": sum(c.energy_j for c in s.components(r.run.components)),
        "counts": dict(r.run.counts),
    }


def merge_job(
    results: Sequence[RankResult], *, missing: Mapping[int, str], per_gpu: bool = False
) -> JobRun:
    """The job run from ``results`` (the root's first, then any order) and the ``missing``
    ranks (rank -> why no result came). The run id, name and command are the root's."""
    root = results[0]
    results = [root, *sorted(results[1:], key=lambda r: r.env.rank)]
    owners = _Owners(results)
    shifts = [_Shift(r, root.start_wall_s, owners) for r in results]
    duration_s = max(s.offset_s + s.r.run.duration_s for s in shifts)
    gaps_m, notes_m, info_m = _missing(root.env, missing, duration_s, per_gpu)
    hostnames = list(dict.fromkeys(r.env.hostname for r in results))
    env = root.env
    mode = "per GPU" if per_gpu else "per node"
    job = f" {env.job_id}" if env.job_id else ""
    summary = (
        f"distributed job ({env.launcher or 'no launcher'}{job}): {env.world_size} ranks, "
        f"results from {len(results)}; measured {mode} (device ids start with their node); "
        f"counts added over the ranks ({', '.join(sorted(SHARED_UNITS))}: the largest rank's)"
    )
    others = tuple(x for s in shifts[1:] for x in s.samples())
    result = replace(
        root.run,
        duration_s=duration_s,
        components=tuple(c for s in shifts for c in s.components(s.r.run.components)),
        windows=_join_windows(shifts),
        counts=merge_counts(r.run.counts for r in results),
        samples=(*shifts[0].samples(), *others),
        gaps=tuple(
            sorted(
                [g for s in shifts for g in s.gaps()] + gaps_m,
                key=lambda g: (g.start_s, g.device_id),
            )
        ),
        notes=(summary, *notes_m, *owners.notes(), *_rank_notes(results)),
        status=max((r.run.status for r in results), key=lambda st: _STATUS_ORDER.get(st, 0)),
        host={**root.run.host, **env.job_host(), "job_hostnames": ",".join(hostnames)},
    )
    info = {
        **{k: v for k, v in env.to_dict().items() if k not in ("rank", "local_rank", "node")},
        "mode": mode,
        "ranks": [_rank_info(s) for s in shifts],
        "missing": info_m,
    }
    return JobRun(result=result, other_samples=others, info=info)
