# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks nova-compute makes on the chosen host, after the scheduler (the claim stage).

``ComputeManager._build_and_run_instance`` claims the resources (``rt.instance_claim``:
the ``Claim`` tests NUMA topology and PCI devices) and then re-checks the server group
policy (``_validate_instance_group_policy``: anti-affinity with ``max_server_per_host``,
affinity). A failure raises ``RescheduledException``: Nova retries an alternate host when
the request has retries, otherwise (forced host, ``max_attempts`` 1) the server goes to
ERROR with the fault "... instance group policy was violated". These checks run for
forced hosts too: the scheduler skips its filters for them, nova-compute does not.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import enabled_filter_names
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa_filter as NF
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import filters as F
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import pci_state as PS

STAGE = "claim"
# Flavor extra specs / image properties whose claim the compute tests against the host's NUMA
# topology and PCI devices (hosts[].numa, hosts[].pci_pools: unknown when the snapshot lacks them).
_NUMA_SPECS = ("hw:numa_nodes", "hw:cpu_policy", "hw:mem_page_size", "hw:numa_cpus.0", "hw:numa_mem.0",
               "hw:cpu_realtime", "hw:pci_numa_affinity_policy")
_NUMA_PROPS = ("hw_numa_nodes", "hw_cpu_policy", "hw_mem_page_size", "hw_pci_numa_affinity_policy")


class GroupPolicyClaim(C.Check):
    """_validate_instance_group_policy on the chosen host (hard affinity / anti-affinity)."""

    stage = STAGE
    name = "group_policy_claim"
    dynamic = True

    def __init__(self, ctx):
        super().__init__("claim:group_policy")
        group = ctx.req["group"]
        self.group = group if group and group.get("policy") in ("affinity", "anti-affinity") else None
        self.disabled = bool(ctx.conf.get("disable_group_policy_check_upcall"))

    counts = True

    def key(self, host, ctx):
        return True if self.group is None or self.disabled else None

    def capacity(self, host, ctx):
        return None if self.disabled else F.anti_affinity_room(self.group, host, ctx)

    def _label(self):
        return self.group.get("name") or self.group.get("id")

    def evaluate(self, host, ctx, state):
        if self.group is None:
            return C.ok("no affinity or anti-affinity group")
        if self.disabled:
            return C.ok("[workarounds] disable_group_policy_check_upcall: nova-compute does not re-check")
        if self.group["policy"] == "anti-affinity":
            if host.instances is None:
                return C.unknown("instances on the host unknown: nova-compute counts group %s members there"
                                 % self._label())
            limit = F.anti_affinity_limit(self.group)
            on_host = len(host.instances & ctx.group_members) + (state.placed.get(host.index, 0) if state else 0)
            if on_host >= limit:
                return C.fail(C.DYNAMIC, "nova-compute's claim: %d member(s) of anti-affinity group %s on the host, "
                              "max_server_per_host %d (GroupAffinityViolation: Anti-affinity instance group "
                              "policy was violated)" % (on_host, self._label(), limit),
                              "anti-affinity violated at claim")
            return C.ok("%d member(s) of group %s on the host, max_server_per_host %d" % (
                on_host, self._label(), limit))
        group_hosts = ctx.group_hosts(state)
        if host.name not in group_hosts and ctx.group_hosts_unknown:
            return C.unknown("nova-compute's claim: " + F.affinity_hosts_unknown(self.group, ctx))
        if group_hosts and host.name not in group_hosts:
            return C.fail(C.DYNAMIC, "nova-compute's claim: affinity group %s members are on %s (GroupAffinity"
                          "Violation: Affinity instance group policy was violated)" % (
                              self._label(), ", ".join(sorted(group_hosts))), "affinity violated at claim")
        where = "members are on this host" if group_hosts else "no member placed yet"
        return C.ok("affinity group %s: %s" % (self._label(), where))


def build(ctx):
    """The claim-stage columns for this request."""
    result = [GroupPolicyClaim(ctx)]
    specs = ctx.req["flavor"]["extra_specs"]
    props = ctx.req["image"]["properties"]
    asks = sorted([k for k in specs if k in _NUMA_SPECS or k.startswith("pci_passthrough:")]
                  + [k for k in props if k in _NUMA_PROPS])
    enabled = enabled_filter_names(ctx.conf)
    pci_asks = [k for k in asks if k.startswith("pci_passthrough:") or "pci_numa_affinity_policy" in k]
    numa_asks = [k for k in asks if k not in pci_asks]
    numa_claim = bool(numa_asks) and ctx.req.get("numa") is not None and (
        ctx.forced or "NUMATopologyFilter" not in enabled)
    if numa_claim:
        result.append(NF.NumaClaim(ctx))
    if pci_asks and (ctx.forced or "PciPassthroughFilter" not in enabled):
        # Claim._test_pci, and Claim._test_numa_topology with the devices when claim:numa does not make it
        # (explain/pci_state.py)
        result.append(PS.PciClaim(ctx, with_numa=not numa_claim and (
            ctx.forced or "NUMATopologyFilter" not in enabled)))
    return result
