"""Check a JSON value against a TypedDict shape at run time, recursively (issue 11).

:class:`Shapes` walks a value along a type hint: a TypedDict must have all of its required keys
and no key it does not declare; lists, dicts, tuples, unions, literals and the JSON scalars are
checked element by element. It records, per TypedDict, the keys it saw present and absent, so a
test can ask that each optional key is really optional (absent somewhere, present somewhere)
and that every shape of a module was exercised.
"""

from __future__ import annotations

import types
import typing
from collections import defaultdict
from typing import Any, Literal, get_args, get_origin, get_type_hints, is_typeddict


class Shapes:
    """Errors (``path: what``) and key statistics of the values checked so far."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.present: dict[str, set[str]] = defaultdict(set)
        self.absent: dict[str, set[str]] = defaultdict(set)

    def check(self, value: object, hint: Any, path: str = "$") -> None:
        """Record every way ``value`` does not match ``hint`` (nothing when it matches)."""
        self.errors += self._walk(value, hint, path)

    def _walk(self, value: object, hint: Any, path: str) -> list[str]:
        if hint is Any:
            return []
        if is_typeddict(hint):
            return self._typeddict(value, hint, path)
        origin, args = get_origin(hint), get_args(hint)
        if origin in (typing.Union, types.UnionType):
            return self._union(value, args, path)
        if origin is Literal:
            return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
        if origin is list:
            if not isinstance(value, list):
                return [f"{path}: {type(value).__name__}, not a list"]
            return [e for i, v in enumerate(value) for e in self._walk(v, args[0], f"{path}[{i}]")]
        if origin is tuple:  # a tuple in memory, a list once it went through JSON
            if not isinstance(value, list | tuple) or len(value) != len(args):
                return [f"{path}: {value!r} is not a {len(args)}-tuple"]
            pairs = enumerate(zip(value, args, strict=True))
            return [e for i, (v, a) in pairs for e in self._walk(v, a, f"{path}[{i}]")]
        if origin is dict:
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                return [f"{path}: {value!r} is not an object with text keys"]
            return [e for k, v in value.items() for e in self._walk(v, args[1], f"{path}.{k}")]
        return self._scalar(value, hint, path)

    def _typeddict(self, value: object, hint: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not a {hint.__name__} object"]
        keys = set(value)
        required, optional = set(hint.__required_keys__), set(hint.__optional_keys__)
        errors = [f"{path}: {hint.__name__} lacks required {k!r}" for k in sorted(required - keys)]
        errors += [
            f"{path}: {hint.__name__} has no key {k!r}" for k in sorted(keys - required - optional)
        ]
        hints = get_type_hints(hint)
        for k in sorted(keys & set(hints)):
            errors += self._walk(value[k], hints[k], f"{path}.{k}")
        if not errors:  # statistics of matching values only (a union tries several shapes)
            self.present[hint.__name__] |= keys
            self.absent[hint.__name__] |= optional - keys
        return errors

    def _union(self, value: object, args: tuple[Any, ...], path: str) -> list[str]:
        tried: list[str] = []
        for arg in args:
            before = ({k: set(v) for k, v in self.present.items()},
                      {k: set(v) for k, v in self.absent.items()})  # fmt: skip
            errors = self._walk(value, arg, path)
            if not errors:
                return []
            tried += errors  # this shape did not match: forget what it recorded
            self.present, self.absent = defaultdict(set, before[0]), defaultdict(set, before[1])
        return [f"{path}: {value!r} matches none of {args}: {'; '.join(tried)}"]

    @staticmethod
    def _scalar(value: object, hint: Any, path: str) -> list[str]:
        if hint is type(None):
            ok = value is None
        elif hint is float:  # JSON has one number type: an int is a float here (never a bool)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif hint in (str, bool):
            ok = isinstance(value, hint)
        else:
            return [f"{path}: the checker does not know the type {hint!r}"]
        return [] if ok else [f"{path}: {value!r} is not a {hint.__name__}"]
