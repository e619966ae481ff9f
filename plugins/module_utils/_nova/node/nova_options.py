# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nova-compute's effective options on a node, read from its configuration files.

Private library code: plain Python, no Ansible imports. The files are read with the project's
own oslo.config-compatible reader (``_nova/conf/novaconf.py``) in oslo.config's order: each
``--config-file`` in turn, then each ``--config-dir``'s ``*.conf`` files in alphabetical
order; a later value wins, and the values of a multi-valued option (``[pci] device_spec``,
``alias``, ``[DEFAULT] reserved_huge_pages``) accumulate over all files, as oslo.config does.
CPU sets are parsed with ``_nova/common/cpuset.py`` (Nova's own rules) and checked against the
host's present, online and isolated CPUs the way nova-compute's libvirt driver checks them at
start.
"""

from __future__ import annotations

import glob
import json
import os
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.cpuset import (
    CpuSpecError, format_cpu_set, parse_cpu_spec)
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf import NovaConf

DEFAULT_FILES = ("/etc/nova/nova.conf", "/etc/nova/nova-compute.conf")
DEFAULT_DIRS = ("/etc/nova/nova.conf.d",)

# (section, option): (kind, default). Kinds: str, int, float, bool, list (comma-separated),
# multi (repeatable). [libvirt] cpu_model is the deprecated name of cpu_models.
OPTIONS = {
    ("DEFAULT", "host"): ("str", None),
    ("DEFAULT", "my_ip"): ("str", None),
    ("DEFAULT", "compute_driver"): ("str", None),
    ("DEFAULT", "vcpu_pin_set"): ("str", None),
    ("DEFAULT", "reserved_host_memory_mb"): ("int", 512),
    ("DEFAULT", "reserved_host_cpus"): ("int", 0),
    ("DEFAULT", "reserved_host_disk_mb"): ("int", 0),
    ("DEFAULT", "reserved_huge_pages"): ("multi", None),
    ("DEFAULT", "cpu_allocation_ratio"): ("float", None),
    ("DEFAULT", "ram_allocation_ratio"): ("float", None),
    ("DEFAULT", "disk_allocation_ratio"): ("float", None),
    # defaults by Nova release: apply_release_defaults
    ("DEFAULT", "initial_cpu_allocation_ratio"): ("float", None),
    ("DEFAULT", "initial_ram_allocation_ratio"): ("float", None),
    ("DEFAULT", "initial_disk_allocation_ratio"): ("float", 1.0),
    ("DEFAULT", "config_drive_format"): ("str", "iso9660"),
    ("DEFAULT", "force_config_drive"): ("bool", False),
    ("compute", "cpu_dedicated_set"): ("str", None),
    ("compute", "cpu_shared_set"): ("str", None),
    ("libvirt", "virt_type"): ("str", "kvm"),
    ("libvirt", "connection_uri"): ("str", ""),
    ("libvirt", "cpu_mode"): ("str", None),
    ("libvirt", "cpu_models"): ("list", []),
    ("libvirt", "cpu_model"): ("str", None),
    ("libvirt", "cpu_model_extra_flags"): ("list", []),
    ("libvirt", "live_migration_inbound_addr"): ("str", None),
    ("libvirt", "live_migration_scheme"): ("str", None),
    ("libvirt", "live_migration_uri"): ("str", None),
    ("libvirt", "live_migration_tunnelled"): ("bool", False),
    ("libvirt", "live_migration_with_native_tls"): ("bool", False),
    ("libvirt", "live_migration_permit_post_copy"): ("bool", False),
    ("libvirt", "live_migration_permit_auto_converge"): ("bool", False),
    ("libvirt", "live_migration_timeout_action"): ("str", "abort"),
    ("libvirt", "images_type"): ("str", "default"),
    ("libvirt", "cpu_power_management"): ("bool", False),
    ("pci", "device_spec"): ("multi", None),
    ("pci", "passthrough_whitelist"): ("multi", None),
    ("pci", "alias"): ("multi", None),
    ("pci", "report_in_placement"): ("bool", False),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def config_sources(paths, root="/"):
    """Expand ``paths`` into the files to read, in the given order; a directory stands for its
    ``*.conf`` files in alphabetical order (``--config-dir``). ``root`` prefixes every path
    (tests). Returns [(shown path, path to open)]."""
    out = []
    for path in paths:
        full = os.path.join(root, path.lstrip("/")) if root not in ("", "/") else path
        if os.path.isdir(full):
            for item in sorted(glob.glob(os.path.join(glob.escape(full), "*.conf"))):
                out.append((os.path.join(path, os.path.basename(item)), item))
        else:
            out.append((path, full))
    return out


def _existing(root, paths, isdir=False):
    check = os.path.isdir if isdir else os.path.isfile
    return [p for p in paths if check(os.path.join(root or "/", p.lstrip("/")))]


def default_paths(root="/", proc_root=None):
    """The files nova-compute reads, in oslo.config's order, and how they were found.

    oslo.config reads the default files (``/etc/nova/nova.conf``, ``/etc/nova/nova-compute.conf``)
    unless a ``--config-file`` is given, then the default directory (``/etc/nova/nova.conf.d``)
    unless a ``--config-dir`` is given, then the command line's files and directories in their
    order. The command line is the running nova-compute's when one runs (Debian's unit passes
    ``--config-file`` twice), else none."""
    argv = _running_nova_compute_argv(proc_root or root)
    items = []
    if argv is not None:
        i = 0
        while i < len(argv):
            arg = argv[i]
            for flag in ("--config-file", "--config-dir"):
                if arg == flag and i + 1 < len(argv):
                    items.append((flag, argv[i + 1]))
                    i += 1
                elif arg.startswith(flag + "="):
                    items.append((flag, arg.split("=", 1)[1]))
            i += 1
    paths = []
    flags = [flag for flag, dummy in items]
    if "--config-file" not in flags:
        paths += _existing(root, DEFAULT_FILES) or [DEFAULT_FILES[0]]
    if "--config-dir" not in flags:
        paths += _existing(root, DEFAULT_DIRS, isdir=True)
    paths += [value for dummy, value in items]
    how = "the running nova-compute's command line" if argv is not None else "default locations"
    return paths, how


def _running_nova_compute_argv(proc_root):
    proc = os.path.join(proc_root or "/", "proc")
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return None
    for pid in sorted(pids, key=int):
        try:
            with open(os.path.join(proc, pid, "cmdline"), "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if any(os.path.basename(a) == "nova-compute" for a in argv[:2]):
            return argv
    return None


def read_options(paths, warnings, root="/"):
    """(effective, read_files): the value of every option of OPTIONS in the files, with its
    type applied (None / the default when unset; a value that does not convert is a warning
    and treated as unset)."""
    raw = {key: [] for key in OPTIONS}
    read_files = []
    for shown, full in config_sources(paths, root):
        try:
            with open(full, "rb") as f:
                text = f.read().decode("utf-8")
        except FileNotFoundError:
            warnings.append("nova.conf: %s does not exist" % shown)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append("nova.conf: %s could not be read (%s)" % (shown, getattr(exc, "strerror", None) or exc))
            continue
        read_files.append(shown)
        conf = NovaConf(text)
        for (section, option) in OPTIONS:
            raw[(section, option)].extend(conf.get(section, option))
            if section == "DEFAULT":
                continue
    if not raw[("libvirt", "cpu_models")] and raw[("libvirt", "cpu_model")]:
        raw[("libvirt", "cpu_models")] = raw[("libvirt", "cpu_model")]
    effective = {}
    for (section, option), (kind, default) in OPTIONS.items():
        values = raw[(section, option)]
        if kind == "multi":
            effective[(section, option)] = list(values)
            continue
        if not values:
            effective[(section, option)] = default
            continue
        value = values[-1]
        try:
            effective[(section, option)] = _convert(kind, value)
        except ValueError:
            warnings.append("nova.conf: [%s] %s = %r is not a valid %s; nova-compute would refuse "
                            "to start" % (section, option, value, kind))
            effective[(section, option)] = default
    return effective, read_files


def _convert(kind, value):
    if kind == "str":
        return value
    if kind == "list":
        return [v.strip() for v in value.split(",") if v.strip()]
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(value)
    return value


# Defaults that changed between Nova releases: (first major with the value, value), newest first.
# Nova 2023.1 (27) lowered the initial ratios from 16.0 / 1.5 to 4.0 / 1.0 (measured on the test
# hosts' Nova 26: 1.5; the virtualenv's Nova 34: 1.0).
RELEASE_DEFAULTS = {
    ("DEFAULT", "initial_cpu_allocation_ratio"): ((27, 4.0), (0, 16.0)),
    ("DEFAULT", "initial_ram_allocation_ratio"): ((27, 1.0), (0, 1.5)),
}


def apply_release_defaults(effective, nova_major=None):
    """Fill the unset options whose default depends on the Nova release (the latest when the
    node's Nova version is unknown), in place; returns ``effective``."""
    for key, steps in RELEASE_DEFAULTS.items():
        if effective.get(key) is None:
            for first, value in steps:
                if nova_major is None or nova_major >= first:
                    effective[key] = value
                    break
    return effective


# -- CPU sets --------------------------------------------------------------------------------
def cpu_sets(effective, present, online, isolated):
    """Nova's CPU set options parsed and checked.

    Returns {"cpu_dedicated_set": {"text", "cpus"}, "cpu_shared_set": .., "vcpu_pin_set": ..,
    "vcpus": [...], "pcpus": [...], "errors": [...], "notes": [...]} where vcpus/pcpus are the
    CPUs the libvirt driver reports as VCPU / PCPU inventory (``_get_vcpu_available`` and
    ``_get_pcpu_available``, including the legacy vcpu_pin_set fallback of
    ``_get_host_numa_topology``), or None when the host's online CPUs are unknown.
    """
    out = {"errors": [], "notes": []}
    parsed = {}
    for key, section in (("cpu_dedicated_set", "compute"), ("cpu_shared_set", "compute"),
                         ("vcpu_pin_set", "DEFAULT")):
        text = effective.get((section, key))
        entry = {"text": text, "cpus": None}
        if text is not None and text.strip() != "":
            try:
                cpus = parse_cpu_spec(text)
            except CpuSpecError as exc:
                out["errors"].append("[%s] %s %r: %s" % (section, key, text, exc))
            else:
                if not cpus:
                    out["errors"].append("[%s] %s %r selects no CPU at all" % (section, key, text))
                entry["cpus"] = sorted(cpus)
                parsed[key] = set(cpus)
        out[key] = entry
    online_set = set(online) if online is not None else None
    present_set = set(present) if present is not None else None
    for key, cpus in parsed.items():
        section = "DEFAULT" if key == "vcpu_pin_set" else "compute"
        if present_set is not None and cpus - present_set:
            out["errors"].append(
                "[%s] %s names CPU(s) %s that this host does not have (present: %s)"
                % (section, key, format_cpu_set(cpus - present_set), format_cpu_set(present_set) or "none"))
        elif online_set is not None and cpus - online_set:
            out["errors"].append(
                "[%s] %s names CPU(s) %s that are offline (online: %s); nova-compute refuses to start"
                % (section, key, format_cpu_set(cpus - online_set), format_cpu_set(online_set) or "none"))
    # LibvirtDriver._check_cpu_set_configuration (at nova-compute start)
    if "vcpu_pin_set" not in parsed and ("cpu_dedicated_set" in parsed or "cpu_shared_set" in parsed):
        both = parsed.get("cpu_dedicated_set", set()) & parsed.get("cpu_shared_set", set())
        if both:
            out["errors"].append("[compute] cpu_dedicated_set and cpu_shared_set overlap on CPU(s) %s"
                                 % format_cpu_set(both))
        if effective.get(("DEFAULT", "reserved_host_cpus")):
            out["errors"].append("[DEFAULT] reserved_host_cpus cannot be set together with [compute] "
                                 "cpu_shared_set or cpu_dedicated_set (nova-compute refuses to start)")
    if "vcpu_pin_set" in parsed and "cpu_dedicated_set" in parsed:
        out["errors"].append("[DEFAULT] vcpu_pin_set cannot be combined with [compute] cpu_dedicated_set "
                             "(nova-compute refuses to start)")
    if "vcpu_pin_set" in parsed:
        out["notes"].append("[DEFAULT] vcpu_pin_set is deprecated; use [compute] cpu_shared_set "
                            "and cpu_dedicated_set")
    if isolated is not None and "cpu_dedicated_set" in parsed:
        not_isolated = parsed["cpu_dedicated_set"] - set(isolated)
        if not_isolated:
            out["notes"].append("[compute] cpu_dedicated_set CPU(s) %s are not isolated from the host "
                                "scheduler (isolcpus / cpuset); host processes may run on pinned CPUs"
                                % format_cpu_set(not_isolated))
    if isolated and "cpu_shared_set" in parsed:
        iso_shared = parsed["cpu_shared_set"] & set(isolated)
        if iso_shared:
            out["notes"].append("[compute] cpu_shared_set CPU(s) %s are isolated (isolcpus): floating "
                                "guest vCPUs on them are not load-balanced by the kernel"
                                % format_cpu_set(iso_shared))
    # What the libvirt driver reports (Nova 34: _get_vcpu_available, _get_pcpu_available and
    # the legacy fallback in _get_host_numa_topology).
    if online_set is None:
        out["vcpus"] = out["pcpus"] = None
        return out
    if "vcpu_pin_set" in parsed:
        shared = parsed["vcpu_pin_set"] & online_set
    elif "cpu_shared_set" in parsed:
        shared = parsed["cpu_shared_set"] & online_set
    elif "cpu_dedicated_set" in parsed:
        shared = set()
    else:
        shared = set(online_set)
    dedicated = parsed.get("cpu_dedicated_set", set()) & online_set
    out["vcpus"] = sorted(shared)
    out["pcpus"] = sorted(dedicated)
    legacy = not dedicated and not ("cpu_shared_set" in parsed and "vcpu_pin_set" not in parsed)
    # NUMA cells use the legacy fallback (pcpuset = the shared CPUs) for pinned guests; the
    # PCPU inventory in placement does not (it stays empty).
    out["numa_pcpus"] = sorted(shared) if legacy else sorted(dedicated)
    return out


# -- reserved huge pages ---------------------------------------------------------------------
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.I)


