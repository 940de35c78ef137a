"""A fake powercap tree whose package counter advances with real time at a set power (tests only).

A thread rewrites ``energy_uj`` every ``step_s`` with ``power_w × (now - t0)`` in microjoules
(written beside the file and renamed, so a reader never sees half a number). A reading taken at
any moment is behind the truth by at most the time since the last write: the *step error* of a
mean power over ``duration_s`` is at most ``power_w × 2 × max_step_s / duration_s`` (one step at
each end), where ``max_step_s`` is the longest interval the thread actually took between writes
(a loaded machine can delay it beyond ``step_s``).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

from readers.fake_powercap import make_powercap

START_UJ = 1_000_000


class LivePowercap:
    """``with LivePowercap(root, power_w=50) as pc:`` a tree at ``pc.root`` (one package zone)."""

    def __init__(self, base: Path, power_w: float, step_s: float = 0.01) -> None:
        self.root = make_powercap(base, {"intel-rapl:0": {"name": "package-0"}})
        self.power_w = power_w
        self.step_s = step_s
        self.max_step_s = 0.0
        self._file = self.root / "intel-rapl:0" / "energy_uj"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-powercap", daemon=True)
        self._t0 = time.monotonic()

    def _write(self, now: float) -> None:
        uj = START_UJ + round(self.power_w * (now - self._t0) * 1e6)
        tmp = self._file.with_name("energy_uj.tmp")
        tmp.write_text(f"{uj}\n")
        os.replace(tmp, self._file)

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.step_s):
            now = time.monotonic()
            self._write(now)
            self.max_step_s = max(self.max_step_s, now - last)
            last = now

    def step_error_w(self, duration_s: float) -> float:
        """The largest error of a mean power over ``duration_s`` from the write steps."""
        return self.power_w * 2 * max(self.max_step_s, self.step_s) / duration_s

    def __enter__(self) -> LivePowercap:
        self._t0 = time.monotonic()
        self._write(self._t0)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
