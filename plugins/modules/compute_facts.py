#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: compute_facts
short_description: Gather a compute node's CPU, NUMA, PCI, libvirt and Nova facts
version_added: "0.2.0"
description:
  - Runs on a compute node and sets C(ansible_facts.nova_compute) - what Nova's API no longer
    (or never) tells - the host CPU as libvirt sees it, NUMA cells with thread siblings,
    memory, huge pages and distances, PCI devices with their NUMA node and SR-IOV
    relations, nova-compute's effective CPU sets, reservations, allocation ratios, PCI
    device_spec matches and live-migration settings, libvirt and QEMU versions, libvirt's
    TCP/TLS listeners, and the node's names with what they resolve to.
  - "Sources: sysfs (C(/sys/devices/system/cpu), C(/sys/devices/system/node), C(/sys/bus/pci/devices)),
    C(/proc/cmdline) (C(isolcpus), C(nohz_full)), C(/proc/net/tcp) and C(tcp6) (listeners on 16509
    and 16514), libvirt (libvirt-python when it imports, else C(virsh)) - capabilities, versions
    and the running guests' XML on a read-only connection, domain capabilities on a read-write
    one (libvirt refuses that query read-only; it changes nothing); nova-compute's configuration
    files; the system resolver."
  - Every part that cannot be read (no libvirt, no nova.conf, an unreadable sysfs entry, a name
    that does not resolve) adds a sentence to RV(ansible_facts.nova_compute.warnings) and leaves
    its values empty; the module does not fail for it.
  - Usable as a facts module (C(FACTS_MODULES) / C(ansible_facts_modules) with C(gather_facts)) or
    as a task. Read-only.
author:
  - stackops.nova developers (@stackops)
