# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live-migration preflight between compute nodes: pure checks over gathered data.

Private library code: plain Python, no Ansible imports, no I/O. The inputs are

- per host, the compute-node facts (``ansible_facts.nova_compute`` of ``stackops.nova.compute_facts``,
  or the same shape gathered by ``preflight_probe.local_facts``): ``libvirt`` (version,
  qemu_version, cpu_xml, listeners), ``nova`` (host, config_drive_format, ``libvirt`` with
  virt_type / cpu_mode / cpu_models / cpu_model_extra_flags, ``live_migration`` with
  live_migration_inbound_addr / _scheme / _uri, ``workarounds`` with skip_cpu_compare_on_dest),
  ``names`` (hostname, and the host's own addresses: ``local_addresses``, else what its names
  resolve to there);
- per host, what it measured of each peer (``probes``): the peer's migration name resolved
  here, libvirt's port of the peer connected from here, and the peer's CPU definition compared
  by this host's libvirt (this host as the destination).

``pair_report(src, dst, ...)`` gives one report per ordered pair with each check's verdict
(``pass``/``fail``/``unknown``) and its evidence. Reading the facts goes through ``host_view``
only, so a change in the facts' key names is one edit here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight_numa as _pnuma

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
DEFAULT_PORTS = {"tcp": 16509, "tls": 16514, "ssh": 22}
# Nova's default [DEFAULT] config_drive_format.
NOVA_DEFAULT_CONFIG_DRIVE_FORMAT = "iso9660"
CHECKS = ("cpu", "versions", "names", "libvirt_reachable", "config_drive", "cpu_config", "numa_guests")


class PreflightError(ValueError):
    """Input the preflight cannot use (named in the message)."""


def _get(data, *path, default=None):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return default if data is None else data


def _list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def version_tuple(text):
    """``"9.0.0"`` -> ``(9, 0, 0)``; None for anything else."""
    if not isinstance(text, str) or not re.match(r"^\d+(\.\d+)*$", text.strip()):
        return None
    return tuple(int(p) for p in text.strip().split("."))


def scheme_from_uri(uri):
    m = re.match(r"^[a-z]+\+([a-z]+)://", uri or "")
    return m.group(1) if m else None


def _own_addresses(names):
    """The host's own addresses: ``names.local_addresses`` (interfaces), else what its own names
    resolve to on it (compute_facts' ``names.addresses``: name -> addresses) plus ``my_ip``."""
    if isinstance(names.get("local_addresses"), list):
        found = set(_list(names["local_addresses"]))
    elif isinstance(names.get("addresses"), list):
        found = set(_list(names["addresses"]))
    elif isinstance(names.get("addresses"), dict):
        found = {a for addrs in names["addresses"].values() for a in _list(addrs)}
        if names.get("my_ip"):
            found.add(str(names["my_ip"]))
    else:
        found = set()
    return sorted(a for a in found if not a.startswith("127.") and a != "::1")


