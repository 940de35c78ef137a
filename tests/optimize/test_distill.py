"""Distillation yields a smaller student; transfer learning compares two real training runs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from wattwise.optimize.builtin import SPECS, get_builtin  # noqa: E402
from wattwise.optimize.distill import distill_vs_scratch  # noqa: E402
from wattwise.optimize.model import count_params, generate  # noqa: E402
from wattwise.optimize.transfer import transfer_vs_scratch  # noqa: E402
from wattwise.tracker.core import Tracker  # noqa: E402


def test_builtin_ships_and_distils_into_a_smaller_student() -> None:
    first = get_builtin("tiny")  # the shipped weights: nothing trained here
    again = get_builtin("tiny")
    assert first.source == again.source == "shipped" and first.from_cache
    assert torch.equal(first.model.embed.weight, again.model.embed.weight)
    assert first.meta["train_energy_j"] >= 0 and first.meta["heldout_perplexity"] < 256
    tracker = Tracker("t", interval_s=0.5).start()
    res = distill_vs_scratch(
        first.model,
        SPECS["tiny"].student,
        first.train_ids,
        first.heldout_ids,
        tracker,
        time_s=0.5,
        eval_tokens=256,
        batch=4,
        seq=16,
        say=lambda _m: None,
    )
    tracker.stop()
    assert count_params(res.distilled) < count_params(first.model)
    assert res.distilled.cfg.d_model < first.model.cfg.d_model
    assert generate(res.distilled, first.heldout_ids[:8].view(1, -1), 4).shape == (1, 12)
    rows = {r["run"]: r for r in res.comparison.rows}
    assert rows["distilled"]["steps"] > 0 and rows["from scratch"]["steps"] > 0

    tracker = Tracker("t2", interval_s=0.5).start()
    comp = transfer_vs_scratch(
        first.model,
        first,
        tracker,
        scratch_s=0.5,
        finetune_cap_s=0.5,
        batch=4,
        seq=16,
        say=lambda _m: None,
    )
    tracker.stop()
    runs = {r["run"]: r for r in comp.rows}
    assert set(runs) == {"from scratch", "fine-tuned"}
    assert runs["from scratch"]["energy_j"] > 0 and runs["from scratch"]["steps"] > 0
