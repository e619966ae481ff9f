"""Unit tests of the explain engine on small hand-built snapshots."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine, render  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError  # noqa: E402


def xlarge():
    return B.flavor("m1.xlarge", vcpus=8, ram=16384, disk=80)


def test_summary_is_kubernetes_short_and_counts_every_host():
    out = engine.explain(B.twelve_hosts(), {"flavor": xlarge(), "availability_zone": "az1"})
    assert out["summary"] == ("0/12 hosts fit m1.xlarge in az1: 5 insufficient MEMORY_MB, 4 not in AZ az1, 3 disabled"
                              " [assuming Nova's default scheduler configuration]")
    assert out["fits"] is False and out["placed"] == 0
    json.dumps(out)  # plain data


def test_matrix_never_stops_at_the_first_failure():
    out = engine.explain(B.twelve_hosts(), {"flavor": xlarge(), "availability_zone": "az1"})
    check_ids = [c["id"] for c in out["checks"]]
    assert "placement:MEMORY_MB" in check_ids and "filter:ComputeFilter" in check_ids
    for h in out["hosts"]:
        assert set(h["checks"]) == set(check_ids)
    off = next(h for h in out["hosts"] if h["host"] == "off0")
    # disabled: both the prefilter and ComputeFilter say so, and placement was still evaluated
    assert off["checks"]["prefilter:compute_status"]["verdict"] == "fail"
    assert off["checks"]["filter:ComputeFilter"]["verdict"] == "fail"
    assert off["checks"]["placement:MEMORY_MB"]["verdict"] == "pass"
    assert off["kind"] == "static"
    # Nova's own short-circuit view: placement leaves nothing, no filter runs
    assert out["nova_pipeline"][0] == {"stage": "placement", "name": "allocation_candidates", "start": 12, "end": 0}
    assert all(step["ran"] is False for step in out["nova_pipeline"][1:])


def test_reason_carries_the_numbers_and_dynamic_kind():
    out = engine.explain(B.twelve_hosts(), {"flavor": xlarge(), "availability_zone": "az1"})
    full = next(h for h in out["hosts"] if h["host"] == "full0")
    cell = full["checks"]["placement:MEMORY_MB"]
    assert cell["reason"] == "needs 16384; capacity (65536-512)x1.0=65024, used 60000 -> free 5024"
    assert cell["kind"] == "dynamic" and full["kind"] == "dynamic"
    other = next(h for h in out["hosts"] if h["host"] == "other0")
    assert other["checks"]["prefilter:availability_zone"]["kind"] == "static"


def test_near_misses_say_by_how_much():
    out = engine.explain(B.twelve_hosts(), {"flavor": xlarge(), "availability_zone": "az1"})
    miss = [m for m in out["near_misses"] if m["host"] == "full0"][0]
    assert miss["short_by"] == {"MEMORY_MB": 60000 + 16384 - 65024}


def test_relaxations_are_verified_and_make_it_fit():
    snap = B.twelve_hosts()
    request = {"flavor": xlarge(), "availability_zone": "az1"}
    out = engine.explain(snap, request)
    kinds = {r["kind"] for r in out["relaxations"]}
    assert {"availability_zone", "smaller_flavor", "enable_host", "allocation_ratio"} <= kinds
    az = next(r for r in out["relaxations"] if r["kind"] == "availability_zone")
    assert az["detail"]["availability_zone"] == "az2"
    again = engine.explain(snap, dict(request, availability_zone="az2"), relax=False)
    assert again["fits"] and again["hosts_valid"] == 4
    small = next(r for r in out["relaxations"] if r["kind"] == "smaller_flavor")
    assert small["detail"]["ram"] == 5024
    flavor = dict(xlarge(), ram=small["detail"]["ram"])
    assert engine.explain(snap, dict(request, flavor=flavor), relax=False)["fits"]
    flavor["ram"] += 1
    assert not engine.explain(snap, dict(request, flavor=flavor), relax=False)["fits"]
    ratio = next(r for r in out["relaxations"] if r["kind"] == "allocation_ratio")
    assert ratio["detail"]["ratios"]["MEMORY_MB"]["to"] == 1.18  # (60000+16384)/65024 = 1.1747 -> 1.18


def test_headroom_per_host_and_total():
    snap = B.snapshot([B.host("a", ram=8192 + 512, reserved_ram=512), B.host("b", ram=4096 + 512, used_ram=2048),
                       B.host("c", status="disabled")])
    out = engine.explain(snap, {"flavor": B.flavor(ram=2048)})
    assert out["headroom"]["per_host"] == {"a": 4, "b": 1}
    assert out["headroom"]["total"] == 5
    assert out["headroom"]["limited_by"]["a"] == "MEMORY_MB"


def test_count_is_accounted_instance_by_instance():
    snap = B.snapshot([B.host("a", ram=4096 + 512), B.host("b", ram=5120 + 512)])
    out = engine.explain(snap, {"flavor": B.flavor(ram=3072), "count": 3})
    assert out["fits"] is False and out["placed"] == 2
    assert [p["host"] for p in out["placements"]] == ["b", "a"]  # RAM weigher: most free first
    assert out["failed_instance"]["instance"] == 3
    assert out["failed_instance"]["reasons"] == [{"reason": "insufficient MEMORY_MB", "hosts": 2}]
    assert "only 2 of 3 instances placed" in out["summary"]
    assert any(r["kind"] == "count" and r["detail"]["count"] == 2 for r in out["relaxations"])
    fits = engine.explain(snap, {"flavor": B.flavor(ram=2048), "count": 3})
    assert fits["fits"] and [p["host"] for p in fits["placements"]] == ["b", "a", "b"]


def test_anti_affinity_max_server_per_host_and_count():
    group = {"id": "g1", "name": "web", "policy": "anti-affinity", "rules": {"max_server_per_host": 2},
             "members": ["i1"]}
    snap = B.snapshot([B.host("a", instances=["i1"]), B.host("b")], server_groups=[group])
    out = engine.explain(snap, {"flavor": B.flavor(), "count": 4, "scheduler_hints": {"group": "web"}})
    # a holds 1 member (room for 1 more), b room for 2: 3 of 4
    assert out["placed"] == 3 and not out["fits"]
    assert sorted(p["host"] for p in out["placements"]) == ["a", "b", "b"]
    assert out["failed_instance"]["reasons"][0]["reason"] == "anti-affinity"
    assert out["headroom"]["per_host"] == {"a": 1, "b": 2}
    drop = [r for r in out["relaxations"] if r["kind"] == "drop_hint"]
    assert drop and drop[0]["detail"]["hint"] == "group"


def test_affinity_pins_to_the_members_host():
    group = {"id": "g2", "name": "db", "policy": "affinity", "rules": {}, "members": ["i9"]}
    snap = B.snapshot([B.host("a"), B.host("b", instances=["i9"])], server_groups=[group])
    out = engine.explain(snap, {"flavor": B.flavor(), "scheduler_hints": {"group": "g2"}})
    assert out["valid_hosts"] == ["b"]
    a = next(h for h in out["hosts"] if h["host"] == "a")
    assert a["checks"]["filter:ServerGroupAffinityFilter"]["reason"] == "affinity group db members are on b"


def test_forced_host_skips_filters():
    snap = B.snapshot([B.host("a", az="az1", aggregates=[1]), B.host("b", az="az1", aggregates=[1], state="down")],
                      [B.aggregate(1, "r", ["a", "b"], az="az1")])
    out = engine.explain(snap, {"flavor": B.flavor(), "availability_zone": "az1:b"})
    assert out["valid_hosts"] == ["b"]  # Nova skips ComputeFilter for a forced host
    b = next(h for h in out["hosts"] if h["host"] == "b")
    assert b["checks"]["filter:ComputeFilter"]["verdict"] == "skipped"
    a = next(h for h in out["hosts"] if h["host"] == "a")
    assert a["checks"]["prefilter:forced_host"]["verdict"] == "fail"


def test_removed_and_unknown_filters_are_not_guessed():
    snap = B.snapshot([B.host("a", used_ram=64000)],
                      scheduler={"enabled_filters": ["RamFilter", "ComputeFilter", "MyCustomFilter"]})
    out = engine.explain(snap, {"flavor": B.flavor(ram=4096)})
    a = out["hosts"][0]
    assert a["checks"]["filter:RamFilter"]["verdict"] == "not_evaluated"
    assert "removed from Nova in Train (20.0)" in a["checks"]["filter:RamFilter"]["reason"]
    assert a["checks"]["filter:MyCustomFilter"]["verdict"] == "not_evaluated"
    assert any("MyCustomFilter is not an in-tree Nova filter" in n for n in out["notes"])


def test_legacy_ram_filter_on_an_old_release():
    # Stein: RamFilter exists, limit = total x ratio - (total - free) with free = total - reserved - used
    snap = B.snapshot([B.host("a", ram=8192, used_ram=4096, reserved_ram=512, ram_ratio=1.5)],
                      scheduler={"enabled_filters": ["RamFilter"]}, release="19.0.0")
    ok = engine.explain(snap, {"flavor": B.flavor(ram=7680)}, relax=False)
    cell = ok["hosts"][0]["checks"]["filter:RamFilter"]
    assert cell["verdict"] == "pass", cell  # 8192*1.5 - 4608 = 7680
    bad = engine.explain(snap, {"flavor": B.flavor(ram=7681)}, relax=False)
    assert bad["hosts"][0]["checks"]["filter:RamFilter"]["verdict"] == "fail"


def test_dedicated_cpu_policy_asks_for_pcpu_with_nova_vcpu_fallback():
    snap = B.snapshot([B.host("a", used_vcpu=62), B.host("p", pcpu=8), B.host("v")])
    flavor = B.flavor(vcpus=4, **{"hw:cpu_policy": "dedicated"})
    out = engine.explain(snap, {"flavor": flavor})
    assert out["request"]["resources"]["PCPU"] == 4 and "VCPU" not in out["request"]["resources"]
    # nova 34 also asks placement for VCPU unless [workarounds] disable_fallback_pcpu_query;
    # NUMATopologyFilter (pinning) is not modelled: the hosts fit only if it passes
    assert out["valid_hosts"] == [] and out["maybe_hosts"] == ["p", "v"] and out["fits"] is None
    v = out["hosts"][2]["checks"]["placement:PCPU"]
    assert "fallback query for VCPU fits" in v["reason"]
    assert out["hosts"][0]["checks"]["placement:PCPU"]["verdict"] == "fail"  # VCPU full too (62+4 > 64)
    strict = engine.explain(snap, {"flavor": flavor}, scheduler={"disable_fallback_pcpu_query": True})
    assert strict["maybe_hosts"] == ["p"]
    assert strict["hosts"][1]["checks"]["placement:PCPU"]["kind"] is None
    assert strict["hosts"][2]["checks"]["placement:PCPU"]["kind"] == "static"


def test_traits_required_and_forbidden():
    snap = B.snapshot([B.host("a", traits=["HW_CPU_X86_AVX2"]), B.host("b", traits=["CUSTOM_SLOW"])])
    out = engine.explain(snap, {"flavor": B.flavor(**{"trait:HW_CPU_X86_AVX2": "required",
                                                      "trait:CUSTOM_SLOW": "forbidden"})})
    assert out["valid_hosts"] == ["a"]
    b = out["hosts"][1]
    assert b["checks"]["placement:required_traits"]["short"] == "missing trait HW_CPU_X86_AVX2"
    assert b["checks"]["placement:forbidden_traits"]["verdict"] == "fail"


def test_default_az_without_aggregate_restricts_nothing_and_unknown_az_fails():
    snap = B.snapshot([B.host("a", az="az1", aggregates=[1]), B.host("b")], [B.aggregate(1, "r", ["a"], az="az1")])
    out = engine.explain(snap, {"flavor": B.flavor(), "availability_zone": "nova"})
    assert out["hosts_valid"] == 2
    assert any("no aggregate has availability_zone=nova" in n for n in out["notes"])
    out = engine.explain(snap, {"flavor": B.flavor(), "availability_zone": "nowhere"})
    assert out["hosts_valid"] == 0 and out["reasons"][0]["reason"] == "AZ nowhere does not exist"


def test_tenant_and_isolated_aggregate_prefilters():
    aggs = [B.aggregate(1, "t1", ["a"], metadata={"filter_tenant_id": "p1"}),
            B.aggregate(2, "gpu", ["b"], metadata={"trait:CUSTOM_GPU": "required"})]
    snap = B.snapshot([B.host("a", aggregates=[1]), B.host("b", aggregates=[2]), B.host("c")], aggs,
                      scheduler={"limit_tenants_to_placement_aggregate": True,
                                 "enable_isolated_aggregate_filtering": True})
    out = engine.explain(snap, {"flavor": B.flavor(), "project_id": "p1"})
    assert out["valid_hosts"] == ["a"]
    out = engine.explain(snap, {"flavor": B.flavor(), "project_id": "p2"})
    assert out["valid_hosts"] == ["a", "c"]  # nothing dedicated to p2 -> no restriction; b isolated
    b = next(h for h in out["hosts"] if h["host"] == "b")
    assert b["checks"]["prefilter:isolated_aggregates"]["short"] == "isolated aggregate"


def test_weighers_spread_and_stack():
    snap = B.snapshot([B.host("a", used_ram=1000), B.host("b", used_ram=30000)])
    spread = engine.explain(snap, {"flavor": B.flavor()})
    assert spread["placements"][0]["host"] == "a"
    stack = engine.explain(snap, {"flavor": B.flavor()}, scheduler={"weights": {"ram_weight_multiplier": -1.0}})
    assert stack["placements"][0]["host"] == "b"


def test_aggregate_filters_and_static_sharing():
    aggs = [B.aggregate(1, "ssd", ["a", "b"], metadata={"ssd": "true", "instance_type": "m1.small,m1.big"})]
    snap = B.snapshot([B.host("a", aggregates=[1]), B.host("b", aggregates=[1]), B.host("c")], aggs,
                      scheduler={"enabled_filters": ["AggregateInstanceExtraSpecsFilter",
                                                     "AggregateTypeAffinityFilter"]})
    out = engine.explain(snap, {"flavor": B.flavor("m1.small", **{"aggregate_instance_extra_specs:ssd": "true"})})
    assert out["valid_hosts"] == ["a", "b"]
    cells = [h["checks"]["filter:AggregateInstanceExtraSpecsFilter"] for h in out["hosts"]]
    assert cells[0] is cells[1]  # same aggregates -> one shared verdict
    assert "no aggregate of this host has metadata ssd" in cells[2]["reason"]
    out = engine.explain(snap, {"flavor": B.flavor("m1.tiny")})
    assert out["valid_hosts"] == ["c"]


def test_render_table_shows_matrix_and_numbers():
    out = engine.explain(B.twelve_hosts(), {"flavor": xlarge(), "availability_zone": "az1"})
    text = render.render_table(out)
    assert text.splitlines()[0] == out["summary"]
    assert "free 5024" in text and "legend:" in text and "what would make it fit" in text


@pytest.mark.parametrize("request_, message", [
    ({}, "request.flavor"),
    ({"flavor": {"vcpus": 1}}, "request.flavor.ram"),
    ({"flavor": B.flavor(), "count": 0}, "request.count"),
    ({"flavor": B.flavor(), "scheduler_hints": {"group": "nope"}}, "scheduler_hints.group"),
    ({"flavor": B.flavor(), "availability_zone": "a:b:c:d"}, "availability_zone"),
])
def test_bad_requests_name_the_parameter(request_, message):
    with pytest.raises(ExplainError, match=message):
        engine.explain(B.snapshot([B.host("a")]), request_)


def test_bad_scheduler_and_snapshot():
    with pytest.raises(ExplainError, match="scheduler.max_io_ops_per_host"):
        engine.explain(B.snapshot([B.host("a")]), {"flavor": B.flavor()}, scheduler={"max_io_ops_per_host": "x"})
    with pytest.raises(ExplainError, match="snapshot_version"):
        engine.explain({"snapshot_version": 9, "hosts": []}, {"flavor": B.flavor()})


def test_old_release_uses_availability_zone_filter_not_the_prefilter():
    aggs = [B.aggregate(1, "r1", ["a"], az="az1"), B.aggregate(2, "r2", ["b"], az="az2")]
    snap = B.snapshot([B.host("a", az="az1", aggregates=[1]), B.host("b", az="az2", aggregates=[2])], aggs,
                      release="Stein")
    out = engine.explain(snap, {"flavor": B.flavor(), "availability_zone": "az1"})
    assert out["valid_hosts"] == ["a"]
    b = out["hosts"][1]
    assert b["checks"]["prefilter:availability_zone"]["verdict"] == "pass"
    assert b["checks"]["filter:AvailabilityZoneFilter"]["verdict"] == "fail"
    assert "filter:RetryFilter" in b["checks"] and "prefilter:compute_status" not in b["checks"]
    assert out["summary"].endswith("1 wrong AZ (AvailabilityZoneFilter); -> a [assuming Nova's default scheduler "
                                   "configuration]")


def _legacy(filters, host, flavor, release="Rocky", aggregates=(), hints=None):
    snap = B.snapshot([host], aggregates, scheduler={"enabled_filters": filters}, release=release)
    out = engine.explain(snap, {"flavor": flavor, "scheduler_hints": hints or {}}, relax=False)
    return out["hosts"][0]["checks"]


def test_legacy_core_filter_physical_and_ratio_limits():
    # Rocky CoreFilter: fail if vcpus > physical; free = total x ratio - used
    host = B.host("a", vcpu=8, used_vcpu=28, cpu_ratio=4.0)
    assert _legacy(["CoreFilter"], host, B.flavor(vcpus=4))["filter:CoreFilter"]["verdict"] == "pass"  # 32-28=4
    cell = _legacy(["CoreFilter"], host, B.flavor(vcpus=5))["filter:CoreFilter"]
    assert cell["verdict"] == "fail" and cell["kind"] == "dynamic"
    cell = _legacy(["CoreFilter"], B.host("b", vcpu=8), B.flavor(vcpus=9))["filter:CoreFilter"]
    assert cell["kind"] == "static" and "more than the host's 8 physical" in cell["reason"]


def test_legacy_disk_filter_counts_root_ephemeral_and_swap_in_mb():
    host = B.host("a", disk=100, used_disk=60)  # usable (100x1.0 - 60) GB = 40960 MB
    flavor = dict(B.flavor(disk=30), ephemeral=9, swap=1024)  # 1024 x 39 + 1024 = 40960
    assert _legacy(["DiskFilter"], host, flavor)["filter:DiskFilter"]["verdict"] == "pass"
    flavor["swap"] = 1025
    assert _legacy(["DiskFilter"], host, flavor)["filter:DiskFilter"]["verdict"] == "fail"


def test_legacy_aggregate_ram_filter_takes_the_smallest_aggregate_ratio():
    aggs = [B.aggregate(1, "a1", ["a"], metadata={"ram_allocation_ratio": "2.0"}),
            B.aggregate(2, "a2", ["a"], metadata={"ram_allocation_ratio": "1.5"})]
    host = B.host("a", aggregates=[1, 2], ram=8192, reserved_ram=0, used_ram=8192, ram_ratio=1.0)
    # limit 8192 x 1.5 = 12288, used 8192 -> usable 4096
    checks = _legacy(["AggregateRamFilter", "RamFilter"], host, B.flavor(ram=4096), release="Stein",
                     aggregates=aggs)
    assert checks["filter:AggregateRamFilter"]["verdict"] == "pass"
    assert checks["filter:RamFilter"]["verdict"] == "fail"  # the host's own ratio 1.0
    checks = _legacy(["AggregateRamFilter"], host, B.flavor(ram=4097), release="Stein", aggregates=aggs)
    assert checks["filter:AggregateRamFilter"]["verdict"] == "fail"


def test_legacy_retry_filter_and_removal_notes_by_release():
    host = B.host("a")
    checks = _legacy(["RetryFilter"], host, B.flavor(), release="Ussuri", hints={"retry_hosts": ["a"]})
    assert checks["filter:RetryFilter"]["verdict"] == "fail"
    checks = _legacy(["RetryFilter", "AggregateCoreFilter"], host, B.flavor(), release="Victoria")
    assert checks["filter:RetryFilter"]["verdict"] == "not_evaluated"
    assert "conductor's alternate hosts" in checks["filter:RetryFilter"]["reason"]
    assert checks["filter:AggregateCoreFilter"]["verdict"] == "not_evaluated"
    checks = _legacy(["AvailabilityZoneFilter"], host, B.flavor(), release="2023.2")
    assert "map_az_to_placement_aggregate" in checks["filter:AvailabilityZoneFilter"]["reason"]
