#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: scheduling_explain
short_description: Explain where Nova would schedule a request, and why no valid host was found
version_added: 0.1.0
description:
  - Answers "why was no valid host found?" before or after the fact. For a request (flavor, image,
    availability zone, scheduler hints, count, project) it evaluates B(every) check on B(every)
    compute node, as Nova's scheduler would, but without stopping at the stage that empties the
    host list, and gives each cell of the host x check matrix a verdict and a reason with the
    numbers (for example C(MEMORY_MB needs 8192; capacity (65536-512)x1.0=65024, used 60000 -> free 5024)).
  - "The checks: Nova's request filters (prefilters: availability zone -> placement aggregate,
    forced C(az:host[:node]), disabled computes (C(COMPUTE_STATUS_DISABLED)), tenant aggregates,
    isolated aggregates, image type support, image metadata traits); placement per resource class
    (C((total - reserved) x allocation_ratio - used), min_unit, max_unit, step_size, required and
    forbidden traits, the PCPU -> VCPU fallback query); then each enabled host filter with Nova's
    semantics, and the legacy filters (RamFilter, CoreFilter, DiskFilter, their Aggregate forms,
    RetryFilter, AvailabilityZoneFilter) for older releases. A filter that no longer exists in the
    target release is reported with what replaced it; an unknown or out-of-tree filter is reported
    as not evaluated, never guessed."
  - Each failure is B(static) (never on this host as configured, such as traits, aggregates, AZ,
    image properties, a disabled service) or B(dynamic) (full now).
  - The survivors are weighed with Nova's weighers and multipliers; with O(count) > 1 the instances
    are placed one by one, each consuming on its host, as Nova's claims do.
  - Returns a one-line summary as short as Kubernetes' (RV(summary)), the full matrix, near misses,
    verified minimal relaxations (a smaller flavor, another AZ, dropping a hint, enabling a host, a
    higher allocation ratio on a host ...), headroom, and a PRS-style text table (RV(table)).
  - The cloud is read once (hypervisors, services, aggregates, servers, server groups and placement,
    through the same gatherer as M(stackops.nova.hypervisor_info)) unless O(snapshot) is given; with
    a snapshot and an inline O(flavor) no cloud is contacted at all.
  - The engine is pure Python over the snapshot; it makes no change anywhere.
  - An offline explanation (O(snapshot) or O(snapshot_path), an inline O(flavor), no image name) of a
    task that runs on the controller itself (connection C(local), no C(become), not C(async)) is
    computed by the collection's action plugin in the controller's process, without starting a
    module. It is the same result from the same code, without packing the module, starting Python
    and passing the snapshot and the result as JSON. Any error is left to the module, so its
    messages are the same either way. Every other task runs the module.
author:
  - stackops.nova developers (@stackops)
