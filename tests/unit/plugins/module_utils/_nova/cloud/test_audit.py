"""Edge cases of the placement audit's pure logic that a minicloud cannot easily produce.

The kinds themselves are proven on a real cloud (tests/integration/test_placement_audit.py);
these cases cover shapes of real clouds: deleted services, shelved-offloaded servers, sharing
and nested providers, pinned flavors, unreadable parts, bad compute_config.
"""

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit as A

CN1, CN2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
SRV = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
FLAVOR = {"vcpus": 2, "ram": 1024, "disk": 10, "ephemeral": 0, "swap": 0, "original_name": "m1", "extra_specs": {}}
INV = {"VCPU": {"total": 8, "reserved": 0, "allocation_ratio": 4.0},
       "MEMORY_MB": {"total": 8192, "reserved": 512, "allocation_ratio": 1.0},
       "DISK_GB": {"total": 100, "reserved": 0, "allocation_ratio": 1.0}}


def hyp(uuid, name):
    return A.hypervisor_entry({"id": uuid, "hypervisor_hostname": name, "service": {"host": name},
                               "vcpus": 8, "memory_mb": 8192, "local_gb": 100, "hypervisor_type": "QEMU"})


def prov(uuid, name, allocations=None, traits=None, inventories=None, parent=None, root=None):
    return A.provider_entry({"uuid": uuid, "name": name, "generation": 1, "parent_provider_uuid": parent,
                             "root_provider_uuid": root or uuid},
                            inventories=INV if inventories is None else inventories, traits=traits or [],
                            aggregates=[], allocations=allocations or {})


def server(status="ACTIVE", host="cmp1", flavor=None, image="img", task_state=None):
    return A.server_entry({"id": SRV, "name": "vm", "tenant_id": "p", "user_id": "u", "status": status,
                           "OS-EXT-STS:task_state": task_state, "OS-EXT-SRV-ATTR:host": host,
                           "OS-EXT-SRV-ATTR:hypervisor_hostname": host, "flavor": flavor or FLAVOR, "image": image})


def svc(host, status="enabled", state="up"):
    return A.service_entry({"id": host, "host": host, "status": status, "state": state})


def run(servers=(), providers=None, hypervisors=None, services=None, migrations=(), **kw):
    hypervisors = [hyp(CN1, "cmp1"), hyp(CN2, "cmp2")] if hypervisors is None else hypervisors
    providers = [prov(CN1, "cmp1"), prov(CN2, "cmp2")] if providers is None else providers
    services = [svc("cmp1"), svc("cmp2")] if services is None else services
    return A.audit(hypervisors, services, [], list(servers), list(migrations), providers,
                   compute_config=kw.get("compute_config", {"*": {}}), settled_consumers=kw.get("settled"))


def kinds(result):
    return [f["kind"] for f in result["findings"]]


def held(amounts):
    return {SRV: {"resources": amounts}}


