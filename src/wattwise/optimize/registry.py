"""The lab's techniques as a registry: each technique declares its name, what it needs, its
share of the training budget and the techniques whose variants it builds on, and builds its
variants; :mod:`wattwise.optimize.lab` only resolves, loops, measures and compares.

A technique is one module in :mod:`wattwise.optimize.techniques` (found there on first use) or
anywhere else, calling :func:`register` at import::

    register(Technique("int8-dynamic", _build, order=10, summary="...", needs=(...,)))

``build(ctx)`` yields :class:`Built` variants (most through :meth:`Context.variant`, which
builds inside a tracker window whose energy is the variant's optimisation energy),
:class:`~wattwise.optimize.types.Skipped` entries with the reason, and
:class:`~wattwise.optimize.types.Comparison` rows. Dependencies are declared: a technique names
in ``uses`` the techniques whose variants it reads (:meth:`Context.use`); they run first when
requested and are never requested implicitly. Nothing here imports torch.
"""

from __future__ import annotations

import functools
import importlib
import math
import pkgutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wattwise.errors import ConfigError, WattwiseError
from wattwise.optimize.types import Comparison, Skipped, TechniqueSkipped, Variant

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.optimize.subject import Subject

#: A training step given less than this many seconds is skipped (or run without recovery).
MIN_TRAIN_S = 1.0

Say = Callable[[str], None]
#: The lab's generate function: (model, prompt ids [B, T], new tokens, on_step) -> ids.
Gen = Callable[[Any, Any, int, Any], Any]

#: Failures of a technique that skip it (with the reason) instead of ending the lab.
FAILURES = (WattwiseError, RuntimeError, ValueError, NotImplementedError)


@dataclass
class Built:
    """A variant a technique built: the :class:`Variant` to measure, the model it runs,
    ``gen`` (None: the subject's own generate function), ``artifact`` (what dependants reuse:
    a draft table, a compiled decoder), ``compressed_size`` (report the gzip size) and
    ``technique`` (set by the lab: the technique that built it)."""

    variant: Variant
    model: Any
    gen: Gen | None = None
    artifact: Any = None
    compressed_size: bool = False
    technique: str = ""


@dataclass(frozen=True)
class Need:
    """Something a technique needs here: ``what`` in a few words; ``unmet(ctx)`` None when
    met, else the reason the technique is skipped (saying what to do instead)."""

    what: str
    unmet: Callable[[Context], str | None]


@dataclass(frozen=True)
class Technique:
    """One technique of the lab (see the module docstring).

    ``summary``: one line for listings (:func:`describe`); ``order``: its place among the
    variants (shipped techniques: 10, 20, ...; default after them); ``needs``: checked before
    ``build`` runs (torch is not listed: the lab needs it for every technique); ``budget``:
    training step -> share of the lab's ``budget_s`` (the shares of all techniques add up to
    at most 1); ``uses``: techniques whose variants it builds on."""

    name: str
    build: Callable[[Context], Iterable[Built | Skipped | Comparison]]
    summary: str
    order: int = 1000
    needs: tuple[Need, ...] = ()
    budget: Mapping[str, float] = field(default_factory=dict)
    uses: tuple[str, ...] = ()

    def unmet(self, ctx: Context) -> str | None:
        """The reason of the first unmet need, or None."""
        for need in self.needs:
            reason = need.unmet(ctx)
            if reason:
                return reason
        return None


@dataclass(frozen=True)
class Context:
    """What a technique's ``build`` gets: the subject (model, data, tokenizer), the lab's
    tracker, progress, the training budget (s), the larger batch size, the requested technique
    names and the variants built so far (the lab fills ``outputs``)."""

    subject: Subject
    tracker: Any
    say: Say
    budget_s: float
    batch_size: int
    requested: frozenset[str]
    outputs: dict[str, list[Built]] = field(default_factory=dict)
    technique: Technique | None = None
    #: TorchInductor options of compiled techniques (None: their defaults).
    compile_options: dict[str, Any] | None = None

    def bound(self, technique: Technique) -> Context:
        """This context for ``technique`` (its budget shares and declared uses)."""
        return replace(self, technique=technique)

    def share_s(self, step: str) -> float:
        """Seconds of training the current technique's ``step`` may spend."""
        assert self.technique is not None, "share_s() needs a technique (Context.bound)"
        return self.budget_s * self.technique.budget[step]

    def train_kw(self) -> dict[str, Any]:
        """Batch and sequence length of training steps (the built-in spec's, else 8)."""
        b = self.subject.builtin
        return {"batch": b.spec.batch if b is not None else 8, "seq": self.subject.seq}

    def use(self, technique: str) -> dict[str, Built] | None:
        """The variants ``technique`` built (variant name -> Built; empty when it was
        skipped), None when it was not requested. Only for techniques declared in ``uses``."""
        me = self.technique
        if me is None or technique not in me.uses:
            raise LookupError(
                f"technique {me.name if me else '?'!r} reads {technique!r} without declaring it "
                "in uses="
            )
        if technique not in self.requested:
            return None
        return {b.variant.name: b for b in self.outputs.get(technique, [])}

    def variant(
        self,
        name: str,
        techniques: list[str],
        make: Callable[[], Any],
        *notes: str,
        parts: Sequence[Built] = (),
        decoder: Callable[[Any], Gen] | None = None,
        compressed_size: bool = False,
    ) -> Built | Skipped:
        """Build variant ``name`` with ``make()`` inside a tracker window (its optimisation
        energy and seconds, plus those of ``parts``, the variants it is built from).
        ``make`` returns the variant's model or, with ``decoder``, an artifact (a draft, a
        compiled decoder) that ``decoder(artifact)`` turns into the generate function of a
        variant that runs the subject's own weights. A skip or failure becomes a Skipped."""
        self.say(f"optimising: {name}")
        t0 = time.perf_counter()
        try:
            with self.tracker.window(f"optimise/{name}") as w:
                made = make()
        except TechniqueSkipped as exc:
            self.say(f"skipped {name}: {exc}")
            return Skipped(name, str(exc))
        except FAILURES as exc:
            self.say(f"skipped {name}: {exc}")
            return Skipped(name, f"failed: {type(exc).__name__}: {exc}")
        v = Variant(name, techniques, notes=[n for n in notes if n])
        v.optimisation_s = time.perf_counter() - t0 + sum(p.variant.optimisation_s for p in parts)
        v.optimisation_energy_j = (w.result.energy.total_j if w.result is not None else 0.0) + sum(
            p.variant.optimisation_energy_j for p in parts
        )
        if decoder is None:
            return Built(v, made, compressed_size=compressed_size)
        return Built(v, self.subject.model, decoder(made), made, compressed_size)


