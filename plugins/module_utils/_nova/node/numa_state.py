# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A compute node's facts turned into the snapshot's ``hosts[].numa`` (docs/snapshot.md).

Private library code: plain Python, no Ansible imports. The cells are built the way Nova's
libvirt driver builds its ``NUMATopology`` (``LibvirtDriver._get_host_numa_topology`` in Nova
34): ``cpuset`` = the cell's CPUs among those reported for VCPU (``_get_vcpu_available``),
``pcpuset`` = the cell's CPUs among those for PCPU (``_get_pcpu_available``, with the legacy
``vcpu_pin_set`` fallback), ``siblings`` = the thread sibling sets cut to those CPUs,
``memory`` = the cell's memory in MiB, ``mempages`` = every page size with its total and the
``[DEFAULT] reserved_huge_pages`` reservation, ``socket`` = the cell's socket when all its CPUs
share one.

Usage: Nova's driver reports none (its resource tracker adds the instances' claims). From the
node we know the running guests libvirt lists: a guest with a NUMA topology
(``<cpu><numa><cell>`` + ``<numatune><memnode>``) adds its cell memory to ``memory_usage`` of
the host node it is bound to; vCPUs pinned one-to-one onto CPUs of ``pcpuset`` go to
``pinned_cpus``, the others of such a guest cell add to ``cpu_usage``; huge page ``used`` is
the kernel's count (total - free). Guests without a NUMA topology do not count, as in Nova.
When the running guests are unknown (libvirt unreachable), the usage figures are 0 and
``usage_unknown`` says why: treat them as unknown, not as free.
"""

from __future__ import annotations


def _cells(facts):
    numa = facts.get("numa") or {}
    return numa.get("cells")


def nova_sibling_order(groups, usable):
    """The thread sibling sets of a cell in the order Nova's libvirt driver gives them.

    ``_get_host_numa_topology`` de-duplicates the CPUs' sibling tuples through a set and sorts the
    sets by inclusion, which leaves disjoint sets in the set's iteration order; then it cuts them
    to the usable CPUs and drops the empty ones. The order matters: Nova pins a guest's vCPUs by
    walking the sibling sets in that order, so the same construction here gives the same pins.
    """
    siblings = sorted(set(x) for x in set(tuple(set(group)) for group in groups))
    siblings = [group & usable for group in siblings]
    return [group for group in siblings if group]


def cells_from_facts(facts):
    """The snapshot ``numa`` dict for one host from its ``nova_compute`` facts.

    Returns ``{"cells": [...], "source": "node_facts", "unknown": None, ...}``, or
    ``{"cells": [], "source": "node_facts", "unknown": reason}`` when the facts do not say.
    """
    if not isinstance(facts, dict):
        return {"cells": [], "source": "node_facts", "unknown": "no compute-node facts for this host"}
    cells = _cells(facts)
    nova = facts.get("nova")
    if not cells:
        return {"cells": [], "source": "node_facts",
                "unknown": "the node facts have no NUMA cells (%s)" % _first_warning(facts, "numa")}
    if not nova or nova.get("vcpus") is None:
        return {"cells": [], "source": "node_facts",
                "unknown": "the node facts have no Nova CPU sets (nova subset missing or online CPUs unknown)"}
    if nova.get("errors"):
        return {"cells": [], "source": "node_facts",
                "unknown": "nova-compute's CPU options are invalid on this host: %s" % "; ".join(nova["errors"])}
    page_kb = (facts.get("numa") or {}).get("page_size_kb") or 4
    shared = set(nova.get("vcpus") or [])
    dedicated = set(nova.get("numa_pcpus") if nova.get("numa_pcpus") is not None else nova.get("pcpus") or [])
    reserved = {}
    for item in nova.get("reserved_huge_pages") or []:
        reserved.setdefault(item["node"], {})[item["size_kb"]] = item["count"]
    out_cells = []
    for cell in cells:
        cpus = set(cell.get("cpus") or [])
        cpuset = cpus & shared
        pcpuset = cpus & dedicated
        usable = cpus & (shared | dedicated)
        siblings = [sorted(s) for s in nova_sibling_order(cell.get("siblings") or [], usable)]
        memory_mb = cell.get("memory_mb")
        memory_kb = cell.get("memory_kb")
        if memory_kb is None and memory_mb is not None:
            memory_kb = memory_mb * 1024
        mempages = []
        small = cell.get("small_pages")
        if small is None and memory_kb is not None:
            # libvirt counts the cell's whole memory in base pages (virNumaGetPageInfo: MemTotal
            # / page size, huge pages not taken off).
            small = memory_kb // page_kb
        if small is not None:
            mempages.append({"size_kb": page_kb, "total": small, "used": 0,
                             "reserved": reserved.get(cell["id"], {}).get(page_kb, 0)})
        for hp in cell.get("hugepages") or []:
            total = hp.get("total") or 0
            free = hp.get("free")
            mempages.append({"size_kb": hp["size_kb"], "total": total,
                             "used": (total - free) if free is not None else 0,
                             "reserved": reserved.get(cell["id"], {}).get(hp["size_kb"], 0)})
        out_cells.append({
            "id": cell["id"], "cpuset": sorted(cpuset), "pcpuset": sorted(pcpuset),
            "siblings": siblings, "memory": memory_kb // 1024 if memory_kb is not None else 0,
            "memory_usage": 0, "cpu_usage": 0, "pinned_cpus": [],
            "mempages": mempages, "socket": cell.get("socket"),
        })
    result = {"cells": out_cells, "source": "node_facts", "unknown": None}
    guests = facts.get("guests")
    if guests is None:
        result["usage_unknown"] = ("the running guests are unknown (libvirt was not reachable); "
                                   "memory_usage, cpu_usage and pinned_cpus are not measured")
    else:
        _add_usage(out_cells, guests, dedicated)
    return result


def _add_usage(cells, guests, dedicated):
    by_id = {c["id"]: c for c in cells}
    for guest in guests:
        if not guest.get("cells"):
            continue  # no guest NUMA topology: Nova does not count it against cells
        memnodes = guest.get("memnodes") or {}
        vcpupin = guest.get("vcpupin") or {}
        for gcell in guest["cells"]:
            nodes = memnodes.get(str(gcell["id"])) or memnodes.get(gcell["id"])
            if not nodes or len(nodes) != 1 or nodes[0] not in by_id:
                continue
            host = by_id[nodes[0]]
            if gcell.get("memory_kb"):
                host["memory_usage"] += gcell["memory_kb"] // 1024
            for vcpu in gcell.get("cpus") or []:
                pin = vcpupin.get(str(vcpu)) or vcpupin.get(vcpu)
                if pin and len(pin) == 1 and pin[0] in dedicated and pin[0] in host["pcpuset"]:
                    if pin[0] not in host["pinned_cpus"]:
                        host["pinned_cpus"].append(pin[0])
                else:
                    host["cpu_usage"] += 1
    for c in cells:
        c["pinned_cpus"].sort()


def _first_warning(facts, prefix):
    for w in facts.get("warnings") or []:
        if w.startswith(prefix + ":"):
            return w
    return "no reason recorded"