def reserved_huge_pages(values, warnings):
    """``[DEFAULT] reserved_huge_pages`` (``node:0,size:2048,count:64``, multi) as
    {node: {size_kb: count}}, as nova.virt.hardware.numa_get_reserved_huge_pages reads it."""
    out = {}
    for value in values or []:
        try:
            fields = dict(part.split(":", 1) for part in value.split(","))
            size = fields["size"].strip()
            try:
                size_kb = int(size)
            except ValueError:
                m = _SIZE_RE.match(size)
                if not m:
                    raise ValueError(size) from None
                mult = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}[m.group(2).upper()]
                size_kb = int(float(m.group(1)) * mult / 1024)
            out.setdefault(int(fields["node"]), {})[size_kb] = int(fields["count"])
        except (ValueError, KeyError):
            warnings.append("nova.conf: [DEFAULT] reserved_huge_pages %r is not node:N,size:S,count:C; "
                            "nova-compute would refuse to start" % value)
    return out


# -- allocation ratios -----------------------------------------------------------------------
def allocation_ratios(effective):
    """Per resource class: the configured ratio, the initial_* one, and which applies.

    Nova (since 19.0): ``*_allocation_ratio`` set (and not 0.0) is written to placement on
    every update; unset, ``initial_*_allocation_ratio`` is used when the provider is created
    and placement's value (maybe set through the API) is kept afterwards."""
    out = {}
    for rc, name in (("VCPU", "cpu"), ("MEMORY_MB", "ram"), ("DISK_GB", "disk")):
        value = effective.get(("DEFAULT", "%s_allocation_ratio" % name))
        initial = effective.get(("DEFAULT", "initial_%s_allocation_ratio" % name))
        if value is not None and value != 0.0:
            out[rc] = {"ratio": value, "initial": initial, "effective": value,
                       "source": "%s_allocation_ratio" % name}
        else:
            out[rc] = {"ratio": value, "initial": initial, "effective": None,
                       "source": "initial_%s_allocation_ratio on provider creation, then placement's value"
                       % name}
    # PCPU is never overcommitted.
    out["PCPU"] = {"ratio": 1.0, "initial": 1.0, "effective": 1.0, "source": "fixed"}
    return out


