# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A compute node's CPUs, NUMA nodes and PCI devices read from sysfs and /proc.

Private library code: plain Python, no Ansible imports. Every reader takes the root of the
tree (``/`` on a node, a temporary directory in tests) and a ``warnings`` list; a file that is
missing or unreadable adds a warning naming it and the value is left out (None / empty), never
an exception.

Paths read (the kernel's documented ABI, Documentation/ABI/stable and testing):
``sys/devices/system/cpu/{present,online,possible,isolated}``,
``sys/devices/system/cpu/cpuN/topology/{physical_package_id,die_id,core_id,thread_siblings_list}``,
``sys/devices/system/cpu/smt/{control,active}``,
``sys/devices/system/node/nodeN/{cpulist,meminfo,distance}``,
``sys/devices/system/node/nodeN/hugepages/hugepages-<size>kB/{nr_hugepages,free_hugepages}``,
``sys/bus/pci/devices/<address>/{vendor,device,class,numa_node,physfn,virtfnN,sriov_totalvfs,
sriov_numvfs,driver,net}``, ``proc/cmdline``.
"""

from __future__ import annotations

import os
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.cpuset import (
    CpuSpecError, parse_cpu_spec)

_NODE_RE = re.compile(r"^node(\d+)$")
_CPU_RE = re.compile(r"^cpu(\d+)$")
_HP_RE = re.compile(r"^hugepages-(\d+)kB$")
_PCI_ADDR_RE = re.compile(r"^[0-9a-fA-F]{4,}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")


def _path(root, rel):
    return os.path.join(root or "/", rel.lstrip("/"))


def read_text(root, rel, warnings, what=None, missing_ok=False):
    """The stripped text of ``root/rel``; None (and a warning unless ``missing_ok``) when it
    cannot be read."""
    path = _path(root, rel)
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip()
    except FileNotFoundError:
        if not missing_ok:
            warnings.append("%s: /%s does not exist" % (what or "sysfs", rel.lstrip("/")))
    except OSError as exc:
        warnings.append("%s: /%s could not be read (%s)"
                        % (what or "sysfs", rel.lstrip("/"), exc.strerror or exc))
    return None


def parse_cpulist(text):
    """The kernel's list format (``0-3,8-11``, empty for none) as a sorted list of ints.
    Raises CpuSpecError for anything else."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return []
    if "^" in text:
        raise CpuSpecError("%r is not a kernel CPU list" % text)
    return sorted(parse_cpu_spec(text))


def _cpulist(root, rel, warnings, what, missing_ok=False):
    text = read_text(root, rel, warnings, what, missing_ok=missing_ok)
    if text is None:
        return None
    try:
        return parse_cpulist(text)
    except CpuSpecError as exc:
        warnings.append("%s: /%s is not a CPU list (%s)" % (what, rel.lstrip("/"), exc))
        return None


def _int(text):
    try:
        return int(text, 0) if text is not None else None
    except ValueError:
        return None


def _listdir(root, rel, warnings, what, missing_ok=False):
    try:
        return sorted(os.listdir(_path(root, rel)))
    except FileNotFoundError:
        if not missing_ok:
            warnings.append("%s: /%s does not exist" % (what, rel.lstrip("/")))
    except OSError as exc:
        warnings.append("%s: /%s could not be listed (%s)" % (what, rel.lstrip("/"), exc.strerror or exc))
    return None


# -- CPUs ------------------------------------------------------------------------------------
def read_cpus(root, warnings):
    """present/online/possible/offline/isolated CPU lists, SMT state and per-CPU topology."""
    base = "sys/devices/system/cpu"
    out = {}
    for name in ("present", "online", "possible"):
        out[name] = _cpulist(root, "%s/%s" % (base, name), warnings, "cpu")
    # 'isolated' exists since Linux 4.2; an absent file means this kernel does not say.
    out["isolated_sysfs"] = _cpulist(root, base + "/isolated", warnings, "cpu", missing_ok=True)
    smt = {}
    for name in ("control", "active"):
        text = read_text(root, "%s/smt/%s" % (base, name), warnings, "cpu", missing_ok=True)
        if text is not None:
            smt[name] = (text == "1") if name == "active" else text
    out["smt"] = smt or None
    topology = {}
    entries = _listdir(root, base, warnings, "cpu") or []
    for entry in entries:
        m = _CPU_RE.match(entry)
        if not m:
            continue
        cpu = int(m.group(1))
        tdir = "%s/%s/topology" % (base, entry)
        if not os.path.isdir(_path(root, tdir)):
            continue  # an offline CPU has no topology directory on some kernels
        info = {}
        for key, rel in (("socket", "physical_package_id"), ("die", "die_id"), ("core", "core_id")):
            value = _int(read_text(root, "%s/%s" % (tdir, rel), warnings, "cpu", missing_ok=True))
            if value is not None:
                info[key] = value
        sib = _cpulist(root, tdir + "/thread_siblings_list", warnings, "cpu", missing_ok=True)
        if sib is not None:
            info["siblings"] = sib
        topology[cpu] = info
    out["topology"] = topology
    present = out["present"]
    online = out["online"]
    if present is not None and online is not None:
        out["offline"] = sorted(set(present) - set(online))
    else:
        out["offline"] = None
    return out


def summarize_topology(topology, online):
    """sockets / cores per socket / threads per core and the distinct sibling sets of the
    online CPUs, from the per-CPU topology (None values when nothing is known)."""
    cpus = [c for c in sorted(topology) if online is None or c in set(online)]
    sockets = sorted({topology[c]["socket"] for c in cpus if "socket" in topology[c]})
    cores = {(topology[c].get("socket"), topology[c].get("die"), topology[c]["core"])
             for c in cpus if "core" in topology[c]}
    siblings = sorted({tuple(topology[c]["siblings"]) for c in cpus if topology[c].get("siblings")})
    threads = max((len(s) for s in siblings), default=None)
    return {
        "sockets": len(sockets) or None,
        "cores": (len(cores) // len(sockets)) if sockets and cores else None,
        "threads": threads,
        "siblings": [list(s) for s in siblings],
    }


# -- NUMA nodes ------------------------------------------------------------------------------
def _meminfo_kb(text, key):
    # "Node 0 MemTotal:       13592296 kB"
    if not text:
        return None
    m = re.search(r"\b%s:\s+(\d+)\s*kB" % re.escape(key), text)
    return int(m.group(1)) if m else None


def read_numa(root, warnings):
    """NUMA nodes: [{id, cpus, memory_mb, memory_free_mb, hugepages, distances}] or None when
    the kernel has no NUMA support exposed (a warning)."""
    base = "sys/devices/system/node"
    entries = _listdir(root, base, warnings, "numa")
    if entries is None:
        return None
    cells = []
    for entry in entries:
        m = _NODE_RE.match(entry)
        if not m:
            continue
        node = int(m.group(1))
        ndir = "%s/%s" % (base, entry)
        cell = {"id": node, "cpus": _cpulist(root, ndir + "/cpulist", warnings, "numa")}
        meminfo = read_text(root, ndir + "/meminfo", warnings, "numa")
        total = _meminfo_kb(meminfo, "MemTotal")
        free = _meminfo_kb(meminfo, "MemFree")
        cell["memory_kb"] = total
        cell["memory_mb"] = total // 1024 if total is not None else None
        cell["memory_free_mb"] = free // 1024 if free is not None else None
        pages = []
        hp_entries = _listdir(root, ndir + "/hugepages", warnings, "numa", missing_ok=True) or []
        for hp in hp_entries:
            hm = _HP_RE.match(hp)
            if not hm:
                continue
            hdir = "%s/hugepages/%s" % (ndir, hp)
            pages.append({
                "size_kb": int(hm.group(1)),
                "total": _int(read_text(root, hdir + "/nr_hugepages", warnings, "numa")),
                "free": _int(read_text(root, hdir + "/free_hugepages", warnings, "numa")),
            })
        cell["hugepages"] = sorted(pages, key=lambda p: p["size_kb"])
        distance = read_text(root, ndir + "/distance", warnings, "numa")
        cell["distances"] = {}
        if distance:
            values = distance.split()
            node_ids = sorted(int(_NODE_RE.match(e).group(1)) for e in entries if _NODE_RE.match(e))
            if len(values) == len(node_ids) and all(v.isdigit() for v in values):
                # The row lists distances to every possible node in id order; nodes are dense
                # on real hosts (a sparse layout would be mislabelled, hence the length check).
                cell["distances"] = {str(n): int(v) for n, v in zip(node_ids, values)}
            else:
                warnings.append("numa: /%s/distance %r does not match the %d nodes"
                                % (ndir, distance, len(node_ids)))
        cells.append(cell)
    if not cells:
        warnings.append("numa: no node directories under /%s" % base)
    return cells


# -- PCI devices -----------------------------------------------------------------------------
def _hex_id(text, width):
    if text is None:
        return None
    text = text.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not re.match(r"^[0-9a-f]+$", text):
        return None
    return text.zfill(width)


def _link_name(root, rel):
    try:
        return os.path.basename(os.readlink(_path(root, rel)))
    except OSError:
        return None


def read_pci(root, warnings):
    """PCI devices: [{address, vendor_id, product_id, class, numa_node, driver, physfn,
    virtfns, sriov_totalvfs, sriov_numvfs, dev_type, net}] (None when /sys/bus/pci is missing).

    ``dev_type`` follows Nova's libvirt driver: type-VF for a virtual function (it has a
    physfn), type-PF for an SR-IOV capable physical function (it has sriov_totalvfs), else
    type-PCI."""
    base = "sys/bus/pci/devices"
    entries = _listdir(root, base, warnings, "pci")
    if entries is None:
        return None
    devices = []
    for address in entries:
        if not _PCI_ADDR_RE.match(address):
            continue
        ddir = "%s/%s" % (base, address)
        dev = {"address": address.lower()}
        dev["vendor_id"] = _hex_id(read_text(root, ddir + "/vendor", warnings, "pci"), 4)
        dev["product_id"] = _hex_id(read_text(root, ddir + "/device", warnings, "pci"), 4)
        dev["class"] = _hex_id(read_text(root, ddir + "/class", warnings, "pci"), 6)
        numa = _int(read_text(root, ddir + "/numa_node", warnings, "pci", missing_ok=True))
        dev["numa_node"] = numa if numa is not None and numa >= 0 else None
        dev["driver"] = _link_name(root, ddir + "/driver")
        dev["physfn"] = _link_name(root, ddir + "/physfn")
        virtfns = []
        try:
            names = os.listdir(_path(root, ddir))
        except OSError:
            names = []
        for name in sorted(names, key=lambda n: (len(n), n)):
            if re.match(r"^virtfn\d+$", name):
                target = _link_name(root, "%s/%s" % (ddir, name))
                if target:
                    virtfns.append(target)
        dev["virtfns"] = virtfns
        dev["sriov_totalvfs"] = _int(read_text(root, ddir + "/sriov_totalvfs", warnings, "pci", missing_ok=True))
        dev["sriov_numvfs"] = _int(read_text(root, ddir + "/sriov_numvfs", warnings, "pci", missing_ok=True))
        if dev["physfn"]:
            dev["dev_type"] = "type-VF"
        elif dev["sriov_totalvfs"]:
            dev["dev_type"] = "type-PF"
        else:
            dev["dev_type"] = "type-PCI"
        net = _listdir(root, ddir + "/net", warnings, "pci", missing_ok=True)
        dev["net"] = net or []
        devices.append(dev)
    return devices


# -- kernel command line ---------------------------------------------------------------------
ISOLCPUS_FLAGS = ("nohz", "domain", "managed_irq")


def parse_cmdline(text, warnings):
    """isolcpus (CPUs and flags) and nohz_full from a kernel command line.

    ``isolcpus=[flag,...,]cpu-list`` (flags nohz, domain, managed_irq; none means domain);
    ``nohz_full=cpu-list``. The last occurrence wins, as the kernel's __setup handlers do.
    """
    out = {"isolcpus": None, "isolcpus_flags": None, "nohz_full": None}
    if text is None:
        return out
    for word in text.split():
        if word == "--":
            break  # what follows is for init
        key, sep, value = word.partition("=")
        if not sep:
            continue
        if key == "isolcpus":
            parts = value.split(",")
            flags = []
            while parts and parts[0] in ISOLCPUS_FLAGS:
                flags.append(parts.pop(0))
            try:
                out["isolcpus"] = parse_cpulist(",".join(parts))
                out["isolcpus_flags"] = flags or ["domain"]
            except CpuSpecError as exc:
                warnings.append("cmdline: isolcpus=%s is not understood (%s)" % (value, exc))
        elif key == "nohz_full":
            try:
                out["nohz_full"] = parse_cpulist(value)
            except CpuSpecError as exc:
                warnings.append("cmdline: nohz_full=%s is not understood (%s)" % (value, exc))
    return out


# -- listeners -------------------------------------------------------------------------------
def read_listeners(root, ports, warnings):
    """TCP ports in LISTEN state among ``ports``, from /proc/net/tcp and tcp6:
    [{"port": n, "address": "0.0.0.0"|"::"|..., "family": "ipv4"|"ipv6"}]."""
    found = []
    read_any = False
    for name, family in (("proc/net/tcp", "ipv4"), ("proc/net/tcp6", "ipv6")):
        text = read_text(root, name, warnings, "listeners", missing_ok=True)
        if text is None:
            continue
        read_any = True
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A = TCP_LISTEN
                continue
            addr_hex, dummy, port_hex = fields[1].partition(":")
            try:
                port = int(port_hex, 16)
            except ValueError:
                continue
            if port not in ports:
                continue
            found.append({"port": port, "address": _proc_addr(addr_hex, family), "family": family})
    if not read_any:
        warnings.append("listeners: neither /proc/net/tcp nor /proc/net/tcp6 could be read")
        return None
    uniq = []
    for item in found:
        if item not in uniq:
            uniq.append(item)
    return sorted(uniq, key=lambda i: (i["port"], i["family"], i["address"]))


def _proc_addr(addr_hex, family):
    import socket
    import struct
    try:
        if family == "ipv4":
            return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(addr_hex, 16)))
        raw = bytes.fromhex(addr_hex)
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        return socket.inet_ntop(socket.AF_INET6, words)
    except (ValueError, OSError, struct.error):
        return addr_hex
