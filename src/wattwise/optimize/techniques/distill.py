"""Knowledge distillation into the built-in student architecture, against the same student
trained from scratch on the same energy (the control is a variant too)."""

from __future__ import annotations

from collections.abc import Iterator

from wattwise.optimize.registry import (
    Built,
    Context,
    Technique,
    builtin_model,
    register,
    training_budget,
)
from wattwise.optimize.types import Comparison, Variant


def _distill(ctx: Context) -> Iterator[Built | Comparison]:
    from wattwise.optimize.distill import distill_vs_scratch

    s = ctx.subject
    res = distill_vs_scratch(
        s.model,
        s.builtin.spec.student,
        s.train_ids,
        s.heldout_ids,
        ctx.tracker,
        time_s=ctx.share_s("distill"),
        eval_tokens=s.eval_tokens,
        say=ctx.say,
        **ctx.train_kw(),
    )
    yield Built(
        Variant(
            "distilled",
            ["distill"],
            optimisation_energy_j=res.distill_energy_j,
            optimisation_s=res.distill_s,
        ),
        res.distilled,
    )
    yield Built(
        Variant(
            "student-scratch",
            ["scratch-control"],
            optimisation_energy_j=res.scratch_energy_j,
            optimisation_s=res.scratch_s,
            notes=["control: the student architecture trained from scratch on the same energy"],
        ),
        res.scratch,
    )
    yield res.comparison


register(
    Technique(
        "distill",
        _distill,
        "distil the model into a smaller student; control: the student from scratch",
        order=60,
        needs=(
            builtin_model("distillation trains the built-in student architecture"),
            training_budget("distill"),  # the control gets the same *energy*, at most this time
        ),
        budget={"distill": 0.25},
    )
)