# --------------------------------------------------------------------------------------------
# Needs
# --------------------------------------------------------------------------------------------


def builtin_model(why: str) -> Need:
    """Needs the built-in model (``why``: what for)."""

    def unmet(ctx: Context) -> str | None:
        return None if ctx.subject.builtin is not None else f"{why}; run it with --model builtin"

    return Need("the built-in model", unmet)


def cxx_compiler() -> Need:
    """Needs a C++ compiler for TorchInductor."""

    def unmet(_ctx: Context) -> str | None:
        from wattwise.optimize import compiled

        return None if compiled.cxx_compiler() is not None else compiled.NO_CXX

    return Need("a C++ compiler (TorchInductor)", unmet)


def training_budget(step: str) -> Need:
    """Needs at least :data:`MIN_TRAIN_S` seconds of budget for training ``step``."""

    def unmet(ctx: Context) -> str | None:
        if ctx.share_s(step) >= MIN_TRAIN_S:
            return None
        assert ctx.technique is not None
        share = ctx.technique.budget[step]
        return (
            f"budget too small to train ({ctx.budget_s * share:.2g} s for this step); "
            f"give --budget-s {math.ceil(MIN_TRAIN_S / share)} or more"
        )

    return Need(f"at least {MIN_TRAIN_S:g} s of training budget for '{step}'", unmet)


def bind_gen(fn: Callable[..., Any], *, subject: Any = None, **kw: Any) -> Gen:
    """A generate function that decodes through ``fn``: called on ``subject`` (a compiled
    decoder) instead of the model when given, with ``kw`` (a draft)."""
    return functools.partial(_bound_gen, fn=fn, subject=subject, **kw)


def _bound_gen(
    model: Any, prompt: Any, new_tokens: int, on_step: Any, *, fn: Any, subject: Any, **kw: Any
) -> Any:
    return fn(model if subject is None else subject, prompt, new_tokens, on_step, **kw)


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------

_REGISTRY: dict[str, Technique] = {}
_DISCOVERED: list[bool] = []  # non-empty once the shipped modules are imported


def register(technique: Technique) -> Technique:
    """Add ``technique`` (a name taken by another module's technique raises ValueError)."""
    old = _REGISTRY.get(technique.name)
    if old is not None and old.build.__module__ != technique.build.__module__:
        raise ValueError(f"technique {technique.name!r} is already registered by {old.build}")
    if technique.name == "all" or "," in technique.name:
        raise ValueError(f"{technique.name!r} cannot be a technique name")
    _REGISTRY[technique.name] = technique
    return technique


def _discover() -> None:
    """Import every public module of :mod:`wattwise.optimize.techniques` (once)."""
    if _DISCOVERED:
        return
    from wattwise.optimize import techniques as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _DISCOVERED.append(True)


def techniques() -> list[Technique]:
    """Every registered technique, in order."""
    _discover()
    return sorted(_REGISTRY.values(), key=lambda t: (t.order, t.name))


def names() -> tuple[str, ...]:
    """Names accepted by ``--techniques``, in order."""
    return tuple(t.name for t in techniques())


def describe() -> list[dict[str, Any]]:
    """Each technique as a row: name, summary, needs (in words), budget shares, uses."""
    return [
        {
            "name": t.name,
            "summary": t.summary,
            "needs": [n.what for n in t.needs],
            "budget": dict(t.budget),
            "uses": list(t.uses),
        }
        for t in techniques()
    ]


def budget_shares() -> dict[str, float]:
    """Training step -> share of ``budget_s``, over every registered technique."""
    return {step: share for t in techniques() for step, share in t.budget.items()}


def parse_techniques(spec: str | Sequence[str] | None) -> list[str]:
    """Technique names from ``"a,b"`` / a list / None (all); unknown names raise ConfigError."""
    known = names()
    if spec is None:
        return list(known)
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    picked = [s.strip() for s in items if s.strip()]
    if picked == ["all"]:
        return list(known)
    bad = [n for n in picked if n not in known]
    if bad:
        raise ConfigError(
            f"unknown technique {', '.join(bad)}; choose from {', '.join(known)} or 'all'"
        )
    return picked


def resolve(picked: Iterable[str]) -> list[Technique]:
    """The techniques named in ``picked``, in order, each after the requested ones it uses."""
    wanted = set(picked)
    out: list[Technique] = []
    visiting: set[str] = set()

    def visit(t: Technique) -> None:
        if any(o.name == t.name for o in out):
            return
        if t.name in visiting:
            raise RuntimeError(f"techniques use each other in a cycle through {t.name!r}")
        visiting.add(t.name)
        for dep in t.uses:
            if dep in wanted:
                visit(_REGISTRY[dep])
        out.append(t)

    for t in techniques():
        if t.name in wanted:
            visit(t)
    return out
