"""Human output of ``wattwise estimate``: every number for people, never e-notation.

Energies with SI prefixes (``1.09 MWh``, ``53.2 mWh``), masses from grams (``3.2 kg``,
``16.1 t``), money with its currency (``unknown — give --price`` when no price is known for the
place, as in every output that shows a cost), rates and counts with grouped digits (``2,210
tokens/s``, ``93,480 chip-hours``), FLOPs with SI prefixes up to yotta (``42 ZFLOP``) and token
counts as the flags take them (``1.4T tokens``). The JSON output (``--json``) keeps the raw
numbers; this module only reads an estimate's ``to_dict()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from wattwise.accounting.money import UNKNOWN_PRICE, format_money
from wattwise.units import format_duration, format_mass_g, format_number, format_si

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.estimate.hardware import Accelerator
    from wattwise.estimate.settings import EstimateSetting

_FLOP_PREFIXES = ((1e24, "Y"), (1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"),
                  (1e6, "M"), (1e3, "k"))  # fmt: skip
_COUNT_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))
_E_NOTATION = re.compile(r"[-+]?\d+(?:\.\d+)?[eE][-+]?\d+")


def format_flops(value: float, unit: str = "FLOP") -> str:
    """FLOPs (or FLOP/s) with an SI prefix up to yotta: ``4.2e22`` -> ``42 ZFLOP``."""
    for scale, prefix in _FLOP_PREFIXES:
        if abs(value) >= scale:
            return f"{format_number(value / scale)} {prefix}{unit}"
    return f"{format_number(value)} {unit}"


def format_count(value: float) -> str:
    """A large count as the flags take it: ``1.4e12`` -> ``1.4T``, ``7e9`` -> ``7B``; grouped
    digits below a million (``500,000``)."""
    for scale, suffix in _COUNT_SUFFIXES:
        if abs(value) >= scale:
            return f"{format_number(value / scale)}{suffix}"
    return format_number(value)


def _energy_kwh(v: float) -> str:
    return format_si(v * 1000.0, "Wh")


def _mass_kg(v: float) -> str:
    return format_mass_g(v * 1000.0)


#: How a band of each key is written (keys ending in _kwh / _kg / cost are found by suffix).
_BY_KEY: dict[str, Callable[[float], str]] = {
    "flops": format_flops,
    "chip_hours": lambda v: f"{format_number(v)} chip-hours",
    "wall_clock_days": lambda v: f"{format_number(v)} days",
    "breakeven_days": lambda v: f"{format_number(v)} days",
    "transfer_saving_fraction": lambda v: f"{format_number(v * 100)} %",
    "seconds_per_request": format_duration,
    "decode_tokens_per_s": lambda v: f"{format_number(v)} tokens/s",
    "wh_per_request": lambda v: format_si(v, "Wh"),
    "wh_per_1k_output_tokens": lambda v: format_si(v, "Wh"),
}


def _formatter(key: str, currency: str | None) -> Callable[[float], str]:
    """The formatter of a band named ``key`` (its unit is in its name)."""
    if key in _BY_KEY:
        return _BY_KEY[key]
    if key.startswith("wh_per"):
        return lambda v: format_si(v, "Wh")
    if key.startswith("seconds_per") or key.endswith("_s"):
        return format_duration
    if key.startswith("g_co2e"):
        return format_mass_g
    if key.endswith("_kwh"):
        return _energy_kwh
    if key.endswith("_kg"):
        return _mass_kg
    if key == "cost":
        return lambda v: format_money(v, currency)
    return format_number


def format_band(band: dict[str, Any], fmt: Callable[[float], str]) -> str:
    """``value  (low – high)``, the unit once where all three share it (``41.9 MWh  (25.1 –
    76.4)``), or the value alone when the band is exact."""
    value, low, high = (fmt(band[k]) for k in ("value", "low", "high"))
    if band["low"] == band["high"] == band["value"]:
        return value
    parts = [x.partition(" ") for x in (value, low, high)]
    if len({p[2] for p in parts}) == 1 and parts[0][2]:
        return f"{value}  ({parts[1][0]} – {parts[2][0]})"
    return f"{value}  ({low} – {high})"


def format_assumption_value(value: object, unit: str) -> str:
    """An assumption's value with its unit, for people: numbers by unit (FLOPs and bytes with
    SI prefixes, tokens as ``1.4T``, others grouped), e-notation inside text rewritten."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        text = _E_NOTATION.sub(lambda m: format_number(float(m.group(0))), str(value))
        return f"{text} {unit}".rstrip()
    if unit == "FLOP" or unit.startswith("FLOP/s"):
        head, _, rest = unit.partition(" ")
        return f"{format_flops(x, head)} {rest}".rstrip()
    if unit == "bytes":
        return format_si(x, "B")
    if unit == "tokens":
        return f"{format_count(x)} tokens"
    return f"{format_number(x)} {unit}".rstrip()


