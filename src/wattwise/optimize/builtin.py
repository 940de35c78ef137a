"""The built-in model of the lab: specification, training on the shipped King James text, the
weights shipped in the package (trained by ``scripts/train_builtin.py`` with
:func:`train_builtin`; :mod:`wattwise.optimize.shipped`), and the cache
(``$XDG_CACHE_HOME/wattwise/models/builtin-<hash>/``, keyed by a hash of the spec, the corpus
and the code version) for a spec whose weights do not ship (or ``retrain=True``).

The training energy is measured with a :class:`~wattwise.tracker.core.Tracker` and kept in the
cache's ``meta.json``: it is the sunk cost of the baseline, reported beside the lab results.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from wattwise.optimize.corpus import Split, load_split
from wattwise.optimize.model import LMConfig, TinyLM
from wattwise.optimize.tokenizer import BpeTokenizer, ByteTokenizer, TextTokenizer, encode_long
from wattwise.optimize.train import logits_of, perplexity, train_lm

#: Bump when training code changes in a way that changes the trained model.
CODE_VERSION = "2"


@dataclass(frozen=True)
class BuiltinSpec:
    """Everything that determines the built-in model (and its cache key).

    ``student`` is the smaller architecture used for distillation and the from-scratch control.
    Training is bounded by ``train_steps`` (deterministic for a seed), chosen so the default
    spec trains in about three minutes on one core of a 2-core EPYC VM.
    """

    name: str
    config: LMConfig
    student: LMConfig
    tokenizer: str = "bpe"  # bpe | bytes
    vocab_size: int = 2048
    max_chars: int = 0  # 0: the whole corpus
    train_steps: int = 900
    batch: int = 16
    seq: int = 64
    lr: float = 3e-3
    seed: int = 0
    # measurement defaults of the lab for this size
    prompt_len: int = 16
    new_tokens: int = 64
    eval_tokens: int = 16384
    min_window_s: float = 1.0
    rounds: int = 3
    batch_size: int = 8
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self, corpus_sha256: str) -> str:
        d = asdict(self)
        d["config"] = self.config.to_dict()
        d["student"] = self.student.to_dict()
        blob = json.dumps(
            [d, corpus_sha256, CODE_VERSION, torch.__version__.split("+")[0]], sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


SPECS: dict[str, BuiltinSpec] = {
    # Sized for its budget (about three minutes of one core): at equal CPU time a 2.3 M model
    # (d 256, 900 steps) reached perplexity 33 and a 0.25 M one 27, i.e. the larger model was
    # under-trained. d 128 trained for 2400 steps of 16 x 64 tokens beats both, so it is a
    # teacher worth distilling; the student has under a quarter of its parameters. (16 windows
    # of 64 tokens trained better than 8 of 128 for the same tokens: 71 vs 101 after 400 steps.)
    # Context 64 = the trained length: prompt (16) + generated tokens (48) stay inside it.
    # benchmarks/optimize.md has the measurements; `optimize.py --teacher-check` reruns them.
    "default": BuiltinSpec(
        name="default",
        config=LMConfig(vocab_size=2048, d_model=128, n_layers=2, n_heads=4, d_mlp=384, max_seq=64),
        student=LMConfig(vocab_size=2048, d_model=48, n_layers=2, n_heads=4, d_mlp=144, max_seq=64),
        train_steps=2400,
        batch=16,
        seq=64,
        lr=3e-3,
        new_tokens=48,
    ),
    # For tests and a quick look: byte tokenizer, 200 kB of text, trains in seconds.
    "tiny": BuiltinSpec(
        name="tiny",
        config=LMConfig(vocab_size=256, d_model=32, n_layers=2, n_heads=4, d_mlp=64, max_seq=64),
        student=LMConfig(vocab_size=256, d_model=16, n_layers=1, n_heads=2, d_mlp=32, max_seq=64),
        tokenizer="bytes",
        vocab_size=256,
        max_chars=200_000,
        train_steps=60,
        batch=8,
        seq=32,
        prompt_len=8,
        new_tokens=8,
        eval_tokens=1024,
        min_window_s=0.05,
        rounds=1,
        batch_size=4,
    ),
}


@dataclass
class Builtin:
    """A ready built-in model with its tokenizer, token streams and provenance."""

    spec: BuiltinSpec
    model: TinyLM
    tokenizer: TextTokenizer
    train_ids: torch.Tensor
    heldout_ids: torch.Tensor
    meta: dict[str, Any]
    cache_dir: Path
    from_cache: bool  # True: not trained by this call (shipped or cached)
    #: Where the weights came from: ``shipped`` (the package), ``cache`` or ``trained``.
    source: str = "trained"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/wattwise/models`` (default ``~/.cache/wattwise/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wattwise" / "models"


def make_tokenizer(spec: BuiltinSpec, split: Split) -> TextTokenizer:
    if spec.tokenizer == "bytes":
        return ByteTokenizer()
    return BpeTokenizer.train(split.train, spec.vocab_size)


def encode_split(tok: TextTokenizer, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id tensors (int64) of the train and held-out parts."""
    return (
        torch.tensor(encode_long(tok, split.train), dtype=torch.long),
        torch.tensor(encode_long(tok, split.heldout), dtype=torch.long),
    )


def load_tokenizer(spec: BuiltinSpec, path: Path) -> TextTokenizer:
    return ByteTokenizer() if spec.tokenizer == "bytes" else BpeTokenizer.load(path)


def _resolve_spec(size: str, spec: BuiltinSpec | None) -> BuiltinSpec:
    if spec is not None:
        return spec
    if size not in SPECS:
        from wattwise.errors import ConfigError

        raise ConfigError(f"unknown built-in model size {size!r}; known: {', '.join(SPECS)}")
    return SPECS[size]


