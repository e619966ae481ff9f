"""Results are the caller's own: no cell, row or request is shared between two engine calls."""

import copy
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402
from test_numa_pci import SCHED, flavor, gpu, host as numa_pci_host  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as S  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine, shape  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

REQUEST = {"flavor": B.flavor("m1.xlarge", vcpus=8, ram=16384, disk=80), "availability_zone": "az1"}


def _all_cells(out):
    return [cell for host in out["hosts"] for cell in host["checks"].values()]


def test_changing_one_result_never_changes_the_next():
    # the leak this guards against: a module-level cell cache shared the same dicts between
    # calls, so changing one cell of a first result changed 9 cells of the next one
    first = engine.explain(B.twelve_hosts(), REQUEST)
    pristine = engine.explain(B.twelve_hosts(), REQUEST)
    for cell in _all_cells(first):
        cell["reason"] = "changed by the caller"
        cell["verdict"] = "pass"
    first["hosts"][0]["failed"].append("x")
    second = engine.explain(B.twelve_hosts(), REQUEST)
    assert json.dumps(second, sort_keys=True) == json.dumps(pristine, sort_keys=True)
    assert not any(c["reason"] == "changed by the caller" for c in _all_cells(second))


@pytest.mark.parametrize("detail", ["full", "compact"])
def test_no_object_is_shared_between_two_calls(detail):
    one = engine.explain(B.twelve_hosts(), REQUEST, detail=detail)
    two = engine.explain(B.twelve_hosts(), REQUEST, detail=detail)

    def containers(value, out):
        if isinstance(value, (dict, list)):
            out[id(value)] = value
            for item in (value.values() if isinstance(value, dict) else value):
                containers(item, out)
        return out

    shared = set(containers(one, {})) & set(containers(two, {}))
    assert not shared


def test_results_are_plain_dicts_not_the_engine_cells():
    out = engine.explain(B.twelve_hosts(), REQUEST)
    assert all(isinstance(cell, dict) and not isinstance(cell, C.Cell) for cell in _all_cells(out))
    compact = engine.explain(B.twelve_hosts(), REQUEST, detail="compact")
    assert all(isinstance(cell, dict) and not isinstance(cell, C.Cell) for cell in compact["cells"])


def test_engine_cells_are_read_only_and_interned_per_pass():
    snap = B.twelve_hosts()
    cloud = engine.prepare(snap)
    conf = normalize_scheduler(None)
    req = normalize_request(REQUEST, snap)
    first = engine.run(cloud, conf, req)
    second = engine.run(cloud, conf, req)
    cells = [c for row in first["matrix"] for c in row]
    with pytest.raises(TypeError):
        cells[0]["verdict"] = "pass"
    with pytest.raises(TypeError):
        cells[0].update(reason="x")
    assert copy.deepcopy(cells[0]) == cells[0]
    # equal cells are one object within a pass ...
    by_value = {}
    for cell in cells:
        by_value.setdefault(cell.key(), set()).add(id(cell))
    assert all(len(ids) == 1 for ids in by_value.values())
    # ... and no object of one pass is in the other
    assert not {id(c) for c in cells} & {id(c) for row in second["matrix"] for c in row}
    assert isinstance(cells[0], C.Cell)


def test_relaxations_copy_the_normalized_request():
    snap = B.twelve_hosts()
    cloud = engine.prepare(snap)
    conf = normalize_scheduler(None)
    req = normalize_request(dict(REQUEST, count=3, scheduler_hints={"unknown_hint": "x"}), snap)
    before = copy.deepcopy(req)
    result = engine.run(cloud, conf, req)
    from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import relax
    seen = []

    def rerun(the_cloud, the_conf, changed):
        seen.append(changed)
        return engine.run(the_cloud, the_conf, changed)

    relax.relaxations(cloud, conf, req, result, rerun, engine.rerun_host)
    assert req == before  # never changed in place
    assert seen and all(changed is not req for changed in seen)
    # a candidate is the normalized request with one change, everything else equal
    for changed in seen:
        differing = {k for k in req if changed.get(k) != req[k]}
        allowed = {"count", "hints", "unknown_hints", "availability_zone", "requested_availability_zone", "az_note",
                   "flavor", "flavor_name", "placement", "image", "group", "different_host", "same_host", "query",
                   "forced_host", "forced_node"}
        assert differing <= allowed, differing


def test_compact_and_full_carry_the_same_information():
    for request in (REQUEST, dict(REQUEST, availability_zone=None, count=2)):
        full = engine.explain(B.twelve_hosts(), request)
        compact = engine.explain(B.twelve_hosts(), request, detail="compact")
        assert compact["detail"] == "compact" and full["detail"] == "full"
        assert len(compact["rows"]) < len(compact["hosts"])
        assert all(len(row) == len(compact["checks"]) for row in compact["rows"])
        assert {h["row"] for h in compact["hosts"]} == set(range(len(compact["rows"])))
        assert json.dumps(shape.expand(compact), sort_keys=True) == json.dumps(full, sort_keys=True)
        for entry, full_entry in zip(compact["hosts"], full["hosts"]):
            assert shape.host_cells(compact, entry) == full_entry["checks"]


def test_detail_is_checked():
    with pytest.raises(ValueError, match="detail must be one of compact, full"):
        engine.explain(B.twelve_hosts(), REQUEST, detail="everything")


def test_the_consumers_take_the_compact_shape():
    from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render
    from ansible_collections.stackops.nova.plugins.module_utils._nova.report import html_report
    request = dict(REQUEST, count=2)
    full = engine.explain(B.twelve_hosts(), request)
    compact = engine.explain(B.twelve_hosts(), request, detail="compact")
    assert render.render_table(compact) == render.render_table(full)
    assert render.summary_line(compact) == render.summary_line(full)
    when = "2026-01-01T00:00:00Z"
    assert html_report.build(B.twelve_hosts(), [compact], generated_at=when) == \
        html_report.build(B.twelve_hosts(), [full], generated_at=when)
    broken = dict(compact, hosts=[dict(compact["hosts"][0], row=99)])
    with pytest.raises(html_report.ReportError, match="malformed compact explanation"):
        html_report.build(None, [broken])


def test_a_checked_snapshot_and_its_explanation_never_change_the_callers_data():
    """validate() copies only the containers it completes (no deep copy): the engine, its
    multi-instance consumption and its relaxations must then leave every shared value alone."""
    numa = numa_pci_host(pinned_cell1=[4], pools=[gpu(3, 1), gpu(1, None)])
    plain = B.host("p1", az="az1", aggregates=["fast"], instances=["i-1"])
    group = {"id": "g1", "name": "spread", "policy": "anti-affinity", "policies": ["anti-affinity"],
             "members": ["i-1"], "rules": {"max_server_per_host": 1}, "project_id": None}
    raw = B.snapshot([numa, plain], aggregates=[B.aggregate(1, "fast", ["p1"], metadata={"ssd": "true"})],
                     server_groups=[group], scheduler=SCHED)
    raw.pop("warnings", None)
    before = copy.deepcopy(raw)
    checked = S.validate(raw, copy_data=True)
    assert checked is not raw and checked["hosts"][0] is not raw["hosts"][0]
    for count in (1, 2, 5):
        engine.explain(checked, {"flavor": flavor(**{"hw:pci_numa_affinity_policy": "required"}), "count": count,
                                 "scheduler_hints": {"group": "g1"}})
        engine.explain(checked, {"flavor": B.flavor("big", vcpus=64, ram=10 ** 6, disk=10 ** 4), "count": count})
    assert raw == before
