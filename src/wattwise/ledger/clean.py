"""The ledger's second line of defence against values it cannot store (pure, never raises).

The tracker cleans what enters it (``wattwise.validate``); the ledger cleans again at the write,
so a NaN count or an infinite energy never fails a write (``NOT NULL constraint failed``) nor
reaches a JSON document as ``NaN``/``Infinity``. Every refused value is dropped (a count, a
sample, a window) or replaced by "unknown" (a sample's power, a gap's end, a JSON value), and
the refusal is returned as a note that the ledger stores with the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from typing import Any

from wattwise.core.run import ComponentEnergy, Gap, RunResult, Sample, WindowResult
from wattwise.validate import clean_number, storable_text


def _finite(value: object) -> float | None:
    return clean_number(value, low=None).value


def clean_samples(samples: Sequence[Sample]) -> tuple[list[Sample], list[str]]:
    """Samples with non-finite values removed: no time → dropped; bad power/energy → None."""
    out: list[Sample] = []
    dropped = blanked = 0
    for s in samples:
        t_s = _finite(s.t_s)
        if t_s is None:
            dropped += 1
            continue
        power_w = None if s.power_w is None else _finite(s.power_w)
        energy_j = None if s.energy_j is None else _finite(s.energy_j)
        blanked += (power_w is None) != (s.power_w is None)
        blanked += (energy_j is None) != (s.energy_j is None)
        if t_s != s.t_s or power_w != s.power_w or energy_j != s.energy_j:
            s = Sample(s.device_id, t_s, power_w, energy_j)
        out.append(s)
    notes = []
    if dropped:
        notes.append(f"ledger: {dropped} sample(s) with a non-finite time refused")
    if blanked:
        notes.append(f"ledger: {blanked} non-finite sample value(s) refused (stored as unknown)")
    return out, notes


def clean_gaps(gaps: Sequence[Gap]) -> tuple[list[Gap], list[str]]:
    """Gaps with a non-finite start dropped; a non-finite end stored as still open."""
    out: list[Gap] = []
    refused = 0
    for g in gaps:
        start_s = _finite(g.start_s)
        if start_s is None:
            refused += 1
            continue
        end_s = None if g.end_s is None else _finite(g.end_s)
        refused += (end_s is None) != (g.end_s is None)
        out.append(Gap(g.device_id, start_s, end_s, str(g.error)))
    notes = [f"ledger: {refused} non-finite gap time(s) refused"] if refused else []
    return out, notes


def clean_counts(counts: Mapping[str, Any], where: str) -> tuple[dict[str, float], list[str]]:
    """Counts that are finite and >= 0; each refused one gives a note naming it."""
    out: dict[str, float] = {}
    notes = []
    for unit, n in counts.items():
        c = clean_number(n, low=0.0)
        if c.value is None:
            notes.append(f"ledger: count {unit}={n!r}{where} refused: {c.reason}")
        else:
            out[str(unit)] = c.value
    return out, notes


def _clean_component(c: ComponentEnergy, where: str, notes: list[str]) -> ComponentEnergy:
    energy = clean_number(c.energy_j, low=0.0)
    missing = clean_number(c.missing_s, low=0.0)
    if energy.value is not None and missing.value is not None:
        if energy.value == c.energy_j and missing.value == c.missing_s:
            return c
        return replace(c, energy_j=energy.value, missing_s=missing.value)
    fixed = c
    if energy.value is None:
        notes.append(f"ledger: energy of {c.device_id}{where} refused: {energy.reason}")
        fixed = replace(fixed, energy_j=0.0, note=f"energy refused ({energy.reason}); {c.note}")
    if missing.value is None:
        notes.append(f"ledger: missing_s of {c.device_id}{where} refused: {missing.reason}")
        fixed = replace(fixed, missing_s=0.0)
    return fixed


def clean_result(result: RunResult) -> RunResult:
    """``result`` with every non-finite number refused, the refusals added to its notes."""
    notes: list[str] = []
    duration = clean_number(result.duration_s, low=0.0)
    if duration.value is None:
        notes.append(f"ledger: run duration refused: {duration.reason}")
    components = tuple(_clean_component(c, "", notes) for c in result.components)
    counts, count_notes = clean_counts(result.counts, "")
    notes += count_notes
    windows: list[WindowResult] = []
    for w in result.windows:
        start, end = _finite(w.start_s), _finite(w.end_s)
        if start is None or end is None:
            notes.append(f"ledger: window {w.name!r} refused: its start or end is not finite")
            continue
        where = f" in window {w.name!r}"
        w_counts, w_notes = clean_counts(w.counts, where)
        notes += w_notes
        windows.append(
            replace(
                w,
                start_s=start,
                end_s=end,
                counts=w_counts,
                components=tuple(_clean_component(c, where, notes) for c in w.components),
            )
        )
    samples, s_notes = clean_samples(result.samples)
    gaps, g_notes = clean_gaps(result.gaps)
    notes += s_notes + g_notes
    if not notes and duration.value == result.duration_s:
        return result
    return replace(
        result,
        duration_s=duration.value if duration.value is not None else 0.0,
        components=components,
        counts=counts,
        windows=tuple(windows),
        samples=tuple(samples),
        gaps=tuple(gaps),
        notes=tuple(result.notes) + tuple(n for n in notes if n not in result.notes),
    )


def clean_json(value: Any) -> tuple[Any, int]:
    """``value`` with non-finite floats replaced by None (JSON has no NaN); and how many."""
    if isinstance(value, float):
        return (value, 0) if math.isfinite(value) else (None, 1)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        n = 0
        for k, v in value.items():
            out[str(k)], m = clean_json(v)
            n += m
        return out, n
    if isinstance(value, (list, tuple)):
        items = [clean_json(v) for v in value]
        return [v for v, _ in items], sum(m for _, m in items)
    return value, 0


clean_text = storable_text  # one rule for names and every stored string


def clean_texts(value: Any) -> tuple[Any, int]:
    """``value`` with every string in it (dataclass fields, mapping keys and values, list items)
    made storable by :func:`clean_text`; and how many strings changed. Never raises."""
    if isinstance(value, Enum):
        return value, 0
    if isinstance(value, str):
        fixed = clean_text(value)
        return fixed, int(fixed != value)
    if is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        n = 0
        for f in fields(value):
            old = getattr(value, f.name)
            new, m = clean_texts(old)
            if m:
                changes[f.name] = new
                n += m
        return (replace(value, **changes) if changes else value), n
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        n = 0
        for k, v in value.items():
            k2, a = clean_texts(k)
            v2, b = clean_texts(v)
            out[k2] = v2
            n += a + b
        return (out if n else value), n
    if isinstance(value, (list, tuple)):
        items = [clean_texts(v) for v in value]
        n = sum(m for _, m in items)
        if not n:
            return value, 0
        seq = [v for v, _ in items]
        return (tuple(seq) if isinstance(value, tuple) else seq), n
    return value, 0


def text_note(op_name: str, changed: int) -> str:
    """The run's note that ``changed`` strings of a write were altered to be storable."""
    return (
        f"ledger: {changed} text value(s) of {op_name} held bytes that are not UTF-8 or NUL "
        "characters: stored with backslash escapes (\\xNN) and without NULs"
    )


def clean_op_texts(op_name: str, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The data of a ledger write with its strings made storable (:func:`clean_texts`), and a
    note to store separately when something changed and the write carries no notes of its own
    (else empty: the note was added to the write's notes)."""
    data, changed = clean_texts(data)
    if not changed:
        return data, ""
    note = text_note(op_name, changed)
    if op_name == "finish_run":
        result = data["result"]
        data["result"] = replace(result, notes=(*result.notes, note))
        return data, ""
    if "notes" in data:
        data["notes"] = [*data["notes"], note]
        return data, ""
    return data, note
