"""Write a randomly initialised Llama-3-8B-shaped checkpoint (bf16) for the GPU serving check
of ``benchmarks/gpu_check.sh``: ``python benchmarks/serve_gpu_model.py DIR``.

Shape of Llama 3 8B (hidden 4096, 32 layers, 32 query / 8 key-value heads, MLP 14336, vocabulary
128256, RoPE theta 500000). The weights are random (no download, nothing to license): energy per
token depends on the shape and the serving engine, not on what the weights say. The tokenizer
is a word-level one over the same 128256 ids (``w0`` .. ``w128255``; unknown words become id 0),
so every generated id decodes to text and streams as a chunk; no end-of-sequence token, so every
request generates exactly its ``max_tokens``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

VOCAB = 128_256
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def main(out: Path, small: bool = False) -> None:
    """``small``: the same vocabulary and tokenizer over a 2-layer, 64-wide model (a CPU check
    of the checkpoint's layout: ``python benchmarks/serve_gpu_model.py DIR --small``)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
    )

    t0 = time.perf_counter()
    shape = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2) if small else dict(
                 hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=8)  # fmt: skip
    cfg = LlamaConfig(
        vocab_size=VOCAB, **shape, max_position_embeddings=8192,
        rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, torch_dtype="bfloat16",
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )  # fmt: skip
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.generation_config = GenerationConfig(do_sample=False, max_new_tokens=128)
    model.save_pretrained(out)
    vocab = {f"w{i}": i for i in range(VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, chat_template=TEMPLATE, unk_token="w0")
    fast.save_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {out}: {n / 1e9:.2f} B parameters in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), small="--small" in sys.argv[2:])
