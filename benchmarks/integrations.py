"""The training callbacks' overhead per step: a tiny GPT-2, with and without WattwiseCallback.

For each framework (the Hugging Face ``Trainer`` and Lightning), ``--steps`` optimizer steps are
run with the callback and as many without, in interleaved blocks of ``--block`` steps (A B, then
B A, ... so drift and warm-up hit both alike); each block is a fresh ``train()`` / ``fit()`` of
the same model. A timing callback placed after ours records the time at each step's end: step
time = the gap between consecutive step ends (the first of each block, which holds the
framework's set-up, is left out). Reported:

* ``step_ms_without`` / ``step_ms_with``: median step time without / with the callback;
* ``overhead_ms_per_step`` and ``overhead_percent``: the difference of the per-block median
  step times of each interleaved pair, median over pairs (``q1`` / ``q3``: its quartiles) —
  the A/B figure: everything the callback costs a step (the sampler thread and ledger writes
  too) and the machine's noise;
* ``callback_ms_per_step``: the time spent in the callback's own code per step, measured
  inside it (its per-step event handlers and its forward hook; a lower bound, far less noisy),
  with the handlers' shares below it (``... ms/step``; begin and end of a run included there);
* ``run_fixed_ms``: what a run costs once (readers opened, ledger opened, run stored and
  accounted at the end): median ``train()`` wall time with minus without, less the steps.

The callback runs as a user gets it (the machine's own readers, a ledger in a temporary folder,
sampling every 1 s), with logging every 50 steps (metrics and forecast computed then) so that
logging is inside the measurement. Single-threaded torch, CPU.

    python benchmarks/integrations.py [--steps 1000] [--block 100] [--frameworks hf lightning]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VOCAB, SEQ_LEN, BATCH = 64, 16, 4
LOG_EVERY = 50


def _tiny_gpt2() -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=SEQ_LEN,
                     bos_token_id=0, eos_token_id=0)  # fmt: skip
    return GPT2LMHeadModel(cfg)


def _rows(n: int) -> list[dict[str, Any]]:
    import torch

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, VOCAB, (n, SEQ_LEN), generator=g)
    return [{"input_ids": x, "labels": x} for x in ids]


#: Handlers that run once per run (begin, end: readers and ledger opened, run stored), not per
#: step: their time is ``run_fixed_ms``, not ``callback_ms_per_step``.
ONCE_PER_RUN = frozenset({"on_init_end", "on_train_begin", "on_train_end", "on_fit_start",
                          "on_fit_end", "on_train_start"})  # fmt: skip


class Timed:
    """Wraps a callback's handlers to add up the time spent in them, per handler."""

    def __init__(self) -> None:
        self.total_s: dict[str, float] = {}

    def wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.total_s[name] = self.total_s.get(name, 0.0) + time.perf_counter() - t0

        return timed

    def per_step_s(self) -> float:
        return sum(v for k, v in self.total_s.items() if k not in ONCE_PER_RUN)


def _instrument(cb: Any, module: Any, timed: Timed) -> Callable[[], None]:
    """Time every event handler of ``cb`` (and, for HF, the batch reading of its forward hook,
    which runs outside any handler); returns what undoes the module patch."""
    for name in dir(cb):
        if name.startswith("on_") and callable(getattr(cb, name)):
            setattr(cb, name, timed.wrap(getattr(cb, name), name))
    if not hasattr(cb, "_watch"):
        return lambda: None
    original = module.batch_units
    module.batch_units = timed.wrap(original, "forward hook")
    return lambda: setattr(module, "batch_units", original)


