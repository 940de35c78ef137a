"""The optimisation lab: apply each technique to a model, measure every variant the same way,
find the Pareto frontier of energy per token against perplexity and recommend a variant.

Protocol (see ``benchmarks/optimize.md``): torch pinned to ``threads`` (default 1) threads;
every variant is warmed up at both batch sizes, then measured in ``rounds`` interleaved rounds
(round 1 of every variant, then round 2, ...) so that slow drifts of a shared machine hit all
variants alike; figures are medians over rounds. Training done by a technique (recovery
fine-tune, distillation, transfer) runs inside a tracker window whose energy is the variant's
``optimisation_energy_j``; the built-in model's own training is the baseline's sunk cost and is
reported in ``settings``.

The techniques are entries of :mod:`wattwise.optimize.registry` (one module each in
:mod:`wattwise.optimize.techniques`): this module names none of them. It resolves the requested
ones, lets each build its variants, then measures and compares them all alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from wattwise.errors import ConfigError, LedgerError
from wattwise.optimize import registry
from wattwise.optimize._deps import require_torch
from wattwise.optimize.registry import FAILURES, MIN_TRAIN_S, Built, Context, parse_techniques
from wattwise.optimize.subject import Subject, load_subject
from wattwise.optimize.types import Comparison, LabResult, Skipped, TechniqueSkipped, Variant

__all__ = [
    "MIN_TRAIN_S",
    "build_all",
    "pareto_front",
    "parse_techniques",
    "payback_tokens",
    "recommend",
    "run_lab",
]

Say = Callable[[str], None]


def __getattr__(name: str) -> Any:
    """``TECHNIQUES`` (names accepted by ``--techniques``) and ``BUDGET_SHARES`` (training step
    -> share of ``budget_s``), read from the registry when asked: a technique registered after
    this module was imported is listed too."""
    if name == "TECHNIQUES":
        return registry.names()
    if name == "BUDGET_SHARES":
        return registry.budget_shares()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class _Candidate:
    """A variant under measurement: what built it and its rounds at batch 1 and batch n."""

    built: Built
    gen: Any
    b1: list[Any] = field(default_factory=list)
    bn: list[Any] = field(default_factory=list)

    @property
    def variant(self) -> Variant:
        return self.built.variant

    @property
    def model(self) -> Any:
        return self.built.model


@dataclass(frozen=True)
class _Plan:
    """The measurement settings of one lab run (tokens, rounds, seconds)."""

    rounds: int
    batch_size: int
    new_tokens: int
    tolerance: float
    budget_s: float
    names: list[str]
    compile_options: dict[str, Any] | None = None  # None: compiled.COMPILE_OPTIONS


def payback_tokens(
    opt_energy_j: float, base_j_per_token: float, j_per_token: float
) -> float | None:
    """Generated tokens after which ``opt_energy_j`` is recovered (None: no saving per token)."""
    saving = base_j_per_token - j_per_token
    if not (saving > 0) or math.isnan(opt_energy_j):
        return None
    return opt_energy_j / saving


#: Relative noise band of the lab's energy per token: the round-to-round spread of the median
#: (interleaved rounds on a shared machine) is a few per cent; 5 % is also the least saving the
#: audit recommends (``report.recommend.MIN_RELATIVE_SAVING``).
ENERGY_NOISE_REL = 0.05
#: Relative noise band of held-out perplexity: quantization rounding alone moves it by ~0.1 %;
#: differences below 0.5 % do not tell two variants apart.
PERPLEXITY_NOISE_REL = 0.005


def pareto_front(
    points: Sequence[tuple[float, float]],
    *,
    energy_noise: float = ENERGY_NOISE_REL,
    perplexity_noise: float = PERPLEXITY_NOISE_REL,
) -> list[bool]:
    """For (energy, perplexity) points (lower is better on both): True where no other point
    dominates. Differences within the noise bands (relative) decide nothing: a point is
    dominated by another that is no worse beyond noise on either axis and better beyond noise
    on at least one (e.g. 1.9x the energy for a perplexity 0.01 lower is dominated). With zero
    bands this is the exact Pareto front. NaN points are never on the front."""

    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        (ea, pa), (eb, pb) = a, b
        no_worse = ea <= eb * (1 + energy_noise) and pa <= pb * (1 + perplexity_noise)
        better = ea < eb * (1 - energy_noise) or pa < pb * (1 - perplexity_noise)
        return no_worse and better

    ok = [not (math.isnan(e) or math.isnan(p)) for e, p in points]
    return [
        ok[i] and not any(ok[j] and j != i and dominates(points[j], pt) for j in range(len(points)))
        for i, pt in enumerate(points)
    ]


def recommend(variants: Sequence[Variant], baseline: Variant, tolerance: float) -> Variant | None:
    """The variant with the lowest energy per token whose perplexity is at most
    ``(1 + tolerance)`` times the baseline's; the baseline when no variant qualifies."""
    limit = baseline.perplexity * (1.0 + tolerance)
    ok = [
        v
        for v in variants
        if not math.isnan(v.j_per_token) and not math.isnan(v.perplexity) and v.perplexity <= limit
    ]
    return min(ok, key=lambda v: v.j_per_token) if ok else None




