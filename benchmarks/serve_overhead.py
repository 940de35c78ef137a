"""The serving client's own CPU cost per request (goal: under 1 ms), measured against the
canned-stream server of the tests (tests/bench/fakeserver.py) running in another process, so
that only the client's CPU time (this process's ``time.process_time``) is counted.

    python benchmarks/serve_overhead.py [--requests 400] [--tokens 64]

For each concurrency: CPU ms per request and per streamed token of the load generator alone
(``run_load`` with a meter that does nothing), then of the whole ``bench_serve`` (tracker,
sampler thread, windows, result document; no ledger); and the split of the load generator's
cost into a fixed part per request (a run of 1-token requests) and a part per streamed token
(the difference to the --tokens run). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wattwise.bench.client import Prompt, new_client  # noqa: E402
from wattwise.bench.load import LoadSpec, Target, run_load  # noqa: E402
from wattwise.bench.serve import BenchOptions, bench_serve  # noqa: E402

PROMPT = Prompt(messages=({"role": "user", "content": "In the beginning"},))


class NullMeter:
    def open(self, name: str) -> None:
        return None

    def close(self, handle: Any, counts: dict[str, float]) -> None:
        return None


def client_only(url: str, conc: int, n: int, tokens: int) -> dict[str, float]:
    async def go() -> Any:
        async with new_client(conc, 60.0, tls=False) as client:
            target = Target(client, url, "canned", tokens, 60.0)
            spec = LoadSpec(concurrency=conc, requests=n)
            return await run_load(target, [PROMPT], spec, NullMeter())

    cpu0, t0 = time.process_time(), time.perf_counter()
    res = asyncio.run(go())
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    assert all(r.ok for r in res.records), [r.error for r in res.records if not r.ok][:3]
    streamed = sum(len(r.chunk_s) for r in res.records)
    return {"cpu_ms_per_request": round(cpu / n * 1e3, 3),
            "cpu_us_per_token": round(cpu / streamed * 1e6, 2),
            "requests_per_s": round(n / wall, 1)}  # fmt: skip


def whole(url: str, conc: int, n: int, tokens: int) -> dict[str, float]:
    opts = BenchOptions(url=url, model="canned", concurrency=[conc], requests=n, warmup=0,
                        max_tokens=tokens, store=False)  # fmt: skip
    cpu0 = time.process_time()
    doc = bench_serve(opts)
    cpu = time.process_time() - cpu0
    assert doc["configs"][0]["requests"]["failed"] == 0
    return {"cpu_ms_per_request": round(cpu / n * 1e3, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--concurrency", default="1,8,32")
    a = ap.parse_args()
    fake = subprocess.Popen([sys.executable, str(ROOT / "tests/bench/fakeserver.py")],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert fake.stdout is not None
    url = f"http://127.0.0.1:{int(fake.stdout.readline())}/v1"
    out: dict[str, Any] = {"requests": a.requests, "tokens_per_request": a.tokens, "runs": {}}
    try:
        client_only(url, 4, 40, a.tokens)  # warm: imports, connections, caches
        for conc in (int(c) for c in a.concurrency.split(",")):
            full = client_only(url, conc, a.requests, a.tokens)
            one = client_only(url, conc, a.requests, 1)
            per_token_us = (full["cpu_ms_per_request"] - one["cpu_ms_per_request"]) * 1e3 / (
                a.tokens - 1
            )
            out["runs"][f"c={conc}"] = {
                "load_generator": full,
                "fixed_ms_per_request": one["cpu_ms_per_request"],
                "us_per_further_token": round(per_token_us, 2),
                "bench_serve": whole(url, conc, a.requests, a.tokens),
            }
    finally:
        fake.kill()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
