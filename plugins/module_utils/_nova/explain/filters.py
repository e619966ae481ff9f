# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nova's host filters, one small class each, with Nova's semantics (nova 34 unless legacy).

``REGISTRY`` maps the filter name of ``[filter_scheduler] enabled_filters`` to its class.
Each ``evaluate`` mirrors ``host_passes`` of ``nova.scheduler.filters.*`` and returns a
verdict cell with the numbers behind it; tests/oracle compares them with Nova's classes.
Legacy filters (RamFilter, CoreFilter, DiskFilter, their Aggregate* forms, RetryFilter,
AvailabilityZoneFilter) are evaluated with their old semantics only when the target
release still had them; otherwise the column says what replaced them.
"""

from __future__ import annotations

import ipaddress
import json
import operator
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import releases
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa_filter as NF
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import metrics as _metrics
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import pci_state as _pci_state
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.aggregates import agg_values, validate_num_values
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import IMAGE_PROPERTY_TYPES
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import HOST_STATE_METHODS

ARCHITECTURES = frozenset((
    "aarch64", "alpha", "armv6", "armv7b", "armv7l", "cris", "i686", "ia64", "lm32", "m68k", "microblaze",
    "microblazeel", "mips", "mips64", "mips64el", "mipsel", "openrisc", "parisc", "parisc64", "ppc", "ppc64",
    "ppc64le", "ppcemb", "ppcle", "s390", "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64",
    "xtensa", "xtensaeb"))
HV_TYPES = frozenset((
    "baremetal", "bhyve", "docker", "fake", "hyperv", "ironic", "kqemu", "kvm", "lxc", "lxd", "openvz",
    "parallels", "phyp", "prsm", "qemu", "test", "uml", "vbox", "vmware", "vz", "xen", "zvm"))
VM_MODES = frozenset(("exe", "hvm", "uml", "xen"))


class NovaRaises(Exception):
    """Nova's own filter code raises on this input (the scheduling request errors out)."""


# ---------------------------------------------------------------- extra_specs_ops.match

def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise NovaRaises("ValueError: %s" % exc) from None


_OPS = {
    "=": lambda x, y: _float(x) >= _float(y),
    "<in>": lambda x, y: y in x,
    "<all-in>": lambda x, y: all(val in x for val in y),
    "==": lambda x, y: _float(x) == _float(y),
    "!=": lambda x, y: _float(x) != _float(y),
    ">=": lambda x, y: _float(x) >= _float(y),
    "<=": lambda x, y: _float(x) <= _float(y),
    "s==": operator.eq, "s!=": operator.ne, "s<": operator.lt, "s<=": operator.le,
    "s>": operator.gt, "s>=": operator.ge,
}


def spec_match(value, req):
    """nova.scheduler.filters.extra_specs_ops.match (raises NovaRaises where Nova raises)."""
    words = req.split()
    op = method = None
    if words:
        op = words.pop(0)
        method = _OPS.get(op)
    if op != "<or>" and not method:
        return value == req
    if value is None:
        return False
    if op == "<or>":
        while True:
            if not words:
                raise NovaRaises("IndexError: pop from empty list (malformed <or> expression %r)" % req)
            if words.pop(0) == value:
                return True
            if not words:
                break
            words.pop(0)
            if not words:
                break
        return False
    if words:
        if op == "<all-in>":
            return method(value, words)
        return method(value, words[0])
    return False


# ---------------------------------------------------------------- helpers

def dyn_num_instances(host, state):
    return (host.num_instances or 0) + (state.placed.get(host.index, 0) if state else 0)


def dyn_io_ops(host, state):
    return (host.num_io_ops or 0) + (state.placed.get(host.index, 0) if state else 0)


class Filter(C.Check):
    stage = "filter"
    fail_kind = C.STATIC
    short = None

    def __init__(self, ctx):
        super().__init__("filter:%s" % self.name)

    def key(self, host, ctx):
        return None

    def failed(self, reason, kind=None):
        return C.fail(kind or self.fail_kind, reason, self.short or self.name)


# ---------------------------------------------------------------- in-tree filters

class AllHostsFilter(Filter):
    name = "AllHostsFilter"

    def key(self, host, ctx):
        return True

    def evaluate(self, host, ctx, state):
        return C.ok("passes every host")


class ComputeFilter(Filter):
    name = "ComputeFilter"

    def key(self, host, ctx):
        return (host.disabled, host.up, host.disabled_reason)

    def evaluate(self, host, ctx, state):
        if host.disabled is None:
            return C.unknown("nova-compute service not found in the snapshot")
        if host.disabled:
            return C.fail(C.STATIC, "compute service disabled%s" % (
                " (%s)" % host.disabled_reason if host.disabled_reason else ""), "disabled")
        if host.up is None:
            return C.unknown("service state unknown")
        if not host.up:
            return C.fail(C.DYNAMIC, "compute service is down (not heard from, or forced down)", "service down")
        return C.ok("service enabled and up")


def _capability(attrs, scope):
    """ComputeCapabilitiesFilter._get_capabilities over HostState-like attributes."""
    cap = None
    for index, name in enumerate(scope):
        if index == 0:
            value = attrs.get(name) if name in attrs else None
            if name in HOST_STATE_METHODS:
                value = "<bound method HostState.%s>" % name
            cap = value if value is not None else (attrs.get("stats") or {}).get(name)
        else:
            if isinstance(cap, str):
                try:
                    cap = json.loads(cap)
                except ValueError:
                    return None
            if isinstance(cap, dict):
                cap = cap.get(name)
            else:
                value = getattr(cap, name, None)
                if value is None:
                    return None  # Nova: cap.stats -> AttributeError -> None
                cap = value
        if cap is None:
            return None
    return cap


