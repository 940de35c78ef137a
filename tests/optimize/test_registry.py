"""The lab's techniques as a registry: every shipped module registers, needs and dependencies
are declared and honoured, failures skip one technique only, and a technique added in one
module of its own runs in the lab (and the CLI) without a change to the lab."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wattwise.errors import ConfigError
from wattwise.optimize import registry
from wattwise.optimize.registry import Built, Context, Technique
from wattwise.optimize.subject import Subject
from wattwise.optimize.types import Comparison, Skipped, TechniqueSkipped, Variant
from wattwise.tracker.core import Tracker

SHIPPED = (
    "int8-dynamic",
    "int8-weight",
    "int4-weight",
    "prune-unstructured",
    "prune-structured",
    "distill",
    "transfer",
    "combined",
    "speculative",
    "lean",
    "compiled",
    "batched",
    "bf16",
)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped techniques, in a registry that is restored after the test."""
    registry.techniques()  # discover the shipped modules first
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    t = Tracker("registry-test", interval_s=0.5).start()
    yield t
    t.stop()


def _subject(builtin: Any = None) -> Subject:
    return Subject("module:T", object(), None, None, None, None, 16, 4, 8, 64, 0.1, 1, 2, builtin)


def _ctx(tracker: Any, requested: list[str], budget_s: float = 10.0) -> Context:
    return Context(_subject(), tracker, lambda _m: None, budget_s, 2, frozenset(requested))


def test_every_shipped_module_registers_the_lab_s_techniques_in_order() -> None:
    from wattwise.optimize import techniques as package

    assert registry.names() == SHIPPED
    modules = {t.build.__module__ for t in registry.techniques()}
    shipped = {
        f"{package.__name__}.{m.name}"
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_")
    }
    assert modules == shipped  # no module that registers nothing, none outside the package


def test_each_technique_declares_what_it_needs_and_builds_on() -> None:
    rows = {r["name"]: r for r in registry.describe()}
    assert list(rows) == list(SHIPPED) and all(r["summary"] for r in rows.values())
    assert rows["compiled"]["needs"] == ["the built-in model", "a C++ compiler (TorchInductor)"]
    assert rows["compiled"]["uses"] == ["speculative"]
    assert rows["combined"]["uses"] == ["prune-structured", "distill"]
    assert rows["distill"]["budget"] == {"distill": 0.25}
    assert rows["int8-dynamic"]["needs"] == [] and rows["int8-dynamic"]["uses"] == []


def test_listing_the_techniques_imports_no_torch() -> None:
    """Declarations are cheap: names and needs are read without the optimize extra."""
    code = (
        "import sys; from wattwise.optimize import registry; registry.describe(); "
        "registry.parse_techniques('all'); assert 'torch' not in sys.modules, 'torch imported'"
    )
    src = str(Path(registry.__file__).parents[2])
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": src}, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()


def test_budget_shares_of_all_techniques_add_up_to_at_most_the_budget() -> None:
    shares = registry.budget_shares()
    assert shares and all(0 < s <= 1 for s in shares.values())
    assert sum(shares.values()) <= 1.0
    assert set(shares) == {
        "prune-unstructured",
        "prune-structured",
        "distill",
        "transfer-scratch",
        "transfer-finetune",
    }


def test_the_lab_names_no_technique() -> None:
    """Adding a technique never touches lab.py: it holds no technique name."""
    from wattwise.optimize import lab

    tree = ast.parse(Path(lab.__file__).read_text())
    docstrings = {
        id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)
    }  # prose may say "distillation"; code may not name a technique
    words = {
        w
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
        for w in re.split(r"[^a-z0-9+%-]+", n.value.lower())
    }
    assert words & set(registry.names()) == set()
    assert "baseline" in words  # the check sees the lab's own strings


def test_the_audit_default_techniques_resolve() -> None:
    from wattwise.audit.pipeline import DEFAULT_TECHNIQUES

    picked = registry.parse_techniques(DEFAULT_TECHNIQUES)
    assert [t.name for t in registry.resolve(picked)] == [
        n for n in SHIPPED if n in DEFAULT_TECHNIQUES.split(",")
    ]


def test_unknown_technique_lists_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown technique int3-magic; choose from int8-dyn"):
        registry.parse_techniques("int8-dynamic, int3-magic")
    assert registry.parse_techniques(" all ") == list(SHIPPED)
    assert registry.parse_techniques(None) == list(SHIPPED)


def test_used_techniques_run_first_and_are_never_requested_implicitly(
    scratch_registry: None,
) -> None:
    def nothing(_ctx: Context) -> Iterator[Built]:
        yield from ()

    registry.register(Technique("t-late", nothing, "", order=1))
    registry.register(Technique("t-early", nothing, "", order=0, uses=("t-late",)))
    assert [t.name for t in registry.resolve(["t-early", "t-late"])] == ["t-late", "t-early"]
    assert [t.name for t in registry.resolve(["t-early"])] == ["t-early"]
    registry.register(Technique("t-late", nothing, "", order=1, uses=("t-early",)))
    with pytest.raises(RuntimeError, match="cycle"):
        registry.resolve(["t-early", "t-late"])


def test_a_name_taken_by_another_module_is_refused(scratch_registry: None) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Technique("int8-dynamic", lambda _c: [], "mine"))
    with pytest.raises(ValueError, match="cannot be a technique name"):
        registry.register(Technique("all", lambda _c: [], "mine"))


