"""Against a real ``transformers serve`` of the exported built-in model (tiny size), the
session's one server (``served``, tests/bench/conftest.py): a closed-loop sweep 1 / 4, an
open-loop run, and a server stopped mid-run (last: it ends the shared server; this module is
the last of tests/bench to use it). The export itself is checked against the built-in model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bench.served import Served
from wattwise.bench.serve import BenchOptions, bench_serve

MAX_TOKENS = 6


def short_prompts(tmp: Path) -> str:
    f = tmp / "prompts.jsonl"
    f.write_text("".join(f'{{"prompt": "And God said, let there be {w}"}}\n'
                         for w in ("light", "water", "land", "fire")))  # fmt: skip
    return str(f)


def test_the_export_is_the_builtin_model_as_llama(served: Served) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from wattwise.bench.export import llama_state_dict
    from wattwise.optimize.builtin import get_builtin

    llama = AutoModelForCausalLM.from_pretrained(str(served.model_dir), local_files_only=True)
    assert llama.config.model_type == "llama" and llama.config.wattwise_export["note"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(served.model_dir.parent.parent.parent))
        tiny = get_builtin("tiny")
    mapped = llama_state_dict(tiny.model)
    saved = llama.state_dict()
    assert set(mapped) == set(saved)
    assert all(torch.equal(mapped[k], saved[k]) for k in mapped)
    n_tiny = sum(p.numel() for n, p in tiny.model.named_parameters() if n != "pos.weight")
    assert sum(p.numel() for p in llama.parameters()) == n_tiny  # the position table dropped


def test_closed_loop_sweep_1_and_4(served: Served, tmp_path: Path) -> None:
    doc = bench_serve(BenchOptions(url=served.base_url, concurrency=[1, 4], requests=9,
                                   max_tokens=MAX_TOKENS, dataset=short_prompts(tmp_path),
                                   warmup=2, db=str(tmp_path / "l.db")))  # fmt: skip
    c1, c4 = doc["configs"]
    for c in (c1, c4):
        assert c["requests"]["ok"] == 9 and c["requests"]["failed"] == 0
        assert c["window"]["kind"] == "steady"
        assert c["mean_output_tokens"] == MAX_TOKENS  # no EOS: exactly max_tokens
        assert c["provenance"]["tokens"].startswith("usage")  # transformers serve sends usage
        assert c["j_per_output_token"] > 0 and c["ttft_ms"]["p50"] > 0
    assert doc["model"] == served.model and doc["recommended"]["name"] in ("c=1", "c=4")
    assert doc["ledger"].startswith("stored")


def test_open_loop(served: Served, tmp_path: Path) -> None:
    doc = bench_serve(BenchOptions(url=served.base_url, rates=[20.0], requests=8,
                                   max_tokens=MAX_TOKENS, dataset=short_prompts(tmp_path),
                                   store=False))  # fmt: skip
    (c,) = doc["configs"]
    assert c["mode"] == "open" and c["requests"]["ok"] == 8
    assert c["window"]["kind"] in ("steady", "tail") and c["output_tokens_per_s"] > 0


def test_server_stopped_mid_run_counts_failures(served: Served, tmp_path: Path) -> None:
    """Runs last: it stops the session's server (no later test of tests/bench uses it)."""
    timer = threading.Timer(1.5, served.server.stop)
    timer.start()
    try:
        doc = bench_serve(BenchOptions(url=served.base_url, model=served.model,
                                       concurrency=[2], duration_s=4.0, max_tokens=MAX_TOKENS,
                                       dataset=short_prompts(tmp_path), timeout_s=5.0,
                                       store=False))  # fmt: skip
    finally:
        timer.join()
    (c,) = doc["configs"]
    assert c["requests"]["failed"] > 0 and c["requests"]["ok"] > 0
    assert sum(c["requests"]["errors"].values()) == c["requests"]["failed"]
    assert doc["recommended"]["name"] is None