# --------------------------------------------------------------------------------------------
# The lab
# --------------------------------------------------------------------------------------------


def run_lab(
    model: Any = "builtin",
    *,
    techniques: str | Sequence[str] | None = None,
    budget_s: float = 120.0,
    tolerance: float = 0.05,
    size: str = "default",
    rounds: int | None = None,
    batch_size: int | None = None,
    new_tokens: int | None = None,
    threads: int = 1,
    store: bool = True,
    ledger_url: str | None = None,
    progress: Say | None = None,
    generate_fn: Any = None,
    tokenizer: Any = None,
    eval_text: str | None = None,
    retrain: bool = False,
    min_window_s: float | None = None,
    compile_options: dict[str, Any] | None = None,
) -> LabResult:
    """Run the optimisation lab and return its :class:`LabResult`.

    ``model``: ``"builtin"`` (the built-in model of ``size``: ``default`` or ``tiny``), a local
    Hugging Face model directory, or an ``nn.Module`` (then ``generate_fn`` unless it is a HF
    model or the built-in class, and ``tokenizer``). ``techniques``: names of the registry
    (:func:`wattwise.optimize.registry.names`; default all). ``budget_s``: seconds of training
    the techniques may spend together (each technique declares its share). ``tolerance``:
    allowed relative perplexity increase of the recommended variant. ``store``: write the lab
    run and its result document to the ledger (``ledger_url``, default ``$WATTWISE_DB``).
    Techniques that cannot run are listed in ``result.skipped`` with the reason; the others run.
    ``retrain``: train the built-in model now instead of loading its shipped weights.
    ``min_window_s``: seconds of generation per measured window (default: the model size's);
    ``compile_options``: TorchInductor options of the compiled techniques (default
    :data:`wattwise.optimize.compiled.COMPILE_OPTIONS`).
    """
    require_torch()
    import torch

    from wattwise.tracker.core import Tracker

    names = parse_techniques(techniques)
    if budget_s < 0 or not math.isfinite(budget_s):
        raise ConfigError("--budget-s must be a non-negative number of seconds")
    if not 0 <= tolerance < 10:
        raise ConfigError("--tolerance must be a fraction such as 0.05 (5 %)")
    if threads < 1:
        raise ConfigError("threads must be at least 1")
    say = progress or (lambda _msg: None)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    notes: list[str] = [
        f"torch pinned to {threads} thread(s) (torch.set_num_threads); "
        "figures are medians over interleaved rounds",
    ]
    ledger = _open_ledger(ledger_url, notes) if store else None
    try:
        subject = load_subject(model, size, say, generate_fn, tokenizer, eval_text, retrain)
        if min_window_s is not None:
            subject.min_window_s = min_window_s
        plan = _plan(subject, names, budget_s, tolerance, rounds, batch_size, new_tokens)
        plan = replace(plan, compile_options=compile_options)
        tracker = Tracker("optimize-lab", interval_s=1.0, sink=ledger).start()
        try:
            result = _run(subject, plan, tracker, say, notes)
        except BaseException:
            tracker.stop(status="failed")
            raise
        run = tracker.stop()
        result.run_id = run.run_id
        result.total_energy_j = run.energy.total_j
        if ledger is not None:
            try:
                ledger.set_extra(run.run_id, "optimize", result.to_dict())
            except LedgerError as exc:
                result.notes.append(f"result document not stored in the ledger: {exc}")
            ledger.settle(run.run_id)
            result.ledger_line = ledger.outcome(run.run_id).line()
        result.settings["threads"] = threads
        return result
    finally:
        torch.set_num_threads(old_threads)
        if ledger is not None:
            ledger.close()


