# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NUMATopologyFilter's verdict cell and headroom, over explain/numa.py.

``host_passes`` of ``nova.scheduler.filters.numa_topology_filter``: the 'require' thread
policy on a host without SMT fails; a guest NUMA topology on a host without one fails; else
``numa_fit_instance_to_host`` with the host's allocation ratios as limits decides. A host
whose NUMA state the snapshot lacks is unknown (never pass/fail); the reason names what
would decide it. The instances of the same request placed earlier on a host are consumed
first (Nova's ``HostState.consume_from_request``).
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa as N
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa_pci as NP

SHORT = "NUMA topology does not fit"
# Nova's defaults of [DEFAULT] initial_cpu_allocation_ratio / initial_ram_allocation_ratio:
# what a compute node record says when the placement inventory is not in the snapshot.
DEFAULT_CPU_RATIO = 4.0
DEFAULT_RAM_RATIO = 1.0


class Setup:
    """What the filter reads once per request."""

    def __init__(self, ctx):
        req = ctx.req
        self.topology = req.get("numa")
        specs = req["flavor"]["extra_specs"]
        props = req["image"]["properties"]
        self.require_check = "dedicated" in (specs.get("hw:cpu_policy"), props.get("hw_cpu_policy")) and \
            "require" in (specs.get("hw:cpu_thread_policy"), props.get("hw_cpu_thread_policy"))
        self.pack = bool(ctx.conf.get("packing_host_numa_cells_allocation_strategy"))
        self.pci_requested = bool(specs.get("pci_passthrough:alias"))
        self.pci = NP.Needs(ctx)  # the PCI requests checked inside the fit (explain/numa_pci.py)
        self.consumed = {}
        self.fits_empty = {}
        self.no_limits = False


def limits(host, setup=None):
    if setup is not None and setup.no_limits:
        return None
    cpu = (host.resources.get("VCPU") or {}).get("allocation_ratio")
    ram = (host.resources.get("MEMORY_MB") or {}).get("allocation_ratio")
    return (float(cpu if cpu is not None else DEFAULT_CPU_RATIO), float(ram if ram is not None else DEFAULT_RAM_RATIO))


def host_cells(host):
    """(cells, unknown reason) for a host, computed once per host object."""
    found = host.memo.get("numa_cells")
    if found is None:
        found = N.state(host.raw)
        host.memo["numa_cells"] = found
    return found


def _cells_now(setup, host, state, cells, topo, lim):
    """The host's cells after the earlier instances of this request landed on it."""
    placed = state.placed.get(host.index, 0) if state is not None else 0
    if not placed:
        return cells
    key = (host.index, id(host.raw), placed)  # a relaxation's changed host is a new raw mapping
    found = setup.consumed.get(key)
    if found is None:
        found = cells
        for _unused in range(placed):
            result = N.fit(found, topo, lim, setup.pack, host.raw.get("pci_pools"), setup.pci_requested)
            if not result.fits:
                break
            found = N.consume(found, result.cells)
        setup.consumed[key] = found
    return found


def _emptied(cells):
    """The cells with nothing used (whether a guest fits does not depend on set layouts: plain copies)."""
    return [N.HostCell(c.id, c.cpuset, c.pcpuset, c.siblings, c.memory, 0, 0, set(),
                       [[p[0], p[1], 0, p[3]] for p in c.mempages], c.socket) for c in cells]


def evaluate(setup, host, ctx, state):
    topo = setup.topology
    if topo is None:
        return C.ok("no NUMA topology requested")
    cells, why = host_cells(host)
    if cells is None:
        return C.unknown("NUMA fit of %s unknown: %s" % (topo.describe(), why))
    if not cells:
        return C.fail(C.STATIC, "the guest asks %s; the host reports no NUMA topology" % topo.describe(), SHORT)
    if setup.require_check and not any(c.has_threads for c in cells):
        return C.fail(C.STATIC, "hw:cpu_thread_policy=require: the host has no SMT thread siblings "
                      "(hyperthreading off or absent)", "no SMT for thread policy require")
    lim = limits(host, setup)
    if setup.pci.requests and NP.host_unknown(setup.pci, host) is None:
        return NP.evaluate(setup, host, cells, lim, state, _placed_text)
    cells = _cells_now(setup, host, state, cells, topo, lim)
    try:
        result = N.fit(cells, topo, lim, setup.pack, host.raw.get("pci_pools"), setup.pci_requested)
    except N.NovaRaises as exc:
        return C.cell(C.ERROR, str(exc), C.STATIC, "filter error")
    if result.fits:
        where = ", ".join(_placed_text(c) for c in result.cells)
        if setup.pci_requested:
            return C.unknown("NUMA fits (%s) before PCI: the PCI devices' NUMA affinity (pci_passthrough:alias) "
                             "decides which cells Nova keeps, and %s" % (where, NP.host_unknown(setup.pci, host)))
        return C.ok("fits: %s" % where)
    if result.note:
        return C.fail(C.STATIC, "the guest asks %s; %s" % (topo.describe(), result.note), SHORT)
    lines = N.explain_fit(cells, result, topo)
    kind = C.DYNAMIC
    fits_empty = setup.fits_empty.get((host.index, id(host.raw)))
    if fits_empty is None:
        try:
            fits_empty = N.fit(_emptied(cells), topo, lim, setup.pack, host.raw.get("pci_pools"),
                               setup.pci_requested).fits
        except N.NovaRaises:
            fits_empty = False
        setup.fits_empty[(host.index, id(host.raw))] = fits_empty
    if not fits_empty:
        kind = C.STATIC
    return C.fail(kind, "the guest asks %s; %s" % (topo.describe(), "; ".join(lines)), SHORT)


def _placed_text(cell):
    text = "guest cell -> host cell %s" % cell.id
    if cell.pinning:
        text += " (pCPUs %s)" % ",".join(str(v) for _k, v in sorted(cell.pinning.items()))
    if cell.pagesize:
        text += " [%s pages]" % N.page_text(cell.pagesize)
    return text


def capacity(setup, host, ctx, upto=1000):
    """How many instances of the request the host's NUMA cells hold one after the other (None: no bound)."""
    topo = setup.topology
    if topo is None:
        return None
    cells, _why = host_cells(host)
    if cells is None:
        return None
    if not cells:
        return 0
    if setup.require_check and not any(c.has_threads for c in cells):
        return 0
    try:
        if setup.pci.requests and NP.host_unknown(setup.pci, host) is None:
            return NP.max_instances(cells, host.raw["pci_pools"], topo, limits(host, setup), setup.pack,
                                    setup.pci.requests, upto=upto)
        return N.max_instances(cells, topo, limits(host, setup), setup.pack, host.raw.get("pci_pools"), upto=upto)
    except N.NovaRaises:
        return 0


class NumaClaim(C.Check):
    """nova-compute's claim (``Claim._test_numa_topology``) where the scheduler did not run the filter.

    A forced host, or NUMATopologyFilter not enabled: the compute fits the guest itself, without
    the filter's limits (no allocation-ratio limits on shared CPUs and memory).
    """

    stage = "claim"
    name = "numa_claim"

    def __init__(self, ctx):
        super().__init__("claim:numa")
        self.setup = Setup(ctx)
        self.setup.no_limits = True
        self.dynamic = True

    def key(self, host, ctx):
        return None

    def evaluate(self, host, ctx, state):
        found = evaluate(self.setup, host, ctx, state)
        if found["verdict"] == C.FAIL:
            return C.fail(C.DYNAMIC if found["kind"] == C.DYNAMIC else C.STATIC,
                          "nova-compute's claim: " + found["reason"], "NUMA claim fails")
        return found
