#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: usage_info
short_description: Per project, Nova quota limits and usage, and simple tenant usage over a period
version_added: 0.1.0
description:
  - For one project (the current one by default) or every project (O(all_projects), admin), returns
    the compute quota limits with what is in use and reserved (instances, cores, ram, server groups,
    server group members, key pairs, metadata items, ...) and what remains.
  - Also returns the simple tenant usage over a period (O(start) to O(end), the last 30 days by
    default) as Nova accounts it - server hours, vCPU hours, RAM MB hours and disk GB hours - and,
    with O(detailed), the servers that made it.
  - Requests - one quota request per project (run concurrently) and one paginated tenant usage
    request for all projects, or one per project when O(project) is given.
  - Reading another project's quotas and usage needs the admin role.
author:
  - stackops.nova developers (@stackops)
options:
  project:
    description:
      - The project (name or id). Default is the project of the credentials.
      - Mutually exclusive with O(all_projects).
    type: str
  all_projects:
    description:
      - Every project keystone lists (needs the admin role). Projects that have usage but are no longer
        in keystone are added with a null name and a warning.
    type: bool
    default: false
  start:
    description:
      - Start of the usage period, an ISO 8601 date or date-time (UTC unless it has an offset), for
        example V(2026-11-01) or V(2026-11-01T00:00:00Z). Default is 30 days before O(end).
    type: str
  end:
    description:
      - End of the usage period, an ISO 8601 date or date-time, or V(now) (the default).
    type: str
  quotas:
    description:
      - Read the quota limits and usage.
    type: bool
    default: true
  usage:
    description:
      - Read the simple tenant usage over the period.
    type: bool
    default: true
  detailed:
    description:
      - Include the servers of each project's usage (id, name, flavor, state, hours, vcpus, memory_mb,
        local_gb, started_at, ended_at).
    type: bool
    default: false
  workers:
    description:
      - How many quota requests run at the same time.
    type: int
    default: 8
extends_documentation_fragment:
  - stackops.nova.auth
  - stackops.nova.auth.info_module
seealso:
  - module: stackops.nova.hypervisor_info
  - name: Nova quota sets and usage API
    description: The APIs this module reads.
    link: https://docs.openstack.org/api-ref/compute/#quota-sets-os-quota-sets
"""

EXAMPLES = r"""
- name: Quotas and last month's usage of my project
  stackops.nova.usage_info:
    cloud: mycloud
  register: mine

- name: Cores left before the quota bites
  ansible.builtin.debug:
    msg: "{{ mine.projects[0].quotas.cores.remaining }}"

- name: Every project's vCPU hours in October (admin)
  stackops.nova.usage_info:
    cloud: mycloud-admin
    all_projects: true
    quotas: false
    start: "2026-10-01"
    end: "2026-11-01"
  register: october

- name: The five biggest consumers
  ansible.builtin.debug:
    msg: "{{ (october.projects | sort(attribute='usage.vcpu_hours', reverse=true))[:5]
             | map(attribute='name') | list }}"
"""

RETURN = r"""
period:
  description: The usage period (UTC) and its length in hours.
  returned: always
  type: dict
  sample: {start: "2026-10-22T14:00:00Z", end: "2026-11-21T14:00:00Z", hours: 720.0}
projects:
  description: One entry per project, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The project id.
      type: str
    name:
      description: The project name, or null when keystone does not know it (any more).
      type: str
    quotas:
      description:
        - Per quota resource, C(limit) (-1 = unlimited), C(in_use), C(reserved) and C(remaining)
          (null when unlimited).
      returned: when O(quotas=true)
      type: dict
      sample: {cores: {limit: 20, in_use: 6, reserved: 0, remaining: 14},
               instances: {limit: 10, in_use: 3, reserved: 0, remaining: 7}}
    usage:
      description:
        - Over the period, C(server_hours), C(vcpu_hours), C(ram_mb_hours), C(disk_gb_hours),
          C(num_servers) and, with O(detailed), C(servers).
      returned: when O(usage=true)
      type: dict
      sample: {server_hours: 72.0, vcpu_hours: 144.0, ram_mb_hours: 294912.0, disk_gb_hours: 2880.0, num_servers: 3}
totals:
  description: Sums over the projects of the usage hours, and of C(in_use) per quota resource.
  returned: always
  type: dict
"""

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import usage as _usage


class UsageInfoModule(NovaModule):
    argument_spec = dict(
        project=dict(type="str"),
        all_projects=dict(type="bool", default=False),
        start=dict(type="str"),
        end=dict(type="str"),
        quotas=dict(type="bool", default=True),
        usage=dict(type="bool", default=True),
        detailed=dict(type="bool", default=False),
        workers=dict(type="int", default=8),
    )
    module_kwargs = dict(mutually_exclusive=[("project", "all_projects")])

    def validate(self):
        _usage.period(self.params["start"], self.params["end"])  # raises ValueError naming start/end
        if self.params["workers"] < 1:
            raise ValueError("workers must be at least 1, got %d" % self.params["workers"])
        if self.params["project"] is not None and not self.params["project"].strip():
            raise ValueError("project must be a project name or id, got an empty string")

    def run(self):
        result = _usage.gather_usage(
            self.conn, project=self.params["project"], all_projects=self.params["all_projects"],
            start=self.params["start"], end=self.params["end"], quotas=self.params["quotas"],
            usage=self.params["usage"], detailed=self.params["detailed"], workers=self.params["workers"])
        for message in result.pop("warnings"):
            self.warn(message)
        result.pop("compute_microversion", None)
        return result


def main():
    UsageInfoModule()()


if __name__ == "__main__":
    main()
