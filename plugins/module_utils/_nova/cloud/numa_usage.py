# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host NUMA cells and PCI pools for the snapshot (``hosts[].numa``, ``hosts[].pci_pools``).

Private library code. Two sources, both optional; what neither gives stays unknown with the
reason (the explain engine then says "unknown" for NUMATopologyFilter / PciPassthroughFilter,
never pass or fail):

* **capacity + the compute API** (no database access): the cells without usage come from the
  caller (``capacity``: ``{host name: {"cells": [...], "source": ...}}``, or ``{host name: its
  nova_compute facts}``, turned into cells by ``node/numa_state.cells_from_facts``; any usage in
  them is replaced); the usage is added from the servers on the
  host. Only servers whose flavor asks for a guest NUMA topology (``hw:numa_nodes``,
  ``hw:mem_page_size``, ``hw:cpu_policy`` dedicated/mixed, ``hw:pmem``) have one, and only for
  those one ``GET /servers/{id}/topology`` (microversion 2.78; admin sees ``host_node`` and
  ``cpu_pinning``) is made. Nova's own accounting is mirrored
  (``hardware.numa_usage_from_instance_numa``): memory usage per host cell, shared vCPUs as
  ``cpu_usage``, pinned host CPUs (with their siblings under ``hw:cpu_thread_policy=isolate``),
  pages of the guest's page size (the smallest when it has none). What the API does not show
  makes the host unknown: the host CPU of an isolated emulator thread
  (``hw:emulator_threads_policy=isolate``), a NUMA topology from image properties only, a
  server whose topology call failed. PCI pools are not in the compute API: unknown here.
* **the cell database, read only** (``nova_db``: an SQLAlchemy URL; ``sqlite:///`` is opened
  with the standard library in read-only mode): ``compute_nodes.numa_topology`` and
  ``pci_stats`` as the resource tracker last wrote them (its periodic update or a claim).
"""

from __future__ import annotations

import copy
import json

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as _rest
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state

TOPOLOGY_MICROVERSION = "2.78"
# extra specs that give a guest a NUMA topology (nova.virt.hardware.numa_get_constraints)
_NUMA_SPECS = ("hw:numa_nodes", "hw:mem_page_size", "hw:pmem")
_PINNED_POLICIES = ("dedicated", "mixed")
# image properties that do the same: the server list shows the image id only
_NUMA_IMAGE_PROPS = ("hw_numa_nodes", "hw_mem_page_size", "hw_cpu_policy", "hw_pmem")


class NumaStateError(Exception):
    """The NUMA/PCI source cannot be read (message names it, no secret)."""


def flavor_wants_numa(extra_specs):
    """Does a flavor's extra specs give its servers a guest NUMA topology?"""
    specs = extra_specs or {}
    if any(specs.get(k) not in (None, "") for k in _NUMA_SPECS):
        return True
    return str(specs.get("hw:cpu_policy", "")).lower() in _PINNED_POLICIES


def _unknown(reason, source=None):
    return {"cells": None, "source": source, "unknown": reason}


# ------------------------------------------------------------------ Nova's JSON objects
def _data(obj):
    return obj.get("nova_object.data", obj) if isinstance(obj, dict) else obj


def cell_from_nova(cell):
    """One serialized ``objects.NUMACell`` as a snapshot cell."""
    cell = _data(cell)
    return {
        "id": cell["id"],
        "cpuset": sorted(cell.get("cpuset") or []),
        "pcpuset": sorted(cell.get("pcpuset") or []),
        "siblings": [sorted(s) for s in cell.get("siblings") or []],
        "memory": cell.get("memory"),
        "memory_usage": cell.get("memory_usage", 0),
        "cpu_usage": cell.get("cpu_usage", 0),
        "pinned_cpus": sorted(cell.get("pinned_cpus") or []),
        "mempages": [{"size_kb": p["size_kb"], "total": p["total"], "used": p.get("used", 0),
                      "reserved": p.get("reserved", 0)} for p in (_data(m) for m in cell.get("mempages") or [])],
        "socket": cell.get("socket"),
    }


def numa_from_nova(text):
    """``compute_nodes.numa_topology`` (a serialized ``objects.NUMATopology``, or NULL)."""
    if not text:
        return {"cells": [], "source": "nova_db", "unknown": None}
    topo = _data(json.loads(text) if isinstance(text, str) else text)
    return {"cells": [cell_from_nova(c) for c in topo.get("cells") or []], "source": "nova_db", "unknown": None}


def pci_pools_from_nova(text):
    """``compute_nodes.pci_stats`` (a serialized ``objects.PciDevicePoolList``) as snapshot pools."""
    if not text:
        return []
    body = _data(json.loads(text) if isinstance(text, str) else text)
    pools = []
    for pool in body.get("objects") or []:
        pool = _data(pool)
        tags = dict(pool.get("tags") or {})
        dev_type = tags.pop("dev_type", None)
        pools.append({"vendor_id": pool.get("vendor_id"), "product_id": pool.get("product_id"),
                      "numa_node": pool.get("numa_node"), "count": pool.get("count", 0),
                      "dev_type": dev_type, "tags": tags})
    return pools


