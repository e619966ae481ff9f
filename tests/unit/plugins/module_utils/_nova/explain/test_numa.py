"""NUMA fitting in the explain engine: readable cases (the oracle compares with Nova at large)."""

import pytest

import explain_builders as B

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError

NUMA_ONLY = {"enabled_filters": ["ComputeFilter", "NUMATopologyFilter"]}


def cell(cell_id, cpus, pinned=(), memory=16384, memory_usage=0, pages2m=None, threads=1):
    """A host cell whose CPUs are all dedicated (cpu_dedicated_set), cores of ``threads`` siblings."""
    cpus = list(cpus)
    siblings = [cpus[i:i + threads] for i in range(0, len(cpus), threads)]
    pages = [{"size_kb": 4, "total": memory * 256, "used": memory_usage * 256, "reserved": 0}]
    if pages2m is not None:
        total, used = pages2m
        pages.append({"size_kb": 2048, "total": total, "used": used, "reserved": 0})
    return {"id": cell_id, "cpuset": [], "pcpuset": cpus, "siblings": siblings, "memory": memory,
            "memory_usage": memory_usage, "cpu_usage": 0, "pinned_cpus": list(pinned), "mempages": pages,
            "socket": cell_id}


def numa_host(name, cells, pcpu=None, used_pcpu=0):
    raw = B.host(name, pcpu=pcpu or sum(len(c["pcpuset"]) for c in cells), used_pcpu=used_pcpu)
    raw["numa"] = {"cells": cells, "source": "node_facts", "unknown": None}
    return raw


def test_placement_has_pcpu_but_no_cell_has_enough():
    """The classic: 12 free pCPUs in total (placement says yes), 6 per cell, the guest wants 8 in one cell."""
    host = numa_host("n1", [cell(0, range(0, 8), pinned=[0, 1]), cell(1, range(8, 16), pinned=[8, 9])],
                     used_pcpu=4)
    snap = B.snapshot([host], scheduler=NUMA_ONLY)
    out = engine.explain(snap, {"flavor": B.flavor(vcpus=8, **{"hw:cpu_policy": "dedicated"})})
    checks = out["hosts"][0]["checks"]
    assert checks["placement:PCPU"]["verdict"] == "pass"
    numa_cell = checks["filter:NUMATopologyFilter"]
    assert numa_cell["verdict"] == "fail" and numa_cell["kind"] == "dynamic"
    assert "cell 0: needs 8 pCPU, 6 free" in numa_cell["reason"]
    assert "cell 1: needs 8 pCPU, 6 free" in numa_cell["reason"]
    assert out["fits"] is False
    # verified relaxation: spread the guest over two cells
    changes = [r["change"] for r in out["relaxations"]]
    assert any(c.startswith("set hw:numa_nodes=2") for c in changes), changes


def test_huge_pages_shortfall_named_per_cell():
    host = numa_host("n1", [cell(0, range(4), pages2m=(1024, 512)), cell(1, range(4, 8), pages2m=(1024, 1000))])
    snap = B.snapshot([host], scheduler=NUMA_ONLY)
    out = engine.explain(snap, {"flavor": B.flavor(vcpus=2, ram=2048, **{"hw:mem_page_size": "2048",
                                                                         "hw:cpu_policy": "dedicated"})},
                         relax=False)
    reason = out["hosts"][0]["checks"]["filter:NUMATopologyFilter"]["reason"]
    assert "cell 0: 2048 kB pages: needs 1024, 512 free" in reason
    assert "cell 1: 2048 kB pages: needs 1024, 24 free" in reason
    small = B.flavor(vcpus=2, ram=1024, **{"hw:mem_page_size": "2048", "hw:cpu_policy": "dedicated"})
    ok = engine.explain(snap, {"flavor": small}, relax=False)
    assert ok["hosts"][0]["checks"]["filter:NUMATopologyFilter"]["verdict"] == "pass"


def test_host_without_numa_data_is_unknown_not_pass_or_fail():
    snap = B.snapshot([B.host("plain", pcpu=16)], scheduler=NUMA_ONLY)
    out = engine.explain(snap, {"flavor": B.flavor(vcpus=4, **{"hw:cpu_policy": "dedicated"})})
    cell_ = out["hosts"][0]["checks"]["filter:NUMATopologyFilter"]
    assert cell_["verdict"] == "unknown"
    assert "compute_facts" in cell_["reason"] and "numa_topology" in cell_["reason"]
    assert out["fits"] is None


