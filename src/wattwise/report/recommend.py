"""Tailored recommendations: rules over what an audit measured, each with its yearly saving.

Every rule reads the audit document (the JSON stored in the ledger under ``extra["audit"]``, see
:mod:`wattwise.audit.pipeline`) and returns a :class:`Recommendation` only when the measured
figures call for it: no rule fires on a fixed list. Each states its action as an
:class:`~wattwise.report.savings.Effect` on the audit's yearly site (``doc["scale"]``); savings
are per year at that scale: facility kWh (IT × PUE), kgCO2e (location-based, the grid intensity
of the run's context) and money (the context's price; ``None`` when no price is known).
:func:`recommend` ranks the actions and applies them in sequence against one baseline: each
action's saving is what it adds after the ones ranked above it (its saving alone is kept
beside it), so the savings add up. Each carries the evidence it rests on (a measured figure, a
table row) and its cost in quality or time.

Document keys read here: those of :class:`~wattwise.core.documents.AuditFindingsDocument`
(``scale``, ``lab``, ``regions``, ``footprint``, ``run``, ``hardware``, ``utilisation``,
``workload``), each read as optional: a rule whose inputs are absent (an older document) does
not fire.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wattwise.core.assumption import AssumptionDocument
from wattwise.core.documents import AcceleratorDocument, RecommendationDocument
from wattwise.core.documents import AuditFindingsDocument as Doc  # what the rules read
from wattwise.report.savings import Effect, baseline_site, combine, region_effect, saving
from wattwise.report.servingrule import rule_serving_config
from wattwise.report.when_to_run import rule_when_to_run
from wattwise.units import format_number as fn

#: Below this relative cut an action is not worth a recommendation (noise of the measurement).
MIN_RELATIVE_SAVING = 0.05
#: PUE reached by free-air / liquid-cooled facilities (pue.csv 'free-air' central value).
EFFICIENT_PUE = 1.1
#: McDonald et al. 2022, "Great Power, Great Responsibility" (arXiv:2205.09646): capping V100s at
#: 150 W (default 250 W) cut training energy by 13.7 % on average with a marginal time increase.
POWER_CAP_SAVING = 0.137
POWER_CAP_SOURCE = (
    "McDonald et al. 2022 (arXiv:2205.09646): a 150 W cap on 250 W V100s cut language-model "
    "training energy by 13.7 % on average, with a marginal increase in time"
)


@dataclass(frozen=True)
class Recommendation:
    """One action. Savings per year at the audit's scale; ``None`` where not quantifiable.

    After :func:`recommend`, ``saving_*`` is what the action saves once the ``after`` actions
    ranked above it are done, and ``alone_*`` what it would save on its own."""

    rule: str
    title: str
    action: str
    saving_kwh_per_year: float | None
    saving_kg_per_year: float | None
    saving_money_per_year: float | None
    currency: str
    evidence: str
    cost: str
    provenance: str  # of the saving: measured | estimated | assumed | none
    effect: Effect | None = None
    alone_kwh_per_year: float | None = None
    alone_kg_per_year: float | None = None
    alone_money_per_year: float | None = None
    after: int = 0  # quantified actions ranked above this one (applied before it)

    def to_dict(self) -> RecommendationDocument:
        """The action as a row of the audit's ``recommendations`` (fields in order)."""
        r = self
        return {
            "rule": r.rule, "title": r.title, "action": r.action,
            "saving_kwh_per_year": r.saving_kwh_per_year,
            "saving_kg_per_year": r.saving_kg_per_year,
            "saving_money_per_year": r.saving_money_per_year, "currency": r.currency,
            "evidence": r.evidence, "cost": r.cost, "provenance": r.provenance,
            "effect": None if r.effect is None else r.effect.to_dict(),
            "alone_kwh_per_year": r.alone_kwh_per_year, "alone_kg_per_year": r.alone_kg_per_year,
            "alone_money_per_year": r.alone_money_per_year, "after": r.after,
        }  # fmt: skip


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(float(x)) else None


def _year(doc: Doc) -> Mapping[str, Any]:
    scale = doc.get("scale") or {}
    y = scale.get("year") or {}
    return y if isinstance(y, Mapping) else {}


