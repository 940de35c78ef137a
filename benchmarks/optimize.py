"""Benchmark: the full optimisation lab on the built-in model, and the teacher check.

Run from the repository root (CPU, 1 torch thread; the first run trains and caches the
built-in model, ~3-5 min):

    PYTHONPATH=src python benchmarks/optimize.py --budget-s 120 --rounds 5 \
        --out benchmarks/optimize-result.json --plot benchmarks/optimize-frontier.svg
    PYTHONPATH=src python benchmarks/optimize.py --teacher-check   # student, same CPU time
    PYTHONPATH=src python benchmarks/optimize.py --linear-check    # fp32 vs int8 per layer

Results and how to read them: benchmarks/optimize.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def teacher_check() -> dict[str, float]:
    """Train the distillation student architecture from scratch on the same CPU time as the
    teacher (built-in model) trained, and compare held-out perplexities.

    Same compute, not same wall time: on a shared machine wall time depends on other jobs.
    The student's step count is set from its CPU time per step (measured on a throw-away copy)
    so that its run uses the teacher's training CPU seconds, with the same cosine schedule over
    those steps as the teacher. Both CPU times are reported.
    """
    import copy
    import resource

    import torch

    from wattwise.optimize.builtin import get_builtin
    from wattwise.optimize.model import TinyLM, count_params
    from wattwise.optimize.train import logits_of, perplexity, train_lm

    def cpu_s() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    torch.set_num_threads(1)
    b = get_builtin("default", progress=lambda m: print(m, file=sys.stderr))
    teacher_cpu_s = float(b.meta["train_cpu_s"])
    sp = b.spec
    torch.manual_seed(0)
    student = TinyLM(sp.student)
    probe = copy.deepcopy(student)
    train_lm(probe, b.train_ids, steps=10, batch=sp.batch, seq=sp.seq, lr=sp.lr)  # warm-up
    c0 = cpu_s()
    train_lm(probe, b.train_ids, steps=40, batch=sp.batch, seq=sp.seq, lr=sp.lr)
    steps = int(teacher_cpu_s / ((cpu_s() - c0) / 40))
    print(f"student: {steps} steps for {teacher_cpu_s:.0f} CPU-s", file=sys.stderr)
    c0 = cpu_s()
    rep = train_lm(student, b.train_ids, steps=steps, batch=sp.batch, seq=sp.seq, lr=sp.lr)
    student_cpu_s = cpu_s() - c0
    kw = {"seq": sp.seq, "max_tokens": sp.eval_tokens}
    return {
        "teacher_params": float(count_params(b.model)),
        "teacher_train_s": float(b.meta["train_s"]),
        "teacher_train_cpu_s": teacher_cpu_s,
        "teacher_steps": float(b.meta["train_steps"]),
        "teacher_perplexity": perplexity(logits_of(b.model), b.heldout_ids, **kw),
        "student_params": float(count_params(student)),
        "student_train_s": rep.seconds,
        "student_train_cpu_s": student_cpu_s,
        "student_steps": float(rep.steps),
        "student_perplexity": perplexity(logits_of(student), b.heldout_ids, **kw),
    }


def linear_check(rounds: int = 5, calls: int = 2000) -> list[dict[str, float]]:
    """CPU microseconds per call of one fp32 ``nn.Linear`` and of its dynamic-int8 version
    (``quantize_dynamic``) at decoding shapes (one token per row; batch 1 and 8), for the
    layer shapes of the built-in model (and of the former d 256 model). Median of ``rounds``
    rounds, thread CPU time, 1 thread: why int8 pays for large layers only."""
    import resource
    import statistics

    import torch

    from wattwise.optimize.quantize import quantize_dynamic_int8

    torch.set_num_threads(1)
    who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)

    def cpu_s() -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    rows = []
    shapes = [(128, 384), (128, 128), (128, 768), (384, 128), (128, 2048), (256, 768), (256, 2048)]
    for fan_in, fan_out in shapes:
        lin = torch.nn.Sequential(torch.nn.Linear(fan_in, fan_out, bias=False))
        q = quantize_dynamic_int8(lin)
        for batch in (1, 8):
            x = torch.randn(batch, 1, fan_in)
            row = {"in": float(fan_in), "out": float(fan_out), "batch": float(batch)}
            with torch.inference_mode():
                for name, mod in (("fp32_us", lin), ("int8_us", q)):
                    for _ in range(200):
                        mod(x)
                    per_call = []
                    for _ in range(rounds):
                        c0 = cpu_s()
                        for _ in range(calls):
                            mod(x)
                        per_call.append((cpu_s() - c0) / calls * 1e6)
                    row[name] = statistics.median(per_call)
            rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-s", type=float, default=120.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--techniques", default="all")
    ap.add_argument("--out", default="benchmarks/optimize-result.json")
    ap.add_argument("--plot", default="benchmarks/optimize-frontier.svg")
    ap.add_argument("--teacher-check", action="store_true")
    ap.add_argument("--linear-check", action="store_true")
    args = ap.parse_args()
    if args.linear_check:
        for row in linear_check():
            print(json.dumps(row))
        return 0
    if args.teacher_check:
        print(json.dumps(teacher_check(), indent=2))
        return 0
    from wattwise.cli.optimize import render
    from wattwise.optimize.lab import run_lab
    from wattwise.outputs import atomic_write_text, check_output_path
    from wattwise.report.svg import pareto_chart, standalone

    check_output_path(args.out)  # before the lab: its results are never lost to a bad path
    check_output_path(args.plot, what="--plot")

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
    atomic_write_text(args.out, json.dumps(doc, indent=2))
    atomic_write_text(args.plot, standalone(pareto_chart(doc)))
    print(render(doc))
    print(f"lab wall time {doc['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