# ------------------------------------------------------------------ the cell database
def _sqlite_path(url):
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            return url[len(prefix):].split("?", 1)[0]
    return None


def read_compute_nodes(url):
    """``[(host, hypervisor_hostname, numa_topology, pci_stats)]`` of the live compute nodes, read only."""
    query = ("SELECT host, hypervisor_hostname, numa_topology, pci_stats FROM compute_nodes "
             "WHERE deleted = 0")
    path = _sqlite_path(url)
    if path is not None:
        import sqlite3
        import urllib.parse
        try:
            db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=30)
            try:
                return [tuple(r) for r in db.execute(query)]
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise NumaStateError("cannot read compute_nodes from the SQLite database %s: %s" % (path, exc))
    try:
        import sqlalchemy
    except ImportError:
        raise NumaStateError("nova_db: reading a %s database needs the Python package sqlalchemy (and its "
                             "driver) on the host running the module" % url.split(":", 1)[0])
    try:
        engine = sqlalchemy.create_engine(url, execution_options={"postgresql_readonly": True})
        try:
            with engine.connect() as db:
                return [tuple(r) for r in db.execute(sqlalchemy.text(query))]
        finally:
            engine.dispose()
    except Exception as exc:  # driver errors carry the URL: name the scheme only
        raise NumaStateError("cannot read compute_nodes from the %s database: %s"
                             % (url.split(":", 1)[0], type(exc).__name__))


def attach_from_db(hosts, rows):
    """Set ``numa``/``pci_pools`` of each host from :func:`read_compute_nodes` rows."""
    index = {(r[0], r[1]): r for r in rows}
    for entry in hosts:
        row = index.get((entry["name"], entry["nodename"]))
        if row is None:
            entry["numa"] = _unknown("no compute_nodes row in the cell database for %s/%s"
                                     % (entry["name"], entry["nodename"]), "nova_db")
            entry["pci_unknown"] = entry["numa"]["unknown"]
            continue
        entry["numa"] = numa_from_nova(row[2])
        entry["pci_pools"] = pci_pools_from_nova(row[3])
        entry["pci_unknown"] = None


# ------------------------------------------------------------------ capacity + the compute API
def _cell_index(cells):
    return {c["id"]: c for c in cells}


def _pin(cell, cpus, isolate):
    pinned = set(cell["pinned_cpus"])
    if isolate:
        for sib in cell.get("siblings") or []:
            if set(sib) & cpus:
                cpus = cpus | set(sib)
    cell["pinned_cpus"] = sorted(pinned | cpus)


def apply_server_topology(numa, topology, extra_specs):
    """Add one server's usage (``GET /servers/{id}/topology`` body) to a host's cells in place.

    Returns None, or the reason the usage cannot be known from the API.
    """
    nodes = topology.get("nodes") or []
    specs = extra_specs or {}
    if str(specs.get("hw:emulator_threads_policy", "")).lower() == "isolate":
        return "its emulator threads are pinned to a host CPU the compute API does not show " \
               "(hw:emulator_threads_policy=isolate)"
    cells = _cell_index(numa["cells"])
    pagesize = topology.get("pagesize_kb")
    isolate = str(specs.get("hw:cpu_thread_policy", "")).lower() == "isolate"
    for node in nodes:
        if "host_node" not in node:
            return "the API did not show its host NUMA cells (needs the admin role)"
        cell = cells.get(node["host_node"])
        if cell is None:
            return "it uses host cell %s, which the capacity does not have" % node["host_node"]
        memory = node.get("memory_mb") or 0
        pinning = node.get("cpu_pinning") or {}
        cell["memory_usage"] += memory
        cell["cpu_usage"] += len(node.get("vcpu_set") or []) - len(pinning)
        if pinning:
            _pin(cell, set(int(v) for v in pinning.values()), isolate)
        pages = list(cell.get("mempages") or [])
        size = pagesize or (min(p["size_kb"] for p in pages) if pages else None)
        for page in pages:
            if page["size_kb"] == size:
                page["used"] += memory * 1024 // size
    return None


def _zero_usage(numa):
    numa = copy.deepcopy(numa)
    for cell in numa.get("cells") or []:
        cell["memory_usage"] = 0
        cell["cpu_usage"] = 0
        cell["pinned_cpus"] = []
        for page in cell.get("mempages") or []:
            page["used"] = 0
            page.setdefault("reserved", 0)
    return numa


