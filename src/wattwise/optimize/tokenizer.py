"""Tokenizers of the built-in model: a byte-level BPE trained locally (``tokenizers``) or raw
bytes (no dependency; used by the tiny test models).

Perplexity is per token of the tokenizer in use, so it is only compared between variants that
share a tokenizer (every variant of one lab run does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wattwise.optimize._deps import require_transformers


class TextTokenizer(Protocol):
    """What the lab needs of a tokenizer."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


@dataclass(frozen=True)
class ByteTokenizer:
    """One token per UTF-8 byte (vocabulary 256)."""

    @property
    def vocab_size(self) -> int:
        return 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(i for i in ids if 0 <= i < 256).decode("utf-8", errors="replace")

    def to_json(self) -> str:
        return json.dumps({"kind": "bytes"})


class BpeTokenizer:
    """A byte-level BPE (Hugging Face ``tokenizers``), trained on the pre-training text."""

    def __init__(self, tok: Any) -> None:
        self._tok = tok

    @classmethod
    def train(cls, text: str, vocab_size: int = 2048) -> BpeTokenizer:
        """Train a byte-level BPE of ``vocab_size`` tokens on ``text`` (1–3 s for 4 MB)."""
        require_transformers("the BPE tokenizer")
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=[],
            show_progress=False,
        )
        chunks = [text[i : i + 100_000] for i in range(0, len(text), 100_000)]
        tok.train_from_iterator(chunks, trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path: Path) -> BpeTokenizer:
        require_transformers("the BPE tokenizer")
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))

    def save(self, path: Path) -> None:
        self._tok.save(str(path))

    @property
    def backend(self) -> Any:
        """The ``tokenizers.Tokenizer`` object."""
        return self._tok

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text).ids)

    def encode_long(self, text: str, chunk_chars: int = 50_000) -> list[int]:
        """Encode a long text in line-aligned chunks, in parallel (tokenizers' own threads)."""
        chunks: list[str] = []
        start = 0
        while start < len(text):
            end = min(len(text), start + chunk_chars)
            nl = text.rfind("\n", start, end)
            end = nl + 1 if end < len(text) and nl > start else end
            chunks.append(text[start:end])
            start = end
        ids: list[int] = []
        for enc in self._tok.encode_batch(chunks):
            ids.extend(enc.ids)
        return ids

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids))


class HfTokenizer:
    """A ``transformers`` tokenizer of a user model, seen through :class:`TextTokenizer`."""

    def __init__(self, tok: Any) -> None:
        self._tok = tok

    @property
    def vocab_size(self) -> int:
        return len(self._tok)

    def encode(self, text: str) -> list[int]:
        return list(self._tok(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids))


def encode_long(tok: TextTokenizer, text: str) -> list[int]:
    """Encode a long text (chunked and parallel where the tokenizer supports it)."""
    if isinstance(tok, BpeTokenizer):
        return tok.encode_long(text)
    if isinstance(tok, ByteTokenizer):
        return tok.encode(text)
    out: list[int] = []
    lines = text.splitlines(keepends=True)
    for i in range(0, len(lines), 200):
        out.extend(tok.encode("".join(lines[i : i + 200])))
    return out