def test_reading_a_technique_not_declared_in_uses_is_refused(tracker: Tracker) -> None:
    ctx = _ctx(tracker, ["combined", "distill"])
    by = {t.name: t for t in registry.techniques()}
    assert ctx.bound(by["combined"]).use("distill") == {}  # declared, requested, built nothing
    assert ctx.bound(by["compiled"]).use("speculative") is None  # declared, not requested
    with pytest.raises(LookupError, match="without declaring it"):
        ctx.bound(by["int8-dynamic"]).use("distill")


def test_unmet_needs_give_the_reason_and_what_to_do(tracker: Tracker) -> None:
    by = {t.name: t for t in registry.techniques()}
    ctx = _ctx(tracker, ["distill"], budget_s=1.0)
    assert "--model builtin" in str(by["distill"].unmet(ctx.bound(by["distill"])))
    with_builtin = Context(
        _subject(builtin=object()), tracker, lambda _m: None, 1.0, 2, frozenset(["distill"])
    )
    reason = by["distill"].unmet(with_builtin.bound(by["distill"]))
    assert reason is not None and "give --budget-s 4 or more" in reason  # 1 s / 0.25
    assert by["int8-dynamic"].unmet(ctx.bound(by["int8-dynamic"])) is None


def test_a_failing_technique_is_skipped_and_the_others_keep_their_outcomes(
    scratch_registry: None, tracker: Tracker
) -> None:
    from wattwise.optimize.lab import build_all

    comparison = Comparison("c", "d", [], "done")

    def ok(ctx: Context) -> Iterator[Built | Skipped | Comparison]:
        yield ctx.variant("ok-variant", ["ok"], lambda: "model", "a note", "")
        yield ctx.variant("skips", ["x"], _raise(TechniqueSkipped("no kernel here")))
        yield comparison

    def breaks(ctx: Context) -> Iterator[Built]:
        yield ctx.variant("half", ["h"], lambda: "model-2")
        raise RuntimeError("boom")

    def needs_more(_ctx: Context) -> Iterator[Built]:
        raise AssertionError("never built: its need is unmet")

    registry.register(Technique("t-ok", ok, ""))
    registry.register(Technique("t-breaks", breaks, ""))
    never = registry.Need("nothing", lambda _c: "not here; do this instead")
    registry.register(Technique("t-needs", needs_more, "", needs=(never,)))
    ctx = _ctx(tracker, ["t-ok", "t-breaks", "t-needs"])
    built, skipped, comparisons = build_all(ctx, registry.resolve(["t-ok", "t-breaks", "t-needs"]))
    # same order: by name; what a technique built before it failed is kept
    assert [b.variant.name for b in built] == ["half", "ok-variant"]
    assert built[1].variant.notes == ["a note"] and built[1].technique == "t-ok"
    assert built[1].variant.optimisation_energy_j >= 0 and built[1].variant.optimisation_s > 0
    assert [(s.technique, s.reason) for s in skipped] == [
        ("t-breaks", "failed: RuntimeError: boom"),
        ("t-needs", "not here; do this instead"),
        ("skips", "no kernel here"),
    ]
    assert comparisons == [comparison]


def _raise(exc: Exception) -> Any:
    def fn() -> Any:
        raise exc

    return fn


def test_parts_count_in_a_derived_variant_s_optimisation_energy(tracker: Tracker) -> None:
    ctx = _ctx(tracker, [])
    part = Built(Variant("p", ["p"], optimisation_energy_j=5.0, optimisation_s=2.0), "m")
    made = ctx.variant("d", ["p", "q"], lambda: "m2", parts=(part,))
    assert isinstance(made, Built)
    assert made.variant.optimisation_energy_j >= 5.0 and made.variant.optimisation_s >= 2.0
    dec = ctx.variant("dec", ["d"], lambda: "artifact", decoder=lambda a: (lambda *_x: a))
    assert isinstance(dec, Built)
    assert dec.model is ctx.subject.model and dec.artifact == "artifact"  # the subject's weights
    assert dec.gen is not None and dec.gen(None, None, 1, None) == "artifact"


NEW_TECHNIQUE = '''
"""A technique of its own: an exact copy of the model (a lossless no-op)."""

import copy

from wattwise.optimize.registry import Technique, register


def _build(ctx):
    yield ctx.variant(
        "copy-of-baseline",
        ["deepcopy"],
        lambda: copy.deepcopy(ctx.subject.model),
        "an identical copy",
    )


register(Technique("copy", _build, "an identical copy of the model"))
'''


def test_a_technique_registered_in_one_module_appears_in_the_lab(
    scratch_registry: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from wattwise.cli import optimize as cli
    from wattwise.optimize import lab

    path = tmp_path / "my_technique.py"
    path.write_text(NEW_TECHNIQUE)
    spec = importlib.util.spec_from_file_location("my_technique", path)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert "copy" in lab.TECHNIQUES

    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers())
    argv = ["optimize", "--size", "tiny", "--techniques", "copy", "--rounds", "1", "--json"]
    args = p.parse_args([*argv, "--no-store", "--budget-s", "0"])
    assert args.handler(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in doc["variants"]] == ["baseline", "copy-of-baseline"]
    base, mine = doc["variants"]
    assert mine["techniques"] == ["deepcopy"] and mine["notes"] == ["an identical copy"]
    assert mine["perplexity"] == base["perplexity"] and mine["params"] == base["params"]
    assert mine["greedy_equal"] == mine["greedy_prompts"] > 0  # measured like any variant
    assert mine["j_per_token"] > 0 and doc["settings"]["techniques"] == ["copy"]
    assert doc["skipped"] == []
