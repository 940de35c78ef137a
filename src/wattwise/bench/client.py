"""The asynchronous streaming client of an OpenAI-compatible server (httpx).

One request is one ``POST /v1/chat/completions`` (a prompt of ``messages``) or
``POST /v1/completions`` (a ``prompt`` string) with ``stream: true`` and
``stream_options.include_usage`` (servers that do not know the option ignore it, as
``transformers serve`` does, or send usage anyway). The client reads the server-sent events as
lines, notes the arrival time of every chunk that carries text, and takes the token counts of
the final ``usage`` object when there is one (``token_source = "usage"``), else counts content
chunks (``"chunks"``). A non-200 status, an ``error`` event, a broken stream or a timeout
makes the request failed, with the reason kept.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wattwise.bench.stats import RequestRecord

#: Longest error text kept per failed request (characters).
MAX_ERROR_CHARS = 200

ChunkHook = Callable[[RequestRecord], None]


@dataclass(frozen=True)
class Prompt:
    """One prompt: chat ``messages`` or a completion ``prompt`` string (exactly one is set)."""

    messages: tuple[dict[str, str], ...] | None = None
    prompt: str | None = None
    max_tokens: int | None = None

    def body(self, model: str, max_tokens: int) -> dict[str, Any]:
        """The JSON body of a streaming request for ``model``."""
        out: dict[str, Any] = {"model": model, "stream": True,
                               "stream_options": {"include_usage": True},
                               "max_tokens": self.max_tokens or max_tokens}  # fmt: skip
        if self.messages is not None:
            out["messages"] = list(self.messages)
        else:
            out["prompt"] = self.prompt
        return out

    @property
    def path(self) -> str:
        return "/chat/completions" if self.messages is not None else "/completions"


def _has_text(event: dict[str, Any]) -> bool:
    for choice in event.get("choices") or ():
        if choice.get("text") or (choice.get("delta") or {}).get("content"):
            return True
    return False


def _take_usage(rec: RequestRecord, event: dict[str, Any]) -> None:
    usage = event.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        rec.output_tokens = usage["completion_tokens"]
        pt = usage.get("prompt_tokens")
        rec.prompt_tokens = pt if isinstance(pt, int) else None
        rec.token_source = "usage"


def _read_line(rec: RequestRecord, line: bytes, on_chunk: ChunkHook | None) -> bool:
    """Handle one server-sent-event line; True at the end of the stream."""
    if not line.startswith(b"data:"):
        return False
    data = line[5:].strip()
    if data == b"[DONE]":
        return True
    try:
        event = json.loads(data)
    except ValueError:
        rec.error = f"not JSON in the stream: {data[:80]!r}"
        return True
    if not isinstance(event, dict):
        return False
    if "error" in event:
        rec.error = f"server error in the stream: {str(event['error'])[:MAX_ERROR_CHARS]}"
        return True
    if _has_text(event):
        rec.chunk_s.append(time.monotonic())
        if on_chunk is not None:
            on_chunk(rec)
    _take_usage(rec, event)
    return False


async def _read_stream(rec: RequestRecord, resp: Any, on_chunk: ChunkHook | None) -> None:
    """Read the event stream by lines of bytes (cheaper than httpx's text lines). After the
    end (``[DONE]``, an error event) the rest is read and dropped, so that the connection
    goes back to the pool instead of being closed; ``end_s`` is the end's arrival."""
    buf = b""
    done = False
    async for raw in resp.aiter_bytes():
        if done:
            continue
        *lines, buf = (buf + raw).split(b"\n")
        for line in lines:
            if _read_line(rec, line, on_chunk):
                rec.end_s, done = time.monotonic(), True
                break
    if not done and buf:
        _read_line(rec, buf, on_chunk)


async def stream_request(
    client: Any,
    base_url: str,
    model: str,
    prompt: Prompt,
    max_tokens: int,
    rec: RequestRecord,
    on_chunk: ChunkHook | None = None,
) -> RequestRecord:
    """Send one streaming request with ``client`` (an ``httpx.AsyncClient``) and fill ``rec``
    (its ``send_s`` is set here). Never raises for a server's or a network's failure."""
    import httpx

    rec.send_s = time.monotonic()
    try:
        async with client.stream(
            "POST", base_url + prompt.path, json=prompt.body(model, max_tokens)
        ) as resp:
            if resp.status_code != 200:
                text = (await resp.aread()).decode("utf-8", "replace")
                rec.error = f"HTTP {resp.status_code}: {text[:MAX_ERROR_CHARS]}"
            else:
                await _read_stream(rec, resp, on_chunk)
    except httpx.TimeoutException as exc:
        rec.error = f"timed out ({type(exc).__name__})"
        rec.timed_out = True
    except (httpx.HTTPError, OSError) as exc:
        rec.error = f"{type(exc).__name__}: {str(exc)[:MAX_ERROR_CHARS] or 'connection failed'}"
    if not math.isfinite(rec.end_s):
        rec.end_s = time.monotonic()
    if rec.ok and not rec.chunk_s:
        rec.error = "the stream ended without any text"
    if rec.token_source == "chunks":
        rec.output_tokens = len(rec.chunk_s)
    return rec


def new_client(concurrency: int, timeout_s: float, tls: bool = True) -> Any:
    """An ``httpx.AsyncClient`` for ``concurrency`` parallel streams; ``timeout_s`` bounds the
    connect and each read (a stream silent that long fails as timed out). ``tls=False`` (an
    ``http://`` URL) skips loading the certificate store (a third of a second)."""
    import httpx

    n = concurrency + 4
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), limits=limits, trust_env=False,
                             verify=tls)  # fmt: skip
