"""explain/pci_state.py: PciPassthroughFilter's multi-create consumption for NUMA guests and claim:numa_pci.

tests/oracle/test_numa_pci_oracle.py compares both consumption paths with Nova's
consume_from_request at large; these pin readable cases: the decided claim on a forced host,
its unknowns naming what decides them, and a NUMA guest whose devices come from its cell.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402
from test_numa import cell, numa_host  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

ALIASES = [json.dumps({"name": "gpu", "vendor_id": "10de", "product_id": "1eb8", "device_type": "type-PCI"}),
           json.dumps({"name": "vf", "vendor_id": "8086", "product_id": "154c", "device_type": "type-VF"}),
           json.dumps({"name": "nic", "vendor_id": "8086", "product_id": "154c"})]
CLAIM = "claim:numa_pci"
PCI = "filter:PciPassthroughFilter"


def pool(vendor, product, dev_type, numa, count):
    return {"vendor_id": vendor, "product_id": product, "numa_node": numa, "count": count, "dev_type": dev_type,
            "tags": {}}


def host(name="n1", pools=None, numa=True):
    raw = numa_host(name, [cell(0, range(0, 4)), cell(1, range(4, 8))])
    raw["pci_pools"] = [pool("10de", "1eb8", "type-PCI", 1, 2)] if pools is None else pools
    if not numa:
        raw.pop("numa")
    return raw


def forced(snap, specs, count=1, scheduler=None):
    snap["scheduler"] = dict({"enabled_filters": ["ComputeFilter"], "pci_alias": ALIASES}, **(scheduler or {}))
    fl = B.flavor(vcpus=2, **specs)
    return engine.explain(snap, {"flavor": fl, "host": "n1", "count": count}, relax=False)


def test_forced_host_pci_claim_is_decided_from_the_pools():
    ok = forced(B.snapshot([host()]), {"pci_passthrough:alias": "gpu:2"})
    assert ok["hosts"][0]["checks"][CLAIM]["verdict"] == "pass", ok["hosts"][0]["checks"][CLAIM]
    bad = forced(B.snapshot([host()]), {"pci_passthrough:alias": "gpu:3"})
    claim = bad["hosts"][0]["checks"][CLAIM]
    assert claim["verdict"] == "fail" and "Claim pci failed" in claim["reason"], claim
    assert bad["fits"] is False


def test_forced_host_claim_consumes_earlier_instances():
    out = forced(B.snapshot([host()]), {"pci_passthrough:alias": "gpu:1"}, count=3)
    assert out["fits"] is False and out["placed"] == 2, out["summary"]


def test_forced_numa_guest_claim_takes_devices_of_its_cell():
    """The device of cell 1 is taken by the first pinned guest (required): the second finds none."""
    pools = [pool("10de", "1eb8", "type-PCI", 1, 1), pool("10de", "1eb8", "type-PCI", 0, 1)]
    specs = {"hw:cpu_policy": "dedicated", "pci_passthrough:alias": "gpu:1", "hw:pci_numa_affinity_policy": "required"}
    out = forced(B.snapshot([host(pools=pools)]), specs, count=2)
    assert out["fits"] is True, out["summary"]


def test_claim_unknown_only_when_data_is_missing():
    no_pools = host()
    no_pools.pop("pci_pools")
    out = forced(B.snapshot([no_pools]), {"pci_passthrough:alias": "gpu:1"})
    claim = out["hosts"][0]["checks"][CLAIM]
    assert claim["verdict"] == "unknown" and "hosts[].pci_pools" in claim["reason"], claim
    snap = B.snapshot([host()])
    snap["scheduler"] = {"enabled_filters": ["ComputeFilter"]}
    out = engine.explain(snap, {"flavor": B.flavor(vcpus=2, **{"pci_passthrough:alias": "gpu:1"}), "host": "n1"},
                         relax=False)
    claim = out["hosts"][0]["checks"][CLAIM]
    assert claim["verdict"] == "unknown" and "pci_alias" in claim["reason"], claim
    # a NUMA guest's second instance on a host without NUMA data: which devices the first took is unknown
    specs = {"hw:cpu_policy": "dedicated", "pci_passthrough:alias": "gpu:1"}
    out = forced(B.snapshot([host(numa=False)]), specs, count=2)
    assert out["fits"] is None, out["summary"]


def test_numa_guest_next_instance_sees_the_pools_its_cells_left():
    """vf:1,nic:1 on cell 1 (required): the first instance takes the VF and the PCI nic of node 1, the VF
    of node 0 is left for the second (consumed in pool order it would have taken both VFs)."""
    pools = [pool("8086", "154c", "type-VF", 0, 1), pool("8086", "154c", "type-VF", 1, 1),
             pool("8086", "154c", "type-PCI", 1, 2)]
    raw = numa_host("n1", [cell(0, range(0, 4), pinned=[0, 1, 2, 3]), cell(1, range(4, 8))], used_pcpu=4)
    raw["pci_pools"] = pools
    snap = B.snapshot([raw], scheduler={"enabled_filters": ["PciPassthroughFilter", "NUMATopologyFilter"],
                                        "pci_alias": ALIASES})
    fl = B.flavor(vcpus=1, **{"hw:cpu_policy": "dedicated", "pci_passthrough:alias": "vf:1,nic:1",
                              "hw:pci_numa_affinity_policy": "required"})
    result = engine.run(engine.prepare(snap), engine.normalize_scheduler(snap["scheduler"]),
                        engine.normalize_request({"flavor": fl, "count": 2}, snap))
    ctx = result["ctx"]
    check = next(c for c in result["checks"] if c.id == PCI)
    state = engine.State()
    state.consume(ctx.cloud.hosts[0], ctx, 1)
    second = check.evaluate(ctx.cloud.hosts[0], ctx, state)
    assert second["verdict"] == "pass", second
