"""The streaming client and the load generator against a canned-stream server."""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

import pytest

from wattwise.bench.client import Prompt, new_client, stream_request
from wattwise.bench.load import LoadSpec, Target, run_load
from wattwise.bench.stats import RequestRecord, steady_window, tokens_in

CHAT = Prompt(messages=({"role": "user", "content": "hello"},))
PLAIN = Prompt(prompt="hello")


def one(url: str, model: str, prompt: Prompt = CHAT, timeout_s: float = 10.0) -> RequestRecord:
    async def go() -> RequestRecord:
        async with new_client(1, timeout_s) as client:
            return await stream_request(client, url, model, prompt, 6,
                                        RequestRecord(index=0, send_s=0.0))  # fmt: skip

    return asyncio.run(go())


@pytest.mark.parametrize("prompt", [CHAT, PLAIN], ids=["chat", "completions"])
def test_usage_counts_and_chunk_times(fake_url: str, prompt: Prompt) -> None:
    r = one(fake_url, "canned", prompt)
    assert r.ok, r.error
    assert (r.output_tokens, r.prompt_tokens, r.token_source) == (6, 5, "usage")
    assert len(r.chunk_s) == 6 and r.chunk_s == sorted(r.chunk_s)
    assert r.send_s <= r.chunk_s[0] <= r.end_s


def test_without_usage_chunks_are_counted_and_labelled(fake_url: str) -> None:
    r = one(fake_url, "nousage")
    assert (r.output_tokens, r.token_source) == (6, "chunks")


def test_usage_wins_over_chunk_count(fake_url: str) -> None:
    r = one(fake_url, "twoper")
    assert (len(r.chunk_s), r.output_tokens) == (3, 6)


@pytest.mark.parametrize(
    ("model", "expected"),
    [("http500", "HTTP 500"), ("errorevent", "server error in the stream: model crashed")],
)
def test_server_failures_are_kept_with_their_reason(fake_url: str, model: str,
                                                    expected: str) -> None:  # fmt: skip
    r = one(fake_url, model)
    assert not r.ok and r.error.startswith(expected) and not r.timed_out


def test_a_silent_stream_times_out(fake_url: str) -> None:
    r = one(fake_url, "hang", timeout_s=0.3)
    assert r.timed_out and "timed out" in r.error and math.isfinite(r.end_s)


class Recorder:
    """A meter that records what the load generator asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def open(self, name: str) -> str:
        self.calls.append(("open", name))
        return name

    def close(self, handle: Any, counts: dict[str, float]) -> dict[str, float]:
        self.calls.append(("close", counts))
        return counts


def load(url: str, model: str, spec: LoadSpec) -> tuple[Any, Recorder]:
    meter = Recorder()

    async def go() -> Any:
        async with new_client(8, 10.0) as client:
            return await run_load(Target(client, url, model, 4, 10.0), [CHAT, PLAIN], spec, meter)

    return asyncio.run(go()), meter


def test_closed_loop_window_matches_the_recorded_streams(fake_url: str) -> None:
    res, meter = load(fake_url, "slow", LoadSpec(concurrency=2, requests=8, warmup=2))
    assert [c[0] for c in meter.calls] == ["open", "close"] and meter.calls[0][1] == "c=2"
    assert len(res.records) == 8 and len(res.warmup) == 2 and all(r.ok for r in res.records)
    w = steady_window(res.records)
    assert res.window_kind == w.kind == "steady"
    assert res.window_start_s == pytest.approx(w.start_s, abs=0.02)
    assert res.window_end_s == pytest.approx(w.end_s, abs=0.02)
    live = meter.calls[1][1]["output_tokens"]
    # live counting and the recorded timestamps agree within a chunk per stream in flight
    assert abs(live - tokens_in(res.records, res.window_start_s, res.window_end_s)) <= 2
    assert meter.calls[1][1]["requests"] == res.window_completed > 0


def test_open_loop_sends_at_poisson_arrivals(fake_url: str) -> None:
    res, meter = load(fake_url, "canned", LoadSpec(rate_per_s=40.0, requests=12, warmup=1))
    sends = sorted(r.send_s for r in res.records)
    assert len(sends) == 12 and all(r.ok for r in res.records)
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert len(set(round(g, 4) for g in gaps)) > 5  # random gaps, not a fixed period
    assert res.window_kind in ("steady", "tail") and meter.calls[-1][0] == "close"


def test_too_few_requests_measure_the_span(fake_url: str) -> None:
    res, _ = load(fake_url, "canned", LoadSpec(concurrency=4, requests=3))
    assert res.window_kind == "span" and res.window_tokens == 12.0


def test_usage_corrects_the_live_count(fake_url: str) -> None:
    res, meter = load(fake_url, "twoper", LoadSpec(concurrency=1, requests=1))
    assert res.window_kind == "span"
    assert meter.calls[1][1]["output_tokens"] == 4.0  # 2 chunks of 2 tokens (usage)