# -- PCI device_spec / alias -----------------------------------------------------------------
def _parse_json_list(values, section_option, warnings):
    out = []
    for value in values:
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            warnings.append("nova.conf: [%s] %r is not JSON (%s)" % (section_option, value, exc))
            continue
        if isinstance(parsed, dict):
            out.append(parsed)
        elif isinstance(parsed, list) and all(isinstance(p, dict) for p in parsed):
            out.extend(parsed)
        else:
            warnings.append("nova.conf: [%s] %r is neither an object nor a list of objects"
                            % (section_option, value))
    return out


def _hex4(value):
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    if value == "*":
        return "*"
    if value.startswith("0x"):
        value = value[2:]
    return value.zfill(4) if re.match(r"^[0-9a-f]{1,4}$", value) else None


def _addr_parts(address):
    """(domain, bus, slot, function) from 'dddd:bb:ss.f' with '*' or missing parts as None."""
    m = re.match(r"^(?:([0-9a-fA-F*]+):)?([0-9a-fA-F*]+):([0-9a-fA-F*]+)\.([0-7*])$", address.strip())
    if not m:
        return None

    def norm(x, width):
        if x is None or x == "*":
            return None
        return x.lower().zfill(width)
    return (norm(m.group(1), 4), norm(m.group(2), 2), norm(m.group(3), 2), norm(m.group(4), 1))


