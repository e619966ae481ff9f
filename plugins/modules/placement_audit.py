#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: placement_audit
short_description: Find where Nova and placement disagree, with the evidence, the capacity effect and the fix
version_added: 0.2.0
description:
  - Reads Nova's API (hypervisors, compute services, aggregates, servers of all projects, migrations) and
    placement's API (every resource provider with its inventories, traits, aggregates and allocations) and
    reports each disagreement as a finding with its kind, the objects involved, the evidence (what Nova says,
    what placement says), its effect on capacity (resources wrongly held or wrongly free per provider) and the
    fix (the command, and where it is safe an API-level repair).
  - 'Kinds: V(orphaned_allocation) (a consumer that is neither a server nor a migration in progress),
    V(ended_migration_allocation), V(instance_without_allocation), V(instance_allocation_wrong_provider),
    V(instance_allocation_wrong_amounts) (against the flavor the server embeds), V(provider_without_compute_node),
    V(compute_node_without_provider), V(aggregate_missing_in_placement), V(aggregate_stale_in_placement),
    V(disabled_trait_mismatch) (C(COMPUTE_STATUS_DISABLED) vs the service status), V(inventory_mismatch)
    (totals against what the compute reports; ratios and reserved against O(compute_config)),
    V(down_service_with_instances) and V(deleted_service_with_instances).'
  - What the APIs do not show is never guessed. Without O(compute_config) the ratio and reserved check is
    listed in RV(unknown) with what would decide it. Servers that are building, migrating, resizing or deleting
    are left out, and the consumers that look orphaned or missing are read again after Nova's lists, so boots
    and deletes in flight are not findings.
  - Requests grow linearly with the number of providers (inventories and allocations of each, run on at
    most O(workers) threads), plus one filtered provider list per checked trait and per Nova aggregate and
    paginated Nova list calls; never a request per server.
  - With O(state=repaired) the module applies the API-level repairs of the findings (deleting orphaned or
    ended-migration allocations, creating the missing allocation of a server from its flavor, adding or
    removing a provider's placement aggregate, setting or removing C(COMPUTE_STATUS_DISABLED), deleting an
    empty provider that has no compute node, and with O(compute_config) setting a ratio or reserved amount).
    Each object is read again first and left alone when it changed since the audit. Nothing the audit did not
    name is touched. Check mode reports what would change; C(--diff) shows each object before and after.
  - Needs the admin role (Nova's host, migration and all-projects server APIs and placement are admin-only).
author:
  - stackops.nova developers (@stackops)
options:
  state:
    description:
      - V(audited) only reports. V(repaired) also applies the API-level repairs, then audits again and
        returns that second audit in RV(after).
    type: str
    choices: [audited, repaired]
    default: audited
  repair_kinds:
    description:
      - With O(state=repaired), only repair findings of these kinds. Default is every kind with an
        API-level repair.
    type: list
    elements: str
  compute_config:
    description:
      - 'The C(nova.conf) values of the computes, to decide the ratio and reserved part of
        V(inventory_mismatch): a mapping of compute host name (or V(*) for every other host) to
        C(cpu_allocation_ratio), C(ram_allocation_ratio), C(disk_allocation_ratio), C(reserved_host_cpus),
        C(reserved_host_memory_mb), C(reserved_host_disk_mb).'
      - A ratio given here must equal placement's. Give a ratio only when nova.conf sets it; when nova.conf
        leaves it unset, the C(initial_*_allocation_ratio) applied only when the provider was created and
        placement's value is the truth, so leave it out (or null).
    type: dict
  workers:
    description:
      - At most this many concurrent placement requests.
    type: int
    default: 8
extends_documentation_fragment:
  - stackops.nova.auth
attributes:
  check_mode:
    support: full
    description: With O(state=repaired), reports what would be repaired and changes nothing.
  diff_mode:
    support: full
    description: Shows each repaired object (allocations of a consumer, a provider's aggregates, traits or inventory) before and after.
  idempotent:
    support: full
    description: A second run finds nothing left to repair.
seealso:
  - module: stackops.nova.hypervisor_info
  - name: Is my placement telling the truth?
    description: The collection's guide to the audit (docs/audit.md).
    link: https://github.com/stackops/nova/blob/main/docs/audit.md
  - name: nova-manage placement
    description: Nova's own audit, heal_allocations and sync_aggregates commands.
    link: https://docs.openstack.org/nova/latest/cli/nova-manage.html#placement
"""

EXAMPLES = r"""
- name: Is placement telling the truth?
  stackops.nova.placement_audit:
    cloud: mycloud
  register: audit

- name: One line, then the findings
  ansible.builtin.debug:
    msg: "{{ [audit.summary.line] + (audit.findings | map(attribute='message') | list) }}"

- name: Decide the ratios and reserved amounts too (values from the computes' nova.conf)
  stackops.nova.placement_audit:
    cloud: mycloud
    compute_config:
      "*": {reserved_host_memory_mb: 4096}
      gpu-01: {cpu_allocation_ratio: 1.0, reserved_host_memory_mb: 16384}

- name: Show what the repair would do
  stackops.nova.placement_audit:
    cloud: mycloud
    state: repaired
  check_mode: true
  diff: true

- name: Only delete orphaned allocations
  stackops.nova.placement_audit:
    cloud: mycloud
    state: repaired
    repair_kinds: [orphaned_allocation, ended_migration_allocation]
"""

RETURN = r"""
findings:
  description: Every disagreement, sorted by kind.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: The kind of drift (see the description).
      type: str
      sample: orphaned_allocation
    message:
      description: One sentence for a person.
      type: str
      sample: consumer 6b1c... is neither an instance nor a migration in progress but holds cmp1 (DISK_GB=1, MEMORY_MB=512, VCPU=1)
    provider:
      description: The provider concerned (uuid, name), or null.
      type: dict
    server:
      description: The server concerned (id, name, project_id, host, node, status), or null.
      type: dict
    consumer:
      description: The placement consumer concerned, or null.
      type: str
    amounts:
      description: The resources concerned, per resource class.
      type: dict
      sample: {VCPU: 1, MEMORY_MB: 512, DISK_GB: 1}
    evidence:
      description: What Nova says and what placement says.
      type: dict
      sample: {nova: no server and no migration has uuid 6b1c..., placement: consumer 6b1c... holds cmp1 (VCPU=1)}
    capacity_effect:
      description: Per provider, the resources wrongly held (used in placement, not in Nova) and wrongly free.
      type: list
      elements: dict
      sample: [{provider_uuid: 0f3e..., provider_name: cmp1, wrongly_held: {VCPU: 1}, wrongly_free: {}}]
    fix:
      description: The commands that fix it (C(commands)) and the API-level repair the module can apply (C(repair), or null).
      type: dict
      sample: {commands: ["openstack resource provider allocation delete 6b1c..."], repair: {action: delete_allocations}}
unknown:
  description: Checks the APIs cannot decide, with the objects, why, and what would decide them.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts per kind, the number of unknown checks and of repairable findings, and a one-line summary.
  returned: always
  type: dict
  sample: {total: 2, by_kind: {orphaned_allocation: 1, instance_without_allocation: 1}, unknown: 1, repairable: 2,
           line: "placement audit: 2 finding(s) (orphaned_allocation 1, instance_without_allocation 1); 1 check(s) unknown"}
capacity_effect:
  description: Per provider uuid, the sum of the findings' effects (wrongly held, wrongly free).
  returned: always
  type: dict
requests:
  description: The number of HTTP requests the audit made (not counting authentication and version discovery).
  returned: always
  type: int
  sample: 817
in_flight_consumers:
  description: Consumers left out because a second read disagreed with the first (boots and deletes in flight).
  returned: always
  type: list
  elements: str
repairs:
  description: With O(state=repaired), each repair with its object before and after, whether it changed, and why it was skipped.
  returned: when state is repaired
  type: list
  elements: dict
after:
  description: With O(state=repaired) and not in check mode, the summary of the audit run after the repairs.
  returned: when state is repaired and repairs were applied
  type: dict
"""

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit as _audit
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit_cloud as _cloud


class PlacementAuditModule(NovaModule):
    argument_spec = dict(
        state=dict(type="str", choices=["audited", "repaired"], default="audited"),
        repair_kinds=dict(type="list", elements="str"),
        compute_config=dict(type="dict"),
        workers=dict(type="int", default=8),
    )

    def validate(self):
        if self.params["workers"] < 1:
            raise ValueError("workers must be at least 1, got %d" % self.params["workers"])
        unknown = sorted(set(self.params["repair_kinds"] or []) - set(_audit.KINDS))
        if unknown:
            raise ValueError("repair_kinds has unknown kind(s) %s; the kinds are %s"
                             % (", ".join(unknown), ", ".join(_audit.KINDS)))
        self.compute_config = _audit.validate_compute_config(self.params["compute_config"])

    def run(self):
        result = _cloud.run_audit(self.conn, compute_config=self.compute_config, workers=self.params["workers"])
        if self.params["state"] != "repaired":
            return result
        actions = _audit.repairs(result["findings"], kinds=self.params["repair_kinds"])
        applied = _cloud.apply_repairs(self.conn, actions, check_mode=self.module.check_mode)
        result["repairs"] = applied
        changed = [r for r in applied if r["changed"]]
        result["changed"] = bool(changed)
        if changed:
            result["diff"] = [{"before_header": _header(r), "after_header": _header(r),
                               "before": r["before"], "after": r["after"]} for r in changed]
        for r in applied:
            if r.get("skipped"):
                self.warn("repair %s skipped: %s" % (r["action"]["action"], r["skipped"]))
        if changed and not self.module.check_mode:
            again = _cloud.run_audit(self.conn, compute_config=self.compute_config, workers=self.params["workers"])
            result["after"] = again["summary"]
        return result


def _header(result):
    action = result["action"]
    target = action.get("consumer") or action.get("name") or action.get("provider")
    return "%s %s (%s)" % (action["action"], target, action["kind"])


def main():
    PlacementAuditModule()()


if __name__ == "__main__":
    main()