options:
  flavor:
    description:
      - The flavor, by name or id (looked up in Nova), or inline as a dict with C(name), C(vcpus),
        C(ram) (MB), C(disk), C(ephemeral) (GB), C(swap) (MB) and C(extra_specs).
    type: raw
    required: true
  image:
    description:
      - The image, inline as a dict with C(id), C(name), C(disk_format) and C(properties) (for
        example C(hw_architecture), C(img_hv_type), C(trait:CUSTOM_X=required)).
      - A name or id is looked up in the image service (Glance) when there is one.
    type: raw
  availability_zone:
    description:
      - The requested availability zone, or C(az:host) / C(az:host:node) to force a destination
        (Nova then skips the host filters, but nova-compute still re-checks the server group
        policy when it claims the host, the claim stage). When the forced host is not in the
        requested zone, Nova's API drops the zone (bug 1934770) and so does the engine.
    type: str
  scheduler_hints:
    description:
      - Scheduler hints, as given to C(openstack server create --hint), for example C(group) (a
        server group id or name), C(different_host), C(same_host), C(query), C(build_near_host_ip), C(cidr).
    type: dict
    default: {}
  count:
    description:
      - How many instances the request asks for (C(--min-count)); they are placed one by one.
    type: int
    default: 1
  project_id:
    description:
      - The project making the request (for tenant isolation), by id or name. A name is resolved
        to its id in the identity service (or, with O(snapshot), from the snapshot's C(projects));
        a value that cannot be resolved is an error, never silently ignored. Defaults to the
        connection's project.
    type: str
  host:
    description:
      - The requested destination host (C(openstack server create --host), microversion 2.74);
        unlike a forced C(az:host), the host filters still run.
    type: str
    version_added: 0.2.0
  hypervisor_hostname:
    description:
      - The requested destination node (C(--hypervisor-hostname), microversion 2.74).
    type: str
    version_added: 0.2.0
  networks:
    description:
      - The requested networks and ports, for the request filters that read them (nova 34's
        C(routed_networks_filter) and C(remote_managed_ports_filter)), each a dict with C(port_id) or
        C(network_id), C(remote_managed) (the port's vnic_type is C(remote-managed)) and C(aggregates)
        (the placement aggregates of the network's segments, for routed networks).
      - Left out, the request names no port; with
        C([scheduler] query_placement_for_routed_network_aggregates) on, the routed-networks prefilter is
        then unknown.
    type: list
    elements: dict
    version_added: 0.2.0
  boot_from_volume:
    description:
      - Whether the server boots from a volume (its root disk then takes no C(DISK_GB)).
    type: bool
    default: false
  scheduler:
    description:
      - The scheduler configuration as it is on the scheduler hosts' C(nova.conf) (see C(docs/explain.md)
        for how to read it), with the keys C(enabled_filters), C(weights) (the C(*_weight_multiplier) options),
        C(host_subset_size), C(max_io_ops_per_host), C(max_instances_per_host), C(isolated_hosts),
        C(isolated_images), C(limit_tenants_to_placement_aggregate),
        C(enable_isolated_aggregate_filtering), C(query_placement_for_image_type_support),
        C(image_metadata_prefilter), C(disable_fallback_pcpu_query) ... Keys left out take Nova's
        defaults for O(nova_release).
      - C(pci_alias) (the C([pci] alias) JSON strings), C(pci_in_placement), C(metrics_weight_setting)
        (C([metrics] weight_setting)), C(query_placement_for_routed_network_aggregates) and
        C(compute_service_min_version) (the lowest nova-compute service version) are read as given; left out,
        the PCI, metrics and OWNER_NOVA checks that need them say unknown.
      - C(nova_conf) reads the scheduler's C(nova.conf) instead (a path, or a list of the paths one
        nova-scheduler loads, in order, later files winning; read on the host the module runs on), and
        C(nova_conf_text) takes the text of that file (a string, a list of the texts in load order, or a
        mapping of scheduler host to its text, for example gathered with M(ansible.builtin.slurp) from
        every scheduler host; the hosts must agree). The options are read from their nova.conf sections
        with the collection's option table (types, defaults, the deprecated names the target release
        still reads); keys given beside C(nova_conf) or C(nova_conf_text) override the file.
      - Defaults to the snapshot's C(scheduler) when it has one, else Nova's defaults.
    type: dict
  nova_release:
    description:
      - The Nova release of the cloud (for example V(34.0.0), V(2023.1), V(Train)), which decides which filters exist
        and the default C(enabled_filters). Defaults to the snapshot's, else the latest known.
    type: str
  snapshot:
    description:
      - A cloud snapshot (version 1, C(docs/snapshot.md)), for example RV(stackops.nova.hypervisor_info#module:snapshot)
        or a saved one read with C(lookup('ansible.builtin.file', path) | from_json). When omitted (and
        O(snapshot_path) too) the module reads the cloud.
      - It is not repeated in the result's C(invocation) (a placeholder with its number of hosts is).
      - O(snapshot_path) reads the same document from a file instead of the task's arguments.
      - Mutually exclusive with O(snapshot_path).
    type: dict
  snapshot_path:
    description:
      - A saved snapshot file (JSON, as written by C(stackops.nova.hypervisor_info) and saved with
        C(to_json)), read by the module on the host it runs on. The cheapest way to explain offline
        on a big cloud. Mutually exclusive with O(snapshot).
    type: path
    version_added: 0.2.0
  relaxations:
    description:
      - Whether to search for minimal relaxations when the request does not fit (each candidate is
        verified by running the engine again).
    type: bool
    default: true
  max_hosts_in_table:
    description:
      - How many hosts the text table RV(table) shows (the JSON matrix always has every host).
    type: int
    default: 40
  detail:
    description:
      - The shape of the host x check matrix in RV(explanation) (both carry the same information;
        C(docs/explain.md) describes them).
      - V(compact) lists each distinct cell once in C(explanation.cells) and each distinct verdict
        row once in C(explanation.rows) (cell indexes in the order of C(explanation.checks)); each
        of C(explanation.hosts) names its C(row). At 2,000 hosts this is a few hundred kB instead of about 4 MB, which is most of
        what the task costs Ansible.
      - V(full) gives every host its own C(checks) (check id -> cell), C(failed) and C(uncertain),
        the shape of earlier releases.
      - The P(stackops.nova.html_report#filter), P(stackops.nova.explain_table#filter) and
        P(stackops.nova.explain_summary#filter) filters take both.
    type: str
    choices: [compact, full]
    default: compact
    version_added: 0.2.0
  return_snapshot:
    description:
      - Also return the snapshot the explanation was computed on (as RV(snapshot)).
    type: bool
    default: false
extends_documentation_fragment:
  - stackops.nova.auth
  - stackops.nova.auth.info_module
notes:
  - C(NUMATopologyFilter) (NUMA cells, CPU pinning, huge pages) is evaluated from the snapshot's
    C(hosts[].numa), cell by cell with the shortfall; a host without NUMA data is unknown.
  - Not modelled (reported as such, never guessed) PCI devices, C(MetricsFilter), nested resource
    providers and sharing providers (granular groups are merged onto the compute node), routed
    networks and other prefilters that need Neutron or Cyborg, and out-of-tree filters.
seealso:
  - module: stackops.nova.hypervisor_info
  - module: stackops.nova.server_history
  - name: Nova scheduler filters
    description: What each filter does, and the request filters.
    link: https://docs.openstack.org/nova/latest/admin/scheduling.html
"""

EXAMPLES = r"""
- name: Why does m1.xlarge not fit in az1?
  stackops.nova.scheduling_explain:
    cloud: mycloud
    flavor: m1.xlarge
    availability_zone: az1
  register: why

- name: One line, then the PRS-style table
  ansible.builtin.debug:
    msg: "{{ [why.summary] + why.table.splitlines() }}"

- name: Three servers of an anti-affinity group, with the scheduler options of nova.conf
  stackops.nova.scheduling_explain:
    cloud: mycloud
    flavor: m1.small
    count: 3
    scheduler_hints:
      group: web
    scheduler:
      enabled_filters: [ComputeFilter, ComputeCapabilitiesFilter, ImagePropertiesFilter,
                        ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter,
                        AggregateInstanceExtraSpecsFilter]
      weights:
        ram_weight_multiplier: -1.0

- name: With the scheduler's own nova.conf (the module runs where the file is)
  stackops.nova.scheduling_explain:
    cloud: mycloud
    flavor: m1.large
    scheduler:
      nova_conf: /etc/nova/nova.conf
  delegate_to: "{{ groups['nova_scheduler'][0] }}"

- name: Offline, on a saved snapshot, with an inline flavor (no cloud contacted)
  stackops.nova.scheduling_explain:
    snapshot: "{{ lookup('ansible.builtin.file', 'cloud-snapshot.json') | from_json }}"
    flavor: {name: big, vcpus: 16, ram: 131072, disk: 200}
  register: offline

- name: The same from the file directly (the snapshot is not in the task's arguments)
  stackops.nova.scheduling_explain:
    snapshot_path: cloud-snapshot.json
    flavor: {name: big, vcpus: 16, ram: 131072, disk: 200}

- name: Fail the play when it would not fit, with the reasons
  ansible.builtin.assert:
    that: offline.fits
    fail_msg: "{{ offline.summary }}"
"""

RETURN = r"""
fits:
  description:
    - Whether every requested instance would be placed; C(null) when it depends on checks the
      engine cannot decide (unknown data, filters not modelled), named in C(explanation.unknowns).
    - A host whose verdict depends on an unknown check never counts as fitting.
  returned: success
  type: bool
summary:
  description:
    - "One line, for example C(0/12 hosts fit m1.xlarge in az1: 5 insufficient MEMORY_MB, 4 not in AZ az1, 3 disabled)."
    - Each failing host counts once, under its first failing check in Nova's order.
  returned: success
  type: str
table:
  description: The human report (summary, per-check table, host x check matrix, near misses,
    relaxations, headroom, notes) as text.
  returned: success
  type: str
valid_hosts:
  description: The hosts that pass every check for the first instance (C(host) or C(host/node)).
  returned: success
  type: list
  elements: str
explanation:
  description:
    - The whole explanation as plain data; its shape (explain_version 1) is documented in C(docs/explain.md).
  returned: success
  type: dict
  contains:
    detail:
      description: The shape of the matrix, V(compact) or V(full) (O(detail)).
      type: str
    hosts:
      description:
        - One entry per compute node with C(host), C(nodename), C(availability_zone), C(fits),
          C(kind) (static/dynamic) and C(chosen).
        - With O(detail=compact), C(row) (an index into C(rows)); with O(detail=full), C(failed)
          and C(uncertain) (check ids) and C(checks) (check id -> verdict, kind, reason, short).
      type: list
      elements: dict
    cells:
      description: Each distinct cell once (C(verdict), C(kind), C(reason), C(short)); only with O(detail=compact).
      type: list
      elements: dict
    rows:
      description:
        - Each distinct verdict row once, only with O(detail=compact) - a list of indexes into
          C(cells), one per check in the order of C(checks).
      type: list
      elements: list
    checks:
      description: The columns in Nova's order (C(id), C(stage), C(name)).
      type: list
      elements: dict
    reasons:
      description: The summary's histogram (C(reason), C(hosts), C(kind)).
      type: list
      elements: dict
    placements:
      description: Instance by instance, the host Nova would choose and its weight.
      type: list
      elements: dict
    near_misses:
      description: Hosts failing exactly one check, with C(short_by) for capacity.
      type: list
      elements: dict
    relaxations:
      description: Verified single changes that make the request fit (C(kind), C(change), C(hosts)).
      type: list
      elements: dict
    headroom:
      description: How many more of this request fit now, C(per_host) and C(total).
      type: dict
    nova_pipeline:
      description: The counts Nova's own short-circuit pass would log (placement, then each filter).
      type: list
      elements: dict
snapshot:
  description: The snapshot the explanation used (only with O(return_snapshot)).
  returned: when return_snapshot
  type: dict
"""

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as _flavors
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as _gather
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request as _request
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import task as _task


class SchedulingExplainModule(NovaModule):
    argument_spec = _task.OPTIONS
    module_kwargs = dict(mutually_exclusive=_task.MUTUALLY_EXCLUSIVE)

    def offline(self):
        return self.params["snapshot"] is not None or self.params["snapshot_path"] is not None

    def needs_sdk(self):
        # with a snapshot, an inline flavor and no image to look up, nothing is asked of the cloud
        return not _task.is_offline(self.params)

    def invocation_args(self):
        return _task.invocation_args(self.params)

    def validate(self):
        # nova.conf files are read (and a bad path reported) before the cloud is asked anything
        self._scheduler_conf = _task.check(self.params)

    def _image(self):
        image = self.params["image"]
        if image is None or isinstance(image, dict):
            return image
        try:
            found = self.call(self.conn.image.find_image, image, ignore_missing=False,
                              what="find image %s" % image)
        except Exception as exc:  # NovaError or SDK error: say which option
            raise ValueError("image %s: %s" % (image, getattr(exc, "message", exc))) from None
        props = dict(getattr(found, "properties", None) or {})
        for key in ("hw_architecture", "img_hv_type", "hw_vm_mode", "hw_disk_bus", "os_distro"):
            value = getattr(found, key.replace("img_", ""), None) if key not in props else None
            if value:
                props.setdefault(key, value)
        return {"id": found.id, "name": found.name, "disk_format": getattr(found, "disk_format", None),
                "properties": props}

    def _project_id(self, value, snapshot):
        """The id of project ``value`` (id or name): from the identity service when there is a
        connection, else from the snapshot; an error naming project_id when it cannot be resolved."""
        if self.offline():
            return _request.resolve_project(value, snapshot)
        if value == getattr(self.conn, "current_project_id", None):
            return value
        try:
            found = self.call(self.conn.identity.find_project, value, ignore_missing=True,
                              what="find project %s" % value)
        except Exception as exc:  # no right to list projects: accept only what looks like an id
            try:
                return _request.resolve_project(value, {})
            except ValueError:
                raise ValueError("project_id %s: cannot resolve it in the identity service (%s); give the project "
                                 "id" % (value, getattr(exc, "message", exc))) from None
        if found is None:
            raise ValueError("project_id %s is neither the id nor the name of a project" % value)
        return found.id

    def run(self):
        params = self.params
        if _task.is_offline(params):
            return _task.explain_offline(params, self._scheduler_conf, self.warn)
        flavor_value = params["flavor"]
        if isinstance(flavor_value, dict):
            flavor = _flavors.inline_flavor(flavor_value)
        else:
            flavor, _unused = _flavors.resolve(self.conn, flavor_value, is_bfv=params["boot_from_volume"])
        image = self._image()
        snapshot = _task.given_snapshot(params)
        if snapshot is None:
            snapshot = _gather.gather_snapshot(self.conn)
            for message in snapshot.get("warnings") or []:
                self.warn(message)
        project_id = params["project_id"]
        if project_id is None and not self.offline():
            project_id = getattr(self.conn, "current_project_id", None)
        elif project_id is not None:
            project_id = self._project_id(project_id, snapshot)
        return _task.explain(params, snapshot, flavor, image, project_id, self._scheduler_conf, self.warn)


def main():
    SchedulingExplainModule()()


if __name__ == "__main__":
    main()