def spec_matches(spec, device):
    """Whether a device_spec entry selects a device, following nova.pci.devspec: vendor_id and
    product_id (``*`` or absent = any), ``address`` as a glob string ("dddd:bb:ss.f" with ``*``)
    or a dict of domain/bus/slot/function (regexes in the dict form), ``devname`` (the
    device's network interface; Nova then also accepts its VFs). A spec naming a PF address
    also selects its VFs, as Nova does. Returns (matched: bool, reason: str|None)."""
    for key in ("vendor_id", "product_id"):
        want = spec.get(key)
        if want is None:
            continue
        want = _hex4(str(want))
        if want is None:
            return False, "bad %s" % key
        if want != "*" and device.get(key) != want:
            return False, None
    address = spec.get("address")
    devname = spec.get("devname")
    if devname:
        names = device.get("net") or []
        if devname in names:
            return True, None
        if device.get("physfn_net") and devname in device["physfn_net"]:
            return True, None
        return False, None
    if address is None:
        return True, None
    candidates = [device["address"]]
    if device.get("physfn"):
        candidates.append(device["physfn"])
    for cand in candidates:
        parts = _addr_parts(cand)
        if parts is None:
            continue
        if isinstance(address, dict):
            ok = True
            for key, width, idx in (("domain", 4, 0), ("bus", 2, 1), ("slot", 2, 2), ("function", 1, 3)):
                pattern = address.get(key)
                if pattern is None:
                    continue
                try:
                    if not re.fullmatch(str(pattern), parts[idx]) and not re.fullmatch(str(pattern), parts[idx].lstrip("0") or "0"):
                        ok = False
                        break
                except re.error:
                    return False, "bad address regex %r" % pattern
            if ok:
                return True, None
        elif isinstance(address, str):
            want = _addr_parts(address) if ":" in address else None
            if want is None:
                return False, "bad address %r" % address
            if all(w is None or w == p for w, p in zip(want, parts)):
                return True, None
    return False, None


