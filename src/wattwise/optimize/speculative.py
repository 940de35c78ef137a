"""Speculative decoding of the built-in model with a lookup / n-gram draft (lossless, batch 1).

At batch 1 a decoding step of a small model is dominated by per-op dispatch, not by its matrix
products, so one forward pass over a handful of tokens costs little more than over one token.
Speculative decoding uses that: a cheap *draft* proposes up to ``k`` next tokens, the model
checks them all in one forward pass (with its key/value cache), keeps the longest prefix that
equals its own greedy choice, and adds its own next token. The output is the model's greedy
text (up to floating-point ties between equal logits), so quality is the model's own; only the
number of forward passes changes. Leviathan et al. 2023, "Fast Inference from Transformers via
Speculative Decoding".

The draft, no trained draft model:

1. **Context lookup** (Saxena 2023, "prompt lookup decoding"): the last 3 (else 2) tokens are
   looked up among the tokens already in the context (prompt and generated text); the tokens
   that followed their latest earlier occurrence are proposed, extended periodically when the
   match runs into the present (greedy decoding of a small model loops: "and to the king of
   Israel, and to the king of Israel, ..."). An index updated per accepted token makes a
   lookup a dictionary access, not a scan.
2. Otherwise **n-gram tables**: the most frequent next token after each token pair (else each
   token). :meth:`NgramDraft.build` counts the training text;
   :meth:`NgramDraft.build_for_model` also runs the model once over a sample of it and counts
   the model's *own* greedy choices, which predict its greedy text better than the corpus does
   (those entries take precedence; the corpus fills the gaps).

Batched generation (rows accept different numbers of tokens) falls back to plain greedy
decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from wattwise.optimize.model import KVCache, StepHook, TinyLM, generate
from wattwise.optimize.types import TechniqueSkipped

#: Most draft tokens verified per forward pass by default (context lookups). At batch 1 on the
#: lab's CPU each extra position of a verification pass costs ~20 us (~5 % of a one-token step),
#: and a context lookup's draft was still right at its 10th token 27-40 % of the time.
DEFAULT_K = 10

#: Most draft tokens taken from the n-gram tables: on the lab's held-out prompts a table draft
#: was right at its 5th token only ~5 % of the time (break-even with the ~5 % per position),
#: at its 6th 1-3 %.
TABLE_K = 4

#: Orders (n) of the context lookup, tried longest first.
CONTEXT_ORDERS = (3, 2)

#: Training-text tokens the model is run over by :meth:`NgramDraft.build_for_model`.
MODEL_SAMPLE_TOKENS = 100_000


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


class ContextIndex:
    """The tokens of one sequence and, for each lookup order ``n``, where the tokens after the
    latest occurrence of every ``n``-gram start. Updated per appended token (O(orders))."""

    def __init__(
        self, vocab: int, tokens: Sequence[int] = (), orders: Sequence[int] = CONTEXT_ORDERS
    ) -> None:
        self.vocab = vocab
        self.orders = tuple(orders)
        self.tokens: list[int] = []
        self._next: list[dict[int, int]] = [{} for _ in self.orders]
        self.extend(tokens)

    def _key(self, end: int, n: int) -> int:
        key = 0
        for tok in self.tokens[end - n : end]:
            key = key * self.vocab + tok
        return key

    def extend(self, tokens: Sequence[int]) -> None:
        for tok in tokens:
            i = len(self.tokens)  # the n-grams ending before ``tok`` are followed by it
            for n, table in zip(self.orders, self._next, strict=True):
                if i >= n:
                    table[self._key(i, n)] = i
            self.tokens.append(tok)

    def lookup(self, k: int) -> list[int]:
        """Up to ``k`` tokens that followed the latest earlier occurrence of the longest
        matching suffix; the match is continued periodically past the present. [] if none."""
        ln = len(self.tokens)
        for n, table in zip(self.orders, self._next, strict=True):
            if ln < n:
                continue
            start = table.get(self._key(ln, n))
            if start is not None:
                ext = self.tokens[start:ln]  # period ln - start: repeat it
                period = len(ext)
                return [ext[i % period] for i in range(k)]
        return []


@dataclass
class NgramDraft:
    """Draft tokens: a context lookup (orders ``context_orders``; empty: none), then the most
    frequent next token after a token pair (``trigram``) or a token (``bigram``)."""

    vocab: int
    trigram: dict[int, int]
    bigram: dict[int, int]
    context_orders: tuple[int, ...] = field(default=CONTEXT_ORDERS)
    model_entries: int = 0
    table_k: int = TABLE_K

    @classmethod
    def build(cls, ids: torch.Tensor, vocab: int) -> NgramDraft:
        """Count the 1-D token stream ``ids`` (the model's training text)."""
        ids = ids.to(torch.long)
        if ids.numel() < 3:
            raise TechniqueSkipped("speculative decoding needs training text for its draft")
        tri = _most_frequent_next(ids[:-2] * vocab + ids[1:-1], ids[2:], vocab * vocab)
        bi = _most_frequent_next(ids[:-1], ids[1:], vocab)
        return cls(vocab, tri, bi)

    @classmethod
    @torch.inference_mode()
    def build_for_model(
        cls,
        model: nn.Module,
        ids: torch.Tensor,
        vocab: int,
        *,
        sample_tokens: int = MODEL_SAMPLE_TOKENS,
        seq: int | None = None,
        batch: int = 64,
    ) -> NgramDraft:
        """:meth:`build`, with the tables overridden by the model's own greedy next token
        after each token pair (token) of ``sample_tokens`` tokens of ``ids`` (windows of
        ``seq``, default the model's context, spread evenly over ``ids``; one forward pass per
        ``batch`` windows). Predictions with fewer than 3 tokens of context are left out."""
        draft = cls.build(ids, vocab)
        if not isinstance(model, TinyLM):
            raise TechniqueSkipped("the model-table draft runs the built-in model")
        ids = ids.to(torch.long)
        seq = min(seq or model.cfg.max_seq, model.cfg.max_seq, ids.numel())
        windows = max(1, min(sample_tokens // seq, ids.numel() // seq))
        stride = (ids.numel() - seq) // windows if windows > 1 else 0
        x = torch.stack([ids[i * stride : i * stride + seq] for i in range(windows)])
        pred = torch.cat([model(x[i : i + batch]).argmax(-1) for i in range(0, windows, batch)])
        skip = 3  # pred[:, j] continues x[:, : j + 1]; keep j >= skip
        a, b, c = x[:, skip - 1 : -1], x[:, skip:], pred[:, skip:]
        if b.numel() == 0:
            return draft
        tri = _most_frequent_next(a.reshape(-1) * vocab + b.reshape(-1), c.reshape(-1), vocab**2)
        bi = _most_frequent_next(b.reshape(-1), c.reshape(-1), vocab)
        draft.model_entries = len(tri) + len(bi)
        draft.trigram.update(tri)  # the model's own choice wins over the corpus's
        draft.bigram.update(bi)
        return draft

    def context(self, tokens: Sequence[int]) -> ContextIndex:
        """A context index over ``tokens`` for :meth:`propose` (kept up to date by the caller)."""
        return ContextIndex(self.vocab, tokens, self.context_orders)

    def propose(self, tokens: list[int], k: int, context: ContextIndex | None = None) -> list[int]:
        """Up to ``k`` draft tokens continuing ``tokens``: ``k`` from a context lookup, else at
        most ``table_k`` from the tables (fewer where they have no entry). ``context``: an
        index of exactly ``tokens`` (built here when not given)."""
        if k <= 0:
            return []
        if self.context_orders:
            ctx = context if context is not None else self.context(tokens)
            out = ctx.lookup(k)
            if out:
                return out
        out = []
        a, b = tokens[-2], tokens[-1]
        for _ in range(min(k, self.table_k)):
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


@dataclass
class SpecStats:
    """Counts of one or more speculative generations: forward passes after the prefill,
    tokens they produced, draft tokens proposed and accepted."""

    passes: int = 0
    tokens: int = 0
    drafted: int = 0
    accepted: int = 0

    @property
    def tokens_per_pass(self) -> float:
        return self.tokens / self.passes if self.passes else float("nan")


@torch.inference_mode()
def speculative_generate(
    model: nn.Module,
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    draft: NgramDraft,
    k: int = DEFAULT_K,
    stats: SpecStats | None = None,
) -> torch.Tensor:
    """Greedy decoding of ``new_tokens`` after ``prompt`` [1, T], verifying up to ``k`` draft
    tokens per forward pass. ``on_step`` gets one call per generated token: a verification
    pass that yields ``n`` tokens reports its wall time divided by ``n`` ``n`` times. Batches of
    more than one row use plain :func:`~wattwise.optimize.model.generate`. ``stats``, if
    given, is incremented with the passes and accepted drafts of batch-1 calls."""
    if not isinstance(model, TinyLM):
        raise TechniqueSkipped("speculative decoding here needs the built-in model's cache")
    if prompt.shape[0] != 1 or prompt.shape[1] < 2:
        return generate(model, prompt, new_tokens, on_step)
    if prompt.shape[1] + new_tokens > model.cfg.max_seq:
        raise ValueError("prompt + new tokens exceed the model's context")
    cache: KVCache = []

    def prefill() -> int:
        nonlocal cache
        logits, cache = model.step(prompt, None, 0, last_only=True)
        return int(logits[0, -1].argmax())

    def verify(row: list[int], pos: int) -> list[int]:
        nonlocal cache
        # the cache holds exactly the tokens before pos: drop entries of rejected draft tokens
        cache = [kv if kv is None else kv[:, :, :, :pos] for kv in cache]
        logits, cache = model.step(torch.tensor([row], dtype=prompt.dtype), cache, pos)
        pred: list[int] = logits[0].argmax(-1).tolist()
        return pred

    return speculative_loop(prompt, new_tokens, on_step, draft, k, stats, prefill, verify)


def speculative_loop(
    prompt: torch.Tensor,
    new_tokens: int,
    on_step: StepHook | None,
    draft: NgramDraft,
    k: int,
    stats: SpecStats | None,
    prefill: Callable[[], int],
    verify: Callable[[list[int], int], list[int]],
) -> torch.Tensor:
    """The loop of speculative greedy decoding of one sequence [1, T]: ``prefill()`` gives the
    first new token; ``verify(row, pos)`` feeds ``row`` (the last token, then up to ``k`` draft
    tokens) at positions ``pos..`` and returns the model's greedy token after each (at least
    ``len(row)``); the longest draft prefix equal to them is accepted, then the model's own
    token. The caller keeps its cache consistent (entries past the accepted tokens must not be
    attended). See :func:`speculative_generate` for ``on_step`` and ``stats``."""
    ctx = draft.context(prompt[0].tolist())
    tokens = ctx.tokens  # the index's own list: one list, appended once per token
    t0 = time.perf_counter()
    pending = [prefill()]  # tokens of the last forward pass, not yet added
    pos = prompt.shape[1]  # position of the next token fed to the model
    emitted = 0
    while True:
        ctx.extend(pending)
        emitted += len(pending)
        if on_step is not None:
            t1 = time.perf_counter()
            share = (t1 - t0) / len(pending)
            for _ in pending:
                on_step(share)
            t0 = t1
        if emitted >= new_tokens:
            break
        drafts = draft.propose(tokens, min(k, new_tokens - emitted - 1), ctx)
        pred = verify([tokens[-1], *drafts], pos)  # pred[i]: the model's token after row[i]
        m = 0
        while m < len(drafts) and drafts[m] == pred[m]:
            m += 1
        pos += 1 + m
        pending = pred[: m + 1]  # the accepted drafts equal pred[:m]; then the model's token
        if stats is not None:
            stats.passes += 1
            stats.tokens += m + 1
            stats.drafted += len(drafts)
            stats.accepted += m
    return torch.tensor([tokens[: prompt.shape[1] + new_tokens]], dtype=prompt.dtype)
