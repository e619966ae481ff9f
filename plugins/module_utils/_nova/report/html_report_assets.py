# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Jinja2 template, style sheet and script of the HTML report (html_report.py).

Kept as Python strings so they travel inside the collection (and any archive of it) with the
code that uses them. The script only ever sets text (textContent, never innerHTML), so API
data drawn by it cannot become markup; everything the template prints is autoescaped.
"""

from __future__ import annotations

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="stackops.nova html_report {{ data.report_version }}">
<title>{{ page.title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>{{ page.title }}</h1>
<p class="meta">
{% if page.source.cloud %}cloud <b>{{ page.source.cloud }}</b>, {% endif %}
{% if page.source.nova_release %}Nova {{ page.source.nova_release }}, {% endif %}
{% if page.hosts is not none %}{{ page.hosts }} compute node(s), {% endif %}
{{ page.sections | length }} explanation(s); snapshot taken {{ page.generated_at or "at an unknown time" }}.
</p>
{% if page.warnings %}
<ul class="warnings">
{% for w in page.warnings %}<li>{{ w }}</li>
{% endfor %}
</ul>
{% endif %}
<ul class="toc">
{% if page.has_fleet %}<li><a href="#fleet">Fleet</a></li>{% endif %}
{% for s in page.sections %}<li><a href="#{{ s.id }}">{{ s.summary }}</a></li>
{% endfor %}
</ul>
</header>
<nav id="filters" class="noprint" aria-label="filters">
<label>host <input id="f-host" type="search" placeholder="name contains"></label>
<label>AZ <select id="f-az"><option value="">any</option></select></label>
<label>aggregate <select id="f-agg"><option value="">any</option></select></label>
<label>verdict <select id="f-verdict">
<option value="">any</option><option value="fits">fits (chosen or valid)</option><option value="chosen">chosen</option>
<option value="fails">fails</option><option value="static">fails, static</option><option value="dynamic">fails, dynamic only</option>
<option value="uncertain">has unknown checks</option></select></label>
<label>state <select id="f-state"><option value="">any</option><option value="ok">enabled and up</option>
<option value="disabled">disabled</option><option value="down">down</option></select></label>
<span id="f-count"></span>
</nav>
{% if page.has_fleet %}
<section id="fleet">
<h2>Fleet</h2>
<p class="help">Bars after allocation ratios: <span class="key u"></span> used, <span class="key f"></span> free,
<span class="key r"></span> reserved (x ratio), <span class="key o"></span> used beyond capacity.
Capacity = (total - reserved) x allocation_ratio, as placement computes it. Filters: host, AZ, aggregate, state.
<span class="noprint">Group by <select id="fleet-group"><option value="az">availability zone</option>
<option value="aggregate">aggregate</option></select>; click a column to sort.</span></p>
<div id="fleet-body"></div>
</section>
{% endif %}
{% for s in page.sections %}
<section class="explanation" id="{{ s.id }}">
<h2>Explanation {{ loop.index }}: {{ s.request.flavor or "request" }}{% if s.request.count and s.request.count > 1 %} x{{ s.request.count }}{% endif %}
{% if s.request.availability_zone %} in {{ s.request.availability_zone }}{% endif %}</h2>
<p class="summary {{ 'fits' if s.fits else 'nofit' }}">{{ s.summary }}</p>
<dl class="request">
{% if s.request.resources %}<dt>resources</dt>
<dd>{% for rc, n in s.request.resources.items() %}{{ rc }} {{ n }}{{ ", " if not loop.last }}{% endfor %}</dd>{% endif %}
{% if s.request.required_traits %}<dt>required traits</dt><dd>{{ s.request.required_traits | join(", ") }}</dd>{% endif %}
{% if s.request.forbidden_traits %}<dt>forbidden traits</dt><dd>{{ s.request.forbidden_traits | join(", ") }}</dd>{% endif %}
{% if s.request.image %}<dt>image</dt><dd>{{ s.request.image }}</dd>{% endif %}
{% if s.request.server_group %}<dt>server group</dt><dd>{{ s.request.server_group }} ({{ s.request.server_group_policy }})</dd>{% endif %}
{% if s.request.scheduler_hints %}<dt>hints</dt>
<dd>{% for k, v in s.request.scheduler_hints.items() %}{{ k }}={{ v }}{{ ", " if not loop.last }}{% endfor %}</dd>{% endif %}
<dt>valid hosts</dt><dd>{{ s.hosts_valid }} of {{ s.hosts_total }}{% if s.headroom_total is not none %}; headroom {{ s.headroom_total }} more{% endif %}</dd>
</dl>
{% if s.reasons %}
<table class="small reasons"><caption>Every failure, by reason</caption>
<thead><tr><th>hosts</th><th>reason</th><th>kind</th></tr></thead><tbody>
{% for r in s.reasons %}<tr><td class="n">{{ r.hosts }}</td><td>{{ r.reason }}</td><td>{{ r.kind }}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
<h3>Host x check matrix</h3>
<p class="help">One row per group of hosts with identical verdicts (the number of hosts first); click a row's
name to list its hosts, a cell for its numbers, a column to sort. <span class="legend"></span></p>
<div class="matrix" data-explanation="{{ s.id }}"></div>
<div class="detail" id="{{ s.id }}-detail" aria-live="polite">Click a cell for its numbers.</div>
{% if s.pipeline %}
<p class="pipeline">What Nova's own pass would log:
{% for p in s.pipeline %}{{ p.name }} {{ p.start }} -> {{ p.end if p.end is not none else "(not run)" }}{{ "; " if not loop.last }}{% endfor %}</p>
{% endif %}
{% if s.near_misses %}
<table class="small"><caption>Near misses: hosts failing one check
{%- if s.near_misses_total > s.max_list %} (first {{ s.max_list }} of {{ s.near_misses_total }}){% endif %}</caption>
<thead><tr><th>host</th><th>check</th><th>kind</th><th>short by</th><th>numbers</th></tr></thead><tbody>
{% for m in s.near_misses %}<tr><td>{{ m.host }}</td><td>{{ m.check }}</td><td>{{ m.kind }}</td>
<td>{% for rc, n in (m.short_by or {}).items() %}{{ rc }} {{ n }}{{ ", " if not loop.last }}{% endfor %}</td><td>{{ m.reason }}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
{% if s.relaxations %}
<table class="small"><caption>What would make it fit (each verified by re-running the engine)</caption>
<thead><tr><th>change</th><th>kind</th><th>valid hosts</th><th>verified</th><th>hosts</th></tr></thead><tbody>
{% for r in s.relaxations %}<tr><td>{{ r.change }}</td><td>{{ r.kind }}</td><td class="n">{{ r.hosts_valid }}</td>
<td>{{ "yes" if r.verified else "no" }}</td>
<td>{{ (r.hosts or [])[:s.max_list] | join(", ") }}{% if (r.hosts or []) | length > s.max_list %} ...{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% elif not s.fits %}
<p>No single relaxation the engine tries makes this request fit.</p>
{% endif %}
{% if s.placements %}
<table class="small placements"><caption>Instance by instance</caption>
<thead><tr><th>#</th><th>host</th><th>weight</th><th>candidates</th><th>after filters</th><th>next best</th></tr></thead><tbody>
{% for p in s.placements %}<tr><td class="n">{{ p.instance }}</td><td>{{ p.host }}</td><td class="n">{{ p.weight }}</td>
<td class="n">{{ p.candidates }}</td><td class="n">{{ p.after_filters }}</td>
<td>{% for r in p.ranking[1:] %}{{ r.host }} {{ r.weight }}{{ ", " if not loop.last }}{% endfor %}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
{% if s.failed_instance %}
<p class="nofit">Instance {{ s.failed_instance.instance }} could not be placed: {{ s.failed_instance.candidates }} candidate(s),
{{ s.failed_instance.after_filters }} after filters{% for r in s.failed_instance.reasons or [] %}; {{ r.hosts }} {{ r.reason }}{% endfor %}.</p>
{% endif %}
{% if s.notes %}
<ul class="notes">{% for n in s.notes %}<li>{{ n }}</li>{% endfor %}</ul>
{% endif %}
</section>
{% endfor %}
<footer>stackops.nova html_report {{ data.report_version }}: one file, no network.
Data you did not have is shown as unknown (?), never as pass or fail.</footer>
<script type="application/json" id="report-data">{{ data | tojson }}</script>
<script>{{ script }}</script>
</body>
</html>
"""

