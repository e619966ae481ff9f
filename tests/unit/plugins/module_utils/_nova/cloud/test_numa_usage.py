"""numa_usage.py edge cases with Nova's own objects and a fake API.

The normal path (both sources against Nova's record, cell by cell, with every kind of guest)
is tests/e2e/test_explain_numa_e2e.py on minicloud; these are what minicloud does not produce
(errors, non-admin views, Nova's serialisation of usage built by Nova's own code).
"""

import json
import sqlite3

import pytest
from keystoneauth1 import exceptions as ks_exc

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import numa_usage as nu

objects = pytest.importorskip("nova.objects")
hardware = pytest.importorskip("nova.virt.hardware")
objects.register_all()


def host_topology(legacy=False):
    """Two cells of 8 CPUs in SMT pairs; 2 shared + 6 dedicated each, or (``legacy``, no
    cpu_dedicated_set) all 8 both shared and dedicated, the only layout where Nova pins
    hw:cpu_thread_policy=isolate guests on SMT hosts (with their siblings)."""
    pages = [objects.NUMAPagesTopology(size_kb=4, total=1048576, used=0, reserved=0),
             objects.NUMAPagesTopology(size_kb=2048, total=2048, used=0, reserved=8)]
    return objects.NUMATopology(cells=[
        objects.NUMACell(id=i, cpuset=set(range(8 * i, 8 * i + 8)) if legacy else {8 * i, 8 * i + 1},
                         pcpuset=set(range(8 * i + (0 if legacy else 2), 8 * i + 8)), memory=8192,
                         cpu_usage=0, memory_usage=0, pinned_cpus=set(), mempages=pages, socket=i,
                         siblings=[{8 * i + j, 8 * i + j + 1} for j in (0, 2, 4, 6)],
                         network_metadata=objects.NetworkMetadata(physnets=set(), tunneled=False))
        for i in range(2)])


def capacity(legacy=False):
    return nu.numa_from_nova(host_topology(legacy)._to_json())


def api_topology(instance):
    """What GET /servers/{id}/topology returns to an admin (nova/api/openstack/compute/server_topology.py)."""
    nodes = []
    pagesize = None
    for cell in instance.cells:
        nodes.append({"vcpu_set": sorted(cell.total_cpus), "siblings": [], "memory_mb": cell.memory,
                      "host_node": cell.id, "cpu_pinning": cell.cpu_pinning or {}})
        pagesize = cell.pagesize or pagesize
    return {"nodes": nodes, "pagesize_kb": pagesize}


def fit(specs, vcpus=2, ram=1024, host=None):
    flavor = objects.Flavor(vcpus=vcpus, memory_mb=ram, extra_specs=specs)
    image = objects.ImageMeta.from_dict({"properties": {}})
    want = hardware.numa_get_constraints(flavor, image)
    got = hardware.numa_fit_instance_to_host(host or host_topology(), want, provider_mapping=None)
    assert got is not None
    return got


@pytest.mark.parametrize("specs, legacy", [
    ({"hw:cpu_policy": "dedicated"}, False),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"}, True),
    ({"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"}, False),
    ({"hw:mem_page_size": "2048"}, False),
    ({"hw:numa_nodes": "2"}, False),
    ({"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0"}, False),
])
def test_api_usage_equals_novas_own_accounting(specs, legacy):
    """The usage rebuilt from the topology API equals numa_usage_from_instance_numa's, twice over."""
    host = host_topology(legacy)
    ours = capacity(legacy)
    for _round in range(2):
        instance = fit(specs, host=host)
        host = hardware.numa_usage_from_instance_numa(host, instance)
        assert nu.apply_server_topology(ours, api_topology(instance), specs) is None
    assert ours["cells"] == nu.numa_from_nova(host._to_json())["cells"]


def test_emulator_threads_isolate_is_unknown():
    instance = fit({"hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"})
    reason = nu.apply_server_topology(capacity(), api_topology(instance), {"hw:emulator_threads_policy": "isolate"})
    assert "emulator threads" in reason


def test_non_admin_view_is_unknown():
    reason = nu.apply_server_topology(capacity(), {"nodes": [{"vcpu_set": [0], "memory_mb": 512}]}, {})
    assert "admin" in reason


@pytest.mark.parametrize("specs, wanted", [
    ({}, False), ({"hw:cpu_policy": "shared"}, False), ({"hw:cpu_policy": "dedicated"}, True),
    ({"hw:cpu_policy": "MIXED"}, True), ({"hw:numa_nodes": "1"}, True), ({"hw:mem_page_size": "large"}, True),
    ({"pci_passthrough:alias": "gpu:1"}, False), ({"hw:pmem": "small"}, True),
])
def test_flavor_wants_numa(specs, wanted):
    assert nu.flavor_wants_numa(specs) is wanted


def test_no_topology_means_no_cells():
    assert nu.numa_from_nova(None) == {"cells": [], "source": "nova_db", "unknown": None}


def test_pci_pools_from_nova():
    pools = objects.PciDevicePoolList(objects=[objects.PciDevicePool(
        vendor_id="8086", product_id="154d", numa_node=None, count=3,
        tags={"dev_type": "type-VF", "physical_network": "physnet1"})])
    assert nu.pci_pools_from_nova(pools.obj_to_primitive()) == [
        {"vendor_id": "8086", "product_id": "154d", "numa_node": None, "count": 3, "dev_type": "type-VF",
         "tags": {"physical_network": "physnet1"}}]
    assert nu.pci_pools_from_nova(json.dumps(pools.obj_to_primitive())) == nu.pci_pools_from_nova(
        pools.obj_to_primitive())


