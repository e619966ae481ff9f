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


def test_affinity_headroom_is_the_room_of_the_host_nova_picks_not_the_largest():
    # no member placed: Nova sends the next instance to the best weighed host (most free RAM, only
    # the RAM weigher counts here: a) and the rest follow it; b has more vCPU room but never gets the group
    hosts = [B.host("a", vcpu=2, cpu_ratio=1.0, ram=65536), B.host("b", vcpu=16, cpu_ratio=1.0, ram=32768)]
    groups = [{"id": "g1", "name": "grp", "policy": "affinity", "rules": {}, "members": []}]
    weights = {"cpu_weight_multiplier": 0.0, "disk_weight_multiplier": 0.0}
    out = explain(hosts, groups, scheduler=dict(SCHED, weights=weights), scheduler_hints={"group": "g1"})
    assert out["placements"][0]["host"] == "a"
    assert out["headroom"]["per_host"] == {"a": 2, "b": 15} and out["headroom"]["total"] == 2
    assert "best weighed host a" in out["headroom"]["note"]


def test_group_policy_enforced_only_by_the_claim_makes_headroom_unknown():
    # no ServerGroupAntiAffinityFilter: the scheduler keeps choosing the best host, whose claim
    # refuses the third member (max_server_per_host 2) although b has room
    hosts = [B.host("a", ram=65536), B.host("b", ram=32768)]
    groups = [{"id": "g1", "name": "grp", "policy": "anti-affinity", "rules": {"max_server_per_host": 2},
               "members": []}]
    out = explain(hosts, groups, scheduler={"enabled_filters": ["ComputeFilter"]}, scheduler_hints={"group": "g1"})
    head = out["headroom"]
    assert head["unknown"] is True and head["total"] == 0 and head["total_if_unknowns_pass"] == 4
    assert "only nova-compute's claim" in head["note"]
    with_filter = explain(hosts, groups, scheduler_hints={"group": "g1"})["headroom"]
    assert with_filter["total"] == 4 and not with_filter.get("unknown")


def test_a_host_with_unknown_usage_that_the_claim_refuses_makes_the_fit_unknown():
    # the group's members are on a and c, which hold the two instances; b's usage is unknown and it
    # has the most free RAM: if it has room, Nova's scheduler picks it and nova-compute's affinity
    # claim refuses it (max_attempts 1: ERROR). The certain hosts alone fit, so the answer is
    # unknown, not "fits".
    hosts = [B.host("a", ram=8192, disk=30, instances=["m1"]), B.host("b", ram=65536),
             B.host("c", ram=4096, disk=500, instances=["m2"])]
    hosts[1]["resources"]["DISK_GB"]["used"] = None
    groups = [{"id": "g1", "name": "grp", "policy": "affinity", "rules": {}, "members": ["m1", "m2"]}]
    sched = {"enabled_filters": ["ComputeFilter"], "max_attempts": 1}
    out = explain(hosts, groups, scheduler=sched, scheduler_hints={"group": "g1"}, count=2)
    assert out["fits"] is None
    assert out["failed_instance"]["claim_failures"][0]["host"] == "b"
    sched["max_attempts"] = 3  # the alternates a and c take it after b's refusal
    assert explain(hosts, groups, scheduler=sched, scheduler_hints={"group": "g1"}, count=2)["fits"] is True
