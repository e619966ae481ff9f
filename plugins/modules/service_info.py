#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: service_info
short_description: List Nova's services with their state and a summary of the ones to look at
version_added: 0.1.0
description:
  - Lists the Nova services (C(nova-compute), C(nova-scheduler), C(nova-conductor), ...) with their
    host, availability zone, administrative status, liveness state, disabled reason, forced-down
    flag and last heartbeat, as C(openstack compute service list --long) does.
  - Adds a summary with the counts per state, status and binary, and the services that are
    down, disabled or forced down.
  - Selecting by host glob, binary, zone, status or state never fails for no match; the lists are
    then empty.
  - Nova only lists services to users with the admin role (or the policy that grants
    C(os_compute_api:os-services:list)).
author:
  - stackops.nova developers (@stackops)
options:
  host:
    description:
      - Only services whose host matches this shell glob (for example V(compute-*)), or any of these globs.
    type: list
    elements: str
  binary:
    description:
      - Only services of this binary, or of any of these binaries (for example V(nova-compute)).
    type: list
    elements: str
  zone:
    description:
      - Only services in this availability zone, or in any of these. Control services are in the
        C(internal_service_availability_zone), V(internal) by default.
    type: list
    elements: str
  status:
    description:
      - Only enabled or only disabled services.
    type: str
    choices: [enabled, disabled]
  state:
    description:
      - Only services that are up or only those that are down (no heartbeat within C(service_down_time)).
    type: str
    choices: [up, down]
extends_documentation_fragment:
  - stackops.nova.auth
  - stackops.nova.auth.info_module
seealso:
  - module: stackops.nova.hypervisor_info
  - name: Nova's os-services API
    description: The API this module reads.
    link: https://docs.openstack.org/api-ref/compute/#compute-services-os-services
"""

EXAMPLES = r"""
- name: Every compute service that is down
  stackops.nova.service_info:
    cloud: mycloud
    binary: nova-compute
    state: down
  register: down_computes

- name: Fail the play when a compute is down
  ansible.builtin.assert:
    that: down_computes.services | length == 0
    fail_msg: "Down: {{ down_computes.services | map(attribute='host') | join(', ') }}"

- name: The services of one rack, with the connection set once for the whole play
  module_defaults:
    group/stackops.nova.nova:
      cloud: mycloud
  block:
    - name: Services on rack 12
      stackops.nova.service_info:
        host: "r12-*"
      register: rack12

    - name: Show why the disabled ones are disabled
      ansible.builtin.debug:
        msg: "{{ rack12.summary.disabled }}"
"""

RETURN = r"""
services:
  description: The selected services, sorted by binary then host.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The service id (a UUID since compute API microversion 2.53).
      type: str
      sample: 7c5e1f4e-2a8b-4d55-9d1f-7b0c3a1f0e11
    binary:
      description: The service binary.
      type: str
      sample: nova-compute
    host:
      description: The host the service runs on (the name used by C(--availability-zone az:HOST)).
      type: str
      sample: compute-01
    zone:
      description: The availability zone of the host.
      type: str
      sample: az1
    status:
      description: The administrative status, V(enabled) or V(disabled).
      type: str
      sample: enabled
    state:
      description: V(up) when the service reported within C(service_down_time), else V(down).
      type: str
      sample: up
    disabled_reason:
      description: Why the service was disabled, or null.
      type: str
      sample: maintenance
    forced_down:
      description: Whether an operator forced the service down (for evacuation).
      type: bool
      sample: false
    updated_at:
      description: The last heartbeat.
      type: str
      sample: "2026-11-21T14:02:11.000000"
summary:
  description: Counts, and the services to look at.
  returned: always
  type: dict
  contains:
    total:
      description: The number of selected services.
      type: int
      sample: 7
    by_state:
      description: Count per state.
      type: dict
      sample: {up: 6, down: 1}
    by_status:
      description: Count per status.
      type: dict
      sample: {enabled: 6, disabled: 1}
    by_binary:
      description: Count per binary.
      type: dict
      sample: {nova-compute: 4, nova-conductor: 1, nova-scheduler: 1}
    down:
      description: The services that are down, with their last heartbeat.
      type: list
      elements: dict
      sample: [{binary: nova-compute, host: compute-03, zone: az2, updated_at: "2026-11-21T13:40:00.000000"}]
    disabled:
      description: The disabled services, with their reason.
      type: list
      elements: dict
      sample: [{binary: nova-compute, host: compute-04, zone: az2, disabled_reason: maintenance}]
    forced_down:
      description: The services an operator forced down.
      type: list
      elements: dict
      sample: []
"""

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import services as _services


class ServiceInfoModule(NovaModule):
    argument_spec = dict(
        host=dict(type="list", elements="str"),
        binary=dict(type="list", elements="str"),
        zone=dict(type="list", elements="str"),
        status=dict(type="str", choices=["enabled", "disabled"]),
        state=dict(type="str", choices=["up", "down"]),
    )

    def run(self):
        query = {}
        binaries = self.params["binary"] or []
        if len(binaries) == 1:
            query["binary"] = binaries[0]  # let Nova filter; globs on host stay client-side
        records = self.call(lambda: list(self.conn.compute.services(**query)), what="list Nova's services")
        services = [_services.normalize_service(record) for record in records]
        selected = _services.select_services(
            services, host=self.params["host"], binary=binaries or None, zone=self.params["zone"],
            status=self.params["status"], state=self.params["state"])
        return {"services": selected, "summary": _services.summarize(selected)}


def main():
    ServiceInfoModule()()


if __name__ == "__main__":
    main()
