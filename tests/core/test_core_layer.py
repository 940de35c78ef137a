"""wattwise.core is the lowest layer: it imports the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import wattwise.core

CORE = Path(wattwise.core.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_core_imports_only_the_standard_library_and_itself() -> None:
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 7
    for path in files:
        for module in _imports(path):
            top = module.split(".")[0]
            if top == "wattwise":
                assert module.startswith("wattwise.core"), f"{path.name} imports {module}"
            else:
                assert top in sys.stdlib_module_names, f"{path.name} imports {module}"


def test_importing_core_loads_no_other_wattwise_package() -> None:
    code = (
        "import sys, wattwise.core, wattwise.core.defaults, wattwise.core.documents;"
        "print(sorted(m for m in sys.modules if m.startswith('wattwise.')"
        " and not m.startswith('wattwise.core')))"
    )
    env = {**os.environ, "PYTHONPATH": str(CORE.parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, env=env).stdout  # fmt: skip
    assert out.strip() == "[]"
