# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt's host capabilities and domain capabilities XML, and reading them from a node.

Private library code: plain Python, no Ansible imports. The parsers take the XML text that
``virConnectGetCapabilities`` / ``virsh capabilities`` and ``virConnectGetDomainCapabilities``
/ ``virsh domcapabilities`` return (formats: libvirt's docs/formatcaps and
formatdomaincaps) and raise LibvirtCapsError for text that is not such a document.
``LibvirtReader`` reads them through libvirt-python when it imports, else through ``virsh``,
and turns every failure into a warning.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET


class LibvirtCapsError(ValueError):
    """Text that is not a libvirt (domain) capabilities document."""


def _root(text, tag):
    if not isinstance(text, str) or not text.strip():
        raise LibvirtCapsError("empty %s document" % tag)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise LibvirtCapsError("%s XML does not parse: %s" % (tag, exc)) from None
    if root.tag != tag:
        raise LibvirtCapsError("expected a <%s> document, got <%s>" % (tag, root.tag))
    return root


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _kib(elem):
    """A value with a unit attribute (libvirt writes KiB) in KiB."""
    if elem is None or elem.text is None:
        return None
    value = _int(elem.text.strip())
    if value is None:
        return None
    unit = (elem.get("unit") or "KiB").lower()
    scale = {"b": 1.0 / 1024, "bytes": 1.0 / 1024, "k": 1, "kib": 1, "kb": 1000.0 / 1024,
             "m": 1024, "mib": 1024, "mb": 1000.0 * 1000 / 1024,
             "g": 1024 ** 2, "gib": 1024 ** 2, "gb": 1000.0 ** 3 / 1024}.get(unit)
    return int(value * scale) if scale is not None else None


def _cpulist(text):
    out = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return sorted(out)


def parse_capabilities(text):
    """The host part of a capabilities document.

    Returns {"uuid", "cpu": {arch, model, vendor, features, topology, signature, microcode,
    "xml"}, "cells": [{id, memory_kb, pages: [{size_kb, count}], distances: {id: value},
    cpus: [{id, socket_id, die_id, core_id, siblings}]}] or None (no <topology>),
    "migration": {live, uri_transports}, "secmodels": [..], "guests": [{os_type, arch,
    domain_types}]}.
    """
    root = _root(text, "capabilities")
    host = root.find("host")
    if host is None:
        raise LibvirtCapsError("capabilities document has no <host>")
    out = {"uuid": (host.findtext("uuid") or "").strip() or None}
    cpu = host.find("cpu")
    cpu_out = {"arch": None, "model": None, "vendor": None, "features": [], "topology": None,
               "signature": None, "microcode": None, "xml": None}
    if cpu is not None:
        cpu_out["arch"] = (cpu.findtext("arch") or "").strip() or None
        cpu_out["model"] = (cpu.findtext("model") or "").strip() or None
        cpu_out["vendor"] = (cpu.findtext("vendor") or "").strip() or None
        cpu_out["features"] = sorted({f.get("name") for f in cpu.findall("feature") if f.get("name")})
        topo = cpu.find("topology")
        if topo is not None:
            cpu_out["topology"] = {k: _int(topo.get(k)) for k in ("sockets", "dies", "clusters", "cores", "threads")
                                   if topo.get(k) is not None}
        sig = cpu.find("signature")
        if sig is not None:
            cpu_out["signature"] = {k: _int(v) for k, v in sig.attrib.items()}
        mc = cpu.find("microcode")
        if mc is not None:
            cpu_out["microcode"] = mc.get("version")
        cpu_out["xml"] = ET.tostring(cpu, encoding="unicode").strip()
    out["cpu"] = cpu_out
    cells = None
    topology = host.find("topology")
    if topology is not None and topology.find("cells") is not None:
        cells = []
        for cell in topology.find("cells").findall("cell"):
            c = {"id": _int(cell.get("id")), "memory_kb": _kib(cell.find("memory")), "pages": [],
                 "distances": {}, "cpus": []}
            for pages in cell.findall("pages"):
                size = _int(pages.get("size"))
                unit = (pages.get("unit") or "KiB").lower()
                if size is not None and unit in ("m", "mib"):
                    size *= 1024
                elif size is not None and unit in ("g", "gib"):
                    size *= 1024 * 1024
                c["pages"].append({"size_kb": size, "count": _int((pages.text or "").strip())})
            dist = cell.find("distances")
            if dist is not None:
                c["distances"] = {s.get("id"): _int(s.get("value")) for s in dist.findall("sibling")}
            cpus = cell.find("cpus")
            if cpus is not None:
                for cpu_el in cpus.findall("cpu"):
                    c["cpus"].append({
                        "id": _int(cpu_el.get("id")),
                        "socket_id": _int(cpu_el.get("socket_id")),
                        "die_id": _int(cpu_el.get("die_id")),
                        "core_id": _int(cpu_el.get("core_id")),
                        "siblings": _cpulist(cpu_el.get("siblings")) if cpu_el.get("siblings") else [],
                    })
            cells.append(c)
    out["cells"] = cells
    mig = host.find("migration_features")
    out["migration"] = None
    if mig is not None:
        transports = mig.find("uri_transports")
        out["migration"] = {
            "live": mig.find("live") is not None,
            "uri_transports": [t.text.strip() for t in transports.findall("uri_transport")
                               if t.text] if transports is not None else [],
        }
    out["secmodels"] = [s.findtext("model") for s in host.findall("secmodel") if s.findtext("model")]
    guests = []
    for guest in root.findall("guest"):
        arch = guest.find("arch")
        guests.append({
            "os_type": (guest.findtext("os_type") or "").strip() or None,
            "arch": arch.get("name") if arch is not None else None,
            "domain_types": sorted({d.get("type") for d in arch.findall("domain")}) if arch is not None else [],
        })
    out["guests"] = guests
    return out


