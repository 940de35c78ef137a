"""The serving benchmark (``wattwise bench serve``): energy per output token, throughput and
latency percentiles of an OpenAI-compatible endpoint (vLLM, TGI, SGLang, ``transformers
serve``) under closed- or open-loop load. Needs the ``serving`` extra (httpx; ``transformers
serve`` for ``--launch-builtin``); nothing is imported until a function is called.

    bench_serve(BenchOptions(url=..., concurrency=[1, 8])) -> result document (dict)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_LAZY = {
    "bench_serve": ("wattwise.bench.serve", "bench_serve"),
    "BenchOptions": ("wattwise.bench.serve", "BenchOptions"),
    "export_builtin": ("wattwise.bench.export", "export_builtin"),
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.bench.export import export_builtin as export_builtin
    from wattwise.bench.serve import BenchOptions as BenchOptions
    from wattwise.bench.serve import bench_serve as bench_serve


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
