"""The HTML report writer (plugins/module_utils/_nova/report/html_report.py) without a browser: escaping,
the embedded data against the explanation and capacity library, errors naming the argument.
The browser tests are tests/browser/test_report_browser.py (stage tests/bin/55-report.sh)."""

import json
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.filter import html_report as html_filter
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts
from ansible_collections.stackops.nova.plugins.module_utils._nova.report import html_report
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine

HOSTILE = "<script>window.__pwned=1</script>"


def _host(name, az="az1", aggs=(1,), vcpu=(16, 0, 4.0, 10), ram=(65536, 2048, 1.0, 30000), status="enabled",
          state="up", reason=None):
    def inv(spec):
        total, reserved, ratio, used = spec
        return {"total": total, "reserved": reserved, "allocation_ratio": ratio, "used": used,
                "min_unit": 1, "max_unit": total, "step_size": 1}
    return {"name": name, "nodename": name, "availability_zone": az, "aggregates": list(aggs),
            "service": {"status": status, "state": state, "disabled_reason": reason, "forced_down": False},
            "resources": {"VCPU": inv(vcpu), "MEMORY_MB": inv(ram)}, "traits": [], "num_instances": 3,
            "instances": [], "num_io_ops": 0}


def _snapshot():
    hosts = [_host("c1"), _host(HOSTILE, ram=(65536, 2048, 1.0, 60000)),
             _host("c3", az="az2", aggs=(2,), status="disabled", reason="<b>maint</b>"),
             _host("c4", az="az2", aggs=(2,), state="down", vcpu=(8, 2, 2.0, 14))]
    return {"snapshot_version": 1, "hosts": hosts, "warnings": ["placement said <i>hi</i>"],
            "aggregates": [{"id": 1, "name": "<img src=x onerror=alert(1)>", "hosts": ["c1", HOSTILE],
                            "availability_zone": "az1", "metadata": {}},
                           {"id": 2, "name": "rack2", "hosts": ["c3", "c4"], "availability_zone": "az2",
                            "metadata": {}}]}


