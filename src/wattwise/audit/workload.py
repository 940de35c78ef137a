"""The workloads an audit measures: the built-in generative workload or the user's command.

The built-in workload (needs torch) loads the optimisation lab's built-in model (trained once and
cached by :func:`wattwise.optimize.builtin.get_builtin`), fine-tunes a copy for a fixed number
of steps in a ``finetune`` window, then generates a fixed prompt set one request at a time in a
``generate`` window, counting tokens and requests. Without torch it runs the stdlib demo
workload (``python -m wattwise.workloads.demo``) as a command and says so.

A command is tracked like ``wattwise run`` does it: signals forwarded, count reports followed,
its exit code kept; a failing command still leaves a finished (``failed``) run in the ledger.
"""

from __future__ import annotations

import contextlib
import copy
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
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
        "built-in model loaded from the cache"
        if b.from_cache
        else f"built-in model trained and cached in {b.cache_dir}"
    )
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


def run_command(tracker: Any, command: list[str], say: Say, *, quiet_stdout: bool) -> int:
    """Run ``command`` inside ``tracker`` (already started); return its exit code.

    Signals (SIGINT, SIGTERM) are forwarded to the command and counted; its count reports
    (:mod:`wattwise.workloads.counts`) are fed to the tracker.
    """
    import os

    from wattwise.cli.run import EXIT_NOT_FOUND, apply_counts
    from wattwise.workloads.counts import ENV_VAR, CountsFollower

    tmpdir = tempfile.TemporaryDirectory(prefix="wattwise-audit-")
    counts_file = Path(tmpdir.name) / "counts.jsonl"
    env = dict(os.environ)
    env[ENV_VAR] = str(counts_file)
    env["WATTWISE_RUN_ID"] = tracker.run_id
    children: list[subprocess.Popen[bytes]] = []
    forwarded: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        forwarded.append(signum)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    follower = CountsFollower(counts_file)
    try:
        try:
            proc = subprocess.Popen(command, env=env, stdout=sys.stderr if quiet_stdout else None)
        except OSError as exc:
            say(f"cannot run {command[0]}: {exc.strerror or exc}")
            return EXIT_NOT_FOUND
        children.append(proc)
        if forwarded:
            proc.send_signal(forwarded[-1])
        tracker.attach_process(proc.pid)
        with tracker.window("command"):
            returncode = proc.wait()
            apply_counts(tracker, follower)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for n in follower.notes:
            tracker.add_note(n)
        tmpdir.cleanup()
    if forwarded:
        tracker.add_note(f"signal {forwarded[-1]} forwarded to the command")
    return returncode if returncode >= 0 else 128 - returncode