def _effect_rec(
    doc: Doc,
    rule: str,
    title: str,
    action: str,
    effect: Effect,
    evidence: str,
    cost: str,
    provenance: str,
) -> Recommendation | None:
    """A recommendation whose saving alone is ``effect`` applied to the audit's yearly site."""
    base = baseline_site(doc)
    if base is None:
        return None
    g = saving(base, effect.apply(base))
    return Recommendation(
        rule, title, action, g.facility_kwh, g.co2e_kg, g.money, base.currency, evidence, cost,
        provenance, effect,
    )  # fmt: skip


def _fraction_rec(
    doc: Doc,
    rule: str,
    title: str,
    action: str,
    fraction: float,
    evidence: str,
    cost: str,
    provenance: str,
) -> Recommendation | None:
    """A recommendation that cuts a ``fraction`` of the yearly IT (hence facility) energy."""
    if fraction < MIN_RELATIVE_SAVING:
        return None
    effect = Effect(it_factor=1.0 - min(1.0, fraction))
    return _effect_rec(doc, rule, title, action, effect, evidence, cost, provenance)


def _scale_phrase(doc: Doc) -> str:
    scale = doc.get("scale") or {}
    n = _num(scale.get("units_per_day"))
    unit = scale.get("unit") or "request"
    return f"{n:,.0f} {unit}s per day" if n is not None else "the audit's scale"


# --------------------------------------------------------------------------- rules


#: Lab techniques that keep the model's weights and change only how it decodes.
DECODING_TECHNIQUES = frozenset({"speculative-ngram", "compiled-static-cache", "lean-step"})


def rule_lab_variant(doc: Doc) -> Recommendation | None:
    """The lab found a variant with lower energy per token within the perplexity tolerance."""
    lab = doc.get("lab")
    if not isinstance(lab, Mapping) or not lab.get("recommended"):
        return None
    variants = {v.get("name"): v for v in lab.get("variants", []) if isinstance(v, Mapping)}
    best, base = variants.get(lab["recommended"]), variants.get(lab.get("baseline"))
    if best is None or base is None or best is base:
        return None
    e1, e0 = _num(best.get("j_per_token")), _num(base.get("j_per_token"))
    p1, p0 = _num(best.get("perplexity")), _num(base.get("perplexity"))
    if e1 is None or e0 is None or e0 <= 0 or p1 is None or p0 is None:
        return None
    cut = 1.0 - e1 / e0
    d_ppl = p1 / p0 - 1.0
    pay = _num(best.get("payback_tokens"))
    cost = f"perplexity {fn(p0)} → {fn(p1)} ({d_ppl:+.1%}, tolerance {lab.get('tolerance', 0):.0%})"
    opt_j = _num(best.get("optimisation_energy_j"))
    if opt_j:
        cost += f"; one-off optimisation energy {fn(opt_j)} J"
        if pay is not None:
            cost += f", paid back after {pay:,.0f} generated tokens"
    evidence = (
        f"optimisation lab ({best.get('provenance', '?')}): '{best['name']}' "
        f"{fn(e1 * 1e3)} mJ/token vs baseline {fn(e0 * 1e3)} mJ/token at batch 1 "
        f"(median of {(lab.get('settings') or {}).get('rounds', '?')} rounds)"
    )
    techs = [str(t) for t in best.get("techniques") or []]
    k, n = best.get("greedy_equal"), best.get("greedy_prompts")
    if techs and set(techs) <= DECODING_TECHNIQUES:  # the same weights, decoded differently
        same = f"; the same greedy text on {k}/{n} lab prompts" if n else ""
        title = f"Decode with '{best['name']}' (the same model)"
        action = (
            f"keep the model and change how it decodes ({', '.join(techs)}): "
            f"{cut:.0%} less energy per token{same}"
        )
    else:
        title = f"Serve the '{best['name']}' variant of the model"
        action = (
            f"replace the served model by its '{best['name']}' variant "
            f"({', '.join(techs)}): {cut:.0%} less energy per token"
        )
    return _fraction_rec(
        doc,
        "lab-variant",
        title,
        action,
        cut,
        evidence,
        cost,
        str(best.get("provenance") or "measured"),
    )


def rule_batching(doc: Doc) -> Recommendation | None:
    """Measured: batched generation costs less energy per token than one request at a time."""
    lab = doc.get("lab")
    served_batch = (doc.get("workload") or {}).get("batch_size")
    if not isinstance(lab, Mapping) or served_batch != 1:
        return None
    base = next((v for v in lab.get("variants", []) if v.get("name") == lab.get("baseline")), None)
    if base is None:
        return None
    e1, en = _num(base.get("j_per_token")), _num(base.get("j_per_token_batch"))
    t1, tn = _num(base.get("tokens_per_s")), _num(base.get("tokens_per_s_batch"))
    bsz = base.get("batch")
    if e1 is None or en is None or e1 <= 0:
        return None
    cut = 1.0 - en / e1
    cost = "requests wait until a batch is full"
    if t1 and tn and isinstance(bsz, int) and bsz > 0:
        cost += (
            f"; each request then decodes at {fn(tn / bsz)} tokens/s instead of {fn(t1)} "
            f"(throughput ×{fn(tn / t1, 2)})"
        )
    return _fraction_rec(
        doc,
        "batching",
        f"Batch requests ({bsz} at a time)",
        f"serve requests in batches of {bsz} instead of one at a time",
        cut,
        f"measured by the lab on the baseline model: {fn(e1 * 1e3)} mJ/token at batch 1, "
        f"{fn(en * 1e3)} mJ/token at batch {bsz} ({base.get('provenance', '?')})",
        cost,
        str(base.get("provenance") or "measured"),
    )


def utilisation_saving(mean_power_w: float, tdp_w: float, idle_w: float) -> tuple[float, float]:
    """(utilisation, relative energy saving) when a device's load is doubled (capped at full).

    Power model ``P = idle + (TDP - idle) × u`` (the estimator's utilisation basis); energy per
    unit of work ∝ P / u, so raising u spreads the idle power over more work.
    """
    span = tdp_w - idle_w
    if span <= 0 or mean_power_w <= 0:
        return 0.0, 0.0
    u = min(1.0, max(1e-3, (mean_power_w - idle_w) / span))
    u2 = min(1.0, 2 * u)
    e = (idle_w + span * u) / u
    e2 = (idle_w + span * u2) / u2
    return u, max(0.0, 1.0 - e2 / e)


def rule_accelerator_utilisation(doc: Doc) -> Recommendation | None:
    """Accelerators drew far below their TDP: larger batches would use them better."""
    accs = (doc.get("utilisation") or {}).get("accelerators") or []
    best: tuple[float, float, AcceleratorDocument] | None = None
    for a in accs:
        p, tdp, idle = _num(a.get("mean_power_w")), _num(a.get("tdp_w")), _num(a.get("idle_w"))
        if p is None or tdp is None or idle is None:
            continue
        u, saving = utilisation_saving(p, tdp, idle)
        if u < 0.5 and (best is None or saving > best[1]):
            best = (u, saving, a)
    if best is None:
        return None
    u, saving, a = best
    share = _accelerator_share(doc)
    return _fraction_rec(
        doc,
        "accelerator-utilisation",
        "Raise the accelerators' utilisation (larger batches, fewer GPUs)",
        "increase the batch size (or pack the work on fewer accelerators) until power nears TDP",
        saving * share,
        f"measured mean power of {a.get('name')}: {a['mean_power_w']:.0f} W of {a['tdp_w']:.0f} W "
        f"TDP (idle {a['idle_w']:.0f} W, hardware.csv) → about {u:.0%} utilisation",
        "more memory per device; latency per request may rise",
        "estimated",
    )


def _accelerator_share(doc: Doc) -> float:
    comps = (doc.get("run") or {}).get("components") or []
    total = sum(_num(c.get("energy_j")) or 0.0 for c in comps)
    acc = sum(_num(c.get("energy_j")) or 0.0 for c in comps if c.get("kind") == "gpu")
    return acc / total if total > 0 else 0.0


def rule_power_cap(doc: Doc) -> Recommendation | None:
    """A GPU power cap: measured by ``wattwise tune`` when a profile exists, else a published
    figure (:func:`wattwise.report.powerrules.power_cap`)."""
    from wattwise.report.powerrules import power_cap

    return power_cap(doc)


def rule_cpu_governor(doc: Doc) -> Recommendation | None:
    """The CPU frequency advice, unquantified (:func:`wattwise.report.powerrules`)."""
    from wattwise.report.powerrules import cpu_governor

    return cpu_governor(doc)


