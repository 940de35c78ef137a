"""Pure integration of device readings into cumulative energy.

Counter devices (RAPL, NVML total energy) already give cumulative joules; power-only devices give
instantaneous watts that are integrated here with the trapezoidal rule. Nothing in this module
does I/O or reads a clock: it is driven by timestamps passed in.
"""

from __future__ import annotations

from dataclasses import dataclass


def trapezoid_j(t0_s: float, p0_w: float, t1_s: float, p1_w: float) -> float:
    """Energy in joules between two power samples, assuming power varies linearly between them."""
    return 0.5 * (p0_w + p1_w) * (t1_s - t0_s)


def mean_power_w(e0_j: float, t0_s: float, e1_j: float, t1_s: float) -> float | None:
    """Mean power between two cumulative-energy readings; None for a zero-length interval."""
    dt = t1_s - t0_s
    if dt <= 0:
        return None
    return (e1_j - e0_j) / dt


@dataclass
class DeviceTrack:
    """Running state of one device: cumulative energy (J) at its latest good reading.

    ``cumulative_j`` is energy since the first reading; ``last_t_s`` the time of the latest good
    reading; ``last_power_w`` the latest instantaneous (power devices) or mean (counter devices)
    power.
    """

    device_id: str
    counter: bool
    first_t_s: float | None = None
    last_t_s: float | None = None
    cumulative_j: float = 0.0
    last_power_w: float | None = None
    _counter_base_j: float | None = None

    def add_energy(self, t_s: float, energy_j: float) -> None:
        """Feed a cumulative counter value (joules since the reader was opened)."""
        if self._counter_base_j is None:
            self._counter_base_j = energy_j
            self.first_t_s = t_s
        else:
            assert self.last_t_s is not None
            new_cum = energy_j - self._counter_base_j
            p = mean_power_w(self.cumulative_j, self.last_t_s, new_cum, t_s)
            if p is not None:
                self.last_power_w = p
            self.cumulative_j = new_cum
        self.last_t_s = t_s

    def add_power(self, t_s: float, power_w: float) -> None:
        """Feed an instantaneous power sample; integrate since the previous one."""
        if self.last_t_s is None:
            self.first_t_s = t_s
        elif self.last_power_w is not None and t_s > self.last_t_s:
            self.cumulative_j += trapezoid_j(self.last_t_s, self.last_power_w, t_s, power_w)
        self.last_t_s = t_s
        self.last_power_w = power_w

    def mean_power_w(self) -> float | None:
        """Mean power over everything seen so far (None before two readings)."""
        if self.first_t_s is None or self.last_t_s is None:
            return None
        return mean_power_w(0.0, self.first_t_s, self.cumulative_j, self.last_t_s)
