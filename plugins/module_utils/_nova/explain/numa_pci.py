# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PCI devices inside the NUMA fit: NUMATopologyFilter for a guest with a PCI alias.

Nova's ``hardware.numa_fit_instance_to_host`` takes the request's ``pci_requests`` and the
host's ``pci_stats`` (NUMATopologyFilter passes ``host_state.pci_stats``, a PciDeviceStats that
is always set, so the check runs whenever the flavor asks devices). For each permutation of
host cells where every guest cell fits, it asks ``pci_stats.support_requests(pci_requests,
provider_mapping, chosen_instance_cells)``: the devices must come from the chosen cells
(policy ``required``), from them or from devices without NUMA affinity (``legacy``), from the
chosen cells' sockets (``socket``) or, failing all that, from anywhere (``preferred``); a
candidate set that fails moves on to the next permutation. The scheduler's
``HostState.consume_from_request`` then consumes the fitted cells and applies the PCI requests
with those cells, so the request's next instance sees both.

This module joins :mod:`explain.numa` (``fit`` takes a ``pci_check``) and :mod:`explain.pci`
(``apply_requests`` with guest NUMA cells). ``tests/oracle/test_numa_pci_oracle.py`` compares
it with Nova's own ``numa_fit_instance_to_host`` given a real ``PciDeviceStats``.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa as N
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import pci as P


class Needs:
    """The request's PCI requests as NUMATopologyFilter sees them (once per request).

    ``requests``: [] (no alias), the requests, or None with ``unknown`` saying why they cannot be
    modelled (aliases not known, Nova refuses the alias, devices in placement).
    """

    def __init__(self, ctx):
        req = ctx.req
        specs = req["flavor"]["extra_specs"]
        self.requests = []
        self.unknown = None
        if specs.get("pci_passthrough:alias") is None:
            return
        self.requests = None
        conf = ctx.conf
        if conf.get("pci_alias") is None:
            self.unknown = "the scheduler's [pci] alias is not known (give scheduler.pci_alias)"
            return
        in_placement = P._bool_from_string(conf.get("pci_in_placement"))
        if in_placement:
            self.unknown = ("[filter_scheduler] pci_in_placement is on: Nova matches the devices per allocation "
                            "candidate (not modelled)")
            return
        try:
            self.requests = P.requests_from_flavor(specs, req["image"]["properties"],
                                                   P.parse_aliases(conf.get("pci_alias"), in_placement))
        except P.PciAliasError as exc:
            self.unknown = "Nova refuses the PCI request (%s)" % exc


def host_unknown(needs, host):
    """Why the PCI part of the NUMA fit cannot be decided on ``host`` (None: it can)."""
    if needs.unknown:
        return needs.unknown
    if host.raw.get("pci_pools") is None:
        return "the host's PCI pools are unknown (%s)" % (
            host.raw.get("pci_unknown") or "the snapshot has no hosts[].pci_pools")
    return None


class Checker:
    """``pci_stats.support_requests(pci_requests, mapping, chosen cells)`` for :func:`numa.fit`.

    Records the candidate cell sets it refused, with the PCI model's steps, for the explanation.
    """

    def __init__(self, pools, requests, host_cells):
        self.pools = pools  # Nova-shaped pools (pci.nova_pools), not changed
        self.requests = requests
        self.host_cells = host_cells  # [{"id", "socket"}] for the 'socket' policy
        self.refused = []  # [(host cell ids, failing step)]

    def __call__(self, chosen):
        ids = [c.id for c in chosen]
        ok, steps = P.apply_requests([dict(p) for p in self.pools], self.requests, ids, self.host_cells)
        if not ok:
            self.refused.append((ids, steps[-1]))
        return ok


def _host_cells(cells):
    return [{"id": c.id, "socket": c.socket} for c in cells]


def fit(cells, pools, topology, limits, pack, requests):
    """numa.fit with the PCI check: (Fit, Checker). ``pools`` are Nova-shaped (pci.nova_pools)."""
    checker = Checker(pools, requests, _host_cells(cells))
    result = N.fit(cells, topology, limits, pack, pools, bool(requests), pci_check=checker)
    return result, checker


def consume(cells, pools, fitted, requests):
    """HostState.consume_from_request: the cells and pools after the fitted guest landed."""
    new_pools = [dict(p) for p in pools]
    P.apply_requests(new_pools, requests, [c.id for c in fitted], _host_cells(cells))
    return N.consume(cells, fitted), new_pools


def state_now(setup, host, state, cells, lim):
    """(cells, pools) after the earlier instances of this request landed on the host."""
    pools = P.nova_pools(host.raw["pci_pools"])
    placed = state.placed.get(host.index, 0) if state is not None else 0
    if not placed:
        return cells, pools
    key = ("pci", host.index, id(host.raw), placed)
    found = setup.consumed.get(key)
    if found is None:
        found = (cells, pools)
        for _unused in range(placed):
            result, _checker = fit(found[0], found[1], setup.topology, lim, setup.pack, setup.pci.requests)
            if not result.fits:
                break
            found = consume(found[0], found[1], result.cells, setup.pci.requests)
        setup.consumed[key] = found
    return found


