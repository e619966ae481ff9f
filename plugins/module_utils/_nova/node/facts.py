# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Assemble a compute node's facts (``ansible_facts.nova_compute``, docs/facts.md).

Private library code: plain Python, no Ansible imports. ``gather(options)`` reads sysfs,
/proc, libvirt, nova-compute's configuration and the name service, and returns the facts
dict; every part that cannot be read adds a sentence to ``warnings`` and leaves its values
None / empty. Nothing here writes anything.

The shape (top-level keys; each is documented in the module's RETURN):
``cpu``, ``numa``, ``nova``, ``pci``, ``libvirt``, ``names``, ``guests``, ``warnings``,
``subsets``, ``schema_version``.
"""

from __future__ import annotations

import os
import socket
import subprocess

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import releases as _releases
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import libvirt_caps as _lv
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import nova_options as _opts
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import sysfs as _sys

SCHEMA_VERSION = 1
SUBSETS = ("cpu", "numa", "nova", "pci", "libvirt", "names")
LIBVIRT_PORTS = {16509: "tcp", 16514: "tls"}


class FactsError(ValueError):
    """A bad option value (the module turns it into fail_json naming the option)."""


def check_subsets(subsets):
    """``gather_subset`` semantics: names, ``all``, and ``!name`` to leave one out."""
    if not isinstance(subsets, (list, tuple)) or not subsets:
        raise FactsError("gather_subset: expected a non-empty list of %s, 'all' or '!name'"
                         % ", ".join(SUBSETS))
    chosen = set()
    excluded = set()
    for item in subsets:
        if not isinstance(item, str):
            raise FactsError("gather_subset: %r is not a string" % (item,))
        name = item.strip()
        neg = name.startswith("!")
        name = name.lstrip("!")
        if name != "all" and name not in SUBSETS:
            raise FactsError("gather_subset: unknown subset %r (choose from all, %s; prefix ! to exclude)"
                             % (item, ", ".join(SUBSETS)))
        target = excluded if neg else chosen
        target.update(SUBSETS if name == "all" else (name,))
    if not chosen:
        chosen = set(SUBSETS)
    return [s for s in SUBSETS if s in chosen and s not in excluded]


def _run(argv, timeout=10):
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None, ""
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def _resolve(name, warnings, what):
    """Addresses ``name`` resolves to through the system resolver (NSS, what getent and
    libvirt use), sorted; [] with a warning when it does not resolve."""
    if not name:
        return []
    try:
        infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        warnings.append("names: %s %r does not resolve (%s)" % (what, name, getattr(exc, "strerror", None) or exc))
        return []
    return sorted({info[4][0] for info in infos})


def gather_names(effective, warnings):
    hostname = socket.gethostname()
    names = {"hostname": hostname, "fqdn": None, "addresses": {}, "nova_host": None,
             "migration_name": None, "my_ip": None}
    # getfqdn() falls back to the hostname when nothing better is known: call it fqdn only when
    # it is one (it has a dot) and say so otherwise.
    fqdn = socket.getfqdn(hostname)
    if fqdn and "." in fqdn:
        names["fqdn"] = fqdn
    else:
        warnings.append("names: no fully qualified name known for %r (socket.getfqdn gave %r)"
                        % (hostname, fqdn))
    wanted = [("hostname", hostname)]
    if names["fqdn"]:
        wanted.append(("fqdn", names["fqdn"]))
    if effective is not None:
        nova_host = effective.get(("DEFAULT", "host")) or hostname
        names["nova_host"] = nova_host
        # Nova's peers reach this host at live_migration_inbound_addr, else [DEFAULT] host
        # (libvirt driver: migrate_data.target_connect_addr / the host's name in the URI).
        names["migration_name"] = effective.get(("libvirt", "live_migration_inbound_addr")) or nova_host
        names["my_ip"] = effective.get(("DEFAULT", "my_ip"))
        wanted += [("nova_host", nova_host), ("migration_name", names["migration_name"])]
    for what, name in wanted:
        if name and name not in names["addresses"]:
            names["addresses"][name] = _resolve(name, warnings, what)
    return names


def _cpu_facts(sys_root, proc_root, caps, domcaps, warnings):
    cpus = _sys.read_cpus(sys_root, warnings)
    cmdline = _sys.parse_cmdline(_sys.read_text(proc_root, "proc/cmdline", warnings, "cmdline"), warnings)
    summary = _sys.summarize_topology(cpus["topology"], cpus["online"])
    isolated = cpus["isolated_sysfs"] if cpus["isolated_sysfs"] is not None else cmdline["isolcpus"]
    host_cpu = (caps or {}).get("cpu") or {}
    host_model = (domcaps or {}).get("host_model") or None
    topo = host_cpu.get("topology") or {}
    out = {
        "arch": host_cpu.get("arch") or (os.uname().machine if sys_root in (None, "", "/") else None),
        "model": host_cpu.get("model"),
        "vendor": host_cpu.get("vendor"),
        "features": host_cpu.get("features") or [],
        "host_model": host_model,
        "sockets": topo.get("sockets", summary["sockets"]),
        "dies": topo.get("dies"),
        "cores": topo.get("cores", summary["cores"]),
        "threads": topo.get("threads", summary["threads"]),
        "present": cpus["present"],
        "online": cpus["online"],
        "offline": cpus["offline"],
        "possible": cpus["possible"],
        "isolated": isolated,
        "isolcpus": cmdline["isolcpus"],
        "isolcpus_flags": cmdline["isolcpus_flags"],
        "nohz_full": cmdline["nohz_full"],
        "smt": cpus["smt"],
        "siblings": summary["siblings"],
        "topology": {str(k): v for k, v in sorted(cpus["topology"].items())},
    }
    if caps is None:
        out["topology_source"] = "sysfs"
    else:
        out["topology_source"] = "libvirt" if topo else "sysfs"
    return out


def _page_size_kb():
    try:
        return os.sysconf("SC_PAGE_SIZE") // 1024
    except (ValueError, OSError, AttributeError):
        return 4


def _numa_facts(sys_root, caps, cpu, warnings, page_kb=None):
    page_kb = page_kb or _page_size_kb()
    cells = _sys.read_numa(sys_root, warnings)
    if cells is None and caps and caps.get("cells"):
        # No sysfs: libvirt's view (no free huge page counts there).
        cells = []
        for c in caps["cells"]:
            small = [p["count"] for p in c["pages"] if p["size_kb"] == page_kb]
            cells.append({"id": c["id"], "cpus": sorted(x["id"] for x in c["cpus"]),
                          "memory_kb": c["memory_kb"],
                          "memory_mb": c["memory_kb"] // 1024 if c["memory_kb"] is not None else None,
                          "small_pages": small[0] if small else None,
                          "memory_free_mb": None,
                          "hugepages": [{"size_kb": p["size_kb"], "total": p["count"], "free": None}
                                        for p in c["pages"] if p["size_kb"] != page_kb],
                          "distances": dict(c["distances"]),
                          "siblings": sorted({tuple(x["siblings"]) for x in c["cpus"] if x["siblings"]}),
                          "socket": _one({x["socket_id"] for x in c["cpus"]})})
        warnings.append("numa: cells taken from libvirt's capabilities (free huge pages unknown)")
        for cell in cells:
            cell["siblings"] = [list(s) for s in cell["siblings"]]
        return {"cells": cells, "source": "libvirt", "page_size_kb": page_kb}
    if cells is None:
        return {"cells": None, "source": None, "page_size_kb": page_kb}
    topology = cpu.get("topology") or {}
    for cell in cells:
        sib = set()
        sockets = set()
        for c in cell.get("cpus") or []:
            info = topology.get(str(c)) or {}
            if info.get("siblings"):
                sib.add(tuple(info["siblings"]))
            if "socket" in info:
                sockets.add(info["socket"])
        cell["siblings"] = [list(s) for s in sorted(sib)]
        cell["socket"] = sockets.pop() if len(sockets) == 1 else None
    return {"cells": cells, "source": "sysfs", "page_size_kb": page_kb}


def _one(values):
    """The single value of a set, else None (a cell spanning sockets, or unknown)."""
    values = set(values)
    return values.pop() if len(values) == 1 and None not in values else None


def _libvirt_facts(reader, want_domcaps, virt_type, proc_root, warnings):
    out = {"available": False, "via": None, "uri": reader.uri, "version": None, "hypervisor": None,
           "hypervisor_version": None, "qemu_version": None, "listeners": [], "cpu_xml": None,
           "host_uuid": None, "migration": None, "domain_capabilities": None}
    caps = domcaps = None
    domains_xml = None
    if reader.open(warnings):
        out["available"] = True
        out["via"] = reader.via
        text = reader.capabilities(warnings)
        if text is not None:
            try:
                caps = _lv.parse_capabilities(text)
            except _lv.LibvirtCapsError as exc:
                warnings.append("libvirt: capabilities: %s" % exc)
        if want_domcaps:
            text = reader.domain_capabilities(warnings, virt_type=virt_type)
            if text is not None:
                try:
                    domcaps = _lv.parse_domain_capabilities(text)
                except _lv.LibvirtCapsError as exc:
                    warnings.append("libvirt: domain capabilities: %s" % exc)
        versions = reader.versions(warnings)
        out["version"] = versions.get("library")
        out["hypervisor"] = versions.get("hypervisor_type")
        out["hypervisor_version"] = versions.get("hypervisor")
        if (versions.get("hypervisor_type") or "").upper() == "QEMU":
            out["qemu_version"] = versions.get("hypervisor")
        domains_xml = reader.domains(warnings)
        reader.close()
    if caps:
        out["cpu_xml"] = caps["cpu"]["xml"]
        out["host_uuid"] = caps["uuid"]
        out["migration"] = caps["migration"]
    out["domain_capabilities"] = domcaps
    listeners = _sys.read_listeners(proc_root, set(LIBVIRT_PORTS), warnings)
    if listeners is not None:
        for item in listeners:
            item["transport"] = LIBVIRT_PORTS[item["port"]]
    out["listeners"] = listeners
    return out, caps, domcaps, domains_xml


def _guests(domains_xml, warnings):
    if domains_xml is None:
        return None
    out = []
    for text in domains_xml:
        try:
            out.append(_lv.parse_domain(text))
        except _lv.LibvirtCapsError as exc:
            warnings.append("libvirt: a running domain's XML: %s" % exc)
    # JSON-friendly keys
    for g in out:
        g["vcpupin"] = {str(k): v for k, v in g["vcpupin"].items()}
        g["memnodes"] = {str(k): v for k, v in g["memnodes"].items()}
    return out


def _service_state(warnings, timeout=30):
    """nova-compute's version (its Python package or the distribution's) and unit state."""
    out = {"version": None, "version_source": None, "service": None}
    try:
        from importlib import metadata  # pylint: disable=import-outside-toplevel
        out["version"] = metadata.version("nova")
        out["version_source"] = "python package metadata"
    except Exception:  # PackageNotFoundError: nova lives in another Python (a virtualenv)
        # Slow (it imports nova, about 15 s on a small node), so only when the metadata is not here.
        rc, text = _run(["nova-compute", "--version"], timeout=timeout)
        if rc == 0 and text.strip():
            out["version"] = text.strip().splitlines()[-1].strip()
            out["version_source"] = "nova-compute --version"
        else:
            warnings.append("nova: nova-compute's version is unknown (no nova package for this Python, "
                            "no nova-compute command)")
    rc, text = _run(["systemctl", "show", "-p", "ActiveState,SubState,UnitFileState,LoadState",
                     "nova-compute.service"])
    if rc == 0:
        state = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if state.get("LoadState") == "not-found":
            warnings.append("nova: no nova-compute.service unit")
        out["service"] = {"active": state.get("ActiveState"), "sub": state.get("SubState"),
                          "enabled": state.get("UnitFileState"), "unit": "nova-compute.service"}
    else:
        warnings.append("nova: systemctl is not available; nova-compute's service state is unknown")
    return out


def _nova_facts(options, cpu, devices, warnings, gather_service=True):
    paths = options.get("nova_conf")
    root = options.get("conf_root") or "/"
    if paths:
        how = "the nova_conf option"
    else:
        paths, how = _opts.default_paths(root=root, proc_root=options.get("proc_root"))
    effective, read_files = _opts.read_options(paths, warnings, root=root)
    out = {"config_files": read_files, "config_from": how, "config_read": bool(read_files)}
    if not read_files:
        warnings.append("nova: no configuration file could be read (%s); the values below are "
                        "Nova's defaults" % ", ".join(paths))
    service = _service_state(warnings, options.get("timeout") or 30) if gather_service else {}
    try:
        major = _releases.nova_major(service.get("version")) if service.get("version") else None
    except ValueError:
        major = None
    _opts.apply_release_defaults(effective, major)
    sets = _opts.cpu_sets(effective, cpu.get("present"), cpu.get("online"), cpu.get("isolated"))
    out.update({
        "cpu_dedicated_set": sets["cpu_dedicated_set"]["cpus"],
        "cpu_dedicated_set_text": sets["cpu_dedicated_set"]["text"],
        "cpu_shared_set": sets["cpu_shared_set"]["cpus"],
        "cpu_shared_set_text": sets["cpu_shared_set"]["text"],
        "vcpu_pin_set": sets["vcpu_pin_set"]["cpus"],
        "vcpu_pin_set_text": sets["vcpu_pin_set"]["text"],
        "vcpus": sets.get("vcpus"),
        "pcpus": sets.get("pcpus"),
        "numa_pcpus": sets.get("numa_pcpus"),
        "errors": sets["errors"],
        "notes": sets["notes"],
    })
    out["reserved_host_memory_mb"] = effective[("DEFAULT", "reserved_host_memory_mb")]
    out["reserved_host_cpus"] = effective[("DEFAULT", "reserved_host_cpus")]
    out["reserved_host_disk_mb"] = effective[("DEFAULT", "reserved_host_disk_mb")]
    reserved_hp = _opts.reserved_huge_pages(effective[("DEFAULT", "reserved_huge_pages")], warnings)
    out["reserved_huge_pages"] = [{"node": n, "size_kb": s, "count": c}
                                  for n, sizes in sorted(reserved_hp.items()) for s, c in sorted(sizes.items())]
    out["allocation_ratios"] = _opts.allocation_ratios(effective)
    out["pci"] = _opts.pci_config(effective, devices, warnings)
    out["notes"].extend(out["pci"].pop("notes"))
    out["config_drive_format"] = effective[("DEFAULT", "config_drive_format")]
    out["force_config_drive"] = effective[("DEFAULT", "force_config_drive")]
    out["host"] = effective[("DEFAULT", "host")]
    out["my_ip"] = effective[("DEFAULT", "my_ip")]
    out["compute_driver"] = effective[("DEFAULT", "compute_driver")]
    out["libvirt"] = {k[1]: effective[k] for k in _opts.OPTIONS if k[0] == "libvirt"}
    out["live_migration"] = {k: out["libvirt"].pop(k) for k in list(out["libvirt"]) if k.startswith("live_migration")}
    out["live_migration"]["scheme"] = out["live_migration"]["live_migration_scheme"] or (
        "tls" if out["live_migration"]["live_migration_with_native_tls"] else "tcp")
    out.update(service)
    return out, effective


def gather(options):
    """The facts dict. ``options``: gather_subset (list), nova_conf (list or None),
    sysfs_root, proc_root, conf_root, libvirt_uri, virsh, timeout, libvirt_reader (tests)."""
    subsets = check_subsets(options.get("gather_subset") or ["all"])
    warnings = []
    sys_root = options.get("sysfs_root") or "/"
    proc_root = options.get("proc_root") or "/"
    facts = {"schema_version": SCHEMA_VERSION, "subsets": subsets, "warnings": warnings}
    caps = domcaps = domains_xml = None
    want_libvirt = any(s in subsets for s in ("libvirt", "cpu", "numa"))
    effective = None
    # nova.conf first when wanted: the libvirt URI and virt_type come from it.
    conf_probe = {}
    if "nova" in subsets or want_libvirt:
        paths = options.get("nova_conf")
        if not paths:
            paths, _how = _opts.default_paths(root=options.get("conf_root") or "/", proc_root=options.get("proc_root"))
        conf_probe, _files = _opts.read_options(paths, [], root=options.get("conf_root") or "/")
    uri = options.get("libvirt_uri") or conf_probe.get(("libvirt", "connection_uri")) or "qemu:///system"
    virt_type = conf_probe.get(("libvirt", "virt_type")) or None
    if want_libvirt:
        reader = options.get("libvirt_reader") or _lv.LibvirtReader(
            uri=uri, virsh=options.get("virsh") or "virsh", timeout=options.get("timeout") or 30)
        lv_facts, caps, domcaps, domains_xml = _libvirt_facts(reader, True, virt_type, proc_root, warnings)
        if "libvirt" in subsets:
            facts["libvirt"] = lv_facts
    cpu = _cpu_facts(sys_root, proc_root, caps, domcaps, warnings)
    if "cpu" in subsets:
        facts["cpu"] = cpu
    if "numa" in subsets:
        facts["numa"] = _numa_facts(sys_root, caps, cpu, warnings)
    devices = None
    if "pci" in subsets or "nova" in subsets:
        devices = _sys.read_pci(sys_root, warnings)
        if "pci" in subsets:
            facts["pci"] = {"devices": devices}
    if "nova" in subsets:
        facts["nova"], effective = _nova_facts(options, cpu, devices, warnings,
                                               gather_service=options.get("gather_service", True))
    if want_libvirt:
        facts["guests"] = _guests(domains_xml, warnings)
    if "names" in subsets:
        facts["names"] = gather_names(effective if effective is not None else conf_probe, warnings)
    return facts