def parse_domain_capabilities(text):
    """The CPU part of a domain capabilities document: {"emulator", "domain", "machine",
    "arch", "host_passthrough": bool, "host_model": {supported, model, vendor, fallback,
    features: {name: policy}} | None, "custom_models": [{name, usable}]}."""
    root = _root(text, "domainCapabilities")
    out = {"emulator": (root.findtext("path") or "").strip() or None,
           "domain": (root.findtext("domain") or "").strip() or None,
           "machine": (root.findtext("machine") or "").strip() or None,
           "arch": (root.findtext("arch") or "").strip() or None,
           "host_passthrough": False, "host_model": None, "custom_models": []}
    cpu = root.find("cpu")
    if cpu is None:
        return out
    for mode in cpu.findall("mode"):
        name = mode.get("name")
        supported = mode.get("supported") == "yes"
        if name == "host-passthrough":
            out["host_passthrough"] = supported
        elif name == "host-model":
            model = mode.find("model")
            out["host_model"] = {
                "supported": supported,
                "model": (model.text or "").strip() if model is not None and model.text else None,
                "fallback": model.get("fallback") if model is not None else None,
                "vendor": (mode.findtext("vendor") or "").strip() or None,
                "features": {f.get("name"): f.get("policy") for f in mode.findall("feature") if f.get("name")},
            }
        elif name == "custom" and supported:
            out["custom_models"] = [{"name": (m.text or "").strip(), "usable": m.get("usable")}
                                    for m in mode.findall("model")]
    return out


def parse_virsh_version(text):
    """``virsh version`` output -> {"library", "api", "hypervisor_type", "hypervisor"} (strings
    like "9.0.0"; None when a line is absent)."""
    out = {"library": None, "api": None, "hypervisor_type": None, "hypervisor": None}
    for line in (text or "").splitlines():
        m = re.match(r"^\s*Using library:\s*libvirt\s+(\S+)", line)
        if m:
            out["library"] = m.group(1)
        m = re.match(r"^\s*Using API:\s*(\S+)\s+(\S+)", line)
        if m:
            out["api"] = m.group(2)
        m = re.match(r"^\s*Running hypervisor:\s*(\S+)\s+(\S+)", line)
        if m:
            out["hypervisor_type"], out["hypervisor"] = m.group(1), m.group(2)
    return out