def host_view(name, facts):
    """What the checks need of one host's facts, with Nova's defaults applied.

    Reads the compute-node facts (``stackops.nova.compute_facts``: ``nova.libvirt`` and
    ``nova.live_migration`` with Nova's option names, ``libvirt.cpu_xml``) and the short names
    some callers use (``inbound_addr``, ``cpu_mode`` directly under ``nova.live_migration``).
    """
    if not isinstance(facts, dict):
        raise PreflightError("facts of %s: expected a mapping (compute_facts' nova_compute), got %s"
                             % (name, type(facts).__name__))
    sources = [_get(facts, "nova", "live_migration", default={}), _get(facts, "nova", "libvirt", default={}),
               _get(facts, "nova", "workarounds", default={})]
    sources = [s for s in sources if isinstance(s, dict)]

    def opt(*keys):
        for src in sources:
            for key in keys:
                if src.get(key) is not None:
                    return src[key]
        return None

    names = _get(facts, "names", default={})
    names = names if isinstance(names, dict) else {}
    nova_host = _get(facts, "nova", "host")
    hostname = names.get("hostname")
    uri = opt("live_migration_uri", "uri")
    # Nova builds qemu+SCHEME://DEST/system with [libvirt] live_migration_scheme or "tcp"
    # (live_migration_with_native_tls encrypts QEMU's streams, not the libvirt connection).
    scheme = (scheme_from_uri(uri) if uri else None) or opt("live_migration_scheme") or "tcp"
    # Nova's source reaches the destination at its live_migration_inbound_addr, else at the
    # destination's service host name ([DEFAULT] host, whose default is the host name).
    migration_name = opt("live_migration_inbound_addr", "inbound_addr") or nova_host or hostname or name
    port = DEFAULT_PORTS.get(scheme, 16509)
    for listener in _get(facts, "libvirt", "listeners", default=[]) or []:
        if isinstance(listener, dict) and (listener.get("transport") or listener.get("kind")) == scheme \
                and listener.get("port"):
            port = int(listener["port"])
    cdf = _get(facts, "nova", "config_drive_format")
    return {
        "host": name,
        "migration_name": migration_name,
        "uri": uri,
        "scheme": scheme,
        "port": port,
        "libvirt_version": _get(facts, "libvirt", "version"),
        "qemu_version": _get(facts, "libvirt", "qemu_version"),
        "host_cpu_xml": _get(facts, "libvirt", "cpu_xml") or _get(facts, "libvirt", "host_cpu_xml"),
        "virt_type": opt("virt_type") or "kvm",
        "cpu_mode": opt("cpu_mode"),
        "cpu_models": _list(opt("cpu_models")) or _list(opt("cpu_model")),
        "cpu_model_extra_flags": [f.lower() for f in _list(opt("cpu_model_extra_flags"))],
        "skip_cpu_compare_on_dest": bool(opt("skip_cpu_compare_on_dest")),
        "config_drive_format": cdf or NOVA_DEFAULT_CONFIG_DRIVE_FORMAT,
        "config_drive_format_set": cdf is not None,
        "addresses": _own_addresses(names),
        "warnings": list(_get(facts, "warnings", default=[])),
    }


# -- CPU ------------------------------------------------------------------------------------

def parse_cpu_xml(text):
    """A ``<cpu>`` element (libvirt capabilities' host CPU, or a guest CPU) as a dict."""
    if not text:
        return None
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PreflightError("host CPU XML does not parse: %s" % exc) from None
    if root.tag != "cpu":
        found = root.find(".//host/cpu") if root.tag == "capabilities" else None
        if found is None:
            found = root.find(".//cpu")
        if found is None:
            raise PreflightError("host CPU XML: no <cpu> element (got <%s>)" % root.tag)
        root = found
    topo = root.find("topology")
    return {
        "arch": root.findtext("arch"),
        "model": root.findtext("model"),
        "vendor": root.findtext("vendor"),
        "mode": root.get("mode"),
        "topology": ({k: int(topo.get(k)) for k in ("sockets", "cores", "threads") if topo.get(k)}
                     if topo is not None else {}),
        "features": {f.get("name"): f.get("policy") or "require" for f in root.findall("feature")
                     if f.get("name")},
    }


