"""The pure planner: where in a window of an hourly curve a job emits least.

Times are hours from the curve's first hour (floats: a window may start at 09:30). The curve
is a step function, constant within each hour; a job draws constant power while it runs, so
its carbon is ``energy_kwh × mean intensity over the hours it runs``. Nothing here reads a
clock, a file or the network.

* :func:`best_start` — one contiguous run: every hour boundary in the window and the latest
  start are tried with prefix sums (O(window)). Ties go to the earliest start.
* :func:`best_chunks` — an interruptible job in whole-hour slots, each piece at least
  ``min_chunk_h`` long: a dynamic programme over (slots used, current piece length). A job of
  3.5 h takes 4 slots; the dirtiest slot that ends a piece is half used (the programme counts
  it whole, the reported carbon counts the half).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wattwise.errors import ConfigError

#: Float slack when comparing hour offsets (1e-9 h is 3.6 µs).
EPS_H = 1e-9


@dataclass(frozen=True)
class Placement:
    """When the job runs: ``pieces`` as [start, end) hour offsets; ``mean_g_per_kwh`` is the
    energy-weighted mean intensity over them (the job's carbon = energy × this)."""

    pieces: tuple[tuple[float, float], ...]
    mean_g_per_kwh: float

    @property
    def start_h(self) -> float:
        return self.pieces[0][0]

    @property
    def end_h(self) -> float:
        return self.pieces[-1][1]


def _check_window(
    values: list[float] | tuple[float, ...], earliest_h: float, deadline_h: float, duration_h: float
) -> None:
    if not duration_h > 0:
        raise ConfigError(f"the job must last more than 0 h (got {duration_h:g} h)")
    if deadline_h < earliest_h:
        raise ConfigError("the deadline is before the earliest start")
    if deadline_h - earliest_h + EPS_H < duration_h:
        raise ConfigError(
            f"the window ({deadline_h - earliest_h:g} h from the earliest start to the "
            f"deadline) is shorter than the job ({duration_h:g} h)"
        )
    if earliest_h < 0 or deadline_h > len(values) + EPS_H:
        raise ConfigError("the window is not covered by the signal")


def _integral(
    prefix: list[float], values: list[float] | tuple[float, ...], base: int, x: float
) -> float:
    """∫ intensity dh from hour ``base`` to ``x`` (``prefix[j]``: sum of hours base..base+j-1)."""
    j = min(math.floor(x + EPS_H) - base, len(prefix) - 1)
    frac = x - (base + j)
    tail = values[base + j] * frac if frac > EPS_H and base + j < len(values) else 0.0
    return prefix[j] + tail


def run_at(values: list[float] | tuple[float, ...], start_h: float, duration_h: float) -> Placement:
    """The contiguous run starting at ``start_h`` (e.g. "start now", the baseline)."""
    _check_window(values, start_h, start_h + duration_h, duration_h)
    return _best(values, start_h, start_h, duration_h)


def best_start(
    values: list[float] | tuple[float, ...], earliest_h: float, deadline_h: float, duration_h: float
) -> Placement:
    """The contiguous run inside [earliest, deadline] with the least carbon."""
    _check_window(values, earliest_h, deadline_h, duration_h)
    return _best(values, earliest_h, deadline_h - duration_h, duration_h)


def _best(
    values: list[float] | tuple[float, ...], earliest_h: float, latest_h: float, duration_h: float
) -> Placement:
    base = math.floor(earliest_h + EPS_H)
    top = min(len(values), math.ceil(latest_h + duration_h - EPS_H))
    prefix = [0.0]
    for v in values[base:top]:
        prefix.append(prefix[-1] + v)
    candidates = [earliest_h]
    k = base + 1
    while k < latest_h - EPS_H:
        candidates.append(float(k))
        k += 1
    if latest_h > earliest_h + EPS_H:
        candidates.append(latest_h)
    best_s, best_area = earliest_h, math.inf
    for s in candidates:
        area = _integral(prefix, values, base, s + duration_h) - _integral(prefix, values, base, s)
        if area < best_area - 1e-12:
            best_s, best_area = s, area
    return Placement(((best_s, best_s + duration_h),), best_area / duration_h)


def best_chunks(
    values: list[float] | tuple[float, ...],
    earliest_h: float,
    deadline_h: float,
    duration_h: float,
    min_chunk_h: int = 1,
) -> Placement:
    """An interruptible job in whole-hour slots inside the window, pieces ≥ ``min_chunk_h``;
    the better of that and :func:`best_start` (a window not on hour boundaries can favour it)."""
    contiguous = best_start(values, earliest_h, deadline_h, duration_h)
    if min_chunk_h < 1:
        raise ConfigError(f"--min-chunk must be at least 1 h (got {min_chunk_h} h)")
    first = math.ceil(earliest_h - EPS_H)
    last = math.floor(deadline_h + EPS_H)
    need = math.ceil(duration_h - EPS_H)
    slots = list(values[first:last])
    if need > len(slots) or min_chunk_h >= need:
        return contiguous
    chosen = _cheapest_slots(slots, need, min_chunk_h)
    pieces: list[tuple[float, float]] = []
    ends: list[int] = []  # the chosen slot that ends each piece
    for i in chosen:
        s = float(first + i)
        if pieces and abs(pieces[-1][1] - s) < EPS_H:
            pieces[-1] = (pieces[-1][0], s + 1)
            ends[-1] = i
        else:
            pieces.append((s, s + 1))
            ends.append(i)
    # The job needs only part of one slot: leave unused the end of the dirtiest piece that
    # stays at least min_chunk_h long (the last piece may be shorter: the job ends there).
    unused = need - duration_h
    k = max(
        (
            j
            for j in range(len(pieces))
            if j == len(pieces) - 1 or pieces[j][1] - pieces[j][0] - unused >= min_chunk_h
        ),
        key=lambda j: (slots[ends[j]], j),
    )
    pieces[k] = (pieces[k][0], pieces[k][1] - unused)
    area = sum(slots[i] for i in chosen) - unused * slots[ends[k]]
    chunked = Placement(tuple(pieces), area / duration_h)
    return chunked if chunked.mean_g_per_kwh < contiguous.mean_g_per_kwh - 1e-12 else contiguous


def _cheapest_slots(slots: list[float], need: int, min_run: int) -> list[int]:
    """Indices of ``need`` slots with the least sum where every run of consecutive chosen
    slots is at least ``min_run`` long (dynamic programme, O(len × need × min_run))."""
    if min_run == 1:
        return sorted(sorted(range(len(slots)), key=lambda i: (slots[i], i))[:need])
    inf = math.inf
    width = min_run + 1  # run-length state 0 (idle) .. min_run (long enough, capped)
    cost = [[inf] * width for _ in range(need + 1)]
    cost[0][0] = 0.0
    back: list[list[list[int]]] = []  # back[i][c][r] = previous r (or -1: slot i skipped)
    for v in slots:
        new = [[inf] * width for _ in range(need + 1)]
        prev = [[-2] * width for _ in range(need + 1)]
        for c in range(need + 1):
            row = cost[c]
            for r in range(width):
                here = row[r]
                if here == inf:
                    continue
                if (r == 0 or r == min_run) and here < new[c][0]:
                    new[c][0], prev[c][0] = here, -1 - r  # skip: encode the old r
                if c < need:
                    r2 = min(r + 1, min_run)
                    if here + v < new[c + 1][r2]:
                        new[c + 1][r2], prev[c + 1][r2] = here + v, r
        back.append(prev)
        cost = new
    end_r = 0 if cost[need][0] <= cost[need][min_run] else min_run
    if cost[need][end_r] == inf:
        raise ConfigError(f"no way to fit {need} h in pieces of at least {min_run} h")
    chosen: list[int] = []
    c, r = need, end_r
    for i in range(len(slots) - 1, -1, -1):
        p = back[i][c][r]
        if p < 0:  # skipped slot i; state before had r = -1 - p
            r = -1 - p
        else:
            chosen.append(i)
            c, r = c - 1, p
    return sorted(chosen)


def best_batch(
    values: list[float] | tuple[float, ...],
    earliest_h: float,
    deadline_h: float,
    duration_h: float,
    jobs: int,
) -> Placement:
    """``jobs`` runs of ``duration_h`` each, one at a time (one cluster), each contiguous,
    starting on hour boundaries inside the window: a dynamic programme over (hour, runs placed),
    O(window × jobs). The better of that and the runs back to back at the best start."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1 (got {jobs})")
    together = best_start(values, earliest_h, deadline_h, duration_h * jobs)
    if jobs == 1:
        return together
    first = math.ceil(earliest_h - EPS_H)
    last = math.floor(deadline_h + EPS_H)
    step = math.ceil(duration_h - EPS_H)  # hours each run holds the cluster
    n = last - first
    if step * jobs > n:
        return together
    prefix = [0.0]
    for v in values[first:last]:
        prefix.append(prefix[-1] + v)

    def area(j: int) -> float:  # ∫ over [first + j, first + j + duration)
        whole = math.floor(duration_h + EPS_H)
        frac = duration_h - whole
        tail = values[first + j + whole] * frac if frac > EPS_H else 0.0
        return prefix[j + whole] - prefix[j] + tail

    inf = math.inf
    # cost[k][i]: least area of k runs inside the first i hours; took[k][i]: run k starts at i-step
    cost = [[0.0] * (n + 1)] + [[inf] * (n + 1) for _ in range(jobs)]
    took = [[False] * (n + 1) for _ in range(jobs + 1)]
    for k in range(1, jobs + 1):
        for i in range(1, n + 1):
            best, used = cost[k][i - 1], False
            if i >= step and cost[k - 1][i - step] < inf:
                c = cost[k - 1][i - step] + area(i - step)
                if c < best - 1e-12:
                    best, used = c, True
            cost[k][i], took[k][i] = best, used
    starts: list[int] = []
    k, i = jobs, n
    while k > 0:
        if took[k][i]:
            starts.append(i - step)
            i, k = i - step, k - 1
        else:
            i -= 1
    pieces = tuple((float(first + j), first + j + duration_h) for j in sorted(starts))
    batch = Placement(pieces, cost[jobs][n] / (duration_h * jobs))
    return batch if batch.mean_g_per_kwh < together.mean_g_per_kwh - 1e-12 else together
