"""A small YAML writer for the documents wattwise emits (mappings, lists, strings, numbers).

Strings are written double-quoted with JSON's escapes (a subset of YAML's), so every emitted
document reads back the same in any YAML 1.1 / 1.2 parser (PyYAML, js-yaml); keys that are plain
words (``grid/carbon-intensity``, ``functional-unit``) are written bare. No dependency: the model
card and Impact Framework writers stay importable without PyYAML.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_/.-]*$")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def key(k: str) -> str:
    """A mapping key: bare when it is a plain word, else double-quoted."""
    return k if _BARE_KEY.match(k) and k.lower() not in _RESERVED else json.dumps(k)


def scalar(v: object) -> str:
    """One scalar: ``null``, ``true``/``false``, a number (finite only) or a quoted string."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"not a finite number: {v}")
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)


def _lines(obj: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if isinstance(v, Mapping | list | tuple) and v:
                out.append(f"{pad}{key(str(k))}:")
                out += _lines(v, indent + 2)
            else:
                out.append(f"{pad}{key(str(k))}: {_empty_or_scalar(v)}")
        return out
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        for item in obj:
            if isinstance(item, Mapping) and item:
                sub = _lines(item, indent + 2)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out += sub[1:]
            elif isinstance(item, list | tuple) and item:
                out.append(f"{pad}-")
                out += _lines(item, indent + 2)
            else:
                out.append(f"{pad}- {_empty_or_scalar(item)}")
        return out
    return [pad + scalar(obj)]


def _empty_or_scalar(v: object) -> str:
    if isinstance(v, Mapping):
        return "{}"
    if isinstance(v, list | tuple):
        return "[]"
    return scalar(v)


def dumps(obj: Mapping[str, Any], *, header: Sequence[str] = ()) -> str:
    """``obj`` as block-style YAML; ``header`` lines become ``#`` comments at the top."""
    comments = [f"# {line}".rstrip() for line in header]
    return "\n".join([*comments, *_lines(obj, 0)]) + "\n"