def numa_servers(entry, servers_by_id):
    """The host's servers with a NUMA flavor, and those whose flavor the list did not embed."""
    wanted, unknown = [], []
    for sid in entry.get("instances") or []:
        server = servers_by_id.get(sid) or {}
        flavor = server.get("flavor") or {}
        if "extra_specs" not in flavor:
            unknown.append(sid)
        elif flavor_wants_numa(flavor.get("extra_specs")):
            wanted.append((sid, flavor.get("extra_specs") or {}))
    return wanted, unknown


def is_node_facts(value):
    """Is ``value`` a host's ``nova_compute`` facts (stackops.nova.compute_facts) rather than cells?"""
    return isinstance(value, dict) and "cells" not in value and isinstance(value.get("numa"), dict) \
        and "nova" in value


def capacity_entry(value):
    """A host's capacity in the snapshot ``numa`` shape, from cells or from its compute-node facts
    (through ``node/numa_state.cells_from_facts``). An ``unknown`` reason makes ``cells`` null."""
    if is_node_facts(value):
        value = numa_state.cells_from_facts(value)
    value = dict(value or {})
    if value.get("unknown"):
        value["cells"] = None
    return value


def attach_from_api(compute, hosts, servers, capacity, workers=8, microversion=TOPOLOGY_MICROVERSION):
    """Set ``numa`` of the hosts in ``capacity`` from it plus their servers' topologies.

    ``servers``: the ``/servers/detail`` list (2.47+: the flavor with its extra specs is
    embedded); the hosts' ``instances`` are already attached. Returns the number of topology
    requests made.
    """
    by_id = {s.get("id"): s for s in servers or []}
    jobs = []
    for entry in hosts:
        cap = (capacity or {}).get(entry["name"])
        if cap is None:
            continue
        cap = capacity_entry(cap)
        if cap.get("cells") is None:
            entry["numa"] = _unknown(cap.get("unknown") or "no NUMA cells in the capacity", cap.get("source"))
            continue
        entry["numa"] = _zero_usage(cap)
        entry["numa"].setdefault("source", "capacity")
        entry["numa"]["unknown"] = cap.get("unknown")
        if entry.get("instances") is None:
            entry["numa"] = _unknown("the servers on the host are unknown (their NUMA usage with them)",
                                     entry["numa"]["source"])
            continue
        wanted, unknown = numa_servers(entry, by_id)
        if unknown:
            entry["numa"] = _unknown("the server list did not show the flavor of %d server(s) (compute API "
                                     "older than 2.47)" % len(unknown), entry["numa"]["source"])
            continue
        jobs.extend((entry, sid, specs) for sid, specs in wanted)

    def topology(job):
        entry, sid, specs = job
        try:
            return job, _rest.get_json(compute, "/servers/%s/topology" % sid,
                                       "read the NUMA topology of server %s" % sid, microversion=microversion), None
        except _conn.NovaError as exc:
            return job, None, exc.message

    for (entry, sid, specs), body, error in _conn.parallel_map(topology, jobs, workers=max(1, int(workers))):
        if entry["numa"].get("cells") is None:
            continue
        reason = error or apply_server_topology(entry["numa"], body, specs)
        if reason:
            entry["numa"] = _unknown("server %s: %s" % (sid, reason), entry["numa"]["source"])
    return len(jobs)


def attach(compute, hosts, servers, capacity=None, nova_db=None, warnings=None, workers=8,
           microversion=TOPOLOGY_MICROVERSION):
    """Fill ``numa``, ``pci_pools`` and ``pci_unknown`` of every host (see the module doc).

    Returns ``{"source": ..., "topology_requests": n}``. Read failures become warnings. With
    neither ``capacity`` nor ``nova_db`` nothing is set (a host without ``numa`` is unknown).
    """
    warnings = warnings if warnings is not None else []
    info = {"source": None, "topology_requests": 0}
    if nova_db:
        try:
            rows = read_compute_nodes(nova_db)
        except NumaStateError as exc:
            warnings.append("host NUMA cells and PCI pools unknown: %s" % exc)
            rows = None
        if rows is not None:
            attach_from_db(hosts, rows)
            info["source"] = "nova_db"
            return info
    if not capacity and not nova_db:
        return info
    if capacity:
        try:
            capacity = {host: capacity_entry(value) for host, value in capacity.items()}
        except NumaStateError as exc:
            warnings.append("host NUMA cells unknown: %s" % exc)
            capacity = {}
        info["topology_requests"] = attach_from_api(compute, hosts, servers, capacity, workers=workers,
                                                    microversion=microversion)
        info["source"] = "capacity+api"
    for entry in hosts:
        if "numa" not in entry:
            entry["numa"] = _unknown("no NUMA capacity for this host (give compute-node facts or nova_db)")
        if "pci_pools" not in entry and not entry.get("pci_unknown"):
            entry["pci_unknown"] = ("the compute API does not show PCI pools (give nova_db, or compute-node "
                                    "facts with their matched devices)")
    return info