def _block_hf(model: Any, data: list[dict[str, Any]], steps: int, cb: Any, out: Path) -> Any:
    from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    ends: list[float] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, *a: Any, **kw: Any) -> None:
            ends.append(time.perf_counter())

    args = TrainingArguments(
        str(out), max_steps=steps, per_device_train_batch_size=BATCH, use_cpu=True,
        report_to="none", logging_steps=LOG_EVERY, save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    callbacks = [cb, Clock()] if cb is not None else [Clock()]
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # stdout: the results only
    t0 = time.perf_counter()
    trainer.train()
    return time.perf_counter() - t0, ends


def _block_lightning(model: Any, data: list[dict[str, Any]], steps: int, cb: Any,
                     out: Path) -> Any:  # fmt: skip
    import lightning.pytorch as pl
    import torch

    ends: list[float] = []

    class Clock(pl.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, *a: Any, **kw: Any) -> None:
            ends.append(time.perf_counter())

    class Module(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lm = model

        def training_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
            return self.lm(**batch).loss

        def configure_optimizers(self) -> Any:
            return torch.optim.AdamW(self.parameters(), lr=5e-5)

    loader = torch.utils.data.DataLoader(data, batch_size=BATCH)
    trainer = pl.Trainer(
        max_steps=steps, accelerator="cpu", devices=1, logger=pl.loggers.CSVLogger(str(out)),
        log_every_n_steps=LOG_EVERY, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[cb, Clock()] if cb is not None else [Clock()],
    )  # fmt: skip
    t0 = time.perf_counter()
    trainer.fit(Module(), loader)
    return time.perf_counter() - t0, ends


def measure(framework: str, steps: int, block: int, tmp: Path) -> dict[str, float]:
    if framework == "hf":
        from wattwise.integrations import hf as module

        run_block = _block_hf
    else:
        from wattwise.integrations import lightning as module  # type: ignore[no-redef]

        run_block = _block_lightning
    model, data = _tiny_gpt2(), _rows(block * BATCH)
    timed = Timed()
    # Warm-up: first-call costs (imports, reader discovery) of both, left out.
    run_block(model, data, 10, None, tmp / "warm")
    warm = module.WattwiseCallback(store=False, context={"country": "FR"})
    run_block(model, data, 10, warm, tmp / "warm")
    per_step = {False: [], True: []}  # type: dict[bool, list[float]]
    block_medians: dict[bool, list[float]] = {False: [], True: []}
    walls: dict[bool, list[float]] = {False: [], True: []}
    measured_steps = 0
    blocks = max(1, steps // block)
    for i in range(blocks):
        for with_cb in (False, True) if i % 2 == 0 else (True, False):
            cb, undo = None, None
            if with_cb:
                cb = module.WattwiseCallback(store=str(tmp / "ledger.db"),
                                             context={"country": "FR"})  # fmt: skip
                undo = _instrument(cb, module, timed)
            wall_s, ends = run_block(model, data, block, cb, tmp / f"out{i}")
            gaps = [b - a for a, b in itertools.pairwise(ends)]
            per_step[with_cb] += gaps
            block_medians[with_cb].append(statistics.median(gaps))
            walls[with_cb].append(wall_s - sum(gaps))
            if undo is not None:
                measured_steps += len(ends)
                undo()
    diffs = [b - a for a, b in zip(block_medians[False], block_medians[True], strict=True)]
    without = statistics.median(per_step[False])
    overhead = statistics.median(diffs)
    q = statistics.quantiles(diffs, n=4) if len(diffs) > 1 else [overhead, overhead, overhead]
    return {
        "steps_each": float(blocks * block),
        "step_ms_without": 1e3 * without,
        "step_ms_with": 1e3 * statistics.median(per_step[True]),
        "overhead_ms_per_step": 1e3 * overhead,
        "overhead_ms_q1": 1e3 * q[0],
        "overhead_ms_q3": 1e3 * q[2],
        "overhead_percent": 100 * overhead / without,
        "callback_ms_per_step": 1e3 * timed.per_step_s() / max(1, measured_steps),
        "run_fixed_ms": 1e3 * (statistics.median(walls[True]) - statistics.median(walls[False])),
        **{f"  {k} ms/step": 1e3 * v / max(1, measured_steps)
           for k, v in sorted(timed.total_s.items(), key=lambda kv: -kv[1])},
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--frameworks", nargs="+", default=["hf", "lightning"],
                    choices=["hf", "lightning"])  # fmt: skip
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import logging
    import os
    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    if "lightning" in args.frameworks:
        import lightning.pytorch  # noqa: F401 - it sets its logger's level when imported

    for name in ("transformers", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    res: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as d:
        os.environ["WATTWISE_DB"] = str(Path(d) / "ledger.db")
        for fw in args.frameworks:
            res[fw] = measure(fw, args.steps, args.block, Path(d) / fw)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for fw, r in res.items():
            print(fw)
            for k, v in r.items():
                print(f"  {k:<22} {v:10.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
