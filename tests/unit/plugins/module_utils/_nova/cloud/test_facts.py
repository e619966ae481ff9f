"""facts.py: joining Nova and placement answers into snapshot hosts, at the awkward edges."""

import copy

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as c
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as f
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as snap

U1 = "11111111-1111-1111-1111-111111111111"
U2 = "22222222-2222-2222-2222-222222222222"
U3 = "33333333-3333-3333-3333-333333333333"
U4 = "44444444-4444-4444-4444-444444444444"
S1, S2, S3 = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002", \
    "aaaaaaaa-0000-0000-0000-000000000003"

SERVICES = [
    {"id": S1, "binary": "nova-compute", "host": "c1", "zone": "az1", "status": "enabled", "state": "up",
     "disabled_reason": None, "forced_down": False, "updated_at": "2026-11-21T14:00:00.000000"},
    {"id": S2, "binary": "nova-compute", "host": "ironic", "zone": "nova", "status": "enabled", "state": "up",
     "disabled_reason": None, "forced_down": False, "updated_at": "2026-11-21T14:00:00.000000"},
    {"id": S3, "binary": "nova-compute", "host": "c3", "zone": "az2", "status": "disabled", "state": "down",
     "disabled_reason": "maintenance", "forced_down": True, "updated_at": "2026-11-21T13:00:00.000000"},
    {"id": "x", "binary": "nova-compute", "host": "new", "zone": "nova", "status": "enabled", "state": "up"},
]


def hyp(uuid, node, host, service_id, ip="192.0.2.1", **kw):
    h = {"id": uuid, "hypervisor_hostname": node, "state": "up", "status": "enabled", "host_ip": ip,
         "hypervisor_type": "fake", "hypervisor_version": 1000, "service": {"host": host, "id": service_id}}
    h.update(kw)
    return h


HYPERVISORS = [
    hyp(U1, "c1", "c1", S1),
    hyp(U2, "node-b", "ironic", S2),
    hyp(U3, "node-a", "ironic", S2),
    hyp(U4, "c3", "c3", S3, state="down"),
    hyp("99", "orphan", "gone", "no-such-service"),
]
AGGREGATES = [
    {"id": 1, "uuid": "agg-1", "name": "az1", "availability_zone": "az1", "hosts": ["c1"],
     "metadata": {"availability_zone": "az1"}},
    {"id": 2, "uuid": "agg-2", "name": "fast", "availability_zone": None, "hosts": ["c1", "c3"],
     "metadata": {"ssd": "true"}},
    {"id": 3, "uuid": "agg-3", "name": "az2", "availability_zone": "az2", "hosts": ["c3"],
     "metadata": {"availability_zone": "az2"}},
    {"id": 4, "uuid": "agg-4", "name": "empty-zone", "availability_zone": "az9", "hosts": [],
     "metadata": {"availability_zone": "az9"}},
]


def build():
    warnings = []
    hosts = f.build_hosts(copy.deepcopy(HYPERVISORS), SERVICES, AGGREGATES, warnings=warnings)
    return hosts, warnings


def test_one_entry_per_node_sorted_and_joined_with_its_service():
    hosts, warnings = build()
    assert [(h["name"], h["nodename"]) for h in hosts] == [
        ("c1", "c1"), ("c3", "c3"), ("gone", "orphan"), ("ironic", "node-a"), ("ironic", "node-b")]
    c1 = hosts[0]
    assert c1["service"]["status"] == "enabled" and c1["service"]["id"] == S1
    assert c1["provider_uuid"] == U1 and c1["availability_zone"] == "az1" and c1["aggregates"] == [1, 2]
    c3 = hosts[1]
    assert c3["service"]["disabled_reason"] == "maintenance" and c3["service"]["forced_down"] is True
    assert c3["hypervisor_state"] == "down" and c3["availability_zone"] == "az2"
    ironic = [h for h in hosts if h["name"] == "ironic"]
    assert all(h["service"]["id"] == S2 for h in ironic)  # one service, two nodes


def test_hypervisor_without_service_and_service_without_node_are_warned():
    hosts, warnings = build()
    orphan = [h for h in hosts if h["nodename"] == "orphan"][0]
    assert orphan["service"] is None and orphan["provider_uuid"] is None  # "99" is not a UUID
    assert orphan["availability_zone"] == "nova"
    assert any("orphan" in w and "no nova-compute service" in w for w in warnings)
    assert any("new" in w and "no hypervisor" in w for w in warnings)


