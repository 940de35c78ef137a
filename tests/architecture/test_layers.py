"""The architecture, enforced: layers, no import cycles, small modules (issue 11 A).

Layers, lowest first (README "Architecture"); an import may point to its own layer or below,
never up, and packages never import each other in a cycle. Lazy imports inside functions count:
they are edges at run time.
"""

from __future__ import annotations

from architecture.imports import SRC, cycles, imported, modules, package_graph, package_of

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core", "jsonsafe"}),
    frozenset({"errors", "units", "validate", "argtypes", "outputs", "progress"}),
    frozenset({"data", "readers", "ledger"}),
    frozenset({"accounting", "estimate", "workloads", "power"}),  # power: GPU/CPU control
    frozenset({"tracker"}),
    # api: track(store=...) opens the ledger; schedule: the carbon-aware planner and its
    # providers; bench: the serving benchmark (a client of an OpenAI-compatible endpoint);
    # push: the team server's client and sink (the API and the integrations add it)
    frozenset({"optimize", "report", "api", "schedule", "bench", "push"}),
    # integrations: callbacks, launchers, MLflow, Prometheus; server: the team server
    frozenset({"audit", "integrations", "server"}),
    frozenset({"cli", "__main__", "wattwise"}),  # wattwise: the public API in __init__
)
MAX_MODULE_LINES = 500


def layer_of(package: str) -> int:
    for i, members in enumerate(LAYERS):
        if package in members:
            return i
    raise AssertionError(f"package {package!r} has no layer: add it to LAYERS (and the README)")


def test_every_package_has_a_layer() -> None:
    for package in package_graph():
        layer_of(package)


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph()) == []


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{src} (layer {layer_of(src)}) imports {dst} (layer {layer_of(dst)})"
        for src, targets in package_graph().items()
        for dst in targets
        if layer_of(dst) > layer_of(src)
    ]
    assert upward == []


def test_nothing_outside_cli_imports_cli() -> None:
    offenders = [
        f"{module} imports {target}"
        for module, path in modules()
        if package_of(module) not in ("cli", "__main__")
        for target in imported(module, path)
        if target == "wattwise.cli" or target.startswith("wattwise.cli.")
    ]
    assert offenders == []


def test_the_tracker_opens_no_ledger() -> None:
    """The tracker emits to sinks it is given (issue 11): ``wattwise.api`` opens the ledger."""
    offenders = [
        f"{module} imports {target}"
        for module, path in modules()
        if package_of(module) == "tracker"
        for target in imported(module, path)
        if target == "wattwise.ledger" or target.startswith("wattwise.ledger.")
    ]
    assert offenders == []


def test_no_source_module_over_500_lines() -> None:
    long = {
        str(path.relative_to(SRC.parent)): n
        for _module, path in modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_graph_sees_real_edges() -> None:
    """Guard against a walker that finds nothing: known edges must be present."""
    g = package_graph()
    assert "readers" in g["tracker"] and "core" in g["ledger"] and "tracker" in g["cli"]
    assert {"tracker", "ledger"} <= g["api"]
