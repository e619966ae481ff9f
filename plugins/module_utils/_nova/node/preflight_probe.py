# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live-migration preflight: the reads a compute node makes (its side of the checks).

Private library code, no Ansible imports. Every command goes through ``run(argv, data=None)``
returning ``(rc, stdout, stderr)`` (the module passes ``AnsibleModule.run_command``) and runs
under ``timeout`` so nothing waits forever; TCP connections carry their own timeout. Nothing
here changes process-wide state (no ``socket.setdefaulttimeout``).

What it reads: this node's Nova options that matter for live migration (through the project's
nova.conf reader), libvirt's and QEMU's versions and the host CPU from libvirt's capabilities
(``virsh``), the node's addresses (``ip``); of each peer: its migration name resolved here
(``getent ahosts``, the resolver Nova's libvirt uses), libvirt's port of the peer connected from
here, and the peer's guest CPU definitions compared by this node's libvirt
(``virsh hypervisor-cpu-compare``, libvirt's ``compareHypervisorCPU`` as Nova's ``_compare_cpu``).
"""

from __future__ import annotations

import ipaddress
import socket
import xml.etree.ElementTree as ET

from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf import NovaConf
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight

OPTIONS = {
    ("libvirt", "live_migration_inbound_addr"): "live_migration",
    ("libvirt", "live_migration_scheme"): "live_migration",
    ("libvirt", "live_migration_uri"): "live_migration",
    ("libvirt", "live_migration_with_native_tls"): "live_migration",
    ("libvirt", "virt_type"): "libvirt",
    ("libvirt", "cpu_mode"): "libvirt",
    ("libvirt", "cpu_models"): "libvirt",
    ("libvirt", "cpu_model_extra_flags"): "libvirt",
    ("workarounds", "skip_cpu_compare_on_dest"): "workarounds",
    ("DEFAULT", "host"): None,
    ("DEFAULT", "config_drive_format"): None,
}
_TRUE = ("1", "true", "yes", "on")


def read_conf(paths):
    """Effective values of the options the preflight needs (later files win; unset is None)."""
    wanted = dict.fromkeys(OPTIONS)
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


def nova_facts(conf):
    """The ``nova`` part of the compute-node facts (compute_facts' keys) from ``read_conf``'s values."""
    out = {"host": conf.get(("DEFAULT", "host")), "config_drive_format": conf.get(("DEFAULT", "config_drive_format")),
           "libvirt": {}, "live_migration": {}, "workarounds": {}}
    for (section, option), part in OPTIONS.items():
        if part is None:
            continue
        value = conf.get((section, option))
        if option in ("live_migration_with_native_tls", "skip_cpu_compare_on_dest"):
            value = None if value is None else value.strip().lower() in _TRUE
        elif option in ("cpu_models", "cpu_model_extra_flags"):
            value = [v.strip() for v in (value or "").split(",") if v.strip()]
        out[part][option] = value
    return out


class Probe:
    """One node's reads. ``run``: ``(argv, data=None) -> (rc, out, err)``."""

    def __init__(self, run, virsh="virsh", timeout=10):
        self.run = run
        self.virsh_cmd = virsh
        self.timeout = timeout

    def _cmd(self, argv, data=None):
        try:
            return self.run(["timeout", str(self.timeout)] + list(argv), data=data)
        except OSError as exc:
            return 127, "", str(exc)

    def virsh(self, uri, *args, data=None):
        return self._cmd([self.virsh_cmd, "-c", uri] + list(args), data=data)

    @staticmethod
    def _last_line(rc, out, err):
        lines = [x for x in ((err or "") + "\n" + (out or "")).splitlines() if x.strip()]
        if rc == 124:
            return "no answer (timed out)"
        return lines[-1].strip() if lines else "exit code %s" % rc

    def libvirt_facts(self, uri):
        """Versions and host CPU of the libvirt at ``uri``; ``error`` when it does not answer."""
        facts = {"uri": uri, "reachable": False}
        rc, out, err = self.virsh(uri, "version", "--daemon")
        if rc != 0:
            facts["error"] = self._last_line(rc, out, err)
            return facts
        facts["reachable"] = True
        for line in out.splitlines():
            key, dummy, value = line.partition(":")
            key, words = key.strip(), value.split()
            if key == "Running against daemon" and words:
                facts["libvirt_version"] = words[-1]
            elif key == "Running hypervisor" and words:
                facts["hypervisor"] = words[-1]
                facts["qemu_version"] = words[-1] if words[0].upper() == "QEMU" else None
        rc, out, err = self.virsh(uri, "capabilities")
        if rc == 0:
            try:
                cpu = ET.fromstring(out).find("./host/cpu")
                facts["cpu"] = {"arch": cpu.findtext("arch"), "model": cpu.findtext("model"),
                                "vendor": cpu.findtext("vendor")}
                facts["host_cpu_xml"] = ET.tostring(cpu, encoding="unicode").strip()
            except (ET.ParseError, AttributeError):
                facts["cpu"] = None
        return facts

    def addresses(self, warnings):
        """This node's global addresses (``ip -o addr show``), loopback and link-local left out."""
        rc, out, err = self._cmd(["ip", "-o", "addr", "show"])
        if rc != 0:
            warnings.append("names: the node's addresses could not be read (ip: %s)" % self._last_line(rc, out, err))
            return []
        found = set()
        for line in out.splitlines():
            words = line.split()
            if len(words) > 3 and words[2] in ("inet", "inet6"):
                try:
                    addr = ipaddress.ip_interface(words[3]).ip
                except ValueError:
                    continue
                if not (addr.is_loopback or addr.is_link_local):
                    found.add(str(addr))
        return sorted(found)

    def resolve(self, name):
        """``{"name", "addresses", "error"}`` as this node's resolver (NSS) answers."""
        rc, out, err = self._cmd(["getent", "ahosts", name])
        if rc != 0:
            reason = {2: "not found by this node's resolver (getent ahosts)", 124: "lookup timed out"}.get(
                rc, self._last_line(rc, out, err))
            return {"name": name, "addresses": [], "error": reason}
        addrs = sorted({line.split()[0] for line in out.splitlines() if line.split()})
        return {"name": name, "addresses": addrs, "error": None}

    def connect(self, addresses, port):
        """TCP connection to libvirt's port at the first address that answers."""
        if not addresses:
            return {"address": None, "port": port, "ok": None, "error": "no address to connect to"}
        errors = []
        for addr in addresses:
            try:
                with socket.create_connection((addr, port), timeout=self.timeout):
                    return {"address": addr, "port": port, "ok": True, "error": None}
            except OSError as exc:
                errors.append("%s: %s" % (addr, exc))
        return {"address": addresses[0], "port": port, "ok": False, "error": "; ".join(errors)}

    def compare_cpu(self, definition, uri="qemu:///system"):
        """This node's libvirt compares one guest CPU definition (``compareHypervisorCPU``)."""
        rc, out, err = self.virsh(uri, "hypervisor-cpu-compare", "--error", "/dev/stdin", data=definition["xml"])
        text = (out or "") + "\n" + (err or "")
        res = {"label": definition["label"], "api": "compareHypervisorCPU"}
        if rc == 0 and "identical" in text:
            res.update(result="identical", message=None)
        elif rc == 0 and "superset" in text:
            res.update(result="superset", message=None)
        elif "incompatible" in text:
            res.update(result="incompatible", message=self._last_line(rc, out, err).replace("error: ", "", 1))
        elif "not supported" in text:
            res.update(result="unsupported", message="libvirt cannot compare CPUs here (Nova proceeds without "
                                                     "comparing): " + self._last_line(rc, out, err))
        else:
            res.update(result="error", message=self._last_line(rc, out, err))
        return res


def local_facts(probe, nova_conf, hostname=None):
    """This node's live-migration facts, in the compute-node facts shape (a subset)."""
    warnings = []
    conf = read_conf(nova_conf)
    nova = nova_facts(conf)
    lv = probe.libvirt_facts("qemu:///system")
    if not lv["reachable"]:
        warnings.append("libvirt: qemu:///system does not answer: %s" % lv.get("error"))
    hostname = hostname or socket.gethostname()
    facts = {
        "libvirt": {"version": lv.get("libvirt_version"), "qemu_version": lv.get("qemu_version"),
                    "cpu_xml": lv.get("host_cpu_xml"), "listeners": []},
        "nova": nova,
        "names": {"hostname": hostname, "fqdn": socket.getfqdn(hostname),
                  "migration_name": preflight.host_view(hostname, {"nova": nova, "names": {"hostname": hostname}})[
                      "migration_name"],
                  "local_addresses": probe.addresses(warnings)},
        "warnings": warnings,
        "source": "live_migration_preflight",
    }
    return facts, lv


def peer_probes(probe, peer_facts, peer_name):
    """This node's measurements of one peer: name, libvirt port, the peer's CPU compared here."""
    there = preflight.host_view(peer_name, peer_facts)
    resolved = probe.resolve(there["migration_name"])
    out = {"resolve": resolved, "connect": probe.connect(resolved["addresses"], there["port"])}
    if resolved["error"]:
        # The name does not resolve here: still tell whether libvirt answers at the peer's own
        # addresses, so the report separates a naming problem from a network one.
        out["connect_by_address"] = probe.connect(there["addresses"], there["port"])
    plan = preflight.cpu_definitions(there)
    out["cpu_compare"] = [probe.compare_cpu(d) for d in plan["definitions"]]
    return out


def legacy_peer_checks(probe, local, peer, problems, warnings):
    """The version-1 checks of one peer (kept as they were: same keys, same sentences)."""
    name = peer.get("name") or peer.get("migration_name")
    label = peer.get("host") or name
    res = {"host": label, "name": name, "checks": {}}
    checks = res["checks"]
    resolved = probe.resolve(name)
    if resolved["error"]:
        checks["resolves"] = False
        problems.append("%s: the migration name %r does not resolve (%s)" % (label, name, resolved["error"]))
        return res
    checks["resolves"] = True
    res["addresses"] = resolved["addresses"]
    port = preflight.DEFAULT_PORTS.get(local["scheme"], 16509)
    conn = probe.connect(resolved["addresses"], port)
    checks["port_open"] = bool(conn["ok"])
    if not conn["ok"]:
        problems.append("%s: TCP port %d of %s is not reachable (%s)" % (label, port, name, conn["error"]))
    uri = "qemu+%s://%s/system" % (local["scheme"], name)
    remote = probe.libvirt_facts(uri)
    res["uri"] = uri
    checks["libvirt_reachable"] = remote["reachable"]
    if not remote["reachable"]:
        problems.append("%s: libvirt does not answer at %s: %s" % (label, uri, remote.get("error")))
        return res
    res["libvirt_version"] = remote.get("libvirt_version")
    res["cpu"] = remote.get("cpu")
    checks["same_libvirt_version"] = remote.get("libvirt_version") == local["libvirt_version"]
    if not checks["same_libvirt_version"]:
        problems.append("%s: libvirt %s, this compute runs %s (the seeds require the same version)"
                        % (label, remote.get("libvirt_version"), local["libvirt_version"]))
    lc, rc_ = local.get("cpu") or {}, remote.get("cpu") or {}
    checks["same_cpu_model"] = (lc.get("model"), lc.get("vendor"), lc.get("arch")) == (
        rc_.get("model"), rc_.get("vendor"), rc_.get("arch"))
    if not checks["same_cpu_model"]:
        problems.append("%s: CPU %s/%s/%s, this compute has %s/%s/%s (set [libvirt] cpu_mode/cpu_models "
                        "to a common model or keep the same CPU type)" % (
                            label, rc_.get("vendor"), rc_.get("model"), rc_.get("arch"),
                            lc.get("vendor"), lc.get("model"), lc.get("arch")))
    fmt = peer.get("config_drive_format")
    if fmt:
        both_new = all(preflight.version_tuple(v) and preflight.version_tuple(v) >= (1, 2, 17)
                       for v in (local["libvirt_version"], remote.get("libvirt_version")))
        same = fmt == local["config_drive_format"]
        checks["config_drive_compatible"] = same or both_new
        if not same and both_new:
            warnings.append("%s: config drive format %s differs from this compute's %s (fine with "
                            "libvirt >= 1.2.17 on both sides)" % (label, fmt, local["config_drive_format"]))
        elif not same:
            problems.append("%s: config drive format %s differs from this compute's %s and libvirt is "
                            "older than 1.2.17: use vfat on both" % (label, fmt, local["config_drive_format"]))
    return res


def run(probe, nova_conf, peers):
    """The module's whole work: this node's facts, then each peer's checks and probes.

    Returns ``{"changed", "local", "peers", "problems", "warnings"}``; raises
    ``preflight.PreflightError`` naming the bad peer entry.
    """
    facts, lv = local_facts(probe, nova_conf)
    view = preflight.host_view("local", facts)
    local = {
        "migration_name": view["migration_name"],
        "scheme": view["scheme"],
        "live_migration_uri": view["uri"],
        "config_drive_format": view["config_drive_format"],
        "host": facts["names"]["hostname"],
        "libvirt_version": lv.get("libvirt_version"),
        "cpu": lv.get("cpu"),
        "facts": facts,
    }
    problems, warnings = [], []
    if not lv["reachable"]:
        problems.append("local libvirt (qemu:///system) does not answer: %s" % lv.get("error"))
    if view["uri"]:
        warnings.append("[libvirt] live_migration_uri is set (deprecated since Nova 15.0); "
                        "it overrides live_migration_scheme and live_migration_inbound_addr")
    results = []
    for index, peer in enumerate(peers):
        name = peer.get("name") or peer.get("migration_name")
        if not name or not isinstance(name, str):
            raise preflight.PreflightError("peers[%d]: every peer needs a name (or migration_name), got keys %s"
                                           % (index, ", ".join(sorted(map(str, peer))) or "none"))
        if peer.get("facts") is not None and not isinstance(peer.get("facts"), dict):
            raise preflight.PreflightError("peers[%d].facts: expected the peer's facts (a dict), got %s"
                                           % (index, type(peer["facts"]).__name__))
        res = legacy_peer_checks(probe, local, peer, problems, warnings)
        if isinstance(peer.get("facts"), dict):
            try:
                res["probes"] = peer_probes(probe, peer["facts"], res["host"])
            except preflight.PreflightError as exc:
                raise preflight.PreflightError("peers[%d].facts: %s" % (index, exc)) from None
        results.append(res)
    if not lv["reachable"]:  # already a problem: not a second time as a warning
        facts_warnings = [w for w in facts["warnings"] if not w.startswith("libvirt: qemu:///system")]
    else:
        facts_warnings = facts["warnings"]
    return dict(changed=False, local=local, peers=results, problems=problems,
                warnings=warnings + facts_warnings)
