"""A user's Hugging Face causal LM from a local directory goes through the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")


def _save_tiny_llama(path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from wattwise.optimize.corpus import load_text
    from wattwise.optimize.tokenizer import BpeTokenizer

    tok = BpeTokenizer.train(load_text("kjv")[:50_000], vocab_size=300)
    cfg = LlamaConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(path)
    PreTrainedTokenizerFast(tokenizer_object=tok.backend).save_pretrained(path)  # type: ignore[no-untyped-call]


def test_hf_model_directory_runs_and_unsupported_techniques_are_skipped(tmp_path: Path) -> None:
    from wattwise.optimize.lab import run_lab

    _save_tiny_llama(tmp_path / "llama")
    res = run_lab(
        str(tmp_path / "llama"),
        size="tiny",
        budget_s=2,
        store=False,
        techniques="int8-dynamic,prune-structured,distill",
    )
    names = [v.name for v in res.variants]
    assert names == ["baseline", "int8-dynamic"]
    skipped = {s.technique: s.reason for s in res.skipped}
    assert "built-in" in skipped["pruned-structured"]
    assert "--model builtin" in skipped["distill"]
    for v in res.variants:
        assert v.tokens_per_s > 0 and v.perplexity > 1
    assert res.variant("int8-dynamic").size_bytes < res.variant("baseline").size_bytes


def test_a_model_that_is_not_a_causal_lm_is_one_clear_error(tmp_path: Path) -> None:
    from transformers import DistilBertConfig, DistilBertModel

    from wattwise.errors import ConfigError
    from wattwise.optimize.hf import load_hf

    cfg = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32)
    DistilBertModel(cfg).save_pretrained(tmp_path / "bert")
    with pytest.raises(ConfigError, match="not a causal language model"):
        load_hf(str(tmp_path / "bert"))
