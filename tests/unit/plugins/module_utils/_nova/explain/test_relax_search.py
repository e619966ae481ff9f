"""The relaxation search's structure: bounded attempts, pre-checks, one-row re-evaluation.

Counts engine passes (not time): the number of full passes and of one-row passes must not
grow with the number of hosts, and a one-row pass must give what a full pass gives.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from explain_builders import aggregate, flavor, host, snapshot  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import relax  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402


FILTERS = {"enabled_filters": ["ComputeFilter", "ImagePropertiesFilter",
                               "AggregateInstanceExtraSpecsFilter"]}


def almost_full_cloud(n, spare_ram=0):
    """n hosts in two AZs, each short of memory for one 48 GB instance (some disabled)."""
    hosts = []
    for i in range(n):
        status = "disabled" if i % 10 == 9 else "enabled"
        hosts.append(host("h%04d" % i, az="az%d" % (i % 2 + 1), aggregates=[i % 2 + 1], status=status,
                          ram=65536, used_ram=65536 - 512 - 40000 + spare_ram * (i == 3)))
    aggs = [aggregate(1, "a1", [h["name"] for h in hosts[0::2]], az="az1"),
            aggregate(2, "a2", [h["name"] for h in hosts[1::2]], az="az2")]
    return snapshot(hosts, aggs)


def count_passes(monkeypatch):
    calls = {"run": 0, "rerun_host": 0}
    run, rerun = engine.run, engine.rerun_host

    def counted_run(*args, **kwargs):
        calls["run"] += 1
        return run(*args, **kwargs)

    def counted_rerun(*args, **kwargs):
        calls["rerun_host"] += 1
        return rerun(*args, **kwargs)

    monkeypatch.setattr(engine, "run", counted_run)
    monkeypatch.setattr(engine, "rerun_host", counted_rerun)
    return calls


REQUEST = {"flavor": flavor("big", vcpus=2, ram=49152, disk=10), "image": {"id": "img"}, "count": 2}


@pytest.mark.parametrize("n", [40, 400])
def test_no_fit_count_two_costs_the_same_number_of_passes_at_any_size(monkeypatch, n):
    calls = count_passes(monkeypatch)
    out = engine.explain(almost_full_cloud(n), REQUEST, scheduler=FILTERS)
    assert not out["fits"] and out["placed"] == 0
    # a smaller flavor is the only single change that fits two instances; each is verified
    assert out["relaxations"] and {r["kind"] for r in out["relaxations"]} == {"smaller_flavor"}
    assert all(r["verified"] and r["hosts_valid"] for r in out["relaxations"])
    # one pass for the request, one per smaller flavor candidate (at most 3); no per-host passes:
    # one host with a higher ratio holds one instance, the others none, so none is tried
    assert calls["run"] <= 4
    assert calls["rerun_host"] == 0


def test_per_host_changes_stop_after_the_attempt_budget(monkeypatch):
    calls = count_passes(monkeypatch)
    snap = almost_full_cloud(60)
    cloud = engine.prepare(snap)
    conf = normalize_scheduler(FILTERS)
    # an anti-affinity-free request for 1 instance: each host's ratio change is a relaxation;
    # with limit 1 the search stops after 2 found, not after trying all 60 hosts
    req = normalize_request(dict(REQUEST, count=1), snap)
    result = engine.run(cloud, conf, req)
    found = relax.relaxations(cloud, conf, req, result, engine.run, engine.rerun_host, limit=1)
    assert found and calls["rerun_host"] <= 2


def test_one_row_pass_equals_a_full_pass():
    snap = almost_full_cloud(30, spare_ram=40000)
    cloud = engine.prepare(snap)
    conf = normalize_scheduler(FILTERS)
    req = normalize_request(REQUEST, snap)
    base = engine.run(cloud, conf, req)
    target = cloud.hosts[7]
    raw = dict(target.raw, resources=dict(target.raw["resources"], MEMORY_MB=dict(
        target.raw["resources"]["MEMORY_MB"], allocation_ratio=3.0)))
    changed = cloud.with_host(7, raw)
    one_row = engine.rerun_host(base, changed, 7)
    full = engine.run(changed, conf, req)
    assert [h.label for h in one_row["valid"]] == [h.label for h in full["valid"]]
    assert [h.label for h in one_row["candidates"]] == [h.label for h in full["candidates"]]
    assert one_row["placements"] == full["placements"]
    assert len(full["placements"]) == 2  # host 3 (spare memory) and the changed host 7
    verdicts = [[c["verdict"] for c in row] for row in one_row["matrix"]]
    assert verdicts == [[c["verdict"] for c in row] for row in full["matrix"]]
