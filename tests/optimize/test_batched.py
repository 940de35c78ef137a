"""Batched speculative decoding: every row of a batch verified in one compiled pass, each row
accepting its own number of draft tokens, gives each row's own greedy text."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from wattwise.optimize import compiled  # noqa: E402
from wattwise.optimize.batched import BatchedDecoder, batched_speculative_generate  # noqa: E402
from wattwise.optimize.model import LMConfig, TinyLM, generate  # noqa: E402
from wattwise.optimize.speculative import NgramDraft, SpecStats  # noqa: E402

CFG = LMConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_mlp=48, max_seq=40)
FAST = {"freezing": True, "cpp_wrapper": False, "max_autotune": False}


@pytest.mark.skipif(compiled.cxx_compiler() is None, reason="no C++ compiler for TorchInductor")
def test_rows_accept_different_counts_and_keep_their_own_greedy_text() -> None:
    torch.manual_seed(3)
    model = TinyLM(CFG).eval()
    # a draft from a random stream: rows accept 0..3 draft tokens per pass, not all alike
    draft = NgramDraft.build(torch.randint(0, CFG.vocab_size, (4000,)), CFG.vocab_size)
    prompts = torch.randint(0, CFG.vocab_size, (4, 6))
    prompts[1] = torch.tensor([7, 8, 9, 7, 8, 9])  # a repeating row: context lookups hit
    dec = BatchedDecoder(model, width=4, options=FAST)
    stats = SpecStats()
    out = batched_speculative_generate(dec, prompts, 30, None, draft, stats)
    assert out.shape == (4, 36)
    for r in range(4):
        assert torch.equal(out[r], generate(model, prompts[r : r + 1], 30)[0]), r
    assert stats.passes < 30 and stats.accepted > 0  # fewer passes than tokens
    assert dec.shapes == [(4, 4)]  # one graph for the whole generation
