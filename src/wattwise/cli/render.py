"""Plain-text rendering of runs for the terminal."""

from __future__ import annotations

from collections import defaultdict

from wattwise.tracker.model import ComponentEnergy, RunResult
from wattwise.units import format_duration, format_energy, format_power


def peak_power_w(result: RunResult) -> float | None:
    """Highest total power over the timeline (sum of devices read at the same instant)."""
    by_t: dict[float, float] = defaultdict(float)
    for s in result.samples:
        if s.power_w is not None:
            by_t[s.t_s] += s.power_w
    return max(by_t.values()) if by_t else None


def _component_line(c: ComponentEnergy) -> str:
    extra = f"  [{c.note}]" if c.note else ""
    return (
        f"  {c.device_id:<28} {c.kind:<7} {format_energy(c.energy_j):>10}  "
        f"{c.provenance.value:<10} {c.source}{extra}"
    )


def run_summary(result: RunResult) -> str:
    """A few lines: duration, energy per device and total with provenance, power, per unit."""
    e = result.energy
    lines = [
        f"wattwise: run {result.run_id[:12]} '{result.name}' {result.status}"
        + (f", exit code {result.exit_code}" if result.exit_code is not None else ""),
        f"  duration {format_duration(result.duration_s)}, "
        f"energy {format_energy(e.total_j)} ({e.label})",
    ]
    peak = peak_power_w(result)
    power = f"  mean power {format_power(result.mean_power_w())}"
    if peak is not None:
        power += f", peak {format_power(peak)}"
    lines.append(power)
    lines.extend(_component_line(c) for c in result.components)
    for unit, j in result.energy_per().items():
        lines.append(f"  per {unit.rstrip('s')}: {format_energy(j)}")
    for w in result.windows:
        lines.append(
            f"  window {w.name}: {format_duration(w.duration_s)}, "
            f"{format_energy(w.energy.total_j)} ({w.energy.label})"
        )
    for n in result.notes:
        lines.append(f"  note: {n}")
    return "\n".join(lines)