def _py_str(value):
    """str() as Nova applies it (dicts/lists/bools print the Python way)."""
    return str(value)


class ComputeCapabilitiesFilter(Filter):
    name = "ComputeCapabilitiesFilter"
    short = "capabilities mismatch"

    def __init__(self, ctx):
        super().__init__(ctx)
        specs = dict(ctx.req["flavor"]["extra_specs"])
        bits = specs.pop("hw:maxphysaddr_bits", None)
        if bits is not None:
            specs["capabilities:cpu_info:maxphysaddr:bits"] = ">= " + bits
        self.specs = []
        names = set()
        for key, req in specs.items():
            scope = key.split(":")
            if len(scope) == 1:
                self.specs.append((key, [key], req, True))
                names.add(key)
            elif scope[0] == "capabilities":
                self.specs.append((key, scope[1:], req, False))
                if scope[1:]:
                    names.add(scope[1])
        self.names = sorted(names)
        self.dynamic = bool(names & {"free_ram_mb", "free_disk_mb", "vcpus_used", "num_instances", "num_io_ops",
                                     "disk_mb_used", "instances"})

    def key(self, host, ctx):
        if not self.specs:
            return True
        if self.dynamic:
            return None
        attrs = host.host_state_attrs()
        stats = attrs.get("stats") or {}
        return tuple(repr(attrs.get(n)) + "|" + repr(stats.get(n)) for n in self.names)

    def evaluate(self, host, ctx, state):
        if not self.specs:
            return C.ok("flavor has no capability extra specs")
        attrs = host.host_state_attrs()
        if state is not None and host.index in state.placed and self.dynamic:
            attrs = dict(attrs, **state.host_attr_changes(host, ctx))
        checked = []
        for key, scope, req, plain in self.specs:
            if plain:
                stats = attrs.get("stats") or {}
                if not (key in attrs or key in HOST_STATE_METHODS or key in stats):
                    continue
            if not scope:
                return self.failed("extra spec %s: no capability named" % key)
            cap = _capability(attrs, scope)
            if cap is None:
                missing = _missing_data(host, scope)
                if missing:
                    return C.unknown("extra spec %s=%r: the snapshot lacks the host's %s (Nova compares it; "
                                     "os-hypervisors returns cpu_info only up to microversion 2.87)"
                                     % (key, req, missing))
                return self.failed("extra spec %s=%r: host has no %s" % (key, req, ":".join(scope)))
            try:
                matched = spec_match(_py_str(cap), req)
            except NovaRaises as exc:
                return C.cell(C.ERROR, "extra spec %s=%r against %r: Nova's filter raises %s" % (key, req, cap, exc),
                              C.STATIC, "filter error")
            if not matched:
                return self.failed("extra spec %s=%r does not match host value %r" % (key, req, _py_str(cap)))
            checked.append(key)
        if not checked:
            return C.ok("no extra spec names a host capability")
        return C.ok("matches %s" % ", ".join(checked))


# HostState attributes the snapshot may not carry: None there means "not known", not "absent".
_SNAPSHOT_FIELDS = ("cpu_info", "hypervisor_type", "hypervisor_version", "host_ip", "supported_instances")
_NOT_IN_SNAPSHOT = ("numa_topology", "pci_stats", "metrics")


def _missing_data(host, scope):
    """The name of the host data a capability lookup needs and the snapshot lacks, or None."""
    root = scope[0] if scope else None
    if root in _SNAPSHOT_FIELDS and host.raw.get(root) is None:
        return root
    if root in _NOT_IN_SNAPSHOT:
        return root
    return None


# Drivers whose supported_instances is fixed by their code (nova.virt.fake.FakeDriver).
_FIXED_SUPPORTED = {"fake": [["x86_64", "fake", "hvm"]]}


def inferred_supported_instances(raw):
    """(supported_instances inferred from hypervisor_type and cpu_info, complete?, how) or None.

    Nova's API does not return supported_instances. The fake driver always reports
    x86_64/fake/hvm; a libvirt QEMU/KVM host supports its own CPU architecture (cpu_info
    arch) with kvm and qemu in hvm mode, and possibly more emulated ones (so a mismatch
    stays unknown there).
    """
    hv_type = str(raw.get("hypervisor_type") or "").lower()
    if hv_type in _FIXED_SUPPORTED:
        return _FIXED_SUPPORTED[hv_type], True, "hypervisor_type %s (the driver always reports %s)" % (
            raw.get("hypervisor_type"), ", ".join("/".join(t) for t in _FIXED_SUPPORTED[hv_type]))
    cpu_info = raw.get("cpu_info")
    arch = cpu_info.get("arch") if isinstance(cpu_info, dict) else None
    if hv_type in ("qemu", "kvm") and arch:
        try:
            arch = _canon(arch, "arch")
        except NovaRaises:
            return None
        return [[arch, "kvm", "hvm"], [arch, "qemu", "hvm"]], False, (
            "hypervisor_type %s and cpu_info arch %s (other architectures may be emulated)"
            % (raw.get("hypervisor_type"), arch))
    return None


