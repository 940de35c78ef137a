"""The import graph of wattwise's packages, read from the source (no module is imported)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "wattwise"


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted module name, path) of every module under src/wattwise."""
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def package_of(module: str) -> str:
    """``wattwise.tracker.core`` -> ``tracker``; top-level modules are their own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "wattwise"


def imported(module: str, path: Path) -> Iterator[str]:
    """Every wattwise module ``module`` imports, at any depth (lazy imports included),
    except under ``if TYPE_CHECKING:`` (no run-time edge)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("wattwise"):
                    yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.startswith("wattwise"):
                yield name


def package_graph() -> dict[str, set[str]]:
    """package -> the packages it imports (edges within a package left out)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules():
        src = package_of(module)
        graph.setdefault(src, set())
        for target in imported(module, path):
            dst = package_of(target)
            if dst != src and target != "wattwise":
                graph[src].add(dst)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out
