"""JSON output that is always valid JSON: the one helper behind every ``--json`` and export.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no other JSON parser reads.
:func:`dumps` replaces every non-finite float by ``null`` and writes with ``allow_nan=False``;
what was replaced is recorded: a dict document gets a ``nonfinite_as_null`` list of the JSON
paths (``energy.total_j``), and :func:`write` also says so on stderr. Validation at the entry
points means this should never trigger; when it does, the output still parses.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO

#: Key added to a dict document that had non-finite numbers (their JSON paths).
REPLACED_KEY = "nonfinite_as_null"


def finite(obj: Any, path: str = "") -> tuple[Any, list[str]]:
    """``obj`` with every non-finite float replaced by None, and the paths replaced."""
    replaced: list[str] = []

    def walk(x: Any, at: str) -> Any:
        if isinstance(x, float):
            if math.isfinite(x):
                return x
            replaced.append(at or "$")
            return None
        if isinstance(x, dict):
            return {k: walk(v, f"{at}.{k}" if at else str(k)) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [walk(v, f"{at}[{i}]") for i, v in enumerate(x)]
        return x

    return walk(obj, path), replaced


def dumps(obj: Any, *, indent: int | None = None, **kwargs: Any) -> str:
    """``json.dumps`` that never emits NaN / Infinity (see the module docstring)."""
    text, _replaced = dumps_checked(obj, indent=indent, **kwargs)
    return text


def dumps_checked(obj: Any, *, indent: int | None = None, **kwargs: Any) -> tuple[str, list[str]]:
    """:func:`dumps` and the JSON paths whose non-finite values were written as null."""
    clean, replaced = finite(obj)
    if replaced and isinstance(clean, dict):
        clean[REPLACED_KEY] = replaced
    return json.dumps(clean, indent=indent, allow_nan=False, **kwargs), replaced


def write(obj: Any, out: TextIO | None = None, *, indent: int | None = 2) -> None:
    """Write ``obj`` as one valid JSON document and a newline (default: stdout)."""
    text, replaced = dumps_checked(obj, indent=indent)
    (out or sys.stdout).write(text + "\n")
    if replaced:
        shown = ", ".join(replaced[:5]) + (", ..." if len(replaced) > 5 else "")
        sys.stderr.write(
            f"wattwise: warning: {len(replaced)} non-finite value(s) written as null: {shown}\n"
        )
