"""sysfs readers on trees laid out as the kernel does (conftest.build_tree), and on broken ones."""

import os

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import sysfs


def test_cpus_of_a_two_socket_smt_host(tree):
    w = []
    cpus = sysfs.read_cpus(str(tree), w)
    assert w == []
    assert cpus["present"] == list(range(16)) and cpus["online"] == list(range(16)) and cpus["offline"] == []
    assert cpus["isolated_sysfs"] == []
    assert cpus["smt"] == {"control": "on", "active": True}
    assert cpus["topology"][9] == {"socket": 0, "die": 0, "core": 1, "siblings": [1, 9]}
    summary = sysfs.summarize_topology(cpus["topology"], cpus["online"])
    assert summary["sockets"] == 2 and summary["cores"] == 4 and summary["threads"] == 2
    assert [1, 9] in summary["siblings"] and len(summary["siblings"]) == 8


def test_offline_cpus_and_smt_off(tmp_path, build_tree):
    root = build_tree(tmp_path / "r", sockets=1, cores=4, threads=1, online=[0, 1, 3])
    w = []
    cpus = sysfs.read_cpus(str(root), w)
    assert cpus["offline"] == [2] and cpus["online"] == [0, 1, 3]
    assert cpus["smt"] == {"control": "notsupported", "active": False}
    assert 2 not in cpus["topology"]
    assert sysfs.summarize_topology(cpus["topology"], cpus["online"])["threads"] == 1


def test_numa_cells_with_huge_pages(tmp_path, build_tree):
    root = build_tree(tmp_path / "r", hugepages={0: {2048: (512, 100)}, 1: {1048576: (4, 4)}})
    w = []
    cells = sysfs.read_numa(str(root), w)
    assert w == []
    assert [c["id"] for c in cells] == [0, 1]
    assert cells[0]["cpus"] == [0, 1, 2, 3, 8, 9, 10, 11]
    assert cells[1]["memory_kb"] == 16777217 and cells[1]["memory_mb"] == 16384
    assert cells[0]["hugepages"] == [{"size_kb": 2048, "total": 512, "free": 100},
                                     {"size_kb": 1048576, "total": 0, "free": 0}]
    assert cells[1]["hugepages"][1] == {"size_kb": 1048576, "total": 4, "free": 4}
    assert cells[0]["distances"] == {"0": 10, "1": 21}


def test_pci_devices_pf_vf(tree):
    w = []
    devs = {d["address"]: d for d in sysfs.read_pci(str(tree), w)}
    assert w == []
    pf = devs["0000:3b:00.0"]
    assert pf["vendor_id"] == "8086" and pf["product_id"] == "1572" and pf["class"] == "020000"
    assert pf["numa_node"] == 1 and pf["dev_type"] == "type-PF" and pf["driver"] == "i40e"
    assert pf["virtfns"] == ["0000:3b:02.0", "0000:3b:02.1"] and pf["sriov_totalvfs"] == 64
    assert pf["net"] == ["ens1f0"]
    vf = devs["0000:3b:02.1"]
    assert vf["dev_type"] == "type-VF" and vf["physfn"] == "0000:3b:00.0" and vf["product_id"] == "154c"
    sata = devs["0000:00:1f.2"]
    assert sata["numa_node"] is None and sata["dev_type"] == "type-PCI" and sata["driver"] is None


@pytest.mark.parametrize("cmdline, iso, flags, nohz", [
    ("ro quiet isolcpus=2-7,10-15 nohz_full=2-7", [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15], ["domain"],
     [2, 3, 4, 5, 6, 7]),
    ("isolcpus=managed_irq,domain,4-5", [4, 5], ["managed_irq", "domain"], None),
    ("isolcpus=nohz,1 isolcpus=3", [3], ["domain"], None),
    ("ro -- isolcpus=1", None, None, None),
    ("root=/dev/sda1", None, None, None),
])
def test_cmdline(cmdline, iso, flags, nohz):
    w = []
    out = sysfs.parse_cmdline(cmdline, w)
    assert (out["isolcpus"], out["isolcpus_flags"], out["nohz_full"]) == (iso, flags, nohz)
    assert w == []


def test_cmdline_garbage_is_a_warning():
    w = []
    out = sysfs.parse_cmdline("isolcpus=a-b nohz_full=^3", w)
    assert out["isolcpus"] is None and out["nohz_full"] is None
    assert len(w) == 2 and "isolcpus=a-b" in w[0] and "nohz_full=^3" in w[1]


def test_listeners(tree):
    w = []
    found = sysfs.read_listeners(str(tree), {16509, 16514}, w)
    assert found == [{"port": 16509, "address": "0.0.0.0", "family": "ipv4"},
                     {"port": 16514, "address": "::", "family": "ipv6"}]
    assert sysfs.read_listeners(str(tree), {22}, w) == [{"port": 22, "address": "127.0.0.1", "family": "ipv4"}]
    assert sysfs.read_listeners("/nonexistent-root", {16509}, w) is None
    assert "neither /proc/net/tcp" in w[-1]


def test_partial_and_bad_trees_give_warnings(tmp_path, write, build_tree):
    root = build_tree(tmp_path / "r")
    # a file replaced by a directory (unreadable), a garbage CPU list, a wrong distance row,
    # a missing meminfo, a PCI device without its vendor file
    os.remove(str(root / "sys/devices/system/cpu/online"))
    os.makedirs(str(root / "sys/devices/system/cpu/online"))
    write(root, "sys/devices/system/cpu/present", "zero-fifteen\n")
    write(root, "sys/devices/system/node/node1/distance", "10 21 31\n")
    os.remove(str(root / "sys/devices/system/node/node0/meminfo"))
    os.remove(str(root / "sys/devices/pci0000:00/0000:00:1f.2/vendor"))
    w = []
    cpus = sysfs.read_cpus(str(root), w)
    cells = sysfs.read_numa(str(root), w)
    devs = sysfs.read_pci(str(root), w)
    assert cpus["online"] is None and cpus["present"] is None and cpus["offline"] is None
    assert cells[0]["memory_mb"] is None and cells[1]["distances"] == {}
    assert [d for d in devs if d["address"] == "0000:00:1f.2"][0]["vendor_id"] is None
    text = "\n".join(w)
    for needle in ("/sys/devices/system/cpu/online could not be read", "/sys/devices/system/cpu/present is not a CPU list",
                   "node1/distance", "node0/meminfo does not exist", "0000:00:1f.2/vendor does not exist"):
        assert needle in text, text


def test_no_sysfs_at_all(tmp_path):
    w = []
    assert sysfs.read_numa(str(tmp_path), w) is None
    assert sysfs.read_pci(str(tmp_path), w) is None
    cpus = sysfs.read_cpus(str(tmp_path), w)
    assert cpus["present"] is None and cpus["topology"] == {}
    assert len(w) >= 5


def test_numa_without_node_directories(tmp_path, write):
    write(tmp_path, "sys/devices/system/node/online", "0\n")
    w = []
    assert sysfs.read_numa(str(tmp_path), w) == []
    assert "no node directories" in w[0]


def test_real_sysfs_of_this_machine_reads_without_exceptions():
    # Whatever this machine is: the readers never raise on a real tree.
    if not os.path.isdir("/sys/devices/system/cpu"):
        pytest.skip("no sysfs here")
    w = []
    cpus = sysfs.read_cpus("/", w)
    assert cpus["online"] and set(cpus["online"]) <= set(cpus["present"])
    # os.cpu_count() is sysconf(_SC_NPROCESSORS_ONLN): the kernel's count of online CPUs
    assert len(cpus["online"]) == os.cpu_count()
