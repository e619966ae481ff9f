#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: live_migration_preflight
short_description: Check from one compute that live migration to its peers can work
version_added: "0.1.0"
description:
  - Run on a compute node. Reports this compute's live-migration facts - the name Nova's peers
    use to reach it (C([libvirt] live_migration_inbound_addr), else C([DEFAULT] host), else the
    host name), the migration scheme, the config drive format, the libvirt version and the host
    CPU model as libvirt reports them.
  - For every peer in O(peers), checks what the seed documents list as live-migration
    requirements, from this compute - the peer's migration name resolves; libvirt on the peer
    answers at C(qemu+SCHEME://NAME/system) (the URI Nova builds); the peer reports the same
    CPU model and vendor and the same libvirt version; the config drive formats are compatible.
  - For every peer that carries its facts (a peer's RV(local) does), also measures this
    compute's side of the pairwise preflight in RV(peers[].probes) - the peer's migration name as
    this compute's resolver answers it, a TCP connection to the peer's libvirt port, and the
    peer's guest CPU definitions compared by this compute's libvirt as the destination
    (C(compareHypervisorCPU), as Nova's C(_compare_cpu) does), naming the missing features.
    The P(stackops.nova.live_migration_pairs#filter) filter turns every compute's result into
    one report per ordered pair (playbook C(stackops.nova.live_migration_preflight)).
  - Read-only; it never changes anything.
author:
  - stackops.nova developers (@stackops)
options:
  peers:
    description:
      - The peers to check. With an empty list only this compute's facts are reported (a first
        pass, so the peers' facts can be handed to the second).
      - Each peer is a dict with C(name) (or C(migration_name)), the name Nova uses to reach
        it; optionally C(host) (for messages) and C(config_drive_format). A peer's
        RV(local) result can be passed as it is.
    type: list
    elements: dict
    default: []
  nova_conf:
    description: Nova's configuration files on this compute, in load order.
    type: list
    elements: path
    default: [/etc/nova/nova.conf]
  virsh:
    description: The virsh command.
    type: str
    default: virsh
  timeout:
    description: Seconds allowed for each name lookup, TCP connection and virsh call (each runs
      under C(timeout); nothing process-wide is changed).
    type: int
    default: 10
  fail_on_problem:
    description: Fail when any check fails (the results are returned either way).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  idempotent:
    support: full
    description: Read-only.
notes:
  - C(config_drive_format) (deprecated since Nova 19.0) worked around a libvirt bug fixed in
    libvirt 1.2.17 (block migration of iso9660 config drives). With libvirt 1.2.17 or later on
    both sides any format migrates; different formats are then only reported as a warning.
seealso:
  - module: stackops.nova.nova_config
  - plugin: stackops.nova.live_migration_pairs
    plugin_type: filter
"""

EXAMPLES = r"""
- name: This compute's live-migration facts
  stackops.nova.live_migration_preflight:
  register: lm

- name: Check every other compute from this one
  stackops.nova.live_migration_preflight:
    peers: >-
      {{ ansible_play_hosts | difference([inventory_hostname])
         | map('extract', hostvars, 'lm') | map(attribute='local') | list }}
"""

RETURN = r"""
local:
  description: This compute's live-migration facts.
  returned: always
  type: dict
  contains:
    migration_name:
      description: The name Nova's peers use to reach this compute.
      type: str
    scheme:
      description: The migration scheme (C(tcp) unless configured).
      type: str
    config_drive_format:
      description: The configured config drive format (Nova's default V(iso9660) when unset).
      type: str
    libvirt_version:
      description: The libvirt daemon version.
      type: str
    cpu:
      description: Host CPU vendor, model and arch as libvirt's capabilities report them.
      type: dict
    facts:
      description:
        - This compute's live-migration facts in the shape of the compute-node facts of
          C(stackops.nova.compute_facts) (a subset) - C(libvirt) with C(version),
          C(qemu_version), C(cpu_xml) (the host CPU of libvirt's capabilities); C(nova) with
          C(host), C(config_drive_format), C(libvirt) (virt_type, cpu_mode, cpu_models,
          cpu_model_extra_flags), C(live_migration) (live_migration_inbound_addr,
          live_migration_scheme, live_migration_uri, live_migration_with_native_tls) and
          C(workarounds) (skip_cpu_compare_on_dest), unset options as null; C(names) with
          hostname, fqdn, migration_name and local_addresses (this compute's global addresses);
          C(warnings).
      type: dict
peers:
  description: One result per peer with the checks and their outcome.
  returned: always
  type: list
  elements: dict
  contains:
    probes:
      description:
        - This compute's measurements of the peer, when the peer carries C(facts) -
          C(resolve) (name, addresses, error), C(connect) (address, port, ok, error),
          C(connect_by_address) when the name does not resolve, and C(cpu_compare) (one entry
          per guest CPU definition of the peer - label, result C(identical), C(superset),
          C(incompatible), C(unsupported) or C(error), and libvirt's message).
      type: dict
      returned: when the peer has facts
problems:
  description: Every failed check, as sentences.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight_probe

# Kept importable from the module (version 1 had them here).
read_conf = preflight_probe.read_conf
_version_tuple = preflight.version_tuple


def main():
    module = AnsibleModule(
        argument_spec=dict(
            peers=dict(type="list", elements="dict", default=[]),
            nova_conf=dict(type="list", elements="path", default=["/etc/nova/nova.conf"]),
            virsh=dict(type="str", default="virsh"),
            timeout=dict(type="int", default=10),
            fail_on_problem=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if module.params["timeout"] < 1:
        module.fail_json(msg="timeout: must be at least 1 second, got %d" % module.params["timeout"])
    try:
        result = preflight_probe.run(preflight_probe.Probe(module.run_command, virsh=module.params["virsh"],
                                                           timeout=module.params["timeout"]),
                                     module.params["nova_conf"], module.params["peers"])
    except preflight.PreflightError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    if result["problems"] and module.params["fail_on_problem"]:
        module.fail_json(msg="live migration preflight failed: " + "; ".join(result["problems"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
