"""A running command's steps as the tuner's workload: its ``report_count(steps=1)`` lines.

``wattwise tune -- CMD`` runs CMD with ``WATTWISE_COUNTS_FILE`` set (the same protocol as
``wattwise run``: :mod:`wattwise.workloads.counts`); every ``report_count(steps=N)`` the command
makes is a line there, read back with :class:`~wattwise.workloads.counts.CountsFollower`.
:class:`ReportedSteps` is a :class:`wattwise.power.tuner.Workload` (the tuner's step source,
shared with the simulator's own ``run_steps``) over those lines: ``run_steps(n)`` blocks until
the command has reported ``n`` more steps (polling the file every ``poll_s``), and
``now_s`` is the command's own wall-clock time (``time.time()`` in the child) of the last step
counted. The tuner reads the energy from the GPUs' counters itself (``NvmlControl.energy_j``)
when ``run_steps`` returns, so energy lags the steps by at most one poll (5 ms by default; the
NVML counter itself advances about every 100 ms, and each setting is measured for >= 1 s).

The simulated GPU keeps its clock and energy counter in the memory of the process that made it
(only its settings persist in a file), so a child process cannot advance it. With
``simulator=``, each step the command reports advances the parent's simulated GPU by one step
(``SimulatedNvml.run_steps``) and ``now_s`` is the simulated clock: a *real* command's step
reports drive a simulated GPU. Its time per step is then the simulator's, not the command's.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from wattwise.workloads.counts import CountsFollower

DEFAULT_POLL_S = 0.005


class WorkloadEnded(Exception):
    """The command exited before it reported the steps asked for (``steps``: all it reported)."""

    def __init__(self, steps: int) -> None:
        super().__init__(f"the command ended after {steps} reported steps")
        self.steps = steps


class ReportedSteps:
    """``run_steps`` / ``now_s`` over a command's step reports (see the module docstring).

    ``alive()`` says whether the command still runs; once it does not, the file is read one
    last time (a last line without its newline included) and a shortfall raises
    :class:`WorkloadEnded`.
    """

    def __init__(
        self,
        follower: CountsFollower,
        alive: Callable[[], bool],
        *,
        simulator: Any | None = None,
        poll_s: float = DEFAULT_POLL_S,
    ) -> None:
        self.follower, self.alive, self.simulator, self.poll_s = follower, alive, simulator, poll_s
        self._backlog: collections.deque[list[float]] = collections.deque()  # [steps, wall s]
        self._last_s = time.time()
        self._ended = False
        self.steps = 0  # steps counted so far (consumed by run_steps / run_until_end)

    def now_s(self) -> float:
        """When the last counted step was reported (simulated clock with a simulator), s."""
        return float(self.simulator.now_s()) if self.simulator is not None else self._last_s

    def _fill(self) -> bool:
        """Read new reports into the backlog; False once the command ended and all is read."""
        if self._ended:
            return False
        running = self.alive()
        for ev in self.follower.poll(final=not running):
            steps = int(ev.units.get("steps", 0))
            if steps > 0:
                at_s = ev.wall_time_s if ev.wall_time_s is not None else time.time()
                self._backlog.append([float(steps), at_s])
        if not running:
            self._ended = True
        return True

    def _take(self, n: int) -> int:
        """Count up to ``n`` steps from the backlog; return how many were counted."""
        taken = 0
        while taken < n and self._backlog:
            head = self._backlog[0]
            k = int(min(head[0], n - taken))
            head[0] -= k
            taken += k
            self._last_s = head[1]
            if head[0] <= 0:
                self._backlog.popleft()
        if taken and self.simulator is not None:
            self.simulator.run_steps(taken)
        self.steps += taken
        return taken

    def run_steps(self, n: int) -> None:
        """Block until the command has reported ``n`` more steps."""
        need = n - self._take(n)
        while need > 0:
            if not self._fill() and not self._backlog:
                raise WorkloadEnded(self.steps)
            need -= self._take(need)
            if need > 0 and not self._ended:
                time.sleep(self.poll_s)

    def run_until_end(self) -> int:
        """Count every step until the command exits; return how many were counted here."""
        start = self.steps
        while self._fill() or self._backlog:
            self._take(int(sum(b[0] for b in self._backlog)))
            if not self._ended:
                time.sleep(max(self.poll_s, 0.02))
        return self.steps - start
