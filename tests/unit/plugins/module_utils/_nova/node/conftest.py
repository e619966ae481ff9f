"""Fixtures: sysfs / proc trees built in a temporary directory, laid out as the kernel does."""

import os

import pytest


def _w(root, rel, text):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _cpulist(cpus):
    return ",".join(str(c) for c in cpus)


def build_tree(root, sockets=2, cores=4, threads=2, online=None, isolated="", cmdline="BOOT_IMAGE=/vmlinuz ro",
               hugepages=None, pci=True):
    """A host of sockets x cores x threads CPUs, one NUMA node per socket, numbered like Linux on
    x86 (thread 0 of every core first, then the siblings: cpu = t * sockets*cores + s*cores + c).
    hugepages: {node: {size_kb: (total, free)}}."""
    ncpu = sockets * cores * threads
    online = list(range(ncpu)) if online is None else online
    base = "sys/devices/system/cpu"
    _w(root, base + "/present", "0-%d\n" % (ncpu - 1))
    _w(root, base + "/possible", "0-%d\n" % (ncpu - 1))
    _w(root, base + "/online", _cpulist(online) + "\n")
    _w(root, base + "/isolated", isolated + "\n")
    _w(root, base + "/smt/control", "on\n" if threads > 1 else "notsupported\n")
    _w(root, base + "/smt/active", "1\n" if threads > 1 else "0\n")
    node_cpus = {s: [] for s in range(sockets)}
    for t in range(threads):
        for s in range(sockets):
            for c in range(cores):
                cpu = t * sockets * cores + s * cores + c
                node_cpus[s].append(cpu)
                if cpu not in online:
                    continue
                sib = [tt * sockets * cores + s * cores + c for tt in range(threads)]
                tdir = "%s/cpu%d/topology" % (base, cpu)
                _w(root, tdir + "/physical_package_id", "%d\n" % s)
                _w(root, tdir + "/die_id", "0\n")
                _w(root, tdir + "/core_id", "%d\n" % c)
                _w(root, tdir + "/thread_siblings_list", _cpulist(sib) + "\n")
    nbase = "sys/devices/system/node"
    _w(root, nbase + "/online", "0-%d\n" % (sockets - 1))
    hugepages = hugepages or {}
    for s in range(sockets):
        ndir = "%s/node%d" % (nbase, s)
        _w(root, ndir + "/cpulist", _cpulist(sorted(node_cpus[s])) + "\n")
        _w(root, ndir + "/meminfo", "Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\n"
           % (s, 16777216 + s, s, 8000000))
        _w(root, ndir + "/distance", " ".join("10" if o == s else "21" for o in range(sockets)) + "\n")
        for size in (2048, 1048576):
            total, free = hugepages.get(s, {}).get(size, (0, 0))
            hdir = "%s/hugepages/hugepages-%dkB" % (ndir, size)
            _w(root, hdir + "/nr_hugepages", "%d\n" % total)
            _w(root, hdir + "/free_hugepages", "%d\n" % free)
    _w(root, "proc/cmdline", cmdline + "\n")
    _w(root, "proc/net/tcp",
       "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
       "   0: 00000000:407D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
       "   1: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
       "   2: 0100007F:407D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n")
    _w(root, "proc/net/tcp6",
       "  sl  local_address                         remote_address                        st\n"
       "   0: 00000000000000000000000000000000:4082 00000000000000000000000000000000:0000 0A 0\n")
    if pci:
        pbase = "sys/bus/pci/devices"
        dbase = "sys/devices/pci0000:00"
        # an Intel X710 PF with two VFs on node 1, a VF of it, and an ordinary device on no node
        devs = {
            "0000:3b:00.0": dict(vendor="0x8086", device="0x1572", klass="0x020000", numa="1", totalvfs="64",
                                 numvfs="2", net="ens1f0"),
            "0000:3b:02.0": dict(vendor="0x8086", device="0x154c", klass="0x020000", numa="1", physfn="0000:3b:00.0",
                                 net="ens1f0v0"),
            "0000:3b:02.1": dict(vendor="0x8086", device="0x154c", klass="0x020000", numa="1", physfn="0000:3b:00.0"),
            "0000:00:1f.2": dict(vendor="0x8086", device="0xa182", klass="0x010601", numa="-1"),
        }
        for addr, d in devs.items():
            real = "%s/%s" % (dbase, addr)
            _w(root, real + "/vendor", d["vendor"] + "\n")
            _w(root, real + "/device", d["device"] + "\n")
            _w(root, real + "/class", d["klass"] + "\n")
            _w(root, real + "/numa_node", d["numa"] + "\n")
            if "totalvfs" in d:
                _w(root, real + "/sriov_totalvfs", d["totalvfs"] + "\n")
                _w(root, real + "/sriov_numvfs", d["numvfs"] + "\n")
            if "net" in d:
                os.makedirs(os.path.join(str(root), real, "net", d["net"]), exist_ok=True)
            os.makedirs(os.path.join(str(root), pbase), exist_ok=True)
            os.symlink(os.path.join("..", "..", "..", "devices", "pci0000:00", addr),
                       os.path.join(str(root), pbase, addr))
        for i, vf in enumerate(("0000:3b:02.0", "0000:3b:02.1")):
            os.symlink("../" + vf, os.path.join(str(root), dbase, "0000:3b:00.0", "virtfn%d" % i))
            os.symlink("../0000:3b:00.0", os.path.join(str(root), dbase, vf, "physfn"))
        os.makedirs(os.path.join(str(root), "sys/bus/pci/drivers/i40e"), exist_ok=True)
        os.symlink("../../../bus/pci/drivers/i40e", os.path.join(str(root), dbase, "0000:3b:00.0", "driver"))
    return root


@pytest.fixture
def tree(tmp_path):
    return build_tree(tmp_path / "root")


@pytest.fixture
def write():
    return _w


@pytest.fixture(name="build_tree")
def _build_tree_fixture():
    return build_tree
