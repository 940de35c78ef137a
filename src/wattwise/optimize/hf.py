"""Loading a user's Hugging Face causal LM from a local directory (never from the network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wattwise.errors import ConfigError
from wattwise.optimize._deps import require_transformers


def load_hf(path: str) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of the causal LM in directory ``path`` (``local_files_only``).

    Raises :class:`ConfigError` (one line) for a missing directory, a directory without a
    model config, a model that is not a causal LM, or a missing tokenizer.
    """
    p = Path(path)
    if not p.is_dir():
        raise ConfigError(
            f"--model {path}: no such directory; give 'builtin' or a local Hugging Face model "
            "directory (with config.json and weights)"
        )
    require_transformers("a Hugging Face model")
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        cfg = AutoConfig.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:  # transformers raises OSError / ValueError / KeyError here
        raise ConfigError(
            f"{path} is not a Hugging Face model directory (no usable config.json: "
            f"{type(exc).__name__}); give 'builtin' or a causal LM saved with save_pretrained()"
        ) from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:
        raise ConfigError(
            f"{path} holds a '{getattr(cfg, 'model_type', '?')}' model that is not a causal "
            f"language model ({type(exc).__name__}); the lab needs a text-generation model"
        ) from exc
    try:
        tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:
        raise ConfigError(
            f"{path} has no tokenizer the lab can load ({type(exc).__name__}); save one beside "
            "the model with tokenizer.save_pretrained()"
        ) from exc
    model.eval()  # type: ignore[no-untyped-call]
    return model, tok
