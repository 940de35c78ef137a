"""Transfer learning to a new domain (the shipped Jargon File): fine-tune the pre-trained
built-in model vs train the same architecture from scratch, to the same held-out perplexity.
Trains on the caller's thread; energies come from windows of the lab's tracker.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from wattwise.optimize.model import TinyLM
from wattwise.optimize.train import logits_of, perplexity, timed_window, train_lm
from wattwise.optimize.types import Comparison

Say = Callable[[str], None]


def transfer_vs_scratch(
    model: TinyLM,
    builtin: Any,
    tracker: Any,
    *,
    scratch_s: float,
    finetune_cap_s: float,
    batch: int,
    seq: int,
    say: Say,
) -> Comparison:
    """Transfer learning to the Jargon File: train the same architecture from scratch for
    ``scratch_s`` seconds, then fine-tune the pre-trained model until it reaches the same
    held-out perplexity (checked every 10 steps, the checks counted in its energy; capped at
    ``finetune_cap_s``). Returns the energy of each route to the same quality."""
    from wattwise.optimize.builtin import encode_split
    from wattwise.optimize.corpus import load_split

    spec = builtin.spec
    split = load_split("jargon", max_chars=spec.max_chars // 2 if spec.max_chars else 0)
    train, held = encode_split(builtin.tokenizer, split)
    eval_tokens = min(spec.eval_tokens, 4096)
    zero_shot = perplexity(logits_of(model), held, seq=seq, max_tokens=eval_tokens)
    torch.manual_seed(11)
    scratch = TinyLM(spec.config)
    say(f"transfer: training from scratch on the Jargon File for {scratch_s:.0f} s")
    rep_s, e_s, s_s = timed_window(
        tracker,
        "optimise/transfer-scratch",
        lambda: train_lm(scratch, train, time_s=scratch_s, batch=batch, seq=seq, seed=5),
    )
    target = perplexity(logits_of(scratch), held, seq=seq, max_tokens=eval_tokens)
    tuned = copy.deepcopy(model)
    check_tokens = min(eval_tokens, 1024)
    reached: list[float] = []

    def good_enough() -> bool:
        p = perplexity(logits_of(tuned), held, seq=seq, max_tokens=check_tokens)
        tuned.train()
        reached.append(p)
        return p <= target

    say("transfer: fine-tuning the built-in model until it matches")
    if good_enough():
        rep_f = None
        e_f = 0.0
        s_f = 0.0
    else:
        rep_f, e_f, s_f = timed_window(
            tracker,
            "optimise/transfer-finetune",
            lambda: train_lm(
                tuned,
                train,
                time_s=finetune_cap_s,
                batch=batch,
                seq=seq,
                lr=1e-3,
                warmup=10,
                seed=6,
                should_stop=good_enough,
                check_every=10,
            ),
        )
    p_f = perplexity(logits_of(tuned), held, seq=seq, max_tokens=eval_tokens)
    matched = p_f <= target * 1.02
    ratio = e_s / e_f if e_f > 0 else float("inf")
    concl = (
        f"fine-tuning reached the from-scratch perplexity ({target:.1f}) with "
        f"{e_f:.3g} J vs {e_s:.3g} J from scratch ({ratio:.1f}x less)"
        if matched
        else f"fine-tuning did not reach the from-scratch perplexity {target:.1f} within its cap "
        f"({p_f:.1f} after {e_f:.3g} J vs {e_s:.3g} J from scratch)"
    )
    pre = builtin.meta.get("train_energy_j")
    if isinstance(pre, int | float):
        concl += f"; the pre-training it builds on cost {pre:.3g} J once (amortised over uses)"
    return Comparison(
        name="transfer",
        description=(
            "new domain: the Jargon File. Fine-tune the pre-trained built-in model vs train the "
            "same architecture from scratch; zero-shot perplexity before fine-tuning "
            f"{zero_shot:.1f}"
        ),
        rows=[
            {
                "run": "from scratch",
                "energy_j": e_s,
                "seconds": s_s,
                "steps": rep_s.steps,
                "perplexity": target,
            },
            {
                "run": "fine-tuned",
                "energy_j": e_f,
                "seconds": s_f,
                "steps": rep_f.steps if rep_f is not None else 0,
                "perplexity": p_f,
            },
        ],
        conclusion=concl,
    )
