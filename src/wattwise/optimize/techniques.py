"""Techniques that train: pruning with a recovery fine-tune, knowledge distillation against a
from-scratch control on the same energy, and transfer learning against training from scratch
to the same held-out perplexity. Each trains on the caller's thread; energies come from windows
of the lab's tracker (estimated where the machine has no energy counter).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from wattwise.optimize.model import LMConfig, TinyLM
from wattwise.optimize.prune import prune_structured, prune_unstructured
from wattwise.optimize.train import logits_of, perplexity, train_lm
from wattwise.optimize.types import Comparison

Say = Callable[[str], None]


def unstructured_with_recovery(
    model: nn.Module, data: torch.Tensor, amount: float, recover_s: float, *, batch: int, seq: int
) -> nn.Module:
    """Magnitude-prune ``amount`` of every linear layer, then fine-tune ``recover_s`` seconds
    with the pruned weights held at zero (0: no fine-tune)."""
    pruned, masks = prune_unstructured(model, amount)
    if recover_s > 0:
        train_lm(
            pruned,
            data,
            time_s=recover_s,
            batch=batch,
            seq=seq,
            lr=5e-4,
            warmup=10,
            masks=masks,
            seed=1,
        )
    return pruned


def structured_with_recovery(
    model: nn.Module,
    data: torch.Tensor,
    head_frac: float,
    mlp_frac: float,
    recover_s: float,
    *,
    batch: int,
    seq: int,
) -> TinyLM:
    """Remove heads / MLP channels, then fine-tune ``recover_s`` seconds (0: no fine-tune)."""
    pruned = prune_structured(model, head_frac, mlp_frac)
    if recover_s > 0:
        train_lm(pruned, data, time_s=recover_s, batch=batch, seq=seq, lr=1e-3, warmup=10, seed=2)
    return pruned


@dataclass
class DistillResult:
    distilled: TinyLM
    scratch: TinyLM
    distill_energy_j: float
    distill_s: float
    scratch_energy_j: float
    scratch_s: float
    comparison: Comparison


def _window_energy(tracker: Any, name: str, fn: Callable[[], Any]) -> tuple[Any, float, float]:
    t0 = time.perf_counter()
    with tracker.window(name) as w:
        out = fn()
    energy = w.result.energy.total_j if w.result is not None else float("nan")
    return out, energy, time.perf_counter() - t0


def distill_vs_scratch(
    teacher: nn.Module,
    student_cfg: LMConfig,
    train_ids: torch.Tensor,
    heldout_ids: torch.Tensor,
    tracker: Any,
    *,
    time_s: float,
    eval_tokens: int,
    batch: int,
    seq: int,
    say: Say,
) -> DistillResult:
    """Distil ``teacher`` into a fresh ``student_cfg`` model for ``time_s`` seconds, then train
    the same student from the same initialisation, from scratch, until it has used the same
    energy (or the distilled run's wall time, whichever comes first). Returns both students and
    the comparison.

    Fairness: same initialisation, data order (seed), learning rate and batch; both runs decay
    their learning rate over the same wall-time horizon (the control's schedule is not cut
    short); distillation mixes cross-entropy and the per-token KL to the teacher's
    temperature-2 distribution half and half (scaled by T², Hinton et al.). Each distillation
    step also runs the teacher forward, so it takes fewer steps for the same energy: that cost
    is part of what is compared."""
    torch.manual_seed(7)
    init = TinyLM(student_cfg)
    student = copy.deepcopy(init)
    say(f"distilling into a {student_cfg.d_model}-wide student for {time_s:.0f} s")
    rep_d, e_d, s_d = _window_energy(
        tracker,
        "optimise/distill",
        lambda: train_lm(
            student, train_ids, time_s=time_s, batch=batch, seq=seq, teacher=teacher, seed=3
        ),
    )
    scratch = copy.deepcopy(init)
    e0 = tracker.energy_so_far_j()
    say("training the same student from scratch on the same energy")
    rep_s, e_s, s_s = _window_energy(
        tracker,
        "optimise/student-scratch",
        lambda: train_lm(
            scratch,
            train_ids,
            time_s=s_d,
            batch=batch,
            seq=seq,
            seed=3,
            should_stop=lambda: tracker.energy_so_far_j() - e0 >= e_d,
            check_every=5,
        ),
    )
    p_d = perplexity(logits_of(student), heldout_ids, seq=seq, max_tokens=eval_tokens)
    p_s = perplexity(logits_of(scratch), heldout_ids, seq=seq, max_tokens=eval_tokens)
    better = "distillation" if p_d < p_s else "training from scratch"
    comp = Comparison(
        name="distillation",
        description=(
            "a student of the same architecture and initialisation, distilled from the baseline "
            "(teacher) vs trained from scratch until it used the same energy"
        ),
        rows=[
            {
                "run": "distilled",
                "energy_j": e_d,
                "seconds": s_d,
                "steps": rep_d.steps,
                "perplexity": p_d,
            },
            {
                "run": "from scratch",
                "energy_j": e_s,
                "seconds": s_s,
                "steps": rep_s.steps,
                "perplexity": p_s,
            },
        ],
        conclusion=(
            f"on the same energy {better} gave the better student "
            f"(perplexity {p_d:.1f} distilled vs {p_s:.1f} scratch); each distillation step also "
            "runs the teacher, so it takes fewer steps for the same energy"
        ),
    )
    return DistillResult(student, scratch, e_d, s_d, e_s, s_s, comp)


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
    rep_s, e_s, s_s = _window_energy(
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
        rep_f, e_f, s_f = _window_energy(
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
