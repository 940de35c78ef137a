"""The report's stylesheet (inline in the page): light and dark colour schemes
(``prefers-color-scheme``), a phone layout (cards reflow, tables and charts scroll inside their
containers so chart text keeps a readable size) and print rules (no forced break before a tall
section: the PDF's first page is not left blank)."""

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
  .scroll td,.scroll th{overflow-wrap:anywhere;min-width:0}
  header.top{print-color-adjust:exact;-webkit-print-color-adjust:exact}}"""
