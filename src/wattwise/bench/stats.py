"""Pure statistics of recorded request streams: percentiles, the steady-state window and the
tokens and requests that fall inside it.

Times are seconds on one monotonic clock (the client's ``time.monotonic``). A request's
output tokens are attributed to the moments its content chunks arrived: each chunk carries
``output_tokens / chunks`` tokens, so a server's ``usage`` count (when given) is spread over
the chunks it streamed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Percentiles reported for every latency (TTFT, inter-token latency, end-to-end).
PERCENTILES = (50.0, 95.0, 99.0)


@dataclass
class RequestRecord:
    """One request as the client saw it. ``chunk_s``: arrival time of every content chunk.

    ``output_tokens`` comes from the server's ``usage`` when ``token_source == "usage"``,
    else it is the number of content chunks (``"chunks"``: one token per chunk assumed).
    ``error`` is empty for a request that completed; otherwise it says what went wrong
    (an HTTP status, a timeout, a broken stream) and the request counts as failed.
    """

    index: int
    send_s: float
    end_s: float = math.nan
    chunk_s: list[float] = field(default_factory=list)
    output_tokens: int = 0
    prompt_tokens: int | None = None
    token_source: str = "chunks"
    error: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def ttft_s(self) -> float | None:
        return self.chunk_s[0] - self.send_s if self.chunk_s else None

    @property
    def e2e_s(self) -> float | None:
        return self.end_s - self.send_s if self.ok and math.isfinite(self.end_s) else None

    def itl_s(self) -> list[float]:
        """Gaps between consecutive content chunks (s), divided by the tokens of the later one."""
        if len(self.chunk_s) < 2:
            return []
        per = self.tokens_per_chunk()
        return [(b - a) / per for a, b in zip(self.chunk_s, self.chunk_s[1:], strict=False)]

    def tokens_per_chunk(self) -> float:
        n = len(self.chunk_s)
        return self.output_tokens / n if n and self.output_tokens else 1.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) with linear interpolation between order statistics
    (numpy's default method); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary_ms(values_s: Sequence[float]) -> dict[str, float | None]:
    """``{"p50": .., "p95": .., "p99": .., "mean": .., "n": ..}`` in milliseconds."""
    out: dict[str, float | None] = {
        f"p{q:g}": (None if (v := percentile(values_s, q)) is None else round(v * 1e3, 3))
        for q in PERCENTILES
    }
    out["mean"] = round(math.fsum(values_s) / len(values_s) * 1e3, 3) if values_s else None
    out["n"] = len(values_s)
    return out


@dataclass(frozen=True)
class SteadyWindow:
    """Bounds of the measured window (s) and how they were chosen.

    ``kind``: ``steady`` — from the first completion (the batch has filled) to the last request
    sent (the tail has not begun draining); ``span`` — no steady state exists (fewer than
    ``2 * concurrency + 1`` requests): from the first request sent to the last completion;
    ``tail`` — every request was sent before the first completed: first to last completion.
    """

    start_s: float
    end_s: float
    kind: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def steady_possible(requests: int | None, concurrency: int | None) -> bool:
    """Whether a closed loop of ``requests`` at ``concurrency`` has a steady state worth
    measuring: with ``2 * concurrency + 1`` requests of equal length, the window (first
    completion to last send) lasts about one request; with ``2 * concurrency`` the first round's
    completions send the last requests at once and the window is empty. Open loop and
    ``--duration``: always."""
    if requests is None or concurrency is None:
        return True
    return requests >= 2 * concurrency + 1


def steady_window(records: Sequence[RequestRecord], *, possible: bool = True) -> SteadyWindow:
    """The window the live benchmark measures, recomputed from recorded requests (the rule in
    :class:`SteadyWindow`). Failed requests count as completions at their end time."""
    sends = [r.send_s for r in records]
    ends = [r.end_s for r in records if math.isfinite(r.end_s)]
    if not sends or not ends:
        raise ValueError("no finished request to place a window on")
    if not possible:
        return SteadyWindow(min(sends), max(ends), "span")
    first_done = min(ends)
    last_send = max(sends)
    if last_send > first_done:
        return SteadyWindow(first_done, last_send, "steady")
    return SteadyWindow(first_done, max(ends), "tail")


def tokens_in(records: Sequence[RequestRecord], start_s: float, end_s: float) -> float:
    """Output tokens streamed in ``[start_s, end_s]`` (chunks weighted by tokens per chunk)."""
    total = 0.0
    for r in records:
        per = r.tokens_per_chunk()
        total += per * sum(1 for t in r.chunk_s if start_s <= t <= end_s)
    return total


def completed_in(records: Sequence[RequestRecord], start_s: float, end_s: float) -> int:
    """Successful requests that completed inside ``[start_s, end_s]``."""
    return sum(1 for r in records if r.ok and start_s <= r.end_s <= end_s)


def latency_summary(records: Sequence[RequestRecord]) -> dict[str, dict[str, float | None]]:
    """TTFT, inter-token latency and end-to-end percentiles (ms) of the successful requests."""
    ok = [r for r in records if r.ok]
    ttft = [t for r in ok if (t := r.ttft_s) is not None]
    e2e = [t for r in ok if (t := r.e2e_s) is not None]
    itl = [g for r in ok for g in r.itl_s()]
    return {"ttft_ms": summary_ms(ttft), "itl_ms": summary_ms(itl), "e2e_ms": summary_ms(e2e)}