def _canon(value, kind):
    if value is None:
        return None
    name = str(value).lower()
    if kind == "arch":
        if name in ("i386", "i486", "i586", "x86_32", "x86_32p"):
            name = "i686"
        if name == "amd64":
            name = "x86_64"
        valid = ARCHITECTURES
    elif kind == "hv":
        if name == "xapi":
            name = "xen"
        valid = HV_TYPES
    else:
        if name == "pv":
            name = "xen"
        if name in ("hv", "baremetal"):
            name = "hvm"
        valid = VM_MODES
    if name not in valid:
        raise NovaRaises("invalid %s %r" % (kind, value))
    return name


def _version_tuple(text):
    parts = str(text).strip().split(".")
    if not all(p.isdigit() for p in parts):
        raise NovaRaises("version %r is not a dotted number" % text)
    numbers = [int(p) for p in parts]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


_PRED = re.compile(r"^\s*(<=|>=|<|>|!=|==)\s*([^\s]+)\s*$")
_CMP = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">": operator.gt, ">=": operator.ge,
        "!=": operator.ne}


def version_to_str(version_int):
    numbers = []
    while version_int != 0:
        numbers.insert(0, version_int % 1000)
        version_int //= 1000
    return ".".join(str(n) for n in numbers)


def version_satisfied(predicate, version_int):
    version = _version_tuple(version_to_str(version_int))
    for part in str(predicate).split(","):
        match = _PRED.match(part)
        if not match:
            raise NovaRaises("bad version predicate %r" % predicate)
        if not _CMP[match.group(1)](version, _version_tuple(match.group(2))):
            return False
    return True


class ImagePropertiesFilter(Filter):
    name = "ImagePropertiesFilter"
    short = "image properties unsupported"

    def __init__(self, ctx):
        super().__init__(ctx)
        props = ctx.req["image"]["properties"]
        self.props = props
        self.error = None
        try:
            arch = props.get("hw_architecture", ctx.conf["image_properties_default_architecture"])
            self.wanted = (_canon(arch, "arch"), _canon(props.get("img_hv_type"), "hv"),
                           _canon(props.get("hw_vm_mode"), "vm"))
        except NovaRaises as exc:
            self.wanted = (None, None, None)
            self.error = str(exc)
        self.version_req = props.get("img_hv_requested_version")
        bits = props.get("hw_maxphysaddr_bits")
        self.bits = int(bits) if bits not in (None, "") and str(bits).isdigit() else None

    def key(self, host, ctx):
        # a function of the host alone: computed once per Host object (engine passes of the
        # relaxation search reuse it; a changed host is a new object)
        cached = host.memo.get("image_key")
        if cached is None:
            raw = host.raw
            cached = (json.dumps(raw.get("supported_instances"), sort_keys=True), raw.get("hypervisor_version"),
                      json.dumps(raw.get("cpu_info"), sort_keys=True, default=str), raw.get("hypervisor_type"))
            host.memo["image_key"] = cached
        return cached

    def evaluate(self, host, ctx, state):
        if self.error:
            return C.cell(C.ERROR, "image property rejected by Nova: %s" % self.error, C.STATIC, "bad image property")
        if not any(self.wanted):
            return C.ok("image asks for no architecture, hypervisor type or VM mode")
        supported = host.raw.get("supported_instances")
        wanted_text = "/".join(w or "*" for w in self.wanted)
        if supported is None:
            return self._inferred(host, wanted_text)
        if not supported:
            return self.failed("image wants %s; host reports no supported_instances" % wanted_text)
        hv_version = host.raw.get("hypervisor_version")
        for inst in supported:
            if not all(w is None or w in inst for w in self.wanted):
                continue
            if hv_version and self.version_req:
                try:
                    if not version_satisfied(self.version_req, int(hv_version)):
                        continue
                except NovaRaises as exc:
                    return C.cell(C.ERROR, "img_hv_requested_version: %s" % exc, C.STATIC, "bad image property")
            if self.bits:
                # Nova calls host_state.cpu_info.get(...), but HostState.cpu_info is the compute
                # node's JSON text (or None): AttributeError, the request errors out.
                return C.cell(C.ERROR, "image asks hw_maxphysaddr_bits=%d: Nova's ImagePropertiesFilter calls "
                              "cpu_info.get() on the compute node's JSON text and raises AttributeError" % self.bits,
                              C.STATIC, "filter error")
            return C.ok("supports %s" % wanted_text)
        extra = []
        if self.version_req:
            extra.append("hypervisor version %s (wants %s)" % (
                version_to_str(int(hv_version)) if hv_version else "unknown", self.version_req))
        if self.bits:
            extra.append("maxphysaddr bits >= %d" % self.bits)
        return self.failed("image wants %s%s; host supports %s" % (
            wanted_text, (" and " + ", ".join(extra)) if extra else "",
            ", ".join("/".join(str(x) for x in s) for s in supported)))

    def _inferred(self, host, wanted_text):
        lacking = "image wants %s; the snapshot lacks the host's supported_instances" % wanted_text
        inferred = inferred_supported_instances(host.raw)
        if inferred is None or self.version_req or self.bits:
            return C.unknown(lacking)
        supported, complete, how = inferred
        if any(all(w is None or w in inst for w in self.wanted) for inst in supported):
            return C.ok("supports %s (inferred from %s; supported_instances not in the snapshot)" % (wanted_text, how))
        if complete:
            return self.failed("image wants %s; host supports %s (inferred from %s; supported_instances not in "
                               "the snapshot)" % (wanted_text, ", ".join("/".join(t) for t in supported), how))
        return C.unknown("%s; inferred from %s: %s, so it passes only if the host also supports %s"
                         % (lacking, how, ", ".join("/".join(t) for t in supported), wanted_text))