def test_host_reporting_no_numa_topology_fails():
    host = B.host("flat", pcpu=16)
    host["numa"] = {"cells": [], "source": "nova_db", "unknown": None}
    out = engine.explain(B.snapshot([host], scheduler=NUMA_ONLY),
                         {"flavor": B.flavor(vcpus=4, **{"hw:cpu_policy": "dedicated"})}, relax=False)
    assert out["hosts"][0]["checks"]["filter:NUMATopologyFilter"]["kind"] == "static"


def test_no_numa_request_passes_every_host():
    snap = B.snapshot([B.host("plain")], scheduler=NUMA_ONLY)
    out = engine.explain(snap, {"flavor": B.flavor()})
    assert out["hosts"][0]["checks"]["filter:NUMATopologyFilter"]["verdict"] == "pass"


@pytest.mark.parametrize("specs, words", [
    ({"hw:cpu_thread_policy": "isolate"}, "CPUThreadPolicyConfigurationInvalid"),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_dedicated_mask": "0"}, "RequiredMixedInstancePolicy"),
    ({"hw:numa_nodes": "3"}, "ImageNUMATopologyAsymmetric"),
    ({"hw:numa_nodes": "0"}, "InvalidNUMANodesNumber"),
    ({"hw:mem_page_size": "huge"}, "MemoryPageSizeInvalid"),
    ({"hw:emulator_threads_policy": "isolate"}, "BadRequirementEmulatorThreadsPolicy"),
    ({"hw:numa_nodes": "2", "hw:numa_cpus.0": "0"}, "ImageNUMATopologyIncomplete"),
])
def test_combinations_nova_refuses_are_request_errors(specs, words):
    snap = B.snapshot([B.host("a")])
    with pytest.raises(ExplainError) as err:
        engine.explain(snap, {"flavor": B.flavor(vcpus=4, ram=4096, **specs)})
    assert words in str(err.value) and "request.flavor" in str(err.value)


def test_image_page_size_needs_flavor_permission():
    with pytest.raises(numa.NumaRequestError, match="MemoryPageSizeForbidden"):
        numa.constraints(B.flavor(vcpus=2), {"hw_mem_page_size": "2048"})
    topo = numa.constraints(B.flavor(vcpus=2, **{"hw:mem_page_size": "large"}), {"hw_mem_page_size": "2048"})
    assert topo.cells[0].pagesize == 2048


def test_instance_by_instance_consumes_cells():
    """Two cells of 5 pCPUs (placement: 10): 3-pCPU guests fit one per cell, so 2, not 3."""
    host = numa_host("n1", [cell(0, range(5)), cell(1, range(5, 10))])
    snap = B.snapshot([host], scheduler=NUMA_ONLY)
    flavor = B.flavor(vcpus=3, ram=1024, **{"hw:cpu_policy": "dedicated"})
    two = engine.explain(snap, {"flavor": flavor, "count": 2}, relax=False)
    assert two["fits"] is True and two["headroom"]["per_host"] == {"n1": 2}
    assert two["headroom"]["limited_by"]["n1"] == "NUMATopologyFilter"
    three = engine.explain(snap, {"flavor": flavor, "count": 3}, relax=False)
    assert three["fits"] is False and three["placed"] == 2


def test_isolate_thread_policy_on_smt_host_and_prefer_relaxation():
    """isolate on a host with cpu_dedicated_set and SMT never fits (bug #1889633); prefer does."""
    host = numa_host("smt", [cell(0, range(8), threads=2)])
    snap = B.snapshot([host], scheduler=NUMA_ONLY)
    flavor = B.flavor(vcpus=2, ram=1024, **{"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"})
    out = engine.explain(snap, {"flavor": flavor})
    reason = out["hosts"][0]["checks"]["filter:NUMATopologyFilter"]["reason"]
    assert "thread policy isolate" in reason
    assert any("hw:cpu_thread_policy=prefer" in r["change"] for r in out["relaxations"])


