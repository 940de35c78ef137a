"""Lossless speculative decoding of the built-in model: drafts from a context lookup and from
n-gram tables of the model's own greedy choices, verified per forward pass."""

from __future__ import annotations

from collections.abc import Iterator

from wattwise.optimize.registry import (
    Built,
    Context,
    Technique,
    bind_gen,
    builtin_model,
    register,
)
from wattwise.optimize.types import Skipped

NOTE = (
    "lossless: the model's own greedy text, verifying per forward pass up to 10 draft tokens "
    "from a context lookup, else up to 4 from n-gram tables of the model's own greedy choices "
    "and of the training text; batch 1 only (larger batches decode plainly)"
)


def _speculative(ctx: Context) -> Iterator[Built | Skipped]:
    from wattwise.optimize.speculative import NgramDraft, speculative_generate

    s = ctx.subject
    vocab = int(s.builtin.spec.config.vocab_size)
    made = ctx.variant(
        "speculative",
        ["speculative-ngram"],
        lambda: NgramDraft.build_for_model(s.model, s.train_ids, vocab),
        NOTE,
        decoder=lambda draft: bind_gen(speculative_generate, draft=draft),
    )
    if isinstance(made, Built):
        draft = made.artifact
        made.variant.notes.append(
            f"draft table: {draft.entries()} n-gram entries "
            f"({draft.model_entries} from the model's own greedy choices)"
        )
    yield made


register(
    Technique(
        "speculative",
        _speculative,
        "lossless speculative decoding with an n-gram / context-lookup draft",
        order=90,
        needs=(
            builtin_model("speculative decoding here drives the built-in model's key/value cache"),
        ),
    )
)