def _band_text(key: str, band: dict[str, Any], currency: str | None) -> str:
    """One band for people; a cost with no price (null value or currency): UNKNOWN_PRICE."""
    if key == "cost" and (band.get("value") is None or not currency):
        return UNKNOWN_PRICE
    return format_band(band, _formatter(key, currency))


def _band_rows(key: str, val: dict[str, Any], currency: str | None) -> list[tuple[str, str]]:
    """(label, text) of one top-level entry: a band, or a mapping of bands (boundaries,
    periods)."""
    if {"value", "low", "high"} <= set(val):
        return [(key, _band_text(key, val, val.get("currency", currency)))]
    rows = []
    for name, band in val.items():
        if not (isinstance(band, dict) and {"value", "low", "high"} <= set(band)):
            continue
        per_boundary = key.startswith(("wh_per", "g_co2e_per")) or key == "flops"
        label = f"{key} [{name}]" if per_boundary else f"{key} {name}"
        rows.append((label, _band_text(key if per_boundary else name, band,
                                       band.get("currency", currency))))  # fmt: skip
    return rows


def render(data: dict[str, Any]) -> str:
    """Human-readable rendering of an estimate's dict (``TrainingEstimate`` or
    ``InferenceEstimate`` ``.to_dict()``)."""
    currency = data["cost"].get("currency") if isinstance(data.get("cost"), dict) else None
    rows: list[tuple[str, str]] = []
    no_volume = not data.get("requests_per_day") and "requests_per_day" in data
    for key, val in data.items():
        if no_volume and key in ("daily", "yearly"):
            continue  # no volume given: zero totals would read as a finding
        if isinstance(val, dict) and key not in ("load", "concurrency"):
            rows.extend(_band_rows(key, val, currency))
    width = max((len(label) for label, _ in rows), default=0)
    lines = [f"{data['kind']} estimate: {data['chips']} x {data['hardware']}"]
    lines.extend(f"  {label:<{width}}  {text}" for label, text in rows)
    adm = data.get("concurrency") or {}
    if adm:
        why = " (the KV cache limits it)" if adm.get("limited_by") == "kv_cache" else ""
        lines.append(f"  concurrency: {format_number(adm['admitted'])} sequences admitted of "
                     f"{format_number(adm['requested'])} requested{why}")  # fmt: skip
    if no_volume:
        lines.append("  daily / yearly totals: give --requests-per-day (or a rate)")
    if data.get("breakeven_day") is not None:
        day = format_number(data["breakeven_day"])
        lines.append(f"  serving passes training energy on day {day}")
    if data.get("load"):
        lines.extend(load_lines(data["load"], currency))
    lines.append("assumptions:")
    for a in data.get("assumptions", []):
        shown = format_assumption_value(a["value"], a["unit"])
        lines.append(f"  {a['name']} = {shown} [{a['provenance']}] {a['source']}")
    return "\n".join(lines)


def load_lines(load: dict[str, Any], currency: str | None) -> list[str]:
    """The fleet under a load (``wattwise.estimate.load``), for people."""
    del currency  # energies only; costs are in the daily/yearly rows
    wh = load["wh_per_request_facility_at_saturation"]
    profile = "flat" if load["diurnal"] == "flat" else "diurnal profile"
    itl = format_number(load["itl_ms_at_max_concurrency"])
    lines = [
        f"load: {format_number(load['requests_per_second_mean'])} requests/s mean, "
        f"{format_number(load['requests_per_second_peak'])} at peak ({profile})",
        f"  per replica: {load['chips_per_replica']} chips, up to "
        f"{format_number(load['concurrency_max'])} sequences, "
        f"{format_number(load['capacity_requests_per_s_per_replica'])} requests/s; TTFT "
        f"{format_number(load['ttft_ms'])} ms, ITL {itl} ms",
        f"  at saturation: {format_band(wh, lambda v: format_si(v, 'Wh'))} per request (facility)",
    ]
    slo = load["slo"]
    for key in ("ttft", "itl"):
        if slo[f"{key}_ms"] is not None:
            met = "met" if slo[f"{key}_met"] else "NOT met by this replica layout"
            lines.append(f"  SLO {key.upper()} {format_number(slo[f'{key}_ms'])} ms: {met}")
    for name in ("always_on", "scale_to_zero"):
        sc = load[name]
        per = format_band(sc["wh_per_request_facility"], lambda v: format_si(v, "Wh"))
        day = format_band(sc["energy_kwh_per_day"], _energy_kwh)
        lines.append(
            f"  {name.replace('_', ' ')}: {sc['replicas']} replicas, "
            f"{format_number(sc['replica_hours_per_day'])} replica-h/day, utilisation "
            f"{format_number(sc['utilisation'] * 100)} %, {per} per request incl. idle "
            f"({format_number(sc['idle_share'] * 100)} % idle), {day}/day"
        )
    return lines


