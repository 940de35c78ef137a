"""Train the built-in model(s) and write the weights shipped in the package.

    PYTHONPATH=src python scripts/train_builtin.py                 # default and tiny -> package
    PYTHONPATH=src python scripts/train_builtin.py --size tiny --steps 5 --out /tmp/w   # a test
    PYTHONPATH=src python scripts/train_builtin.py --check         # retrain, compare checksums

The recipe is the spec in ``wattwise.optimize.builtin.SPECS`` (seed, corpus, steps, batch,
learning rate), trained on one torch thread by ``wattwise.optimize.builtin.train_builtin`` —
the same function that ``wattwise optimize --retrain`` and an uncached custom spec use.
Writes ``src/wattwise/optimize/weights/builtin-<size>.{json,pt,tokenizer.json,ids.gz}``; the
manifest (``.json``) holds the recipe, the files' SHA-256, the training figures and the
training log (the loss every 100 steps). ``--check`` trains into a temporary folder and says
whether the weights equal the shipped ones bit for bit (one thread on the same torch build).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import torch

    from wattwise.optimize import shipped
    from wattwise.optimize.builtin import SPECS, train_builtin
    from wattwise.optimize.corpus import load_split

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=[*SPECS, "all"], default="all")
    ap.add_argument("--steps", type=int, help="a shortened recipe (tests); not for shipping")
    ap.add_argument("--out", type=Path, default=shipped.WEIGHTS_DIR, help="folder to write")
    ap.add_argument("--check", action="store_true", help="retrain and compare with the shipped")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # the recipe: deterministic on one thread
    out: Path = Path(tempfile.mkdtemp(prefix="builtin-check-")) if args.check else args.out
    same = True
    for name in SPECS if args.size == "all" else [args.size]:
        spec = SPECS[name]
        if args.steps is not None:
            spec = dataclasses.replace(spec, train_steps=args.steps)
        split = load_split("kjv", max_chars=spec.max_chars)
        trained = train_builtin(spec, split, lambda m: print(m, file=sys.stderr, flush=True))
        ids = (trained.train_ids, trained.heldout_ids) if spec.tokenizer == "bpe" else None
        path = shipped.write(
            out, spec, split.sha256, trained.model, trained.tokenizer, ids, trained.meta,
            trained.log,
        )  # fmt: skip
        m = json.loads(path.read_text())
        print(
            f"{name}: {m['training']['train_steps']} steps in {m['training']['train_s']} s, "
            f"held-out perplexity {m['training']['heldout_perplexity']:.3f}, "
            f"model sha256 {m['files']['model']['sha256'][:16]} -> {path}"
        )
        if args.check:
            ref = shipped.manifest_path(name)
            old = json.loads(ref.read_text())["files"] if ref.is_file() else {}
            for role, entry in m["files"].items():
                ok = old.get(role, {}).get("sha256") == entry["sha256"]
                same &= ok
                print(f"  {role}: {'same as shipped' if ok else 'DIFFERS from shipped'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
