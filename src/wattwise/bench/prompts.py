"""Prompts of a serving benchmark: the built-in chat set or a JSON Lines file.

The built-in set is cut from the public-domain texts shipped with the package (the King James
Bible and the Jargon File, :mod:`wattwise.optimize.corpus`): passages of 1 to 13 lines from
across each book, under one of a few instructions, so prompt lengths vary from a line to a
page, as a chat service's do. It is deterministic: the same prompts in the same order.

A ``--dataset`` file holds one JSON object per line: ``{"messages": [{"role": ..., "content":
...}, ...]}`` (Chat Completions) or ``{"prompt": "..."}`` (Completions), optionally with
``"max_tokens"``. Blank lines are skipped; a bad line is an error naming its line number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wattwise.bench.client import Prompt
from wattwise.errors import ConfigError

#: Prompts in the built-in set.
BUILTIN_SIZE = 64
#: Lines per passage, in turn: varied lengths.
PASSAGE_LINES = (1, 3, 8, 2, 13, 5)
INSTRUCTIONS = (
    "Continue this passage in the same style:",
    "Summarise the following passage in one sentence:",
    "Explain, in plain words, what this passage says:",
    "Retell this passage for a child:",
)
#: Errors listed before "and N more" when a file has several bad lines.
MAX_LISTED_ERRORS = 3
MAX_PROMPT_TOKENS = 1_000_000


def builtin_prompts(n: int = BUILTIN_SIZE) -> list[Prompt]:
    """``n`` chat prompts cut from the shipped public-domain texts (see the module docstring)."""
    from wattwise.optimize.corpus import load_text

    books = [
        [ln for ln in load_text(name).splitlines() if len(ln) > 20] for name in ("kjv", "jargon")
    ]
    out: list[Prompt] = []
    for i in range(n):
        lines = books[i % 2]
        span = PASSAGE_LINES[i % len(PASSAGE_LINES)]
        start = (i * 7919 * 613) % max(1, len(lines) - span)  # spread over the whole book
        passage = "\n".join(lines[start : start + span])
        text = f"{INSTRUCTIONS[i % len(INSTRUCTIONS)]}\n\n{passage}"
        out.append(Prompt(messages=({"role": "user", "content": text},)))
    return out


def _messages(value: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('"messages" must be a non-empty list of {"role", "content"} objects')
    out: list[dict[str, str]] = []
    for j, m in enumerate(value):
        if not (isinstance(m, dict) and isinstance(m.get("role"), str)
                and isinstance(m.get("content"), str)):  # fmt: skip
            raise ValueError(f'message {j + 1} needs string "role" and "content"')
        out.append({"role": m["role"], "content": m["content"]})
    return tuple(out)


def parse_line(line: str) -> Prompt:
    """One dataset line as a :class:`Prompt`; ValueError says what is wrong with it."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc.args[0] if exc.args else exc})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    max_tokens = obj.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
        or not 1 <= max_tokens <= MAX_PROMPT_TOKENS
    ):  # fmt: skip
        raise ValueError('"max_tokens" must be a whole number >= 1')
    if "messages" in obj:
        return Prompt(messages=_messages(obj["messages"]), max_tokens=max_tokens)
    if isinstance(obj.get("prompt"), str) and obj["prompt"]:
        return Prompt(prompt=obj["prompt"], max_tokens=max_tokens)
    raise ValueError('needs "messages" (a list) or "prompt" (a non-empty string)')


def load_dataset(path: str) -> list[Prompt]:
    """The prompts of the JSON Lines file ``path``; ConfigError lists the bad lines by number."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--dataset {path}: cannot read it ({exc})") from None
    prompts: list[Prompt] = []
    errors: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            prompts.append(parse_line(line))
        except ValueError as exc:
            errors.append(f"line {lineno}: {exc}")
    if errors:
        more = len(errors) - MAX_LISTED_ERRORS
        listed = "; ".join(errors[:MAX_LISTED_ERRORS]) + (f"; and {more} more" if more > 0 else "")
        raise ConfigError(f"--dataset {path}: {len(errors)} bad line(s): {listed}")
    if not prompts:
        raise ConfigError(f"--dataset {path}: no prompt in the file")
    return prompts
