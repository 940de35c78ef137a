"""Layout checks of a report in real headless Chromium, measured by the browser itself.

The report is loaded as the ``srcdoc`` of an iframe exactly ``width`` CSS px wide (headless
Chromium will not make a window narrower than 500 px, and an iframe is a real viewport: media
queries, ``innerWidth`` and layout all follow its width). A script in the outer page — the
report itself stays script-free under its Content-Security-Policy — measures, then writes its
findings as JSON into the outer DOM, which ``--dump-dom`` prints:

* ``scroll_width`` vs ``inner_width``: the page must not scroll sideways;
* ``wide``: elements whose box leaves the viewport, except inside a scroll container
  (``overflow-x: auto | scroll``), which is checked as a whole instead;
* ``overlaps``: pairs of SVG ``<text>`` whose boxes (``getBBox()`` mapped to page coordinates
  with ``getScreenCTM()``) intersect by more than 1 px in both directions;
* ``small``: SVG text rendered below ``MIN_FONT_PX`` CSS px;
* ``misplaced``: a point label (``data-point``) closer to another dot than to its own.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from wattwise.report.browser import base_args, require_chromium

MIN_FONT_PX = 9.0
FRAME_HEIGHT_PX = 900

SCRIPT = r"""
window.addEventListener('load', () => {
  const f = document.getElementById('report'), w = f.contentWindow, d = f.contentDocument;
  const out = {inner_width: w.innerWidth, scroll_width: d.documentElement.scrollWidth,
               wide: [], overlaps: [], small: [], misplaced: [], texts: 0, svgs: 0,
               background: w.getComputedStyle(d.body).backgroundColor,
               ink: w.getComputedStyle(d.body).color,
               cards_per_row: 0};
  const cards = [...d.querySelectorAll('#headline .card')];
  if (cards.length) {
    const y0 = cards[0].getBoundingClientRect().top;
    out.cards_per_row = cards.filter(c => Math.abs(c.getBoundingClientRect().top - y0) < 1).length;
  }
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') +
    ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  const inScroller = el => {
    for (let a = el.parentElement; a && a !== d.body; a = a.parentElement) {
      const s = w.getComputedStyle(a).overflowX;
      if (s === 'auto' || s === 'scroll') return true;
    }
    return false;
  };
  for (const el of d.body.querySelectorAll('*')) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > w.innerWidth + 0.5 || r.left < -0.5) && !inScroller(el))
      out.wide.push(name(el) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  const pageBox = t => {
    const b = t.getBBox(), m = t.getScreenCTM();
    const xs = [], ys = [];
    for (const [x, y] of [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height],
                          [b.x + b.width, b.y + b.height]]) {
      xs.push(m.a * x + m.c * y + m.e); ys.push(m.b * x + m.d * y + m.f);
    }
    return {l: Math.min(...xs), r: Math.max(...xs), t: Math.min(...ys), b: Math.max(...ys),
            scale: Math.hypot(m.a, m.b)};
  };
  for (const svg of d.querySelectorAll('svg')) {
    out.svgs++;
    const chart = svg.getAttribute('data-chart') || '?';
    const texts = [...svg.querySelectorAll('text')].map(t => ({t, box: pageBox(t)}));
    out.texts += texts.length;
    for (const {t, box} of texts) {
      const px = parseFloat(w.getComputedStyle(t).fontSize) * box.scale;
      if (px < MIN_FONT_PX)
        out.small.push(chart + ': ' + t.textContent + ' ' + px.toFixed(1) + 'px');
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i].box, b = texts[j].box;
      const ox = Math.min(a.r, b.r) - Math.max(a.l, b.l);
      const oy = Math.min(a.b, b.b) - Math.max(a.t, b.t);
      const [ta, tb] = [texts[i].t.textContent, texts[j].t.textContent];
      if (ox > 1 && oy > 1) out.overlaps.push(chart + ': "' + ta + '" / "' + tb + '"');
    }
    const dots = [...svg.querySelectorAll('circle[data-label]')].map(c => {
      const r = c.getBoundingClientRect();
      return {label: c.getAttribute('data-label'), x: r.x + r.width / 2, y: r.y + r.height / 2};
    });
    // a label names one dot, or several that coincide at the chart's scale ("a|b")
    for (const t of svg.querySelectorAll('text[data-point]')) {
      const key = t.getAttribute('data-point'), own = key.split('|');
      const r = t.getBoundingClientRect();
      const dist = p => Math.hypot(Math.max(r.left - p.x, 0, p.x - r.right),
                                   Math.max(r.top - p.y, 0, p.y - r.bottom));
      const closest = ps => ps.reduce((a, p) => (a === null || dist(p) < dist(a) ? p : a), null);
      const near = closest(dots), mine = closest(dots.filter(p => own.includes(p.label)));
      const lead = [...svg.querySelectorAll('line[data-point]')]
        .find(l => l.getAttribute('data-point') === key);
      if (lead && mine) {  // a leader line from the label must start at its own dot(s)
        const mx = own.map(n => dots.find(p => p.label === n)).filter(p => p);
        const cx = mx.reduce((a, p) => a + p.x, 0) / mx.length;
        const cy = mx.reduce((a, p) => a + p.y, 0) / mx.length;
        const m = lead.getScreenCTM(), x = +lead.getAttribute('x1'), y = +lead.getAttribute('y1');
        const px = m.a * x + m.c * y + m.e, py = m.b * x + m.d * y + m.f;
        if (Math.hypot(px - cx, py - cy) > 2)
          out.misplaced.push(chart + ': leader of "' + key + '" starts off its dot');
        const x2 = +lead.getAttribute('x2'), y2 = +lead.getAttribute('y2');
        const qx = m.a * x2 + m.c * y2 + m.e, qy = m.b * x2 + m.d * y2 + m.f;
        for (const o of dots) {  // a leader that runs through another dot misleads
          if (own.includes(o.label)) continue;
          const vx = qx - px, vy = qy - py, len2 = vx * vx + vy * vy || 1;
          const u = Math.max(0, Math.min(1, ((o.x - px) * vx + (o.y - py) * vy) / len2));
          if (Math.hypot(o.x - (px + u * vx), o.y - (py + u * vy)) < 5 * m.a)
            out.misplaced.push(chart + ': leader of "' + key + '" runs through "' + o.label + '"');
        }
        continue;
      }
      if (!mine || (!own.includes(near.label) && dist(near) + 0.5 < dist(mine)))
        out.misplaced.push(chart + ': "' + key + '" is nearest to "' + (near && near.label) + '"');
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'layout-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
""".replace("MIN_FONT_PX", str(MIN_FONT_PX))

RESULT = re.compile(r'<pre id="layout-result">(.*?)</pre>', re.S)


def check_layout(report: Path, width: int, *, dark: bool = False) -> dict[str, Any]:
    """Measure ``report`` in a ``width`` px viewport; the findings described in the module doc.
    ``dark``: with ``prefers-color-scheme: dark`` (Chromium's forced dark preference)."""
    exe = require_chromium()
    outer = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>body{margin:0}"
        f"iframe{{border:0;width:{width}px;height:{FRAME_HEIGHT_PX}px;display:block}}</style>"
        f"</head><body><iframe id='report' srcdoc=\"{html.escape(report.read_text('utf-8'))}\">"
        f"</iframe><script>{SCRIPT}</script></body></html>"
    )
    with tempfile.TemporaryDirectory(prefix="wattwise-layout-") as tmp:
        page = Path(tmp) / "outer.html"
        page.write_text(outer, encoding="utf-8")
        flags = [f"--window-size={max(width + 20, 600)},{FRAME_HEIGHT_PX + 40}", "--dump-dom"]
        if dark:
            flags.append("--blink-settings=preferredColorScheme=0")  # 0 = dark
        proc = subprocess.run(
            [*base_args(exe, str(Path(tmp) / "profile")), *flags, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    found = RESULT.search(proc.stdout)
    assert found, f"no layout result (exit {proc.returncode}): {proc.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def problems(result: dict[str, Any]) -> list[str]:
    """Every finding that fails the checks, as lines (empty: the layout is sound)."""
    out = []
    if result["scroll_width"] > result["inner_width"]:
        out.append(f"page scrolls sideways: {result['scroll_width']} > {result['inner_width']} px")
    out += [f"wider than the viewport: {w}" for w in result["wide"]]
    out += [f"SVG labels overlap: {o}" for o in result["overlaps"]]
    out += [f"SVG text too small: {s}" for s in result["small"]]
    out += [f"label by the wrong dot: {m}" for m in result["misplaced"]]
    return out


def first_page_fill(pdf: Path) -> float:
    """How far down its first page a Chromium (Skia) PDF has text: the lowest text position
    (``Tm``) over the page height (the page-sized ``0 0 W H re`` at the start of its content),
    0 to 1. A first page pushed blank by a forced break before a tall block reads ~0.3."""
    import zlib

    data = pdf.read_bytes()
    objs = {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}
    root = next(o for o in objs.values() if b"/Type /Pages" in o)
    kids = re.search(rb"/Kids \[(.*?)\]", root)
    assert kids, "no page tree"
    first = objs[int(re.findall(rb"(\d+) 0 R", kids[1])[0])]
    ref = re.search(rb"/Contents (\d+) 0 R", first)
    assert ref, "first page has no content stream"
    body = objs[int(ref[1])]
    raw = body[body.index(b"stream") + 6 : body.rindex(b"endstream")].strip(b"\r\n")
    text = zlib.decompress(raw).decode("latin-1")
    page = re.search(r"\b0 0 ([\d.]+) ([\d.]+) re\b", text)
    ys = [float(y) for y in re.findall(r"[-\d.]+ ([-\d.]+) Tm", text)]
    assert page and ys, "no page box or no text on the first page"
    return max(ys) / float(page[2])