def rule_cleaner_region(doc: Doc) -> Recommendation | None:
    """The run's grid is dirtier than the cleanest place within the user's reach."""
    regions = doc.get("regions") or {}
    cur, cands = regions.get("current"), regions.get("candidates") or []
    y = _year(doc)
    year_kg, year_kwh = _num(y.get("co2e_location_kg")), _num(y.get("facility_energy_kwh"))
    if not isinstance(cur, Mapping) or not cands or year_kg is None or year_kwh is None:
        return None
    cur_g = _num(cur.get("co2e_location_g"))
    if not cur_g:
        return None
    best = min(cands, key=lambda r: _num(r.get("co2e_location_g")) or math.inf)
    best_g = _num(best.get("co2e_location_g"))
    if best_g is None or best.get("key") == cur.get("key"):
        return None
    cut = 1.0 - best_g / cur_g
    if cut < MIN_RELATIVE_SAVING:
        return None
    effect = region_effect(best)
    pue0, pue1 = _num((doc.get("scale") or {}).get("pue")), effect.pue
    if pue1 is None or pue0 is None or math.isclose(pue0, pue1, rel_tol=1e-3):
        energy = "IT and facility energy are unchanged (the same PUE)"
    else:
        energy = (
            f"IT energy is unchanged; facility energy follows the provider's PUE "
            f"({fn(pue0)} → {fn(pue1)})"
        )
    return _effect_rec(
        doc,
        "cleaner-region",
        f"Run in {best.get('name') or best.get('key')}",
        f"move the workload to {best.get('key')} ({regions.get('scope', 'the compared places')})",
        effect,
        f"grid intensity {best.get('intensity_g_per_kwh', 0):.0f} gCO2e/kWh "
        f"({best.get('source', '')}) "
        f"vs {cur.get('intensity_g_per_kwh', 0):.0f} gCO2e/kWh where it runs now "
        f"({cur.get('name') or cur.get('key')})",
        f"data transfer, latency to users, data-residency rules; {energy}",
        "estimated",
    )


def _assumption(doc: Doc, name: str) -> AssumptionDocument | None:
    for a in (doc.get("footprint") or {}).get("assumptions") or []:
        if a.get("name") == name:
            return a
    return None


def rule_efficient_facility(doc: Doc) -> Recommendation | None:
    """The facility's PUE is well above what free-air / liquid cooling reaches."""
    pue = _assumption(doc, "pue")
    value = _num(pue.get("value")) if pue else None
    if pue is None or value is None or value <= EFFICIENT_PUE * 1.05:
        return None
    told = pue.get("provenance") in ("given", "user")  # "user": ledgers before core/
    return _effect_rec(
        doc,
        "efficient-facility",
        f"Use a facility with PUE ≤ {EFFICIENT_PUE}",
        "run in a data centre with free-air or liquid cooling (PUE ≈ 1.1), e.g. a hyperscale "
        "cloud region",
        Effect(pue_at_most=EFFICIENT_PUE),
        f"PUE {fn(value)} ({'given by you' if told else pue.get('provenance')}: "
        f"{pue.get('source', '')}) vs 1.1 for free-air cooled facilities (pue.csv)",
        "a hosting change; IT energy, the model and its speed are unchanged (the saving is "
        "facility overhead)",
        "estimated" if told else "assumed",
    )


def rule_know_pue(doc: Doc) -> Recommendation | None:
    """No PUE was given: the overhead is an industry average, not this facility's."""
    pue = _assumption(doc, "pue")
    if pue is None or pue.get("provenance") != "assumed":
        return None
    cur = str((doc.get("scale") or {}).get("currency") or "")
    return Recommendation(
        "know-pue",
        "Measure or ask for your facility's PUE",
        "ask the data-centre operator (or your cloud provider) for the site PUE and pass --pue "
        "or --cooling; the overhead figure is an industry average now",
        None,
        None,
        None,
        cur,
        f"PUE assumed: {pue.get('value')} — {pue.get('source', '')}",
        "none (a question to your provider)",
        "none",
    )


