# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: hypervisors
short_description: Nova compute hosts as inventory, grouped by AZ, aggregate, status, state and hypervisor type
version_added: 0.1.0
description:
  - Discovers the compute hosts of a cloud from Nova (hypervisors joined with their C(nova-compute)
    service, availability zone and host aggregates) and, optionally, their placement capacity, and
    makes each service host an inventory host, so a play can target for example every enabled
    compute in an availability zone (C(nova_az_az1:&nova_status_enabled)) without a hand-kept inventory.
  - Uses the same gathering code and the same connection options as M(stackops.nova.hypervisor_info).
  - Every host gets the facts of M(stackops.nova.hypervisor_info) under one variable, C(nova) (the
    snapshot host of C(docs/snapshot.md)); a service host with several nodes (for example ironic)
    gets the first node there and all of them in C(nova.nodes).
  - "Groups: C(nova_compute) (parent of all), C(nova_az_<az>), C(nova_aggregate_<name>),
    C(nova_status_<enabled|disabled>), C(nova_state_<up|down>) and C(nova_hypervisor_type_<type>);
    names are lowercased and every character other than a letter, a digit or C(_) becomes C(_)."
  - Values that come from the API are marked unsafe, so a hostile name or metadata value is never
    templated.
  - The configuration file name must end with C(nova_hypervisors.yml) or C(nova_hypervisors.yaml).
author:
  - stackops.nova developers (@stackops)
