"""The steady-state window, token attribution and percentiles on recorded request streams."""

from __future__ import annotations

import math

import pytest

from wattwise.bench.stats import (
    RequestRecord,
    completed_in,
    latency_summary,
    percentile,
    steady_possible,
    steady_window,
    tokens_in,
)


def rec(i: int, send: float, chunks: list[float], end: float, tokens: int | None = None,
        error: str = "") -> RequestRecord:  # fmt: skip
    r = RequestRecord(index=i, send_s=send, end_s=end, chunk_s=chunks, error=error)
    r.output_tokens = len(chunks) if tokens is None else tokens
    r.token_source = "chunks" if tokens is None else "usage"
    return r


def closed_loop_c2() -> list[RequestRecord]:
    """Six requests at concurrency 2, each 3 s long with a token a second (a recorded shape)."""
    out = []
    for i in range(6):
        send = 3.0 * (i // 2)
        out.append(rec(i, send, [send + 1, send + 2, send + 3], send + 3))
    return out


def test_percentile_interpolates_between_order_statistics() -> None:
    xs = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(xs, 50) == 3.0
    assert percentile(xs, 100) == 10.0
    assert percentile(xs, 95) == pytest.approx(4.0 + 0.8 * 6.0)  # (5-1)*0.95 = 3.8
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_steady_window_runs_from_first_completion_to_last_send() -> None:
    w = steady_window(closed_loop_c2())
    assert (w.start_s, w.end_s, w.kind) == (3.0, 6.0, "steady")
    records = closed_loop_c2()
    # bounds inclusive: the first pair's last chunks (t=3), the second pair's three each
    assert tokens_in(records, w.start_s, w.end_s) == 2 + 6
    assert completed_in(records, w.start_s, w.end_s) == 4


def test_too_few_requests_for_the_concurrency_measure_the_whole_span() -> None:
    assert not steady_possible(requests=4, concurrency=2)  # the window would be empty
    assert steady_possible(requests=5, concurrency=2)
    assert steady_possible(requests=None, concurrency=64)  # --duration
    records = closed_loop_c2()[:2]
    w = steady_window(records, possible=False)
    assert (w.start_s, w.end_s, w.kind) == (0.0, 3.0, "span")


def test_all_sent_before_the_first_completion_is_a_tail_window() -> None:
    records = [rec(0, 0.0, [1.0], 2.0), rec(1, 0.5, [1.5, 2.5], 3.0)]
    w = steady_window(records)
    assert (w.start_s, w.end_s, w.kind) == (2.0, 3.0, "tail")


def test_usage_spreads_the_server_count_over_the_chunks() -> None:
    r = rec(0, 0.0, [1.0, 2.0], 2.0, tokens=4)  # two chunks, four tokens (usage)
    assert r.tokens_per_chunk() == 2.0
    assert tokens_in([r], 1.5, 2.0) == 2.0
    assert r.itl_s() == [0.5]  # one gap of 1 s carried two tokens


def test_latency_summary_excludes_failures_and_counts_them_nowhere_else() -> None:
    ok = rec(0, 0.0, [0.2, 0.3, 0.5], 0.5)
    failed = rec(1, 0.0, [0.1], 9.0, error="HTTP 500")
    s = latency_summary([ok, failed])
    assert s["ttft_ms"]["n"] == 1 and s["ttft_ms"]["p50"] == 200.0
    assert s["e2e_ms"]["p99"] == 500.0
    assert s["itl_ms"]["n"] == 2 and s["itl_ms"]["p50"] == pytest.approx(150.0)
    assert failed.e2e_s is None and not failed.ok


def test_no_finished_request_has_no_window() -> None:
    with pytest.raises(ValueError):
        steady_window([RequestRecord(index=0, send_s=0.0, end_s=math.nan)])