class _GroupFilter(Filter):
    fail_kind = C.DYNAMIC
    dynamic = True
    policy = None

    def __init__(self, ctx):
        super().__init__(ctx)
        group = ctx.req["group"]
        self.group = group if group and group.get("policy") == self.policy else None

    def key(self, host, ctx):
        return True if self.group is None else None


def anti_affinity_limit(group):
    """An anti-affinity group's max_server_per_host rule (1 when absent or not a number)."""
    rules = group.get("rules") or {}
    try:
        return int(rules["max_server_per_host"]) if "max_server_per_host" in rules else 1
    except (TypeError, ValueError):
        return 1


def anti_affinity_room(group, host, ctx):
    """How many more members of an anti-affinity ``group`` ``host`` takes (None: no bound or unknown)."""
    if group is None or group.get("policy") != "anti-affinity" or host.instances is None:
        return None
    return anti_affinity_limit(group) - len(host.instances & ctx.group_members)


class ServerGroupAntiAffinityFilter(_GroupFilter):
    name = "ServerGroupAntiAffinityFilter"
    policy = "anti-affinity"
    short = "anti-affinity"
    counts = True

    def capacity(self, host, ctx):
        return anti_affinity_room(self.group, host, ctx)

    def evaluate(self, host, ctx, state):
        if self.group is None:
            return C.ok("no anti-affinity group")
        if host.instances is None:
            return C.unknown("instances on the host unknown")
        members = ctx.group_members
        on_host = len(host.instances & members) + (state.placed.get(host.index, 0) if state else 0)
        limit = anti_affinity_limit(self.group)
        if on_host < limit:
            return C.ok("%d member(s) of group %s here, max_server_per_host %d" % (
                on_host, self.group.get("name") or self.group.get("id"), limit))
        return self.failed("%d member(s) of anti-affinity group %s already here, max_server_per_host %d" % (
            on_host, self.group.get("name") or self.group.get("id"), limit))


def affinity_hosts_unknown(group, ctx):
    """The reason an affinity verdict is unknown: members placed on hosts whose servers are not known."""
    unknown_hosts = sorted(h.name for h in ctx.cloud.hosts if h.instances is None)
    return ("affinity group %s: member(s) %s are on no host whose servers the snapshot lists, and the servers of "
            "%s are not known (Nova's group hosts could be there); decided by the servers per host (the "
            "snapshot's hosts[].instances)" % (group.get("name") or group["id"],
                                               ", ".join(ctx.group_hosts_unknown[:5]), ", ".join(unknown_hosts[:5])))


class ServerGroupAffinityFilter(_GroupFilter):
    name = "ServerGroupAffinityFilter"
    policy = "affinity"
    short = "affinity"

    def evaluate(self, host, ctx, state):
        if self.group is None:
            return C.ok("no affinity group")
        group_hosts = ctx.group_hosts(state)
        if host.name in group_hosts:
            return C.ok("group %s members are on this host" % (self.group.get("name") or self.group["id"]))
        if ctx.group_hosts_unknown:
            return C.unknown(affinity_hosts_unknown(self.group, ctx))
        if not group_hosts:
            return C.ok("affinity group %s has no member placed yet" % (self.group.get("name") or self.group["id"]))
        return self.failed("affinity group %s members are on %s" % (
            self.group.get("name") or self.group["id"], ", ".join(sorted(group_hosts))))


class AggregateInstanceExtraSpecsFilter(Filter):
    name = "AggregateInstanceExtraSpecsFilter"
    short = "aggregate extra specs mismatch"
    SCOPE = "aggregate_instance_extra_specs"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.specs = []
        for key, req in ctx.req["flavor"]["extra_specs"].items():
            scope = key.split(":", 1)
            if len(scope) > 1:
                if scope[0] != self.SCOPE:
                    continue
                del scope[0]
            self.specs.append((key, scope[0], req))
        self.any_specs = bool(ctx.req["flavor"]["extra_specs"])

    def key(self, host, ctx):
        return host.agg_key

    def evaluate(self, host, ctx, state):
        if not self.any_specs:
            return C.ok("flavor has no extra specs")
        metadata = host.agg_metadata
        for spec_key, key, req in self.specs:
            values = metadata.get(key)
            if not values:
                return self.failed("extra spec %s=%r: no aggregate of this host has metadata %s" % (spec_key, req, key))
            try:
                if not any(spec_match(v, req) for v in sorted(values)):
                    return self.failed("extra spec %s=%r does not match aggregate metadata %s=%s" % (
                        spec_key, req, key, ",".join(sorted(values))))
            except NovaRaises as exc:
                return C.cell(C.ERROR, "extra spec %s=%r: Nova's filter raises %s" % (spec_key, req, exc),
                              C.STATIC, "filter error")
        if not self.specs:
            return C.ok("no unscoped or aggregate_instance_extra_specs: extra spec")
        return C.ok("aggregate metadata matches %s" % ", ".join(k for k, _x, _y in self.specs))


