"""NUMA capacity of a minicloud topology's hosts in the snapshot shape (``hosts[].numa``, no usage).

What compute-node facts would give for the fake driver's hosts (the cells it reports), built
from the topology file with the same rules (tests/minicloud/mc_topology.numa_cpu_sets), so the
"capacity + compute API" path of the snapshot can be checked against Nova's own record.
"""

import mc_topology


def topology_capacity(topo):
    out = {}
    for host in topo["hosts"]:
        numa = host.get("numa")
        if not numa:
            out[host["name"]] = {"cells": [], "source": "topology", "unknown": None}
            continue
        _online, shared, dedicated, _pcpus = mc_topology.numa_cpu_sets(numa)
        cells = []
        for i, cell in enumerate(numa["cells"]):
            cpus = mc_topology.cpuset(cell["cpus"], "cpus")
            usable = cpus & (shared | dedicated)
            sibs = [sorted(set(s) & usable) for s in (cell.get("siblings") or [[c] for c in sorted(cpus)])]
            huge = cell.get("hugepages") or []
            small = cell["memory_mb"] * 1024 // 4  # libvirt: the whole cell memory in base pages
            pages = [{"size_kb": 4, "total": small, "used": 0, "reserved": cell.get("reserved_4k_pages", 0)}]
            pages += [{"size_kb": h["size_kb"], "total": h["total"], "used": 0, "reserved": h.get("reserved", 0)}
                      for h in sorted(huge, key=lambda x: x["size_kb"])]
            cells.append({"id": i, "cpuset": sorted(cpus & shared), "pcpuset": sorted(cpus & dedicated),
                          "siblings": sorted((s for s in sibs if s), key=min), "memory": cell["memory_mb"],
                          "memory_usage": 0, "cpu_usage": 0, "pinned_cpus": [], "mempages": pages,
                          "socket": cell.get("socket", i)})
        out[host["name"]] = {"cells": cells, "source": "topology", "unknown": None}
    return out