def _open_ledger(url: str | None, notes: list[str]) -> Any:
    """The ledger at ``url``, or None with the reason in ``notes``."""
    try:
        from wattwise.ledger import Ledger

        return Ledger.open(url)
    except (LedgerError, ImportError) as exc:
        notes.append(f"results not stored in the ledger: {exc}")
        return None


def _plan(
    s: Subject,
    names: list[str],
    budget_s: float,
    tolerance: float,
    rounds: int | None,
    batch_size: int | None,
    new_tokens: int | None,
) -> _Plan:
    plan = _Plan(
        rounds or s.rounds,
        batch_size or s.batch_size,
        new_tokens or s.new_tokens,
        tolerance,
        budget_s,
        names,
    )
    if plan.rounds < 1 or plan.batch_size < 1 or plan.new_tokens < 1:
        raise ConfigError("rounds, batch size and new tokens must be at least 1")
    if s.builtin is not None and s.prompt_len + plan.new_tokens > s.builtin.spec.config.max_seq:
        raise ConfigError(
            f"new tokens must be at most {s.builtin.spec.config.max_seq - s.prompt_len}"
        )
    return plan


def _run(s: Subject, plan: _Plan, tracker: Any, say: Say, notes: list[str]) -> LabResult:
    """Build every requested technique's variants, measure them with the baseline, compare."""
    prompts = _prompts(s, plan.batch_size)
    ctx = Context(
        s, tracker, say, plan.budget_s, plan.batch_size, frozenset(plan.names),
        compile_options=plan.compile_options,
    )  # fmt: skip
    baseline = Built(Variant("baseline", ["fp32"]), s.model, s.gen)
    built, skipped, comparisons = build_all(ctx, registry.resolve(plan.names))
    cands = [_Candidate(b, b.gen or s.gen) for b in [baseline, *built]]
    cands = _warm_up(s, cands, prompts, plan, say, skipped)
    for r in range(plan.rounds):
        for c in cands:
            say(f"measuring round {r + 1}/{plan.rounds}: {c.variant.name}")
            _measure_round(s, c, tracker, prompts, plan, r)
    for c in cands:
        say(f"evaluating perplexity: {c.variant.name}")
        _evaluate(s, c, plan.batch_size)
    variants = [c.variant for c in cands]
    best = _compare(variants, plan.tolerance)
    return LabResult(
        model=s.label,
        baseline=variants[0].name,
        variants=variants,
        skipped=skipped,
        comparisons=comparisons,
        tolerance=plan.tolerance,
        recommended=best.name if best is not None else None,
        provenance=" + ".join(sorted({v.provenance for v in variants})) or "none",
        energy_source=_energy_source(tracker, notes),
        settings=_settings(s, plan),
        notes=notes,
    )