CSS = r"""
:root{--pass:#4caf50;--fail:#c62828;--dyn:#ef8f00;--unk:#fdd835;--err:#8e24aa;--ne:#bdbdbd;--skip:#e0e0e0;
--u:#1e88e5;--f:#c8e6c9;--r:#9e9e9e;--o:#c62828}
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 1.2em 2em;color:#222}
h1{font-size:1.5em;margin:.6em 0 .2em}h2{font-size:1.25em;margin:1.2em 0 .3em;border-bottom:2px solid #ddd}
section{scroll-margin-top:4.5em}
h3{font-size:1.05em;margin:.8em 0 .2em}.meta,.help{color:#555;margin:.2em 0}
.warnings{color:#8a4b00;background:#fff4e0;padding:.3em 1.5em}
.toc{margin:.2em 0;padding-left:1.2em}
nav#filters{position:sticky;top:0;background:#f7f7f7;border-bottom:1px solid #ccc;padding:.4em;z-index:5;
display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center}
#f-count{color:#555}
.summary{font-weight:600;padding:.3em .5em;border-left:4px solid}.summary.fits{border-color:var(--pass)}
.summary.nofit,.nofit{border-color:var(--fail)}
dl.request{display:grid;grid-template-columns:max-content auto;gap:0 1em;margin:.3em 0}dl.request dt{color:#555}
dl.request dd{margin:0}
table{border-collapse:collapse}table.small{margin:.5em 0;font-size:12px}
table.small td,table.small th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.2em 0}td.n{text-align:right}
th.sortable{cursor:pointer}th.sortable:hover{background:#eef}
.fgroup{margin:.6em 0 1em;content-visibility:auto;contain-intrinsic-size:auto 600px}.fgroup h3 .sub{font-weight:normal;color:#555}
table.fleet td,table.fleet th{padding:1px 6px;border-bottom:1px solid #eee;white-space:nowrap;text-align:left}
table.fleet tr.disabled td.name,table.fleet tr.down td.name{text-decoration:line-through}
.badge{display:inline-block;padding:0 4px;border-radius:3px;font-size:11px;margin-left:3px}
.badge.disabled{background:#ffe0b2}.badge.down{background:#ffcdd2}.badge.ok{background:#e8f5e9}
.bar{display:inline-flex;width:120px;height:10px;background:#f4f4f4;border:1px solid #ccc;vertical-align:middle;
print-color-adjust:exact;-webkit-print-color-adjust:exact}
.bar span{display:block;height:100%}.bar .u,.key.u{background:var(--u)}.bar .f,.key.f{background:var(--f)}
.bar .r,.key.r{background:var(--r)}.bar .o,.key.o{background:var(--o)}
.key{display:inline-block;width:10px;height:10px;border:1px solid #999;vertical-align:middle}
.num{font-variant-numeric:tabular-nums;color:#333;margin-left:4px;font-size:11px}
button.more{margin:.3em 0}
.matrix{overflow-x:auto;max-width:100%}
table.hm{font-size:11px}table.hm th,table.hm td{border:1px solid #fff;padding:0 3px}
table.hm th.chk{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;max-height:14em;font-weight:normal;
white-space:nowrap;overflow:hidden;border-bottom:3px solid #999;cursor:pointer}
table.hm th.st-prefilter{border-bottom-color:#7e57c2}table.hm th.st-placement{border-bottom-color:#1e88e5}
table.hm th.st-filter{border-bottom-color:#43a047}
table.hm td.c{width:16px;min-width:16px;text-align:center;cursor:pointer;font-family:monospace;
print-color-adjust:exact;-webkit-print-color-adjust:exact}
.v-p{background:var(--pass);color:#fff}.v-f{background:var(--fail);color:#fff}.v-f.k-D{background:var(--dyn)}
.v-u{background:var(--unk)}.v-e{background:var(--err);color:#fff}.v-n{background:var(--ne)}.v-s{background:var(--skip)}
table.hm tr.cnt td{color:var(--fail);font-size:10px;text-align:center;border:none}
table.hm td.hn{white-space:nowrap;max-width:22em;overflow:hidden;text-overflow:ellipsis}
table.hm tr.group td.hn{cursor:pointer;color:#0645ad}table.hm tr.group td.hn:before{content:"+ ";color:#888}
table.hm tr.group.open td.hn:before{content:"- "}
table.hm tr.host td.hn{padding-left:1.5em;color:#333}table.hm tr.host{background:#fafafa}
table.hm td.sel{outline:2px solid #000}
.st{font-size:11px}.st-chosen{color:#1b5e20;font-weight:700}.st-fits{color:#2e7d32}.st-static{color:var(--fail)}
.st-dynamic{color:#b26a00}
.detail{margin:.4em 0;padding:.4em .6em;background:#f3f6fb;border:1px solid #c5d3ea;min-height:1.4em;white-space:pre-wrap}
.legend .c{display:inline-block;width:14px;text-align:center;font-family:monospace;margin:0 2px 0 8px}
.pipeline{color:#555;font-size:12px}.notes{color:#555}
footer{margin-top:2em;color:#888;font-size:11px}
@media print{
.fgroup{content-visibility:visible}
nav#filters,.noprint,button.more{display:none}
body{margin:0;font-size:10px}h2{break-after:avoid}tr{break-inside:avoid}
.matrix{overflow:visible}table.hm tr.host{display:none}
a{color:inherit;text-decoration:none}.detail{display:none}
}
"""

