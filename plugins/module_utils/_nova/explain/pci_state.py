# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's free PCI devices after the request's earlier instances: the filter and the claim.

Nova's ``HostState.consume_from_request`` (nova/scheduler/host_manager.py) consumes a guest
with a NUMA topology in two steps: ``numa_fit_instance_to_host(host, guest, limits=
host_state.limits['numa_topology'], pci_requests, pci_stats)`` (the ``limits`` are the ones
NUMATopologyFilter stored; none when it did not run: a forced host or the filter not enabled),
then ``pci_stats.apply_requests(pci_requests, mapping, fitted guest cells)``: the devices come
from the pools of the fitted cells (by the affinity policy), not from the first pools in
PciDeviceStats' order as for a guest without a NUMA topology. The next instance of the request
(``count`` > 1) sees those pools, in PciPassthroughFilter and in nova-compute's claim.

* :class:`PciPassthroughFilter`: explain/pci.py's filter whose earlier instances are consumed
  that way for NUMA guests (unknown when the host's NUMA state is);
* :class:`PciClaim` (``claim:numa_pci``): nova-compute's ``Claim._test_pci``
  (``stats.support_requests(requests)``, no NUMA cells) on a host where the scheduler's
  PciPassthroughFilter did not run (a forced host, or the filter not enabled), plus the NUMA fit
  with the PCI devices (``Claim._test_numa_topology``) when no ``claim:numa`` column makes it.

tests/oracle/test_numa_pci_oracle.py runs several instances of a NUMA guest with PCI devices
through Nova's own filters and ``HostState.consume_from_request`` against these columns.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import enabled_filter_names
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa as N
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa_filter as NF
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa_pci as NP
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import pci as P


def numa_setup(ctx):
    """NF.Setup for consuming a NUMA guest, with the limits consume_from_request uses (None without the filter)."""
    setup = NF.Setup(ctx)
    setup.no_limits = ctx.forced or "NUMATopologyFilter" not in enabled_filter_names(ctx.conf)
    return setup


def consumed_pools(setup, host, state, requests):
    """(Nova-shaped pools, None) or (None, why): the host's pools after the earlier instances (NUMA guest).

    ``requests`` are the PCI requests (pci.requests_from_flavor), known.
    """
    placed = state.placed.get(host.index, 0) if state is not None else 0
    key = ("pci-consumed", host.index, id(host.raw), placed)
    found = setup.consumed.get(key)
    if found is None:
        found = _consume(setup, host, placed, requests)
        setup.consumed[key] = found
    pools, why = found
    return ([dict(p) for p in pools] if pools is not None else None), why  # callers consume their copy


def _consume(setup, host, placed, requests):
    cells, why = NF.host_cells(host)
    if cells is None:
        found = (None, "the devices they took depend on the host NUMA cells Nova fitted them to, and the host's NUMA "
                       "state is unknown (%s); give hosts[].numa (compute facts, or the API's NUMA data)" % why)
    elif not cells:
        found = (None, "the host reports no NUMA topology: Nova applies their PCI requests with the guest's own "
                       "cell ids (not modelled)")
    else:
        pools = P.nova_pools(host.raw["pci_pools"])
        lim = NF.limits(host, setup)
        found = None
        for number in range(1, placed + 1):
            try:
                result, _checker = NP.fit(cells, pools, setup.topology, lim, setup.pack, requests)
            except N.NovaRaises as exc:
                found = (None, "Nova raises fitting instance %d: %s" % (number, exc))
                break
            if not result.fits:
                found = (None, "consume_from_request finds no NUMA fit for instance %d and drops the request's NUMA "
                               "topology (not modelled)" % number)
                break
            cells, pools = NP.consume(cells, pools, result.cells, requests)
        if found is None:
            found = (pools, None)
    return found


class PciPassthroughFilter(P.PciPassthroughFilter):
    """explain/pci.py's PciPassthroughFilter; a NUMA guest's earlier instances consume their fitted cells' devices."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.numa = numa_setup(ctx) if ctx.req.get("numa") is not None and self.requests else None

    def pools_now(self, host, ctx, state):
        if self.numa is None or not (state and state.placed.get(host.index)):
            return super().pools_now(host, ctx, state)
        return consumed_pools(self.numa, host, state, self.requests)


class PciClaim(C.Check):
    """nova-compute's ``Claim._test_pci`` (and ``_test_numa_topology`` with PCI when ``with_numa``)."""

    stage = "claim"
    name = "resource_claim"
    dynamic = True
    short = "PCI claim fails"

    def __init__(self, ctx, with_numa):
        super().__init__("claim:numa_pci")
        self.needs = NP.Needs(ctx)
        self.asks = ctx.req["flavor"]["extra_specs"].get("pci_passthrough:alias")
        self.topology = ctx.req.get("numa")
        self.setup = numa_setup(ctx) if self.topology is not None else None
        self.with_numa = with_numa and self.topology is not None

    def key(self, host, ctx):
        return None

    def evaluate(self, host, ctx, state):
        if self.asks is None:
            return C.ok("no pci_passthrough:alias in the flavor: nova-compute claims no PCI device")
        if self.needs.unknown:
            return C.unknown("nova-compute's PCI claim unknown: %s" % self.needs.unknown, "PCI claim unknown")
        requests = self.needs.requests
        if host.raw.get("pci_pools") is None:
            return C.unknown("nova-compute's PCI claim unknown: the host's PCI pools are unknown (%s); it passes when "
                             "the host has %s free (give hosts[].pci_pools)" % (
                                 host.raw.get("pci_unknown") or "the snapshot has no hosts[].pci_pools",
                                 "; ".join("%d x %s" % (r["count"], P._spec_label(r["spec"])) for r in requests)),
                             "PCI claim unknown")
        placed = state.placed.get(host.index, 0) if state is not None else 0
        after = " (after %d instance(s) of this request placed here)" % placed if placed else ""
        if self.setup is not None and placed:
            pools, why = consumed_pools(self.setup, host, state, requests)
        else:
            pools, why = P.nova_pools(host.raw["pci_pools"]), None
            for _earlier in range(placed):
                if not P.apply_requests(pools, requests)[0]:
                    break
        if pools is None:
            return C.unknown("nova-compute's PCI claim unknown: the PCI pools after the %d earlier instance(s) are "
                             "unknown: %s" % (placed, why), "PCI claim unknown")
        if self.with_numa:
            found = self._numa_part(host, ctx, state)
            if found is not None:
                return found
        ok, steps = P.apply_requests([dict(p) for p in pools], requests)
        text = "; ".join(s["text"] for s in steps)
        if ok:
            return C.ok("nova-compute's claim (Claim._test_pci): %s%s" % (text, after))
        everything = [dict(p, count=10 ** 6) for p in host.raw["pci_pools"] if p.get("count") is not None]
        kind = C.STATIC if not P.support_requests(everything, requests)[0] else C.DYNAMIC
        return C.fail(kind, "nova-compute's claim: Claim pci failed (ComputeResourcesUnavailable): %s%s. Host pools: "
                      "%s" % (text, after, P.pool_summary(host.raw["pci_pools"])), self.short)

    def _numa_part(self, host, ctx, state):
        """Claim._test_numa_topology with the PCI devices; None when it passes."""
        cells, why = NF.host_cells(host)
        if cells is None:
            return C.unknown("nova-compute's claim fits the guest's NUMA topology with its PCI devices; the host's "
                             "NUMA state is unknown (%s)" % why, "PCI claim unknown")
        if not cells:
            return None  # no host topology: Claim._test_numa_topology does not fit anything
        found = NP.evaluate(self.setup, host, cells, NF.limits(host, self.setup), state, NF._placed_text)
        if found["verdict"] == C.FAIL:
            return C.fail(C.DYNAMIC if found["kind"] == C.DYNAMIC else C.STATIC,
                          "nova-compute's claim: Requested instance NUMA topology together with requested PCI devices "
                          "cannot fit the given host NUMA topology: " + found["reason"], self.short)
        if found["verdict"] in (C.ERROR, C.UNKNOWN):
            return found
        return None
