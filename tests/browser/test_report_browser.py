"""The HTML report in a real browser: headless Chromium (Debian's package) over the DevTools protocol.

Two reports:
- the demo cloud's: minicloud's demo topology (real keystone + placement + nova), read and
  explained by playbooks/explain.yml with ``explain_html_report`` (the playbook flag), the
  snapshot and explanations saved next to it;
- a 10,000-host synthetic cloud (benchmarks/explain_bench.py's) explained by the engine, with
  a host and an aggregate named like markup.

Each test asserts the DOM against the explanation (fail counts per check, the numbers of a
clicked cell, what filters leave visible, sorting, escaping). Screenshots go to
REPORT_ARTIFACTS (default <repo>/.cache/report-it). Load time and size are printed, not
asserted as timings: benchmarks/report_bench.py measures them (docs/performance.md).

Environment: REPORT_PORT_BASE (24000), REPORT_STATE_DIR, REPORT_KEEP=1 (as every minicloud test).
"""

import collections
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import harness  # noqa: E402
from chromium import Browser  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.report import html_report  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import shape  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(ROOT, "tests", "minicloud", "topologies", "demo.yml")
BIN = os.path.dirname(sys.executable)
ARTIFACTS = os.environ.get("REPORT_ARTIFACTS") or os.path.join(ROOT, ".cache", "report-it")
HOSTILE_HOST = '<script>window.__pwned=1</script>'
HOSTILE_AGGREGATE = '<img src=x onerror="window.__pwned=2">'
BIG = 10000


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("REPORT", TOPOLOGY, 24000, os.path.join(".cache", "report-it", "cloud"))


