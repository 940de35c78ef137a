"""The pure planner against brute force on small curves, and its edge cases."""

from __future__ import annotations

import itertools
import random

import pytest

from wattwise.errors import ConfigError
from wattwise.schedule.planner import _cheapest_slots, best_chunks, best_start, run_at


def _brute_start(values: list[float], earliest: int, deadline: int, d: int) -> float:
    return min(sum(values[s : s + d]) for s in range(earliest, deadline - d + 1)) / d


def test_best_start_matches_brute_force_on_random_curves() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(2, 30)
        values = [rng.uniform(10, 500) for _ in range(n)]
        d = rng.randint(1, n)
        e = rng.randint(0, n - d)
        dl = rng.randint(e + d, n)
        got = best_start(values, e, dl, d)
        assert got.mean_g_per_kwh == pytest.approx(_brute_start(values, e, dl, d))
        assert e <= got.start_h and got.end_h <= dl


def test_fractional_window_and_duration() -> None:
    # 100 g/kWh until hour 2, then 10: a 1.5 h job from 0.5 best starts where it is clean.
    values = [100.0, 100.0, 10.0, 10.0]
    p = best_start(values, 0.5, 4.0, 1.5)
    assert p.start_h == 2.0 and p.mean_g_per_kwh == pytest.approx(10.0)
    now = run_at(values, 0.5, 1.5)  # 0.5-2.0: all at 100
    assert now.mean_g_per_kwh == pytest.approx(100.0)
    latest = best_start([100.0, 100.0, 100.0, 5.0], 0.0, 3.5, 1.0)  # latest start 2.5
    assert latest.start_h == 2.5 and latest.mean_g_per_kwh == pytest.approx(52.5)


def test_ties_go_to_the_earliest_start() -> None:
    assert best_start([5.0] * 10, 0, 10, 3).start_h == 0


def _brute_chunks(slots: list[float], need: int, min_run: int) -> float:
    best = float("inf")
    for combo in itertools.combinations(range(len(slots)), need):
        runs, run = [], 1
        for a, b in itertools.pairwise(combo):
            if b == a + 1:
                run += 1
            else:
                runs.append(run)
                run = 1
        runs.append(run)
        if min(runs) >= min_run:
            best = min(best, sum(slots[i] for i in combo))
    return best


def test_cheapest_slots_respects_the_minimum_piece() -> None:
    rng = random.Random(3)
    for _ in range(120):
        n = rng.randint(3, 11)
        slots = [float(rng.randint(1, 50)) for _ in range(n)]
        need = rng.randint(1, n)
        m = rng.randint(1, need)
        chosen = _cheapest_slots(slots, need, m)
        assert len(chosen) == need
        assert sum(slots[i] for i in chosen) == pytest.approx(_brute_chunks(slots, need, m))


def test_interruptible_beats_or_equals_contiguous_and_splits() -> None:
    values = [10.0, 500.0, 500.0, 10.0, 500.0, 10.0]
    one = best_start(values, 0, 6, 2)
    pieces = best_chunks(values, 0, 6, 2, 1)
    assert pieces.mean_g_per_kwh == pytest.approx(10.0)
    assert pieces.mean_g_per_kwh < one.mean_g_per_kwh
    assert len(pieces.pieces) == 2
    # pieces of at least 2 h cannot take two isolated clean hours
    two = best_chunks(values, 0, 6, 2, 2)
    assert two.mean_g_per_kwh == pytest.approx(one.mean_g_per_kwh)
    # 2.5 h: three slots, the last half used
    half = best_chunks([10.0, 900.0, 20.0, 900.0, 30.0], 0, 5, 2.5, 1)
    assert list(half.pieces) == [(0.0, 1.0), (2.0, 3.0), (4.0, 4.5)]
    assert half.mean_g_per_kwh == pytest.approx((10 + 20 + 15) / 2.5)


@pytest.mark.parametrize(
    ("earliest", "deadline", "duration", "match"),
    [
        (5.0, 4.0, 1.0, "before the earliest"),
        (0.0, 3.0, 4.0, "shorter than the job"),
        (0.0, 3.0, 0.0, "more than 0 h"),
        (0.0, 30.0, 1.0, "not covered"),
    ],
)
def test_bad_windows_are_config_errors(
    earliest: float, deadline: float, duration: float, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        best_start([1.0] * 10, earliest, deadline, duration)


def test_the_half_used_slot_is_the_dirtiest_piece_end() -> None:
    # 3.5 h in slots 0, 1, 3, 4 (the cheapest four): the half hour left unused is cut from the
    # dirtier piece end (slot 1 at 80), not from the chronologically last slot (slot 4 at 20)
    values = [10.0, 80.0, 900.0, 15.0, 20.0]
    p = best_chunks(values, 0, 5, 3.5, 1)
    assert list(p.pieces) == [(0.0, 1.5), (3.0, 5.0)]
    assert p.mean_g_per_kwh == pytest.approx((10 + 40 + 15 + 20) / 3.5)


def test_best_batch_matches_brute_force() -> None:
    from wattwise.schedule.planner import best_batch

    rng = random.Random(11)
    for _ in range(150):
        n = rng.randint(4, 14)
        values = [float(rng.randint(1, 99)) for _ in range(n)]
        d = rng.randint(1, 3)
        jobs = rng.randint(1, max(1, n // d))
        got = best_batch(values, 0, n, d, jobs)
        best = min(
            sum(sum(values[s : s + d]) for s in starts)
            for starts in itertools.combinations(range(n - d + 1), jobs)
            if all(b - a >= d for a, b in itertools.pairwise(starts))
        )
        assert got.mean_g_per_kwh * d * jobs == pytest.approx(best)
        ends = [b for _, b in got.pieces]
        assert all(a >= e - 1e-9 for (a, _), e in zip(got.pieces[1:], ends, strict=False))
