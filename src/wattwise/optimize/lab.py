"""The optimisation lab: apply each technique to a model, measure every variant the same way,
find the Pareto frontier of energy per token against perplexity and recommend a variant.

Protocol (see ``benchmarks/optimize.md``): torch pinned to ``threads`` (default 1) threads;
every variant is warmed up at both batch sizes, then measured in ``rounds`` interleaved rounds
(round 1 of every variant, then round 2, ...) so that slow drifts of a shared machine hit all
variants alike; figures are medians over rounds. Training done by a technique (recovery
fine-tune, distillation, transfer) runs inside a tracker window whose energy is the variant's
``optimisation_energy_j``; the built-in model's own training is the baseline's sunk cost and is
reported in ``settings``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattwise.errors import ConfigError, LedgerError, WattwiseError
from wattwise.optimize._deps import require_torch
from wattwise.optimize.types import Comparison, LabResult, Skipped, TechniqueSkipped, Variant

#: Technique names accepted by ``--techniques`` (and ``run_lab(techniques=...)``).
TECHNIQUES = (
    "int8-dynamic",
    "int8-weight",
    "int4-weight",
    "prune-unstructured",
    "prune-structured",
    "distill",
    "transfer",
    "combined",
    "speculative",
    "compiled",
)
#: Share of ``budget_s`` (training seconds) given to each training step of the lab.
BUDGET_SHARES = {
    "prune-unstructured": 0.08,
    "prune-structured": 0.12,
    "distill": 0.25,  # the from-scratch control gets the same *energy*, at most this time
    "transfer-scratch": 0.15,
    "transfer-finetune": 0.15,  # a cap: fine-tuning stops once it matches scratch
}
#: A training step given less than this many seconds is skipped (or run without recovery).
MIN_TRAIN_S = 1.0

Say = Callable[[str], None]


@dataclass
class _Subject:
    """The model under study and what the lab needs to run it."""

    label: str
    model: Any
    gen: Any
    tokenizer: Any
    train_ids: Any
    heldout_ids: Any
    seq: int
    prompt_len: int
    new_tokens: int
    eval_tokens: int
    min_window_s: float
    rounds: int
    batch_size: int
    builtin: Any = None  # wattwise.optimize.builtin.Builtin for the built-in model


@dataclass
class _Candidate:
    variant: Variant
    model: Any
    gen: Any
    b1: list[Any] = field(default_factory=list)
    bn: list[Any] = field(default_factory=list)


def parse_techniques(spec: str | Sequence[str] | None) -> list[str]:
    """Technique names from ``"a,b"`` / a list / None (all); unknown names raise ConfigError."""
    if spec is None:
        return list(TECHNIQUES)
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [s.strip() for s in items if s.strip()]
    if names == ["all"]:
        return list(TECHNIQUES)
    bad = [n for n in names if n not in TECHNIQUES]
    if bad:
        raise ConfigError(
            f"unknown technique {', '.join(bad)}; choose from {', '.join(TECHNIQUES)} or 'all'"
        )
    return names


def payback_tokens(
    opt_energy_j: float, base_j_per_token: float, j_per_token: float
) -> float | None:
    """Generated tokens after which ``opt_energy_j`` is recovered (None: no saving per token)."""
    saving = base_j_per_token - j_per_token
    if not (saving > 0) or math.isnan(opt_energy_j):
        return None
    return opt_energy_j / saving


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (energy, perplexity) points (lower is better on both): True where no other point is
    at least as good on both and strictly better on one. NaN points are never on the front."""
    out: list[bool] = []
    for i, (e, p) in enumerate(points):
        if math.isnan(e) or math.isnan(p):
            out.append(False)
            continue
        dominated = any(
            j != i and e2 <= e and p2 <= p and (e2 < e or p2 < p)
            for j, (e2, p2) in enumerate(points)
            if not (math.isnan(e2) or math.isnan(p2))
        )
        out.append(not dominated)
    return out


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
# Loading the subject
# --------------------------------------------------------------------------------------------


