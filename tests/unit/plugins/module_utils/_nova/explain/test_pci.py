"""PCI passthrough, MetricsFilter and the nova 34 request filters in the explain engine.

Nova's own verdicts are checked by tests/oracle (test_pci_oracle, test_request_filters_oracle);
these cases pin the engine's wiring: explanations with the counts, unknown where the snapshot
or the configuration lacks the data, multi-create consumption, and verified relaxations.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine, pci  # noqa: E402

ALIASES = [json.dumps({"name": "nic", "vendor_id": "8086", "product_id": "154d", "device_type": "type-VF"}),
           json.dumps({"name": "gpu", "vendor_id": "10de", "product_id": "1eb8"}),
           json.dumps({"name": "gpu2", "vendor_id": "10de", "product_id": "20b0"}),
           json.dumps({"name": "x710", "vendor_id": "8086", "product_id": "154d"})]
FILTERS = ["ComputeFilter", "NUMATopologyFilter", "PciPassthroughFilter"]


def vf_pool(count, numa=0, **tags):
    return {"vendor_id": "8086", "product_id": "154d", "numa_node": numa, "count": count, "dev_type": "type-VF",
            "tags": tags}


def gpu_pool(count, product="1eb8", numa=1):
    return {"vendor_id": "10de", "product_id": product, "numa_node": numa, "count": count, "dev_type": "type-PCI",
            "tags": {}}


def cloud(*pools_per_host, scheduler=None):
    hosts = []
    for i, pools in enumerate(pools_per_host):
        h = B.host("c%d" % i)
        if pools is not None:
            h["pci_pools"] = pools
        hosts.append(h)
    sched = {"enabled_filters": FILTERS, "pci_alias": ALIASES}
    sched.update(scheduler or {})
    return B.snapshot(hosts, scheduler=sched)


def req(alias, count=1, **specs):
    specs["pci_passthrough:alias"] = alias
    return {"flavor": B.flavor(**specs), "count": count}


def cell(out, host, check="filter:PciPassthroughFilter"):
    return next(h for h in out["hosts"] if h["host"] == host)["checks"][check]


def test_explanation_gives_the_counts_per_alias_and_pool():
    out = engine.explain(cloud([vf_pool(1, numa=1)], [vf_pool(4)]), req("nic:2"))
    assert out["fits"] is True
    bad = cell(out, "c0")
    assert bad["verdict"] == "fail" and bad["kind"] == "dynamic"
    assert "alias nic needs 2 x 8086:154d dev_type=type-VF" in bad["reason"]
    assert "1 of 1 free device(s) match" in bad["reason"]
    assert "8086:154d type-VF on numa 1 (1 free)" in bad["reason"]
    assert cell(out, "c1")["verdict"] == "pass"


def test_no_matching_pool_is_static_and_pf_vdpa_remote_managed_are_not_used():
    pools = [dict(vf_pool(3), dev_type="type-PF"), dict(vf_pool(3), dev_type="vdpa"), vf_pool(3, remote_managed="true")]
    out = engine.explain(cloud(pools), req("x710:1"), relax=False)
    c = cell(out, "c0")
    assert out["fits"] is False and c["verdict"] == "fail" and c["kind"] == "static"
    assert "9 of 9 free device(s) match" in c["reason"]
    for text in ("3 PF device(s) not usable", "3 vDPA device(s) not usable", "3 remote-managed device(s) not usable"):
        assert text in c["reason"]
    gpu = engine.explain(cloud([vf_pool(5)]), req("gpu:1"), relax=False)
    assert cell(gpu, "c0")["kind"] == "static"
    used = engine.explain(cloud([vf_pool(0)]), req("nic:1"), relax=False)
    assert cell(used, "c0")["kind"] == "dynamic"


def test_unknown_without_pools_or_aliases_and_error_when_nova_refuses():
    out = engine.explain(cloud(None), req("nic:1"))
    assert out["fits"] is None and cell(out, "c0")["verdict"] == "unknown"
    assert "PCI pools unknown" in cell(out, "c0")["reason"]
    no_alias = cloud([vf_pool(2)])
    del no_alias["scheduler"]["pci_alias"]
    out = engine.explain(no_alias, req("nic:1"))
    assert cell(out, "c0")["verdict"] == "unknown" and "pci_alias" in cell(out, "c0")["reason"]
    out = engine.explain(cloud([vf_pool(2)]), req("nope:1"), relax=False)
    assert cell(out, "c0")["verdict"] == "error" and "nope is not defined" in cell(out, "c0")["reason"]
    conflict = dict(req("nic:1", **{"hw:pci_numa_affinity_policy": "required"}),
                    image={"properties": {"hw_pci_numa_affinity_policy": "preferred"}})
    out = engine.explain(cloud([vf_pool(2)]), conflict, relax=False)
    assert cell(out, "c0")["verdict"] == "error" and "ImagePCINUMAPolicyForbidden" in cell(out, "c0")["reason"]


def test_multi_create_consumes_the_pools_instance_by_instance():
    snap = cloud([vf_pool(3)], [vf_pool(2)])
    assert engine.explain(snap, req("nic:2", count=2), relax=False)["fits"] is True
    out = engine.explain(snap, req("nic:2", count=3), relax=False)
    assert out["fits"] is False and out["placed"] == 2


def test_affinity_policy_with_guest_cells():
    pools = [vf_pool(1, numa=0), vf_pool(2, numa=1), vf_pool(1, numa=None)]

    def reqs(policy):
        return [{"alias": "nic", "count": 2, "spec": [{"vendor_id": "8086"}], "numa_policy": policy}]
    assert pci.support_requests(pools, reqs("required"), numa_cells=[0])[0] is False
    assert pci.support_requests(pools, reqs("legacy"), numa_cells=[0])[0] is True  # numa 0 + no-NUMA device
    assert pci.support_requests(pools, reqs("preferred"), numa_cells=[0])[0] is True
    cells = [{"id": 0, "socket": 0}, {"id": 1, "socket": 0}]
    assert pci.support_requests(pools, reqs("socket"), numa_cells=[0], host_cells=cells)[0] is True
    assert pci.support_requests(pools, reqs("socket"), numa_cells=[0],
                                host_cells=[{"id": 0, "socket": None}, {"id": 1, "socket": 0}])[0] is False


def test_relaxations_fewer_devices_and_another_alias_are_verified():
    snap = cloud([vf_pool(1), gpu_pool(1, product="20b0")], [gpu_pool(2, product="20b0")])
    out = engine.explain(snap, req("nic:2"))
    assert out["fits"] is False
    kinds = {r["kind"]: r for r in out["relaxations"]}
    fewer = kinds["pci_fewer_devices"]
    assert fewer["verified"] and fewer["detail"] == {"alias": "nic", "count": 1, "was": 2}
    assert engine.explain(snap, req("nic:1"), relax=False)["fits"] is True
    out = engine.explain(snap, req("gpu:2"))
    other = next(r for r in out["relaxations"] if r["kind"] == "pci_other_alias")
    assert other["detail"]["alias"] == "gpu2" and other["hosts"] == ["c1"]
    assert engine.explain(snap, req("gpu2:2"), relax=False)["fits"] is True


def test_preferred_affinity_is_a_candidate_but_only_returned_when_verified():
    snap = cloud([vf_pool(1)])
    request = req("nic:2", **{"hw:pci_numa_affinity_policy": "required"})
    from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler
    from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request
    prepared = engine.prepare(snap)
    cands = pci.relaxation_candidates(normalize_request(request, snap), normalize_scheduler(snap["scheduler"]),
                                      prepared)
    assert any(c["kind"] == "pci_affinity_preferred" for c in cands)
    # the filter does not apply affinity, so preferred does not make 2 devices out of 1: not returned
    out = engine.explain(snap, request)
    assert not any(r["kind"] == "pci_affinity_preferred" for r in out["relaxations"])


def test_metrics_filter():
    hosts = [B.host("m0"), B.host("m1"), B.host("m2")]
    hosts[0]["metrics"] = [{"name": "cpu.frequency", "value": 2}]
    hosts[1]["metrics"] = ["cpu.percent"]
    sched = {"enabled_filters": ["MetricsFilter"], "metrics_weight_setting": ["cpu.frequency=1.0", "bad"]}
    out = engine.explain(B.snapshot(hosts, scheduler=sched), {"flavor": B.flavor()}, relax=False)
    verdicts = [cell(out, h, "filter:MetricsFilter")["verdict"] for h in ("m0", "m1", "m2")]
    assert verdicts == ["pass", "fail", "unknown"]
    out = engine.explain(B.snapshot(hosts, scheduler={"enabled_filters": ["MetricsFilter"]}), {"flavor": B.flavor()})
    assert cell(out, "m0", "filter:MetricsFilter")["verdict"] == "unknown"


def test_request_filters_add_traits_and_refuse_like_nova():
    hosts = [B.host("s0", traits=["COMPUTE_SOUND_MODEL_VIRTIO", "OWNER_NOVA"]), B.host("s1", traits=["OWNER_NOVA"])]
    snap = B.snapshot(hosts, scheduler={"enabled_filters": ["ComputeFilter"]})
    out = engine.explain(snap, {"flavor": B.flavor(**{"hw:sound_model": "virtio"})}, relax=False)
    assert cell(out, "s0", "prefilter:virtio_sound")["verdict"] == "pass"
    assert cell(out, "s1", "prefilter:virtio_sound")["verdict"] == "fail"
    out = engine.explain(snap, {"flavor": B.flavor(**{"hw:tpm_version": "2.0", "hw:tpm_secret_security": "cloud"})},
                         relax=False)
    assert cell(out, "s0", "prefilter:tpm_secret_security")["verdict"] == "error"
    # OWNER_NOVA: no column unless the lowest nova-compute service version is known
    assert "prefilter:owner_nova" not in next(h for h in out["hosts"] if h["host"] == "s1")["checks"]
    new = B.snapshot([B.host("o0"), B.host("o1", traits=["OWNER_NOVA"])],
                     scheduler={"enabled_filters": [], "compute_service_min_version": 74})
    out = engine.explain(new, {"flavor": B.flavor()}, relax=False)
    assert [cell(out, h, "prefilter:owner_nova")["verdict"] for h in ("o0", "o1")] == ["fail", "pass"]
    new["scheduler"]["compute_service_min_version"] = 72
    out = engine.explain(new, {"flavor": B.flavor()}, relax=False)
    assert "prefilter:owner_nova" not in next(h for h in out["hosts"] if h["host"] == "o0")["checks"]
    routed = B.snapshot([B.host("r0")], scheduler={"enabled_filters": [],
                                                   "query_placement_for_routed_network_aggregates": True})
    out = engine.explain(routed, {"flavor": B.flavor()}, relax=False)
    assert cell(out, "r0", "prefilter:routed_networks")["verdict"] == "unknown"
    routed["hosts"][0]["provider_aggregates"] = ["seg-a"]
    out = engine.explain(routed, {"flavor": B.flavor(), "networks": [{"network_id": "n1", "aggregates": ["seg-b"]}]},
                         relax=False)
    assert cell(out, "r0", "prefilter:routed_networks")["verdict"] == "fail"
