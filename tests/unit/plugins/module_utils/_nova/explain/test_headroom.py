"""One headroom (issue 9): scheduling_explain's and hypervisor_info's headroom are the same numbers.

Edge cases on hand-built snapshots; tests/e2e/test_headroom_e2e.py (stage 43) compares both with
what Nova places on a minicloud.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity, facts  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402


def both(snap, flavor, scheduler=None, hints=None):
    """(scheduling_explain per host, hypervisor_info per host) for one flavor."""
    out = engine.explain(snap, {"flavor": flavor, "scheduler_hints": hints or {}}, scheduler=scheduler, relax=False)
    head = out["headroom"]
    explain_per_host = dict(head["per_host"])
    explain_per_host.update({k: v for k, v in (head.get("maybe_per_host") or {}).items() if v})
    room = facts.headroom(snap["hosts"], capacity.flavor_request(flavor), flavor=flavor, snapshot=snap,
                          scheduler=scheduler, scheduler_hints=hints)
    facts_per_host = {r["name"]: (r["fits"] if r["schedulable"] is not None else r["count"])
                      for r in room["hosts"]}
    return explain_per_host, {k: v for k, v in facts_per_host.items() if v}, room


def test_pinned_flavor_counts_pcpu_then_the_vcpu_fallback_in_both():
    snap = B.snapshot([B.host("p", vcpu=2, cpu_ratio=1.0, pcpu=4), B.host("v", vcpu=4, cpu_ratio=1.0),
                       B.host("m", vcpu=4, cpu_ratio=1.0, pcpu=8, ram=3584)])
    pinned = B.flavor("pinned", vcpus=2, ram=1024, disk=5, **{"hw:cpu_policy": "dedicated"})
    explained, hypervisor_info, room = both(snap, pinned)
    # p: 2 on PCPU + 1 on VCPU; v: VCPU only; m: memory (3584-512)/1024 = 3 whatever the CPU kind
    assert explained == hypervisor_info == {"p": 3, "v": 2, "m": 3}
    by = {r["name"]: r for r in room["hosts"]}
    assert by["v"]["limited_by"] == "VCPU" and by["m"]["limited_by"] == "MEMORY_MB"
    strict = dict(snap, scheduler={"disable_fallback_pcpu_query": True})
    explained, hypervisor_info, _room = both(strict, pinned, scheduler={"disable_fallback_pcpu_query": True})
    assert explained == {"p": 2, "m": 3}


def test_num_instances_and_anti_affinity_bound_both():
    group = {"id": "g1", "name": "anti", "policy": "anti-affinity", "rules": {"max_server_per_host": 2},
             "members": ["i1"]}
    snap = B.snapshot([B.host("a", instances=["i1"]), B.host("b"), B.host("c", instances=["x1", "x2", "x3"])],
                      server_groups=[group])
    scheduler = {"enabled_filters": ["ComputeFilter", "ServerGroupAntiAffinityFilter", "NumInstancesFilter"],
                 "max_instances_per_host": 4}
    tiny = B.flavor("tiny", vcpus=1, ram=256, disk=1)
    explained, hypervisor_info, room = both(snap, tiny, scheduler)
    assert explained == hypervisor_info == {"a": 3, "b": 4, "c": 1}
    assert {r["name"]: r["limited_by"] for r in room["hosts"]}["b"] == "NumInstancesFilter"
    explained, hypervisor_info, _room = both(snap, tiny, scheduler, hints={"group": "g1"})
    assert explained == hypervisor_info == {"a": 1, "b": 2, "c": 1}


def test_max_unit_and_step_size_keep_a_flavor_off_a_host():
    snap = B.snapshot([B.host("u1"), B.host("u2"), B.host("u3")])
    snap["hosts"][0]["resources"]["VCPU"]["max_unit"] = 2
    snap["hosts"][1]["resources"]["MEMORY_MB"]["step_size"] = 1024
    flavor = B.flavor("units", vcpus=4, ram=1536, disk=5)
    explained, hypervisor_info, _room = both(snap, flavor)
    assert explained == hypervisor_info and set(explained) == {"u3"}


def test_a_snapshot_the_engine_accepts_never_raises_in_hypervisor_info_headroom():
    """Resources given as bare inventories (no capacity/used/free): the engine completes them,
    and so does hypervisor_info's headroom (it raised KeyError: 'capacity')."""
    snap = B.snapshot([B.host("a")])
    snap["hosts"][0]["resources"] = {"VCPU": {"total": 8, "used": 0},
                                     "MEMORY_MB": {"total": 4096, "reserved": 512, "used": 0},
                                     "DISK_GB": {"total": 100, "used": 0}}
    explained, hypervisor_info, _room = both(snap, B.flavor("f", vcpus=1, ram=1024, disk=1))
    assert explained == hypervisor_info == {"a": 3}


def test_unknown_usage_is_unknown_in_both_never_zero_used():
    """Placement's usages unreadable (used None): the host's headroom is unknown in both modules
    (the engine took None as 0 and counted 25 more there)."""
    snap = B.snapshot([B.host("a"), B.host("b")])
    for view in snap["hosts"][0]["resources"].values():
        view["used"] = view["free"] = None
    out = engine.explain(snap, {"flavor": B.flavor()}, relax=False)
    assert out["headroom"]["per_host"] == {"b": 25} and out["headroom"]["maybe_per_host"] == {"a": None}
    assert out["headroom"]["total_if_unknowns_pass"] is None
    room = facts.headroom(snap["hosts"], capacity.flavor_request(B.flavor()))
    assert room["total"] == 25 and room["unknown"] == ["a"] and room["total_if_unknowns_pass"] is None
