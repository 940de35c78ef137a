"""The model under study in the lab (the built-in model, a Hugging Face directory or an
``nn.Module``) with its generate function, tokenizer, token streams and measurement settings.
Nothing heavy is imported until :func:`load_subject` runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wattwise.errors import ConfigError

Say = Callable[[str], None]


@dataclass
class Subject:
    """The model under study and what the lab needs to run it (lengths in tokens, seconds)."""

    label: str
    model: Any
    gen: Any
    tokenizer: Any
    train_ids: Any
    heldout_ids: Any
    seq: int
    prompt_len: int
    new_tokens: int
    eval_tokens: int
    min_window_s: float
    rounds: int
    batch_size: int
    builtin: Any = None  # wattwise.optimize.builtin.Builtin for the built-in model


def load_subject(
    model: Any,
    size: str,
    say: Say,
    generate_fn: Any,
    tokenizer: Any,
    eval_text: str | None,
    retrain: bool = False,
) -> Subject:
    """The :class:`Subject` for ``run_lab``'s ``model`` argument (see its docstring)."""
    import torch

    from wattwise.optimize.builtin import SPECS, encode_split, get_builtin
    from wattwise.optimize.corpus import load_split
    from wattwise.optimize.measure import builtin_generate
    from wattwise.optimize.tokenizer import encode_long

    if isinstance(model, str) and model == "builtin":
        b = get_builtin(size, progress=say, retrain=retrain)
        sp = b.spec
        return Subject(
            f"builtin:{sp.name}",
            b.model,
            builtin_generate,
            b.tokenizer,
            b.train_ids,
            b.heldout_ids,
            sp.seq,
            sp.prompt_len,
            sp.new_tokens,
            sp.eval_tokens,
            sp.min_window_s,
            sp.rounds,
            sp.batch_size,
            b,
        )
    sp = SPECS[size] if size in SPECS else SPECS["default"]
    label, module, tok, gen = _user_model(model, generate_fn, tokenizer)
    module.eval()
    split = load_split("kjv", max_chars=sp.max_chars or 400_000)
    if eval_text is not None:
        held = torch.tensor(encode_long(tok, eval_text), dtype=torch.long)
        train = encode_split(tok, split)[0]
    else:
        train, held = encode_split(tok, split)
    if held.numel() < sp.seq + 2:
        raise ConfigError("the evaluation text is too short to measure perplexity")
    return Subject(
        label,
        module,
        gen,
        tok,
        train,
        held,
        sp.seq,
        sp.prompt_len,
        sp.new_tokens,
        sp.eval_tokens,
        sp.min_window_s,
        sp.rounds,
        sp.batch_size,
    )


def _user_model(model: Any, generate_fn: Any, tokenizer: Any) -> tuple[str, Any, Any, Any]:
    """(label, module, tokenizer, generate function) of a HF directory or an ``nn.Module``."""
    import torch

    from wattwise.optimize.measure import builtin_generate, hf_generate
    from wattwise.optimize.model import TinyLM
    from wattwise.optimize.tokenizer import HfTokenizer

    if isinstance(model, str):
        from wattwise.optimize.hf import load_hf

        hf_model, hf_tok = load_hf(model)
        return f"hf:{model}", hf_model, HfTokenizer(hf_tok), hf_generate
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(
            f"model must be 'builtin', a directory path or an nn.Module, not {model!r}"
        )
    if isinstance(model, TinyLM):
        gen = generate_fn or builtin_generate
    elif generate_fn is not None:
        gen = generate_fn
    elif callable(getattr(model, "generate", None)):
        gen = hf_generate
    else:
        raise ConfigError("a custom nn.Module needs generate_fn=(model, ids, n, on_step) -> ids")
    if tokenizer is None:
        raise ConfigError("a custom nn.Module needs tokenizer= (encode/decode/vocab_size)")
    tok = (
        tokenizer
        if hasattr(tokenizer, "encode") and hasattr(tokenizer, "decode")
        else HfTokenizer(tokenizer)
    )
    return f"module:{type(model).__name__}", model, tok, gen
