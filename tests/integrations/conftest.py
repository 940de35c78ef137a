"""Shared by the integration tests: the frameworks they need, a fake device, a tiny LM's data.

The frameworks are installed by ``make setup`` (the ``hf`` and ``lightning`` extras): a missing
one fails the test with the command to run, never a silent skip.
"""

from __future__ import annotations

import time
from types import ModuleType

from tracker.fakes import CounterReader

#: Power of the fake device every integration test measures (W).
FAKE_POWER_W = 50.0
VOCAB = 64
SEQ_LEN = 16


def require(module: str, extra: str) -> ModuleType:
    """``module`` imported, or (the one rule of :mod:`integrations.requires`) the test fails in
    CI and is skipped elsewhere, saying how to install it."""
    from integrations.requires import module as required

    return required(module, extra)


def fake_device() -> CounterReader:
    """A device with an energy counter at :data:`FAKE_POWER_W`, on the real clock."""
    return CounterReader(time.monotonic, FAKE_POWER_W, device_id="fake:gpu0", kind="gpu")


def token_rows(n: int, seed: int = 0) -> list[list[int]]:
    """``n`` rows of :data:`SEQ_LEN` random token ids below :data:`VOCAB` (no tokenizer)."""
    import random

    rng = random.Random(seed)
    return [[rng.randrange(VOCAB) for _ in range(SEQ_LEN)] for _ in range(n)]