def _db(path, rows):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE compute_nodes (host, hypervisor_hostname, numa_topology, pci_stats, deleted)")
    db.executemany("INSERT INTO compute_nodes VALUES (?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()


def test_database_is_read_only_and_deleted_rows_ignored(tmp_path):
    path = tmp_path / "cell1.db"
    _db(path, [("c1", "c1", host_topology()._to_json(), None, 0), ("c1", "c1", None, None, 7)])
    before = path.read_bytes()
    rows = nu.read_compute_nodes("sqlite:///%s" % path)
    assert len(rows) == 1
    hosts = [{"name": "c1", "nodename": "c1"}, {"name": "c2", "nodename": "c2"}]
    nu.attach_from_db(hosts, rows)
    assert hosts[0]["numa"]["source"] == "nova_db" and len(hosts[0]["numa"]["cells"]) == 2
    assert hosts[0]["pci_pools"] == [] and hosts[0]["pci_unknown"] is None
    assert hosts[1]["numa"]["cells"] is None and "no compute_nodes row" in hosts[1]["numa"]["unknown"]
    assert path.read_bytes() == before


def test_bad_database_is_a_warning_naming_it(tmp_path):
    warnings = []
    hosts = [{"name": "c1", "nodename": "c1"}]
    nu.attach(None, hosts, [], nova_db="sqlite:///%s" % (tmp_path / "missing.db"), warnings=warnings)
    assert "host NUMA cells and PCI pools unknown" in warnings[0] and "missing.db" in warnings[0]
    assert hosts[0]["numa"]["cells"] is None
    assert not (tmp_path / "missing.db").exists()


class Adapter:
    def __init__(self, routes):
        self.routes, self.calls = routes, []

    def get(self, url, raise_exc=True, microversion=None, params=None):
        self.calls.append((url, microversion))
        if url not in self.routes:
            raise ks_exc.NotFound(http_status=404, message="no route %s" % url)
        body = self.routes[url]

        class R:
            content = b"x"

            def json(self):
                return body
        return R()


def test_one_topology_call_per_numa_server_and_failures_are_unknown():
    instance = fit({"hw:cpu_policy": "dedicated"})
    adapter = Adapter({"/servers/a/topology": api_topology(instance)})
    servers = [{"id": "a", "flavor": {"extra_specs": {"hw:cpu_policy": "dedicated"}}},
               {"id": "b", "flavor": {"extra_specs": {}}},
               {"id": "c", "flavor": {"extra_specs": {"hw:numa_nodes": "1"}}}]
    hosts = [{"name": "h1", "nodename": "h1", "instances": ["a", "b"]},
             {"name": "h2", "nodename": "h2", "instances": ["c"]},
             {"name": "h3", "nodename": "h3", "instances": []},
             {"name": "h4", "nodename": "h4", "instances": None}]
    cap = {h: capacity() for h in ("h1", "h2", "h3", "h4")}
    info = nu.attach(adapter, hosts, servers, capacity=cap)
    assert info["topology_requests"] == 2 and sorted(c[0] for c in adapter.calls) == [
        "/servers/a/topology", "/servers/c/topology"]
    assert all(call[1] == "2.78" for call in adapter.calls)
    assert sorted(hosts[0]["numa"]["cells"][0]["pinned_cpus"] + hosts[0]["numa"]["cells"][1]["pinned_cpus"]) \
        == sorted(instance.cells[0].cpu_pinning.values())
    assert hosts[1]["numa"]["cells"] is None and "server c" in hosts[1]["numa"]["unknown"]
    assert hosts[2]["numa"]["unknown"] is None and hosts[2]["numa"]["cells"][0]["pinned_cpus"] == []
    assert hosts[3]["numa"]["cells"] is None and "servers on the host are unknown" in hosts[3]["numa"]["unknown"]
    assert all("compute API does not show PCI pools" in h["pci_unknown"] for h in hosts)


def test_without_a_source_nothing_is_set():
    hosts = [{"name": "h1", "nodename": "h1", "instances": []}]
    assert nu.attach(None, hosts, []) == {"source": None, "topology_requests": 0}
    assert hosts == [{"name": "h1", "nodename": "h1", "instances": []}]


def test_capacity_with_an_unknown_reason_is_unknown_not_empty():
    hosts = [{"name": "h1", "nodename": "h1", "instances": []}]
    nu.attach(None, hosts, [], capacity={"h1": {"cells": [], "source": "node_facts", "unknown": "no cells"}})
    assert hosts[0]["numa"] == {"cells": None, "source": "node_facts", "unknown": "no cells"}


def test_node_facts_as_capacity_need_cells_from_facts():
    facts = {"numa": {"cells": [{"id": 0, "cpus": [0, 1], "memory_mb": 1024}]}, "nova": {"vcpus": [0, 1]}}
    assert nu.is_node_facts(facts) and not nu.is_node_facts(capacity())
    hosts = [{"name": "h1", "nodename": "h1", "instances": []}]
    warnings = []
    nu.attach(None, hosts, [], capacity={"h1": facts}, warnings=warnings)
    try:
        from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state  # noqa: F401
    except ImportError:
        assert "cells_from_facts" in warnings[0] and hosts[0]["numa"]["cells"] is None
    else:
        assert not warnings and [c["cpuset"] for c in hosts[0]["numa"]["cells"]] == [[0, 1]]
