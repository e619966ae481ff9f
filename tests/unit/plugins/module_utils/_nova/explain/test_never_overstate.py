"""Issue 16 and 17.4/17.5: explanations that never overstate (one test group per kind)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request as R  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError  # noqa: E402

FILTERS = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
           "ServerGroupAffinityFilter"]


def three_azs(**host_kw):
    aggs = [B.aggregate(1, "r1", ["a", "b"], az="az1"), B.aggregate(2, "r2", ["c"], az="az2")]
    hosts = [B.host("a", az="az1", aggregates=[1], **host_kw), B.host("b", az="az1", aggregates=[1], **host_kw),
             B.host("c", az="az2", aggregates=[2], **host_kw), B.host("d", **host_kw)]
    return hosts, aggs


def explain(hosts, aggs=(), groups=(), scheduler=None, **request):
    request.setdefault("flavor", B.flavor())
    snap = B.snapshot(hosts, aggs, groups)
    return engine.explain(snap, request, scheduler=scheduler if scheduler is not None else {"enabled_filters": FILTERS})


# ---------------------------------------------------------------- 1. forced host and the requested AZ

def test_forced_host_outside_the_requested_az_drops_the_az_as_novas_api_does():
    hosts, aggs = three_azs()
    out = explain(hosts, aggs, availability_zone="az1:c")
    assert out["fits"] is True and out["valid_hosts"] == ["c"] and out["placements"][0]["host"] == "c"
    assert out["request"]["availability_zone"] is None and out["request"]["requested_availability_zone"] == "az1"
    assert "bug #1934770" in out["notes"][0] and "forced host c is in availability zone az2" in out["notes"][0]


def test_forced_host_in_no_aggregate_keeps_only_the_default_az():
    hosts, aggs = three_azs()
    dropped = explain(hosts, aggs, availability_zone="az1:d")
    assert dropped["valid_hosts"] == ["d"] and dropped["request"]["availability_zone"] is None
    assert "is in no aggregate" in dropped["notes"][0]
    kept = explain(hosts, aggs, availability_zone="nova:d")
    assert kept["valid_hosts"] == ["d"] and kept["request"]["availability_zone"] == "nova"
    inside = explain(hosts, aggs, availability_zone="az1:a")
    assert inside["request"]["availability_zone"] == "az1" and inside["valid_hosts"] == ["a"]
    assert not any("1934770" in n for n in inside["notes"])


def test_forced_host_skips_filters_but_not_prefilters_or_placement():
    hosts, aggs = three_azs()
    hosts[2]["resources"]["MEMORY_MB"]["used"] = 65000
    out = explain(hosts, aggs, availability_zone="az1:c")
    assert out["fits"] is False and out["failure"] == "no_valid_host"
    assert out["hosts"][2]["checks"]["filter:ImagePropertiesFilter"]["verdict"] == "skipped"


def test_requested_destination_host_keeps_filters():
    hosts, aggs = three_azs()
    out = explain(hosts, aggs, host="b", image={"properties": {"hw_architecture": "aarch64"}})
    assert out["hosts"][1]["checks"]["prefilter:requested_destination"]["verdict"] == "pass"
    assert out["hosts"][1]["checks"]["filter:ImagePropertiesFilter"]["verdict"] == "fail"
    assert out["fits"] is False
    with pytest.raises(ExplainError, match="mutually exclusive"):
        explain(hosts, aggs, host="b", availability_zone="az1:a")


# ---------------------------------------------------------------- 2. missing data is unknown, never fail

def test_capability_on_missing_cpu_info_is_unknown_and_uses_cpu_info_when_present():
    hosts, _aggs = three_azs()
    for h in hosts:
        h["cpu_info"] = None
    hosts[0]["cpu_info"] = {"arch": "x86_64"}
    hosts[1]["cpu_info"] = {"arch": "aarch64"}
    hosts[2]["cpu_info"] = {}
    out = explain(hosts, flavor=B.flavor(**{"capabilities:cpu_info:arch": "s== x86_64"}))
    cells = [h["checks"]["filter:ComputeCapabilitiesFilter"] for h in out["hosts"]]
    assert [c["verdict"] for c in cells] == ["pass", "fail", "fail", "unknown"]
    assert "2.87" in cells[3]["reason"]
    assert out["valid_hosts"] == ["a"] and out["maybe_hosts"] == ["d"] and out["fits"] is True


def test_architecture_is_inferred_from_hypervisor_type_and_cpu_info_and_said_so():
    hosts, _aggs = three_azs()
    for h in hosts:
        h["supported_instances"] = None
        h["cpu_info"] = {"arch": "x86_64"}
    hosts[3]["hypervisor_type"] = "fake"
    hosts[2]["cpu_info"] = None
    arm = explain(hosts, image={"properties": {"hw_architecture": "aarch64"}})
    cells = [h["checks"]["filter:ImagePropertiesFilter"] for h in arm["hosts"]]
    # QEMU x86_64: may emulate aarch64 -> unknown; no cpu_info -> unknown; fake: fixed x86_64 -> fail
    assert [c["verdict"] for c in cells] == ["unknown", "unknown", "unknown", "fail"]
    assert "inferred from hypervisor_type QEMU and cpu_info arch x86_64" in cells[0]["reason"]
    assert "inferred" in cells[3]["reason"]
    x86 = explain(hosts, image={"properties": {"hw_architecture": "x86_64"}})
    cells = [h["checks"]["filter:ImagePropertiesFilter"] for h in x86["hosts"]]
    assert [c["verdict"] for c in cells] == ["pass", "pass", "unknown", "pass"]
    assert "inferred" in cells[0]["reason"]


# ---------------------------------------------------------------- 3. unknown never counted as fitting

def test_unknown_check_makes_hosts_maybe_and_the_answer_unknown_everywhere():
    hosts, _aggs = three_azs()
    for h in hosts:
        h["supported_instances"] = None
        h["cpu_info"] = None
    out = explain(hosts, image={"properties": {"hw_architecture": "aarch64"}})
    assert out["fits"] is None and out["verdict"] == "unknown" and out["hosts_valid"] == 0
    assert out["maybe_hosts"] == ["a", "b", "c", "d"]
    assert all(h["fits"] is None for h in out["hosts"])
    assert out["summary"].startswith("0/4 hosts fit m1.small, 4 more only if ImagePropertiesFilter passes")
    assert "fits: unknown" in out["summary"]
    assert out["unknowns"][0]["name"] == "ImagePropertiesFilter"
    assert "supported_instances" in out["unknowns"][0]["decided_by"]
    assert out["headroom"]["total"] == 0 and out["headroom"]["unknown"] is True
    assert out["headroom"]["total_if_unknowns_pass"] > 0
    assert out["relaxations"] == [] and "not searched" in out["relaxations_note"]
    text = render.render_table(out)
    assert "no single relaxation" not in text and "fits\n" not in text
    assert "| 0    | 4       | 0    |" in text  # pass / unknown / fail of the check table


def test_certain_hosts_fit_and_the_rest_is_named():
    hosts, _aggs = three_azs()
    for h in hosts[1:]:
        h["supported_instances"] = None
        h["cpu_info"] = None
    out = explain(hosts, image={"properties": {"hw_architecture": "x86_64"}})
    assert out["fits"] is True and out["valid_hosts"] == ["a"] and out["hosts_maybe"] == 3
    assert "1/4 hosts fit m1.small, 3 more only if ImagePropertiesFilter passes" in out["summary"]
    assert out["placements"][0]["host"] == "a"


def test_placement_down_gives_one_consistent_unknown():
    """17.5: no inventory at all: not 'fits false', not '3/4 fit', not 'headroom 0', not 'no relaxation'."""
    hosts, _aggs = three_azs()
    for h in hosts:
        h["resources"] = {}
        h["traits"] = None
    out = explain(hosts, count=3)
    assert out["fits"] is None and out["hosts_valid"] == 0 and out["hosts_maybe"] == 4
    assert out["summary"].startswith("0/4 hosts fit m1.small x3, 4 more only if")
    assert out["headroom"]["unknown"] and out["headroom"]["total_if_unknowns_pass"] is None
    assert out["relaxations"] == []
    text = render.render_table(out)
    assert "no single relaxation" not in text and "an unknown number" in text


def test_not_evaluated_filter_is_never_a_pass():
    hosts, _aggs = three_azs()
    out = explain(hosts, scheduler={"enabled_filters": FILTERS + ["MyOutOfTreeFilter"]})
    assert out["fits"] is None and out["hosts_valid"] == 0
    assert out["unknowns"][0]["name"] == "MyOutOfTreeFilter"


# ---------------------------------------------------------------- 4. the claim stage

def anti_group(members, max_per_host=None, policy="anti-affinity"):
    rules = {"max_server_per_host": max_per_host} if max_per_host else {}
    return [{"id": "g1", "name": "web", "policy": policy, "rules": rules, "members": members}]


def test_forced_host_breaking_anti_affinity_errors_at_the_claim():
    hosts, aggs = three_azs()
    hosts[0]["instances"] = ["m1"]
    hosts[0]["num_instances"] = 1
    out = explain(hosts, aggs, anti_group(["m1"]), availability_zone="az1:a", scheduler_hints={"group": "g1"})
    assert out["fits"] is False and out["failure"] == "nova_compute_error"
    assert out["hosts"][0]["checks"]["filter:ServerGroupAntiAffinityFilter"]["verdict"] == "skipped"
    assert out["hosts"][0]["checks"]["claim:group_policy"]["verdict"] == "fail"
    assert "Anti-affinity instance group policy was violated" in out["failed_instance"]["error"]
    assert "goes to ERROR at nova-compute" in out["summary"]
    two = explain(hosts, aggs, anti_group(["m1"], 2), availability_zone="az1:a", scheduler_hints={"group": "g1"})
    assert two["fits"] is True
    second = explain(hosts, aggs, anti_group(["m1"], 2), availability_zone="az1:a", scheduler_hints={"group": "g1"},
                     count=2)
    assert second["fits"] is False and second["placed"] == 1 and second["failure"] == "nova_compute_error"


def test_forced_host_away_from_affinity_group_errors():
    hosts, aggs = three_azs()
    hosts[1]["instances"] = ["m1"]
    out = explain(hosts, aggs, anti_group(["m1"], policy="affinity"), availability_zone="az1:a",
                  scheduler_hints={"group": "g1"})
    assert out["fits"] is False and "Affinity instance group policy was violated" in out["failed_instance"]["error"]
    ok = explain(hosts, aggs, anti_group(["m1"], policy="affinity"), availability_zone="az1:b",
                 scheduler_hints={"group": "g1"})
    assert ok["fits"] is True


def test_claim_check_without_the_group_filter_and_the_workaround():
    hosts, aggs = three_azs()
    hosts[0]["instances"] = ["m1"]
    no_filter = {"enabled_filters": ["ComputeFilter"]}
    out = explain(hosts, aggs, anti_group(["m1"]), scheduler=no_filter, availability_zone="az1",
                  scheduler_hints={"group": "g1"})
    assert out["valid_hosts"] == ["b"] and out["fits"] is True and out["placements"][0]["host"] == "b"
    off = explain(hosts, aggs, anti_group(["m1"]), availability_zone="az1:a", scheduler_hints={"group": "g1"},
                  scheduler={"enabled_filters": FILTERS, "disable_group_policy_check_upcall": True})
    assert off["fits"] is True


def test_claim_on_unknown_instances_is_unknown():
    hosts, aggs = three_azs()
    hosts[0]["instances"] = None
    hosts[0]["num_instances"] = None
    out = explain(hosts, aggs, anti_group([]), availability_zone="az1:a", scheduler_hints={"group": "g1"})
    assert out["fits"] is None and out["unknowns"][0]["check"] == "claim:group_policy"


# ---------------------------------------------------------------- 5. assumed configuration

def test_assumed_configuration_is_a_warning_and_in_the_summary():
    hosts, _aggs = three_azs()
    snap = B.snapshot(hosts)
    out = engine.explain(snap, {"flavor": B.flavor()})
    assert "[assuming Nova's default scheduler configuration]" in out["summary"]
    assert "nova.conf" in out["warnings"][0] and "scheduler option" in out["warnings"][0]
    assert "WARNING: no scheduler configuration given" in render.render_table(out)
    partial = engine.explain(snap, {"flavor": B.flavor()}, scheduler={"max_io_ops_per_host": 4})
    assert "no enabled_filters" in partial["warnings"][0]
    given = engine.explain(snap, {"flavor": B.flavor()}, scheduler={"enabled_filters": FILTERS})
    assert given["warnings"] == [] and "assuming" not in given["summary"]


# ---------------------------------------------------------------- 6. names where ids are expected

def test_project_names_are_resolved_or_refused():
    snap = B.snapshot([B.host("a")], [B.aggregate(1, "t", ["a"], metadata={"filter_tenant_id": "p-known"})])
    with_projects = dict(snap, projects=[{"id": "0123456789abcdef0123456789abcdef", "name": "tenant-a"}])
    assert R.resolve_project("tenant-a", with_projects) == "0123456789abcdef0123456789abcdef"
    assert R.resolve_project("0123456789abcdef0123456789abcdef", with_projects) == "0123456789abcdef0123456789abcdef"
    with pytest.raises(ExplainError, match="project_id 'tenant-b' is neither"):
        R.resolve_project("tenant-b", with_projects)
    with pytest.raises(ExplainError, match="project_id 'tenant-a' does not look like a project id"):
        R.resolve_project("tenant-a", snap)
    assert R.resolve_project("p-known", snap) == "p-known"
    assert R.resolve_project("0123456789abcdef0123456789abcdef", snap) == "0123456789abcdef0123456789abcdef"
    assert R.resolve_project(None, snap) is None


# ---------------------------------------------------------------- 7. headroom and I/O ops

def test_io_ops_do_not_cap_headroom_but_num_instances_do():
    hosts = [B.host("a", ram=8192 + 512), B.host("b", ram=8192 + 512, num_io_ops=1)]
    conf = {"enabled_filters": ["IoOpsFilter", "NumInstancesFilter"], "max_io_ops_per_host": 1,
            "max_instances_per_host": 3}
    out = explain(hosts, scheduler=conf, flavor=B.flavor(ram=1024))
    head = out["headroom"]
    assert head["per_host"] == {"a": 3} and head["limited_by"]["a"] == "NumInstancesFilter"
    assert "b" not in head["per_host"]  # at its I/O limit now
    assert "does not cap the total" in head["note"]
    no_cap = explain(hosts, scheduler=dict(conf, max_instances_per_host=50), flavor=B.flavor(ram=1024))
    assert no_cap["headroom"]["per_host"]["a"] == 8


# ---------------------------------------------------------------- 17.4 bounded work

@pytest.mark.parametrize("key, value", [("vcpus", 0), ("ram", 0)])
def test_zero_sized_flavor_is_refused(key, value):
    flavor = dict(B.flavor(), **{key: value})
    with pytest.raises(ExplainError, match="request.flavor.%s is 0: Nova refuses" % key):
        explain([B.host("a")], flavor=flavor)


def test_huge_count_is_bounded_by_what_placement_holds(monkeypatch):
    hosts = [B.host("a"), B.host("b")]  # 16 VCPU x 4.0 each: placement holds 128 of 1 vCPU
    out = explain(hosts, flavor=B.flavor(vcpus=1, ram=1, disk=0), count=10 ** 9)
    assert out["fits"] is False and out["placed"] == 128
    assert out["failed_instance"]["instance"] == 129
    assert out["failed_instance"]["reasons"][0]["reason"] == "insufficient VCPU"
    monkeypatch.setattr(engine, "MAX_PLACEMENT_STEPS", 50)
    fast = explain(hosts, flavor=B.flavor(vcpus=1, ram=1, disk=0), count=10 ** 9)
    assert fast["fits"] is False and fast["placed"] == 0
    assert "placement holds at most 128" in fast["failed_instance"]["reasons"][0]["reason"]
