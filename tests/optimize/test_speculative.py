"""Speculative decoding: the context-lookup draft, the model-table draft, losslessness."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import torch

from wattwise.optimize.model import LMConfig, TinyLM, generate
from wattwise.optimize.speculative import (
    ContextIndex,
    NgramDraft,
    SpecStats,
    speculative_generate,
)

CFG = LMConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_mlp=48, max_seq=40)


def test_context_lookup_takes_the_latest_longest_match_and_continues_periodically() -> None:
    ctx = ContextIndex(100, [5, 6, 7, 8, 1, 6, 7, 9, 2, 6, 7])
    # "6 7" occurred twice before the end; the latest (followed by 9, 2) wins
    assert ctx.lookup(2) == [9, 2]
    # the match runs into the present: the period "9 2 6 7" repeats
    assert ctx.lookup(6) == [9, 2, 6, 7, 9, 2]
    # a 3-token match beats a 2-token one
    ctx = ContextIndex(100, [1, 6, 7, 3, 5, 6, 7, 4, 1, 6, 7])
    assert ctx.lookup(1) == [3]
    ctx.extend([11])  # "6 7 11": no earlier "7 11" or "6 7 11"
    assert ctx.lookup(3) == []
    assert ContextIndex(100, [4]).lookup(3) == []


def test_propose_prefers_the_context_and_caps_table_drafts() -> None:
    draft = NgramDraft(10, trigram={1 * 10 + 2: 3, 2 * 10 + 3: 1, 3 * 10 + 1: 2}, bigram={})
    # no earlier "x 2" in the context: the table chain, at most table_k tokens
    assert draft.propose([1, 2], 8) == [3, 1, 2, 3][: draft.table_k]
    # the context has "4 2" followed by 9: the lookup wins over the table's 3
    assert draft.propose([4, 2, 9, 4, 2], 3) == [9, 4, 2]
    no_ctx = NgramDraft(10, draft.trigram, {}, context_orders=())
    assert no_ctx.propose([4, 2, 9, 4, 2], 2) == []  # "4 2" is not in the table
    assert draft.propose([1, 2], 0) == []


def test_model_table_holds_the_models_own_greedy_choices() -> None:
    torch.manual_seed(3)
    model = TinyLM(CFG).eval()
    text = torch.randint(0, CFG.vocab_size, (2000,))
    corpus = NgramDraft.build(text, CFG.vocab_size)
    draft = NgramDraft.build_for_model(model, text, CFG.vocab_size, sample_tokens=800, seq=40)
    assert draft.model_entries > 0
    # recompute the model's choices over the same windows: every model-table entry is one of
    # the model's greedy next tokens after that pair
    windows = 800 // 40
    stride = (text.numel() - 40) // windows
    x = torch.stack([text[i * stride : i * stride + 40] for i in range(windows)])
    with torch.inference_mode():
        pred = model(x).argmax(-1)
    seen: dict[int, set[int]] = {}
    for row, prow in zip(x.tolist(), pred.tolist(), strict=True):
        for j in range(3, 40):
            seen.setdefault(row[j - 1] * CFG.vocab_size + row[j], set()).add(prow[j])
    assert seen
    for key, choices in seen.items():
        assert draft.trigram[key] in choices
    # pairs the sample did not cover keep the corpus's entries
    rest = [k for k in corpus.trigram if k not in seen]
    assert rest and all(draft.trigram[k] == corpus.trigram[k] for k in rest)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lookup_draft_decoding_is_the_greedy_text(seed: int) -> None:
    torch.manual_seed(seed)
    model = TinyLM(CFG).eval()
    text = torch.randint(0, CFG.vocab_size, (1000,))
    draft = NgramDraft.build_for_model(model, text, CFG.vocab_size, sample_tokens=400)
    # prompts with repeats, so the context lookup proposes (and long verification passes run)
    pattern = torch.randint(0, CFG.vocab_size, (4,))
    prompts = [pattern.repeat(3), torch.randint(0, CFG.vocab_size, (8,)), text[100:110]]
    stats = SpecStats()
    for p in prompts:
        prompt = p.view(1, -1)
        n = CFG.max_seq - prompt.shape[1]
        steps: list[float] = []
        out = speculative_generate(model, prompt, n, steps.append, draft, stats=stats)
        assert torch.equal(out, generate(model, prompt, n))
        assert len(steps) == n
    assert stats.drafted > 0
    assert stats.tokens == sum(CFG.max_seq - p.numel() - 1 for p in prompts)
    assert stats.passes <= stats.tokens and stats.accepted == stats.tokens - stats.passes


def test_a_looping_model_is_drafted_by_the_context_in_long_passes() -> None:
    """With the blocks' output projections and position embeddings zeroed, the model's greedy
    choice is the token it just read (tied embeddings: a token's own logit is its squared norm),
    so its text loops; the context lookup drafts the loop and whole drafts are accepted."""
    torch.manual_seed(6)
    model = TinyLM(CFG).eval()
    with torch.no_grad():
        model.pos.weight.zero_()
        for blk in model.layers():
            blk.attn.o.weight.zero_()
            blk.mlp.down.weight.zero_()
    prompt = torch.tensor([[3, 9, 4, 4]])
    n = CFG.max_seq - prompt.shape[1]
    greedy = generate(model, prompt, n)
    assert greedy[0, 4:].eq(4).all()  # the premise: it repeats its last token
    stats = SpecStats()
    draft = NgramDraft(CFG.vocab_size, {}, {})  # no tables: every draft is a context lookup
    out = speculative_generate(model, prompt, n, None, draft, k=8, stats=stats)
    assert torch.equal(out, greedy)
    assert stats.accepted == stats.drafted > 0
    assert stats.passes == -(-stats.tokens // 9)  # 9 tokens per pass (8 drafts + 1)