FLAVOR = {"name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 0}


def _data(html):
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match, "the embedded data block is missing"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def explained():
    snap = _snapshot()
    explanation = engine.explain(snap, {"flavor": FLAVOR, "count": 2}, scheduler={"enabled_filters": ["ComputeFilter"]})
    return snap, explanation


def test_hostile_names_are_escaped(explained):
    snap, explanation = explained
    html = html_report.render(snap, [explanation], title="<script>t()</script>")
    # exactly two script elements: the data block and the report's own script
    assert len(re.findall(r"<script\b", html)) == 2
    assert "<img src=x" not in html and "<i>hi</i>" not in html and "<b>maint</b>" not in html
    assert "&lt;script&gt;t()&lt;/script&gt;" in html           # the title, autoescaped
    assert "placement said &lt;i&gt;hi&lt;/i&gt;" in html        # a warning from the API
    data = _data(html)
    assert data["fleet"]["hosts"][1][0] == HOSTILE                # intact as data, drawn as text by the script
    assert HOSTILE in [r[0] for r in data["explanations"][0]["rows"]]
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html and "document.write" not in html


def test_self_contained(explained):
    snap, explanation = explained
    html = html_report.render(snap, [explanation])
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert html.startswith("<!DOCTYPE html>")


def test_bars_are_capacity_views():
    snap = _snapshot()
    data = _data(html_report.render(snap))
    classes = data["fleet"]["classes"]
    assert classes == ["VCPU", "MEMORY_MB"]
    for row, host in zip(data["fleet"]["hosts"], snap["hosts"]):
        for rc, cell in zip(classes, row[8]):
            inv = host["resources"][rc]
            view = capacity.resource_view(inv, inv["used"])
            full = capacity.capacity(view["total"], 0, view["allocation_ratio"])
            assert cell == [view["used"], view["free"], full - view["capacity"], full, view["total"], view["reserved"],
                            view["allocation_ratio"], view["capacity"]]
    # c4: VCPU (8 - 2) x 2.0 = 12 usable, 14 used: free -2, the 2 x 2.0 = 4 reserved part
    c4 = data["fleet"]["hosts"][3]
    assert c4[8][0] == [14, -2, 4, 16, 8, 2, 2.0, 12]
    assert c4[5] == "down" and data["fleet"]["hosts"][2][4] == "disabled"
    totals = {t[0]: t for t in data["fleet"]["totals"]["az"]}
    az2 = capacity.totals([html_report._with_views(h) for h in snap["hosts"] if h["availability_zone"] == "az2"],
                          classes)
    assert az2["VCPU"]["capacity"] == 64 + 12
    assert totals["az2"][2][0][:3] == [az2["VCPU"]["used"], az2["VCPU"]["free"], az2["VCPU"]["capacity"]]


def test_headroom_columns_reuse_facts(explained):
    snap, explanation = explained
    room = facts.headroom([html_report._with_views(h) for h in snap["hosts"]], capacity.flavor_request(FLAVOR))
    data = _data(html_report.render(snap, [explanation], flavors=[FLAVOR], headroom=room))
    fleet = data["fleet"]
    assert [h["title"] for h in fleet["headroom"]] == ["+flavor 1", "+m1.large", "+m1.large (E1)"]
    assert fleet["headroom"][0]["total"] == fleet["headroom"][1]["total"] == room["total"]
    expected = [e["fits"] for e in room["hosts"]]
    assert [row[9][0] for row in fleet["hosts"]] == expected
    assert [row[9][1] for row in fleet["hosts"]] == expected
    per_host = explanation["headroom"]["per_host"]
    assert [row[9][2] for row in fleet["hosts"]] == [per_host.get(h["name"], 0) for h in snap["hosts"]]


def test_rows_encode_every_verdict(explained):
    snap, explanation = explained
    data = _data(html_report.render(snap, [explanation]))
    matrix = data["explanations"][0]
    assert [c[0] for c in matrix["checks"]] == [c["id"] for c in explanation["checks"]]
    codes = {v: k for k, v in html_report.VERDICT_CODES.items()}
    for row, host in zip(matrix["rows"], explanation["hosts"]):
        for index, check in enumerate(explanation["checks"]):
            cell = host["checks"][check["id"]]
            assert codes[row[5][2 * index]] == cell["verdict"]
            assert cell["reason"] in matrix["strings"][row[6][index]]
        assert row[4] == ("chosen" if host["chosen"] else "fits" if host["fits"] else host["kind"])
    assert [r[3] for r in matrix["rows"]] == [[0], [0], [1], [1]]


def test_scheduling_explain_results_are_unwrapped(explained):
    snap, explanation = explained
    direct = html_report.build(snap, [explanation])["data"]
    wrapped = html_report.build(snap, [{"changed": False, "explanation": explanation, "item": "x"}])["data"]
    assert direct == wrapped


def test_explanations_only(explained):
    _snap, explanation = explained
    html = html_report.render(None, explanation)
    data = _data(html)
    assert data["fleet"] is None and len(data["explanations"]) == 1
    assert 'id="fleet"' not in html


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give a snapshot, explanations, or both"),
    ({"explanations": [{"hosts": []}]}, "explanations[0] must be an explanation"),
    ({"explanations": "x"}, "explanations must be a list"),
    ({"snapshot": {"snapshot_version": 9, "hosts": []}}, "snapshot.snapshot_version is 9"),
    ({"snapshot": {"snapshot_version": 1, "hosts": []}, "flavors": [{"name": "f", "vcpus": -1}]},
     "flavors[0]: flavor vcpus must not be negative"),
    ({"snapshot": {"snapshot_version": 1, "hosts": []}, "headroom": [{"total": 3}]}, "headroom[0] must be"),
    ({"explanations": [], "flavors": [FLAVOR]}, "give a snapshot"),
])
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(html_report.ReportError) as info:
        html_report.render(**kwargs)
    assert message in str(info.value)


def test_filter_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match="stackops.nova.html_report: explanations"):
        html_filter.html_report(None, explanations=[{"nope": 1}])
    assert html_filter.html_report({"snapshot_version": 1, "hosts": []}).startswith("<!DOCTYPE html>")