def _element(tag, text=None, **attrs):
    e = ET.Element(tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        e.text = text
    return e


def nova_host_cpu_xml(host_cpu_xml):
    """The XML Nova's ``_compare_cpu`` builds from a source's ``cpu_info`` (no guest CPU model).

    ``cpu_info`` is the host CPU of libvirt's capabilities (arch, model, vendor,
    sockets/cores/threads, feature names); ``_compare_cpu`` turns it into a
    ``LibvirtConfigCPU``: ``<cpu><arch/><model/><vendor/><topology/><feature name=/>...</cpu>``
    with the features sorted by name.
    """
    cpu = parse_cpu_xml(host_cpu_xml)
    root = ET.Element("cpu")
    for tag in ("arch", "model", "vendor"):
        if cpu[tag] is not None:
            root.append(_element(tag, cpu[tag]))
    topo = cpu["topology"]
    if all(k in topo for k in ("sockets", "cores", "threads")):
        root.append(_element("topology", sockets=topo["sockets"], cores=topo["cores"], threads=topo["threads"]))
    for name in sorted(cpu["features"]):
        root.append(_element("feature", name=name))
    return ET.tostring(root, encoding="unicode")


def _flag_feature(flag):
    # Nova's _prepare_cpu_flag: "-flag" disables, "+flag" or "flag" requires.
    if flag.startswith("-"):
        return flag.lstrip("-"), "disable"
    return flag.lstrip("+"), "require"


def nova_custom_cpu_xml(model, extra_flags):
    """The guest CPU Nova gives an instance with ``cpu_mode = custom`` (``_get_guest_cpu_model_config``)."""
    root = ET.Element("cpu", {"mode": "custom", "match": "exact"})
    root.append(_element("model", model))
    for name, policy in sorted(_flag_feature(f) for f in set(extra_flags)):
        root.append(_element("feature", name=name, policy=policy))
    return ET.tostring(root, encoding="unicode")


def cpu_definitions(src):
    """What the destination compares for a guest coming from ``src``, as Nova decides it.

    Returns ``{"definitions": [{"label", "xml"}], "nova_compares": bool, "note": str}``:

    - ``cpu_mode = custom``: each configured model with ``cpu_model_extra_flags`` (an instance
      carries its guest CPU as ``vcpu_model``; ``_compare_cpu`` compares that on the destination);
    - any other mode (``host-model``, ``host-passthrough``, ``none``, unset): the instance has no
      ``vcpu_model.model``, so Nova compares the source host's ``cpu_info``;
    - ``virt_type`` other than kvm: Nova does not compare (QEMU emulates the CPU), and neither do we.
    """
    mode = (src["cpu_mode"] or "").lower() or None
    if src["virt_type"] != "kvm":
        return {"definitions": [], "nova_compares": False,
                "note": "[libvirt] virt_type = %s on %s: Nova does not compare CPUs (the CPU is emulated)"
                        % (src["virt_type"], src["host"])}
    note = ""
    if src["skip_cpu_compare_on_dest"]:
        note = ("[workarounds] skip_cpu_compare_on_dest is set: Nova will not compare, libvirt still "
                "refuses an incompatible guest CPU when the migration starts")
    if mode == "custom" and src["cpu_models"]:
        defs = [{"label": "custom model %s%s" % (m, (" with " + ",".join(src["cpu_model_extra_flags"]))
                                                 if src["cpu_model_extra_flags"] else ""),
                 "xml": nova_custom_cpu_xml(m, src["cpu_model_extra_flags"])} for m in src["cpu_models"]]
    elif not src["host_cpu_xml"]:
        return {"definitions": [], "nova_compares": not src["skip_cpu_compare_on_dest"],
                "note": "the host CPU of %s is unknown (no host CPU XML in its facts)" % src["host"]}
    else:
        label = "host CPU of %s (cpu_mode %s)" % (src["host"], mode or "unset: host-model")
        defs = [{"label": label, "xml": nova_host_cpu_xml(src["host_cpu_xml"])}]
        if mode == "host-passthrough":
            note = (note + "; " if note else "") + ("cpu_mode host-passthrough: libvirt's comparison is what "
                                                    "Nova checks, but guests see the host CPU as it is; "
                                                    "migrate only between identical CPUs")
    return {"definitions": defs, "nova_compares": not src["skip_cpu_compare_on_dest"], "note": note}


_MISSING = re.compile(r"does not provide (?:the )?required features?:\s*([^\n;]+)", re.I)


def missing_features(message):
    """The features libvirt names in an incompatibility error (``... required features: a, b``)."""
    m = _MISSING.search(message or "")
    if not m:
        return []
    return [f.strip().rstrip(".") for f in m.group(1).split(",") if f.strip()]


def features_lacking(src_cpu_xml, dst_cpu_xml):
    """Required feature names of one CPU definition absent from another host's CPU (set difference)."""
    src, dst = parse_cpu_xml(src_cpu_xml), parse_cpu_xml(dst_cpu_xml)
    if not src or not dst:
        return None
    wanted = {n for n, p in src["features"].items() if p in ("require", "force")}
    return sorted(wanted - set(dst["features"]))


def check(name, verdict, evidence, **extra):
    out = {"check": name, "verdict": verdict, "evidence": evidence}
    out.update(extra)
    return out


def check_cpu(src, dst, comparisons):
    """CPU compatibility as the destination's libvirt decides it (``compareHypervisorCPU``).

    ``comparisons``: what ``dst`` measured for ``src``'s definitions, a list of
    ``{"label", "result": "identical|superset|incompatible|error|unsupported", "message"}``
    (``preflight_probe.compare_cpu``), or None when it was not measured.
    """
    plan = cpu_definitions(src)
    if not plan["definitions"]:
        verdict = PASS if not plan["nova_compares"] and src["virt_type"] != "kvm" else UNKNOWN
        return check("cpu", verdict, plan["note"])
    if not comparisons:
        return check("cpu", UNKNOWN, "%s did not compare the CPU of %s (no libvirt answer)" % (dst["host"], src["host"]))
    failed, passed, unknown, missing = [], [], [], []
    for comp in comparisons:
        result = comp.get("result")
        if result in ("identical", "superset"):
            passed.append("%s: %s" % (comp.get("label"), result))
        elif result == "incompatible":
            names = missing_features(comp.get("message")) or []
            missing.extend(n for n in names if n not in missing)
            why = ("missing " + ", ".join(names)) if names else (comp.get("message") or "no reason given")
            failed.append("%s: incompatible with %s (%s)" % (comp.get("label"), dst["host"], why))
        else:
            unknown.append("%s: %s" % (comp.get("label"), comp.get("message") or result))
    lacking = None
    if not (src["cpu_mode"] or "").lower() == "custom" and src["host_cpu_xml"] and dst["host_cpu_xml"]:
        lacking = features_lacking(src["host_cpu_xml"], dst["host_cpu_xml"])
    extra = {"missing_features": missing}
    if lacking is not None:
        extra["features_not_in_destination_host_cpu"] = lacking
    tail = ("; " + plan["note"]) if plan["note"] else ""
    if failed:
        return check("cpu", FAIL, "; ".join(failed) + tail, **extra)
    if unknown:
        return check("cpu", UNKNOWN, "; ".join(unknown + passed) + tail, **extra)
    return check("cpu", PASS, "; ".join(passed) + tail, **extra)


# -- the other checks ------------------------------------------------------------------------

def check_versions(src, dst):
    """libvirt and QEMU on the destination are not older than on the source."""
    parts, verdict = [], PASS
    for key, label in (("libvirt_version", "libvirt"), ("qemu_version", "QEMU")):
        s, d = version_tuple(src[key]), version_tuple(dst[key])
        if s is None or d is None:
            parts.append("%s %s -> %s: unknown" % (label, src[key] or "?", dst[key] or "?"))
            if verdict == PASS:
                verdict = UNKNOWN
        elif d < s:
            parts.append("%s %s -> %s: the destination is older" % (label, src[key], dst[key]))
            verdict = FAIL
        else:
            parts.append("%s %s -> %s" % (label, src[key], dst[key]))
    return check("versions", verdict, "; ".join(parts))


def _resolution(on, target, resolved):
    """One direction of name resolution: ``on`` resolved ``target``'s migration name."""
    name = target["migration_name"]
    if not resolved:
        return UNKNOWN, "%s: %s was not looked up" % (on["host"], name)
    if resolved.get("error") or not resolved.get("addresses"):
        return FAIL, "%s cannot resolve %s (%s)" % (on["host"], name, resolved.get("error") or "no address")
    addrs = sorted(resolved["addresses"])
    if target["addresses"]:
        if not set(addrs) & set(target["addresses"]):
            return FAIL, "%s resolves %s to %s, none of them an address of %s (%s)" % (
                on["host"], name, ", ".join(addrs), target["host"], ", ".join(target["addresses"]))
        return PASS, "%s resolves %s to %s" % (on["host"], name, ", ".join(addrs))
    return PASS, "%s resolves %s to %s (the addresses of %s are unknown)" % (
        on["host"], name, ", ".join(addrs), target["host"])


def check_names(src, dst, src_probe, dst_probe):
    """The destination's migration name resolves on the source and the source's on the destination."""
    results = [_resolution(src, dst, (src_probe or {}).get("resolve")),
               _resolution(dst, src, (dst_probe or {}).get("resolve"))]
    verdicts = [r[0] for r in results]
    verdict = FAIL if FAIL in verdicts else UNKNOWN if UNKNOWN in verdicts else PASS
    unresolved = [name for r, name in zip(results, (dst["migration_name"], src["migration_name"]))
                  if r[0] == FAIL]
    return check("names", verdict, "; ".join(r[1] for r in results), unresolved=unresolved)


def check_reachable(src, dst, src_probe):
    """libvirt's migration port of the destination answers a TCP connection from the source."""
    conn = (src_probe or {}).get("connect")
    by_addr = (src_probe or {}).get("connect_by_address")
    if conn and conn.get("ok") is None and by_addr:
        where = "%s:%s" % (by_addr.get("address"), by_addr.get("port") or dst["port"])
        if by_addr.get("ok"):
            return check("libvirt_reachable", PASS, "%s connects to %s (by address: %s does not resolve there)" % (
                src["host"], where, dst["migration_name"]))
        if by_addr.get("ok") is False:
            return check("libvirt_reachable", FAIL, "%s cannot connect to %s (%s; %s does not resolve there)" % (
                src["host"], where, by_addr.get("error"), dst["migration_name"]))
    if not conn:
        return check("libvirt_reachable", UNKNOWN, "%s did not try %s:%s" % (src["host"], dst["migration_name"], dst["port"]))
    where = "%s:%s" % (conn.get("address") or dst["migration_name"], conn.get("port") or dst["port"])
    if conn.get("ok"):
        return check("libvirt_reachable", PASS, "%s connects to %s (%s, %s)" % (
            src["host"], where, dst["scheme"], dst["migration_name"]))
    if conn.get("ok") is None:
        return check("libvirt_reachable", UNKNOWN, "%s: %s" % (src["host"], conn.get("error") or "not tried"))
    return check("libvirt_reachable", FAIL, "%s cannot connect to %s (%s)" % (src["host"], where, conn.get("error")))


def check_config_drive(src, dst):
    """Config drives migrate as vfat disks; iso9660 is a CD-ROM (seed: vfat on every compute)."""
    bad = [h for h in (src, dst) if h["config_drive_format"] != "vfat"]
    if not bad:
        return check("config_drive", PASS, "vfat on both")
    return check("config_drive", FAIL, "; ".join(
        "%s: config_drive_format %s%s, expected vfat" % (h["host"], h["config_drive_format"],
                                                         "" if h["config_drive_format_set"] else " (Nova's default)")
        for h in bad))


def check_cpu_config(src, dst):
    """The same ``[libvirt] cpu_mode`` and ``cpu_models`` on both (a guest keeps its CPU model)."""
    s = ((src["cpu_mode"] or "unset"), src["cpu_models"], sorted(src["cpu_model_extra_flags"]))
    d = ((dst["cpu_mode"] or "unset"), dst["cpu_models"], sorted(dst["cpu_model_extra_flags"]))
    text = "cpu_mode %s, cpu_models [%s], extra flags [%s]"
    ev = "%s: %s; %s: %s" % (src["host"], text % (s[0], ",".join(s[1]), ",".join(s[2])),
                             dst["host"], text % (d[0], ",".join(d[1]), ",".join(d[2])))
    return check("cpu_config", PASS if s == d else FAIL, ev)


def check_numa_guests(src, dst, guest=None, dst_facts=None):
    """A NUMA / pinned ``guest`` fits the destination's cells as Nova's live-migration claim re-fits it.

    node/preflight_numa.py (explain/numa.py's fit on the destination's compute facts); unknown
    without a guest or the destination's NUMA state.
    """
    try:
        verdict, evidence = _pnuma.check(guest, dst_facts, dst["host"])
    except _pnuma.GuestError as exc:
        raise PreflightError(str(exc)) from None
    return check("numa_guests", verdict, evidence)


def pair_report(src_name, dst_name, facts, probes, guest=None):
    """One ordered pair's report. ``facts``: host -> facts; ``probes``: host -> peer host -> probe;
    ``guest``: the instance to move (preflight_numa.py), None for host checks only."""
    src, dst = host_view(src_name, facts[src_name]), host_view(dst_name, facts[dst_name])
    src_probe = (probes.get(src_name) or {}).get(dst_name)
    dst_probe = (probes.get(dst_name) or {}).get(src_name)
    checks = [
        check_cpu(src, dst, (dst_probe or {}).get("cpu_compare")),
        check_versions(src, dst),
        check_names(src, dst, src_probe, dst_probe),
        check_reachable(src, dst, src_probe),
        check_config_drive(src, dst),
        check_cpu_config(src, dst),
        check_numa_guests(src, dst, guest, facts[dst_name]),
    ]
    verdicts = [c["verdict"] for c in checks]
    verdict = FAIL if FAIL in verdicts else UNKNOWN if UNKNOWN in verdicts else PASS
    return {"source": src_name, "destination": dst_name, "verdict": verdict,
            "checks": {c["check"]: c for c in checks},
            # what could not be read on either host (the reason behind most unknowns)
            "warnings": ["%s: %s" % (h["host"], w) for h in (src, dst) for w in h["warnings"]],
            "problems": ["%s -> %s: %s: %s" % (src_name, dst_name, c["check"], c["evidence"])
                         for c in checks if c["verdict"] == FAIL]}


def pairs_report(facts, probes, guest=None):
    """Every ordered pair of the hosts in ``facts``, sorted by source then destination."""
    names = sorted(facts)
    return [pair_report(s, d, facts, probes, guest) for s in names for d in names if s != d]


def from_results(results):
    """``facts`` and ``probes`` from each host's ``live_migration_preflight`` result.

    ``results``: inventory host -> the module's result (``local.facts`` and ``peers[]`` with
    ``host`` and ``probes``). A host whose result has no facts is left out with a problem.
    """
    if not isinstance(results, dict):
        raise PreflightError("expected a mapping of host -> live_migration_preflight result, got %s"
                             % type(results).__name__)
    facts, probes = {}, {}
    for host, result in results.items():
        local = _get(result, "local", default={})
        if not isinstance(local, dict) or not isinstance(local.get("facts"), dict):
            raise PreflightError("%s: its live_migration_preflight result has no local.facts "
                                 "(did the task run on it?)" % host)
        facts[host] = local["facts"]
        probes[host] = {p.get("host"): p.get("probes") or {} for p in _get(result, "peers", default=[])
                        if isinstance(p, dict)}
    return facts, probes


def table(reports):
    """Rows for ``report.text_table``: one per pair, one column per check."""
    headers = ["source", "destination", "verdict"] + list(CHECKS)
    rows = [[r["source"], r["destination"], r["verdict"]] + [r["checks"][c]["verdict"] for c in CHECKS]
            for r in reports]
    return headers, rows