def pci_config(effective, devices, warnings):
    """device_spec (with the legacy passthrough_whitelist), alias, and what each spec selects."""
    specs_raw = list(effective.get(("pci", "device_spec")) or [])
    legacy = list(effective.get(("pci", "passthrough_whitelist")) or [])
    notes = []
    if legacy and not specs_raw:
        specs_raw = legacy
        notes.append("[pci] passthrough_whitelist is the pre-Zed name of [pci] device_spec")
    elif legacy:
        notes.append("[pci] passthrough_whitelist is ignored: [pci] device_spec is set")
    specs = _parse_json_list(specs_raw, "pci] device_spec", warnings)
    aliases = _parse_json_list(effective.get(("pci", "alias")) or [], "pci] alias", warnings)
    by_addr = {d["address"]: d for d in devices or []}
    for dev in devices or []:
        pf = by_addr.get(dev.get("physfn") or "")
        dev_copy_net = pf.get("net") if pf else None
        if dev_copy_net:
            dev["physfn_net"] = dev_copy_net
    matched = []
    out_specs = []
    for index, spec in enumerate(specs):
        hits = []
        for dev in devices or []:
            ok, problem = spec_matches(spec, dev)
            if problem:
                warnings.append("nova.conf: [pci] device_spec entry %d: %s" % (index, problem))
                break
            if ok:
                hits.append(dev["address"])
        tags = {k: v for k, v in spec.items() if k not in ("vendor_id", "product_id", "address", "devname")}
        out_specs.append({"spec": spec, "matches": hits, "tags": tags})
        for address in hits:
            dev = by_addr[address]
            entry = {"address": address, "vendor_id": dev.get("vendor_id"), "product_id": dev.get("product_id"),
                     "numa_node": dev.get("numa_node"), "dev_type": dev.get("dev_type"),
                     "physfn": dev.get("physfn"), "spec_index": index, "tags": tags}
            if all(m["address"] != address for m in matched):
                matched.append(entry)
        if not hits and devices is not None:
            notes.append("[pci] device_spec entry %d %s selects no device on this host"
                         % (index, json.dumps(spec, sort_keys=True)))
    for dev in devices or []:
        dev.pop("physfn_net", None)
    return {"device_spec": out_specs, "alias": aliases, "matched_devices": matched, "notes": notes}