options:
  gather_subset:
    description:
      - Which parts to gather - V(all), or any of V(cpu), V(numa), V(nova), V(pci), V(libvirt),
        V(names); a name prefixed with C(!) is left out (V([all, "!names"])).
      - V(nova) always reads the PCI devices (to match C([pci] device_spec)) and the CPU lists (to
        check the CPU sets), without returning them unless asked.
    type: list
    elements: str
    default: [all]
  nova_conf:
    description:
      - nova-compute's configuration files and directories (directories mean their C(*.conf)
        files in alphabetical order, as C(--config-dir)), in load order; later values win,
        multi-valued options accumulate.
      - Default - what oslo.config reads for nova-compute - C(/etc/nova/nova.conf) and
        C(/etc/nova/nova-compute.conf) unless the running nova-compute has a C(--config-file),
        then C(/etc/nova/nova.conf.d) unless it has a C(--config-dir), then its command line's
        files and directories in their order (no process running - no command line).
    type: list
    elements: path
  sysfs_root:
    description:
      - The directory that holds C(sys/) (for tests or a chroot); C(/) on a node.
    type: path
    default: /
  proc_root:
    description:
      - The directory that holds C(proc/) (C(cmdline), C(net/tcp)); C(/) on a node.
    type: path
    default: /
  libvirt_uri:
    description:
      - The libvirt connection URI. Default - C([libvirt] connection_uri) from nova.conf, else
        V(qemu:///system). Opened read-only.
    type: str
  virsh:
    description: The virsh command, used when libvirt-python does not import.
    type: str
    default: virsh
  timeout:
    description: Seconds allowed for each virsh, systemctl or nova-compute command.
    type: int
    default: 30
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
  facts:
    support: full
    description: Sets C(ansible_facts.nova_compute).
notes:
  - Needs read access to libvirt (root, or a member of the C(libvirt) group); without it the libvirt
    part is a warning.
  - C(nova.cpu_dedicated_set) and friends are parsed with Nova's own rules; an index the host does
    not have, an offline CPU, an overlap or C(vcpu_pin_set) with C(cpu_dedicated_set) is listed in
    C(ansible_facts.nova_compute.nova.errors) (nova-compute refuses to start with any of them).
  - The facts' shape is versioned (C(schema_version)); C(docs/facts.md) describes how operators use
    them and how the snapshot carries them (C(hosts[].node), C(hosts[].numa)).
seealso:
  - module: stackops.nova.live_migration_preflight
  - module: stackops.nova.hypervisor_info
"""

EXAMPLES = r"""
- name: Gather the compute-node facts
  stackops.nova.compute_facts:

- name: Only the CPU and NUMA parts, reading a second configuration directory
  stackops.nova.compute_facts:
    gather_subset: [cpu, numa, nova]
    nova_conf:
      - /etc/nova/nova.conf
      - /etc/nova/nova.conf.d

- name: Hosts that can take pinned guests
  ansible.builtin.debug:
    msg: >-
      {{ inventory_hostname }}: {{ ansible_facts.nova_compute.nova.pcpus | length }} dedicated CPUs,
      free 1G pages {{ ansible_facts.nova_compute.numa.cells | map(attribute='hugepages') | flatten
      | selectattr('size_kb', 'eq', 1048576) | map(attribute='free') | sum }}
  when: ansible_facts.nova_compute.nova.pcpus | default([]) | length > 0

# As a facts module for the whole play:
# - hosts: nova_compute
#   gather_facts: true
#   vars:
#     ansible_facts_modules: [ansible.builtin.setup, stackops.nova.compute_facts]
"""

RETURN = r"""
ansible_facts:
  description: The facts.
  returned: always
  type: dict
  contains:
    nova_compute:
      description:
        - The compute node's facts. Only the parts of O(gather_subset) are present (plus
          C(guests) when libvirt was asked, and C(warnings), C(subsets), C(schema_version)).
      returned: always
      type: dict
      contains:
        schema_version:
          description: The version of this shape (1).
          type: int
        subsets:
          description: The parts gathered.
          type: list
          elements: str
        warnings:
          description: One sentence per part that could not be read, and why.
          type: list
          elements: str
        cpu:
          description:
            - "C(arch), C(model), C(vendor), C(features) (the host CPU in libvirt's capabilities),
              C(host_model) (domain capabilities' host-model: C(model), C(vendor), C(fallback),
              C(features) name -> policy), C(sockets), C(dies), C(cores) (per socket),
              C(threads) (per core), C(present), C(online), C(offline), C(possible) (CPU lists
              from sysfs), C(isolated) (sysfs C(cpu/isolated), else C(isolcpus)),
              C(isolcpus), C(isolcpus_flags), C(nohz_full) (kernel command line), C(smt)
              (C(control), C(active)), C(siblings) (thread sibling sets), C(topology) (CPU id ->
              C(socket), C(die), C(core), C(siblings)), C(topology_source)."
          type: dict
          sample:
            model: Skylake-Client-IBRS
            vendor: Intel
            sockets: 1
            cores: 4
            threads: 2
            online: [0, 1, 2, 3, 4, 5, 6, 7]
            isolated: [2, 3, 6, 7]
        numa:
          description:
            - "C(cells): one per NUMA node - C(id), C(cpus), C(siblings), C(socket) (None when
              the cell spans sockets), C(memory_kb), C(memory_mb), C(memory_free_mb),
              C(hugepages) (list of C(size_kb), C(total), C(free)), C(distances) (node id as a
              string -> distance); C(source) (V(sysfs), or V(libvirt) - its capabilities - when
              sysfs has no nodes); C(page_size_kb) (the base page size)."
          type: dict
        nova:
          description:
            - "nova-compute's view. C(config_files) read, C(config_from); the CPU sets as lists
              of ints and their raw text (C(cpu_dedicated_set), C(cpu_dedicated_set_text),
              C(cpu_shared_set), C(cpu_shared_set_text), C(vcpu_pin_set), C(vcpu_pin_set_text));
              C(vcpus) and C(pcpus) (the CPUs the libvirt driver reports as VCPU and PCPU
              inventory); C(numa_pcpus) (the NUMA cells' pcpuset, with Nova's legacy
              vcpu_pin_set fallback); C(errors) (settings nova-compute refuses); C(notes)
              (advice, e.g. dedicated CPUs not isolated); C(reserved_host_memory_mb),
              C(reserved_host_cpus), C(reserved_host_disk_mb), C(reserved_huge_pages);
              C(allocation_ratios) (per resource class C(ratio), C(initial), C(effective),
              C(source)); C(pci) (C(device_spec) entries with the addresses each C(matches)
              and its C(tags), C(alias), C(matched_devices)); C(config_drive_format),
              C(force_config_drive), C(host), C(my_ip), C(compute_driver), C(libvirt)
              (virt_type, cpu_mode, cpu_models, ...), C(live_migration) (the C(live_migration_*)
              options and the effective C(scheme)); C(version), C(version_source), C(service)
              (systemd C(active), C(sub), C(enabled))."
          type: dict
        pci:
          description:
            - "C(devices): C(address), C(vendor_id), C(product_id) (4 hex digits), C(class) (6),
              C(numa_node) (None when the kernel says -1), C(driver), C(physfn), C(virtfns),
              C(sriov_totalvfs), C(sriov_numvfs), C(dev_type) (V(type-PCI), V(type-PF),
              V(type-VF), as Nova classifies them), C(net) (interface names)."
          type: dict
        libvirt:
          description:
            - "C(available), C(via) (V(libvirt-python) or V(virsh)), C(uri), C(version) (the
              daemon's), C(hypervisor), C(hypervisor_version), C(qemu_version), C(listeners)
              (C(port), C(address), C(family), C(transport) V(tcp)/V(tls)), C(cpu_xml) (the
              host C(<cpu>) element as text, for libvirt's CPU comparison on another node),
              C(host_uuid), C(migration) (C(live), C(uri_transports)), C(domain_capabilities)
              (C(emulator), C(machine), C(arch), C(host_passthrough), C(host_model),
              C(custom_models))."
          type: dict
        guests:
          description:
            - The running guests as libvirt lists them (C(name), C(vcpus), C(memory_kb),
              C(vcpupin), C(emulatorpin), C(memnodes), C(cells), C(hugepages)); None when libvirt
              was not reachable.
          type: list
          elements: dict
        names:
          description:
            - "C(hostname), C(fqdn) (None when no dotted name is known), C(nova_host) (C([DEFAULT]
              host) or the hostname), C(migration_name) (C([libvirt] live_migration_inbound_addr)
              or C(nova_host)), C(my_ip), C(addresses) (each name -> the addresses the system
              resolver gives, [] when it does not resolve)."
          type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import facts as _facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather_subset=dict(type="list", elements="str", default=["all"]),
            nova_conf=dict(type="list", elements="path"),
            sysfs_root=dict(type="path", default="/"),
            proc_root=dict(type="path", default="/"),
            libvirt_uri=dict(type="str"),
            virsh=dict(type="str", default="virsh"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for name in ("sysfs_root", "proc_root"):
        if not os.path.isdir(p[name]):
            module.fail_json(msg="%s: %r is not a directory" % (name, p[name]))
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout: must be a positive number of seconds, got %d" % p["timeout"])
    if p["nova_conf"] is not None and not p["nova_conf"]:
        module.fail_json(msg="nova_conf: an empty list reads no file; leave it out for the defaults")
    if p["libvirt_uri"] is not None and "://" not in p["libvirt_uri"]:
        module.fail_json(msg="libvirt_uri: %r is not a libvirt URI (like qemu:///system)" % p["libvirt_uri"])
    try:
        subsets = _facts.check_subsets(p["gather_subset"])
    except _facts.FactsError as exc:
        module.fail_json(msg=str(exc))
    facts = _facts.gather({
        "gather_subset": subsets,
        "nova_conf": p["nova_conf"],
        "sysfs_root": p["sysfs_root"],
        "proc_root": p["proc_root"],
        "libvirt_uri": p["libvirt_uri"],
        "virsh": p["virsh"],
        "timeout": p["timeout"],
    })
    module.exit_json(changed=False, ansible_facts={"nova_compute": facts})


if __name__ == "__main__":
    main()
