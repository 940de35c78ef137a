"""The audit report: one self-contained HTML file (inline CSS and SVG, no script, no request).

:func:`render_report` turns an audit document (see :mod:`wattwise.audit.pipeline`) and the run
read back from the ledger into HTML. Headline figures carry ``data-metric`` / ``data-value``
attributes (raw numbers in base units) so tests and tools can check them against the ledger; a
Content-Security-Policy meta tag forbids every external load, so a report that tried one would
show an error in the browser's console.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from wattwise.report import svg
from wattwise.report.methodology import methodology_html
from wattwise.units import format_duration, format_energy, format_mass_g, kwh_to_j

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
PROVENANCE_ORDER = ("measured", "integrated", "estimated", "assumed")

CSS = """
:root{--ink:#1d2330;--mute:#5b6475;--line:#e2e6ee;--bg:#f6f8fb;--card:#fff;--accent:#0072B2;
  --code:#f0f2f6;--good:#17633a;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--ink:#e3e7ef;--mute:#a0a9b8;--line:#313a48;
  --bg:#11151b;--card:#1a1f27;--accent:#56B4E9;--code:#262d38;--good:#6fd39a}
  .b-measured{background:#163a26!important;color:#8fe0b0!important}
  .b-integrated{background:#16304d!important;color:#9cc8f5!important}
  .b-estimated{background:#3d2d10!important;color:#f2c77a!important}
  .b-assumed{background:#432020!important;color:#f3a3a3!important}
  .b-user{background:#2c2350!important;color:#c9b8f7!important}
  .b-none{background:#333!important;color:#ccc!important}
  .warn{background:#3a2c12!important;border-color:#7a5a1d!important}
  .fail{background:#3d1b1b!important;border-color:#8a3030!important}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--ink);background:var(--bg)}
main{max-width:1120px;margin:0 auto;padding:28px 32px 60px}
header.top{background:linear-gradient(120deg,#0b3d5c,#0072B2);color:#fff;padding:26px 32px}
header.top .in{max-width:1120px;margin:0 auto}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:650}
header.top p{margin:2px 0;opacity:.9}
h2{font-size:20px;margin:34px 0 10px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:18px 0 6px}
p,li,td,th,.card,header.top p{overflow-wrap:anywhere}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;
  padding:6px 22px 18px;margin-top:18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,220px),1fr));
  gap:12px;margin-top:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;
  min-width:0}
.card .k{color:var(--mute);font-size:12.5px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:23px;font-weight:650;margin:2px 0}
.card .s{color:var(--mute);font-size:12.5px}
.badge{display:inline-block;font-size:11px;font-weight:600;border-radius:9px;
  padding:1px 8px;vertical-align:middle;white-space:nowrap}
.b-measured{background:#dff3e6;color:#17633a}.b-integrated{background:#e1eefc;color:#164f8a}
.b-estimated{background:#fdf0d9;color:#8a5300}.b-assumed{background:#fbe1e1;color:#8f1f1f}
.b-user{background:#ece7fb;color:#4b2d91}.b-none{background:#eee;color:#555}
.scroll,.chart{overflow-x:auto;max-width:100%}
.chart svg{display:block;min-width:640px}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:8px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);
  vertical-align:top}
.scroll td,.scroll th{overflow-wrap:normal;min-width:4.5em}
th{color:var(--mute);font-weight:600;font-size:12.5px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.banner{border-radius:8px;padding:10px 14px;margin-top:16px}
.warn{background:#fff4e0;border:1px solid #f1c27d}.fail{background:#fde8e8;
  border:1px solid #ef9a9a}
.note{color:var(--mute);font-size:13px}
ol.recs{padding-left:0;list-style:none;counter-reset:r}
ol.recs li{counter-increment:r;border:1px solid var(--line);border-radius:10px;
  padding:10px 14px 10px 52px;margin:10px 0;position:relative;background:var(--card)}
ol.recs li:before{content:counter(r);position:absolute;left:14px;top:10px;width:26px;
  height:26px;border-radius:13px;background:var(--accent);color:#fff;text-align:center;
  font-weight:700;line-height:26px}
.saving{font-weight:650;color:var(--good)}
figure{margin:8px 0 4px}figcaption{color:var(--mute);font-size:13px}
code{font-size:12.5px;background:var(--code);padding:1px 4px;border-radius:4px}
@media (max-width:640px){main{padding:14px 10px 40px}
  .cards{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}.card{padding:10px}
  .card .v{font-size:18px}header.top{padding:18px 14px}
  header.top h1{font-size:21px}section{padding:4px 12px 14px}
  ol.recs li{padding:10px 10px 10px 44px}ol.recs li:before{left:9px}}
@media print{:root{--ink:#1d2330;--mute:#5b6475;--line:#e2e6ee;--bg:#fff;--card:#fff}
  body{background:#fff}main{padding:12px 0}section{break-inside:auto;margin-top:12px}
  figure,.card,ol.recs li,tr,.banner{break-inside:avoid}h2,h3{break-after:avoid}
  .chart,.scroll{overflow:visible}.chart svg{min-width:0}
  header.top{print-color-adjust:exact;-webkit-print-color-adjust:exact}}"""


def e(x: object) -> str:
    return escape(str(x))


def badge(provenance: str | None) -> str:
    """A coloured badge: the weakest kind in a label such as ``mixed: measured + estimated``."""
    label = provenance or "none"
    kinds = [k for k in (*PROVENANCE_ORDER, "user") if k in label]
    weakest = next(
        (k for k in reversed(PROVENANCE_ORDER) if k in kinds), kinds[0] if kinds else "none"
    )
    text = "given by you" if label == "user" else label
    return f"<span class='badge b-{weakest}' data-provenance={quoteattr(label)}>{e(text)}</span>"


def num(x: Any, digits: int = 3) -> str:
    if not isinstance(x, int | float) or not math.isfinite(float(x)):
        return "—"
    v = float(x)
    if v == 0:
        return "0"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def money(x: Any, currency: str) -> str:
    if not isinstance(x, int | float):
        return "unknown"
    v = float(x)
    return f"{v:,.2f} {e(currency)}" if abs(v) >= 1 else f"{v:.3g} {e(currency)}"


def card(metric: str, value: float | None, label: str, shown: str, sub: str) -> str:
    data = f" data-value='{value:.9g}'" if isinstance(value, int | float) else ""
    return (
        f"<div class='card' data-metric={quoteattr(metric)}{data}><div class='k'>{e(label)}</div>"
        f"<div class='v'>{shown}</div><div class='s'>{sub}</div></div>"
    )


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    """A table in a horizontal scroll container (wide tables scroll on a phone). ``head``
    is plain text (escaped here); cells are HTML the caller escaped."""
    nums = set(numeric)
    th = "".join(f"<th{' class=n' if i in nums else ''}>{e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i in nums else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return (
        f"<div class='scroll'><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def _chart(markup: str) -> str:
    """An SVG chart in a horizontal scroll container: on a narrow screen the chart keeps a
    readable size (``min-width``) and scrolls instead of shrinking its text."""
    return f"<div class='chart'>{markup}</div>"


def _assumption(fp: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return next((a for a in fp.get("assumptions", []) if a.get("name") == name), {})


# --------------------------------------------------------------------------- sections


def _header(doc: Mapping[str, Any], run: Any) -> str:
    wl = doc.get("workload", {})
    host = run.host.get("hostname") or run.host.get("node") or ""
    return (
        "<header class='top'><div class='in'><h1>Energy, carbon and cost audit</h1>"
        f"<p>{e(wl.get('description', ''))}</p>"
        f"<p>run <code style='background:#ffffff22;color:#fff'>{e(run.run_id)}</code> · "
        f"{e(run.started_at[:19].replace('T', ' '))} UTC · {e(host)} · "
        f"{e(format_duration(run.duration_s))} · status {e(run.status)}</p></div></header>"
    )


def _banners(doc: Mapping[str, Any], run: Any) -> str:
    out = []
    wl = doc.get("workload", {})
    code = wl.get("exit_code")
    if isinstance(code, int) and code != 0:
        out.append(
            f"<div class='banner fail' data-exit-code='{code}'><b>The command failed with exit "
            f"code {code}.</b> The figures below cover what was measured until it stopped; the "
            "run is in the ledger with status "
            f"<code>{e(run.status)}</code>.</div>"
        )
    for n in doc.get("notes", []):
        out.append(f"<div class='banner warn'>{e(n)}</div>")
    return "".join(out)


def _headline(doc: Mapping[str, Any], run: Any) -> str:
    fp = doc["footprint"]
    sc = doc.get("scale", {})
    y = sc.get("year", {})
    cur = (fp.get("cost") or {}).get("currency", sc.get("currency", ""))
    pue_a = _assumption(fp, "pue")
    grid_a = _assumption(fp, "grid_intensity")
    price_a = _assumption(fp, "price")
    e_j = run.energy.total_j
    cards = [
        card(
            "it_energy_j",
            e_j,
            "IT energy of the run",
            e(format_energy(e_j)),
            f"{badge(run.energy.label)} mean {num(run.mean_power_w())} W",
        ),
        card(
            "facility_energy_kwh",
            fp["facility_energy_kwh"],
            "Facility energy",
            e(format_energy(kwh_to_j(fp["facility_energy_kwh"]))),
            f"PUE {num(fp['pue'])} {badge(pue_a.get('provenance'))}",
        ),
        card(
            "co2e_location_g",
            fp["co2e_location_g"],
            "Carbon, location-based",
            e(format_mass_g(fp["co2e_location_g"])) + " CO2e",
            f"{num(fp['intensity_g_per_kwh'])} g/kWh {badge(grid_a.get('provenance'))}",
        ),
        card(
            "cost",
            (fp.get("cost") or {}).get("value"),
            "Electricity cost",
            money((fp.get("cost") or {}).get("value"), cur),
            f"{badge(price_a.get('provenance'))} "
            + e(_basis(doc.get("regions", {}).get("current") or {}).strip(" ()") or "")
            + f" {e(fp.get('location', ''))}",
        ),
    ]
    unit = sc.get("unit", "request")
    per = sc.get("it_j_per_unit")
    cards += [
        card(
            "it_j_per_unit",
            per,
            f"IT energy per {unit}",
            e(format_energy(per)) if isinstance(per, float | int) else "—",
            f"{badge(sc.get('provenance'))} {e(sc.get('basis', ''))}",
        ),
        card(
            "year_facility_kwh",
            y.get("facility_energy_kwh"),
            "Per year at scale",
            f"{num(y.get('facility_energy_kwh'))} kWh",
            f"{num(sc.get('units_per_day'))} {e(unit)}s/day, facility energy",
        ),
        card(
            "year_co2e_kg",
            y.get("co2e_location_kg"),
            "Carbon per year",
            f"{num(y.get('co2e_location_kg'))} kg CO2e",
            f"market-based {num(y.get('co2e_market_kg'))} kg",
        ),
        card(
            "year_cost",
            y.get("cost"),
            "Cost per year",
            money(y.get("cost"), sc.get("currency") or cur),
            "facility energy × price",
        ),
    ]
    return f"<div class='cards' id='headline'>{''.join(cards)}</div>"


def _timeline(doc: Mapping[str, Any], run: Any) -> str:
    series: dict[str, list[tuple[float, float]]] = {}
    names = {c.device_id: c.name for c in run.components}
    for s in sorted(run.samples, key=lambda s: s.t_s):
        if s.power_w is not None and math.isfinite(s.power_w):
            series.setdefault(names.get(s.device_id, s.device_id), []).append((s.t_s, s.power_w))
    bands = [(p["start_s"], p["end_s"], p["name"]) for p in doc.get("phases", [])]
    chart = svg.line_chart(
        series,
        title="Power per device over the run",
        x_label="time since start (s)",
        y_label="power (W)",
        bands=bands,
    )
    rows = [
        [
            e(p["name"]),
            num(p["duration_s"]),
            e(format_energy(p["energy_j"])),
            badge(p["provenance"]),
            e(", ".join(f"{num(v)} {k}" for k, v in p.get("counts", {}).items()) or "—"),
            e(
                ", ".join(
                    f"{format_energy(v)}/{k.rstrip('s')}"
                    for k, v in p.get("energy_per", {}).items()
                )
                or "—"
            ),
        ]
        for p in doc.get("phases", [])
    ]
    return (
        "<section id='timeline'><h2>Power timeline</h2>"
        f"<figure id='plot-timeline'>{_chart(chart)}<figcaption>Power of each device sampled every "
        "~0.5 s; shaded bands are the workload's phases (tracker windows). Energy of a phase is "
        "the difference of energy readings at its boundaries.</figcaption></figure>"
        + table(["phase", "seconds", "energy", "provenance", "counted", "per unit"], rows, [1, 2])
        + "</section>"
    )


def _breakdown(doc: Mapping[str, Any], run: Any) -> str:
    parts = [(str(k), float(v)) for k, v in doc.get("breakdown_j", [])]
    chart = svg.stacked_bar(parts, title="Energy breakdown", unit="J", fmt=format_energy)
    comps = [
        [e(c.name), e(c.kind), e(format_energy(c.energy_j)), badge(c.provenance.value), e(c.source)]
        for c in run.components
    ]
    return (
        "<section id='breakdown'><h2>Energy breakdown</h2>"
        f"<figure id='plot-breakdown'>{_chart(chart)}<figcaption>IT energy by part plus the "
        "facility overhead (IT energy × (PUE − 1)).</figcaption></figure>"
        + table(["device", "kind", "energy", "provenance", "source"], comps, [2])
        + "</section>"
    )


def _scale(doc: Mapping[str, Any]) -> str:
    sc = doc.get("scale", {})
    cur = sc.get("currency", "")
    rows = []
    for label, p in (("per day", sc.get("day", {})), ("per year", sc.get("year", {}))):
        rows.append(
            [
                label,
                num(p.get("it_energy_kwh")),
                num(p.get("facility_energy_kwh")),
                num(p.get("co2e_location_kg")),
                num(p.get("co2e_market_kg")),
                money(p.get("cost"), cur),
            ]
        )
    hw = doc.get("hardware", [])
    hw_rows = [
        [
            e(h["name"]),
            num(h["wh_per_request"]),
            num(h.get("year_busy_facility_kwh")),
            num(h["year_facility_kwh"]),
            f"{num(h['year_facility_kwh_low'])}–{num(h['year_facility_kwh_high'])}",
            num(h["year_co2e_kg"]),
            money(h.get("year_cost"), cur),
            badge("estimated"),
        ]
        for h in hw
    ]
    tok = sc.get("it_j_per_token")
    per_tok = (
        f", {e(format_energy(tok))} per generated token" if isinstance(tok, float | int) else ""
    )
    hw_html = (
        "<h3>The same requests on other hardware</h3>"
        "<p class='note'>From the wattwise estimator (memory-bound decode model, batch 1, one "
        "chip, fp32 weights): <b>estimated</b>, not measured. <i>busy</i>: energy while serving "
        "only; <i>always on</i>: one chip provisioned around the clock, idle power included "
        "(the figure recommendations use).</p>"
        + table(
            [
                "hardware",
                "Wh/request",
                "kWh/year busy",
                "kWh/year always on",
                "range",
                "kgCO2e/year",
                "cost/year",
                "",
            ],
            hw_rows,
            [1, 2, 3, 5, 6],
        )
        if hw
        else f"<p class='note'>{e(doc.get('hardware_note') or 'no hardware comparison')}</p>"
    )
    return (
        "<section id='scale'><h2>At your scale</h2>"
        f"<p>{num(sc.get('units_per_day'))} {e(sc.get('unit', 'request'))}s per day × "
        f"{e(format_energy(sc.get('it_j_per_unit') or 0))} IT energy per {e(sc.get('unit'))}"
        f"{per_tok} {badge(sc.get('provenance'))}; accounted in the same context.</p>"
        + table(
            ["period", "IT kWh", "facility kWh", "kgCO2e (location)", "kgCO2e (market)", "cost"],
            rows,
            [1, 2, 3, 4, 5],
        )
        + hw_html
        + "</section>"
    )


def _regions(doc: Mapping[str, Any]) -> str:
    reg = doc.get("regions", {})
    rows = reg.get("chart", [])
    carbon = svg.bar_chart(
        [
            svg.Bar(
                ("▶ " if r.get("current") else "") + str(r.get("name") or r["key"]),
                r["co2e_location_g"],
                "g",
                bool(r.get("current")),
            )
            for r in rows
        ],
        title="Carbon of this run across regions",
        unit="gCO2e (location-based)",
    )
    costed = [r for r in rows if r.get("cost")]
    cost_html = ""
    if costed:
        # One axis, one currency: the run's own, else the most common (tariffs not converted).
        own = (reg.get("current") or {}).get("cost") or {}
        names = [r["cost"]["currency"] for r in costed]
        currency = own.get("currency") or max(set(names), key=names.count)
        costed = [r for r in costed if r["cost"]["currency"] == currency]
        currencies = {currency}
        cost_chart = svg.bar_chart(
            [
                svg.Bar(
                    str(r.get("name") or r["key"]),
                    r["cost"]["value"],
                    r["cost"]["currency"] + _basis(r),
                    bool(r.get("current")),
                )
                for r in costed
            ],
            title="Electricity cost of this run across regions",
            unit="cost (" + ", ".join(sorted(currencies)) + "; each price labelled by what it is)",
        )
        bases = {r.get("price_basis") for r in costed}
        same = (
            f"<figcaption>Every price here is the {e(bases.pop())}: the bars differ only by "
            "PUE.</figcaption>"
            if len(bases) == 1 and None not in bases and "" not in bases
            else ""
        )
        cost_html = f"<figure id='plot-region-cost'>{_chart(cost_chart)}{same}</figure>"
    table_rows = [
        [
            e(r.get("name") or r["key"]),
            num(r["intensity_g_per_kwh"]),
            num(r["pue"]),
            num(r["co2e_location_g"]),
            num(r["co2e_market_g"]),
            money((r.get("cost") or {}).get("value"), (r.get("cost") or {}).get("currency", ""))
            + e(_basis(r)),
        ]
        for r in rows
    ]
    return (
        "<section id='regions'><h2>The same run across regions</h2>"
        f"<figure id='plot-regions'>{_chart(carbon)}<figcaption>The run's own place (bold), the "
        f"five cleanest places within reach ({e(reg.get('scope', ''))}) and reference countries. "
        "Cloud rows use their provider's PUE unless you gave one.</figcaption></figure>"
        + cost_html
        + table(
            ["place", "gCO2e/kWh", "PUE", "gCO2e", "gCO2e market", "cost"],
            table_rows,
            [1, 2, 3, 4, 5],
        )
        + "</section>"
    )


def _basis(row: Mapping[str, Any]) -> str:
    """' (EU average)' etc.: what a row's price is; empty when no price is known."""
    basis = row.get("price_basis")
    return f" ({basis})" if basis and row.get("cost") else ""


def _lab(doc: Mapping[str, Any]) -> str:
    lab = doc.get("lab")
    if not lab:
        note = doc.get("lab_note") or "optimisation lab not run"
        chart = svg.scatter_chart(
            [], title="Energy per token vs perplexity", x_label="mJ/token", y_label="perplexity"
        )
        return (
            "<section id='optimisation'><h2>Optimisation lab</h2>"
            f"<div class='banner warn' id='lab-skipped'>{e(note)}</div>"
            f"<figure id='plot-pareto'>{_chart(chart)}</figure></section>"
        )
    vs = lab.get("variants", [])
    chart = svg.pareto_chart(lab)
    caption = svg.scatter_caption(svg.pareto_points(lab))
    rows = [
        [
            e(v["name"]) + (" <b>★</b>" if v.get("recommended") else ""),
            num((v.get("j_per_token") or math.nan) * 1e3),
            num((v.get("j_per_token_batch") or math.nan) * 1e3),
            num(v.get("perplexity")),
            num(v.get("tokens_per_s")),
            num((v.get("size_bytes") or 0) / 1e6),
            e(format_energy(v.get("optimisation_energy_j") or 0)),
            "yes" if v.get("pareto") else "",
            _same_text(v),
            badge(v.get("provenance")),
        ]
        for v in vs
    ]
    skipped = "".join(
        f"<li>{e(s['technique'])}: {e(s['reason'])}</li>" for s in lab.get("skipped", [])
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in lab.get("notes", []))
    rec = lab.get("recommended")
    return (
        "<section id='optimisation'><h2>Optimisation lab</h2>"
        f"<p>Model <code>{e(lab.get('model'))}</code>, budget "
        f"{num(lab['settings'].get('budget_s'))} s "
        f"of training, tolerance {lab.get('tolerance', 0):.0%} perplexity. Recommended: "
        f"<b>{e(rec or 'none (no variant within tolerance)')}</b>.</p>"
        f"<figure id='plot-pareto'>{_chart(chart)}<figcaption>Every variant measured the "
        f"same way (median of interleaved rounds); {e(caption[0].lower() + caption[1:])}"
        "</figcaption></figure>"
        + table(
            [
                "variant",
                "mJ/token b1",
                f"mJ/token b{lab['settings'].get('batch_size', '')}",
                "perplexity",
                "tokens/s",
                "MB",
                "optimisation energy",
                "Pareto",
                "baseline's text",
                "",
            ],
            rows,
            [1, 2, 3, 4, 5, 6],
        )
        + (f"<h3>Skipped</h3><ul class='note'>{skipped}</ul>" if skipped else "")
        + (f"<ul class='note'>{notes}</ul>" if notes else "")
        + "</section>"
    )


def _same_text(v: Mapping[str, Any]) -> str:
    """'k/n': of n lab prompts, k continued with exactly the baseline's greedy tokens."""
    k, n = v.get("greedy_equal"), v.get("greedy_prompts")
    return f"{k}/{n}" if isinstance(k, int) and n else "–"


def _whatifs(doc: Mapping[str, Any]) -> str:
    w = doc.get("whatifs", {})
    cur = doc.get("scale", {}).get("currency", "")
    pue_rows = [
        [
            e(r["setting"]),
            num(r["pue"]),
            num(r["facility_energy_kwh"]),
            num(r["co2e_location_kg"]),
            money(r.get("cost"), cur),
        ]
        for r in w.get("pue", [])
    ]
    power_rows = [
        [
            e(r["setting"]),
            num(r["j_per_token"] * 1e3),
            num(r.get("tokens_per_s")),
            f"{r['relative']:.0%}",
            num(r["year_facility_kwh"]),
            badge(r.get("provenance")),
        ]
        for r in w.get("power", [])
    ]
    power = (
        table(
            ["setting", "mJ/token", "tokens/s", "energy vs as served", "kWh/year", ""],
            power_rows,
            [1, 2, 3, 4],
        )
        if power_rows
        else "<p class='note'>No serving settings measured (the optimisation lab did not run).</p>"
    )
    return (
        "<section id='whatifs'><h2>What-ifs</h2><h3>Facility: PUE by cooling type, one year at "
        "scale</h3>"
        + table(
            ["facility", "PUE", "facility kWh/year", "kgCO2e/year", "cost/year"],
            pue_rows,
            [1, 2, 3, 4],
        )
        + "<h3>Power and serving settings (measured by the lab)</h3>"
        + power
        + "</section>"
    )


def _saving_text(r: Mapping[str, Any], prefix: str) -> str:
    """'1.2 kWh facility energy, 3 kgCO2e and 4 EUR' from ``{prefix}_*_per_year`` keys."""
    m = r.get(f"{prefix}_money_per_year")
    cur = r.get("currency") or ""
    return (
        f"{num(r.get(f'{prefix}_kwh_per_year'))} kWh facility energy, "
        f"{num(r.get(f'{prefix}_kg_per_year'))} kgCO2e"
        + (f" and {money(m, cur)}" if isinstance(m, int | float) else "")
    )


def _recommendations(doc: Mapping[str, Any]) -> str:
    items = []
    recs = doc.get("recommendations", [])
    for i, r in enumerate(recs):
        if r.get("saving_kg_per_year") is None and r.get("saving_kwh_per_year") is None:
            saving = "saving not quantified"
        else:
            after = int(r.get("after") or 0)
            m = r.get("saving_money_per_year")
            saving = (
                "saves "
                + _saving_text(r, "saving")
                + " per year"
                + (f" once {'#1 is' if after == 1 else f'#1–#{after} are'} done" if after else "")
                + ("" if isinstance(m, int | float) else " (money: no price known, give --price)")
            )
            if after and r.get("alone_kg_per_year") is not None:
                saving += f" (alone: {_saving_text(r, 'alone')})"
        kg = r.get("saving_kg_per_year")
        items.append(
            f"<li class='rec' data-rank='{i + 1}' data-rule={quoteattr(r['rule'])} "
            f"data-saving-kg='{kg if isinstance(kg, int | float) else ''}' "
            f"data-saving-kwh='{_attr_num(r.get('saving_kwh_per_year'))}'>"
            f"<b>{e(r['title'])}</b> {badge(r.get('provenance'))}<br>{e(r['action'])}<br>"
            f"<span class='saving'>{saving}</span><br><span class='note'>Evidence: "
            f"{e(r['evidence'])}<br>Cost: {e(r['cost'])}</span></li>"
        )
    body = "".join(items) or "<li>No action is called for by the measured figures.</li>"
    quantified = [r for r in recs if isinstance(r.get("saving_kg_per_year"), int | float)]
    total = ""
    if len(quantified) > 1:
        kg = sum(r["saving_kg_per_year"] for r in quantified)
        kwh = sum(r.get("saving_kwh_per_year") or 0.0 for r in quantified)
        year = (doc.get("scale") or {}).get("year") or {}
        base = year.get("co2e_location_kg") or None
        share = f" ({kg / base:.0%} of the yearly carbon)" if isinstance(base, float) else ""
        total = (
            f"<p id='recs-total' data-saving-kg='{kg:.9g}' data-saving-kwh='{kwh:.9g}'>All "
            f"{len(quantified)} quantified actions together: {num(kwh)} kWh facility energy "
            f"and {num(kg)} kgCO2e per year{share}.</p>"
        )
    return (
        "<section id='recommendations'><h2>Recommendations</h2><p class='note'>Ranked by the "
        "yearly carbon saving at your scale, then facility energy, each counted after the "
        "actions above it (one baseline, actions applied in sequence: the savings add up); "
        "actions whose saving cannot be quantified come last.</p>"
        f"<ol class='recs'>{body}</ol>{total}</section>"
    )


def _attr_num(x: Any) -> str:
    return f"{float(x):.9g}" if isinstance(x, int | float) else ""


def _sci(doc: Mapping[str, Any]) -> str:
    fp = doc["footprint"]
    rows = [[e(k), f"{v:.4g}"] for k, v in fp.get("sci_g_per_unit", {}).items()]
    return (
        "<section id='sci'><h2>Software Carbon Intensity (SCI)</h2>"
        "<p>ISO/IEC 21031:2024: SCI = (E × I + M) / R — facility energy E, location-based grid "
        f"intensity I ({num(fp['intensity_g_per_kwh'])} gCO2e/kWh), embodied share M "
        f"({num(fp['embodied_co2e_g'])} g) per functional unit R.</p>"
        + table(["functional unit R", "gCO2e per unit"], rows, [1])
        + "</section>"
    )


def render_report(doc: Mapping[str, Any], run: Any) -> str:
    """The full report (a string of HTML). ``run`` is the RunResult read from the ledger."""
    body = "".join(
        [
            _header(doc, run),
            "<main>",
            _banners(doc, run),
            _headline(doc, run),
            _recommendations(doc),
            _timeline(doc, run),
            _breakdown(doc, run),
            _scale(doc),
            _regions(doc),
            _lab(doc),
            _whatifs(doc),
            _sci(doc),
            methodology_html(doc, run),
            "<p class='note'>Generated by wattwise from the ledger: "
            f"<code>wattwise report {e(run.run_id[:12])}</code> rebuilds this file.</p>",
            "</main>",
        ]
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>wattwise audit — {e(doc.get('workload', {}).get('description', run.name))}</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )
