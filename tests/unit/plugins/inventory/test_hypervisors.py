"""The hypervisors inventory plugin over a fixed snapshot (the API side is tested on minicloud)."""

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader


def _with_collection_loader():
    """Ansible's collection loader must own ``ansible_collections`` for plugin loading to work.

    tests/conftest.py put it on sys.path as a plain namespace package; drop those modules and
    install the loader, then import the plugin and the library through it.
    """
    import importlib
    import os
    import sys
    from ansible.plugins.loader import init_plugin_loader
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[name]
    init_plugin_loader([os.environ["ANSIBLE_COLLECTIONS_PATH"]])
    base = "ansible_collections.stackops.nova.plugins."
    return (importlib.import_module(base + "inventory.hypervisors"),
            importlib.import_module(base + "module_utils._nova.common.connection"),
            importlib.import_module(base + "module_utils._nova.cloud.gather"))


plugin, conn_mod, gather_mod = _with_collection_loader()


def host(name, node, zone, status, state, aggregates, ip, htype="QEMU"):
    return {"name": name, "nodename": node, "availability_zone": zone, "aggregates": aggregates, "host_ip": ip,
            "hypervisor_type": htype, "service": {"status": status, "state": state},
            "resources": {"MEMORY_MB": {"total": 8192, "free": 2048}}}


SNAPSHOT = {
    "snapshot_version": 1, "warnings": [],
    "hosts": [
        host("c1", "c1", "az1", "enabled", "up", [1], "192.0.2.1"),
        host("c2", "c2", "az1", "disabled", "down", [1, 2], "192.0.2.2"),
        host("ironic", "node-a", "nova", "enabled", "up", [], None, htype="ironic"),
        host("ironic", "node-b", "nova", "enabled", "up", [], None, htype="ironic"),
        host("evil", "evil", "az-2.x", "enabled", "up", [3], "{{ lookup('pipe', 'id') }}"),
    ],
    "aggregates": [{"id": 1, "name": "Fast SSD"}, {"id": 2, "name": "az1"}, {"id": 3, "name": "{{ 7*7 }}"}],
}


@pytest.fixture
def fake_cloud(monkeypatch):
    calls = []

    class Conn:
        def close(self):
            calls.append("close")

    def connect(params):
        calls.append(("connect", params["cloud"]))
        return Conn()

    def gather(conn, **kwargs):
        calls.append(("gather", kwargs))
        return SNAPSHOT

    monkeypatch.setattr(conn_mod, "connect", connect)
    monkeypatch.setattr(gather_mod, "gather_snapshot", gather)
    return calls


def load(tmp_path, text, name="test.nova_hypervisors.yml"):
    path = tmp_path / name
    path.write_text(text)
    return InventoryManager(loader=DataLoader(), sources=[str(path)])


def test_groups_hostvars_and_ansible_host(tmp_path, fake_cloud):
    inv = load(tmp_path, "plugin: stackops.nova.hypervisors\ncloud: mini\nservice_state: up\n")
    groups = inv.get_groups_dict()
    assert sorted(groups["nova_compute"]) == ["c1", "c2", "evil", "ironic"]
    assert sorted(groups["nova_az_az1"]) == ["c1", "c2"]
    assert groups["nova_aggregate_fast_ssd"] == ["c1", "c2"] and groups["nova_aggregate_az1"] == ["c2"]
    assert groups["nova_status_disabled"] == ["c2"] and groups["nova_state_down"] == ["c2"]
    assert groups["nova_hypervisor_type_ironic"] == ["ironic"]
    assert groups["nova_az_az_2_x"] == ["evil"]
    c1 = inv.get_host("c1").get_vars()
    assert c1["ansible_host"] == "192.0.2.1" and c1["nova"]["resources"]["MEMORY_MB"]["free"] == 2048
    ironic = inv.get_host("ironic").get_vars()
    assert "ansible_host" not in ironic and [n["nodename"] for n in ironic["nova"]["nodes"]] == ["node-a", "node-b"]
    kwargs = [c for c in fake_cloud if c[0] == "gather"][0][1]
    assert kwargs["service_state"] == "up" and kwargs["placement"] is True and kwargs["workers"] == 8
    assert ("connect", "mini") in fake_cloud and "close" in fake_cloud


def test_constructed_features_and_use_host_ip_false(tmp_path, fake_cloud):
    inv = load(tmp_path, """plugin: stackops.nova.hypervisors
use_host_ip: false
compose:
  free_mb: nova.resources.MEMORY_MB.free
groups:
  low_memory: nova.resources.MEMORY_MB.free < 4096
keyed_groups:
  - key: nova.availability_zone
    prefix: zone
""")
    c1 = inv.get_host("c1").get_vars()
    assert "ansible_host" not in c1 and c1["free_mb"] == 2048
    groups = inv.get_groups_dict()
    assert "c1" in groups["low_memory"] and sorted(groups["zone_az1"]) == ["c1", "c2"]


