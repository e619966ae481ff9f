"""Benchmark: the HTML report (stackops.nova.html_report) at 1,000 and 10,000 hosts in headless Chromium.

For each size it builds benchmarks/explain_bench.py's synthetic cloud, explains one request
(3 instances, 9 filters, relaxations off) and writes two files from the SAME explanation:

- report: html_report.render (fleet + heat map, hosts grouped by identical verdict rows,
  compact embedded data drawn by the inline script);
- naive:  the obvious alternative, one server-rendered table row per host with one cell
  element per check carrying its reason as a tooltip (Jinja2 too, autoescaped), no fleet.

Then it opens each in a fresh headless Chromium (Debian's package, over the DevTools protocol)
and reports file size, Python render time, the first load in a fresh browser ("cold") and the
best of R further loads ("warm"), from navigation to the load event (the report's script has
drawn everything by then). Ratios are report / naive, measured in the same run.

Usage: report_bench.py [--hosts 1000,10000] [--repeat 3] [--json out.json] [--screenshot dir]
"""

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if os.path.isdir(COLLECTIONS):
    sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))

import jinja2  # noqa: E402
from chromium import Browser  # noqa: E402
from explain_bench import FILTERS, REQUEST, synthetic_cloud  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.report import html_report  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

NAIVE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>naive</title><style>
td{border:1px solid #fff;padding:0 3px}.pass{background:#4caf50}.fail{background:#c62828}
.unknown{background:#fdd835}.not_evaluated{background:#bdbdbd}</style></head><body>
<p>{{ e.summary }}</p><table><tr><th>host</th>{% for c in e.checks %}<th>{{ c.name }}</th>{% endfor %}</tr>
{% for h in e.hosts %}<tr><td>{{ h.host }}</td>{% for c in e.checks %}{% set cell = h.checks[c.id] %}
<td class="{{ cell.verdict }}" title="{{ cell.reason }}">{{ cell.verdict[0] }}</td>{% endfor %}</tr>
{% endfor %}</table></body></html>"""


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def browser_load(path, repeat):
    """Cold: the first load in a fresh browser; warm: best of ``repeat`` loads after it."""
    with Browser(width=1280, height=900) as b:
        cold = b.load(path)
        warm = min(b.load(path) for _unused in range(repeat))
        errors = b.errors()
    return cold, warm, errors


def bench(n, repeat, shots):
    snap = synthetic_cloud(n)
    t_explain, explanation = timed(lambda: engine.explain(snap, dict(REQUEST, count=3),
                                                          scheduler={"enabled_filters": FILTERS}, relax=False))
    flavors = [{"name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20}]
    t_report, report = timed(lambda: html_report.render(snap, [explanation], flavors=flavors))
    env = jinja2.Environment(autoescape=True)
    t_naive, naive = timed(lambda: env.from_string(NAIVE).render(e=explanation))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("report", report), ("naive", naive)):
            path = os.path.join(tmp, "%s-%d.html" % (name, n))
            with open(path, "w") as handle:
                handle.write(text)
            cold, warm, errors = browser_load(path, repeat)
            out[name] = {"bytes": len(text.encode("utf-8")), "cold_s": round(cold, 3), "warm_s": round(warm, 3),
                         "errors": errors}
            if shots and name == "report":
                with Browser(width=1280, height=900) as b:
                    b.load(path)
                    b.screenshot(os.path.join(shots, "report-%d.png" % n))
    return {
        "hosts": n,
        "checks": len(explanation["checks"]),
        "summary": explanation["summary"],
        "explain_s": round(t_explain, 3),
        "render_report_s": round(t_report, 3),
        "render_naive_s": round(t_naive, 3),
        "report": out["report"],
        "naive": out["naive"],
        "ratio_bytes": round(out["report"]["bytes"] / out["naive"]["bytes"], 3),
        "ratio_cold": round(out["report"]["cold_s"] / out["naive"]["cold_s"], 3),
        "ratio_warm": round(out["report"]["warm_s"] / out["naive"]["warm_s"], 3),
        "repeat": repeat,
        "load_average": os.getloadavg()[0],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--screenshot", help="directory for a screenshot of each report")
    args = parser.parse_args()
    rows = []
    for n in [int(x) for x in args.hosts.split(",")]:
        row = bench(n, args.repeat, args.screenshot)
        rows.append(row)
        print("%6d hosts: report %.2f MB, cold %.3f s, warm %.3f s | naive %.2f MB, cold %.3f s, warm %.3f s | "
              "ratio size %.3f, cold %.3f, warm %.3f | python render %.2f s (naive %.2f s) | load avg %.1f"
              % (n, row["report"]["bytes"] / 1e6, row["report"]["cold_s"], row["report"]["warm_s"],
                 row["naive"]["bytes"] / 1e6, row["naive"]["cold_s"], row["naive"]["warm_s"],
                 row["ratio_bytes"], row["ratio_cold"], row["ratio_warm"], row["render_report_s"],
                 row["render_naive_s"], row["load_average"]))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