@pytest.fixture(scope="module")
def demo(cloud):
    """The demo cloud's report written by playbooks/explain.yml, with its snapshot and explanations."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    paths = {k: os.path.join(ARTIFACTS, "demo" + ext) for k, ext in
             (("html", ".html"), ("snapshot", "-snapshot.json"), ("explanations", "-explanations.json"))}
    for path in paths.values():
        if os.path.exists(path):
            os.unlink(path)
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "explain.yml"),
         "-e", "@" + os.path.join(ROOT, "tests", "e2e", "explain-demo-vars.yml"),
         "-e", "ansible_python_interpreter=%s" % sys.executable,
         # the hosts' NUMA cells from Nova's cell database, read only, as `make demo` does
         "-e", "explain_nova_db=sqlite:///%s" % os.path.join(cloud.state_dir, "nova_cell1.db"),
         "-e", "explain_html_report=%s" % paths["html"], "-e", "explain_save_snapshot=%s" % paths["snapshot"],
         "-e", "explain_save_explanations=%s" % paths["explanations"]],
        env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "HTML report: %s" % paths["html"] in proc.stdout
    with open(paths["snapshot"]) as handle:
        snapshot = json.load(handle)
    with open(paths["explanations"]) as handle:
        # scheduling_explain returns the compact matrix (detail: compact); the assertions read hosts' cells
        explanations = [shape.expand(e) for e in json.load(handle)]
    return {"path": paths["html"], "snapshot": snapshot, "explanations": explanations}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 10,000-host synthetic cloud, one explanation (3 instances, 9 filters), hostile names."""
    from explain_bench import FILTERS, REQUEST, synthetic_cloud
    snap = synthetic_cloud(BIG)
    snap["hosts"][0]["name"] = snap["hosts"][0]["nodename"] = HOSTILE_HOST
    snap["aggregates"][0]["hosts"][0] = HOSTILE_HOST
    snap["aggregates"][0]["name"] = HOSTILE_AGGREGATE
    explanation = engine.explain(snap, dict(REQUEST, count=3), scheduler={"enabled_filters": FILTERS}, relax=False)
    path = str(tmp_path_factory.mktemp("big") / "report-10000.html")
    with open(path, "w") as handle:
        flavor = {"name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20}
        handle.write(html_report.render(snap, [explanation], flavors=[flavor]))
    return {"path": path, "snapshot": snap, "explanation": explanation}


@pytest.fixture(scope="module")
def browser():
    with Browser(width=1280, height=900) as b:
        yield b


def fail_counts(explanation):
    return [sum(1 for h in explanation["hosts"] if h["checks"][c["id"]]["verdict"] == "fail")
            for c in explanation["checks"]]


def dom_fail_counts(browser, section):
    """Per check: the count row the page shows, and the sum over group rows of their host
    count where the cell is a failure (both read from the DOM)."""
    return browser.js("""(function () {
      var sec = document.getElementById(%s), shown = [], summed = [];
      sec.querySelectorAll('tr.cnt td.fails').forEach(function (td) { shown.push(Number(td.textContent)); summed.push(0); });
      sec.querySelectorAll('tr.group').forEach(function (tr) {
        var n = Number(tr.getAttribute('data-n'));
        tr.querySelectorAll('td.c').forEach(function (td) {
          if (td.classList.contains('v-f')) { summed[Number(td.getAttribute('data-c'))] += n; }
        });
      });
      return [shown, summed];
    })()""" % json.dumps(section))


def visible_hosts(browser, section):
    return browser.js("""(function () { var n = 0;
      document.querySelectorAll('#%s tr.group').forEach(function (tr) { n += Number(tr.getAttribute('data-n')); });
      return n; })()""" % section)


def set_filter(browser, name, value):
    browser.js("""(function () { var e = document.getElementById('f-%s'); e.value = %s;
      e.dispatchEvent(new Event('%s')); })()""" % (name, json.dumps(value), "input" if name == "host" else "change"))
    if name == "host":
        time.sleep(0.4)  # the host box waits for typing to pause (150 ms)


def fleet_rows(browser):
    return browser.js("Array.from(document.querySelectorAll('#fleet tr.host-row td.name')).map(function (td) "
                      "{ return td.textContent; })")


def click_cell(browser, section, host, check_index):
    """Open the group holding ``host``, click its cell; return the detail box text."""
    return browser.js("""(function () {
      var sec = document.getElementById(%(s)s);
      var groups = sec.querySelectorAll('tr.group');
      for (var i = 0; i < groups.length; i++) {
        var g = groups[i];
        if (!g.classList.contains('open')) { g.querySelector('td.hn').click(); }
        var row = null, r = g.nextSibling;
        while (r && r.classList.contains('host')) {
          if (r.querySelector('td.hn') && r.querySelector('td.hn').textContent === %(h)s) { row = r; }
          r = r.nextSibling;
        }
        if (row) { row.querySelector('td.c[data-c="%(c)d"]').click();
                   return document.getElementById(%(s)s + '-detail').textContent; }
        g.querySelector('td.hn').click();
      }
      return null; })()""" % {"s": json.dumps(section), "h": json.dumps(host), "c": check_index})


# ---------------------------------------------------------------- the demo cloud


def test_demo_report_loads_without_errors(browser, demo):
    seconds = browser.load(demo["path"])
    assert browser.js("document.body.getAttribute('data-ready')") == "1"
    assert browser.errors() == []
    assert browser.js("document.querySelectorAll('section.explanation').length") == len(demo["explanations"])
    summaries = browser.js("Array.from(document.querySelectorAll('p.summary')).map(function (p) "
                           "{ return p.textContent; })")
    assert summaries == [e["summary"] for e in demo["explanations"]]
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.screenshot(os.path.join(ARTIFACTS, "demo.png"), full_page=True)
    print("demo report: %d bytes, loaded in %.3f s" % (os.path.getsize(demo["path"]), seconds))


def test_demo_fail_counts_per_check(browser, demo):
    browser.load(demo["path"])
    for index, explanation in enumerate(demo["explanations"]):
        shown, summed = dom_fail_counts(browser, "e%d" % (index + 1))
        assert shown == fail_counts(explanation), explanation["summary"]
        assert summed == shown
        assert visible_hosts(browser, "e%d" % (index + 1)) == explanation["hosts_total"]


def test_demo_click_shows_the_numbers(browser, demo):
    browser.load(demo["path"])
    explanation = demo["explanations"][0]   # m1.large in az2: compute3 lacks MEMORY_MB
    index = [c["id"] for c in explanation["checks"]].index("placement:MEMORY_MB")
    host = [h for h in explanation["hosts"] if h["host"] == "compute3"][0]
    cell = host["checks"]["placement:MEMORY_MB"]
    assert cell["verdict"] == "fail"
    text = click_cell(browser, "e1", "compute3", index)
    assert text.startswith("compute3 \u00b7 MEMORY_MB (placement)")
    assert "fail (dynamic)" in text and cell["reason"] in text
    assert "14336" in text and "free 2048" in text  # (16384-2048) x 1.0, 12288 used
    # the same numbers on hover
    assert cell["reason"] in browser.js("document.querySelector('#e1 td.sel').title")
    browser.screenshot(os.path.join(ARTIFACTS, "demo-click.png"))


def test_demo_filters(browser, demo):
    browser.load(demo["path"])
    snapshot, explanations = demo["snapshot"], demo["explanations"]

    def expect(predicate_host, predicate_row):
        fleet = sorted(h["name"] for h in snapshot["hosts"] if predicate_host(h))
        assert sorted(fleet_rows(browser)) == fleet
        for index, explanation in enumerate(explanations):
            want = sum(1 for h in explanation["hosts"] if predicate_row(h))
            assert visible_hosts(browser, "e%d" % (index + 1)) == want, explanation["summary"]

    set_filter(browser, "az", "az2")
    expect(lambda h: h["availability_zone"] == "az2", lambda h: h["availability_zone"] == "az2")
    set_filter(browser, "az", "")
    ssd = browser.js("Array.from(document.getElementById('f-agg').options).filter(function (o) "
                     "{ return o.textContent === 'fast-ssd'; })[0].value")
    set_filter(browser, "agg", ssd)
    members = [a for a in snapshot["aggregates"] if a["name"] == "fast-ssd"][0]["hosts"]
    assert sorted(members) == ["compute1", "compute2"]
    expect(lambda h: h["name"] in members, lambda h: h["host"] in members)
    set_filter(browser, "agg", "")
    set_filter(browser, "verdict", "static")
    expect(lambda h: True, lambda h: not h["fits"] and h["kind"] == "static")
    set_filter(browser, "verdict", "fits")
    expect(lambda h: True, lambda h: h["fits"])
    set_filter(browser, "verdict", "")
    set_filter(browser, "state", "disabled")
    assert fleet_rows(browser) == [h["name"] for h in snapshot["hosts"] if h["service"]["status"] == "disabled"]
    assert browser.js("document.querySelector('#fleet tr.host-row.disabled .badge').textContent").startswith(
        "disabled (hardware maintenance")
    set_filter(browser, "state", "")
    set_filter(browser, "host", "compute3")
    expect(lambda h: h["name"] == "compute3", lambda h: h["host"] == "compute3")
    assert browser.errors() == []


def test_demo_sorting(browser, demo):
    browser.load(demo["path"])
    browser.js("document.getElementById('fleet-group').value = 'aggregate';"
               "document.getElementById('fleet-group').dispatchEvent(new Event('change'))")
    groups = browser.js("Array.from(document.querySelectorAll('#fleet .fgroup')).map(function (d) "
                        "{ return d.getAttribute('data-group'); })")
    assert groups == sorted(a["name"] for a in demo["snapshot"]["aggregates"])
    browser.js("document.getElementById('fleet-group').value = 'az';"
               "document.getElementById('fleet-group').dispatchEvent(new Event('change'))")
    # MEMORY_MB column (its place depends on the classes the fleet has, PCPU included): the first
    # click sorts by used/capacity, highest first
    sort_key = browser.js("Array.from(document.querySelectorAll('#fleet th[data-sort]')).filter(function (th) "
                          "{ return th.textContent.indexOf('MEMORY_MB') === 0; })[0].getAttribute('data-sort')")
    browser.js("document.querySelector('#fleet th[data-sort=\"%s\"]').click()" % sort_key)
    assert browser.js("document.querySelector('#fleet th[data-sort=\"%s\"]').textContent" % sort_key).endswith("\u25bc")
    for group in browser.js("Array.from(document.querySelectorAll('#fleet .fgroup')).map(function (d) {"
                            " return Array.from(d.querySelectorAll('td.name')).map(function (t) "
                            "{ return t.textContent; }); })"):
        hosts = {h["name"]: h for h in demo["snapshot"]["hosts"]}
        ratios = [hosts[n]["resources"]["MEMORY_MB"]["used"] / hosts[n]["resources"]["MEMORY_MB"]["capacity"]
                  for n in group]
        assert ratios == sorted(ratios, reverse=True)
    # a check column sorts the groups failing it first
    explanation = demo["explanations"][0]
    index = [c["id"] for c in explanation["checks"]].index("prefilter:availability_zone")
    browser.js("document.querySelector('#e1 th.chk[data-c=\"%d\"]').click()" % index)
    column = browser.js("Array.from(document.querySelectorAll('#e1 tr.group td.c[data-c=\"%d\"]')).map(function (td) "
                        "{ return td.classList.contains('v-f'); })" % index)
    assert column == sorted(column, reverse=True) and column[0] is True


def test_demo_prints(browser, demo):
    browser.load(demo["path"])
    browser.media("print")
    try:
        assert browser.js("getComputedStyle(document.getElementById('filters')).display") == "none"
        assert browser.js("getComputedStyle(document.querySelector('#e1 td.c')).printColorAdjust") == "exact"
        browser.screenshot(os.path.join(ARTIFACTS, "demo-print.png"), full_page=True)
    finally:
        browser.media("")
    pdf = browser.print_pdf(os.path.join(ARTIFACTS, "demo.pdf"))
    with open(pdf, "rb") as handle:
        assert handle.read(5) == b"%PDF-"


# ---------------------------------------------------------------- 10,000 hosts


def test_big_report_counts_and_size(browser, big):
    size = os.path.getsize(big["path"])
    seconds = browser.load(big["path"])
    assert browser.errors() == []
    explanation = big["explanation"]
    shown, summed = dom_fail_counts(browser, "e1")
    assert shown == fail_counts(explanation)
    assert summed == shown
    assert visible_hosts(browser, "e1") == BIG
    groups = browser.js("document.querySelectorAll('#e1 tr.group').length")
    distinct = len(collections.Counter(
        ("chosen" if h["chosen"] else "fits" if h["fits"] else h["kind"],
         tuple((h["checks"][c["id"]]["verdict"], h["checks"][c["id"]]["kind"]) for c in explanation["checks"]))
        for h in explanation["hosts"]))
    assert groups == distinct < BIG / 20
    render_ms = browser.js("Number(document.body.getAttribute('data-render-ms'))")
    browser.screenshot(os.path.join(ARTIFACTS, "big.png"))
    print("10,000 hosts: %d bytes (%.2f MB), load event after %.3f s, script drew it in %d ms, %d groups"
          % (size, size / 1e6, seconds, render_ms, groups))
    assert size < 5 * 1000 * 1000


def test_big_report_click_and_filter(browser, big):
    browser.load(big["path"])
    explanation = big["explanation"]
    checks = [c["id"] for c in explanation["checks"]]
    failing = [h for h in explanation["hosts"] if "placement:MEMORY_MB" in h["failed"]][0]
    set_filter(browser, "host", failing["host"])
    assert visible_hosts(browser, "e1") == 1
    text = click_cell(browser, "e1", failing["host"], checks.index("placement:MEMORY_MB"))
    assert failing["checks"]["placement:MEMORY_MB"]["reason"] in text
    set_filter(browser, "host", "")
    set_filter(browser, "az", "az2")
    assert visible_hosts(browser, "e1") == sum(1 for h in explanation["hosts"] if h["availability_zone"] == "az2")
    set_filter(browser, "verdict", "dynamic")
    assert visible_hosts(browser, "e1") == sum(1 for h in explanation["hosts"] if h["availability_zone"] == "az2"
                                               and not h["fits"] and h["kind"] == "dynamic")
    shown, _summed = dom_fail_counts(browser, "e1")
    want = [sum(1 for h in explanation["hosts"] if h["availability_zone"] == "az2" and not h["fits"]
                and h["kind"] == "dynamic" and h["checks"][c]["verdict"] == "fail") for c in checks]
    assert shown == want


def test_big_report_escapes_hostile_names(browser, big):
    browser.load(big["path"])
    assert browser.js("window.__pwned === undefined")
    assert browser.js("document.scripts.length") == 2
    assert browser.js("document.images.length") == 0
    set_filter(browser, "host", "<script>")
    assert visible_hosts(browser, "e1") == 1
    assert browser.js("document.querySelector('#e1 tr.group td.hn').textContent") == HOSTILE_HOST
    assert browser.js("document.querySelector('#fleet td.name').textContent") == HOSTILE_HOST
    set_filter(browser, "host", "")
    browser.js("document.getElementById('fleet-group').value = 'aggregate';"
               "document.getElementById('fleet-group').dispatchEvent(new Event('change'))")
    assert HOSTILE_AGGREGATE in browser.js("document.getElementById('f-agg').textContent")
    assert browser.js("Array.from(document.querySelectorAll('#fleet .fgroup')).filter(function (d) "
                      "{ return d.getAttribute('data-group') === %s; }).length" % json.dumps(HOSTILE_AGGREGATE)) == 1
    assert browser.js("document.images.length") == 0
    assert browser.js("window.__pwned === undefined")
    assert browser.errors() == []