def test_select_hosts_filters_and_empty_matches():
    hosts, _unused = build()

    def names(sel):
        return sorted({h["nodename"] for h in sel})

    assert names(f.select_hosts(hosts, AGGREGATES, host="node-*")) == ["node-a", "node-b"]
    assert names(f.select_hosts(hosts, AGGREGATES, host=["ironic"])) == ["node-a", "node-b"]
    assert names(f.select_hosts(hosts, AGGREGATES, availability_zone="az1")) == ["c1"]
    # aggregate named like an AZ: selects the aggregate's hosts, by name or id
    assert names(f.select_hosts(hosts, AGGREGATES, aggregate="az2")) == ["c3"]
    assert names(f.select_hosts(hosts, AGGREGATES, aggregate=["2"])) == ["c1", "c3"]
    assert names(f.select_hosts(hosts, AGGREGATES, service_status="disabled")) == ["c3"]
    assert names(f.select_hosts(hosts, AGGREGATES, service_state="up", availability_zone=["nova"])) == \
        ["node-a", "node-b"]
    assert f.select_hosts(hosts, AGGREGATES, host="nothing-*") == []
    assert f.select_hosts(hosts, AGGREGATES, aggregate="no-such-aggregate") == []


def test_match_providers_by_uuid_or_by_name_for_old_microversions():
    hosts, _unused = build()
    providers = [{"uuid": U1, "name": "c1"}, {"uuid": U2, "name": "node-b"}, {"uuid": "p-orphan", "name": "orphan"}]
    mapping = f.match_providers(hosts, providers)
    assert set(mapping) == {U1, U2, "p-orphan"}
    assert mapping["p-orphan"]["nodename"] == "orphan"
    # U3 and U4 have no provider: their provider_uuid is cleared (not found in placement)
    assert [h["provider_uuid"] for h in hosts if h["nodename"] in ("node-a", "c3")] == [None, None]


def test_attach_placement_with_and_without_inventory_and_partial_failures():
    hosts, _unused = build()
    h = hosts[0]
    f.attach_placement(h, {"inventories": {"VCPU": {"total": 4, "reserved": 0, "allocation_ratio": 16.0,
                                                    "min_unit": 1, "max_unit": 4, "step_size": 1},
                                           "MEMORY_MB": {"total": 8192, "reserved": 512, "allocation_ratio": 1.5,
                                                         "min_unit": 1, "max_unit": 8192, "step_size": 1}},
                           "usages": {"VCPU": 3, "MEMORY_MB": 1024}, "traits": ["B", "A"], "aggregates": ["agg-1"]})
    assert h["resources"]["VCPU"]["capacity"] == 64 and h["resources"]["VCPU"]["free"] == 61
    assert h["resources"]["MEMORY_MB"]["capacity"] == 11520 and h["resources"]["MEMORY_MB"]["used"] == 1024
    assert h["traits"] == ["A", "B"] and h["provider_aggregates"] == ["agg-1"]
    g = hosts[1]
    f.attach_placement(g, {"inventories": {}, "usages": {}, "traits": [], "aggregates": []})
    assert g["resources"] == {} and g["traits"] == []
    k = hosts[3]
    f.attach_placement(k, {"inventories": {"VCPU": {"total": 2}}, "usages": None, "traits": None,
                           "aggregates": None})
    assert k["resources"]["VCPU"]["used"] is None and k["traits"] is None


def test_attach_servers_counts_per_node_and_io_ops():
    hosts, _unused = build()
    servers = [
        {"id": "s1", "OS-EXT-SRV-ATTR:host": "ironic", "OS-EXT-SRV-ATTR:hypervisor_hostname": "node-a",
         "OS-EXT-STS:vm_state": "active", "OS-EXT-STS:task_state": None},
        {"id": "s2", "OS-EXT-SRV-ATTR:host": "ironic", "OS-EXT-SRV-ATTR:hypervisor_hostname": "node-a",
         "OS-EXT-STS:vm_state": "active", "OS-EXT-STS:task_state": "image_snapshot"},
        {"id": "s3", "OS-EXT-SRV-ATTR:host": "c1", "OS-EXT-SRV-ATTR:hypervisor_hostname": "c1",
         "OS-EXT-STS:vm_state": "building", "OS-EXT-STS:task_state": "spawning"},
        {"id": "s4", "OS-EXT-SRV-ATTR:host": None, "OS-EXT-STS:vm_state": "error"},
    ]
    f.attach_servers(hosts, servers)
    by = {h["nodename"]: h for h in hosts}
    assert by["node-a"]["num_instances"] == 2 and by["node-a"]["instances"] == ["s1", "s2"]
    assert by["node-a"]["num_io_ops"] == 1 and by["c1"]["num_io_ops"] == 1
    assert by["node-b"]["num_instances"] == 0 and by["node-b"]["instances"] == []


