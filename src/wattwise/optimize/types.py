"""Result types of the optimisation lab (no torch import here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from wattwise.errors import ConfigError


class TechniqueSkipped(ConfigError):
    """A technique cannot run here (no kernel, wrong model kind, budget too small); the message
    says why and what to do instead. The lab records it and runs the other variants."""


def same_text(variant: Mapping[str, Any], missing: str = "-") -> str:
    """'k/n' for a variant document: of n lab prompts, k continued with exactly the baseline's
    greedy tokens; ``missing`` when not checked."""
    k, n = variant.get("greedy_equal"), variant.get("greedy_prompts")
    return f"{k}/{n}" if isinstance(k, int) and n else missing


@dataclass
class Variant:
    """One model variant measured by the lab.

    Energy figures are joules per generated token from the tracker's windows (``provenance``
    says whether they were measured or estimated); ``cpu_s_per_token`` is this thread's CPU time
    per token (``getrusage``), a cross-check free of other processes' load.
    ``optimisation_energy_j`` is what producing the variant consumed (training, pruning,
    quantizing; J); ``payback_tokens`` the generated tokens after which that is recovered by the
    lower energy per token (None when the variant saves nothing). ``greedy_equal``: of
    ``greedy_prompts`` lab prompts (batch 1), how many the variant continues with exactly the
    baseline's greedy tokens (lossless variants: all); ``greedy_equal_batch``: the same check
    of the rows of one batch of ``greedy_prompts_batch`` (the variant's batch path) against the
    baseline's batch-1 text.
    """

    name: str
    techniques: list[str]
    j_per_token: float = float("nan")
    j_per_token_batch: float = float("nan")
    batch: int = 1
    tokens_per_s: float = float("nan")
    tokens_per_s_batch: float = float("nan")
    cpu_s_per_token: float = float("nan")
    cpu_s_per_token_batch: float = float("nan")
    latency_p50_ms: float = float("nan")
    latency_p95_ms: float = float("nan")
    perplexity: float = float("nan")
    params: int = 0
    size_bytes: int = 0
    size_note: str = "serialised state_dict"
    optimisation_energy_j: float = 0.0
    optimisation_s: float = 0.0
    payback_tokens: float | None = None
    provenance: str = "none"
    recommended: bool = False
    pareto: bool = False
    sample: str = ""
    greedy_equal: int | None = None
    greedy_prompts: int = 0
    greedy_equal_batch: int | None = None
    greedy_prompts_batch: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():  # JSON has no NaN / inf
            if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
                d[k] = None
        return d


@dataclass
class Skipped:
    """A technique the lab did not run, and why."""

    technique: str
    reason: str


@dataclass
class Comparison:
    """A training-energy comparison (distillation vs scratch, fine-tuning vs scratch)."""

    name: str
    description: str
    rows: list[dict[str, Any]]
    conclusion: str


@dataclass
class LabResult:
    """Everything one lab run found. ``to_dict()`` is the ``--json`` document."""

    model: str
    baseline: str
    variants: list[Variant]
    skipped: list[Skipped]
    comparisons: list[Comparison]
    tolerance: float
    recommended: str | None
    provenance: str
    energy_source: str
    settings: dict[str, Any]
    notes: list[str]
    run_id: str | None = None
    total_energy_j: float = 0.0
    #: Where the lab's run went (``WriteOutcome.line()``), empty when not stored at all.
    ledger_line: str = ""

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "baseline": self.baseline,
            "tolerance": self.tolerance,
            "recommended": self.recommended,
            "provenance": self.provenance,
            "energy_source": self.energy_source,
            "run_id": self.run_id,
            "ledger": self.ledger_line,
            "total_energy_j": self.total_energy_j,
            "settings": self.settings,
            "variants": [v.to_dict() for v in self.variants],
            "skipped": [asdict(s) for s in self.skipped],
            "comparisons": [asdict(c) for c in self.comparisons],
            "notes": self.notes,
        }
