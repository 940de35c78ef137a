"""The workloads an audit measures: the built-in generative workload or the user's command.

The built-in workload (needs torch) loads the optimisation lab's built-in model (its shipped
weights, :func:`wattwise.optimize.builtin.get_builtin`), fine-tunes a copy for a fixed number
of steps in a ``finetune`` window, then generates a fixed prompt set one request at a time in a
``generate`` window, counting tokens and requests. Without torch it runs the stdlib demo
workload (``python -m wattwise.workloads.demo``) as a command and says so.

A command is tracked like ``wattwise run`` does it: signals forwarded, count reports followed,
its exit code kept; a failing command still leaves a finished (``failed``) run in the ledger.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Say = Callable[[str], None]

#: Fine-tuning steps and prompts of the built-in workload, per model size.
FINETUNE_STEPS = {"default": 40, "tiny": 4}
PROMPTS = {"default": 24, "tiny": 4}
DEMO_COMMAND = [sys.executable, "-m", "wattwise.workloads.demo"]


@dataclass
class Measured:
    """What measuring produced: the run, how it was produced, and facts for the report."""

    result: Any  # wattwise.tracker.model.RunResult
    kind: str  # builtin | demo | command
    description: str
    batch_size: int | None = None
    model: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def pin_threads(n: int = 1) -> Iterator[None]:
    """Run torch on ``n`` threads (the lab's protocol): on a shared 2-core machine more threads
    than free cores make every synchronising step wait for a descheduled thread."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def load_builtin(size: str, say: Say) -> Any:
    """The built-in model (:class:`wattwise.optimize.builtin.Builtin`), trained once and cached.

    Called *before* the audit's tracker starts: the one-off training has its own measurement
    (kept in the cache's ``meta.json`` and shown in the report), not mixed into the workload's.
    """
    from wattwise.optimize.builtin import get_builtin

    b = get_builtin(size, progress=say)  # torch threads: pinned by the caller (pin_threads)
    say(
        {"shipped": "built-in model loaded (shipped weights, checksums verified)",
         "cache": "built-in model loaded from the cache"}.get(
            b.source, f"built-in model trained and cached in {b.cache_dir}")
    )  # fmt: skip
    return b


def run_builtin(tracker: Any, b: Any, say: Say) -> Measured:
    """Fine-tune then generate with the built-in model ``b`` inside ``tracker`` (started)."""
    import torch

    from wattwise.optimize.model import count_params, generate
    from wattwise.optimize.train import train_lm

    sp = b.spec
    steps = FINETUNE_STEPS.get(sp.name, 20)
    n_prompts = PROMPTS.get(sp.name, 8)
    model = copy.deepcopy(b.model)
    say(f"phase 1/2: fine-tuning a copy of the built-in model for {steps} steps")
    with tracker.window("finetune"):
        rep = train_lm(
            model, b.train_ids, steps=steps, batch=sp.batch, seq=sp.seq, lr=sp.lr * 0.3, seed=1
        )
        tracker.count(train_tokens=float(rep.tokens))
    model.eval()
    held = b.heldout_ids
    stride = max(1, (held.numel() - sp.prompt_len - 1) // n_prompts)
    prompts = [held[i * stride : i * stride + sp.prompt_len] for i in range(n_prompts)]
    say(f"phase 2/2: generating {sp.new_tokens} tokens for each of {n_prompts} fixed prompts")
    with tracker.window("generate"), torch.inference_mode():
        for p in prompts:
            generate(model, p.unsqueeze(0), sp.new_tokens)
            tracker.count(tokens=float(sp.new_tokens), requests=1.0)
    info = {
        "name": f"builtin:{sp.name}",
        "params": count_params(model),
        "prompt_tokens": sp.prompt_len,
        "new_tokens": sp.new_tokens,
        "prompts": n_prompts,
        "finetune_steps": rep.steps,
        "finetune_tokens": rep.tokens,
        "torch_threads": torch.get_num_threads(),
        "from_cache": b.from_cache,
        "weights": b.source,
        "cache_dir": str(b.cache_dir),
        "training": b.meta,
    }
    return Measured(
        result=None,
        kind="builtin",
        description=(
            f"built-in generative workload: the built-in '{sp.name}' model "
            f"({info['params']:,} parameters) fine-tuned for {rep.steps} steps, then "
            f"{n_prompts} requests of {sp.new_tokens} generated tokens, one at a time"
        ),
        batch_size=1,
        model=info,
    )


def run_command(tracker: Any, command: list[str], say: Say, *, quiet_stdout: bool) -> Any:
    """Run ``command`` inside ``tracker`` (already started) in a ``command`` window; return its
    :class:`~wattwise.tracker.process.ProcessOutcome` (``exit_code``: 127 not found, 126 not
    executable, 128 + N after signal N; ``status``: finished / interrupted / failed).

    Shares :func:`wattwise.tracker.process.run_tracked` with ``wattwise run``: SIGINT, SIGTERM
    and SIGHUP are forwarded to the command, its count reports are followed and validated.
    """
    from wattwise.tracker.process import run_tracked

    outcome = run_tracked(
        tracker, command, stdout=sys.stderr if quiet_stdout else None, window="command"
    )
    if not outcome.started:
        say(outcome.error)
    return outcome
