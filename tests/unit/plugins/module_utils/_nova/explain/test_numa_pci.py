"""PCI devices inside the NUMA fit (explain/numa_pci.py): readable cases.

tests/oracle/test_numa_pci_oracle.py compares the fit with Nova's numa_fit_instance_to_host and a
real PciDeviceStats at large; these pin the engine's wiring: a decided verdict with the cell
that the devices' NUMA affinity refused, multi-create consumption, headroom, unknown pools and
the ``preferred`` relaxation.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402
from test_numa import cell, numa_host  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

ALIASES = [json.dumps({"name": "gpu", "vendor_id": "10de", "product_id": "1eb8", "device_type": "type-PCI"})]
SCHED = {"enabled_filters": ["ComputeFilter", "NUMATopologyFilter", "PciPassthroughFilter"], "pci_alias": ALIASES}
NUMA = "filter:NUMATopologyFilter"


def gpu(count, numa):
    return {"vendor_id": "10de", "product_id": "1eb8", "numa_node": numa, "count": count, "dev_type": "type-PCI",
            "tags": {}}


def host(pinned_cell1=(), pools=None):
    """2 cells of 4 pCPUs; the GPU on cell 1."""
    raw = numa_host("n1", [cell(0, range(0, 4)), cell(1, range(4, 8), pinned=list(pinned_cell1))],
                    used_pcpu=len(pinned_cell1))
    raw["pci_pools"] = [gpu(2, 1)] if pools is None else pools
    return raw


def flavor(vcpus=2, **specs):
    specs.setdefault("hw:cpu_policy", "dedicated")
    specs["pci_passthrough:alias"] = specs.get("pci_passthrough:alias", "gpu:1")
    return B.flavor(vcpus=vcpus, **specs)


def test_pinned_guest_goes_to_the_cell_of_its_device():
    out = engine.explain(B.snapshot([host()], scheduler=SCHED), {"flavor": flavor()}, relax=False)
    assert out["fits"] is True
    check = out["hosts"][0]["checks"][NUMA]
    assert check["verdict"] == "pass" and "host cell 1" in check["reason"], check


def test_cell_with_free_pcpus_but_device_on_the_other_cell_fails_with_required():
    snap = B.snapshot([host(pinned_cell1=[4, 5, 6])], scheduler=SCHED)
    out = engine.explain(snap, {"flavor": flavor(**{"hw:pci_numa_affinity_policy": "required"})})
    assert out["fits"] is False
    check = out["hosts"][0]["checks"][NUMA]
    assert check["verdict"] == "fail", check
    assert "cell 0: pCPUs and memory fit, but alias gpu" in check["reason"], check
    assert "NUMA node 1" in check["reason"] and "policy required" in check["reason"], check
    assert "cell 1: needs 2 pCPU, 1 free" in check["reason"], check
    # the relaxation 'preferred' is verified by the engine: devices from any NUMA node
    kinds = {r["kind"]: r for r in out["relaxations"]}
    assert kinds["pci_affinity_preferred"]["verified"], out["relaxations"]
    prefer = engine.explain(snap, {"flavor": flavor(**{"hw:pci_numa_affinity_policy": "preferred"})}, relax=False)
    assert prefer["fits"] is True


def test_legacy_policy_takes_a_device_without_numa_affinity():
    snap = B.snapshot([host(pinned_cell1=[4, 5, 6], pools=[gpu(1, 1), gpu(1, None)])], scheduler=SCHED)
    assert engine.explain(snap, {"flavor": flavor()}, relax=False)["fits"] is True
    req = {"flavor": flavor(**{"hw:pci_numa_affinity_policy": "required"})}
    assert engine.explain(snap, req, relax=False)["fits"] is False


def test_instances_consume_devices_per_cell():
    """3 GPUs on cell 1, 4 pCPUs per cell: two guests of 2 pCPUs + 1 GPU fit on cell 1, the third does not
    (PciPassthroughFilter alone would pass it: a GPU is left, on the cell without free pCPUs)."""
    snap = B.snapshot([host(pools=[gpu(3, 1)])], scheduler=SCHED)
    two = engine.explain(snap, {"flavor": flavor(), "count": 2}, relax=False)
    assert two["fits"] is True, two["summary"]
    # headroom: CPUs for 4 guests (2 per cell), 3 GPUs, but only cell 1's 2 guests get one
    assert two["headroom"]["per_host"] == {"n1": 2}, two["headroom"]
    assert two["headroom"]["limited_by"]["n1"] == "NUMATopologyFilter"
    three = engine.explain(snap, {"flavor": flavor(), "count": 3}, relax=False)
    assert three["fits"] is False, three["summary"]


def test_unknown_pools_leave_the_numa_fit_unknown():
    raw = host()
    del raw["pci_pools"]
    out = engine.explain(B.snapshot([raw], scheduler=SCHED), {"flavor": flavor()}, relax=False)
    check = out["hosts"][0]["checks"][NUMA]
    assert check["verdict"] == "unknown" and "PCI pools are unknown" in check["reason"], check
