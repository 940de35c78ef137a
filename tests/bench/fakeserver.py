"""A canned-stream OpenAI-compatible server for the client's tests and overhead benchmark.

Plain asyncio (HTTP/1.1, keep-alive, chunked server-sent events), so that its own cost is
small and known. The requested ``model`` chooses the behaviour:

* ``canned`` — ``max_tokens`` chunks of one token each, then a ``usage`` chunk and ``[DONE]``;
* ``nousage`` — the same without ``usage``;
* ``twoper`` — two tokens per chunk (usage says so): chunk counts are not token counts;
* ``http500`` — status 500; ``errorevent`` — two tokens, then ``data: {"error": ...}``;
* ``slow`` — 20 ms between chunks; ``hang`` — headers, then nothing.

Run as a program (``python fakeserver.py``) it prints its port and serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

DELAY_S = {"slow": 0.02}


def _chunk(data: str) -> bytes:
    raw = data.encode()
    return f"{len(raw):x}\r\n".encode() + raw + b"\r\n"


def _event(obj: object) -> bytes:
    return _chunk(f"data: {json.dumps(obj)}\n\n")


async def _stream(writer: asyncio.StreamWriter, body: dict[str, object]) -> None:
    model = str(body.get("model", "canned"))
    n = int(body.get("max_tokens", 16))  # type: ignore[call-overload]
    chat = "messages" in body
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                 b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
    if model == "hang":
        await writer.drain()
        await asyncio.sleep(3600)
    per = 2 if model == "twoper" else 1
    chunks = 2 if model == "errorevent" else max(1, n // per)
    for i in range(chunks):
        text = f" w{i}"
        choice = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
        writer.write(_event({"id": "x", "object": "chunk", "choices": [choice]}))
        await writer.drain()
        if model in DELAY_S:
            await asyncio.sleep(DELAY_S[model])
    if model == "errorevent":
        writer.write(_event({"error": "model crashed"}))
    else:
        last: dict[str, object] = {"id": "x", "choices": [{"index": 0, "finish_reason": "length",
                                                          "delta": {}}]}  # fmt: skip
        if model != "nousage":
            last["usage"] = {"prompt_tokens": 5, "completion_tokens": chunks * per,
                             "total_tokens": 5 + chunks * per}  # fmt: skip
        writer.write(_event(last))
        writer.write(_chunk("data: [DONE]\n\n"))
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            pairs = (ln.split(":", 1) for ln in lines[1:] if ln)
            headers = {k.lower(): v.strip() for k, v in pairs}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method == "GET" and path.endswith("/models"):
                doc = json.dumps({"data": [{"id": "canned"}]}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             + f"content-length: {len(doc)}\r\n\r\n".encode() + doc)  # fmt: skip
                await writer.drain()
                continue
            req = json.loads(body or b"{}")
            if req.get("model") == "http500":
                msg = b'{"error": "overloaded"}'
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: "
                             + str(len(msg)).encode() + b"\r\n\r\n" + msg)  # fmt: skip
                await writer.drain()
                continue
            await _stream(writer, req)
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def start(port: int = 0) -> asyncio.Server:
    """Start serving on 127.0.0.1:``port`` (0: a free one) in the running loop."""
    return await asyncio.start_server(_handle, "127.0.0.1", port)


async def _main() -> None:
    server = await start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main())
