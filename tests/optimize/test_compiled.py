"""Compiled decoding with a static cache: the eager greedy text, per batch and width; pruned
models; speculative verification through compiled passes; clear skips where it cannot run."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("torch")

import torch

from wattwise.optimize import compiled
from wattwise.optimize.compiled import (
    CompiledDecoder,
    compiled_generate,
    compiled_speculative_generate,
)
from wattwise.optimize.model import LMConfig, TinyLM, generate
from wattwise.optimize.prune import prune_structured
from wattwise.optimize.speculative import NgramDraft, SpecStats
from wattwise.optimize.types import TechniqueSkipped

CFG = LMConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_mlp=48, max_seq=40)
#: Compiles in seconds rather than tens of seconds (no autotuning, no C++ wrapper build); the
#: lab's own options (compiled.COMPILE_OPTIONS) are exercised by the first test.
FAST = {"freezing": True, "cpp_wrapper": False, "max_autotune": False}


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's decoders compile with :data:`FAST`."""
    monkeypatch.setattr(compiled, "COMPILE_OPTIONS", FAST)


def _model(seed: int) -> TinyLM:
    """A random model with well-separated logits (weights scaled up from the 0.02 init), so
    that a different floating-point summation order cannot flip a greedy choice."""
    torch.manual_seed(seed)
    model = TinyLM(CFG).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(15.0)
    return model


@pytest.fixture(scope="module")
def model() -> TinyLM:
    return _model(0)


@pytest.fixture(scope="module")
def decoder(model: TinyLM) -> Iterator[CompiledDecoder]:
    yield CompiledDecoder(model, options=FAST)


# max-autotune compiles for ~40 s on 2 cores; the default suite checks the same lossless
# property with FAST options (and test_lab with the lab's variants)
@pytest.mark.slow
def test_with_the_labs_options_the_compiled_step_is_the_eager_greedy_text(model: TinyLM) -> None:
    assert compiled.COMPILE_OPTIONS["max_autotune"]
    dec = CompiledDecoder(model)
    prompt = torch.randint(0, CFG.vocab_size, (1, 6), generator=torch.Generator().manual_seed(7))
    assert torch.equal(compiled_generate(dec, prompt, 20, None), generate(model, prompt, 20))
    assert dec.shapes == [(1, 1)]


def test_compiled_generation_is_the_eager_greedy_text(
    model: TinyLM, decoder: CompiledDecoder
) -> None:
    torch.manual_seed(1)
    for batch in (1, 3):
        prompt = torch.randint(0, CFG.vocab_size, (batch, 6))
        n = CFG.max_seq - 6
        steps: list[float] = []
        out = compiled_generate(decoder, prompt, n, steps.append)
        assert torch.equal(out, generate(model, prompt, n))
        assert len(steps) == n
    # one graph per (batch, width): a generation does not recompile per cache length
    assert sorted(decoder.shapes) == [(1, 1), (3, 1)]
    # a direct call outside inference mode reuses the graph compiled for inference mode
    from torch._dynamo.utils import counters

    graphs = counters["stats"]["unique_graphs"]
    kv = decoder.new_cache(1)
    tok = decoder(prompt[:1, :1], torch.tensor([0]), kv)
    assert tok.shape == (1, 1) and kv[0][:, :, :, 0].abs().sum() > 0
    assert counters["stats"]["unique_graphs"] == graphs > 0
    with pytest.raises(ValueError, match="new_cache"):
        decoder(prompt[:1, :1], torch.tensor([0]), [torch.zeros_like(c) for c in kv])
    assert decoder.compile_s > 0
    with pytest.raises(ValueError, match="context"):
        compiled_generate(decoder, prompt, CFG.max_seq, None)


def test_speculative_verification_through_compiled_passes(
    model: TinyLM, decoder: CompiledDecoder
) -> None:
    text = torch.randint(0, CFG.vocab_size, (1000,), generator=torch.Generator().manual_seed(2))
    draft = NgramDraft.build_for_model(model, text, CFG.vocab_size, sample_tokens=400)
    pattern = torch.randint(0, CFG.vocab_size, (4,), generator=torch.Generator().manual_seed(3))
    stats = SpecStats()
    for p in (pattern.repeat(3), text[100:110], text[500:503]):
        prompt = p.view(1, -1)
        n = CFG.max_seq - prompt.shape[1]  # up to the end: padded passes past the context
        steps: list[float] = []
        out = compiled_speculative_generate(decoder, prompt, n, steps.append, draft, stats=stats)
        assert torch.equal(out, generate(model, prompt, n))
        assert len(steps) == n
    assert stats.accepted > 0 and stats.passes < stats.tokens
    assert (1, max(compiled.DEFAULT_VERIFY_WIDTHS)) in decoder.shapes
    two = torch.randint(0, CFG.vocab_size, (2, 5))  # batches decode with the one-token pass
    assert torch.equal(
        compiled_speculative_generate(decoder, two, 4, None, draft), generate(model, two, 4)
    )


