"""Each technique really changes a tiny model and keeps it generating (seconds, CPU)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch")

import torch

from wattwise.optimize.model import LMConfig, TinyLM, count_params, generate
from wattwise.optimize.prune import prune_structured, prune_unstructured, sparsity
from wattwise.optimize.quantize import (
    Int4WeightOnlyLinear,
    Int8WeightOnlyLinear,
    is_quantized,
    kernel_available,
    quantize_dynamic_int8,
    quantize_weight_only_int4,
    quantize_weight_only_int8,
)
from wattwise.optimize.train import logits_of, perplexity, train_lm
from wattwise.optimize.types import TechniqueSkipped

CFG = LMConfig(vocab_size=64, d_model=32, n_layers=2, n_heads=4, d_mlp=64, max_seq=32)


@pytest.fixture(scope="module")
def trained() -> tuple[TinyLM, torch.Tensor]:
    torch.manual_seed(0)
    # a learnable stream: a repeating pattern with a little noise
    pattern = torch.arange(0, 60, 3) % 64
    data = pattern.repeat(200)
    noise = torch.randint(0, 64, data.shape)
    data = torch.where(torch.rand(data.shape) < 0.05, noise, data)
    model = TinyLM(CFG)
    train_lm(model, data, steps=60, batch=8, seq=16, lr=3e-3, warmup=5)
    return model, data


def _sub(model: torch.nn.Module, path: str) -> Any:
    """A submodule by dotted path, untyped (quantized layers have their own attributes)."""
    return model.get_submodule(path)


def _gen(model: torch.nn.Module, n: int = 6) -> torch.Tensor:
    prompt = torch.tensor([[0, 3, 6, 9]])
    assert isinstance(model, TinyLM)
    return generate(model, prompt, n)


def test_training_lowers_perplexity(trained: tuple[TinyLM, torch.Tensor]) -> None:
    model, data = trained
    fresh = TinyLM(CFG)
    assert perplexity(logits_of(model), data, seq=16) < perplexity(logits_of(fresh), data, seq=16)


def test_generate_returns_prompt_plus_new_tokens_and_times_steps(
    trained: tuple[TinyLM, torch.Tensor],
) -> None:
    steps: list[float] = []
    out = generate(trained[0], torch.tensor([[0, 3, 6, 9], [1, 4, 7, 10]]), 5, steps.append)
    assert out.shape == (2, 9)
    assert len(steps) == 5 and all(s >= 0 for s in steps)


def test_dynamic_int8_replaces_linears_and_keeps_generating(
    trained: tuple[TinyLM, torch.Tensor],
) -> None:
    model, data = trained
    q = quantize_dynamic_int8(model)
    assert is_quantized(q) and not is_quantized(model)
    assert hasattr(_sub(q, "blocks.0.attn.qkv"), "_packed_params")
    assert _sub(q, "blocks.0.attn.qkv").weight().dtype == torch.qint8
    assert _gen(q).shape == (1, 10)
    ppl, ppl_q = (perplexity(logits_of(m), data, seq=16) for m in (model, q))
    assert abs(ppl_q - ppl) / ppl < 0.1


def test_weight_only_int8_stores_int8_weights(trained: tuple[TinyLM, torch.Tensor]) -> None:
    model, _ = trained
    q = quantize_weight_only_int8(model)
    layer = _sub(q, "blocks.1.mlp.down")
    assert isinstance(layer, Int8WeightOnlyLinear)
    assert layer.qweight.dtype == torch.int8
    assert _gen(q).shape == (1, 10)
    x = torch.randn(3, CFG.d_model)
    with torch.no_grad():
        ref = _sub(model, "blocks.0.attn.qkv")(x)
        assert torch.allclose(
            _sub(q, "blocks.0.attn.qkv")(x), ref, atol=0.05 * float(ref.abs().max())
        )


def test_weight_only_int4_packs_or_is_skipped_honestly(
    trained: tuple[TinyLM, torch.Tensor],
) -> None:
    model, _ = trained
    why = kernel_available(4)
    if why is not None:
        with pytest.raises(TechniqueSkipped, match="int4"):
            quantize_weight_only_int4(model)
        return
    q = quantize_weight_only_int4(model)
    layer = _sub(q, "blocks.0.mlp.gate_up")
    assert isinstance(layer, Int4WeightOnlyLinear)
    assert layer.qweight.dtype == torch.uint8
    assert layer.qweight.numel() == layer.quantized_numel // 2  # two weights per byte
    assert _gen(q).shape == (1, 10)


def test_unstructured_pruning_zeroes_half_of_the_linear_weights(
    trained: tuple[TinyLM, torch.Tensor],
) -> None:
    model, data = trained
    pruned, masks = prune_unstructured(model, 0.5)
    assert sparsity(model) < 0.01
    assert 0.45 < sparsity(pruned) < 0.55
    assert masks and count_params(pruned) == count_params(model)
    train_lm(pruned, data, steps=3, batch=4, seq=16, masks=masks)  # recovery keeps the zeros
    assert sparsity(pruned) >= 0.45
    assert _gen(pruned).shape == (1, 10)


def test_structured_pruning_removes_heads_and_channels(
    trained: tuple[TinyLM, torch.Tensor],
) -> None:
    model, data = trained
    pruned = prune_structured(model, head_frac=0.5, mlp_frac=0.5)
    assert pruned.cfg.heads == (2, 2) and pruned.cfg.mlp == (32, 32)
    assert _sub(pruned, "blocks.0.attn.qkv").weight.shape == (3 * 2 * CFG.head_dim, CFG.d_model)
    assert _sub(pruned, "blocks.0.mlp.down").weight.shape == (CFG.d_model, 32)
    assert count_params(pruned) < count_params(model)
    assert _gen(pruned).shape == (1, 10)
    assert perplexity(logits_of(pruned), data, seq=16) < CFG.vocab_size * 2


def test_structured_pruning_with_nothing_removed_is_the_same_function(
    trained: tuple[TinyLM, torch.Tensor],
) -> None:
    model, _ = trained
    same = prune_structured(model, 0.0, 0.0)
    ids = torch.tensor([[0, 3, 6, 9, 12]])
    assert torch.allclose(same(ids), model(ids), atol=1e-5)


def test_structured_pruning_of_a_foreign_model_is_skipped() -> None:
    with pytest.raises(TechniqueSkipped, match="built-in"):
        prune_structured(torch.nn.Sequential(torch.nn.Linear(4, 4)))


def test_dynamic_int8_without_linear_layers_is_skipped() -> None:
    with pytest.raises(TechniqueSkipped, match=r"nn\.Linear"):
        quantize_dynamic_int8(torch.nn.Sequential(torch.nn.Embedding(4, 4)))
