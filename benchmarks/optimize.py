"""Benchmark: the full optimisation lab on the built-in model, and the teacher check.

Run from the repository root (CPU, 1 torch thread; the first run trains and caches the
built-in model, ~3-5 min):

    PYTHONPATH=src python benchmarks/optimize.py --budget-s 120 --rounds 5 \
        --out benchmarks/optimize-result.json --plot benchmarks/optimize-frontier.svg
    PYTHONPATH=src python benchmarks/optimize.py --teacher-check   # student trained as long

Results and how to read them: benchmarks/optimize.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def teacher_check() -> dict[str, float]:
    """Train the distillation student architecture from scratch for as long as the teacher
    (built-in model) trained, and compare held-out perplexities."""
    import torch

    from wattwise.optimize.builtin import get_builtin
    from wattwise.optimize.model import TinyLM
    from wattwise.optimize.train import logits_of, perplexity, train_lm

    torch.set_num_threads(1)
    b = get_builtin("default", progress=lambda m: print(m, file=sys.stderr))
    seconds = float(b.meta["train_s"])
    torch.manual_seed(0)
    student = TinyLM(b.spec.student)
    rep = train_lm(
        student, b.train_ids, time_s=seconds, batch=b.spec.batch, seq=b.spec.seq, lr=b.spec.lr
    )
    kw = {"seq": b.spec.seq, "max_tokens": b.spec.eval_tokens}
    return {
        "teacher_train_s": seconds,
        "teacher_steps": float(b.meta["train_steps"]),
        "teacher_perplexity": perplexity(logits_of(b.model), b.heldout_ids, **kw),
        "student_steps": float(rep.steps),
        "student_perplexity": perplexity(logits_of(student), b.heldout_ids, **kw),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-s", type=float, default=120.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--techniques", default="all")
    ap.add_argument("--out", default="benchmarks/optimize-result.json")
    ap.add_argument("--plot", default="benchmarks/optimize-frontier.svg")
    ap.add_argument("--teacher-check", action="store_true")
    args = ap.parse_args()
    if args.teacher_check:
        print(json.dumps(teacher_check(), indent=2))
        return 0
    from wattwise.optimize.cli import render
    from wattwise.optimize.lab import run_lab
    from wattwise.optimize.plot import frontier_svg

    t0 = time.perf_counter()
    res = run_lab(
        "builtin",
        techniques=args.techniques,
        budget_s=args.budget_s,
        rounds=args.rounds,
        progress=lambda m: print(m, file=sys.stderr, flush=True),
    )
    doc = res.to_dict()
    doc["wall_s"] = time.perf_counter() - t0
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
    with open(args.plot, "w", encoding="utf-8") as f:
        f.write(frontier_svg(doc))
    print(render(doc))
    print(f"lab wall time {doc['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
