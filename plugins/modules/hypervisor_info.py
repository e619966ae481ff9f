#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hypervisor_info
short_description: Compute nodes with their service, aggregates, AZ and real placement capacity
version_added: 0.1.0
description:
  - Lists every hypervisor (compute node) joined with its C(nova-compute) service (status, state,
    disabled reason, forced down, last heartbeat), its availability zone and host aggregates, and
    its placement resource provider, per resource class (V(VCPU), V(PCPU), V(MEMORY_MB), V(DISK_GB)
    and custom ones) with total, reserved, min_unit, max_unit, step_size, allocation_ratio, used,
    capacity and free, plus the provider's traits and the servers on the node.
  - Since compute API microversion 2.88 Nova no longer reports hypervisor vcpus, memory, disk or
    the C(os-hypervisors/statistics) totals; placement holds the truth. This module reads it and
    returns RV(totals) per resource class for the selection, honest about allocation ratios and
    reserved amounts (capacity = (total - reserved) x allocation_ratio, as placement computes it).
  - With O(flavor), computes how many more instances of that flavor fit on each node and in total,
    with the explain engine's headroom (the same numbers as M(stackops.nova.scheduling_explain)), counting
    max_unit, step_size, C(resources:*) overrides, C(hw:cpu_policy=dedicated) (PCPU, and Nova's VCPU
    fallback query), the enabled host filters (NumInstancesFilter, anti-affinity with
    C(max_server_per_host) for O(server_group), aggregate metadata ...).
  - Returns the hosts once, inside the cloud snapshot (RV(snapshot), version 1, see
    C(docs/snapshot.md)) that can be saved to a file and handed to M(stackops.nova.scheduling_explain)
    or the C(stackops.nova.explain) filter offline. RV(hypervisors), the same list again, only with
    O(return_hypervisors).
  - "Requests: one paginated hypervisor list (at microversion 2.87, which keeps C(cpu_info) and spares
    Nova an uptime call per hypervisor), one service list, one aggregate list, one server list and
    one server group list from Nova, one provider list from placement; then, for 50 or more selected
    nodes, one C(allocation_candidates) request (usage and traits of every provider it lists), one
    provider listing per host aggregate and one inventory request per provider (about one request
    per node), else four requests per selected provider; run concurrently (O(placement_workers) at a
    time). Never a Nova request per hypervisor. See C(docs/facts.md)."
  - With O(numa_capacity), one more request per server whose flavor gives it a NUMA topology (its
    C(/servers/{id}/topology)); with O(nova_db), one read-only query of the cell database. Both fill
    C(numa) (and with O(nova_db) C(pci_pools)) of the hosts in RV(snapshot).
  - When placement cannot be read (unreachable, HTTP 403, no endpoint) the module still returns
    Nova's part, with a warning saying what is missing; the resource fields are then empty.
  - Needs the admin role (or equivalent policy) for hypervisors, services, aggregates and placement.
author:
  - stackops.nova developers (@stackops)