def coerce_image_prop(name, value):
    """An image property as ImageMetaProps holds it (bool, int, canonical name, str; None when unset/unknown)."""
    kind = IMAGE_PROPERTY_TYPES.get(name)
    if kind is None or value is None:
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "t", "true", "on", "y", "yes"):
            return True
        if text in ("0", "f", "false", "off", "n", "no"):
            return False
        raise NovaRaises("invalid boolean %r for %s" % (value, name))
    if kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise NovaRaises("invalid integer %r for %s" % (value, name)) from None
    if kind == "arch":
        return _canon(value, "arch")
    if kind == "hvtype":
        return _canon(value, "hv")
    if kind == "vmmode":
        return _canon(value, "vm")
    return str(value)


class AggregateImagePropertiesIsolation(Filter):
    name = "AggregateImagePropertiesIsolation"
    short = "aggregate image properties mismatch"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.namespace = ctx.conf["aggregate_image_properties_isolation_namespace"]
        self.separator = ctx.conf["aggregate_image_properties_isolation_separator"]
        self.props = ctx.req["image"]["properties"]

    def key(self, host, ctx):
        return host.agg_key

    def evaluate(self, host, ctx, state):
        checked = []
        for key, options in host.agg_metadata.items():
            if self.namespace and not key.startswith(self.namespace + self.separator):
                continue
            if key not in IMAGE_PROPERTY_TYPES:
                continue  # not an ImageMetaProps field: Nova skips it
            try:
                prop = coerce_image_prop(key, self.props.get(key))
            except NovaRaises as exc:
                return C.cell(C.ERROR, "image property %s: %s" % (key, exc), C.STATIC, "bad image property")
            # Nova: `if prop and str(prop) not in options` (False and 0 never constrain)
            if prop and str(prop) not in options:
                return self.failed("image %s=%s but the host's aggregates require %s" % (
                    key, prop, ",".join(sorted(options))))
            if prop:
                checked.append(key)
        if checked:
            return C.ok("image matches aggregate metadata %s" % ", ".join(sorted(checked)))
        return C.ok("no aggregate metadata constrains the image")


class AggregateMultiTenancyIsolation(Filter):
    name = "AggregateMultiTenancyIsolation"
    short = "tenant-isolated aggregate"

    def key(self, host, ctx):
        return host.agg_key

    def evaluate(self, host, ctx, state):
        tenant = ctx.req["project_id"]
        configured = set()
        for name, values in host.agg_metadata.items():
            if name.startswith("filter_tenant_id"):
                configured.update(values)
        if configured and tenant not in configured:
            return self.failed("host's aggregates are reserved for project(s) %s; request is from %s" % (
                ",".join(sorted(configured)), tenant))
        if configured:
            return C.ok("project %s is allowed by filter_tenant_id" % tenant)
        return C.ok("no filter_tenant_id on the host's aggregates")


class AggregateTypeAffinityFilter(Filter):
    name = "AggregateTypeAffinityFilter"
    short = "aggregate instance_type mismatch"

    def key(self, host, ctx):
        return host.agg_key

    def evaluate(self, host, ctx, state):
        values = agg_values(host, "instance_type")
        flavor = ctx.req["flavor_name"]
        for val in values:
            if flavor in [x.strip() for x in val.split(",")]:
                return C.ok("aggregate instance_type allows %s" % flavor)
        if values:
            return self.failed("aggregate instance_type=%s does not list flavor %s" % (
                ";".join(sorted(values)), flavor))
        return C.ok("no instance_type on the host's aggregates")


class _CountLimitFilter(Filter):
    """A host passes while its count (instances, I/O-heavy operations) is below a limit."""
    fail_kind = C.DYNAMIC
    dynamic = True
    attr = option = noun = unknown_text = None
    count = None  # function(host, state): the count including instances placed by this request

    counts = True

    def limit(self, host, ctx):
        return ctx.conf[self.option], None

    def capacity(self, host, ctx):
        if getattr(host, self.attr) is None:
            return None
        limit, _note = self.limit(host, ctx)
        return limit - getattr(host, self.attr)

    def key(self, host, ctx):
        return (getattr(host, self.attr), host.agg_key)

    def evaluate(self, host, ctx, state):
        if getattr(host, self.attr) is None:
            return C.unknown(self.unknown_text)
        limit, note = self.limit(host, ctx)
        count = self.count(host, state)
        text = "%d %s, %s %d%s" % (count, self.noun, self.option, limit, ("; " + note) if note else "")
        if count < limit:
            return C.ok(text)
        return self.failed(text)


class NumInstancesFilter(_CountLimitFilter):
    name = "NumInstancesFilter"
    short = "too many instances"
    attr, option, noun = "num_instances", "max_instances_per_host", "instance(s)"
    unknown_text = "number of instances unknown"
    count = staticmethod(dyn_num_instances)


class AggregateNumInstancesFilter(NumInstancesFilter):
    name = "AggregateNumInstancesFilter"

    def limit(self, host, ctx):
        return validate_num_values(agg_values(host, "max_instances_per_host"), ctx.conf["max_instances_per_host"], int)


class IoOpsFilter(_CountLimitFilter):
    name = "IoOpsFilter"
    short = "too many I/O ops"
    attr, option, noun = "num_io_ops", "max_io_ops_per_host", "I/O op(s)"
    unknown_text = "number of I/O-heavy operations unknown"
    count = staticmethod(dyn_io_ops)

    def capacity(self, host, ctx):
        # not a bound on the total (finished builds stop counting), only "none now" at the limit
        room = super().capacity(host, ctx)
        return 0 if room is not None and room <= 0 else None


class AggregateIoOpsFilter(IoOpsFilter):
    name = "AggregateIoOpsFilter"

    def limit(self, host, ctx):
        return validate_num_values(agg_values(host, "max_io_ops_per_host"), ctx.conf["max_io_ops_per_host"], int)


class IsolatedHostsFilter(Filter):
    name = "IsolatedHostsFilter"
    short = "isolated host/image"

    def key(self, host, ctx):
        return host.name in ctx.conf["isolated_hosts"]

    def evaluate(self, host, ctx, state):
        conf = ctx.conf
        hosts, images = conf["isolated_hosts"], conf["isolated_images"]
        restrict = conf["restrict_isolated_hosts_to_isolated_images"]
        host_isolated = host.name in hosts
        if not images:
            if (not restrict) or not host_isolated:
                return C.ok("no isolated images configured")
            return self.failed("host is isolated and no image is an isolated image")
        image_ref = ctx.req["image"].get("id")
        image_isolated = image_ref in images
        if restrict:
            passes = image_isolated == host_isolated
        else:
            passes = (not image_isolated) or host_isolated
        text = "image %s isolated; host %s isolated" % (
            "is" if image_isolated else "not", "is" if host_isolated else "not")
        return C.ok(text) if passes else self.failed(text)


class _InstanceHintFilter(Filter):
    hint = None
    dynamic = True

    def key(self, host, ctx):
        return True if not ctx.req[self.hint] else None

    def overlap(self, host, ctx, state):
        wanted = set(ctx.req[self.hint])
        found = host.instances & wanted
        if state is not None:
            found |= set(state.new_instances.get(host.index, ())) & wanted
        return found


class DifferentHostFilter(_InstanceHintFilter):
    name = "DifferentHostFilter"
    hint = "different_host"
    short = "different_host hint"

    def evaluate(self, host, ctx, state):
        if not ctx.req[self.hint]:
            return C.ok("no different_host hint")
        if host.instances is None:
            return C.unknown("instances on the host unknown")
        found = self.overlap(host, ctx, state)
        if found:
            return self.failed("runs %s (different_host)" % ", ".join(sorted(found)))
        return C.ok("runs none of the different_host instances")


class SameHostFilter(_InstanceHintFilter):
    name = "SameHostFilter"
    hint = "same_host"
    short = "same_host hint"

    def evaluate(self, host, ctx, state):
        if not ctx.req[self.hint]:
            return C.ok("no same_host hint")
        if host.instances is None:
            return C.unknown("instances on the host unknown")
        found = self.overlap(host, ctx, state)
        if found:
            return C.ok("runs %s" % ", ".join(sorted(found)))
        return self.failed("runs none of %s (same_host)" % ", ".join(sorted(ctx.req[self.hint])))


class SimpleCIDRAffinityFilter(Filter):
    name = "SimpleCIDRAffinityFilter"
    short = "outside build_near_host_ip CIDR"

    def key(self, host, ctx):
        return host.raw.get("host_ip")

    def evaluate(self, host, ctx, state):
        hints = ctx.req["hints"]
        near = hints.get("build_near_host_ip")
        if isinstance(near, list):
            near = near[0] if near else None
        cidr = hints.get("cidr", "/24")
        if isinstance(cidr, list):
            cidr = cidr[0] if cidr else "/24"
        if not near:
            return C.ok("no build_near_host_ip hint")
        host_ip = host.raw.get("host_ip")
        if host_ip is None:
            return C.unknown("host_ip unknown")
        try:
            network = ipaddress.ip_network("%s%s" % (near, cidr), strict=False)
            address = ipaddress.ip_address(host_ip)
        except ValueError as exc:
            return C.cell(C.ERROR, "bad address in hints or host_ip: %s" % exc, C.STATIC, "filter error")
        if address in network:
            return C.ok("%s in %s" % (host_ip, network))
        return self.failed("%s not in %s" % (host_ip, network))


class JsonFilter(Filter):
    name = "JsonFilter"
    short = "JSON query"
    dynamic = True

    def __init__(self, ctx):
        super().__init__(ctx)
        query = ctx.req["query"]
        self.query = None
        self.error = None
        if query:
            try:
                self.query = json.loads(query) if isinstance(query, str) else query
            except ValueError as exc:
                self.error = "query hint is not JSON: %s" % exc

    def key(self, host, ctx):
        return True if not self.query and not self.error else None

    def _value(self, text, attrs):
        if not text:
            return None
        if not text.startswith("$"):
            return text
        path = text[1:].split(".")
        obj = attrs.get(path[0]) if path[0] in attrs else None
        if obj is None:
            return None
        for item in path[1:]:
            if not isinstance(obj, dict):
                raise NovaRaises("AttributeError: %r has no get()" % type(obj).__name__)
            obj = obj.get(item)
            if obj is None:
                return None
        return obj

    def _process(self, query, attrs):
        if not query:
            return True
        cmd = query[0]
        if cmd not in _JSON_OPS:
            raise NovaRaises("KeyError: unknown JsonFilter operator %r" % (cmd,))
        args = []
        for arg in query[1:]:
            if isinstance(arg, list):
                arg = self._process(arg, attrs)
            elif isinstance(arg, str):
                arg = self._value(arg, attrs)
            if arg is not None:
                args.append(arg)
        return _JSON_OPS[cmd](args)

    def evaluate(self, host, ctx, state):
        if self.error:
            return C.cell(C.ERROR, self.error, C.STATIC, "filter error")
        if not self.query:
            return C.ok("no query hint")
        attrs = host.host_state_attrs()
        if state is not None and host.index in state.placed:
            attrs = dict(attrs, **state.host_attr_changes(host, ctx))
        try:
            result = self._process(self.query, attrs)
        except NovaRaises as exc:
            return C.cell(C.ERROR, "query %s: Nova's filter raises %s" % (json.dumps(self.query), exc),
                          C.STATIC, "filter error")
        except TypeError as exc:
            return C.cell(C.ERROR, "query %s: Nova's filter raises TypeError: %s" % (json.dumps(self.query), exc),
                          C.STATIC, "filter error")
        if isinstance(result, list):
            result = any(result)
        if result:
            return C.ok("query %s is true" % json.dumps(self.query))
        return self.failed("query %s is false for this host" % json.dumps(self.query))


