"""Speculative decoding of the built-in model with an n-gram draft (lossless, batch 1).

At batch 1 a decoding step of a small model is dominated by per-op dispatch, not by its matrix
products, so one forward pass over a handful of tokens costs little more than over one token.
Speculative decoding uses that: a cheap *draft* proposes up to ``k`` next tokens, the model
checks them all in one forward pass (with its key/value cache), keeps the longest prefix that
equals its own greedy choice, and adds its own next token. The output is the model's greedy
text (up to floating-point ties between equal logits), so quality is the model's own; only the
number of forward passes changes. Leviathan et al. 2023, "Fast Inference from Transformers via
Speculative Decoding"; the n-gram draft is in the spirit of prompt-lookup decoding.

The draft here is a table of the most frequent next token after each token pair (else after
each token) of the training text: built in well under a second, no training, no model. Batched
generation (rows accept different numbers of tokens) falls back to plain greedy decoding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from wattwise.optimize.model import StepHook, TinyLM, generate
from wattwise.optimize.types import TechniqueSkipped


def _most_frequent_next(keys: torch.Tensor, nxt: torch.Tensor, vocab: int) -> dict[int, int]:
    """key -> the most frequent following token (ties: the smaller token id)."""
    pair = keys * vocab + nxt
    uniq, counts = torch.unique(pair, return_counts=True)
    k = uniq // vocab
    n = uniq % vocab
    order = torch.argsort(k * (int(counts.max()) + 1) - counts, stable=True)
    k, n = k[order], n[order]
    first = torch.ones_like(k, dtype=torch.bool)
    first[1:] = k[1:] != k[:-1]
    return dict(zip(k[first].tolist(), n[first].tolist(), strict=True))


@dataclass
class NgramDraft:
    """Most frequent next token after a token pair (``trigram``) or a token (``bigram``)."""

    vocab: int
    trigram: dict[int, int]
    bigram: dict[int, int]

    @classmethod
    def build(cls, ids: torch.Tensor, vocab: int) -> NgramDraft:
        """Count the 1-D token stream ``ids`` (the model's training text)."""
        ids = ids.to(torch.long)
        if ids.numel() < 3:
            raise TechniqueSkipped("speculative decoding needs training text for its draft")
        tri = _most_frequent_next(ids[:-2] * vocab + ids[1:-1], ids[2:], vocab * vocab)
        bi = _most_frequent_next(ids[:-1], ids[1:], vocab)
        return cls(vocab, tri, bi)

    def propose(self, tokens: list[int], k: int) -> list[int]:
        """Up to ``k`` draft tokens continuing ``tokens`` (fewer where the table has no entry)."""
        out: list[int] = []
        a, b = tokens[-2], tokens[-1]
        for _ in range(k):
            nxt = self.trigram.get(a * self.vocab + b)
            if nxt is None:
                nxt = self.bigram.get(b)
            if nxt is None:
                break
            out.append(nxt)
            a, b = b, nxt
        return out

    def entries(self) -> int:
        return len(self.trigram) + len(self.bigram)


@torch.inference_mode()
def speculative_generate(
    model: nn.Module,
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    draft: NgramDraft,
    k: int = 4,
) -> torch.Tensor:
    """Greedy decoding of ``new_tokens`` after ``prompt`` [1, T], verifying up to ``k`` draft
    tokens per forward pass. ``on_step`` gets one call per generated token: a verification
    pass that yields ``n`` tokens reports its wall time divided by ``n`` ``n`` times. Batches of
    more than one row use plain :func:`~wattwise.optimize.model.generate`."""
    if not isinstance(model, TinyLM):
        raise TechniqueSkipped("speculative decoding here needs the built-in model's cache")
    if prompt.shape[0] != 1 or prompt.shape[1] < 2:
        return generate(model, prompt, new_tokens, on_step)
    if prompt.shape[1] + new_tokens > model.cfg.max_seq:
        raise ValueError("prompt + new tokens exceed the model's context")
    tokens: list[int] = prompt[0].tolist()
    t0 = time.perf_counter()
    logits, cache = model.step(prompt, None, 0, last_only=True)
    nxt = int(logits[0, -1].argmax())
    pos = prompt.shape[1]  # position of ``nxt``
    emitted = 0
    pending = [nxt]  # tokens produced by the last forward pass, not yet reported
    while True:
        for tok in pending:
            tokens.append(tok)
            emitted += 1
        if on_step is not None:
            t1 = time.perf_counter()
            for _ in pending:
                on_step((t1 - t0) / len(pending))
            t0 = t1
        if emitted >= new_tokens:
            break
        drafts = draft.propose(tokens, min(k, new_tokens - emitted - 1))
        inp = torch.tensor([[tokens[-1], *drafts]], dtype=prompt.dtype)
        logits, cache = model.step(inp, cache, pos)
        pred = logits[0].argmax(-1).tolist()  # pred[i]: the model's token after inp[i]
        m = 0
        while m < len(drafts) and drafts[m] == pred[m]:
            m += 1
        if m < len(drafts):  # drop the cache entries of rejected draft tokens
            cache = [None if kv is None else kv[:, :, :, : pos + 1 + m] for kv in cache]
        pos += 1 + m
        pending = [*drafts[:m], pred[m]]
    out = torch.tensor([tokens[: prompt.shape[1] + new_tokens]], dtype=prompt.dtype)
    return out
