"""The shipped public-domain corpora: the King James Bible (pre-training) and the Jargon File
(the "new domain" of the transfer-learning experiment). See ``corpus/README.md`` for sources.

Texts are split into train and held-out parts by blocks of lines (every ``holdout_every``-th
block is held out), so the held-out text comes from the whole book, not only from its end.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CORPORA = {"kjv": "kjv.txt.gz", "jargon": "jargon.txt.gz"}


@dataclass(frozen=True)
class Split:
    """A corpus split into training and held-out text."""

    name: str
    train: str
    heldout: str

    @property
    def sha256(self) -> str:
        """Hash of both parts (keys the cache of models trained on it)."""
        h = hashlib.sha256()
        h.update(self.train.encode())
        h.update(b"\0")
        h.update(self.heldout.encode())
        return h.hexdigest()


@lru_cache(maxsize=4)
def load_text(name: str) -> str:
    """The full text of the shipped corpus ``name`` (``kjv`` or ``jargon``)."""
    try:
        fname = CORPORA[name]
    except KeyError:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}") from None
    data = resources.files("wattwise.optimize").joinpath("corpus", fname).read_bytes()
    return gzip.decompress(data).decode("utf-8")


def split_text(
    name: str, text: str, *, block_lines: int = 40, holdout_every: int = 20, max_chars: int = 0
) -> Split:
    """Split ``text`` into train / held-out by blocks of ``block_lines`` lines.

    ``max_chars`` > 0 truncates the text first (tiny models for tests and quick looks).
    """
    if max_chars > 0:
        text = text[:max_chars]
    lines = text.splitlines(keepends=True)
    train: list[str] = []
    held: list[str] = []
    for i in range(0, len(lines), block_lines):
        block = "".join(lines[i : i + block_lines])
        (held if (i // block_lines) % holdout_every == holdout_every - 1 else train).append(block)
    return Split(name, "".join(train), "".join(held))


def load_split(name: str, *, max_chars: int = 0) -> Split:
    """The shipped corpus ``name`` split into train / held-out text."""
    return split_text(name, load_text(name), max_chars=max_chars)
