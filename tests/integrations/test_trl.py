"""WattwiseCallback in TRL's SFTTrainer (a Trainer subclass): a tiny GPT-2 and a local tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from integrations.conftest import fake_device, require

transformers = require("transformers", "trl")
trl = require("trl", "trl")
datasets = require("datasets", "trl")
tokenizers = require("tokenizers", "trl")

from wattwise.integrations.hf import WattwiseCallback  # noqa: E402

WORDS = ("the", "cat", "sat", "on", "mat", "a", "dog", "ran")
TEXTS = ["the cat sat on the mat", "a dog ran on the mat"] * 4  # 6 words + EOS: 7 tokens each


def word_tokenizer() -> Any:
    """A word-level tokenizer built here (no download)."""
    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="[PAD]", eos_token="[EOS]", unk_token="[UNK]"
    )


def test_sft_trainer_run_is_measured(tmp_path: Path) -> None:
    tok = word_tokenizer()
    cfg = transformers.GPT2Config(
        n_layer=1, n_embd=32, n_head=2, vocab_size=len(tok), n_positions=32,
        bos_token_id=2, eos_token_id=2, pad_token_id=0,
    )  # fmt: skip
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "sft"), use_cpu=True, report_to=[], max_steps=2,
        per_device_train_batch_size=4, logging_steps=1, save_strategy="no", disable_tqdm=True,
        max_length=16,
    )  # fmt: skip
    cb = WattwiseCallback(store=str(tmp_path / "runs.db"), readers=[fake_device()])
    tr = trl.SFTTrainer(
        model=transformers.GPT2LMHeadModel(cfg), args=args, processing_class=tok,
        train_dataset=datasets.Dataset.from_dict({"text": TEXTS}), callbacks=[cb],
    )  # fmt: skip
    tr.train()
    res = cb.result
    assert res is not None and res.status == "finished"
    assert res.counts == {"steps": 2, "samples": 8, "tokens": 8 * 7}
    assert sorted(w.name for w in res.windows) == ["epoch 0", "train"]
    logged = [g for g in tr.state.log_history if "loss" in g]
    assert len(logged) == 2 and all(g["energy_j"] > 0 and g["j_per_token"] > 0 for g in logged)
    assert logged[-1]["num_tokens"] == res.counts["tokens"]  # TRL's own count agrees