def build_all(
    ctx: Context, techniques: Sequence[registry.Technique]
) -> tuple[list[Built], list[Skipped], list[Comparison]]:
    """Let each technique (in order) build its variants: (variants, skipped, comparisons).
    A technique whose needs are unmet, or that fails, is skipped with the reason."""
    built: list[Built] = []
    skipped: list[Skipped] = []
    comparisons: list[Comparison] = []
    for t in techniques:
        tctx = ctx.bound(t)
        reason = t.unmet(tctx)
        if reason:
            skipped.append(Skipped(t.name, reason))
            continue
        for out in _outcomes(t, tctx):
            if isinstance(out, Built):
                out.technique = t.name
                ctx.outputs.setdefault(t.name, []).append(out)
                built.append(out)
            elif isinstance(out, Skipped):
                skipped.append(out)
            else:
                comparisons.append(out)
    return built, skipped, comparisons


def _outcomes(t: registry.Technique, ctx: Context) -> list[Built | Skipped | Comparison]:
    """What ``t`` built; a skip or failure escaping its ``build`` ends it with a Skipped."""
    out: list[Built | Skipped | Comparison] = []
    try:
        out.extend(t.build(ctx))
    except TechniqueSkipped as exc:
        ctx.say(f"skipped {t.name}: {exc}")
        out.append(Skipped(t.name, str(exc)))
    except FAILURES as exc:
        ctx.say(f"skipped {t.name}: {exc}")
        out.append(Skipped(t.name, f"failed: {type(exc).__name__}: {exc}"))
    return out


# --------------------------------------------------------------------------------------------
# Measuring and comparing
# --------------------------------------------------------------------------------------------