def rule_energy_counter(doc: Doc) -> Recommendation | None:
    """Part of the energy is a model's estimate: a hardware counter would measure it."""
    run = doc.get("run") or {}
    comps = run.get("components") or []
    total = sum(_num(c.get("energy_j")) or 0.0 for c in comps)
    est = [c for c in comps if c.get("provenance") == "estimated"]
    est_j = sum(_num(c.get("energy_j")) or 0.0 for c in est)
    if total <= 0 or est_j <= 0:
        return None
    names = ", ".join(sorted({str(c.get("name") or c.get("kind")) for c in est}))
    return Recommendation(
        "energy-counter",
        "Measure with a hardware energy counter",
        "run the audit on a machine that exposes RAPL (Linux powercap, readable by the user) or "
        "an NVIDIA/AMD GPU counter: the figures then become measured instead of estimated",
        None,
        None,
        None,
        str((doc.get("scale") or {}).get("currency") or ""),
        f"{est_j / total:.0%} of the energy is estimated by a power model ({names}); "
        "see `wattwise doctor` for why no counter was readable",
        "none (access to /sys/class/powercap or a GPU)",
        "none",
    )


def rule_hardware(doc: Doc) -> Recommendation | None:
    """The estimator puts the same serving load on catalog hardware at a much lower energy."""
    rows = [r for r in doc.get("hardware") or [] if _num(r.get("year_facility_kwh")) is not None]
    facility = _num(_year(doc).get("facility_energy_kwh"))
    if not rows or facility is None or facility <= 0:
        return None
    best = min(rows, key=lambda r: r["year_facility_kwh"])
    cut = 1.0 - float(best["year_facility_kwh"]) / facility
    if cut < 0.3:  # estimates against a measurement: only a large gap is worth a line
        return None
    return _fraction_rec(
        doc,
        "hardware",
        f"Serve on {best['name']}",
        f"serve the same requests on {best['name']} (estimated {fn(best['year_facility_kwh'])} "
        f"kWh/year with the chip on around the clock, vs {fn(facility)} kWh/year measured here)",
        cut,
        f"wattwise estimator (hardware.csv row '{best['name']}', memory-bound decode model, "
        f"range {fn(best.get('year_facility_kwh_low', 0))}-"
        f"{fn(best.get('year_facility_kwh_high', 0))}"
        " kWh/year) — an estimate, not a measurement",
        "hardware cost and embodied carbon of the new device; verify with a measured run on it",
        "estimated",
    )


RULES: tuple[Callable[[Doc], Recommendation | None], ...] = (
    rule_serving_config,  # report/servingrule.py: the measured serving configuration
    rule_lab_variant,
    rule_batching,
    rule_accelerator_utilisation,
    rule_power_cap,
    rule_cpu_governor,
    rule_cleaner_region,
    rule_when_to_run,  # report/when_to_run.py: start in the grid's low-carbon hours
    rule_efficient_facility,
    rule_hardware,
    rule_know_pue,
    rule_energy_counter,
)


def sort_key(r: Recommendation) -> tuple[int, float, float]:
    """Larger yearly carbon saving first, then larger energy saving; unquantified last."""
    if r.saving_kg_per_year is None and r.saving_kwh_per_year is None:
        return (1, 0.0, 0.0)
    return (0, -(r.saving_kg_per_year or 0.0), -(r.saving_kwh_per_year or 0.0))


def recommend(
    doc: Doc, rules: Sequence[Callable[[Doc], Recommendation | None]] = RULES
) -> list[Recommendation]:
    """Every recommendation the audit's figures call for, ranked and combined: the quantified
    actions in the order :func:`~wattwise.report.savings.combine` applies them (each saving is
    what the action adds after those above it), then the unquantified ones."""
    out = [r for r in (rule(doc) for rule in rules) if r is not None]
    acts = [r for r in out if r.effect is not None]
    rest = sorted((r for r in out if r.effect is None), key=sort_key)
    base = baseline_site(doc)
    if base is None or not acts:
        return sorted(acts, key=sort_key) + rest
    steps, _ = combine([r.effect for r in acts if r.effect is not None], base)
    ranked = [
        replace(
            acts[st.index],
            saving_kwh_per_year=st.marginal.facility_kwh,
            saving_kg_per_year=st.marginal.co2e_kg,
            saving_money_per_year=st.marginal.money,
            alone_kwh_per_year=st.alone.facility_kwh,
            alone_kg_per_year=st.alone.co2e_kg,
            alone_money_per_year=st.alone.money,
            after=k,
        )
        for k, st in enumerate(steps)
    ]
    return ranked + rest