def test_a_structurally_pruned_model_compiles_with_per_layer_head_counts() -> None:
    pruned = prune_structured(_model(4), head_frac=0.5, mlp_frac=0.5).eval()
    assert pruned.cfg.heads[0] < CFG.n_heads and pruned.cfg.mlp[0] < CFG.d_mlp
    prompt = torch.randint(0, CFG.vocab_size, (1, 5), generator=torch.Generator().manual_seed(5))
    dec = CompiledDecoder(pruned, options=FAST)
    assert torch.equal(compiled_generate(dec, prompt, 12, None), generate(pruned, prompt, 12))


def test_no_cxx_compiler_is_a_clear_skip(monkeypatch: pytest.MonkeyPatch, model: TinyLM) -> None:
    monkeypatch.setattr(compiled, "cxx_compiler", lambda: None)
    with pytest.raises(TechniqueSkipped, match=r"C\+\+ compiler.*g\+\+"):
        CompiledDecoder(model)


def test_a_model_other_than_the_builtin_is_a_clear_skip() -> None:
    with pytest.raises(TechniqueSkipped, match="--model builtin"):
        CompiledDecoder(torch.nn.Linear(2, 2))


def test_a_compilation_failure_is_a_skip_and_not_kept(
    monkeypatch: pytest.MonkeyPatch, model: TinyLM
) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        def fn(*_x: Any) -> Any:
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")

        return fn

    monkeypatch.setattr(torch, "compile", broken)
    dec = CompiledDecoder(model, options=FAST)
    with pytest.raises(TechniqueSkipped, match=r"graph compilation failed.*InvalidCxxCompiler"):
        dec.warm([(1, 1)])
    assert dec.shapes == []


def _lab(argv: list[str]) -> None:
    from wattwise.cli import optimize as cli

    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers())
    args = p.parse_args(["optimize", "--size", "tiny", "--json", *argv])
    assert args.handler(args) == 0


def test_lab_compiled_variants_are_lossless_and_count_their_parts(
    fast: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _lab(["--techniques", "speculative,compiled,batched", "--rounds", "1"])
    doc = json.loads(capsys.readouterr().out)
    by = {v["name"]: v for v in doc["variants"]}
    assert {"baseline", "speculative", "compiled", "speculative+compiled"} <= set(by)
    rows = by["speculative+compiled+batched"]  # per-row batched verification, rows checked too
    assert rows["greedy_prompts_batch"] > 1
    assert rows["greedy_equal_batch"] == rows["greedy_prompts_batch"]
    for v in by.values():  # every variant here keeps the baseline's weights and greedy text
        assert v["greedy_prompts"] > 0 and v["greedy_equal"] == v["greedy_prompts"]
        assert v["perplexity"] == by["baseline"]["perplexity"]
    both = by["speculative+compiled"]
    parts = by["speculative"]["optimisation_energy_j"] + by["compiled"]["optimisation_energy_j"]
    assert both["optimisation_energy_j"] >= parts > 0
    assert both["techniques"] == ["speculative-ngram", "compiled-static-cache"]


def test_lab_without_a_compiler_skips_compiled_and_runs_the_rest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(compiled, "cxx_compiler", lambda: None)
    _lab(["--techniques", "compiled,speculative", "--rounds", "1"])
    doc = json.loads(capsys.readouterr().out)
    assert {v["name"] for v in doc["variants"]} == {"baseline", "speculative"}
    skip = {s["technique"]: s["reason"] for s in doc["skipped"]}
    assert "C++ compiler" in skip["compiled"]


def test_a_bf16_model_compiles_with_a_bf16_cache_and_decodes_like_eager_bf16() -> None:
    model = _model(5).to(torch.bfloat16)
    dec = CompiledDecoder(model, options=FAST)
    assert dec.new_cache(2)[0].dtype == torch.bfloat16
    prompt = torch.randint(0, CFG.vocab_size, (2, 5))
    out = compiled_generate(dec, prompt, 12, None)
    eager = generate(model, prompt, 12)
    assert out.shape == eager.shape == (2, 17)
    assert torch.equal(out[:, :6], eager[:, :6])  # the first token: the same bf16 products


@pytest.mark.slow  # compiles three bf16 passes of the lab (~1 min on 2 loaded cores)
def test_lab_bf16_variant_is_measured_at_both_batch_sizes_within_tolerance(
    fast: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _lab(["--techniques", "speculative,bf16", "--rounds", "1"])
    doc = json.loads(capsys.readouterr().out)
    by = {v["name"]: v for v in doc["variants"]}
    v, base = by["speculative+compiled+bf16"], by["baseline"]
    assert v["techniques"] == ["speculative-ngram", "compiled-static-cache", "bf16"]
    assert v["j_per_token_batch"] > 0 and v["greedy_prompts_batch"] == v["batch"] > 1
    assert v["perplexity"] <= base["perplexity"] * 1.05  # bf16 rounding, within tolerance
    assert v["greedy_equal"] is not None  # lossy: checked, not required to be all