def test_availability_zones_include_empty_aggregate_zones():
    hosts, _unused = build()
    zones = {z["name"]: z for z in f.availability_zones(hosts, [f.aggregate_entry(a) for a in AGGREGATES])}
    assert zones["az1"] == {"name": "az1", "hosts": ["c1"], "available": True}
    assert zones["az2"]["available"] is False  # only a disabled, down compute
    assert zones["az9"] == {"name": "az9", "hosts": [], "available": False}
    assert zones["nova"]["hosts"] == ["gone", "ironic"]


def test_new_snapshot_validates_and_round_trips():
    hosts, warnings = build()
    doc = f.new_snapshot(hosts, [f.aggregate_entry(a) for a in AGGREGATES], warnings=warnings,
                         server_groups=[f.server_group_entry({"id": "g", "name": "web", "policies": ["affinity"],
                                                              "members": ["s1"]})])
    loaded = snap.loads(snap.dumps(doc))
    assert loaded["snapshot_version"] == 1 and len(loaded["hosts"]) == 5
    assert loaded["server_groups"][0]["policy"] == "affinity"
    assert loaded["hosts"] == doc["hosts"]


def _res(total, used, ratio=1.0, reserved=0, **kw):
    inv = {"total": total, "reserved": reserved, "allocation_ratio": ratio}
    inv.update(kw)
    return c.resource_view(inv, used)


def test_headroom_counts_only_schedulable_hosts():
    hosts, _unused = build()
    resources = {"VCPU": _res(4, 0, ratio=2.0), "MEMORY_MB": _res(4096, 0, reserved=512), "DISK_GB": _res(20, 0)}
    for h in hosts:
        h["resources"] = copy.deepcopy(resources)
        h["traits"] = []
    by = {h["nodename"]: h for h in hosts}
    by["node-b"]["traits"] = ["COMPUTE_STATUS_DISABLED"]
    request = c.flavor_request({"vcpus": 1, "ram": 1024, "disk": 5})
    room = f.headroom(hosts, request)
    per = {h["nodename"]: h for h in room["hosts"]}
    assert per["c1"]["count"] == 3 and per["c1"]["limited_by"] == "MEMORY_MB" and per["c1"]["fits"] == 3
    assert per["c3"]["count"] == 3 and per["c3"]["fits"] == 0 and not per["c3"]["schedulable"]
    # the engine's reasons (Nova's ComputeFilter says "disabled" before it looks at "down")
    assert "compute service disabled (maintenance)" in per["c3"]["reasons"]
    assert per["node-b"]["fits"] == 0 and "COMPUTE_STATUS_DISABLED" in per["node-b"]["reasons"][0]
    # no nova-compute service in the snapshot: unknown, never counted
    assert per["orphan"]["fits"] == 0 and per["orphan"]["schedulable"] is None
    assert any("nova-compute service not found" in u for u in per["orphan"]["unknown_checks"])
    assert room["total"] == 6  # c1 + node-a
    required = c.flavor_request({"vcpus": 1, "ram": 1, "disk": 0, "extra_specs": {"trait:CUSTOM_X": "required"}})
    assert f.headroom(hosts, required)["total"] == 0


def test_headroom_with_unknown_resources_is_not_counted():
    hosts, _unused = build()
    room = f.headroom(hosts, c.flavor_request({"vcpus": 1, "ram": 1, "disk": 1}))
    assert room["total"] == 0 and len(room["unknown"]) == 5
    assert all(h["count"] is None for h in room["hosts"])