def _op_compare(args, op):
    if len(args) < 2:
        return False
    if op is operator.contains:
        bad = args[0] not in args[1:]
    else:
        bad = [arg for arg in args[1:] if not op(args[0], arg)]
    return not bool(bad)


_JSON_OPS = {
    "=": lambda a: _op_compare(a, operator.eq),
    "<": lambda a: _op_compare(a, operator.lt),
    ">": lambda a: _op_compare(a, operator.gt),
    "in": lambda a: _op_compare(a, operator.contains),
    "<=": lambda a: _op_compare(a, operator.le),
    ">=": lambda a: _op_compare(a, operator.ge),
    "not": lambda a: [not x for x in a],
    "or": any,
    "and": all,
}


class NUMATopologyFilter(Filter):
    """Nova's NUMATopologyFilter over the snapshot's hosts[].numa (explain/numa.py, numa_filter.py)."""
    name = "NUMATopologyFilter"
    short = NF.SHORT
    # a host whose cells are full fails now and holds capacity() more (explain/headroom.py)
    counts = True

    def __init__(self, ctx):
        super().__init__(ctx)
        self.setup = NF.Setup(ctx)
        # the request's earlier instances consume host cells: re-evaluated instance by instance
        self.dynamic = self.setup.topology is not None

    def key(self, host, ctx):
        return True if self.setup.topology is None else None

    def evaluate(self, host, ctx, state):
        return NF.evaluate(self.setup, host, ctx, state)

    def capacity(self, host, ctx):
        """Instances of the request the host's NUMA cells hold (None: no NUMA bound)."""
        return NF.capacity(self.setup, host, ctx)


# PciPassthroughFilter (explain/pci.py, pci_state.py) and MetricsFilter (explain/metrics.py) live in their own modules.
PciPassthroughFilter = _pci_state.PciPassthroughFilter
MetricsFilter = _metrics.MetricsFilter


# ---------------------------------------------------------------- legacy filters (old releases)

class _LegacyCapacity(Filter):
    fail_kind = C.DYNAMIC
    dynamic = True
    rc = None
    ratio_key = None
    aggregate = False

    def ratio(self, host, ctx):
        view = host.resources.get(self.rc) or {}
        default = ctx.conf.get(self.ratio_key)
        if default is None:
            default = view.get("allocation_ratio", 1.0)
        if self.aggregate:
            value, _note = validate_num_values(agg_values(host, self.ratio_key), default, float)
            return value
        return default

    def used_delta(self, host, state):
        return state.used.get(host.index, {}).get(self.rc, 0) if state else 0


class RamFilter(_LegacyCapacity):
    name = "RamFilter"
    rc = "MEMORY_MB"
    ratio_key = "ram_allocation_ratio"
    short = "insufficient RAM (RamFilter)"

    def evaluate(self, host, ctx, state):
        view = host.resources.get(self.rc)
        if view is None:
            return C.unknown("memory inventory unknown")
        wanted = int(ctx.req["flavor"].get("ram", ctx.req["flavor"].get("memory_mb", 0)) or 0)
        total = view["total"]
        free = total - view["reserved"] - view["used"] - self.used_delta(host, state)
        ratio = self.ratio(host, ctx)
        limit = total * ratio
        usable = limit - (total - free)
        text = "needs %d MB; limit %dx%g=%g, used %d -> usable %g" % (wanted, total, ratio, limit, total - free, usable)
        return C.ok(text) if usable >= wanted else self.failed(text)


class AggregateRamFilter(RamFilter):
    name = "AggregateRamFilter"
    aggregate = True


class CoreFilter(_LegacyCapacity):
    name = "CoreFilter"
    rc = "VCPU"
    ratio_key = "cpu_allocation_ratio"
    short = "insufficient vCPUs (CoreFilter)"

    def evaluate(self, host, ctx, state):
        view = host.resources.get(self.rc)
        if view is None:
            return C.unknown("VCPU inventory unknown")
        wanted = int(ctx.req["flavor"].get("vcpus") or 0)
        total = view["total"]
        if not total:
            return C.ok("no vCPU total: CoreFilter fails safe (passes)")
        ratio = self.ratio(host, ctx)
        limit = total * ratio
        if limit > 0 and wanted > total:
            return C.fail(C.STATIC, "needs %d vCPUs, more than the host's %d physical" % (wanted, total), self.short)
        used = view["used"] + self.used_delta(host, state)
        free = limit - used
        text = "needs %d; limit %dx%g=%g, used %d -> free %g" % (wanted, total, ratio, limit, used, free)
        return C.ok(text) if free >= wanted else self.failed(text)


class AggregateCoreFilter(CoreFilter):
    name = "AggregateCoreFilter"
    aggregate = True


