"""The accelerator catalog: power, dense peak FLOP/s, memory and embodied carbon per chip.

Data: ``wattwise/data/hardware.csv`` (one row per accelerator; sources in its ``source`` and
``verification`` columns and in ``data/SOURCES.md``). Units: ``tdp_w`` and ``idle_w`` in watts,
peaks in TFLOP/s (int8 in TOP/s), ``memory_gb`` in GB, ``memory_bw_gb_s`` in GB/s, embodied
carbon in kgCO2e per chip with its boundary stated.

Peak FLOP/s are **dense**: vendors print the 2:4 structured-sparsity figure first for Ampere and
later (twice the dense rate); the catalog never holds it. Where a chip has no bf16 (Pascal, Volta,
Turing) the ``bf16`` column holds its FP16 peak and the row's notes say so.

``tdp_kind`` is ``power_limit`` for GPUs (a board power cap the chip sustains under heavy load)
and ``provisioning`` for TPUs (a thermal figure well above the average draw: Patterson et al.
2021 measured 221 W average system power per TPU v2 chip of 280 W TDP).

Names resolve case- and punctuation-insensitively through each row's aliases (``A100``,
``a100-80gb``, ``A100-SXM4-80GB``); an unknown name raises
:class:`~wattwise.errors.UnknownKeyError` listing the closest known names.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from wattwise.errors import ConfigError, DataError, UnknownKeyError

TABLE = "hardware.csv"

#: Precisions the catalog knows, and the column each reads. fp16 and bf16 share a column.
PRECISIONS: dict[str, str] = {
    "fp32": "fp32",
    "tf32": "tf32",
    "bf16": "bf16",
    "fp16": "bf16",
    "fp8": "fp8",
    "int8": "int8",
}


@dataclass(frozen=True)
class Accelerator:
    """One accelerator of the catalog. See the module docstring for units."""

    name: str
    aliases: tuple[str, ...]
    vendor: str
    kind: str
    architecture: str
    year: int
    tdp_w: float | None
    tdp_kind: str
    idle_w: float | None
    idle_basis: str
    peak_tflops: dict[str, float]
    memory_gb: float
    memory_bw_gb_s: float
    embodied_kgco2e: float | None
    embodied_boundary: str
    source: str
    verification: str
    notes: str

    def peak_flops(self, precision: str = "bf16") -> float:
        """Dense peak in FLOP/s at ``precision``; ConfigError when the chip has none."""
        col = PRECISIONS.get(precision.lower())
        if col is None:
            raise ConfigError(
                f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}"
            )
        tflops = self.peak_tflops.get(col)
        if tflops is None:
            have = ", ".join(sorted(self.peak_tflops)) or "none"
            raise ConfigError(
                f"{self.name} has no dense {precision} peak in the catalog (has: {have})"
            )
        return tflops * 1e12

    @property
    def memory_bw_bytes_s(self) -> float:
        """Peak memory bandwidth in bytes per second."""
        return self.memory_bw_gb_s * 1e9

    @property
    def memory_bytes(self) -> float:
        """Memory size in bytes (GB = 1e9 bytes, as vendors state it)."""
        return self.memory_gb * 1e9

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "vendor": self.vendor,
            "kind": self.kind,
            "architecture": self.architecture,
            "year": self.year,
            "tdp_w": self.tdp_w,
            "tdp_kind": self.tdp_kind,
            "idle_w": self.idle_w,
            "idle_basis": self.idle_basis,
            "peak_tflops_dense": dict(self.peak_tflops),
            "memory_gb": self.memory_gb,
            "memory_bw_gb_s": self.memory_bw_gb_s,
            "embodied_kgco2e": self.embodied_kgco2e,
            "embodied_boundary": self.embodied_boundary,
            "source": self.source,
            "verification": self.verification,
            "notes": self.notes,
        }


def normalise(name: str) -> str:
    """Lower-case without non-alphanumerics: ``A100-SXM4 80GB`` -> ``a100sxm480gb``."""
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _num(row: dict[str, str], col: str, line: int, required: bool = False) -> float | None:
    raw = (row.get(col) or "").strip()
    if not raw:
        if required:
            raise DataError(f"{TABLE} line {line}: column {col!r} is empty")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise DataError(f"{TABLE} line {line}: {col}={raw!r} is not a number") from None
    if value < 0:
        raise DataError(f"{TABLE} line {line}: {col}={value:g} is negative")
    return value


def _parse(row: dict[str, str], line: int) -> Accelerator:
    peaks: dict[str, float] = {}
    for col in ("fp32", "tf32", "bf16", "fp8"):
        v = _num(row, f"{col}_tflops", line)
        if v is not None:
            peaks[col] = v
    int8 = _num(row, "int8_tops", line)
    if int8 is not None:
        peaks["int8"] = int8
    tdp = _num(row, "tdp_w", line)
    idle = _num(row, "idle_w", line)
    if tdp is not None and not 10 <= tdp <= 2000:
        raise DataError(f"{TABLE} line {line}: tdp_w={tdp:g} is implausible")
    if tdp is not None and idle is not None and idle >= tdp:
        raise DataError(f"{TABLE} line {line}: idle_w {idle:g} >= tdp_w {tdp:g}")
    # Guard against the sparsity pitfall: no dense bf16 figure above 3 PFLOP/s exists (2025).
    if peaks.get("bf16", 0.0) > 3000:
        raise DataError(
            f"{TABLE} line {line}: bf16 peak {peaks['bf16']:g} looks like a sparsity figure"
        )
    return Accelerator(
        name=row["name"].strip(),
        aliases=tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()),
        vendor=row["vendor"].strip(),
        kind=row["kind"].strip(),
        architecture=row["architecture"].strip(),
        year=int(row["year"]),
        tdp_w=tdp,
        tdp_kind=row["tdp_kind"].strip(),
        idle_w=idle,
        idle_basis=(row.get("idle_basis") or "").strip(),
        peak_tflops=peaks,
        memory_gb=float(_num(row, "memory_gb", line, required=True) or 0.0),
        memory_bw_gb_s=float(_num(row, "memory_bw_gb_s", line, required=True) or 0.0),
        embodied_kgco2e=_num(row, "embodied_kgco2e", line),
        embodied_boundary=(row.get("embodied_boundary") or "").strip(),
        source=row["source"].strip(),
        verification=(row.get("verification") or "").strip(),
        notes=(row.get("notes") or "").strip(),
    )


@lru_cache(maxsize=1)
def catalog() -> tuple[Accelerator, ...]:
    """Every accelerator of the shipped table, in file order (read once per process)."""
    try:
        text = resources.files("wattwise.data").joinpath(TABLE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:  # pragma: no cover - packaging error
        raise DataError(f"reference table {TABLE} is missing from the package: {exc}") from exc
    rows = list(csv.DictReader(io.StringIO(text)))
    accs = tuple(_parse(r, i + 2) for i, r in enumerate(rows))
    _index(accs)  # fails on a duplicate name or alias
    return accs


def _index(accs: tuple[Accelerator, ...]) -> dict[str, Accelerator]:
    index: dict[str, Accelerator] = {}
    for acc in accs:
        for key in (acc.name, *acc.aliases):
            k = normalise(key)
            if k in index and index[k] is not acc:
                raise DataError(f"{TABLE}: {key!r} names both {index[k].name} and {acc.name}")
            index[k] = acc
    return index


@lru_cache(maxsize=1)
def _lookup() -> dict[str, Accelerator]:
    return _index(catalog())


def get_hardware(name: str) -> Accelerator:
    """The accelerator called ``name`` (or one of its aliases).

    Raises :class:`UnknownKeyError` listing the closest known names when nothing matches.
    """
    key = normalise(name)
    found = _lookup().get(key)
    if found is not None:
        return found
    names = [a.name for a in catalog()]
    everything = {normalise(k): a.name for a in catalog() for k in (a.name, *a.aliases)}
    close = difflib.get_close_matches(key, list(everything), n=8, cutoff=0.5)
    suggestions: list[str] = []
    for c in close:
        if everything[c] not in suggestions:
            suggestions.append(everything[c])
    if not suggestions:
        suggestions = names[:5]
    raise UnknownKeyError(
        f"unknown hardware {name!r}; closest: {', '.join(suggestions[:4])} "
        "(see `wattwise estimate hardware list`)"
    )


def list_hardware() -> list[Accelerator]:
    """The catalog as a list, in file order."""
    return list(catalog())
