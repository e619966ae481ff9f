# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live-migration preflight's ``numa_guests`` check: can the destination hold the guest's NUMA topology?

Private library code: plain Python, no Ansible imports, no I/O. Nova 34 live-migrates a guest
with a NUMA topology by claiming it again on the destination (``ComputeManager.
_live_migration_claim`` -> ``ResourceTracker.live_migration_claim`` -> ``MoveClaim``):
``hardware.numa_fit_instance_to_host`` of the flavor's and image's constraints
(``numa_get_constraints``) on the destination's cells with their usage, with the scheduler's
limits (none for a forced host); then ``_test_live_migration_page_size``: the page size chosen
there must be the instance's current one. A failure is ``MigrationPreCheckError``. The libvirt
driver then rewrites the guest XML for the claimed cells (``_get_live_migrate_numa_info``).

The fit is explain/numa.py's (tested against ``nova.virt.hardware``); the destination's cells
come from its compute facts (node/numa_state.py ``cells_from_facts``). Unknown only when data
is missing: no guest given, the destination's NUMA state unknown, the running guests there
unknown and the guest fitting only on empty cells, or the answer depending on allocation
ratios the facts do not carry.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa as N
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
HOW = ("give guest= (the instance's flavor: vcpus, ram, extra_specs; its image properties; optionally its NUMA "
       "topology from the API, GET /servers/{id}/topology, for the current page size)")


class GuestError(ValueError):
    """A ``guest`` the check cannot use (the message names the key)."""


def _guest(guest):
    """(Topology or None, current page size in kB or None) from the ``guest`` mapping."""
    if not isinstance(guest, dict):
        raise GuestError("guest must be a mapping with flavor (vcpus, ram, extra_specs) and image_properties, got %s"
                         % type(guest).__name__)
    flavor = guest.get("flavor")
    if not isinstance(flavor, dict):
        raise GuestError("guest.flavor must be a mapping with vcpus, ram and extra_specs")
    for key in ("vcpus", "ram"):
        value = flavor.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise GuestError("guest.flavor.%s must be a positive integer, got %r" % (key, value))
    specs = flavor.get("extra_specs") or {}
    props = guest.get("image_properties") or {}
    if not isinstance(specs, dict):
        raise GuestError("guest.flavor.extra_specs must be a mapping")
    if not isinstance(props, dict):
        raise GuestError("guest.image_properties must be a mapping")
    try:
        topology = N.constraints({"vcpus": flavor["vcpus"], "ram": flavor["ram"],
                                  "extra_specs": {str(k): str(v) for k, v in specs.items()}},
                                 {str(k): v for k, v in props.items()})
    except N.NumaRequestError as exc:
        raise GuestError("guest: Nova refuses this flavor/image NUMA request: %s" % exc) from None
    current = guest.get("numa_topology")
    page = None
    if current is not None:
        if not isinstance(current, dict):
            raise GuestError("guest.numa_topology must be the API's server topology (a mapping with nodes and "
                             "pagesize_kb)")
        page = current.get("pagesize_kb")
        if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
            raise GuestError("guest.numa_topology.pagesize_kb must be a positive integer or null, got %r" % (page,))
    return topology, page


def _limits(facts):
    """(cpu, ram) allocation ratios from the destination's nova.conf facts, or None when they are not there."""
    nova = facts.get("nova") if isinstance(facts, dict) else None
    ratios = (nova or {}).get("allocation_ratios") or {}
    # only a ratio nova.conf sets is certain (else placement's value, maybe changed through its API, applies)
    cpu, ram = (ratios.get("VCPU") or {}).get("effective"), (ratios.get("MEMORY_MB") or {}).get("effective")
    if cpu is None or ram is None:
        return None
    try:
        return float(cpu), float(ram)
    except (TypeError, ValueError):
        return None


def _empty(cells):
    return [N.HostCell(c.id, c.cpuset, c.pcpuset, c.siblings, c.memory, 0, 0, set(),
                       [[p[0], p[1], 0, p[3]] for p in c.mempages], c.socket) for c in cells]


def _where(result):
    return ", ".join("guest cell -> host cell %s%s%s" % (
        c.id, " (pCPUs %s)" % ",".join(str(v) for _k, v in sorted(c.pinning.items())) if c.pinning else "",
        " [%s pages]" % N.page_text(c.pagesize) if c.pagesize else "") for c in result.cells)


def check(guest, dst_facts, dst_name="destination"):
    """``(verdict, evidence)`` for the guest on the destination. Raises GuestError for a bad ``guest``."""
    if guest is None:
        return UNKNOWN, ("pinned/NUMA guests: no guest given; Nova re-fits a NUMA guest's topology on the "
                         "destination (MoveClaim): %s" % HOW)
    topology, page = _guest(guest)
    if topology is None:
        return PASS, "the guest has no NUMA topology (no hw:numa_*, CPU pinning or page size): no NUMA claim"
    numa = numa_state.cells_from_facts(dst_facts)
    cells, why = N.state({"numa": numa})
    if cells is None:
        return UNKNOWN, "%s: NUMA state unknown (%s); its compute facts decide it" % (dst_name, why)
    if not cells:
        return FAIL, "%s reports no NUMA topology; the guest asks %s" % (dst_name, topology.describe())
    usage_unknown = numa.get("usage_unknown")
    limits = _limits(dst_facts)
    try:
        strict = N.fit(_empty(cells) if usage_unknown else cells, topology, limits or (1.0, 1.0))
        loose = N.fit(_empty(cells) if usage_unknown else cells, topology, None)
    except N.NovaRaises as exc:
        return FAIL, "%s: Nova raises fitting the guest: %s" % (dst_name, exc)
    asks = "the guest asks %s" % topology.describe()
    if not loose.fits:
        # no limits is the most lenient claim: the guest does not fit, whatever the ratios and the usage
        lines = "; ".join(N.explain_fit(cells, loose, topology))
        return FAIL, ("%s: %s; %s (MigrationPreCheckError: Requested instance NUMA topology cannot fit the given "
                      "host NUMA topology)" % (dst_name, asks, lines))
    if usage_unknown:
        return UNKNOWN, ("%s: %s; it fits the empty cells (%s) but %s: the cells' free room decides it"
                         % (dst_name, asks, _where(loose), usage_unknown))
    if limits is None and not strict.fits:
        where = _where(loose)
        return UNKNOWN, ("%s: %s; it fits without allocation limits (a forced host: %s) but not at ratios 1.0: the "
                         "scheduler's cpu/ram allocation ratios decide it (not in the facts)" % (dst_name, asks, where))
    result = strict if strict.fits or limits is not None else loose
    if not result.fits:
        lines = "; ".join(N.explain_fit(cells, result, topology))
        return FAIL, "%s: %s; at allocation ratios %s: %s" % (dst_name, asks, limits, lines)
    chosen = result.cells[0].pagesize
    requested = topology.cells[0].pagesize
    if requested in (N.MEMPAGES_ANY, N.MEMPAGES_LARGE):
        if page is None:
            return UNKNOWN, ("%s: fits (%s), but the guest asks %s pages: the claim fails when its current page "
                             "size differs from %s kB; give guest.numa_topology.pagesize_kb"
                             % (dst_name, _where(result), N.page_text(requested), chosen))
        if chosen != page:
            return FAIL, ("%s: the fit picks %s kB pages (%s), the instance uses %s kB (MigrationPreCheckError: "
                          "Requested page size is different from current page size)" % (
                              dst_name, chosen, _where(result), page))
    return PASS, "%s: %s; fits: %s" % (dst_name, asks, _where(result))
