"""Which measured setting to keep: the tuner's selectors.

Each selector looks at the per-step measurements (energy J, time s) of every setting and the
default setting measured in the same run:

* ``min-energy``: the least energy per step, whatever the time.
* ``min-energy-within-slowdown`` (default, bound ``max_slowdown`` = 0.02): the least energy
  among settings at most ``max_slowdown`` slower than the default (the default always
  qualifies).
* ``zeus``: Zeus's cost (NSDI'23, Chung et al.), η·E + (1−η)·P_max·T, with ``eta`` in [0, 1]
  and ``P_max`` the highest power limit of the GPUs (watts): η = 1 is min-energy, η = 0 min-time.
* ``edp``: the least energy-delay product E·T.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wattwise.errors import ConfigError

SELECTORS = ("min-energy-within-slowdown", "min-energy", "zeus", "edp")
DEFAULT_SELECTOR = "min-energy-within-slowdown"
DEFAULT_MAX_SLOWDOWN = 0.02
DEFAULT_ETA = 0.5


@dataclass(frozen=True)
class Selector:
    name: str = DEFAULT_SELECTOR
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN
    eta: float = DEFAULT_ETA

    def __post_init__(self) -> None:
        if self.name not in SELECTORS:
            raise ConfigError(f"unknown selector {self.name!r} (one of {', '.join(SELECTORS)})")
        if not 0.0 <= self.max_slowdown <= 10.0:
            raise ConfigError(f"--max-slowdown must be in 0..10, not {self.max_slowdown}")
        if not 0.0 <= self.eta <= 1.0:
            raise ConfigError(f"--eta must be in 0..1, not {self.eta}")

    def label(self) -> str:
        """How the profile names it: ``min-energy-within-slowdown:0.02``, ``zeus:0.5``."""
        if self.name == "min-energy-within-slowdown":
            return f"{self.name}:{self.max_slowdown:g}"
        if self.name == "zeus":
            return f"{self.name}:{self.eta:g}"
        return self.name

    def cost(self, energy_j: float, time_s: float, max_power_w: float) -> float:
        """The quantity the selector minimises for one setting (per step)."""
        if self.name == "zeus":
            return self.eta * energy_j + (1.0 - self.eta) * max_power_w * time_s
        if self.name == "edp":
            return energy_j * time_s
        return energy_j

    def admissible(self, time_s: float, default_time_s: float) -> bool:
        if self.name != "min-energy-within-slowdown":
            return True
        return time_s <= default_time_s * (1.0 + self.max_slowdown)

    def choose(
        self,
        points: Sequence[tuple[float, float]],
        default: tuple[float, float],
        max_power_w: float,
    ) -> int:
        """Index into ``points`` ((energy J, time s) per step) of the chosen one; ``default``
        must be one of them."""
        candidates = [i for i, (_e, t) in enumerate(points) if self.admissible(t, default[1])]
        if not candidates:
            candidates = [points.index(default)]
        return min(candidates, key=lambda i: self.cost(points[i][0], points[i][1], max_power_w))
