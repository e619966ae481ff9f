"""attach: node facts onto snapshot hosts (by name, nodename, facts names, fact-cache files)."""

import json

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as snap
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import attach


def _facts(nova_host, hostname=None, fqdn=None):
    return {"schema_version": 1, "subsets": ["numa", "nova", "names"], "warnings": [],
            "numa": {"cells": [{"id": 0, "cpus": [0, 1, 2, 3], "siblings": [[0, 2], [1, 3]], "memory_kb": 8388608,
                                "memory_mb": 8192, "hugepages": [{"size_kb": 2048, "total": 8, "free": 8}],
                                "socket": 0}], "page_size_kb": 4},
            "nova": {"vcpus": [0, 2], "pcpus": [1, 3], "numa_pcpus": [1, 3], "errors": [], "reserved_huge_pages": []},
            "names": {"nova_host": nova_host, "hostname": hostname or nova_host, "fqdn": fqdn},
            "guests": []}


def _snapshot():
    return {"snapshot_version": 1, "hosts": [
        {"name": "compute1", "nodename": "compute1.example.org"},
        {"name": "compute2", "nodename": "compute2", "numa": {"cells": [], "source": "nova_db", "unknown": None}},
        {"name": "compute3", "nodename": "compute3"},
    ]}


def test_attach_by_key_names_and_short_forms():
    s = _snapshot()
    w = []
    unmatched = attach.attach(s, {
        "compute1.example.org": {"nova_compute": _facts("compute1")},           # a host's ansible_facts
        "inventory-alias-2": {"ansible_facts": {"nova_compute": _facts("compute2")}},  # a registered result
        "node9": _facts("node9", fqdn="node9.example.org"),
    }, w)
    h1, h2, h3 = s["hosts"]
    assert h1["node"]["names"]["nova_host"] == "compute1"
    assert h1["numa"]["source"] == "node_facts" and h1["numa"]["cells"][0]["pcpuset"] == [1, 3]
    assert h2["node"]["names"]["nova_host"] == "compute2"
    assert h2["numa"]["source"] == "nova_db"  # a better source is kept
    assert "node" not in h3 and "numa" not in h3
    assert unmatched == ["node9"] and "node9 match no compute host" in w[0]
    snap.validate(s)  # still a valid snapshot


def test_fact_cache_directory(tmp_path):
    (tmp_path / "compute3").write_text(json.dumps({"ansible_hostname": "compute3", "nova_compute": _facts("compute3")}))
    (tmp_path / "broken").write_text("{not json")
    (tmp_path / "other").write_text(json.dumps({"ansible_hostname": "other"}))
    s = _snapshot()
    attach.from_options(s, node_facts_dir=str(tmp_path))
    assert s["hosts"][2]["node"]["names"]["nova_host"] == "compute3"
    assert any("broken is not a readable JSON" in w for w in s["warnings"])


def test_the_mapping_wins_over_the_directory(tmp_path):
    (tmp_path / "compute1").write_text(json.dumps({"nova_compute": _facts("compute1", hostname="from-dir")}))
    s = _snapshot()
    attach.from_options(s, node_facts={"compute1": _facts("compute1", hostname="from-map")}, node_facts_dir=str(tmp_path))
    assert s["hosts"][0]["node"]["names"]["hostname"] == "from-map"


@pytest.mark.parametrize("kwargs, needle", [
    (dict(node_facts=["compute1"]), "node_facts: expected a mapping"),
    (dict(node_facts_dir="/nonexistent-dir"), "node_facts_dir: '/nonexistent-dir' is not a directory"),
])
def test_bad_values_name_the_option(kwargs, needle):
    with pytest.raises(attach.NodeFactsError) as exc:
        attach.from_options(_snapshot(), **kwargs)
    assert needle in str(exc.value)


def test_entries_without_facts_are_reported():
    s = _snapshot()
    w = []
    attach.attach(s, {"compute1": {"ansible_hostname": "compute1"}}, w)
    assert "node" not in s["hosts"][0] and "hold no nova_compute facts" in w[0]


def test_nothing_to_do_leaves_the_snapshot_alone():
    s = _snapshot()
    assert attach.from_options(s) == _snapshot()
