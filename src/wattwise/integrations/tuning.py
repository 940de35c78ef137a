"""``tune=True`` of the training callbacks: GPU power tuning during a fit.

``WattwiseCallback(tune=True)`` (Hugging Face or Lightning) opens a
:class:`wattwise.power.session.TunedSession` when training begins: the fit's first optimizer
steps are the tuner's profile (the default setting first, measured in the same run), the chosen
setting is held for the rest, and the originals come back when training ends (Lightning: also
when the fit raises, through ``on_exception``), on SIGINT / SIGTERM / SIGHUP (restored in the
signal handler itself, then ``SystemExit(128 + signum)``) and at interpreter exit (a Hugging
Face ``train()`` that raised: the Trainer has no exception event). After a SIGKILL,
``wattwise tune --reset``.

``tune`` may be a mapping of :func:`wattwise.power.tuned` arguments instead of True:
``tune={"max_slowdown": 0.05}``, ``tune={"simulated_gpu": "memory-bound"}`` (tests, demos).
The workload's fingerprint (which saved profile is reused) is the script's command line and the
model's class name unless ``tune`` gives ``workload``. Without root or ``CAP_SYS_ADMIN`` the
callback raises the one-line :class:`~wattwise.power.nvml_control.PrivilegeError` when it is
made, before training.

An evaluation during the fit (the Trainer's ``eval_steps``, Lightning's validation) pauses the
measurement: its time and energy are left out of the setting being measured.

The outcome is ``callback.tuning`` (the session's report: chosen and default setting, measured
energy saving and slowdown, held steps, ``restored``), one INFO line on the ``wattwise``
logger, and a note in the stored run.
"""

from __future__ import annotations

import atexit
import logging
import sys
from collections.abc import Mapping
from typing import Any

from wattwise.errors import ConfigError

logger = logging.getLogger("wattwise")

TuneSpec = bool | Mapping[str, Any]


class TrainingTuner:
    """One :class:`~wattwise.power.session.TunedSession` per fit, driven by a callback."""

    def __init__(self, tune: TuneSpec) -> None:
        from wattwise.power.session import TunedSession

        if not isinstance(tune, bool | Mapping):
            raise ConfigError(f"tune={tune!r}: give True or a mapping of tuned() arguments")
        self.kwargs: dict[str, Any] = {} if isinstance(tune, bool) else dict(tune)
        TunedSession(**self.kwargs).check_privilege()  # a bad argument or no privilege: now
        self.session: Any = None
        self.report: dict[str, Any] | None = None

    def begin(self, model_name: str) -> None:
        """Training begins: a new session (a fit still tuned from before is ended first)."""
        from wattwise.power.session import TunedSession

        self.end()
        kwargs = {"workload": ["python", *sys.argv, model_name], **self.kwargs}
        session = TunedSession(**kwargs)
        session.open()  # a state file left by a killed tune, a privilege error: raised here
        self.session = session
        atexit.register(self._at_exit)

    def step(self, n: int = 1) -> None:
        if self.session is not None:
            self.session.step(n)

    def pause(self) -> None:
        """An evaluation begins: its time and energy stay out of the profile."""
        if self.session is not None:
            self.session.pause()

    def resume(self) -> None:
        if self.session is not None:
            self.session.resume()

    def end(self, exc: BaseException | None = None) -> str | None:
        """Training ended: restore, keep the report; the summary line (None: nothing tuned)."""
        session, self.session = self.session, None
        if session is None:
            return None
        atexit.unregister(self._at_exit)
        session.close(type(exc) if exc is not None else None, exc, None)
        self.report = session.report()
        line: str = session.summary()
        logger.info("%s", line)
        return line

    def _at_exit(self) -> None:
        self.end()