def get_builtin(
    size: str = "default",
    *,
    progress: Callable[[str], None] | None = None,
    spec: BuiltinSpec | None = None,
    retrain: bool = False,
) -> Builtin:
    """The built-in model of ``size`` (``default`` or ``tiny``): the weights shipped in the
    package (checksums verified, :mod:`wattwise.optimize.shipped`) when they were trained with
    this spec's recipe, else from the cache, else trained now and cached. ``retrain``: train
    now (and refresh the cache) even when weights ship or are cached.

    Training runs on the calling thread with torch's current thread count; its energy is
    measured with a tracker (estimated on machines without energy counters) and stored.
    """
    from wattwise.optimize import shipped

    spec = _resolve_spec(size, spec)
    say = progress or (lambda _msg: None)
    split = load_split("kjv", max_chars=spec.max_chars)
    if not retrain:
        ship = shipped.load(spec, split.sha256)
        if ship is not None:
            if ship.train_ids is None or ship.heldout_ids is None:
                train_ids, held_ids = encode_split(ship.tokenizer, split)
            else:
                train_ids, held_ids = ship.train_ids, ship.heldout_ids
            meta = {**ship.manifest["training"], "source": "shipped"}
            return Builtin(
                spec, ship.model, ship.tokenizer, train_ids, held_ids, meta,
                shipped.WEIGHTS_DIR, True, "shipped",
            )  # fmt: skip
    cache_dir = cache_root() / f"builtin-{spec.name}-{spec.key(split.sha256)}"
    weights = cache_dir / "model.pt"
    tok_path = cache_dir / "tokenizer.json"
    meta_path = cache_dir / "meta.json"
    if not retrain and weights.exists() and meta_path.exists():
        tok = load_tokenizer(spec, tok_path)
        train_ids, held_ids = encode_split(tok, split)
        model = TinyLM(spec.config)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        model.eval()
        meta = json.loads(meta_path.read_text())
        return Builtin(spec, model, tok, train_ids, held_ids, meta, cache_dir, True, "cache")

    say(
        f"training the built-in model '{spec.name}' ({spec.train_steps} steps); "
        f"it is cached in {cache_dir}"
    )
    t = train_builtin(spec, split, say)
    from wattwise.outputs import atomic_directory

    try:
        # The entry is filled in a temporary directory beside it and renamed into place whole:
        # an interrupted or failed write never leaves a half-written cache entry.
        with atomic_directory(cache_dir) as fill:
            torch.save(t.model.state_dict(), fill / weights.name)
            if isinstance(t.tokenizer, BpeTokenizer):
                t.tokenizer.save(fill / tok_path.name)
            (fill / meta_path.name).write_text(json.dumps(t.meta, indent=2), encoding="utf-8")
    except OSError as exc:  # the trained model is still used; only the cache is missing
        say(f"could not cache the built-in model in {cache_dir}: {exc.strerror or exc}")
    return Builtin(
        spec, t.model, t.tokenizer, t.train_ids, t.heldout_ids, t.meta, cache_dir, False
    )


@dataclass
class Trained:
    """The outcome of :func:`train_builtin`: model, tokenizer, token streams, figures, log."""

    model: TinyLM
    tokenizer: TextTokenizer
    train_ids: torch.Tensor
    heldout_ids: torch.Tensor
    meta: dict[str, Any]
    log: list[str]


def train_builtin(spec: BuiltinSpec, split: Split, say: Callable[[str], None]) -> Trained:
    """Train the built-in model of ``spec`` on ``split`` (deterministic: seed, data and steps
    are the spec's; one thread gives the same weights run after run). The one trainer of the
    built-in model: :func:`get_builtin` (cache, ``--retrain``) and ``scripts/train_builtin.py``
    (the shipped weights) both call it. ``meta``: seconds, CPU seconds, energy (J, with its
    provenance), held-out perplexity; ``log``: the smoothed loss every 100 steps."""
    from wattwise.tracker.core import Tracker

    tracker = Tracker(f"optimize:builtin-{spec.name}", interval_s=1.0).start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    t0 = time.perf_counter()
    with tracker.window("tokenizer"):
        tok = make_tokenizer(spec, split)
        train_ids, held_ids = encode_split(tok, split)
    torch.manual_seed(spec.seed)
    model = TinyLM(spec.config)
    log: list[str] = []

    def report(step: int, loss: float) -> None:
        if step % 100 == 0 or step == spec.train_steps:
            line = f"step {step}/{spec.train_steps}, loss {loss:.4f}"
            log.append(f"{time.perf_counter() - t0:7.1f} s  {line}")
            say(f"built-in model: {line}")

    with tracker.window("train"):
        rep = train_lm(
            model,
            train_ids,
            steps=spec.train_steps,
            batch=spec.batch,
            seq=spec.seq,
            lr=spec.lr,
            seed=spec.seed,
            progress=report,
        )
    result = tracker.stop()
    ppl = perplexity(logits_of(model), held_ids, seq=spec.seq, max_tokens=spec.eval_tokens)
    meta = {
        "spec": spec.name,
        "config": spec.config.to_dict(),
        "train_steps": rep.steps,
        "train_tokens": rep.tokens,
        "train_s": round(time.perf_counter() - t0, 2),
        "train_cpu_s": round(resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0, 2),
        "train_energy_j": result.energy.total_j,
        "train_energy_provenance": result.energy.label,
        "heldout_perplexity": ppl,
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "corpus": "King James Bible (public domain), wattwise/optimize/corpus/kjv.txt.gz",
    }
    model.eval()
    return Trained(model, tok, train_ids, held_ids, meta, log)