def _subject(
    model: Any, size: str, say: Say, generate_fn: Any, tokenizer: Any, eval_text: str | None
) -> _Subject:
    import torch

    from wattwise.optimize.builtin import SPECS, encode_split, get_builtin
    from wattwise.optimize.corpus import load_split
    from wattwise.optimize.measure import builtin_generate, hf_generate
    from wattwise.optimize.model import TinyLM
    from wattwise.optimize.tokenizer import HfTokenizer, encode_long

    if isinstance(model, str) and model == "builtin":
        b = get_builtin(size, progress=say)
        sp = b.spec
        return _Subject(
            f"builtin:{sp.name}",
            b.model,
            builtin_generate,
            b.tokenizer,
            b.train_ids,
            b.heldout_ids,
            sp.seq,
            sp.prompt_len,
            sp.new_tokens,
            sp.eval_tokens,
            sp.min_window_s,
            sp.rounds,
            sp.batch_size,
            b,
        )
    sp = SPECS[size] if size in SPECS else SPECS["default"]
    if isinstance(model, str):
        from wattwise.optimize.hf import load_hf

        hf_model, hf_tok = load_hf(model)
        label, module, tok, gen = f"hf:{model}", hf_model, HfTokenizer(hf_tok), hf_generate
    elif isinstance(model, torch.nn.Module):
        module = model
        if isinstance(model, TinyLM):
            gen = generate_fn or builtin_generate
        elif generate_fn is not None:
            gen = generate_fn
        elif callable(getattr(model, "generate", None)):
            gen = hf_generate
        else:
            raise ConfigError(
                "a custom nn.Module needs generate_fn=(model, ids, n, on_step) -> ids"
            )
        if tokenizer is None:
            raise ConfigError("a custom nn.Module needs tokenizer= (encode/decode/vocab_size)")
        tok = (
            tokenizer
            if hasattr(tokenizer, "encode") and hasattr(tokenizer, "decode")
            else (HfTokenizer(tokenizer))
        )
        label = f"module:{type(model).__name__}"
    else:
        raise ConfigError(
            f"model must be 'builtin', a directory path or an nn.Module, not {model!r}"
        )
    module.eval()
    split = load_split("kjv", max_chars=sp.max_chars or 400_000)
    if eval_text is not None:
        held = torch.tensor(encode_long(tok, eval_text), dtype=torch.long)
        train = encode_split(tok, split)[0]
    else:
        train, held = encode_split(tok, split)
    if held.numel() < sp.seq + 2:
        raise ConfigError("the evaluation text is too short to measure perplexity")
    return _Subject(
        label,
        module,
        gen,
        tok,
        train,
        held,
        sp.seq,
        sp.prompt_len,
        sp.new_tokens,
        sp.eval_tokens,
        sp.min_window_s,
        sp.rounds,
        sp.batch_size,
    )


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
) -> LabResult:
    """Run the optimisation lab and return its :class:`LabResult`.

    ``model``: ``"builtin"`` (the built-in model of ``size``: ``default`` or ``tiny``), a local
    Hugging Face model directory, or an ``nn.Module`` (then ``generate_fn`` unless it is a HF
    model or the built-in class, and ``tokenizer``). ``budget_s``: seconds of training the
    techniques may spend together (shares in :data:`BUDGET_SHARES`). ``tolerance``: allowed
    relative perplexity increase of the recommended variant. ``store``: write the lab run and
    its result document to the ledger (``ledger_url``, default ``$WATTWISE_DB``).
    Techniques that cannot run are listed in ``result.skipped`` with the reason; the others run.
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
    ledger = None
    notes: list[str] = [
        f"torch pinned to {threads} thread(s) (torch.set_num_threads); "
        "figures are medians over interleaved rounds",
    ]
    if store:
        try:
            from wattwise.ledger import Ledger

            ledger = Ledger.open(ledger_url)
        except (LedgerError, ImportError) as exc:
            notes.append(f"results not stored in the ledger: {exc}")
    try:
        subject = _subject(model, size, say, generate_fn, tokenizer, eval_text)
        tracker = Tracker("optimize-lab", interval_s=1.0, sink=ledger).start()
        try:
            result = _run(
                subject,
                names,
                budget_s,
                tolerance,
                rounds,
                batch_size,
                new_tokens,
                tracker,
                say,
                notes,
            )
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
            result.ledger_line = ledger.outcome(run.run_id).line()
        result.settings["threads"] = threads
        return result
    finally:
        torch.set_num_threads(old_threads)
        if ledger is not None:
            ledger.close()


def _run(
    s: _Subject,
    names: list[str],
    budget_s: float,
    tolerance: float,
    rounds: int | None,
    batch_size: int | None,
    new_tokens: int | None,
    tracker: Any,
    say: Say,
    notes: list[str],
) -> LabResult:
    import torch

    from wattwise.optimize.measure import median, percentile, size_bytes
    from wattwise.optimize.model import count_params

    n_rounds = rounds or s.rounds
    bsz = batch_size or s.batch_size
    n_new = new_tokens or s.new_tokens
    if n_rounds < 1 or bsz < 1 or n_new < 1:
        raise ConfigError("rounds, batch size and new tokens must be at least 1")
    if s.builtin is not None and s.prompt_len + n_new > s.builtin.spec.config.max_seq:
        raise ConfigError(
            f"new tokens must be at most {s.builtin.spec.config.max_seq - s.prompt_len}"
        )
    # Prompts: spaced slices of held-out text, the same for every variant.
    held = s.heldout_ids
    n_prompts = max(2 * bsz, 8)
    stride = max(1, (held.numel() - s.prompt_len - 1) // n_prompts)
    prompts = torch.stack([held[i * stride : i * stride + s.prompt_len] for i in range(n_prompts)])

    skipped: list[Skipped] = []
    comparisons: list[Comparison] = []
    cands: list[_Candidate] = [_Candidate(Variant("baseline", ["fp32"]), s.model, s.gen)]
    built: dict[str, _Candidate] = {}

    def add(name: str, techs: list[str], fn: Callable[[], Any], note: str = "") -> None:
        """Build a variant with ``fn`` inside a tracker window (its optimisation energy)."""
        say(f"optimising: {name}")
        t0 = time.perf_counter()
        try:
            with tracker.window(f"optimise/{name}") as w:
                made = fn()
        except TechniqueSkipped as exc:
            skipped.append(Skipped(name, str(exc)))
            say(f"skipped {name}: {exc}")
            return
        except (WattwiseError, RuntimeError, ValueError, NotImplementedError) as exc:
            skipped.append(Skipped(name, f"failed: {type(exc).__name__}: {exc}"))
            say(f"skipped {name}: {exc}")
            return
        v = Variant(name, techs)
        v.optimisation_s = time.perf_counter() - t0
        v.optimisation_energy_j = w.result.energy.total_j if w.result is not None else 0.0
        if note:
            v.notes.append(note)
        c = _Candidate(v, made, s.gen)
        cands.append(c)
        built[name] = c

    def builtin_only(name: str, why: str) -> bool:
        """True for the built-in model; otherwise records ``name`` as skipped, saying why."""
        if s.builtin is None:
            skipped.append(Skipped(name, f"{why}; run it with --model builtin"))
        return s.builtin is not None

    def share(key: str) -> float:
        return budget_s * BUDGET_SHARES[key]

    def train_kw() -> dict[str, Any]:
        spec = s.builtin.spec if s.builtin is not None else None
        return {"batch": spec.batch if spec else 8, "seq": s.seq}

    from wattwise.optimize import quantize
    from wattwise.optimize import techniques as tech

    spec_draft: Any = None  # the speculative variant's draft, reused by speculative+compiled

    if "int8-dynamic" in names:
        add(
            "int8-dynamic",
            ["int8-dynamic"],
            lambda: quantize.quantize_dynamic_int8(s.model),
            "torch.ao.quantization.quantize_dynamic (deprecated API, deliberately kept: torchao "
            "int8 was slower in eager mode on CPU)",
        )
    if "int8-weight" in names:
        add(
            "int8-weight", ["int8-weight-only"], lambda: quantize.quantize_weight_only_int8(s.model)
        )
    if "int4-weight" in names:
        add(
            "int4-weight", ["int4-weight-only"], lambda: quantize.quantize_weight_only_int4(s.model)
        )
    if "prune-unstructured" in names:
        t_rec = share("prune-unstructured")
        add(
            "pruned-50%",
            ["prune-unstructured-50%"] + (["recovery"] if t_rec >= MIN_TRAIN_S else []),
            lambda: tech.unstructured_with_recovery(
                s.model, s.train_ids, 0.5, t_rec if t_rec >= MIN_TRAIN_S else 0.0, **train_kw()
            ),
            "dense kernels get no faster from zeros: the gain is the compressed size",
        )
    if "prune-structured" in names:
        t_rec = share("prune-structured")
        recover = t_rec >= MIN_TRAIN_S
        add(
            "pruned-structured",
            ["prune-heads-25%", "prune-mlp-50%"] + (["recovery"] if recover else []),
            lambda: tech.structured_with_recovery(
                s.model, s.train_ids, 0.25, 0.5, t_rec if recover else 0.0, **train_kw()
            ),
            ""
            if recover
            else f"no recovery fine-tune: budget share {t_rec:.2g} s < {MIN_TRAIN_S} s",
        )
    if "distill" in names and builtin_only(
        "distill", "distillation trains the built-in student architecture"
    ):
        if share("distill") < MIN_TRAIN_S:
            skipped.append(Skipped("distill", _too_small("distill", budget_s)))
        else:
            res = tech.distill_vs_scratch(
                s.model,
                s.builtin.spec.student,
                s.train_ids,
                s.heldout_ids,
                tracker,
                time_s=share("distill"),
                eval_tokens=s.eval_tokens,
                say=say,
                **train_kw(),
            )
            for name, techs, m, e_j, secs in (
                ("distilled", ["distill"], res.distilled, res.distill_energy_j, res.distill_s),
                (
                    "student-scratch",
                    ["scratch-control"],
                    res.scratch,
                    res.scratch_energy_j,
                    res.scratch_s,
                ),
            ):
                v = Variant(name, techs, optimisation_energy_j=e_j, optimisation_s=secs)
                c = _Candidate(v, m, s.gen)
                cands.append(c)
                built[name] = c
            built["student-scratch"].variant.notes.append(
                "control: the student architecture trained from scratch on the same energy"
            )
            comparisons.append(res.comparison)
    if "transfer" in names and builtin_only(
        "transfer", "transfer learning uses the built-in model and the shipped Jargon File"
    ):
        if share("transfer-scratch") < MIN_TRAIN_S:
            skipped.append(Skipped("transfer", _too_small("transfer-scratch", budget_s)))
        else:
            comparisons.append(
                tech.transfer_vs_scratch(
                    s.model,
                    s.builtin,
                    tracker,
                    scratch_s=share("transfer-scratch"),
                    finetune_cap_s=share("transfer-finetune"),
                    say=say,
                    **train_kw(),
                )
            )
    if "combined" in names:
        for src_name, name in (
            ("pruned-structured", "pruned-structured+int8"),
            ("distilled", "distilled+int8"),
        ):
            if src_name not in built:
                if (src_name == "pruned-structured" and "prune-structured" in names) or (
                    src_name == "distilled" and "distill" in names
                ):
                    skipped.append(
                        Skipped(name, f"needs the '{src_name}' variant, which was skipped")
                    )
                continue
            src = built[src_name]
            add(
                name,
                [*src.variant.techniques, "int8-dynamic"],
                functools.partial(quantize.quantize_dynamic_int8, src.model),
            )
            if name in built:  # the training of its source counts too
                built[name].variant.optimisation_energy_j += src.variant.optimisation_energy_j
                built[name].variant.optimisation_s += src.variant.optimisation_s

    if "speculative" in names and builtin_only(
        "speculative", "speculative decoding here drives the built-in model's key/value cache"
    ):
        from wattwise.optimize.speculative import NgramDraft, speculative_generate

        vocab = int(s.builtin.spec.config.vocab_size)
        add(
            "speculative",
            ["speculative-ngram"],
            lambda: NgramDraft.build_for_model(s.model, s.train_ids, vocab),
            "lossless: the model's own greedy text, verifying per forward pass up to 10 "
            "draft tokens from a context lookup, else up to 4 from n-gram tables of the "
            "model's own greedy choices and of the training text; batch 1 only (larger "
            "batches decode plainly)",
        )
        if "speculative" in built:
            c = built["speculative"]
            draft = c.model
            c.model = s.model
            c.gen = functools.partial(_bound_gen, fn=speculative_generate, draft=draft)
            c.variant.notes.append(
                f"draft table: {draft.entries()} n-gram entries "
                f"({draft.model_entries} from the model's own greedy choices)"
            )
            spec_draft = draft

    if "compiled" in names and builtin_only(
        "compiled", "compiled decoding here drives the built-in model's static cache"
    ):
        _add_compiled(s, add, built, bsz, spec_draft)

    # ---- measurement: warm-up, then interleaved rounds
    reference: list[Any] = []  # the baseline's greedy text per prompt (batch 1)
    for c in cands:
        say(f"warming up: {c.variant.name}")
        try:
            texts = [c.gen(c.model, prompts[i : i + 1], n_new, None) for i in range(n_prompts)]
            c.gen(c.model, prompts[:bsz], n_new, None)
            c.variant.sample = s.tokenizer.decode(texts[0][0, s.prompt_len :].tolist())
        except Exception as exc:  # a variant that cannot generate is reported, not fatal
            skipped.append(Skipped(c.variant.name, f"cannot generate: {type(exc).__name__}: {exc}"))
            c.variant.notes.append("failed to generate")
            continue
        if c is cands[0]:
            reference = texts
        if not reference:  # the baseline failed to generate: nothing to compare with
            continue
        c.variant.greedy_prompts = n_prompts
        c.variant.greedy_equal = sum(
            bool(torch.equal(a, b)) for a, b in zip(texts, reference, strict=True)
        )
    cands = [c for c in cands if "failed to generate" not in c.variant.notes]
    from wattwise.optimize.measure import measure_generation

    for r in range(n_rounds):
        for c in cands:
            say(f"measuring round {r + 1}/{n_rounds}: {c.variant.name}")
            c.b1.append(
                measure_generation(
                    tracker,
                    f"generate/{c.variant.name}/b1/r{r}",
                    c.model,
                    c.gen,
                    prompts,
                    batch=1,
                    new_tokens=n_new,
                    min_window_s=s.min_window_s,
                )
            )
            c.bn.append(
                measure_generation(
                    tracker,
                    f"generate/{c.variant.name}/b{bsz}/r{r}",
                    c.model,
                    c.gen,
                    prompts,
                    batch=bsz,
                    new_tokens=n_new,
                    min_window_s=s.min_window_s,
                )
            )

    from wattwise.optimize.train import logits_of, perplexity

    provs: set[str] = set()
    for c in cands:
        v = c.variant
        say(f"evaluating perplexity: {v.name}")
        v.perplexity = perplexity(
            logits_of(c.model), s.heldout_ids, seq=s.seq, max_tokens=s.eval_tokens
        )
        v.params = count_params(c.model)
        if "prune-unstructured-50%" in v.techniques:
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
        provs.add(v.provenance)

    base = cands[0].variant
    for c in cands[1:]:
        c.variant.payback_tokens = payback_tokens(
            c.variant.optimisation_energy_j, base.j_per_token, c.variant.j_per_token
        )
    variants = [c.variant for c in cands]
    for v, on in zip(
        variants, pareto_front([(v.j_per_token, v.perplexity) for v in variants]), strict=True
    ):
        v.pareto = on
    best = recommend(variants, base, tolerance)
    if best is not None:
        best.recommended = True
    devices = tracker.devices
    energy_source = (
        "; ".join(f"{d.device_id} ({d.provenance.value}: {d.source})" for d in devices)
        or "no energy reader"
    )
    if any(d.provenance.value == "estimated" for d in devices):
        notes.append(
            "energy is an ESTIMATE from a power model of the whole machine (no energy counter "
            "here): other processes' load leaks into it; cpu_s_per_token is the cross-check"
        )
    settings: dict[str, Any] = {
        "budget_s": budget_s,
        "rounds": n_rounds,
        "batch_size": bsz,
        "new_tokens": n_new,
        "prompt_len": s.prompt_len,
        "eval_tokens": s.eval_tokens,
        "min_window_s": s.min_window_s,
        "techniques": names,
    }
    if s.builtin is not None:
        settings["builtin"] = {
            "size": s.builtin.spec.name,
            "config": s.builtin.spec.config.to_dict(),
            "student": s.builtin.spec.student.to_dict(),
            "cache_dir": str(s.builtin.cache_dir),
            "from_cache": s.builtin.from_cache,
            "training": s.builtin.meta,
        }
    return LabResult(
        model=s.label,
        baseline=base.name,
        variants=variants,
        skipped=skipped,
        comparisons=comparisons,
        tolerance=tolerance,
        recommended=best.name if best is not None else None,
        provenance=" + ".join(sorted(provs)) or "none",
        energy_source=energy_source,
        settings=settings,
        notes=notes,
    )


def _add_compiled(
    s: _Subject,
    add: Callable[..., None],
    built: dict[str, _Candidate],
    bsz: int,
    draft: Any,
) -> None:
    """The ``compiled`` variant and, when the speculative variant was built,
    ``speculative+compiled``: graph-compiled passes with a static cache (lossless)."""
    from wattwise.optimize import compiled as comp

    def build() -> Any:
        dec = comp.CompiledDecoder(s.model)
        dec.warm([(1, 1), (bsz, 1)])
        return dec

    add(
        "compiled",
        ["compiled-static-cache"],
        build,
        "lossless: the same weights (perplexity evaluated eagerly; 'same text' checks the "
        "compiled path); one-token decoding steps compiled by TorchInductor (freezing, C++ "
        "wrapper, max-autotune) with a static key/value cache; the energy of compiling is the "
        "optimisation energy (inductor caches compiled graphs on disk, so a second run "
        "compiles for less)",
    )
    if "compiled" not in built:
        return
    c = built["compiled"]
    dec = c.model  # what build() made; the variant itself runs the baseline's weights
    c.model = s.model
    c.gen = functools.partial(_bound_gen, fn=comp.compiled_generate, subject=dec)
    c.variant.notes.append(f"compiled (batch, width) shapes {sorted(dec.shapes)}")
    if draft is None or "speculative" not in built:
        return
    widths = comp.DEFAULT_VERIFY_WIDTHS
    add(
        "speculative+compiled",
        ["speculative-ngram", "compiled-static-cache"],
        lambda: dec.warm([(1, w) for w in widths]),
        f"lossless: the speculative variant's draft verified by compiled passes of width "
        f"{max(widths)} (up to {max(widths) - 1} draft tokens); batches decode with the "
        "compiled one-token pass",
    )
    if "speculative+compiled" not in built:
        return
    sc = built["speculative+compiled"]
    sc.model = s.model
    sc.gen = functools.partial(
        _bound_gen, fn=comp.compiled_speculative_generate, subject=dec, draft=draft
    )
    for src in ("speculative", "compiled"):  # building its parts counts too
        sc.variant.optimisation_energy_j += built[src].variant.optimisation_energy_j
        sc.variant.optimisation_s += built[src].variant.optimisation_s


def _bound_gen(
    model: Any,
    prompt: Any,
    new_tokens: int,
    on_step: Any,
    *,
    fn: Any,
    subject: Any = None,
    **kw: Any,
) -> Any:
    """The lab's generate function for variants that decode through ``fn``: called on
    ``subject`` (a compiled decoder) instead of the model when given, with ``kw`` (a draft)."""
    return fn(model if subject is None else subject, prompt, new_tokens, on_step, **kw)


def _too_small(key: str, budget_s: float) -> str:
    need = MIN_TRAIN_S / BUDGET_SHARES[key]
    return (
        f"budget too small to train ({budget_s * BUDGET_SHARES[key]:.2g} s for this step); "
        f"give --budget-s {math.ceil(need)} or more"
    )