def test_require_thread_policy_without_smt_fails_static():
    host = numa_host("nosmt", [cell(0, range(8))])
    out = engine.explain(B.snapshot([host], scheduler=NUMA_ONLY), {"flavor": B.flavor(
        vcpus=2, ram=1024, **{"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"})}, relax=False)
    cell_ = out["hosts"][0]["checks"]["filter:NUMATopologyFilter"]
    assert cell_["kind"] == "static" and "no SMT" in cell_["reason"]


def test_emulator_threads_isolate_takes_one_more_pcpu_on_the_first_cell():
    cells = numa.host_cells({"cells": [cell(0, range(4))]})
    topo = numa.constraints(B.flavor(vcpus=4, ram=1024, **{"hw:cpu_policy": "dedicated",
                                                           "hw:emulator_threads_policy": "isolate"}))
    result = numa.fit(cells, topo)
    assert not result.fits
    assert "needs 5 pCPU (1 for emulator threads), the cell has 4" in result.reasons[0][0][1]


def test_packing_strategy_orders_cells():
    cells = numa.host_cells({"cells": [cell(0, range(4), pinned=[0]), cell(1, range(4, 8))]})
    topo = numa.constraints(B.flavor(vcpus=1, ram=1024, **{"hw:cpu_policy": "dedicated"}))
    assert numa.fit(cells, topo, pack=False).host_cell_ids() == [1]  # spread: the emptier cell
    assert numa.fit(cells, topo, pack=True).host_cell_ids() == [0]  # pack: the fuller cell


def test_mixed_policy_needs_shared_and_dedicated_cpus_in_one_cell():
    """hw:cpu_policy=mixed: the masked vCPUs are pinned, the others run on the cell's cpu_shared_set."""
    split = {"id": 0, "cpuset": [0, 1], "pcpuset": [2, 3, 4, 5], "siblings": [[0], [1], [2], [3], [4], [5]],
             "memory": 8192, "memory_usage": 0, "cpu_usage": 0, "pinned_cpus": [4, 5],
             "mempages": [{"size_kb": 4, "total": 8192 * 256, "used": 0, "reserved": 0}], "socket": 0}
    cells = numa.host_cells({"cells": [split]})
    fits = numa.constraints(B.flavor(vcpus=4, ram=1024, **{"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0-1"}))
    assert [sorted(c.pcpuset) for c in fits.cells] == [[2, 3]]
    result = numa.fit(cells, fits, limits=(1.0, 1.0))
    assert result.fits and result.cells[0].pinning == {2: 2, 3: 3}
    too_many = numa.constraints(B.flavor(vcpus=4, ram=1024, **{"hw:cpu_policy": "mixed",
                                                               "hw:cpu_dedicated_mask": "1-3"}))
    result = numa.fit(cells, too_many, limits=(1.0, 1.0))
    assert not result.fits and "needs 3 pCPU, 2 free" in result.reasons[0][0][1]


def test_uneven_manual_cells_with_numa_cpus_and_numa_mem():
    topo = numa.constraints(B.flavor(vcpus=4, ram=4096, **{
        "hw:cpu_policy": "dedicated", "hw:numa_nodes": "2", "hw:numa_cpus.0": "0-2", "hw:numa_cpus.1": "3",
        "hw:numa_mem.0": "3072", "hw:numa_mem.1": "1024"}))
    assert [(sorted(c.pcpuset), c.memory) for c in topo.cells] == [([0, 1, 2], 3072), ([3], 1024)]
    cells = numa.host_cells({"cells": [cell(0, range(2)), cell(1, range(2, 6))]})
    result = numa.fit(cells, topo)
    assert result.host_cell_ids() == [1, 0]  # the 3-vCPU guest cell goes to the 4-pCPU host cell


def test_page_size_relaxation_is_verified():
    host = numa_host("n1", [cell(0, range(4), pages2m=(0, 0))])
    snap = B.snapshot([host], scheduler=NUMA_ONLY)
    out = engine.explain(snap, {"flavor": B.flavor(vcpus=2, ram=1024, **{"hw:cpu_policy": "dedicated",
                                                                         "hw:mem_page_size": "large"})})
    assert out["fits"] is False
    changes = {r["change"]: r for r in out["relaxations"]}
    assert "set hw:mem_page_size=small instead of large" in changes
    assert all(r["verified"] for r in out["relaxations"])
