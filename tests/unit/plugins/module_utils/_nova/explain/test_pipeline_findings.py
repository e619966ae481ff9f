"""What the whole-pipeline oracle (tests/oracle/test_pipeline_oracle.py) found: one test per class."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

SCHED = {"enabled_filters": ["ComputeFilter", "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter"]}


def explain(hosts, groups=(), scheduler=None, **request):
    request.setdefault("flavor", B.flavor())
    return engine.explain(B.snapshot(hosts, (), groups), request, scheduler=scheduler or SCHED)


def test_relaxations_with_a_host_whose_usage_is_unknown_do_not_crash():
    # a request of 3 that does not fit (the known host holds 2) while another host's usage was
    # not read: the relaxation search bounded by capacity must treat that host as unbounded
    hosts = [B.host("a", ram=4608), B.host("b")]
    hosts[1]["resources"]["MEMORY_MB"]["used"] = None
    out = explain(hosts, count=3)
    assert out["fits"] is None  # b may take the rest
    hosts = [B.host("a", ram=4608), B.host("b", status="disabled")]
    hosts[1]["resources"]["MEMORY_MB"]["used"] = None
    out = explain(hosts, count=3)
    assert out["fits"] is False and out["placed"] == 2
    assert [r["kind"] for r in out["relaxations"]][:1] == ["count"]


def test_affinity_claim_that_refuses_a_host_is_no_headroom():
    # the group's member is on a, which is disabled; b passes the scheduler but nova-compute's claim
    # refuses it (affinity): b holds no more instances, though its capacity is large
    hosts = [B.host("a", status="disabled", instances=["m1"]), B.host("b")]
    groups = [{"id": "g1", "name": "grp", "policy": "affinity", "rules": {}, "members": ["m1"]}]
    out = explain(hosts, groups, scheduler={"enabled_filters": ["ComputeFilter"]}, scheduler_hints={"group": "g1"})
    assert out["fits"] is False and out["failure"] == "nova_compute_error"
    assert out["headroom"]["total"] == 0 and out["headroom"]["per_host"] == {}


def test_affinity_is_unknown_when_a_member_may_be_on_a_host_whose_servers_are_unknown():
    # m1 is on no host the snapshot lists servers for, and a's servers are not known: Nova's group
    # hosts may be [a], so neither the filter nor the claim can pass b
    hosts = [B.host("a"), B.host("b")]
    hosts[0]["instances"] = None
    hosts[0]["num_instances"] = None
    groups = [{"id": "g1", "name": "grp", "policy": "affinity", "rules": {}, "members": ["m1"]}]
    out = explain(hosts, groups, scheduler_hints={"group": "g1"})
    cells = {h["host"]: h["checks"] for h in out["hosts"]}
    assert cells["b"]["filter:ServerGroupAffinityFilter"]["verdict"] == "unknown"
    assert "hosts[].instances" in cells["b"]["filter:ServerGroupAffinityFilter"]["reason"]
    assert cells["b"]["claim:group_policy"]["verdict"] == "unknown"
    assert out["fits"] is None and out["valid_hosts"] == []
    # with every host's servers known, a member found nowhere places nothing: b passes
    hosts[0]["instances"] = []
    out = explain(hosts, groups, scheduler_hints={"group": "g1"})
    assert out["fits"] is True and sorted(out["valid_hosts"]) == ["a", "b"]


def test_tenant_aggregate_matches_like_novas_metadata_query():
    # require_tenant_aggregate asks AggregateList.get_by_metadata(value=project) and keeps the
    # aggregates that have any filter_tenant_id* key: the value may sit under another key
    aggs = [B.aggregate(1, "odd", ["a"], metadata={"owner": "p1", "filter_tenant_id": "p9"}),
            B.aggregate(2, "other", ["b"], metadata={"filter_tenant_id": "p9"})]
    snap = B.snapshot([B.host("a"), B.host("b")], aggs)
    out = engine.explain(snap, {"flavor": B.flavor(), "project_id": "p1"},
                         scheduler=dict(SCHED, limit_tenants_to_placement_aggregate=True))
    assert out["valid_hosts"] == ["a"]
    assert out["hosts"][1]["checks"]["prefilter:tenant_aggregate"]["verdict"] == "fail"