def _cells_text(ids):
    return ("cell %s" if len(ids) == 1 else "cells %s") % "+".join(str(i) for i in ids)


def _device_nodes(checker, alias):
    """' - alias gpu's free devices: 2 on NUMA node 1' (matching devices, any NUMA node)."""
    for request in checker.requests:
        if request.get("alias") != alias:
            continue
        specs = [{k: v for k, v in s.items() if k not in P._IGNORED_SPEC_TAGS} for s in request["spec"]]
        nodes = {}
        for pool in checker.pools:
            if P._prop_match(pool, specs) and pool["count"]:
                nodes[pool.get("numa_node")] = nodes.get(pool.get("numa_node"), 0) + pool["count"]
        if not nodes:
            return ""
        return " - alias %s's free devices: %s" % (alias, ", ".join(
            "%d on %s" % (n, "no NUMA node" if k is None else "NUMA node %s" % k)
            for k, n in sorted(nodes.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))))
    return ""


def explain(cells, result, checker, topology):
    """Per cell lines: the NUMA shortfalls, then each candidate cell set the PCI devices refused."""
    refused_cells = set()
    pci_lines = []
    for ids, step in checker.refused:
        refused_cells.update(ids)
        policy = sorted({r["numa_policy"] or "legacy" for r in checker.requests})
        where = _device_nodes(checker, step.get("alias"))
        line = "%s: %s fit, but %s%s (policy %s)" % (
            _cells_text(ids), "pCPUs and memory" if topology.cpu_policy in ("dedicated", "mixed") else "CPUs and memory",
            step["text"], where, "/".join(policy))
        if line not in pci_lines:
            pci_lines.append(line)
    lines = [line for cell, line in zip(cells, N.explain_fit(cells, result, topology))
             if not (cell.id in refused_cells and cell.id not in result.reasons)]
    return lines + pci_lines[:4] + (["... %d more cell sets" % (len(pci_lines) - 4)] if len(pci_lines) > 4 else [])


def evaluate(setup, host, cells, lim, state, placed_text):
    """NUMATopologyFilter's cell for a guest with PCI requests on a host with known pools."""
    topo = setup.topology
    cells, pools = state_now(setup, host, state, cells, lim)
    try:
        result, checker = fit(cells, pools, topo, lim, setup.pack, setup.pci.requests)
    except N.NovaRaises as exc:
        return C.cell(C.ERROR, str(exc), C.STATIC, "filter error")
    placed = state.placed.get(host.index, 0) if state is not None else 0
    after = " (after %d instance(s) of this request placed here)" % placed if placed else ""
    if result.fits:
        ok, steps = P.apply_requests([dict(p) for p in pools], setup.pci.requests, result.host_cell_ids(),
                                     _host_cells(cells))
        return C.ok("fits: %s; PCI: %s%s" % (", ".join(placed_text(c) for c in result.cells),
                                             "; ".join(s["text"] for s in steps), after))
    if result.note:
        return C.fail(C.STATIC, "the guest asks %s; %s" % (topo.describe(), result.note), "NUMA topology does not fit")
    lines = explain(cells, result, checker, topo)
    key = ("pci-empty", host.index, id(host.raw))
    fits_empty = setup.fits_empty.get(key)
    if fits_empty is None:
        plenty = [dict(p, count=10 ** 6) for p in P.nova_pools(host.raw["pci_pools"])]
        try:
            fits_empty = fit(_emptied(cells), plenty, topo, lim, setup.pack, setup.pci.requests)[0].fits
        except N.NovaRaises:
            fits_empty = False
        setup.fits_empty[key] = fits_empty
    short = "NUMA topology does not fit" if not checker.refused else "NUMA/PCI affinity does not fit"
    return C.fail(C.DYNAMIC if fits_empty else C.STATIC,
                  "the guest asks %s with PCI %s; %s%s" % (
                      topo.describe(), ", ".join("%s x%d" % (r["alias"], r["count"]) for r in setup.pci.requests),
                      "; ".join(lines), after), short)


def _emptied(cells):
    out = []
    for cell in cells:
        new = cell.copy()
        new.pinned = set()
        new.memory_usage = 0
        new.cpu_usage = 0
        for pages in new.mempages:
            pages[2] = 0
        out.append(new)
    return out


def max_instances(cells, pools_raw, topology, limits, pack, requests, upto=1000):
    """How many guests fit one after the other, NUMA cells and PCI devices consumed (at most ``upto``)."""
    pools = P.nova_pools(pools_raw)
    count = 0
    while count < upto:
        result, _checker = fit(cells, pools, topology, limits, pack, requests)
        if not result.fits:
            break
        cells, pools = consume(cells, pools, result.cells, requests)
        count += 1
    return count