def test_api_values_are_never_templated(tmp_path, fake_cloud):
    from ansible.template import Templar, trust_as_template
    inv = load(tmp_path, "plugin: stackops.nova.hypervisors\n")
    evil = inv.get_host("evil").get_vars()
    templar = Templar(loader=DataLoader(), variables=evil)
    assert templar.template(trust_as_template("{{ ansible_host }}")) == "{{ lookup('pipe', 'id') }}"
    assert "nova_aggregate____7_7___" in inv.get_groups_dict()


def test_file_name_suffix_is_required(tmp_path, fake_cloud):
    inv = load(tmp_path, "plugin: stackops.nova.hypervisors\n", name="hosts.yml")
    assert "nova_compute" not in inv.get_groups_dict()
    obj = plugin.InventoryModule()
    path = tmp_path / "a.nova_hypervisors.yaml"
    path.write_text("plugin: stackops.nova.hypervisors\n")
    assert obj.verify_file(str(path))
    assert not obj.verify_file(str(tmp_path / "a.nova_hypervisors.json"))


def test_errors_are_parser_errors_with_the_message(tmp_path, monkeypatch):
    def connect(params):
        raise conn_mod.NovaError("could not connect to the cloud 'nope': Cloud nope was not found.")
    monkeypatch.setattr(conn_mod, "connect", connect)
    path = tmp_path / "x.nova_hypervisors.yml"
    path.write_text("plugin: stackops.nova.hypervisors\ncloud: nope\n")
    from ansible.inventory.data import InventoryData
    from ansible.plugins.loader import inventory_loader
    obj = inventory_loader.get("stackops.nova.hypervisors")
    with pytest.raises(AnsibleParserError, match="stackops.nova.hypervisors: could not connect to the cloud 'nope'"):
        obj.parse(InventoryData(), DataLoader(), str(path), cache=False)


def test_cache_serves_the_second_parse(tmp_path, fake_cloud):
    config = ("plugin: stackops.nova.hypervisors\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
              "cache_connection: %s\ncache_timeout: 600\n" % (tmp_path / "cache"))
    inv = load(tmp_path, config)
    assert "c1" in inv.get_groups_dict()["nova_compute"]
    gathers = len([c for c in fake_cloud if c[0] == "gather"])
    inv = load(tmp_path, config)
    assert sorted(inv.get_groups_dict()["nova_az_az1"]) == ["c1", "c2"]
    assert len([c for c in fake_cloud if c[0] == "gather"]) == gathers  # served from the cache
    assert list((tmp_path / "cache").iterdir())


def test_node_facts_from_a_fact_cache_directory(tmp_path, fake_cloud):
    import json
    cache = tmp_path / "facts"
    cache.mkdir()
    facts = {"schema_version": 1, "subsets": ["numa", "nova", "names"], "warnings": [], "guests": [],
             "names": {"nova_host": "c1", "hostname": "c1", "fqdn": "c1.example.org"},
             "numa": {"cells": [{"id": 0, "cpus": [0, 1], "siblings": [[0], [1]], "memory_kb": 4194304,
                                 "hugepages": [], "socket": 0}]},
             "nova": {"vcpus": [0], "pcpus": [1], "numa_pcpus": [1], "errors": [], "reserved_huge_pages": []}}
    (cache / "c1.example.org").write_text(json.dumps({"ansible_hostname": "c1", "nova_compute": facts}))
    inv = load(tmp_path, """plugin: stackops.nova.hypervisors
node_facts_dir: %s
groups:
  pinned_capable: nova.node is defined and nova.node.nova.pcpus | length > 0
""" % cache)
    assert inv.get_groups_dict()["pinned_capable"] == ["c1"]
    c1 = inv.get_host("c1").get_vars()["nova"]
    assert c1["numa"]["cells"][0]["pcpuset"] == [1] and c1["numa"]["source"] == "node_facts"
    assert "node" not in inv.get_host("c2").get_vars()["nova"]
    assert "node" not in SNAPSHOT["hosts"][0] and "numa" not in SNAPSHOT["hosts"][0]  # the gathered snapshot untouched


def test_node_facts_dir_must_be_a_directory(tmp_path, fake_cloud):
    path = tmp_path / "x.nova_hypervisors.yml"
    path.write_text("plugin: stackops.nova.hypervisors\nnode_facts_dir: /nonexistent-dir\n")
    from ansible.inventory.data import InventoryData
    from ansible.plugins.loader import inventory_loader
    obj = inventory_loader.get("stackops.nova.hypervisors")
    with pytest.raises(AnsibleParserError, match="node_facts_dir: '/nonexistent-dir' is not a directory"):
        obj.parse(InventoryData(), DataLoader(), str(path), cache=False)