options:
  host:
    description:
      - Only compute nodes whose service host or hypervisor hostname matches this shell glob, or any
        of these globs. No match gives empty lists, not a failure.
    type: list
    elements: str
  availability_zone:
    description:
      - Only compute nodes in this availability zone, or any of these.
    type: list
    elements: str
  aggregate:
    description:
      - Only compute nodes in this host aggregate (name or id), or in any of these.
    type: list
    elements: str
  service_status:
    description:
      - Only nodes whose C(nova-compute) service is enabled, or only disabled ones.
    type: str
    choices: [enabled, disabled]
  service_state:
    description:
      - Only nodes whose C(nova-compute) service is up, or only down ones.
    type: str
    choices: [up, down]
  flavor:
    description:
      - A flavor name or id, or an inline flavor (a dict with C(vcpus), C(ram) in MB, C(disk),
        C(ephemeral) in GB, C(swap) in MB and C(extra_specs)). Adds RV(headroom).
      - A node counts towards RV(headroom.total) only when every check of the explain engine passes on
        it (prefilters, placement traits, the enabled host filters of O(scheduler)); a node that fits
        only if unknown checks pass (for example the NUMA claim of a pinned flavor, which needs the
        host's NUMA topology) is in RV(headroom.total_if_unknowns_pass) instead.
    type: raw
  scheduler:
    description:
      - The scheduler configuration the headroom assumes, as for M(stackops.nova.scheduling_explain)
        (C(enabled_filters), C(max_instances_per_host), ...). Default the snapshot's, else Nova's defaults.
    type: dict
  server_group:
    description:
      - With O(flavor), the server group (name or id) the new instances join; anti-affinity counts
        C(max_server_per_host) minus the members already on each node.
    type: str
  return_hypervisors:
    description:
      - Also return the hosts as RV(hypervisors), a second copy of RV(snapshot.hosts) (earlier versions
        always returned it). The copy doubles the result (about 2 MB for 200 nodes).
    type: bool
    default: false
  boot_from_volume:
    description:
      - Whether the instances of O(flavor) boot from a volume (their root disk then takes no DISK_GB).
    type: bool
    default: false
  pcpu_fallback:
    description:
      - Whether a O(flavor) with C(hw:cpu_policy=dedicated) may also land on VCPU inventory, as Nova's
        scheduler asks placement for the PCPU request and for the same request with VCPU and merges
        the candidates, unless C([workarounds] disable_fallback_pcpu_query) is V(true). Set V(false)
        for clouds that set that option.
    type: bool
    default: true
  placement:
    description:
      - Read placement. V(false) returns Nova's part only (faster, no capacity).
    type: bool
    default: true
  placement_workers:
    description:
      - How many placement requests run at the same time.
    type: int
    default: 8
  servers:
    description:
      - Read the server list (one paginated request) to fill C(num_instances), C(instances) and C(num_io_ops).
    type: bool
    default: true
  server_groups:
    description:
      - Read the server groups of all projects into the snapshot (used by the explain engine).
    type: bool
    default: true
  node_facts:
    description:
      - Compute-node facts to attach to the hosts, a mapping of host name to the host's
        C(nova_compute) facts from M(stackops.nova.compute_facts) (or to its C(ansible_facts), or
        to the registered result). Typically
        C("{{ dict(groups['nova_compute'] | zip(groups['nova_compute'] | map('extract', hostvars, 'ansible_facts'))) }}").
      - A host is matched by the key, then by the facts' C(names) (C(nova_host), hostname, FQDN and
        their short forms) against the snapshot host's name, then its nodename. A matched host gets
        C(node) (the facts) and, when it has no C(numa) yet, C(numa) built from them (see
        C(docs/facts.md); O(numa_capacity) and O(nova_db) win, their usage being Nova's own). Facts
        matching no host are reported in the snapshot's C(warnings).
    type: dict
    version_added: 0.2.0
  node_facts_dir:
    description:
      - A fact-cache directory (the C(ansible.builtin.jsonfile) cache plugin's, one JSON file per
        host) to read compute-node facts from, as O(node_facts). O(node_facts) wins for a name in
        both.
    type: path
    version_added: 0.2.0
  numa_capacity:
    description:
      - Per service host name, the host's NUMA cells without usage, in the shape of the snapshot's
        C(hosts[].numa) (docs/snapshot.md), or the host's C(nova_compute) facts as
        M(stackops.nova.compute_facts) returns them (turned into cells as Nova's libvirt driver builds
        them; any guest usage in them is replaced by Nova's). The module
        then adds C(numa) to those hosts with the usage of their servers, read from the compute API,
        one C(GET /servers/{id}/topology) (microversion 2.78) per server whose flavor gives it a NUMA
        topology, none for the others. No database access.
      - Without it and without O(nova_db), hosts have no C(numa) and the explain engine says
        NUMATopologyFilter and PciPassthroughFilter are unknown for requests that need them.
    type: dict
  nova_db:
    description:
      - URL of Nova's cell database (SQLAlchemy form, for example C(mysql+pymysql://user:pw@db/nova)
        or C(sqlite:///path)), read only, to fill C(hosts[].numa) and C(hosts[].pci_pools) from
        C(compute_nodes.numa_topology) and C(pci_stats) as Nova's resource tracker last wrote them.
        SQLite is opened read-only with the standard library; other databases need the Python
        package sqlalchemy and its driver. Nothing is written.
      - A read failure is a warning; the NUMA state stays unknown.
    type: str
extends_documentation_fragment:
  - stackops.nova.auth
  - stackops.nova.auth.info_module
seealso:
  - module: stackops.nova.compute_facts
  - module: stackops.nova.service_info
  - module: stackops.nova.usage_info
  - module: stackops.nova.scheduling_explain
  - name: Placement API reference
    description: Inventories, usages and the capacity formula.
    link: https://docs.openstack.org/api-ref/placement/
"""

EXAMPLES = r"""
- name: Capacity of every enabled compute in az1
  stackops.nova.hypervisor_info:
    cloud: mycloud
    availability_zone: az1
    service_status: enabled
  register: facts

- name: Free vCPUs per node, after overcommit and reserved
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.resources.VCPU.free }} of {{ item.resources.VCPU.capacity }}"
  loop: "{{ facts.snapshot.hosts }}"
  loop_control:
    label: "{{ item.name }}"

- name: What os-hypervisors/statistics used to give, but honest about ratios
  ansible.builtin.debug:
    var: facts.totals

- name: How many more m1.large fit, per node and in total
  stackops.nova.hypervisor_info:
    cloud: mycloud
    flavor: m1.large
  register: large

- name: Headroom for a flavor that does not exist yet (pinned CPUs)
  stackops.nova.hypervisor_info:
    cloud: mycloud
    flavor:
      vcpus: 8
      ram: 16384
      disk: 40
      extra_specs:
        hw:cpu_policy: dedicated
  register: pinned

- name: Save the cloud snapshot for offline explanations
  ansible.builtin.copy:
    content: "{{ facts.snapshot | to_nice_json }}"
    dest: /tmp/cloud-snapshot.json
    mode: "0600"
"""

RETURN = r"""
hypervisors:
  description:
    - The selected compute nodes, sorted by host then node; the same objects as C(snapshot.hosts).
    - The full schema is in C(docs/snapshot.md); the main keys are shown here.
  returned: when O(return_hypervisors=true)
  type: list
  elements: dict
  contains:
    name:
      description: The service host (what C(--availability-zone az:HOST) uses).
      type: str
      sample: compute1
    nodename:
      description: The hypervisor hostname (one service may own several nodes).
      type: str
      sample: compute1
    provider_uuid:
      description: The placement resource provider, or null when unknown.
      type: str
    hypervisor_type:
      description: For example V(QEMU) or V(fake).
      type: str
    hypervisor_version:
      description: The hypervisor version number.
      type: int
    host_ip:
      description: The node's IP address as Nova reports it.
      type: str
    hypervisor_state:
      description: V(up) or V(down).
      type: str
    service:
      description: The nova-compute service (id, status, state, disabled_reason, forced_down, updated_at, zone), or null.
      type: dict
    availability_zone:
      description: The node's availability zone.
      type: str
    aggregates:
      description: Ids of the host aggregates holding the node (see C(snapshot.aggregates)).
      type: list
      elements: int
    resources:
      description:
        - Per resource class, placement's inventory and usage; C({}) when unknown.
        - C(capacity) is (total - reserved) x allocation_ratio floored; C(free) is capacity - used
          and can be negative after a ratio or reserved change.
      type: dict
      sample:
        VCPU: {total: 16, reserved: 0, min_unit: 1, max_unit: 16, step_size: 1, allocation_ratio: 4.0,
               used: 6, capacity: 64, free: 58}
    traits:
      description: The provider's traits, or null when unknown.
      type: list
      elements: str
    num_instances:
      description: Servers on the node, or null when unknown.
      type: int
    instances:
      description: UUIDs of the servers on the node, or null when unknown.
      type: list
      elements: str
totals:
  description:
    - Per resource class, the sums over the selected nodes of total, reserved, used, capacity and
      free, and the number of providers with that class.
  returned: always
  type: dict
  sample:
    VCPU: {total: 64, reserved: 0, used: 10, capacity: 256, free: 246, providers: 4}
    MEMORY_MB: {total: 131072, reserved: 2048, used: 8192, capacity: 129024, free: 120832, providers: 4}
headroom:
  description: With O(flavor), how many more instances of it fit.
  returned: when O(flavor) is given
  type: dict
  contains:
    flavor:
      description: The flavor used (name, vcpus, ram, disk, ephemeral, swap, extra_specs).
      type: dict
    request:
      description:
        - The placement request Nova makes for it (resources, required_traits, forbidden_traits, notes),
          and for C(hw:cpu_policy=dedicated) the VCPU C(fallback) request Nova also makes.
      type: dict
    total:
      description: How many more fit on the schedulable selected nodes together.
      type: int
      sample: 42
    total_if_unknowns_pass:
      description: The total if the unknown checks pass on the uncertain nodes (null when one of them has unknown capacity).
      type: int
      returned: when a node fits only if unknown checks pass
    hosts:
      description:
        - Per node, C(count) (the smallest bound of the checks that limit a count, null when unknown),
          C(limited_by) (the class or filter that runs out first), C(schedulable) (null when the node fits only if
          C(unknown_checks) pass), C(reasons) (why not) and C(fits) (count when schedulable, else 0).
      type: list
      elements: dict
    unknown:
      description: Nodes whose capacity is unknown (not counted in the total).
      type: list
      elements: str
snapshot:
  description:
    - The cloud snapshot, version 1 (C(docs/snapshot.md)) with the selected hosts, every aggregate,
      the availability zones, the server groups and C(warnings) about partial data.
  returned: always
  type: dict
  contains:
    hosts:
      description: The selected compute nodes, each once (the keys are listed under RV(hypervisors)).
      type: list
      elements: dict
"""

import os

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as _cap
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as _facts
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as _flavors
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as _gather
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import attach as _attach
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import numa_usage as _numa_usage
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as _snapshot


class HypervisorInfoModule(NovaModule):
    argument_spec = dict(
        host=dict(type="list", elements="str"),
        availability_zone=dict(type="list", elements="str"),
        aggregate=dict(type="list", elements="str"),
        service_status=dict(type="str", choices=["enabled", "disabled"]),
        service_state=dict(type="str", choices=["up", "down"]),
        flavor=dict(type="raw"),
        boot_from_volume=dict(type="bool", default=False),
        pcpu_fallback=dict(type="bool", default=True),
        scheduler=dict(type="dict"),
        server_group=dict(type="str"),
        return_hypervisors=dict(type="bool", default=False),
        placement=dict(type="bool", default=True),
        placement_workers=dict(type="int", default=8),
        servers=dict(type="bool", default=True),
        server_groups=dict(type="bool", default=True),
        node_facts=dict(type="dict"),
        node_facts_dir=dict(type="path"),
        numa_capacity=dict(type="dict"),
        nova_db=dict(type="str", no_log=True),
    )

    def validate(self):
        for host, numa in (self.params["numa_capacity"] or {}).items():
            if _numa_usage.is_node_facts(numa):
                continue  # a host's nova_compute facts: cells_from_facts reads them
            _snapshot.check(numa, _snapshot.NUMA_SCHEMA, where="numa_capacity.%s" % host)
            if not isinstance(numa, dict) or not isinstance(numa.get("cells"), list):
                raise ValueError("numa_capacity.%s.cells must be a list of NUMA cells (docs/snapshot.md)" % host)
        if self.params["node_facts_dir"] is not None and not os.path.isdir(self.params["node_facts_dir"]):
            raise ValueError("node_facts_dir: %r is not a directory" % self.params["node_facts_dir"])
        if self.params["placement_workers"] < 1:
            raise ValueError("placement_workers must be at least 1, got %d" % self.params["placement_workers"])
        flavor = self.params["flavor"]
        if flavor is not None:
            if isinstance(flavor, dict):
                self._inline = _flavors.inline_flavor(flavor)
            elif isinstance(flavor, (str, int)) and not isinstance(flavor, bool) and str(flavor).strip():
                self._inline = None
            else:
                raise ValueError("flavor must be a flavor name or id, or a mapping with vcpus, ram and disk")

    def run(self):
        flavor_value = self.params["flavor"]
        flavor = request = None
        if flavor_value is not None:
            # resolve first: a wrong flavor fails before the (longer) gathering
            flavor, request = _flavors.resolve(self.conn, flavor_value, is_bfv=self.params["boot_from_volume"])
        snapshot = _gather.gather_snapshot(
            self.conn, host=self.params["host"], availability_zone=self.params["availability_zone"],
            aggregate=self.params["aggregate"], service_status=self.params["service_status"],
            service_state=self.params["service_state"], placement=self.params["placement"],
            servers=self.params["servers"], server_groups=self.params["server_groups"],
            workers=self.params["placement_workers"], numa_capacity=self.params["numa_capacity"],
            nova_db=self.params["nova_db"])
        _attach.from_options(snapshot, self.params["node_facts"], self.params["node_facts_dir"])
        for message in snapshot["warnings"]:
            self.warn(message)
        result = {
            "totals": _cap.totals(snapshot["hosts"]),
            "snapshot": snapshot,
        }
        if self.params["return_hypervisors"]:
            result["hypervisors"] = snapshot["hosts"]
        if request is not None:
            hints = {"group": self.params["server_group"]} if self.params["server_group"] else {}
            room = _facts.headroom(snapshot["hosts"], request, pcpu_fallback=self.params["pcpu_fallback"],
                                   flavor=flavor, snapshot=snapshot, scheduler=self.params["scheduler"],
                                   scheduler_hints=hints)
            room["flavor"] = flavor
            room["request"] = request
            result["headroom"] = room
        return result


def main():
    HypervisorInfoModule()()


if __name__ == "__main__":
    main()
