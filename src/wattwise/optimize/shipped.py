"""The built-in model's weights shipped in the package (``wattwise/optimize/weights/``), so a
first run loads them instead of training.

Per size ``NAME`` the folder holds (all written by ``scripts/train_builtin.py``, which trains
with :func:`wattwise.optimize.builtin.train_builtin`, the same code as ``--retrain``):

- ``builtin-NAME.json``: the manifest: the recipe (the spec's training fields, the corpus
  hash), its key, the SHA-256 of every file below, the training figures (steps, seconds,
  measured/estimated energy, held-out perplexity, torch version) and the training log;
- ``builtin-NAME.pt``: the ``state_dict`` (fp32, ``torch.save``);
- ``builtin-NAME.tokenizer.json``: the BPE tokenizer (BPE specs only);
- ``builtin-NAME.ids.gz``: the train and held-out token streams (int16, little-endian,
  gzip; BPE specs only): encoding the 4 MB corpus took ~3 s of a 2-core VM per load.

Every file is checked against its SHA-256 when it is loaded: a mismatch is a
:class:`~wattwise.errors.ConfigError` naming the file (a damaged install; reinstall or run with
``--retrain``). Weights are used only for the exact recipe they were trained with
(:func:`recipe_key`); any other spec trains (and is cached) as before.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from wattwise.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from wattwise.optimize.builtin import BuiltinSpec
    from wattwise.optimize.model import TinyLM
    from wattwise.optimize.tokenizer import TextTokenizer

#: The package folder of the shipped weights.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: Fields of :class:`~wattwise.optimize.builtin.BuiltinSpec` that determine the trained weights
#: (the measurement defaults of the lab do not).
TRAINING_FIELDS = (
    "tokenizer",
    "vocab_size",
    "max_chars",
    "train_steps",
    "batch",
    "seq",
    "lr",
    "seed",
)


def recipe(spec: BuiltinSpec, corpus_sha256: str) -> dict[str, Any]:
    """What determines the weights of ``spec``: its training fields, config and corpus hash."""
    d: dict[str, Any] = {f: getattr(spec, f) for f in TRAINING_FIELDS}
    d["config"] = spec.config.to_dict()
    d["corpus_sha256"] = corpus_sha256
    return d


def recipe_key(spec: BuiltinSpec, corpus_sha256: str) -> str:
    """A short hash of :func:`recipe` (the shipped weights' key)."""
    blob = json.dumps(recipe(spec, corpus_sha256), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Shipped:
    """Shipped weights loaded and verified: the model, tokenizer, token streams, manifest."""

    model: TinyLM
    tokenizer: TextTokenizer
    train_ids: torch.Tensor | None  # None: encode the corpus (byte tokenizer: instant)
    heldout_ids: torch.Tensor | None
    manifest: dict[str, Any]


def manifest_path(name: str, folder: Path = WEIGHTS_DIR) -> Path:
    return folder / f"builtin-{name}.json"


def _verified(folder: Path, manifest: dict[str, Any], role: str) -> Path | None:
    """The file of ``role`` (model / tokenizer / ids), checked against its SHA-256."""
    entry = manifest["files"].get(role)
    if entry is None:
        return None
    path: Path = folder / str(entry["file"])
    try:
        actual = sha256_file(path)
    except OSError as exc:
        raise ConfigError(
            f"shipped built-in model file {path} cannot be read ({exc.strerror or exc}); "
            "reinstall wattwise or run with --retrain"
        ) from exc
    if actual != entry["sha256"]:
        raise ConfigError(
            f"shipped built-in model file {path} fails its checksum (sha256 {actual[:12]}..., "
            f"expected {entry['sha256'][:12]}...); reinstall wattwise or run with --retrain"
        )
    return path


def load(spec: BuiltinSpec, corpus_sha256: str, folder: Path = WEIGHTS_DIR) -> Shipped | None:
    """The shipped weights of ``spec`` (verified), or None when none ship for its recipe."""
    from wattwise.optimize.model import LMConfig, TinyLM
    from wattwise.optimize.tokenizer import BpeTokenizer, ByteTokenizer

    mpath = manifest_path(spec.name, folder)
    if not mpath.is_file():
        return None
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    if manifest.get("recipe_key") != recipe_key(spec, corpus_sha256):
        return None
    weights = _verified(folder, manifest, "model")
    assert weights is not None
    model = TinyLM(LMConfig.from_dict(manifest["recipe"]["config"]))
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    tok_path = _verified(folder, manifest, "tokenizer")
    tok: TextTokenizer = BpeTokenizer.load(tok_path) if tok_path else ByteTokenizer()
    ids_path = _verified(folder, manifest, "ids")
    train = held = None
    if ids_path is not None:
        train, held = _read_ids(ids_path, manifest["files"]["ids"]["train_tokens"])
    return Shipped(model, tok, train, held, manifest)


def _read_ids(path: Path, n_train: int) -> tuple[torch.Tensor, torch.Tensor]:
    raw = bytearray(gzip.decompress(path.read_bytes()))
    ids = torch.frombuffer(raw, dtype=torch.int16)
    if sys.byteorder != "little":  # pragma: no cover - stored little-endian
        ids = ids.view(torch.uint8).view(-1, 2).flip(1).reshape(-1).view(torch.int16)
    ids = ids.to(torch.long)
    return ids[:n_train].clone(), ids[n_train:].clone()


def write(
    folder: Path,
    spec: BuiltinSpec,
    corpus_sha256: str,
    model: TinyLM,
    tokenizer: TextTokenizer,
    ids: tuple[torch.Tensor, torch.Tensor] | None,
    training: dict[str, Any],
    log: list[str],
) -> Path:
    """Write the files of ``spec``'s trained ``model`` into ``folder`` and its manifest last
    (so a manifest only names complete files); return the manifest's path."""
    from wattwise.optimize.tokenizer import BpeTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    stem = f"builtin-{spec.name}"
    files: dict[str, dict[str, Any]] = {}
    weights = folder / f"{stem}.pt"
    torch.save(model.state_dict(), weights)
    files["model"] = {"file": weights.name, "sha256": sha256_file(weights)}
    if isinstance(tokenizer, BpeTokenizer):
        tok_path = folder / f"{stem}.tokenizer.json"
        tokenizer.save(tok_path)
        files["tokenizer"] = {"file": tok_path.name, "sha256": sha256_file(tok_path)}
    if ids is not None:
        train, held = ids
        if max(int(train.max()), int(held.max())) >= 2**15:
            raise ValueError("token ids do not fit in int16")
        both = torch.cat([train, held]).to(torch.int16)
        ids_path = folder / f"{stem}.ids.gz"
        ids_path.write_bytes(gzip.compress(both.numpy().astype("<i2").tobytes(), mtime=0))
        files["ids"] = {
            "file": ids_path.name,
            "sha256": sha256_file(ids_path),
            "train_tokens": int(train.numel()),
            "heldout_tokens": int(held.numel()),
        }
    manifest = {
        "name": spec.name,
        "recipe": recipe(spec, corpus_sha256),
        "recipe_key": recipe_key(spec, corpus_sha256),
        "files": files,
        "training": training,
        "log": log,
    }
    mpath = manifest_path(spec.name, folder)
    mpath.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return mpath
