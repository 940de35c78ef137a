"""The built-in model as a Hugging Face checkpoint that ``transformers serve`` can load: a
``LlamaForCausalLM`` directory (config, safetensors weights, generation config) with a fast
tokenizer and a chat template.

The built-in model (:func:`wattwise.optimize.builtin.get_builtin`) is Llama-style — RMSNorm,
SwiGLU MLP, no biases, tied embeddings — so its weights map one to one onto a ``LlamaConfig``
of the same shape: the fused q/k/v and gate/up projections are split into Llama's separate
ones, the norms and embeddings are copied. One part does not map: the built-in model adds a
learned absolute position table, while Llama rotates queries and keys (RoPE). The table is
dropped and RoPE applies instead, so the exported model has the same shape, parameter count
and arithmetic per token as the built-in one, but not the same text: its outputs differ from
the lab's model (``config.json``'s ``wattwise_export`` says so). That suits its purpose — a
real served model whose energy per token is measured under load — and no more.

The export is cached beside the model (``$XDG_CACHE_HOME/wattwise/models/serve-<model>-v1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Bump when the export's layout changes.
EXPORT_VERSION = "1"
#: Positions the exported config accepts (RoPE has no table; the built-in model trained on 64).
MAX_POSITIONS = 4096
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
NOTE = (
    "the built-in wattwise model mapped onto LlamaForCausalLM: same shape and weights; its "
    "learned absolute position table has no Llama counterpart and is dropped (RoPE applies "
    "instead), so the generated text differs from the built-in model's"
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character map, the alphabet of a byte-level BPE."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars = list(keep)
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, (chr(c) for c in chars), strict=True))


def byte_tokenizer_backend() -> Any:
    """A ``tokenizers.Tokenizer`` whose ids are raw UTF-8 byte values (the tiny model's
    :class:`~wattwise.optimize.tokenizer.ByteTokenizer`), as a byte-level BPE with no merges."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {ch: b for b, ch in _bytes_to_unicode().items()}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def llama_state_dict(model: Any) -> dict[str, Any]:
    """The built-in ``TinyLM``'s weights under ``LlamaForCausalLM``'s names (no position table)."""
    cfg = model.cfg
    sd = model.state_dict()
    hd = cfg.n_heads * cfg.head_dim
    out = {"model.embed_tokens.weight": sd["embed.weight"], "model.norm.weight": sd["norm.weight"],
           "lm_head.weight": sd["embed.weight"]}  # fmt: skip
    for i in range(cfg.n_layers):
        src, dst = f"blocks.{i}.", f"model.layers.{i}."
        q, k, v = sd[src + "attn.qkv.weight"].split(hd)
        gate, up = sd[src + "mlp.gate_up.weight"].chunk(2)
        out.update({
            dst + "self_attn.q_proj.weight": q, dst + "self_attn.k_proj.weight": k,
            dst + "self_attn.v_proj.weight": v,
            dst + "self_attn.o_proj.weight": sd[src + "attn.o.weight"],
            dst + "mlp.gate_proj.weight": gate, dst + "mlp.up_proj.weight": up,
            dst + "mlp.down_proj.weight": sd[src + "mlp.down.weight"],
            dst + "input_layernorm.weight": sd[src + "norm1.weight"],
            dst + "post_attention_layernorm.weight": sd[src + "norm2.weight"],
        })  # fmt: skip
    return {k: t.detach().clone().contiguous() for k, t in out.items()}


def _llama(model: Any, source: str) -> Any:
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    c = model.cfg
    if set(c.heads) != {c.n_heads} or set(c.mlp) != {c.d_mlp}:
        raise ValueError("a pruned built-in model (per-layer widths) has no Llama config")
    cfg = LlamaConfig(
        vocab_size=c.vocab_size, hidden_size=c.d_model, intermediate_size=c.d_mlp,
        num_hidden_layers=c.n_layers, num_attention_heads=c.n_heads,
        num_key_value_heads=c.n_heads, max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-5,
        tie_word_embeddings=True, hidden_act="silu", attention_bias=False, mlp_bias=False,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )  # fmt: skip
    cfg.wattwise_export = {"source": source, "version": EXPORT_VERSION, "note": NOTE}
    llama = LlamaForCausalLM(cfg)
    missing, unexpected = llama.load_state_dict(llama_state_dict(model), strict=False)
    if missing or unexpected:  # pragma: no cover - a mapping bug, caught by the tests
        raise ValueError(f"weight mapping incomplete: missing {missing}, unexpected {unexpected}")
    # No end-of-sequence token (the built-in vocabulary has none): a request generates exactly
    # its max_tokens, which keeps output lengths equal across configurations.
    llama.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        do_sample=False, max_new_tokens=64
    )
    return llama


def export_builtin(size: str = "default", *, progress: Any = None) -> Path:
    """The directory of the exported built-in model of ``size`` (built on first use, cached)."""
    import torch
    from transformers import PreTrainedTokenizerFast

    from wattwise.optimize.builtin import cache_root, get_builtin
    from wattwise.optimize.tokenizer import BpeTokenizer
    from wattwise.outputs import atomic_directory

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the lab and the audit train it: 3-4x faster on a busy 2-core VM
    try:
        b = get_builtin(size, progress=progress)
    finally:
        torch.set_num_threads(threads)
    target = cache_root() / f"serve-{b.cache_dir.name}-v{EXPORT_VERSION}"
    if (target / "config.json").is_file():
        return target
    bpe = isinstance(b.tokenizer, BpeTokenizer)
    backend = b.tokenizer.backend if bpe else byte_tokenizer_backend()  # type: ignore[attr-defined]
    tok = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend, chat_template=CHAT_TEMPLATE
    )
    llama = _llama(b.model, f"wattwise built-in model '{b.spec.name}' ({b.cache_dir.name})")
    with atomic_directory(target) as fill:
        llama.save_pretrained(fill)
        tok.save_pretrained(fill)
        info = {"source": b.cache_dir.name, "note": NOTE, "meta": b.meta}
        (fill / "wattwise-export.json").write_text(json.dumps(info, indent=2), "utf-8")
    return target