class DiskFilter(_LegacyCapacity):
    name = "DiskFilter"
    rc = "DISK_GB"
    ratio_key = "disk_allocation_ratio"
    short = "insufficient disk (DiskFilter)"

    def evaluate(self, host, ctx, state):
        flavor = ctx.req["flavor"]
        root = 0 if ctx.req["is_bfv"] else int(flavor.get("disk", flavor.get("root_gb", 0)) or 0)
        wanted = 1024 * (root + int(flavor.get("ephemeral") or 0)) + int(flavor.get("swap") or 0)
        view = host.resources.get(self.rc)
        if view is None:
            if not wanted:
                return C.ok("needs no disk")
            return C.unknown("disk inventory unknown")
        total_mb = view["total"] * 1024
        free_mb = (view["total"] - view["reserved"] - view["used"] - self.used_delta(host, state)) * 1024
        ratio = self.ratio(host, ctx)
        limit = total_mb * ratio
        usable = limit - (total_mb - free_mb)
        text = "needs %d MB; limit %dx%g=%g, used %d -> usable %g" % (
            wanted, total_mb, ratio, limit, total_mb - free_mb, usable)
        return C.ok(text) if usable >= wanted else self.failed(text)


class AggregateDiskFilter(DiskFilter):
    name = "AggregateDiskFilter"
    aggregate = True


class RetryFilter(Filter):
    name = "RetryFilter"
    fail_kind = C.DYNAMIC
    short = "already tried"

    def key(self, host, ctx):
        return host.name

    def evaluate(self, host, ctx, state):
        tried = ctx.req["hints"].get("retry_hosts") or []
        if host.name in tried:
            return self.failed("already tried in an earlier attempt of this request")
        return C.ok("not tried before (a first attempt)")


class AvailabilityZoneFilter(Filter):
    name = "AvailabilityZoneFilter"
    short = "wrong AZ (AvailabilityZoneFilter)"

    def key(self, host, ctx):
        return host.agg_key

    def evaluate(self, host, ctx, state):
        az = ctx.req["availability_zone"]
        if not az:
            return C.ok("no availability zone requested")
        zones = host.agg_metadata.get("availability_zone") or {ctx.conf["default_availability_zone"]}
        if az in zones:
            return C.ok("host is in AZ %s" % az)
        return self.failed("host is in AZ %s, not %s" % (",".join(sorted(zones)), az))


REGISTRY = {cls.name: cls for cls in (
    AllHostsFilter, ComputeFilter, ComputeCapabilitiesFilter, ImagePropertiesFilter,
    ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter, AggregateInstanceExtraSpecsFilter,
    AggregateImagePropertiesIsolation, AggregateMultiTenancyIsolation, AggregateTypeAffinityFilter,
    NumInstancesFilter, AggregateNumInstancesFilter, IoOpsFilter, AggregateIoOpsFilter, IsolatedHostsFilter,
    DifferentHostFilter, SameHostFilter, SimpleCIDRAffinityFilter, JsonFilter, NUMATopologyFilter,
    PciPassthroughFilter, MetricsFilter,
    RamFilter, AggregateRamFilter, CoreFilter, AggregateCoreFilter, DiskFilter, AggregateDiskFilter,
    RetryFilter, AvailabilityZoneFilter,
)}

# Filters whose verdict Nova computes exactly as modelled here (the oracle tests cover them).
ORACLE_FILTERS = (
    "AllHostsFilter", "ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter", "AggregateInstanceExtraSpecsFilter",
    "AggregateImagePropertiesIsolation", "AggregateMultiTenancyIsolation", "AggregateTypeAffinityFilter",
    "NumInstancesFilter", "AggregateNumInstancesFilter", "IoOpsFilter", "AggregateIoOpsFilter",
    "IsolatedHostsFilter", "DifferentHostFilter", "SameHostFilter", "SimpleCIDRAffinityFilter", "JsonFilter",
)


def _short_name(name):
    """'nova.scheduler.filters.compute_filter.ComputeFilter' -> 'ComputeFilter'."""
    return name.rsplit(".", 1)[-1]


def build(ctx):
    """The filter columns for the enabled filters, in the configured order, plus notes."""
    result = []
    notes = []
    major = ctx.conf["nova_major"]
    for configured in ctx.conf["enabled_filters"]:
        name = _short_name(configured)
        check_id = "filter:%s" % name
        removed = releases.filter_removed(name, major)
        if removed is not None:
            note = "%s; listing it makes nova-scheduler %s fail at start (SchedulerHostFilterNotFound)" % (
                releases.removed_filter_message(name), releases.RELEASES.get(major, major))
            notes.append(note)
            result.append(C.ConstantCheck(check_id, name, C.cell(C.NOT_EVALUATED, "removed: " + note),
                                          note=note))
            continue
        cls = REGISTRY.get(name)
        if cls is None:
            if name in releases.REMOVED_FILTERS:
                note = "%s is a legacy filter the engine does not model" % name
            elif name in releases.IN_TREE_FILTERS:
                note = "%s is in-tree but not modelled by the engine" % name
            else:
                note = "%s is not an in-tree Nova filter (out-of-tree or misspelt): not evaluated" % configured
            notes.append(note)
            result.append(C.ConstantCheck(check_id, name, C.cell(C.NOT_EVALUATED, note), note=note))
            continue
        if ctx.forced:
            result.append(C.ConstantCheck(check_id, name, C.cell(
                C.SKIPPED, "forced host: Nova skips the host filters"), note="skipped (forced host)"))
            continue
        result.append(cls(ctx))
    return result, notes
