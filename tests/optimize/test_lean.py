"""The lean eager decoding step: the reference decode's greedy text on the shipped model, with
and without the speculative draft; rejected drafts, pruned shapes, and the lab measuring it."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("torch")

import torch

from wattwise.optimize.lean import LeanDecoder, lean_generate, lean_speculative_generate
from wattwise.optimize.model import LMConfig, TinyLM, generate
from wattwise.optimize.prune import prune_structured
from wattwise.optimize.speculative import NgramDraft, SpecStats
from wattwise.optimize.types import TechniqueSkipped

CFG = LMConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_mlp=48, max_seq=40)


def test_lean_step_is_the_reference_decode_on_the_shipped_model() -> None:
    from wattwise.optimize.builtin import get_builtin

    b = get_builtin("default")  # the shipped weights
    model, held = b.model, b.heldout_ids
    dec = LeanDecoder(model)
    prompts = torch.stack([held[i * 997 : i * 997 + 16] for i in range(8)])
    new = b.spec.config.max_seq - 16
    with torch.inference_mode():  # logits within float rounding of model.step's
        ref, _ = model.step(prompts[:1], None, 0)
        got = dec.step(prompts[:1], 0, dec.new_cache(1))
    assert got.shape == ref.shape and torch.allclose(got, ref, atol=1e-4, rtol=0)
    assert torch.equal(lean_generate(dec, prompts, new, None), generate(model, prompts, new))
    draft = NgramDraft.build(b.train_ids[:200_000], b.spec.config.vocab_size)
    stats = SpecStats()
    for i in range(4):
        p = prompts[i : i + 1]
        steps: list[float] = []
        out = lean_speculative_generate(dec, p, new, steps.append, draft, stats=stats)
        assert torch.equal(out, generate(model, p, new)) and len(steps) == new
    assert stats.passes < stats.tokens  # drafts were accepted: passes of several tokens ran


def test_rejected_drafts_and_pruned_layers_keep_the_greedy_text() -> None:
    torch.manual_seed(0)
    model = prune_structured(TinyLM(CFG).eval(), 0.25, 0.25)  # per-layer heads and widths
    assert model.cfg.heads != (CFG.n_heads,) * CFG.n_layers
    text = torch.randint(0, CFG.vocab_size, (1000,))
    draft = NgramDraft.build(text, CFG.vocab_size)
    dec = LeanDecoder(model)
    stats = SpecStats()
    pattern = torch.randint(0, CFG.vocab_size, (4,))
    for p in (pattern.repeat(3), text[100:110], text[500:508]):
        prompt = p.view(1, -1)
        n = CFG.max_seq - prompt.shape[1]
        out = lean_speculative_generate(dec, prompt, n, None, draft, stats=stats)
        assert torch.equal(out, generate(model, prompt, n))
    assert stats.drafted > stats.accepted > 0  # some drafts were rejected and overwritten
    with pytest.raises(ValueError, match="context"):
        lean_generate(dec, text[:10].view(1, -1), CFG.max_seq, None)
    with pytest.raises(TechniqueSkipped, match="built-in model"):
        LeanDecoder(torch.nn.Linear(2, 2))


def test_lab_measures_the_lean_variants_as_lossless(capsys: pytest.CaptureFixture[str]) -> None:
    from wattwise.cli import optimize as cli

    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers())
    args = p.parse_args(
        ["optimize", "--size", "tiny", "--json", "--techniques", "speculative,lean",
         "--rounds", "1"]
    )  # fmt: skip
    assert args.handler(args) == 0
    doc = json.loads(capsys.readouterr().out)
    by = {v["name"]: v for v in doc["variants"]}
    assert set(by) == {"baseline", "speculative", "lean", "speculative+lean"}
    for name in ("lean", "speculative+lean"):
        v = by[name]
        assert v["greedy_prompts"] > 0 and v["greedy_equal"] == v["greedy_prompts"]
        assert v["greedy_prompts_batch"] > 1
        assert v["greedy_equal_batch"] == v["greedy_prompts_batch"]
        assert v["perplexity"] == by["baseline"]["perplexity"] and v["j_per_token"] > 0
    both = by["speculative+lean"]
    assert both["techniques"] == ["speculative-ngram", "lean-step"]
    parts = by["speculative"]["optimisation_energy_j"] + by["lean"]["optimisation_energy_j"]
    assert both["optimisation_energy_j"] >= parts > 0