def compare_table(rows: Sequence[dict[str, Any]]) -> str:
    """``estimate compare`` for people: one line per accelerator, then each row's provenance."""
    unit = rows[0]["unit"] if rows else "unit"
    head = (f"{'#':>2} {'hardware':<14} {'Wh/' + unit + ' (facility)':<26} {unit + 's/kWh':>11} "
            f"{'per chip/s':>10} {'chips':>5} {'repl./chip-h':>12} {'gCO2e/' + unit:>11} "
            f"{'kWh/year':>10} {'cost/year':>14}")  # fmt: skip
    lines = [head, "-" * len(head)]
    notes = []
    for i, r in enumerate(rows, 1):
        if r.get("error"):
            lines.append(f"{i:>2} {r['hardware']:<14} {r['error']}")
            continue

        def num(v: float | None) -> str:
            return "-" if v is None else format_number(v, 3)

        wh = format_band(r["wh_per_unit"], lambda v: format_si(v, "Wh"))
        extra = r["replicas"] if r["replicas"] is not None else r["chip_hours"]
        cost = (format_money(r["cost_per_year"], r["currency"])
                if r["cost_per_year"] is not None else "unknown")  # fmt: skip
        lines.append(
            f"{i:>2} {r['hardware']:<14} {wh:<26} {num(r['units_per_kwh']):>11} "
            f"{num(r['throughput_per_chip']):>10} {r['chips']:>5} {num(extra):>12} "
            f"{num(r['co2e_location_g_per_unit']):>11} {num(r['kwh_per_year']):>10} {cost:>14}"
        )
        notes.append(f"{i:>2} {r['provenance']}")
    lines.append("sorted by facility Wh per unit; provenance:")
    lines.extend(notes)
    return "\n".join(lines)


def hardware_table(accs: Sequence[Accelerator]) -> str:
    """The catalog as a table (dense peaks in TFLOP/s, memory in GB, bandwidth in GB/s)."""
    head = f"{'name':<17} {'TDP W':>6} {'bf16 TF':>8} {'fp8 TF':>8} {'mem GB':>7} {'BW GB/s':>8}"
    lines = [head, "-" * len(head)]

    def num(v: float | None) -> str:
        return "-" if v is None else format_number(v, 4)

    for a in accs:
        lines.append(
            f"{a.name:<17} {num(a.tdp_w):>6} {num(a.peak_tflops.get('bf16')):>8} "
            f"{num(a.peak_tflops.get('fp8')):>8} {num(a.memory_gb):>7} "
            f"{num(a.memory_bw_gb_s):>8}"
        )
    lines.append("peaks are dense (no sparsity); 'estimate hardware show NAME' for sources")
    return "\n".join(lines)


def _plain(v: object) -> str:
    """A catalog value for people: lists joined, mappings as ``key value``, numbers grouped."""
    if isinstance(v, list | tuple):
        return ", ".join(_plain(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {_plain(x)}" for k, x in v.items())
    if isinstance(v, float):
        return format_number(v, 4)
    return "-" if v is None else str(v)


def hardware_detail(data: dict[str, Any]) -> str:
    """One accelerator's catalog entry, one ``field value`` line each."""
    return "\n".join(f"{k:<20} {_plain(v)}" for k, v in data.items())


def settings_table(settings: Sequence[EstimateSetting]) -> str:
    """The settings table for people: flag, unit or choices, commands; then the help line."""
    lines = []
    for s in settings:
        flags = ", ".join(s.flags)
        kind = "{" + ",".join(s.choices) + "}" if s.choices else f"[{s.unit}]" if s.unit else ""
        where = ", ".join(c + ("*" if c in s.required else "") for c in s.commands)
        default = "" if s.default in (None, False) else f" (default {s.default})"
        lines.append(f"{flags}{' ' + kind if kind else ''}  ({where})")
        lines.append(f"    {s.help}{default}")
    lines.append("* required by that command; site flags also read WATTWISE_* and [tool.wattwise]")
    return "\n".join(lines)
