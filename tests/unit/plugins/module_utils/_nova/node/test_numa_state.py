"""cells_from_facts against Nova's own LibvirtDriver._get_host_numa_topology (the oracle), fed the
same real capabilities documents and CPU options; usage from running guests; unknowns."""

import os
import warnings

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import facts as nf
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import libvirt_caps as lc
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import nova_options as no
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "data", "real", "libvirt")


def _read(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def _nova_topology(xml, online, dedicated, shared, pin, reserved_hp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nova import objects
        objects.register_all()
        import nova.conf
        import nova.conf.neutron
        from nova.virt.libvirt import config as vconfig, driver as lvdriver
    conf = nova.conf.CONF
    try:
        conf.neutron_tunnel
    except Exception:
        nova.conf.neutron.register_dynamic_opts(conf)
    caps = vconfig.LibvirtConfigCaps()
    caps.parse_str(xml)

    class Host:
        def get_capabilities(self):
            return caps

        def get_online_cpus(self):
            return set(online)

        get_available_cpus = get_online_cpus
    drv = lvdriver.LibvirtDriver.__new__(lvdriver.LibvirtDriver)
    drv._host = Host()
    drv._reserved_hugepages = reserved_hp
    drv._has_numa_support = lambda: True
    conf.set_override("cpu_dedicated_set", dedicated, group="compute")
    conf.set_override("cpu_shared_set", shared, group="compute")
    conf.set_override("vcpu_pin_set", pin)
    try:
        return drv._get_host_numa_topology()
    finally:
        conf.clear_override("cpu_dedicated_set", group="compute")
        conf.clear_override("cpu_shared_set", group="compute")
        conf.clear_override("vcpu_pin_set")


def _facts_from(xml, online, dedicated, shared, pin, reserved):
    """The facts the module builds when sysfs has no node directories (the libvirt fallback)."""
    caps = lc.parse_capabilities(xml)
    w = []
    numa = nf._numa_facts("/nonexistent-root", caps, {}, w, page_kb=4)
    eff = {("compute", "cpu_dedicated_set"): dedicated, ("compute", "cpu_shared_set"): shared,
           ("DEFAULT", "vcpu_pin_set"): pin, ("DEFAULT", "reserved_host_cpus"): 0}
    sets = no.cpu_sets(eff, present=online, online=online, isolated=[])
    nova = {"vcpus": sets["vcpus"], "pcpus": sets["pcpus"], "numa_pcpus": sets["numa_pcpus"], "errors": sets["errors"],
            "reserved_huge_pages": [{"node": n, "size_kb": s, "count": c}
                                    for n, sizes in reserved.items() for s, c in sizes.items()]}
    return {"numa": numa, "nova": nova, "guests": []}


DOCS = ["libvirt-vircaps-x86_64-resctrl-amd-2socket.xml", "libvirt-caps-qemu-real-full-amd-host.xml",
        "libvirt-vircaps-aarch64-basic-4cell-nosmt.xml", "libvirt-caps-test3-westmere-2socket.xml",
        "testhost-debian12-libvirt9-caps.xml"]
CONFIGS = [
    dict(),
    dict(dedicated="4-15,36-47", shared="0-3,32-35"),
    dict(dedicated="2-5"),
    dict(shared="0-1"),
    dict(pin="1-3"),
    dict(pin="0-1", shared="0"),
    dict(dedicated="8-11", shared="0,1", reserved={0: {2048: 10}, 1: {1048576: 1}}),
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_cells_agree_with_novas_driver(doc, cfg):
    xml = _read(doc)
    caps = lc.parse_capabilities(xml)
    online = sorted(cpu["id"] for c in caps["cells"] for cpu in c["cpus"])
    cfg = dict(cfg)
    reserved = cfg.pop("reserved", {})
    dedicated, shared, pin = cfg.get("dedicated"), cfg.get("shared"), cfg.get("pin")
    # skip option values beyond this document's CPUs: Nova refuses them (tested in test_nova_options)
    for spec in (dedicated, shared, pin):
        if spec and not no.parse_cpu_spec(spec) <= set(online):
            pytest.skip("option beyond this host's CPUs")
    ours = numa_state.cells_from_facts(_facts_from(xml, online, dedicated, shared, pin, reserved))
    if not any(cpu["siblings"] for c in caps["cells"] for cpu in c["cpus"]):
        # Old libvirt output without siblings attributes: Nova 34's driver fails on it
        # (tuple(None)); the facts still give cells, with no sibling sets.
        with pytest.raises(TypeError):
            _nova_topology(xml, online, dedicated, shared, pin, reserved)
        assert ours["cells"] and all(c["siblings"] == [] for c in ours["cells"])
        return
    theirs = _nova_topology(xml, online, dedicated, shared, pin, reserved)
    assert ours["unknown"] is None and ours["source"] == "node_facts"
    assert len(ours["cells"]) == len(theirs.cells)
    for o, t in zip(ours["cells"], theirs.cells):
        assert o["id"] == t.id
        assert o["cpuset"] == sorted(t.cpuset)
        assert o["pcpuset"] == sorted(t.pcpuset)
        assert {frozenset(s) for s in o["siblings"]} == {frozenset(s) for s in t.siblings}
        assert o["memory"] == t.memory
        assert o["socket"] == t.socket
        assert [(m["size_kb"], m["total"], m["reserved"]) for m in o["mempages"]] == \
            [(m.size_kb, m.total, m.reserved) for m in t.mempages]
        assert (o["memory_usage"], o["cpu_usage"], o["pinned_cpus"]) == (t.memory_usage, t.cpu_usage, sorted(t.pinned_cpus))


def test_sysfs_facts_give_the_same_cells(tmp_path, build_tree):
    root = build_tree(tmp_path / "r", hugepages={0: {2048: (512, 500)}, 1: {1048576: (8, 2)}})
    w = []
    cpu = nf._cpu_facts(str(root), str(root), None, None, w)
    numa = nf._numa_facts(str(root), None, cpu, w, page_kb=4)
    eff = {("compute", "cpu_dedicated_set"): "2-3,6-7,10-11,14-15", ("compute", "cpu_shared_set"): "0-1,8-9",
           ("DEFAULT", "vcpu_pin_set"): None, ("DEFAULT", "reserved_host_cpus"): 0}
    sets = no.cpu_sets(eff, present=cpu["present"], online=cpu["online"], isolated=cpu["isolated"])
    facts = {"numa": numa, "nova": dict(sets, reserved_huge_pages=[]), "guests": None}
    out = numa_state.cells_from_facts(facts)
    c0, c1 = out["cells"]
    assert c0["cpuset"] == [0, 1, 8, 9] and c0["pcpuset"] == [2, 3, 10, 11]
    assert c1["cpuset"] == [] and c1["pcpuset"] == [6, 7, 14, 15]
    # the sets in the libvirt driver's order (test_preflight_numa checks the pins that order gives)
    assert sorted(c0["siblings"]) == [[0, 8], [1, 9], [2, 10], [3, 11]] and sorted(c1["siblings"]) == [[6, 14], [7, 15]]
    assert c0["memory"] == 16384 and c0["socket"] == 0 and c1["socket"] == 1
    assert c0["mempages"] == [{"size_kb": 4, "total": 4194304, "used": 0, "reserved": 0},
                              {"size_kb": 2048, "total": 512, "used": 12, "reserved": 0},
                              {"size_kb": 1048576, "total": 0, "used": 0, "reserved": 0}]
    assert c1["mempages"][2] == {"size_kb": 1048576, "total": 8, "used": 6, "reserved": 0}
    assert "usage_unknown" in out and w == []


def test_usage_from_running_guests():
    xml = _read("libvirt-vircaps-x86_64-resctrl-amd-2socket.xml")
    online = list(range(64))
    facts = _facts_from(xml, online, "4-15,36-47", "0-3,32-35", None, {})
    pinned = lc.parse_domain("""<domain><name>pinned</name><vcpu>2</vcpu>
        <cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='36'/></cputune>
        <numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>
        <cpu><numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/></numa></cpu></domain>""")
    floating = lc.parse_domain("""<domain><name>numa-shared</name><vcpu>3</vcpu>
        <cputune><vcpupin vcpu='0' cpuset='0-3,32-35'/><vcpupin vcpu='1' cpuset='0-3,32-35'/>
        <vcpupin vcpu='2' cpuset='0-3,32-35'/></cputune>
        <numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>
        <cpu><numa><cell id='0' cpus='0-2' memory='524288' unit='KiB'/></numa></cpu></domain>""")
    plain = lc.parse_domain("<domain><name>no-numa</name><vcpu>4</vcpu><memory unit='KiB'>4194304</memory></domain>")
    facts["guests"] = [pinned, floating, plain]
    out = numa_state.cells_from_facts(facts)
    c0, c1 = out["cells"]
    assert c0["pinned_cpus"] == [4, 36] and c0["cpu_usage"] == 3 and c0["memory_usage"] == 1536
    assert (c1["pinned_cpus"], c1["cpu_usage"], c1["memory_usage"]) == ([], 0, 0)
    assert "usage_unknown" not in out


@pytest.mark.parametrize("facts, reason", [
    (None, "no compute-node facts"),
    ({"numa": {"cells": None}, "warnings": ["numa: /sys/devices/system/node does not exist"]}, "does not exist"),
    ({"numa": {"cells": [{"id": 0, "cpus": [0]}]}, "nova": None}, "no Nova CPU sets"),
    ({"numa": {"cells": [{"id": 0, "cpus": [0]}]}, "nova": {"vcpus": [0], "errors": ["[compute] x"]}}, "invalid"),
])
def test_unknown_when_the_facts_do_not_say(facts, reason):
    out = numa_state.cells_from_facts(facts)
    assert out["cells"] == [] and reason in out["unknown"]