def _prompts(s: Subject, bsz: int) -> Any:
    """Spaced slices of held-out text, the same for every variant."""
    import torch

    held = s.heldout_ids
    n_prompts = max(2 * bsz, 8)
    stride = max(1, (held.numel() - s.prompt_len - 1) // n_prompts)
    return torch.stack([held[i * stride : i * stride + s.prompt_len] for i in range(n_prompts)])


def _warm_up(
    s: Subject, cands: list[_Candidate], prompts: Any, plan: _Plan, say: Say, skipped: list[Skipped]
) -> list[_Candidate]:
    """Generate with every variant at both batch sizes; keep those that can, with their greedy
    text checked against the baseline's (batch 1, every prompt)."""
    import torch

    n = int(prompts.shape[0])
    reference: list[Any] = []  # the baseline's greedy text per prompt (batch 1)
    ok: list[_Candidate] = []
    for c in cands:
        say(f"warming up: {c.variant.name}")
        try:
            texts = [c.gen(c.model, prompts[i : i + 1], plan.new_tokens, None) for i in range(n)]
            rows = c.gen(c.model, prompts[: plan.batch_size], plan.new_tokens, None)
            c.variant.sample = s.tokenizer.decode(texts[0][0, s.prompt_len :].tolist())
        except Exception as exc:  # a variant that cannot generate is reported, not fatal
            skipped.append(Skipped(c.variant.name, f"cannot generate: {type(exc).__name__}: {exc}"))
            c.variant.notes.append("failed to generate")
            continue
        ok.append(c)
        if c is cands[0]:
            reference = texts
        if not reference:  # the baseline failed to generate: nothing to compare with
            continue
        c.variant.greedy_prompts = n
        c.variant.greedy_equal = sum(
            bool(torch.equal(a, b)) for a, b in zip(texts, reference, strict=True)
        )
        c.variant.greedy_prompts_batch = int(rows.shape[0])  # its batch path, same check
        c.variant.greedy_equal_batch = sum(
            bool(torch.equal(a, b[0])) for a, b in zip(rows, reference, strict=False)
        )
    return ok


def _measure_round(
    s: Subject, c: _Candidate, tracker: Any, prompts: Any, plan: _Plan, r: int
) -> None:
    """One measured round of ``c`` at batch 1 and at the larger batch size."""
    from wattwise.optimize.measure import measure_generation

    for batch, rounds in ((1, c.b1), (plan.batch_size, c.bn)):
        rounds.append(
            measure_generation(
                tracker,
                f"generate/{c.variant.name}/b{batch}/r{r}",
                c.model,
                c.gen,
                prompts,
                batch=batch,
                new_tokens=plan.new_tokens,
                min_window_s=s.min_window_s,
            )
        )


def _evaluate(s: Subject, c: _Candidate, bsz: int) -> None:
    """Perplexity, size and the medians of the measured rounds, into ``c.variant``."""
    from wattwise.optimize.measure import median, percentile, size_bytes
    from wattwise.optimize.model import count_params
    from wattwise.optimize.train import logits_of, perplexity

    v = c.variant
    v.perplexity = perplexity(
        logits_of(c.model), s.heldout_ids, seq=s.seq, max_tokens=s.eval_tokens
    )
    v.params = count_params(c.model)
    if c.built.compressed_size:
        v.size_bytes = size_bytes(c.model, compressed=True)
        v.size_note = "gzip-compressed serialised state_dict (zeros compress)"
    else:
        v.size_bytes = size_bytes(c.model)
    v.batch = bsz
    v.j_per_token = median([g.energy_j / g.tokens for g in c.b1])
    v.j_per_token_batch = median([g.energy_j / g.tokens for g in c.bn])
    v.tokens_per_s = median([g.tokens / g.wall_s for g in c.b1])
    v.tokens_per_s_batch = median([g.tokens / g.wall_s for g in c.bn])
    v.cpu_s_per_token = median([g.cpu_s / g.tokens for g in c.b1])
    v.cpu_s_per_token_batch = median([g.cpu_s / g.tokens for g in c.bn])
    steps = [x for g in c.b1 for x in g.step_s[1:]] or [x for g in c.b1 for x in g.step_s]
    v.latency_p50_ms = percentile(steps, 0.50) * 1000
    v.latency_p95_ms = percentile(steps, 0.95) * 1000
    v.provenance = c.b1[0].provenance if c.b1 else "none"


def _compare(variants: list[Variant], tolerance: float) -> Variant | None:
    """Payback against the baseline (the first), the Pareto frontier and the recommendation."""
    base = variants[0]
    for v in variants[1:]:
        v.payback_tokens = payback_tokens(v.optimisation_energy_j, base.j_per_token, v.j_per_token)
    for v, on in zip(
        variants, pareto_front([(v.j_per_token, v.perplexity) for v in variants]), strict=True
    ):
        v.pareto = on
    best = recommend(variants, base, tolerance)
    if best is not None:
        best.recommended = True
    return best


def _energy_source(tracker: Any, notes: list[str]) -> str:
    """The tracker's devices in words; an estimate says so in ``notes``."""
    devices = tracker.devices
    if any(d.provenance.value == "estimated" for d in devices):
        notes.append(
            "energy is an ESTIMATE from a power model of the whole machine (no energy counter "
            "here): other processes' load leaks into it; cpu_s_per_token is the cross-check"
        )
    return (
        "; ".join(f"{d.device_id} ({d.provenance.value}: {d.source})" for d in devices)
        or "no energy reader"
    )


def _settings(s: Subject, plan: _Plan) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "budget_s": plan.budget_s,
        "rounds": plan.rounds,
        "batch_size": plan.batch_size,
        "new_tokens": plan.new_tokens,
        "prompt_len": s.prompt_len,
        "eval_tokens": s.eval_tokens,
        "min_window_s": s.min_window_s,
        "techniques": plan.names,
        "compile_options": plan.compile_options or "default",
    }
    if s.builtin is not None:
        settings["builtin"] = {
            "size": s.builtin.spec.name,
            "config": s.builtin.spec.config.to_dict(),
            "student": s.builtin.spec.student.to_dict(),
            "cache_dir": str(s.builtin.cache_dir),
            "from_cache": s.builtin.from_cache,
            "weights": s.builtin.source,
            "training": s.builtin.meta,
        }
    return settings
