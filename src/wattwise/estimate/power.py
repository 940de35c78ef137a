"""Power drawn per chip under an estimate's power basis.

Three bases, because published footprints differ mostly by this choice:

* ``tdp`` — every chip draws its TDP for the whole run (Meta's LLaMA method); accelerators only.
* ``measured`` — a measured average power per chip the user gives (Patterson et al. 2021 used
  measured system power per accelerator, host share included); taken as is and recorded as
  ``given`` (wattwise did not measure it).
* ``utilisation`` (default) — a model: ``idle + (TDP - idle) x fraction``, with the fraction
  depending on whether the work is compute-bound (training, prefill) or memory-bound (decode),
  plus a host CPU/DRAM share per chip. See :mod:`wattwise.estimate.defaults` for the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wattwise.core.provenance import Provenance
from wattwise.errors import ConfigError
from wattwise.estimate import defaults as d
from wattwise.estimate.hardware import Accelerator
from wattwise.estimate.types import Assumption, Band

PowerBasis = Literal["tdp", "measured", "utilisation"]
POWER_BASES: tuple[str, ...] = ("tdp", "measured", "utilisation")


@dataclass(frozen=True)
class ChipPower:
    """Average power per chip (W) by load, the host share per chip and the idle power."""

    basis: str
    compute_w: Band  # compute-bound work: training, prefill
    memory_w: Band  # memory-bandwidth-bound work: decode
    idle_w: float
    host_w: Band  # host CPU + DRAM per chip; zero unless the basis is ``utilisation``
    assumptions: tuple[Assumption, ...]


def resolve_basis(power_basis: str | None, power_w: float | None) -> str:
    """The basis to use: explicit, else ``measured`` when a power is given, else ``utilisation``."""
    if power_basis is None:
        return "measured" if power_w is not None else "utilisation"
    if power_basis not in POWER_BASES:
        raise ConfigError(
            f"unknown power basis {power_basis!r}; choose one of {', '.join(POWER_BASES)}"
        )
    return power_basis


def chip_power(acc: Accelerator, power_basis: str | None, power_w: float | None) -> ChipPower:
    """Per-chip power of ``acc`` under ``power_basis`` (see the module docstring)."""
    basis = resolve_basis(power_basis, power_w)
    zero = Band.exact(0.0)
    if basis == "measured":
        if power_w is None:
            raise ConfigError("power basis 'measured' needs a power per chip (--power-w)")
        if power_w <= 0:
            raise ConfigError(f"power per chip must be > 0 W, got {power_w:g}")
        p = Band.exact(power_w)
        a = Assumption(
            "power_per_chip",
            f"{power_w:g}",
            "W",
            Provenance.GIVEN,
            "given by you: a measured average power per chip (its own boundary)",
        )
        return ChipPower(basis, p, p, 0.0, zero, (a,))
    if power_w is not None:
        raise ConfigError(f"--power-w is used with the 'measured' basis only, not {basis!r}")
    if acc.tdp_w is None:
        raise ConfigError(
            f"{acc.name} has no published TDP: give a measured power per chip (--power-w)"
        )
    tdp = acc.tdp_w
    if basis == "tdp":
        p = Band.exact(tdp)
        a = Assumption(
            "power_per_chip",
            f"{tdp:g}",
            "W",
            Provenance.ASSUMED,
            f"TDP of {acc.name} drawn all the time ({acc.source})",
        )
        return ChipPower(basis, p, p, acc.idle_w or 0.0, zero, (a,))

    idle = acc.idle_w if acc.idle_w is not None else d.IDLE_FRACTION_FALLBACK * tdp
    frac = (
        d.COMPUTE_FRACTION_PROVISIONING
        if acc.tdp_kind == "provisioning"
        else d.COMPUTE_FRACTION_GPU
    )
    span = tdp - idle
    compute = Band(
        idle + span * frac.band.value,
        idle + span * frac.band.low,
        idle + span * min(1.0, frac.band.high),
    )
    ratio = d.MEMORY_BOUND_RATIO.band
    memory = Band(
        idle + span * frac.band.value * ratio.value,
        idle + span * frac.band.low * ratio.low,
        idle + span * min(1.0, frac.band.high * ratio.high),
    )
    host = Band.exact(tdp).mul(d.HOST_FRACTION_OF_TDP.band)
    assumptions = (
        Assumption(
            "idle_power_per_chip",
            f"{idle:g}",
            "W",
            Provenance.ASSUMED,
            acc.idle_basis or f"{d.IDLE_FRACTION_FALLBACK:g} x TDP (assumed)",
        ),
        Assumption(
            "compute_bound_power_fraction",
            f"{frac.band.value:g}",
            "of TDP - idle",
            Provenance.ASSUMED,
            frac.source,
        ),
        Assumption(
            "memory_bound_power_ratio",
            f"{ratio.value:g}",
            "of the compute-bound fraction",
            Provenance.ASSUMED,
            d.MEMORY_BOUND_RATIO.source,
        ),
        Assumption(
            "host_power_per_chip",
            f"{host.value:g}",
            "W",
            Provenance.ASSUMED,
            f"{d.HOST_FRACTION_OF_TDP.band.value:g} x TDP: {d.HOST_FRACTION_OF_TDP.source}",
        ),
    )
    return ChipPower(basis, compute, memory, idle, host, assumptions)