def test_consistent_server_is_no_finding():
    result = run([server()], [prov(CN1, "cmp1", held({"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10})), prov(CN2, "cmp2")])
    assert result["findings"] == [] and result["summary"]["total"] == 0


def test_volume_backed_server_has_no_root_disk():
    result = run([server(image="")], [prov(CN1, "cmp1", held({"VCPU": 2, "MEMORY_MB": 1024})), prov(CN2, "cmp2")])
    assert result["findings"] == []


def test_pinned_flavor_accepts_pcpu_or_the_vcpu_fallback():
    pinned = dict(FLAVOR, extra_specs={"hw:cpu_policy": "dedicated"})
    for amounts in ({"PCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10}, {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10}):
        assert run([server(flavor=pinned)], [prov(CN1, "cmp1", held(amounts)), prov(CN2, "cmp2")])["findings"] == []


def test_disk_on_a_sharing_provider_is_not_a_wrong_provider():
    share = prov("33333333-3333-3333-3333-333333333333", "nfs", {SRV: {"resources": {"DISK_GB": 10}}},
                 traits=["MISC_SHARES_VIA_AGGREGATE"], inventories={"DISK_GB": {"total": 1000}})
    result = run([server()], [prov(CN1, "cmp1", held({"VCPU": 2, "MEMORY_MB": 1024})), prov(CN2, "cmp2"), share])
    assert result["findings"] == []


def test_nested_child_of_the_host_is_the_host():
    child = prov("44444444-4444-4444-4444-444444444444", "cmp1_pgpu", {SRV: {"resources": {"VGPU": 1}}},
                 inventories={"VGPU": {"total": 4}}, parent=CN1, root=CN1)
    result = run([server()], [prov(CN1, "cmp1", held({"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10})),
                              prov(CN2, "cmp2"), child])
    assert result["findings"] == []


def test_shelved_offloaded_server_holding_allocations():
    result = run([server(status="SHELVED_OFFLOADED", host=None)],
                 [prov(CN1, "cmp1", held({"VCPU": 2, "MEMORY_MB": 1024})), prov(CN2, "cmp2")])
    assert kinds(result) == ["instance_allocation_wrong_provider"]
    assert result["findings"][0]["fix"]["repair"]["action"] == "delete_allocations"


def test_busy_or_in_flight_servers_are_left_out():
    assert run([server(task_state="spawning")])["findings"] == []
    assert run([server()], settled={SRV})["findings"] == []
    migration = A.migration_entry({"uuid": "m", "status": "migrating", "instance_uuid": SRV})
    assert run([server()], migrations=[migration])["findings"] == []


def test_migration_in_progress_is_not_an_orphan_but_an_ended_one_is():
    alloc = {"m1": {"resources": {"VCPU": 2}}}
    live = A.migration_entry({"uuid": "m1", "status": "running", "instance_uuid": "gone"})
    assert run(providers=[prov(CN1, "cmp1", alloc), prov(CN2, "cmp2")], migrations=[live])["findings"] == []
    done = A.migration_entry({"uuid": "m1", "status": "confirmed", "instance_uuid": "gone"})
    result = run(providers=[prov(CN1, "cmp1", alloc), prov(CN2, "cmp2")], migrations=[done])
    assert kinds(result) == ["ended_migration_allocation"]


def test_non_nova_consumers_are_ignored_like_nova_manage_does():
    alloc = {"reservation": {"resources": {"CUSTOM_RESERVATION_X": 1}}}
    assert run(providers=[prov(CN1, "cmp1", alloc), prov(CN2, "cmp2")])["findings"] == []


def test_deleted_service_with_instances():
    result = run([server(host="cmp1")], [prov(CN1, "cmp1", held({"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10})),
                                         prov(CN2, "cmp2")], services=[svc("cmp2")])
    assert kinds(result) == ["deleted_service_with_instances"]
    assert result["findings"][0]["capacity_effect"][0]["wrongly_held"] == {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10}


def test_unreadable_allocations_are_unknown_not_clean():
    broken = prov(CN2, "cmp2")
    broken["allocations"] = None
    result = run(providers=[prov(CN1, "cmp1"), broken])
    assert [u["check"] for u in result["unknown"]] == ["allocations"]


def test_without_compute_config_ratios_are_unknown():
    result = A.audit([hyp(CN1, "cmp1")], [svc("cmp1")], [], [], [], [prov(CN1, "cmp1")])
    assert result["findings"] == []
    assert result["unknown"][0]["check"] == "inventory_allocation_ratio_and_reserved"
    assert "initial_" in result["unknown"][0]["decide_by"]


def test_unset_ratio_means_placement_is_the_truth_but_a_set_one_must_match():
    result = A.audit([hyp(CN1, "cmp1")], [svc("cmp1")], [], [], [], [prov(CN1, "cmp1")],
                     compute_config={"cmp1": {"cpu_allocation_ratio": None, "reserved_host_memory_mb": 512}})
    assert result["findings"] == [] and result["unknown"] == []
    result = A.audit([hyp(CN1, "cmp1")], [svc("cmp1")], [], [], [], [prov(CN1, "cmp1")],
                     compute_config={"cmp1": {"cpu_allocation_ratio": 16.0, "reserved_host_disk_mb": 2048}})
    found = {(f["resource_class"], f["field"]): f for f in result["findings"]}
    assert sorted(found) == [("DISK_GB", "reserved"), ("VCPU", "allocation_ratio")]
    assert found[("VCPU", "allocation_ratio")]["capacity_effect"][0]["wrongly_held"] == {"VCPU": 96}
    assert found[("DISK_GB", "reserved")]["nova_value"] == 2  # ceil(2048 MB / 1024)


@pytest.mark.parametrize("value, message", [
    ("x", "compute_config must be a mapping"),
    ({"h": 1}, "compute_config.h must be a mapping"),
    ({"h": {"ratio": 1}}, "compute_config.h has unknown key(s) ratio"),
    ({"h": {"cpu_allocation_ratio": "lots"}}, "compute_config.h.cpu_allocation_ratio must be a number"),
    ({"h": {"reserved_host_cpus": -1}}, "compute_config.h.reserved_host_cpus must be a number >= 0"),
])
def test_bad_compute_config_names_the_parameter(value, message):
    with pytest.raises(A.AuditError, match=message.replace("(", r"\(").replace(")", r"\)")):
        A.validate_compute_config(value)


def test_repairs_are_deduplicated_and_filtered_by_kind():
    result = run(providers=[prov(CN1, "cmp1", {"x": {"resources": {"VCPU": 1}}}), prov(CN2, "cmp2")])
    assert [r["action"] for r in A.repairs(result["findings"] * 2)] == ["delete_allocations"]
    assert A.repairs(result["findings"], kinds=["disabled_trait_mismatch"]) == []


def test_multi_node_host_aggregates_are_unknown_not_missing():
    """Nova mirrors one node of a multi-node host into placement aggregates (add_host_to_aggregate)."""
    nodes = [A.hypervisor_entry({"id": "n%d" % i, "hypervisor_hostname": "rack-n%d" % i, "service": {"host": "rack"},
                                 "vcpus": 8, "memory_mb": 8192, "local_gb": 100}) for i in (1, 2)]
    provs = [prov("n1", "rack-n1"), prov("n2", "rack-n2")]
    provs[0]["aggregates"] = ["agg"]
    agg = A.aggregate_entry({"id": 1, "uuid": "agg", "name": "big", "hosts": ["rack"]})
    result = A.audit(nodes, [svc("rack")], [agg], [], [], provs, compute_config={"*": {}})
    assert result["findings"] == []
    assert [u["check"] for u in result["unknown"]] == ["aggregate_membership_of_multi_node_hosts"]
    assert result["unknown"][0]["objects"] == [{"host": "rack", "nodes": 2}]
    single = A.audit(nodes[:1], [svc("rack")], [agg], [], [], [prov("n1", "rack-n1")], compute_config={"*": {}})
    assert [f["kind"] for f in single["findings"]] == ["aggregate_missing_in_placement"]


class FakePlacement:
    """Just enough of a keystoneauth adapter for the repair handlers: GET answers, writes recorded."""

    def __init__(self, answers):
        self.answers = answers
        self.writes = []

    def get(self, url, **kwargs):
        return _Response(self.answers[url])

    def put(self, url, **kwargs):
        self.writes.append(("PUT", url, kwargs.get("json")))
        return _Response({})

    def delete(self, url, **kwargs):
        self.writes.append(("DELETE", url, None))
        return _Response({})


class _Response:
    def __init__(self, body):
        self.body = body
        self.content = b"x"

    def json(self):
        return self.body


def _apply(monkeypatch, adapter, action, check_mode=False):
    from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit_cloud
    monkeypatch.setattr(audit_cloud, "_placement", lambda conn: (adapter, "1.36"))
    return audit_cloud.apply_repairs(None, [action], check_mode=check_mode)[0]


def test_repair_refuses_an_allocation_that_changed_since_the_audit(monkeypatch):
    adapter = FakePlacement({"/allocations/c": {"allocations": {CN1: {"resources": {"VCPU": 2}}},
                                                "consumer_generation": 3}})
    action = {"action": "delete_allocations", "consumer": "c", "providers": {CN1: {"VCPU": 1}}, "kind": "orphaned_allocation"}
    result = _apply(monkeypatch, adapter, action)
    assert result["changed"] is False and "changed since the audit" in result["skipped"]
    assert adapter.writes == []


def test_repair_check_mode_writes_nothing_and_partial_delete_keeps_the_rest(monkeypatch):
    body = {"allocations": {CN1: {"resources": {"VCPU": 1}}, CN2: {"resources": {"VCPU": 1}}},
            "consumer_generation": 3, "project_id": "p", "user_id": "u"}
    action = {"action": "delete_allocations", "consumer": "c", "providers": {CN1: {"VCPU": 1}}, "kind": "x"}
    adapter = FakePlacement({"/allocations/c": body})
    result = _apply(monkeypatch, adapter, action, check_mode=True)
    assert result["changed"] is True and adapter.writes == []
    assert result["after"]["allocations"] == {CN2: {"VCPU": 1}}
    result = _apply(monkeypatch, adapter, action)
    assert adapter.writes == [("PUT", "/allocations/c", {"allocations": {CN2: {"resources": {"VCPU": 1}}},
                                                         "consumer_generation": 3, "project_id": "p", "user_id": "u"})]


def test_repair_of_traits_is_idempotent_and_keeps_other_traits(monkeypatch):
    url = "/resource_providers/%s/traits" % CN1
    action = {"action": "set_traits", "provider": CN1, "name": "cmp1", "add": ["COMPUTE_STATUS_DISABLED"],
              "remove": [], "kind": "disabled_trait_mismatch"}
    adapter = FakePlacement({url: {"traits": ["CUSTOM_X"], "resource_provider_generation": 7}})
    result = _apply(monkeypatch, adapter, action)
    assert adapter.writes == [("PUT", url, {"traits": ["COMPUTE_STATUS_DISABLED", "CUSTOM_X"],
                                            "resource_provider_generation": 7})]
    adapter = FakePlacement({url: {"traits": ["COMPUTE_STATUS_DISABLED", "CUSTOM_X"], "resource_provider_generation": 8}})
    result = _apply(monkeypatch, adapter, action)
    assert result["changed"] is False and adapter.writes == []


# ------------------------------------------------------------------ from a cloud snapshot (gather.py's warnings)

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as F  # noqa: E402

AGG = "cccccccc-cccc-cccc-cccc-cccccccccccc"
CN3, CN4 = "33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444"


def snapshot_hosts(status=None, traits=None, provider_aggregates=None, agg_hosts=("c1", "m"), no_provider=()):
    """Snapshot hosts as gather.py builds them: c1, c2 (one node each), m (two nodes: m-1, m-2)."""
    nodes = [(CN1, "c1", "c1"), (CN2, "c2", "c2"), (CN3, "m", "m-1"), (CN4, "m", "m-2")]
    status = status or {}
    hypervisors = [{"id": u, "hypervisor_hostname": node, "hypervisor_type": "QEMU",
                    "service": {"host": host, "id": "s-" + host}} for u, host, node in nodes]
    services = [{"id": "s-" + h, "host": h, "binary": "nova-compute", "status": status.get(h, "enabled"),
                 "state": "up"} for h in ("c1", "c2", "m")]
    aggregates = [{"id": 1, "uuid": AGG, "name": "fast", "hosts": list(agg_hosts)}]
    hosts = F.build_hosts(hypervisors, services, aggregates)
    for entry in hosts:
        if entry["nodename"] in no_provider:
            entry["provider_uuid"] = None
            continue
        default_traits = ["COMPUTE_STATUS_DISABLED"] if status.get(entry["name"]) == "disabled" else []
        default_aggs = [AGG] if entry["nodename"] in ("c1", "m-1") and entry["name"] in agg_hosts else []
        F.attach_placement(entry, {
            "inventories": INV, "usages": {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10},
            "traits": (traits or {}).get(entry["nodename"], default_traits),
            "aggregates": (provider_aggregates or {}).get(entry["nodename"], default_aggs)})
    return hosts, [F.aggregate_entry(a) for a in aggregates]


def test_snapshot_clean_cloud_gives_nothing_multi_node_host_mirrored_once():
    hosts, aggregates = snapshot_hosts(status={"c2": "disabled"})
    assert A.snapshot_audit(hosts, aggregates) == []
    assert A.snapshot_warnings([]) == []


def test_snapshot_trait_on_enabled_service_names_host_and_hidden_capacity():
    hosts, aggregates = snapshot_hosts(traits={"c1": ["COMPUTE_STATUS_DISABLED"]})
    findings = A.snapshot_audit(hosts, aggregates)
    assert [f["kind"] for f in findings] == ["disabled_trait_mismatch"]
    # the free capacity from the snapshot's usages: VCPU 8x4-2, MEMORY_MB 8192-512-1024, DISK_GB 100-10
    assert findings[0]["capacity_effect"][0]["wrongly_held"] == {"VCPU": 30, "MEMORY_MB": 6656, "DISK_GB": 90}
    [warning] = A.snapshot_warnings(findings)
    assert warning.startswith("placement audit: service nova-compute on c1 is enabled but provider c1 has "
                              "COMPUTE_STATUS_DISABLED; effect on these numbers: placement hides its free "
                              "DISK_GB=90, MEMORY_MB=6656, VCPU=30")
    assert warning.endswith("; run stackops.nova.placement_audit for the evidence and the fix")


def test_snapshot_disabled_service_without_trait_is_wrongly_free():
    hosts, aggregates = snapshot_hosts(status={"c2": "disabled"}, traits={"c2": []})
    [finding] = A.snapshot_audit(hosts, aggregates)
    assert finding["kind"] == "disabled_trait_mismatch" and finding["provider"]["name"] == "c2"
    assert "still offers its free DISK_GB=90, MEMORY_MB=6656, VCPU=30 (wrongly free)" in A.snapshot_warnings([finding])[0]


def test_snapshot_node_without_provider():
    hosts, aggregates = snapshot_hosts(no_provider=("c2",))
    [finding] = A.snapshot_audit(hosts, aggregates)
    assert finding["kind"] == "compute_node_without_provider"
    assert "compute node c2 (%s, host c2) has no resource provider" % CN2 in A.snapshot_warnings([finding])[0]


def test_snapshot_node_shown_with_a_same_named_provider():
    # c2's compute node was re-created (new uuid); the old provider of that name is what the snapshot shows
    hosts, aggregates = snapshot_hosts()
    old = "55555555-5555-5555-5555-555555555555"
    [c2] = [h for h in hosts if h["nodename"] == "c2"]
    c2["provider_uuid"] = old  # what facts.match_providers sets when only the name matches
    [finding] = A.snapshot_audit(hosts, aggregates)
    assert finding["kind"] == "compute_node_without_provider" and finding["provider"]["uuid"] == old
    [warning] = A.snapshot_warnings([finding])
    assert ("compute node c2 (%s, host c2) has no resource provider; provider %s already holds the name" % (CN2, old)
            in warning)
    assert "the resources and traits shown for it are those of provider c2 (%s)" % old in warning
    # before compute API 2.53 the hypervisor id is an integer and the name match is the normal case
    c2["hypervisor_id"] = "7"
    assert A.snapshot_audit(hosts, aggregates) == []


def test_snapshot_aggregates_single_node_hosts_only():
    # c1's provider lost the aggregate; c2's provider has it though c2 is not in it; m-2 never has it
    hosts, aggregates = snapshot_hosts(provider_aggregates={"c1": [], "c2": [AGG], "m-1": []})
    found = sorted((f["kind"], f["provider"]["name"]) for f in A.snapshot_audit(hosts, aggregates))
    assert found == [("aggregate_missing_in_placement", "c1"), ("aggregate_stale_in_placement", "c2")]
    text = " | ".join(A.snapshot_warnings(A.snapshot_audit(hosts, aggregates)))
    assert "host c1 is in aggregate fast but provider c1 is not in placement aggregate %s" % AGG in text
    # a filtered snapshot holding one node of the two-node host m: still unknown, not a warning
    only_m1 = [h for h in hosts if h["nodename"] == "m-1"]
    assert A.snapshot_audit(only_m1, aggregates) != [] and A.snapshot_audit(only_m1, aggregates, {"m": 2}) == []


def test_snapshot_unread_fields_decide_nothing():
    hosts, aggregates = snapshot_hosts(traits={"c1": ["COMPUTE_STATUS_DISABLED"]}, provider_aggregates={"c1": []})
    for entry in hosts:
        entry["traits"] = None
        entry["provider_aggregates"] = None
    assert A.snapshot_audit(hosts, aggregates) == []
    hosts, aggregates = snapshot_hosts(traits={"c1": ["COMPUTE_STATUS_DISABLED"]})
    for view in hosts[0]["resources"].values():
        view["used"] = None  # usages unread: the trait finding stays, with no amounts guessed
    [finding] = A.snapshot_audit(hosts, aggregates)
    assert finding["capacity_effect"][0]["wrongly_held"] == {}
    assert "placement hides its free capacity from the scheduler" in A.snapshot_warnings([finding])[0]


def test_snapshot_warnings_are_bounded_per_kind():
    hosts, aggregates = snapshot_hosts(no_provider=("c1", "c2", "m-1", "m-2"))
    warnings = A.snapshot_warnings(A.snapshot_audit(hosts, aggregates), limit=2)
    assert len(warnings) == 3
    assert warnings[2].startswith("placement audit: 2 more compute_node_without_provider finding(s) (m-1, m-2)")