SCRIPT = r"""
(function () {
"use strict";
var D = JSON.parse(document.getElementById("report-data").textContent);
var SYM = D.symbols;
var VNAME = {p: "pass", f: "fail", u: "unknown", e: "error (Nova raises)", n: "not evaluated", s: "skipped"};
var KNAME = {S: "static", D: "dynamic", "-": ""};
var STATUS_ORDER = {chosen: 0, fits: 1, dynamic: 2, fail: 3, "static": 4};
var PAGE = 100;
var F = {host: "", az: "", agg: "", verdict: "", state: ""};

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) { e.className = cls; }
  if (text !== undefined && text !== null) { e.textContent = String(text); }
  return e;
}
function byId(id) { return document.getElementById(id); }
function placeMatch(name, node, az, aggs) {
  if (F.host && (name + " " + node).toLowerCase().indexOf(F.host) < 0) { return false; }
  if (F.az !== "" && az !== F.az) { return false; }
  if (F.agg !== "" && aggs.indexOf(Number(F.agg)) < 0) { return false; }
  return true;
}
function verdictMatch(row) {
  var s = row[4];
  switch (F.verdict) {
    case "": return true;
    case "fits": return s === "fits" || s === "chosen";
    case "chosen": return s === "chosen";
    case "fails": return s !== "fits" && s !== "chosen";
    case "static": return s === "static";
    case "dynamic": return s === "dynamic";
    case "uncertain": return row[7] === 1;
  }
  return true;
}
function stateOf(row) {
  if (row[5] === "down") { return "down"; }
  if (row[4] !== "enabled") { return "disabled"; }
  return row[5] === "up" ? "ok" : "unknown";
}

/* ---------- filters ---------- */
function fillSelects() {
  var azs = {}, i, j;
  if (D.fleet) { D.fleet.azs.forEach(function (a) { azs[a] = 1; }); }
  D.explanations.forEach(function (E) { E.rows.forEach(function (r) { azs[r[2]] = 1; }); });
  var azSel = byId("f-az");
  Object.keys(azs).sort().forEach(function (a) {
    var o = el("option", null, a === "" ? "(none)" : a); o.value = a; azSel.appendChild(o);
  });
  var aggSel = byId("f-agg");
  for (i = 0; i < D.aggregates.length; i++) {
    var o = el("option", null, D.aggregates[i]); o.value = String(i); aggSel.appendChild(o);
  }
  if (!D.aggregates.length) { aggSel.disabled = true; }
  var legends = document.querySelectorAll(".legend");
  for (j = 0; j < legends.length; j++) {
    ["pS", "fS", "fD", "uS", "eS", "nS", "sS"].forEach(function (code) {
      var v = code.charAt(0), k = code.charAt(1);
      var c = el("span", "c v-" + v + (v === "f" ? " k-" + k : ""), SYM[v]);
      legends[j].appendChild(c);
      legends[j].appendChild(document.createTextNode(VNAME[v] + (v === "f" ? " (" + KNAME[k] + ")" : "")));
    });
  }
}
function bindFilters() {
  var t = null;
  byId("f-host").addEventListener("input", function (ev) {
    clearTimeout(t);
    t = setTimeout(function () { F.host = ev.target.value.trim().toLowerCase(); renderAll(); }, 150);
  });
  ["az", "agg", "verdict", "state"].forEach(function (k) {
    byId("f-" + k).addEventListener("change", function (ev) { F[k] = ev.target.value; renderAll(); });
  });
  var g = byId("fleet-group");
  if (g) { g.addEventListener("change", renderFleet); }
}

/* ---------- fleet ---------- */
var fleetSort = {key: "name", dir: 1};
function pct(a, b) { return b > 0 ? Math.max(0, Math.min(100, 100 * a / b)) : 0; }
function barCell(b, rc) {
  var td = el("td");
  if (!b) { td.appendChild(el("span", "num", "unknown")); return td; }
  var used = b[0], free = b[1], resv = b[2], full = b[3], cap = b[7];
  var scale = Math.max(full, (used || 0) + resv, 1);
  var bar = el("div", "bar");
  var inCap = Math.min(used || 0, Math.max(cap, 0)), over = Math.max(0, (used || 0) - Math.max(cap, 0));
  var parts = [["u", inCap], ["o", over], ["f", Math.max(free, 0)], ["r", resv]];
  parts.forEach(function (p) {
    if (p[1] > 0) { var s = el("span", p[0]); s.style.width = pct(p[1], scale) + "%"; bar.appendChild(s); }
  });
  bar.title = rc + ": total " + b[4] + ", reserved " + b[5] + ", allocation ratio " + b[6] + " -> capacity " + cap +
    "; used " + (used === null ? "unknown" : used) + ", free " + free;
  td.appendChild(bar);
  td.appendChild(el("span", "num", (used === null ? "?" : used) + "/" + cap + (free < 0 ? " over" : "")));
  return td;
}
function fleetKey(row, key) {
  if (key === "name") { return row[0] + "/" + row[1]; }
  if (key === "state") { return stateOf(row); }
  if (key === "servers") { return row[7] === null ? -1 : row[7]; }
  if (key.charAt(0) === "c") {
    var b = row[8][Number(key.slice(1))]; return b && b[0] !== null && b[7] > 0 ? b[0] / b[7] : -1;
  }
  if (key.charAt(0) === "h") { var h = row[9][Number(key.slice(1))]; return h === null ? -1 : h; }
  return 0;
}
function sortRows(rows) {
  var k = fleetSort.key, d = fleetSort.dir;
  rows.sort(function (a, b) {
    var x = fleetKey(a, k), y = fleetKey(b, k);
    return (x < y ? -1 : x > y ? 1 : 0) * d;
  });
}
function fleetHeader(table) {
  var fl = D.fleet, tr = el("tr");
  var cols = [["name", "host"], ["state", "state"], ["servers", "servers"]];
  fl.classes.forEach(function (rc, i) { cols.push(["c" + i, rc + " used/capacity"]); });
  fl.headroom.forEach(function (h, i) { cols.push(["h" + i, h.title + " (" + (h.total === null ? "?" : h.total) + ")"]); });
  cols.forEach(function (c) {
    var th = el("th", "sortable", c[1] + (fleetSort.key === c[0] ? (fleetSort.dir > 0 ? " \u25b2" : " \u25bc") : ""));
    th.setAttribute("data-sort", c[0]);
    th.addEventListener("click", function () {
      fleetSort = {key: c[0], dir: fleetSort.key === c[0] ? -fleetSort.dir : (c[0] === "name" ? 1 : -1)};
      renderFleet();
    });
    tr.appendChild(th);
  });
  var thead = el("thead"); thead.appendChild(tr); table.appendChild(thead);
}
function fleetRow(row) {
  var st = stateOf(row), tr = el("tr", "host-row " + st);
  tr.setAttribute("data-az", row[2]);
  var name = el("td", "name", row[0] + (row[1] ? " (" + row[1] + ")" : ""));
  tr.appendChild(name);
  var s = el("td");
  var badge = el("span", "badge " + (st === "ok" ? "ok" : st), st === "ok" ? "up" : st);
  if (row[6]) { badge.title = row[6]; badge.textContent += " (" + row[6] + ")"; }
  s.appendChild(badge); tr.appendChild(s);
  tr.appendChild(el("td", "n", row[7] === null ? "?" : row[7]));
  row[8].forEach(function (b, i) { tr.appendChild(barCell(b, D.fleet.classes[i])); });
  row[9].forEach(function (h) { tr.appendChild(el("td", "n", h === null ? "?" : h)); });
  return tr;
}
function totalsLine(cells) {
  var p = el("p", "help");
  cells.forEach(function (c, i) {
    if (!c) { return; }
    var rc = D.fleet.classes[i];
    var bar = el("div", "bar"), u = el("span", "u"), f = el("span", "f");
    u.style.width = pct(Math.max(c[0], 0), Math.max(c[2], c[0], 1)) + "%";
    f.style.width = pct(Math.max(c[1], 0), Math.max(c[2], c[0], 1)) + "%";
    bar.appendChild(u); bar.appendChild(f);
    bar.title = rc + ": total " + c[4] + ", reserved " + c[3] + ", capacity " + c[2] + ", used " + c[0] + ", free " + c[1];
    p.appendChild(document.createTextNode(" " + rc + " "));
    p.appendChild(bar);
    p.appendChild(el("span", "num", c[0] + "/" + c[2]));
  });
  return p;
}
function renderFleet() {
  var body = byId("fleet-body");
  if (!body || !D.fleet) { return 0; }
  var fl = D.fleet, mode = byId("fleet-group").value, groups = {}, names = [], shown = 0;
  var totals = {};
  fl.totals[mode].forEach(function (t) { totals[t[0]] = t; });
  fl.hosts.forEach(function (row) {
    if (!placeMatch(row[0], row[1], row[2], row[3])) { return; }
    if (F.state && stateOf(row) !== F.state) { return; }
    shown++;
    var keys = mode === "az" ? [row[2] || "(none)"] : row[3].map(function (i) { return fl.aggregates[i]; });
    if (!keys.length) { keys = ["(no aggregate)"]; }
    keys.forEach(function (k) {
      if (!groups[k]) { groups[k] = []; names.push(k); }
      groups[k].push(row);
    });
  });
  names.sort();
  var frag = document.createDocumentFragment();
  names.forEach(function (name) {
    var rows = groups[name], div = el("div", "fgroup"), limit = PAGE;
    div.setAttribute("data-group", name);
    var h = el("h3", null, (mode === "az" ? "AZ " : "aggregate ") + name + " ");
    h.appendChild(el("span", "sub", rows.length + " host(s)"));
    div.appendChild(h);
    if (totals[name]) { div.appendChild(totalsLine(totals[name][2])); }
    sortRows(rows);
    var table = el("table", "fleet"), tbody = el("tbody");
    fleetHeader(table);
    table.appendChild(tbody);
    div.appendChild(table);
    function fill() {
      for (var i = tbody.childNodes.length; i < Math.min(rows.length, limit); i++) { tbody.appendChild(fleetRow(rows[i])); }
    }
    fill();
    if (rows.length > limit) {
      var more = el("button", "more", "show all " + rows.length + " hosts");
      more.addEventListener("click", function () { limit = rows.length; fill(); more.remove(); });
      div.appendChild(more);
    }
    frag.appendChild(div);
  });
  body.textContent = "";
  if (!names.length) { body.appendChild(el("p", "help", "No host matches the filters.")); }
  body.appendChild(frag);
  return shown;
}

/* ---------- heat map ---------- */
var matrixState = {};
function cellText(E, rowIdx, c) {
  var row = E.rows[rowIdx], v = row[5].charAt(2 * c), k = row[5].charAt(2 * c + 1);
  return VNAME[v] + (KNAME[k] ? " (" + KNAME[k] + ")" : "") + ": " + E.strings[row[6][c]];
}
function hostLabel(row) { return row[0] + (row[1] ? "/" + row[1] : ""); }
function groupRows(E) {
  var groups = {}, list = [], n = 0, fails = [], i, c, nc = E.checks.length;
  for (c = 0; c < nc; c++) { fails.push(0); }
  for (i = 0; i < E.rows.length; i++) {
    var r = E.rows[i];
    if (!placeMatch(r[0], r[1], r[2], r[3]) || !verdictMatch(r)) { continue; }
    n++;
    var key = r[4] + "|" + r[5], g = groups[key];
    if (!g) { g = groups[key] = {status: r[4], codes: r[5], rows: []}; list.push(g); }
    g.rows.push(i);
  }
  list.forEach(function (g) {
    for (c = 0; c < nc; c++) { if (g.codes.charAt(2 * c) === "f") { fails[c] += g.rows.length; } }
  });
  return {list: list, n: n, fails: fails};
}
function sortGroups(E, list) {
  var st = matrixState[E.id];
  list.forEach(function (g) {
    g.rows.sort(function (a, b) { var x = hostLabel(E.rows[a]), y = hostLabel(E.rows[b]); return x < y ? -1 : x > y ? 1 : 0; });
  });
  list.sort(function (a, b) {
    if (st.check !== null) {
      var va = "fepunsx".indexOf(a.codes.charAt(2 * st.check)), vb = "fepunsx".indexOf(b.codes.charAt(2 * st.check));
      if (va !== vb) { return va - vb; }
    } else if (st.by === "name") {
      var x = hostLabel(E.rows[a.rows[0]]), y = hostLabel(E.rows[b.rows[0]]);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    var s = STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
    return s !== 0 ? s : b.rows.length - a.rows.length;
  });
}
function cells(tr, E, codes, rowIdx) {
  for (var c = 0; c < E.checks.length; c++) {
    var v = codes.charAt(2 * c), k = codes.charAt(2 * c + 1);
    var td = el("td", "c v-" + v + " k-" + k, SYM[v]);
    td.setAttribute("data-c", String(c));
    if (rowIdx !== undefined) { td.title = cellText(E, rowIdx, c); }
    tr.appendChild(td);
  }
}
function hostRow(E, i) {
  var r = E.rows[i], tr = el("tr", "host");
  tr.setAttribute("data-row", String(i));
  tr.appendChild(el("td", "n", ""));
  var name = el("td", "hn", hostLabel(r)); name.title = hostLabel(r) + (r[2] ? " in AZ " + r[2] : ""); tr.appendChild(name);
  tr.appendChild(el("td", "st st-" + r[4], r[4]));
  cells(tr, E, r[5], i);
  return tr;
}
function toggleGroup(E, g, tr) {
  if (tr.classList.contains("open")) {
    while (tr.nextSibling && tr.nextSibling.classList.contains("host")) { tr.parentNode.removeChild(tr.nextSibling); }
    tr.classList.remove("open");
    return;
  }
  tr.classList.add("open");
  var after = tr, shown = 0;
  function more(limit) {
    var frag = document.createDocumentFragment();
    for (; shown < Math.min(g.rows.length, limit); shown++) { frag.appendChild(hostRow(E, g.rows[shown])); }
    after.parentNode.insertBefore(frag, after.nextSibling);
    after = tr;
    while (after.nextSibling && after.nextSibling.classList.contains("host")) { after = after.nextSibling; }
    if (shown < g.rows.length) {
      var mtr = el("tr", "host morerow"), td = el("td"), b = el("button", "more", "show " + (g.rows.length - shown) + " more");
      td.colSpan = 3 + E.checks.length; td.appendChild(b); mtr.appendChild(td);
      after.parentNode.insertBefore(mtr, after.nextSibling);
      b.addEventListener("click", function (ev) { ev.stopPropagation(); mtr.remove(); more(shown + PAGE * 5); });
    }
  }
  more(PAGE);
}
function showDetail(E, g, rowIdx, c, td) {
  var box = byId(E.id + "-detail"), chk = E.checks[c], lines = [];
  var prev = document.querySelectorAll("#" + E.id + " td.sel");
  for (var p = 0; p < prev.length; p++) { prev[p].classList.remove("sel"); }
  td.classList.add("sel");
  var head = chk[2] + " (" + chk[1] + (chk[3] ? "; " + chk[3] : "") + ")";
  if (rowIdx !== null) {
    lines.push(hostLabel(E.rows[rowIdx]) + " \u00b7 " + head);
    lines.push(cellText(E, rowIdx, c));
  } else {
    var seen = {}, distinct = 0;
    lines.push(g.rows.length + " host(s) \u00b7 " + head);
    for (var i = 0; i < g.rows.length && distinct < 12; i++) {
      var t = cellText(E, g.rows[i], c);
      if (seen[t] === undefined) { seen[t] = 1; distinct++; lines.push(hostLabel(E.rows[g.rows[i]]) + ": " + t); }
    }
    if (g.rows.length > 1) { lines.push("(distinct values of the first hosts; open the row for every host)"); }
  }
  box.textContent = lines.join("\n");
}
function renderMatrix(E) {
  var box = document.querySelector('.matrix[data-explanation="' + E.id + '"]');
  if (!matrixState[E.id]) { matrixState[E.id] = {check: null, by: "status"}; }
  var st = matrixState[E.id], res = groupRows(E), list = res.list, c;
  sortGroups(E, list);
  var table = el("table", "hm"), thead = el("thead"), tr = el("tr");
  tr.appendChild(el("th", "sortable", "hosts")).addEventListener("click", function () { st.check = null; st.by = "status"; renderMatrix(E); });
  tr.appendChild(el("th", "sortable", "host(s)")).addEventListener("click", function () { st.check = null; st.by = "name"; renderMatrix(E); });
  tr.appendChild(el("th", null, "verdict"));
  E.checks.forEach(function (chk, i) {
    var th = el("th", "chk st-" + chk[1], chk[2]);
    th.title = chk[0] + (chk[3] ? ": " + chk[3] : "") + " (click to sort by it)";
    th.setAttribute("data-c", String(i));
    th.addEventListener("click", function () { st.check = i; renderMatrix(E); });
    tr.appendChild(th);
  });
  thead.appendChild(tr);
  var cnt = el("tr", "cnt");
  cnt.appendChild(el("td", "n", res.n)); cnt.appendChild(el("td", null, "failing hosts per check:")); cnt.appendChild(el("td"));
  for (c = 0; c < E.checks.length; c++) {
    var td = el("td", "fails", res.fails[c]); td.setAttribute("data-c", String(c)); td.setAttribute("data-fail", String(res.fails[c]));
    cnt.appendChild(td);
  }
  thead.appendChild(cnt);
  table.appendChild(thead);
  var tbody = el("tbody");
  list.forEach(function (g, gi) {
    var row = el("tr", "group");
    row.setAttribute("data-n", String(g.rows.length));
    row.setAttribute("data-g", String(gi));
    row.setAttribute("data-status", g.status);
    row.appendChild(el("td", "n", g.rows.length));
    var first = hostLabel(E.rows[g.rows[0]]);
    var name = el("td", "hn", first + (g.rows.length > 1 ? " +" + (g.rows.length - 1) + " more" : ""));
    name.title = "click to list the hosts";
    row.appendChild(name);
    row.appendChild(el("td", "st st-" + g.status, g.status));
    cells(row, E, g.codes, g.rows.length === 1 ? g.rows[0] : undefined);
    tbody.appendChild(row);
  });
  tbody.addEventListener("click", function (ev) {
    var td = ev.target.closest("td"), tr = ev.target.closest("tr");
    if (!td || !tr) { return; }
    var grp = tr.classList.contains("group") ? list[Number(tr.getAttribute("data-g"))] : null;
    if (td.classList.contains("hn") && grp) { toggleGroup(E, grp, tr); return; }
    if (!td.classList.contains("c")) { return; }
    var c2 = Number(td.getAttribute("data-c"));
    if (grp) { showDetail(E, grp, grp.rows.length === 1 ? grp.rows[0] : null, c2, td); } else if (tr.hasAttribute("data-row")) {
      showDetail(E, null, Number(tr.getAttribute("data-row")), c2, td);
    }
  });
  table.appendChild(tbody);
  box.textContent = "";
  box.appendChild(table);
  if (!list.length) { box.appendChild(el("p", "help", "No host matches the filters.")); }
  return res.n;
}

function renderAll() {
  var parts = [];
  var t0 = performance.now();
  if (D.fleet) { parts.push(renderFleet() + " of " + D.fleet.hosts.length + " hosts in the fleet"); }
  D.explanations.forEach(function (E, i) { parts.push(renderMatrix(E) + " of " + E.rows.length + " in E" + (i + 1)); });
  byId("f-count").textContent = "showing " + parts.join(", ");
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now() - t0)));
}
fillSelects();
bindFilters();
renderAll();
document.body.setAttribute("data-ready", "1");
})();
"""