def version_text(number):
    """libvirt's packed version (major * 1000000 + minor * 1000 + micro) as "M.m.u"."""
    if not isinstance(number, int) or number < 0:
        return None
    return "%d.%d.%d" % (number // 1000000, (number // 1000) % 1000, number % 1000)


def parse_domain(text):
    """What a running guest's XML says about its placement on host NUMA cells:
    {name, vcpus, memory_kb, vcpupin: {vcpu: [cpus]}, emulatorpin: [cpus] | None,
    memnodes: {guest_cell: [host nodes]}, cells: [{id, cpus, memory_kb}], hugepages: bool}."""
    root = _root(text, "domain")
    out = {"name": root.findtext("name"), "vcpus": _int((root.findtext("vcpu") or "").strip()),
           "memory_kb": _kib(root.find("memory")), "vcpupin": {}, "emulatorpin": None,
           "memnodes": {}, "cells": [], "hugepages": root.find("memoryBacking/hugepages") is not None}
    tune = root.find("cputune")
    if tune is not None:
        for pin in tune.findall("vcpupin"):
            out["vcpupin"][_int(pin.get("vcpu"))] = _cpulist(pin.get("cpuset"))
        emu = tune.find("emulatorpin")
        if emu is not None:
            out["emulatorpin"] = _cpulist(emu.get("cpuset"))
    numatune = root.find("numatune")
    if numatune is not None:
        for mem in numatune.findall("memnode"):
            out["memnodes"][_int(mem.get("cellid"))] = _cpulist(mem.get("nodeset"))
    for cell in root.findall("cpu/numa/cell"):
        out["cells"].append({"id": _int(cell.get("id")), "cpus": _cpulist(cell.get("cpus")),
                             "memory_kb": _kib(_Mem(cell))})
    return out


class _Mem:
    """A <cell memory=.. unit=..> attribute pair seen as an element for _kib."""

    def __init__(self, cell):
        self.text = cell.get("memory")
        self._unit = cell.get("unit")

    def get(self, key, default=None):
        return self._unit if key == "unit" and self._unit else default


class LibvirtReader:
    """Read-only access to the local libvirt: libvirt-python when importable, else virsh."""

    def __init__(self, uri="qemu:///system", virsh="virsh", timeout=30, run=None, libvirt_module=None):
        self.uri = uri
        self.virsh = virsh
        self.timeout = timeout
        self._run = run or _run
        self._libvirt = libvirt_module
        self._conn = None
        self.via = None

    def open(self, warnings):
        """Decide how to talk to libvirt; False (with a warning) when neither way works."""
        lv = self._libvirt
        if lv is None:
            try:
                import libvirt as lv  # noqa: F811 pylint: disable=import-outside-toplevel
            except ImportError:
                lv = None
        if lv is not None:
            try:
                if hasattr(lv, "registerErrorHandler"):
                    lv.registerErrorHandler(lambda *a: None, None)
                self._conn = lv.openReadOnly(self.uri)
                self.via = "libvirt-python"
                return True
            except Exception as exc:  # libvirt.libvirtError, and nothing else escapes
                warnings.append("libvirt: libvirt-python could not open %s read-only (%s); trying virsh"
                                % (self.uri, _one_line(exc)))
        rc, out, err = self._run([self.virsh, "-r", "-c", self.uri, "uri"], self.timeout)
        if rc == 0:
            self.via = "virsh"
            return True
        warnings.append("libvirt: not reachable at %s (%s)" % (self.uri, err or "virsh failed"))
        return False

    def _virsh(self, args, warnings, what):
        rc, out, err = self._run([self.virsh, "-r", "-c", self.uri] + args, self.timeout)
        if rc != 0:
            warnings.append("libvirt: %s failed (%s)" % (what, err or "exit %s" % rc))
            return None
        return out

    def capabilities(self, warnings):
        if self.via == "libvirt-python":
            try:
                return self._conn.getCapabilities()
            except Exception as exc:
                warnings.append("libvirt: getCapabilities failed (%s)" % _one_line(exc))
                return None
        return self._virsh(["capabilities"], warnings, "virsh capabilities")

    def domain_capabilities(self, warnings, virt_type=None):
        """Domain capabilities for ``virt_type`` (falling back to libvirt's default when that
        accelerator is not available). libvirt refuses this query on a read-only connection,
        so a read-write connection is opened for it alone (it only reads)."""
        problems = []
        for vt in ([virt_type, None] if virt_type else [None]):
            text = self._domcaps_once(vt, problems)
            if text is not None:
                if vt != virt_type:
                    warnings.append("libvirt: domain capabilities for virt_type %s are not available (%s); "
                                    "libvirt's default shown" % (virt_type, problems[0]))
                return text
        warnings.append("libvirt: domain capabilities could not be read (%s)" % "; ".join(problems))
        return None

    def _domcaps_once(self, virt_type, problems):
        if self.via == "libvirt-python":
            lv = self._libvirt
            if lv is None:
                import libvirt as lv  # pylint: disable=import-outside-toplevel
            conn = None
            try:
                conn = lv.open(self.uri)
                return conn.getDomainCapabilities(None, None, None, virt_type, 0)
            except Exception as exc:
                problems.append(_one_line(exc))
                return None
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass
        args = [self.virsh, "-c", self.uri, "domcapabilities"] + (["--virttype", virt_type] if virt_type else [])
        rc, out, err = self._run(args, self.timeout)
        if rc != 0:
            problems.append(err or "virsh domcapabilities exit %s" % rc)
            return None
        return out

    def versions(self, warnings):
        """{"library": "M.m.u" (the daemon's), "hypervisor": QEMU's, "hypervisor_type"}."""
        if self.via == "libvirt-python":
            out = {"library": None, "hypervisor": None, "hypervisor_type": None}
            try:
                out["library"] = version_text(self._conn.getLibVersion())
                out["hypervisor"] = version_text(self._conn.getVersion())
                out["hypervisor_type"] = self._conn.getType()
            except Exception as exc:
                warnings.append("libvirt: version query failed (%s)" % _one_line(exc))
            return out
        text = self._virsh(["version", "--daemon"], warnings, "virsh version")
        parsed = parse_virsh_version(text)
        if text is not None:
            m = re.search(r"Running against daemon:\s*(\S+)", text)
            if m:
                parsed["library"] = m.group(1)
        return {"library": parsed["library"], "hypervisor": parsed["hypervisor"],
                "hypervisor_type": parsed["hypervisor_type"]}

    def domains(self, warnings):
        """XML of every running domain (read-only list)."""
        if self.via == "libvirt-python":
            try:
                return [d.XMLDesc(0) for d in self._conn.listAllDomains(1)]  # 1 = ACTIVE
            except Exception as exc:
                warnings.append("libvirt: listing domains failed (%s)" % _one_line(exc))
                return None
        names = self._virsh(["list", "--name", "--state-running"], warnings, "virsh list")
        if names is None:
            return None
        out = []
        for name in [n.strip() for n in names.splitlines() if n.strip()]:
            xml = self._virsh(["dumpxml", name], warnings, "virsh dumpxml %s" % name)
            if xml is not None:
                out.append(xml)
        return out

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def _run(argv, timeout):
    """(rc, stdout, stderr-first-line); rc None when the command cannot run."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except FileNotFoundError:
        return None, "", "%s is not installed" % argv[0]
    except subprocess.TimeoutExpired:
        return None, "", "%s %s timed out after %s s" % (argv[0], " ".join(argv[1:3]), timeout)
    except OSError as exc:
        return None, "", "%s: %s" % (argv[0], exc.strerror or exc)
    err = proc.stderr.decode("utf-8", "replace").strip()
    err = " ".join(err.split())[:300]
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), err
