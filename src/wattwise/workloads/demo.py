"""A small built-in generative workload: train a character n-gram model, then generate text.

It needs nothing beyond the standard library, so ``wattwise run`` has something meaningful to
measure on any machine. The corpus is the Python standard library's own documentation strings
(always present), so nothing is downloaded. Run it as ``python -m wattwise.workloads.demo``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter, defaultdict

from wattwise.argtypes import number, whole
from wattwise.workloads.counts import report_count

_CORPUS_MODULES = (
    "argparse",
    "asyncio",
    "collections",
    "csv",
    "datetime",
    "decimal",
    "difflib",
    "email",
    "fractions",
    "functools",
    "http.client",
    "inspect",
    "json",
    "logging",
    "pathlib",
    "pickle",
    "pydoc",
    "random",
    "re",
    "shutil",
    "sqlite3",
    "statistics",
    "subprocess",
    "tarfile",
    "threading",
    "unittest",
    "urllib.request",
    "zipfile",
)


def corpus_text(min_chars: int = 400_000) -> str:
    """Docstrings of standard-library modules and their members: English prose that ships with
    every Python, repeated up to ``min_chars`` characters."""
    import importlib
    import inspect

    parts: list[str] = []
    for name in _CORPUS_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        for _, obj in [("", mod), *inspect.getmembers(mod)]:
            doc = getattr(obj, "__doc__", None) if not isinstance(obj, str) else None
            if isinstance(doc, str) and len(doc) > 200:
                parts.append(doc)
    text = "\n".join(dict.fromkeys(parts)) or "the quick brown fox jumps over the lazy dog. "
    while len(text) < min_chars:
        text += "\n" + text
    return text[:min_chars]


def train(text: str, order: int) -> dict[str, Counter[str]]:
    """Count next-character frequencies after each ``order``-character context."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for i in range(order, len(text)):
        table[text[i - order : i]][text[i]] += 1
    return table


def generate(table: dict[str, Counter[str]], seed: str, n_tokens: int, rng: random.Random) -> str:
    """Sample ``n_tokens`` characters from the model, starting from ``seed``."""
    order = len(seed)
    out = list(seed)
    for _ in range(n_tokens):
        ctx = "".join(out[-order:])
        nxt = table.get(ctx)
        if not nxt:
            out.append(" ")
            continue
        chars, weights = zip(*nxt.items(), strict=True)
        out.append(rng.choices(chars, weights)[0])
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wattwise.workloads.demo", description=__doc__)
    ap.add_argument(
        "--seconds",
        type=number(low=0.0, high=86400.0),
        default=4.0,
        help="approximate run time (default 4)",
    )
    ap.add_argument(
        "--order", type=whole(low=1, high=64), default=4, help="context length in characters"
    )
    args = ap.parse_args(argv)
    rng = random.Random(0)
    t0 = time.perf_counter()
    text = corpus_text()
    table = train(text, args.order)
    report_count(training_chars=len(text))
    seed = text[: args.order]
    produced = 0
    budget = max(0.1, args.seconds - (time.perf_counter() - t0))
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < budget:
        out = generate(table, seed, 256, rng)
        seed = out[-args.order :]
        produced += 256
        report_count(tokens=256, requests=1)
    print(
        f"demo: trained an order-{args.order} character model on {len(text):,} characters, "
        f"generated {produced:,} characters"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