def test_two_thousand_hosts_join_quickly():
    import time
    hyps = [hyp("%08d-0000-0000-0000-000000000000" % i, "n%04d" % i, "h%03d" % (i // 10), "s%03d" % (i // 10))
            for i in range(2000)]
    services = [{"id": "s%03d" % j, "host": "h%03d" % j, "zone": "az%d" % (j % 3), "status": "enabled",
                 "state": "up"} for j in range(200)]
    aggs = [{"id": k, "name": "agg%d" % k, "hosts": ["h%03d" % j for j in range(k, 200, 7)], "metadata": {}}
            for k in range(7)]
    start = time.monotonic()
    hosts = f.build_hosts(hyps, services, aggs)
    selected = f.select_hosts(hosts, [f.aggregate_entry(a) for a in aggs], availability_zone="az1", aggregate="agg3")
    assert len(hosts) == 2000 and selected
    assert all(h["availability_zone"] == "az1" and 3 in h["aggregates"] for h in selected)
    assert time.monotonic() - start < 2.0


def test_headroom_pinned_flavor_uses_pcpu_then_the_vcpu_fallback():
    hosts, _unused = build()
    c1 = hosts[0]
    c1["traits"] = []
    c1["resources"] = {"PCPU": _res(2, 0), "VCPU": _res(4, 0, ratio=1.0), "MEMORY_MB": _res(10240, 0),
                       "DISK_GB": _res(100, 0)}
    request = c.flavor_request({"vcpus": 2, "ram": 1024, "disk": 1, "extra_specs": {"hw:cpu_policy": "dedicated"}})
    # PCPU: 1 instance; then VCPU fallback: 2 more (memory 10 allows more)
    room = f.headroom([c1], request)
    assert room["hosts"][0]["count"] == 3 and room["total"] == 3
    strict = f.headroom([c1], request, pcpu_fallback=False)
    assert strict["hosts"][0]["count"] == 1 and strict["hosts"][0]["limited_by"] == "PCPU"
    # memory shared by both: 3 GB -> at most 3 in total whatever the CPU kind
    c1["resources"]["MEMORY_MB"] = _res(3072, 0)
    c1["resources"]["PCPU"] = _res(8, 0)
    assert f.headroom([c1], request)["hosts"][0]["count"] == 3
    # a host without PCPU inventory still takes pinned instances through the fallback
    del c1["resources"]["PCPU"]
    assert f.headroom([c1], request)["hosts"][0]["count"] == 2
    assert f.headroom([c1], request, pcpu_fallback=False)["hosts"][0]["count"] == 0


def test_headroom_thread_isolate_forbidden_trait_only_blocks_the_pcpu_request():
    hosts, _unused = build()
    c1 = hosts[0]
    c1["traits"] = ["HW_CPU_HYPERTHREADING"]
    c1["resources"] = {"PCPU": _res(8, 0), "VCPU": _res(2, 0), "MEMORY_MB": _res(10240, 0), "DISK_GB": _res(100, 0)}
    request = c.flavor_request({"vcpus": 2, "ram": 1024, "disk": 1, "extra_specs": {
        "hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"}})
    room = f.headroom([c1], request)
    assert room["hosts"][0]["count"] == 1 and room["hosts"][0]["schedulable"]  # VCPU 2 -> one instance
    assert f.headroom([c1], request, pcpu_fallback=False)["total"] == 0


def test_num_io_ops_is_novas_own_count_when_the_api_gives_it():
    """current_workload (microversion <= 2.87) is the io_workload IoOpsFilter reads: it wins over
    the count derived from server states (a build that just finished still counts in Nova)."""
    from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as facts_mod
    hosts = [{"name": "c1", "nodename": "c1", "num_io_ops": 1}, {"name": "c2", "nodename": "c2", "num_io_ops": None}]
    servers = [
        {"id": "a", "OS-EXT-SRV-ATTR:host": "c1", "OS-EXT-SRV-ATTR:hypervisor_hostname": "c1",
         "OS-EXT-STS:vm_state": "active", "OS-EXT-STS:task_state": None},
        {"id": "b", "OS-EXT-SRV-ATTR:host": "c2", "OS-EXT-SRV-ATTR:hypervisor_hostname": "c2",
         "OS-EXT-STS:vm_state": "building", "OS-EXT-STS:task_state": "spawning"},
    ]
    facts_mod.attach_servers(hosts, servers)
    assert hosts[0]["num_io_ops"] == 1 and hosts[0]["num_instances"] == 1  # Nova's count kept
    assert hosts[1]["num_io_ops"] == 1  # no count from Nova: derived from the building server
