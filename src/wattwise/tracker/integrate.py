"""Pure integration of device readings into cumulative energy.

Counter devices (RAPL, NVML total energy) already give cumulative joules; power-only devices give
instantaneous watts that are integrated here with the trapezoidal rule. Nothing in this module
does I/O or reads a clock: it is driven by timestamps passed in.
"""

from __future__ import annotations


def trapezoid_j(t0_s: float, p0_w: float, t1_s: float, p1_w: float) -> float:
    """Energy in joules between two power samples, assuming power varies linearly between them."""
    return 0.5 * (p0_w + p1_w) * (t1_s - t0_s)


def mean_power_w(e0_j: float, t0_s: float, e1_j: float, t1_s: float) -> float | None:
    """Mean power between two cumulative-energy readings; None for a zero-length interval."""
    dt = t1_s - t0_s
    if dt <= 0:
        return None
    return (e1_j - e0_j) / dt


class DeviceTrack:
    """Running state of one device: cumulative energy (J) at its latest good reading.

    ``cumulative_j`` is energy since the first reading; ``last_t_s`` the time of the latest good
    reading; ``last_power_w`` the latest instantaneous (power devices) or mean (counter devices)
    power. ``lost_s`` is the time whose energy is known to be missing from ``cumulative_j``
    (intervals ended by a rebased counter, see :meth:`rebase`). Values fed here are already
    validated (finite, >= 0): see :mod:`wattwise.tracker.devices`. A plain class, not a
    dataclass: creating one costs ~1 ms inside every process's first ``Tracker.start()``.
    """

    __slots__ = (
        "_counter_base_j",
        "_last_raw_j",
        "counter",
        "cumulative_j",
        "device_id",
        "first_t_s",
        "last_power_w",
        "last_t_s",
        "lost_s",
    )

    def __init__(self, device_id: str, counter: bool) -> None:
        self.device_id = device_id
        self.counter = counter
        self.first_t_s: float | None = None
        self.last_t_s: float | None = None
        self.cumulative_j = 0.0
        self.last_power_w: float | None = None
        self.lost_s = 0.0
        self._counter_base_j: float | None = None
        self._last_raw_j: float | None = None

    def __repr__(self) -> str:
        return (
            f"DeviceTrack(device_id={self.device_id!r}, counter={self.counter!r}, "
            f"cumulative_j={self.cumulative_j!r}, last_t_s={self.last_t_s!r})"
        )

    @property
    def last_raw_j(self) -> float | None:
        """The latest counter value accepted (joules as the reader reported it)."""
        return self._last_raw_j

    def add_energy(self, t_s: float, energy_j: float) -> None:
        """Feed a cumulative counter value (joules since the reader was opened)."""
        if self._counter_base_j is None:
            self._counter_base_j = energy_j
            self.first_t_s = t_s
        else:
            assert self.last_t_s is not None
            new_cum = max(self.cumulative_j, energy_j - self._counter_base_j)
            p = mean_power_w(self.cumulative_j, self.last_t_s, new_cum, t_s)
            if p is not None:
                self.last_power_w = p
            self.cumulative_j = new_cum
        self._last_raw_j = energy_j
        self.last_t_s = t_s

    def rebase(self, t_s: float, energy_j: float) -> float:
        """Continue the counter from ``energy_j`` at ``t_s`` with no energy for the time since the
        previous good reading (a counter reset or an unreconcilable glitch).

        Returns the seconds whose energy is lost (0 for a device not read before); the caller
        records them as a gap. ``cumulative_j`` does not jump.
        """
        if self._counter_base_j is None or self.last_t_s is None:
            self.add_energy(t_s, energy_j)
            return 0.0
        lost = max(0.0, t_s - self.last_t_s)
        self._counter_base_j = energy_j - self.cumulative_j
        self._last_raw_j = energy_j
        self.lost_s += lost
        self.last_t_s = t_s
        self.last_power_w = None  # unknown over the lost interval
        return lost

    def add_power(self, t_s: float, power_w: float) -> None:
        """Feed an instantaneous power sample; integrate since the previous one."""
        if self.last_t_s is None:
            self.first_t_s = t_s
        elif self.last_power_w is not None and t_s > self.last_t_s:
            self.cumulative_j += trapezoid_j(self.last_t_s, self.last_power_w, t_s, power_w)
        self.last_t_s = t_s
        self.last_power_w = power_w

    def mean_power_w(self) -> float | None:
        """Mean power over the time read well so far (None before two readings).

        Lost intervals are left out of the time, as their energy is left out of the total.
        """
        if self.first_t_s is None or self.last_t_s is None:
            return None
        return mean_power_w(0.0, self.first_t_s + self.lost_s, self.cumulative_j, self.last_t_s)
