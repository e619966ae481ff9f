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
    description: Seconds allowed for each name lookup, TCP connection and virsh call.
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
peers:
  description: One result per peer with the checks and their outcome.
  returned: always
  type: list
  elements: dict
problems:
  description: Every failed check, as sentences.
  returned: always
  type: list
  elements: str
"""

import socket
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf import NovaConf

PORTS = {"tcp": 16509, "tls": 16514, "ssh": 22}


def _version_tuple(text):
    try:
        return tuple(int(p) for p in text.split("."))
    except (AttributeError, ValueError):
        return None


def read_conf(paths):
    """Effective values of the options the preflight needs (later files win)."""
    wanted = {("libvirt", "live_migration_inbound_addr"): None, ("libvirt", "live_migration_scheme"): None,
              ("libvirt", "live_migration_uri"): None, ("DEFAULT", "host"): None,
              ("DEFAULT", "config_drive_format"): None, ("libvirt", "virt_type"): None}
    for path in paths:
        try:
            with open(path, "rb") as f:
                conf = NovaConf(f.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        for key in wanted:
            values = conf.get(*key)
            if values:
                wanted[key] = values[-1]
    return wanted


class Preflight:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.problems = []
        self.warnings = []

    def virsh(self, uri, *args):
        cmd = [self.p["virsh"], "-c", uri] + list(args)
        rc, out, err = self.module.run_command(["timeout", str(self.p["timeout"])] + cmd)
        return rc, out, err

    def libvirt_facts(self, uri):
        facts = {"uri": uri, "reachable": False}
        rc, out, err = self.virsh(uri, "version", "--daemon")
        if rc != 0:
            facts["error"] = (err or out).strip().splitlines()[-1:] or ["virsh failed"]
            facts["error"] = facts["error"][0]
            return facts
        facts["reachable"] = True
        for line in out.splitlines():
            for marker, key in (("Running against daemon", "libvirt_version"), ("Running hypervisor", "hypervisor")):
                if line.strip().startswith(marker) and ":" in line:
                    facts[key] = line.split(":", 1)[1].strip().split()[-1]
        rc, out, err = self.virsh(uri, "capabilities")
        if rc == 0:
            try:
                cpu = ET.fromstring(out).find("./host/cpu")
                facts["cpu"] = {"arch": cpu.findtext("arch"), "model": cpu.findtext("model"),
                                "vendor": cpu.findtext("vendor")}
            except (ET.ParseError, AttributeError):
                facts["cpu"] = None
        return facts

    def local(self):
        conf = read_conf(self.p["nova_conf"])
        scheme = conf[("libvirt", "live_migration_scheme")] or "tcp"
        name = (conf[("libvirt", "live_migration_inbound_addr")] or conf[("DEFAULT", "host")]
                or socket.gethostname())
        facts = {
            "migration_name": name,
            "scheme": scheme,
            "live_migration_uri": conf[("libvirt", "live_migration_uri")],
            "config_drive_format": conf[("DEFAULT", "config_drive_format")] or "iso9660",
            "host": socket.gethostname(),
        }
        lv = self.libvirt_facts("qemu:///system")
        facts["libvirt_version"] = lv.get("libvirt_version")
        facts["cpu"] = lv.get("cpu")
        if not lv["reachable"]:
            self.problems.append("local libvirt (qemu:///system) does not answer: %s" % lv.get("error"))
        if facts["live_migration_uri"]:
            self.warnings.append("[libvirt] live_migration_uri is set (deprecated since Nova 15.0); "
                                 "it overrides live_migration_scheme and live_migration_inbound_addr")
        return facts

    def check_peer(self, local, peer):
        name = peer.get("name") or peer.get("migration_name")
        label = peer.get("host") or name
        if not name or not isinstance(name, str):
            self.module.fail_json(msg="peers: every peer needs a name (or migration_name), got %r" % (peer,))
        res = {"host": label, "name": name, "checks": {}}
        checks = res["checks"]
        socket.setdefaulttimeout(self.p["timeout"])
        try:
            addrs = sorted({ai[4][0] for ai in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)})
            checks["resolves"] = True
            res["addresses"] = addrs
        except OSError as exc:
            checks["resolves"] = False
            self.problems.append("%s: the migration name %r does not resolve (%s)" % (label, name, exc))
            return res
        port = PORTS.get(local["scheme"], 16509)
        try:
            with socket.create_connection((name, port), timeout=self.p["timeout"]):
                checks["port_open"] = True
        except OSError as exc:
            checks["port_open"] = False
            self.problems.append("%s: TCP port %d of %s is not reachable (%s)" % (label, port, name, exc))
        uri = "qemu+%s://%s/system" % (local["scheme"], name)
        remote = self.libvirt_facts(uri)
        res["uri"] = uri
        checks["libvirt_reachable"] = remote["reachable"]
        if not remote["reachable"]:
            self.problems.append("%s: libvirt does not answer at %s: %s" % (label, uri, remote.get("error")))
            return res
        res["libvirt_version"] = remote.get("libvirt_version")
        res["cpu"] = remote.get("cpu")
        checks["same_libvirt_version"] = remote.get("libvirt_version") == local["libvirt_version"]
        if not checks["same_libvirt_version"]:
            self.problems.append("%s: libvirt %s, this compute runs %s (the seeds require the same version)"
                                 % (label, remote.get("libvirt_version"), local["libvirt_version"]))
        lc, rc_ = local.get("cpu") or {}, remote.get("cpu") or {}
        checks["same_cpu_model"] = (lc.get("model"), lc.get("vendor"), lc.get("arch")) == (
            rc_.get("model"), rc_.get("vendor"), rc_.get("arch"))
        if not checks["same_cpu_model"]:
            self.problems.append("%s: CPU %s/%s/%s, this compute has %s/%s/%s (set [libvirt] cpu_mode/cpu_models "
                                 "to a common model or keep the same CPU type)" % (
                                     label, rc_.get("vendor"), rc_.get("model"), rc_.get("arch"),
                                     lc.get("vendor"), lc.get("model"), lc.get("arch")))
        fmt = peer.get("config_drive_format")
        if fmt:
            both_new = all(_version_tuple(v) and _version_tuple(v) >= (1, 2, 17)
                           for v in (local["libvirt_version"], remote.get("libvirt_version")))
            same = fmt == local["config_drive_format"]
            checks["config_drive_compatible"] = same or both_new
            if not same and both_new:
                self.warnings.append("%s: config drive format %s differs from this compute's %s (fine with "
                                     "libvirt >= 1.2.17 on both sides)" % (label, fmt, local["config_drive_format"]))
            elif not same:
                self.problems.append("%s: config drive format %s differs from this compute's %s and libvirt is "
                                     "older than 1.2.17: use vfat on both" % (label, fmt, local["config_drive_format"]))
        return res

    def run(self):
        local = self.local()
        peers = [self.check_peer(local, peer) for peer in self.p["peers"]]
        for w in self.warnings:
            self.module.warn(w)
        result = dict(changed=False, local=local, peers=peers, problems=self.problems)
        if self.problems and self.p["fail_on_problem"]:
            self.module.fail_json(msg="live migration preflight failed: " + "; ".join(self.problems), **result)
        self.module.exit_json(**result)


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
    Preflight(module).run()


if __name__ == "__main__":
    main()