options:
  plugin:
    description: The name of this plugin; must be V(stackops.nova.hypervisors).
    required: true
    type: str
    choices: [stackops.nova.hypervisors]
  host_filter:
    description:
      - Only compute hosts whose service host or hypervisor hostname matches one of these shell globs.
    type: list
    elements: str
    default: []
  availability_zone:
    description:
      - Only compute hosts in one of these availability zones.
    type: list
    elements: str
    default: []
  aggregate:
    description:
      - Only compute hosts in one of these host aggregates (names or ids).
    type: list
    elements: str
    default: []
  service_status:
    description:
      - Only hosts whose service is enabled, or only disabled ones.
    type: str
    choices: [enabled, disabled]
  service_state:
    description:
      - Only hosts whose service is up, or only down ones.
    type: str
    choices: [up, down]
  use_host_ip:
    description:
      - Set C(ansible_host) to the hypervisor's C(host_ip). With V(false) (or when C(compose) sets
        C(ansible_host)) the host is reached by its name.
    type: bool
    default: true
  placement:
    description:
      - Read placement capacity, traits and provider aggregates into C(nova.resources) and
        C(nova.traits). V(false) makes the inventory faster and needs no placement access.
    type: bool
    default: true
  placement_workers:
    description:
      - How many placement requests run at the same time.
    type: int
    default: 8
  servers:
    description:
      - Read the server list to fill C(nova.num_instances) and C(nova.instances).
    type: bool
    default: false
  group_prefix:
    description:
      - The prefix of the groups this plugin makes.
    type: str
    default: nova_
  node_facts:
    description:
      - Compute-node facts (M(stackops.nova.compute_facts)) to attach, a mapping of host name to
        the host's C(nova_compute) facts (or its C(ansible_facts)). Matched hosts get
        C(nova.node) and, when missing, C(nova.numa); see O(stackops.nova.hypervisor_info#module:node_facts).
    type: dict
    version_added: 0.2.0
  node_facts_dir:
    description:
      - A fact-cache directory (the C(ansible.builtin.jsonfile) cache plugin's) to read
        compute-node facts from, as O(node_facts); for example the C(fact_caching_connection) of
        the play that ran M(stackops.nova.compute_facts) on the computes.
    type: path
    version_added: 0.2.0
extends_documentation_fragment:
  - stackops.nova.auth
  - constructed
  - inventory_cache
notes:
  - The connection options are the same as those of the modules; when O(cloud) is omitted,
    openstacksdk reads E(OS_CLOUD) and the other E(OS_*) variables.
seealso:
  - module: stackops.nova.hypervisor_info
"""

EXAMPLES = r"""
# Two inventory files, one YAML document each.
---
# file: prod.nova_hypervisors.yml
plugin: stackops.nova.hypervisors
cloud: prod
service_status: enabled

---
# file: az1.nova_hypervisors.yml -- reach hosts by name, add groups by free memory
plugin: stackops.nova.hypervisors
cloud: prod
availability_zone: [az1]
use_host_ip: false
keyed_groups:
  - key: nova.hypervisor_state
    prefix: hypervisor
groups:
  low_memory: (nova.resources.MEMORY_MB.free | default(0)) < 4096
compose:
  ansible_user: "'ops'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-nova
cache_timeout: 300

# Then: ansible-playbook -i az1.nova_hypervisors.yml -l 'nova_status_enabled:&nova_state_up' site.yml
"""

import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as _gather
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import attach as _attach

_BAD_GROUP_CHARS = re.compile(r"[^a-z0-9_]")


def group_name(prefix, kind, value):
    """``nova_az_az1``-style names: lowercased, other characters replaced by ``_``."""
    return _BAD_GROUP_CHARS.sub("_", ("%s%s_%s" % (prefix, kind, value)).lower())


def inventory_hosts(snapshot):
    """``{inventory host name: host vars}`` from a snapshot (one entry per service host).

    The entries are shallow copies: nothing here changes the snapshot's values (a cached
    snapshot stays as it was), and Ansible copies host vars itself when it wraps them.
    """
    hosts = {}
    for entry in snapshot.get("hosts") or []:
        name = entry.get("name")
        if not name:
            continue
        if name in hosts:
            first = hosts[name]
            if "nodes" not in first:
                first["nodes"] = [{k: v for k, v in first.items() if k != "nodes"}]
            first["nodes"].append(dict(entry))
        else:
            hosts[name] = dict(entry)
    return hosts


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "stackops.nova.hypervisors"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        return path.endswith(("nova_hypervisors.yml", "nova_hypervisors.yaml"))

    def _gather(self):
        params = {key: self.get_option(key) for key in _conn.AUTH_OPTIONS}
        cloud = params.get("cloud")
        if cloud is not None and not isinstance(cloud, (str, dict)):
            raise AnsibleParserError("cloud must be a clouds.yaml cloud name or a dict of connection settings, "
                                     "got %s" % type(cloud).__name__)
        workers = self.get_option("placement_workers")
        if workers is None or int(workers) < 1:
            raise AnsibleParserError("placement_workers must be at least 1, got %r" % (workers,))
        try:
            conn = _conn.connect(params)
            try:
                return _gather.gather_snapshot(
                    conn, host=self.get_option("host_filter") or None,
                    availability_zone=self.get_option("availability_zone") or None,
                    aggregate=self.get_option("aggregate") or None,
                    service_status=self.get_option("service_status"),
                    service_state=self.get_option("service_state"),
                    placement=self.get_option("placement"), servers=self.get_option("servers"),
                    server_groups=False, workers=int(workers))
            finally:
                try:
                    conn.close()
                except Exception:  # closing is best effort
                    pass
        except _conn.NovaError as exc:
            raise AnsibleParserError("stackops.nova.hypervisors: %s" % exc.message) from None

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        snapshot = None
        if use_cache:
            try:
                snapshot = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if snapshot is None:
            snapshot = self._gather()
        if update_cache:
            self._cache[cache_key] = snapshot
        node_facts, node_facts_dir = self.get_option("node_facts"), self.get_option("node_facts_dir")
        if node_facts is not None or node_facts_dir is not None:
            # on a copy: the cached snapshot stays the cloud's (node facts change more often)
            snapshot = dict(snapshot, hosts=[dict(h) for h in snapshot.get("hosts") or []],
                            warnings=list(snapshot.get("warnings") or []))
            try:
                _attach.from_options(snapshot, node_facts, node_facts_dir)
            except _attach.NodeFactsError as exc:
                raise AnsibleParserError("stackops.nova.hypervisors: %s" % exc) from None
        for message in snapshot.get("warnings") or []:
            self.display.warning("stackops.nova.hypervisors: %s" % message)
        self._populate(snapshot)

    def _populate(self, snapshot):
        prefix = self.get_option("group_prefix")
        parent = self.inventory.add_group(prefix + "compute")
        aggregate_names = {a.get("id"): a.get("name") for a in snapshot.get("aggregates") or []}
        strict = self.get_option("strict")
        for name, facts in sorted(inventory_hosts(snapshot).items()):
            host = self.inventory.add_host(wrap_var(name), group=parent)
            service = facts.get("service") or {}
            groups = []
            if facts.get("availability_zone"):
                groups.append(group_name(prefix, "az", facts["availability_zone"]))
            for agg_id in facts.get("aggregates") or []:
                if aggregate_names.get(agg_id):
                    groups.append(group_name(prefix, "aggregate", aggregate_names[agg_id]))
            if service.get("status"):
                groups.append(group_name(prefix, "status", service["status"]))
            if service.get("state"):
                groups.append(group_name(prefix, "state", service["state"]))
            if facts.get("hypervisor_type"):
                groups.append(group_name(prefix, "hypervisor_type", facts["hypervisor_type"]))
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(parent, group)
                self.inventory.add_child(group, host)
            self.inventory.set_variable(host, "nova", wrap_var(facts))
            if self.get_option("use_host_ip") and facts.get("host_ip"):
                self.inventory.set_variable(host, "ansible_host", wrap_var(facts["host_ip"]))
            variables = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            variables = self.inventory.get_host(host).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
