"""Knowledge distillation against a from-scratch control on the same energy. Trains on the
caller's thread; energies come from windows of the lab's tracker (estimated where the machine
has no energy counter).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from wattwise.optimize.model import LMConfig, TinyLM
from wattwise.optimize.train import logits_of, perplexity, timed_window, train_lm
from wattwise.optimize.types import Comparison

Say = Callable[[str], None]


@dataclass
class DistillResult:
    distilled: TinyLM
    scratch: TinyLM
    distill_energy_j: float
    distill_s: float
    scratch_energy_j: float
    scratch_s: float
    comparison: Comparison


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
    rep_d, e_d, s_d = timed_window(
        tracker,
        "optimise/distill",
        lambda: train_lm(
            student, train_ids, time_s=time_s, batch=batch, seq=seq, teacher=teacher, seed=3
        ),
    )
    scratch = copy.deepcopy(init)
    e0 = tracker.energy_so_far_j()
    say("training the same student from scratch on the same energy")
    rep_s, e_s, s_s = timed_window(
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
