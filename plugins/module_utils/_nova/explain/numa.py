# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NUMA fitting as Nova does it: guest topology from flavor + image, fit onto host cells.

Our own re-implementation (plain Python, no Nova import) of what ``nova.virt.hardware``
(nova 34) does for NUMATopologyFilter and the resource claim:

- :func:`constraints` is ``numa_get_constraints``: the guest NUMA topology of a flavor and
  image (``hw:numa_nodes``, ``hw:numa_cpus.N``, ``hw:numa_mem.N``, ``hw:cpu_policy``,
  ``hw:cpu_dedicated_mask``, ``hw:cpu_realtime[_mask]``, ``hw:cpu_thread_policy``,
  ``hw:emulator_threads_policy``, ``hw:mem_page_size``, ``hw:pmem``, ``resources:PCPU`` /
  ``resources:VCPU``, ``trait:HW_CPU_HYPERTHREADING`` and the image's ``hw_*``), raising
  :class:`NumaRequestError` where Nova's API refuses the request.
- :func:`fit` is ``numa_fit_instance_to_host``: cell permutations in Nova's order (the
  spread/pack sorting of ``[compute] packing_host_numa_cells_allocation_strategy``),
  page sizes, memory without overcommit for pinned guests, pCPU packing onto thread
  siblings (require / isolate / prefer), the emulator-threads pCPU, and the shared-CPU and
  memory limits (allocation ratios). It keeps Nova's quirks (a guest cell keeps the page
  size and the id it got on the last host cell tried), so it returns the same cells.
- :func:`consume` is ``numa_usage_from_instance_numa``; :func:`max_instances` fits and
  consumes instance by instance.

Host cells come from the snapshot's ``hosts[].numa`` (docs/snapshot.md), which mirrors
``objects.NUMACell``. tests/oracle/test_numa_oracle.py compares this module with Nova's
own functions on generated hosts and flavors.
"""

from __future__ import annotations

import collections
import itertools
import math
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import cpuset as _cpuset

MEMPAGES_SMALL = -1
MEMPAGES_LARGE = -2
MEMPAGES_ANY = -3
NUMA_NODES_MAX = 128  # ImageMetaProps.NUMA_NODES_MAX

CPU_POLICIES = ("dedicated", "shared", "mixed")
THREAD_POLICIES = ("prefer", "isolate", "require")
EMULATOR_POLICIES = ("share", "isolate")
_PIN = ("dedicated", "mixed")
_SHARED = (None, "shared", "mixed")

_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")
_BYTES_RE = re.compile(r"(^[-+]?\d*\.?\d+)([KMGTPEZYRQ]i?)?(b|bit|B)$")
_EXPONENT = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6, "Z": 7, "Y": 8, "R": 9, "Q": 10}
_VCPU_RE = re.compile(r"resources([1-9][0-9]*)?:VCPU")
_PCPU_RE = re.compile(r"resources([1-9][0-9]*)?:PCPU")
_HT_RE = re.compile(r"trait([1-9][0-9]*)?:HW_CPU_HYPERTHREADING")


class NumaRequestError(ValueError):
    """Nova's API refuses this flavor / image combination (the message says why, naming the key)."""


class NovaRaises(Exception):
    """Nova's own fitting code raises on this host data (the scheduler errors out)."""


# ------------------------------------------------------------------ small Nova helpers

def bool_from_string(value):
    """oslo strutils.bool_from_string (non-strict): unknown text is False."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def string_to_bytes(text):
    """oslo strutils.string_to_bytes(text, 'IEC', return_int=True), ValueError when Nova's raises."""
    match = _BYTES_RE.match(text)
    if not match:
        raise ValueError("Invalid string format: %s" % text)
    magnitude = float(match.group(1))
    prefix = match.group(2)
    if match.group(3) in ("b", "bit"):
        magnitude /= 8
    res = magnitude * pow(1024, _EXPONENT[prefix[0]]) if prefix else magnitude
    return int(math.ceil(res))


def _is_int_like(value):
    try:
        return str(int(value)) == str(value)
    except (TypeError, ValueError):
        return False


def parse_cpu_spec(spec, what):
    try:
        return _cpuset.parse_cpu_spec(str(spec))
    except _cpuset.CpuSpecError as exc:
        raise NumaRequestError("%s=%r: %s" % (what, spec, exc)) from None


# ------------------------------------------------------------------ image properties

def image_props(props):
    """The NUMA-related image properties as nova.objects.ImageMetaProps coerces them.

    ``hw_numa_cpus.N`` / ``hw_numa_mem.N`` (N from 0, consecutive) become lists; enums are
    checked (Nova refuses the image metadata otherwise).
    """
    props = props or {}
    out = {}
    for key in ("hw_cpu_policy", "hw_cpu_thread_policy"):
        if props.get(key) is not None:
            value = str(props[key])
            allowed = CPU_POLICIES if key == "hw_cpu_policy" else THREAD_POLICIES
            if value not in allowed:
                raise NumaRequestError("image property %s=%r is not one of %s (Nova refuses the image metadata)"
                                       % (key, value, ", ".join(allowed)))
            out[key] = value
    if props.get("hw_numa_nodes") is not None:
        try:
            out["hw_numa_nodes"] = int(props["hw_numa_nodes"])
        except (TypeError, ValueError):
            raise NumaRequestError("image property hw_numa_nodes=%r is not an integer" % (props["hw_numa_nodes"],)) \
                from None
    for key in ("hw_mem_page_size", "hw_cpu_realtime_mask"):
        if props.get(key) is not None:
            out[key] = str(props[key])
    if props.get("hw_locked_memory") is not None:
        out["hw_locked_memory"] = bool_from_string(props["hw_locked_memory"])
    cpus = []
    for cell in range(NUMA_NODES_MAX):
        key = "hw_numa_cpus.%d" % cell
        if key not in props:
            break
        cpus.append(parse_cpu_spec(props[key], "image property " + key))
    if cpus:
        out["hw_numa_cpus"] = cpus
    mems = []
    for cell in range(NUMA_NODES_MAX):
        key = "hw_numa_mem.%d" % cell
        if key not in props:
            break
        try:
            mems.append(int(props[key]))
        except (TypeError, ValueError):
            raise NumaRequestError("image property %s=%r is not an integer" % (key, props[key])) from None
    if mems:
        out["hw_numa_mem"] = mems
    traits = [str(k)[6:] for k, v in props.items() if str(k).startswith("trait:") and str(v) == "required"]
    traits += list(props.get("traits_required") or [])
    if traits:
        out["traits_required"] = traits
    return out


# ------------------------------------------------------------------ the guest topology

class InstanceCell:
    """objects.InstanceNUMACell: what one guest NUMA node asks (and, once fitted, where it went)."""

    __slots__ = ("id", "cpuset", "pcpuset", "memory", "pagesize", "cpu_policy", "cpu_thread_policy", "pinning",
                 "cpuset_reserved")

    def __init__(self, cell_id, cpuset, pcpuset, memory, pagesize=None, cpu_policy=None, cpu_thread_policy=None):
        self.id = cell_id
        self.cpuset = cpuset
        self.pcpuset = pcpuset
        self.memory = memory
        self.pagesize = pagesize
        self.cpu_policy = cpu_policy
        self.cpu_thread_policy = cpu_thread_policy
        self.pinning = None
        self.cpuset_reserved = None

    def copy(self):
        new = InstanceCell(self.id, set(self.cpuset), set(self.pcpuset), self.memory, self.pagesize,
                           self.cpu_policy, self.cpu_thread_policy)
        new.pinning = dict(self.pinning) if self.pinning else self.pinning
        new.cpuset_reserved = set(self.cpuset_reserved) if self.cpuset_reserved else self.cpuset_reserved
        return new

    def as_dict(self):
        out = {"id": self.id, "cpus": sorted(self.cpuset | self.pcpuset), "memory_mb": self.memory}
        if self.pagesize:
            out["pagesize_kb"] = self.pagesize
        if self.pinning:
            out["pinning"] = {str(k): v for k, v in sorted(self.pinning.items())}
        if self.cpuset_reserved:
            out["emulator_pcpus"] = sorted(self.cpuset_reserved)
        return out


class Topology:
    """objects.InstanceNUMATopology: the guest cells plus the emulator threads policy."""

    __slots__ = ("cells", "emulator_threads_policy")

    def __init__(self, cells, emulator_threads_policy=None):
        self.cells = cells
        self.emulator_threads_policy = emulator_threads_policy

    @property
    def emulator_threads_isolated(self):
        return self.emulator_threads_policy == "isolate"

    @property
    def cpu_policy(self):
        return self.cells[0].cpu_policy if self.cells else None

    def copy(self):
        return Topology([c.copy() for c in self.cells], self.emulator_threads_policy)

    def describe(self):
        """A short text of what the guest asks: '2 NUMA cells of 4 pCPU + 8192 MB, 2048 kB pages'."""
        cells = self.cells
        parts = []
        for cell in cells:
            cpu = []
            if cell.pcpuset:
                cpu.append("%d pCPU" % len(cell.pcpuset))
            if cell.cpuset:
                cpu.append("%d shared vCPU" % len(cell.cpuset))
            parts.append("%s, %d MB" % (" + ".join(cpu) or "0 CPU", cell.memory))
        if len(set(parts)) == 1:
            text = "%d NUMA cell%s of %s" % (len(cells), "s" if len(cells) > 1 else "", parts[0])
        else:
            text = "NUMA cells " + "; ".join("%d: %s" % (i, p) for i, p in enumerate(parts))
        extra = []
        page = cells[0].pagesize if cells else None
        if page:
            extra.append(page_text(page) + " pages")
        if cells and cells[0].cpu_thread_policy:
            extra.append("thread policy " + cells[0].cpu_thread_policy)
        if self.emulator_threads_isolated:
            extra.append("+1 pCPU for emulator threads (isolate)")
        return text + (" (%s)" % ", ".join(extra) if extra else "")


def page_text(pagesize):
    return {MEMPAGES_SMALL: "small", MEMPAGES_LARGE: "large", MEMPAGES_ANY: "any"}.get(pagesize, "%s kB" % pagesize)


def _pagesize_constraint(flavor_value, image_value):
    """_get_numa_pagesize_constraint."""
    def parse(request):
        if request == "any":
            return MEMPAGES_ANY
        if request == "large":
            return MEMPAGES_LARGE
        if request == "small":
            return MEMPAGES_SMALL
        if request.isdigit():
            return int(request)
        try:
            return string_to_bytes(request) / 1024.0
        except ValueError:
            raise NumaRequestError("hw:mem_page_size / hw_mem_page_size %r is not small, large, any, a size in kB or "
                                   "a size with a unit such as 2MB (MemoryPageSizeInvalid)" % request) from None

    if not flavor_value and image_value:
        raise NumaRequestError("image property hw_mem_page_size=%s is forbidden: the flavor has no hw:mem_page_size "
                               "(MemoryPageSizeForbidden); set hw:mem_page_size=large or any on the flavor"
                               % image_value)
    if not flavor_value:
        return None
    pagesize = parse(flavor_value)
    if image_value and pagesize in (MEMPAGES_ANY, MEMPAGES_LARGE):
        return parse(image_value)
    if image_value:
        raise NumaRequestError("image property hw_mem_page_size=%s conflicts with the flavor's hw:mem_page_size=%s "
                               "(MemoryPageSizeForbidden: the image may choose only when the flavor says large or any)"
                               % (image_value, flavor_value))
    return pagesize


def _flavor_map(specs, key, func):
    out = []
    for cell in range(NUMA_NODES_MAX):
        prop = "%s.%d" % (key, cell)
        if prop not in specs:
            break
        out.append(func(specs[prop], prop))
    return out or None


def _int_spec(value, what):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NumaRequestError("%s=%r is not an integer (MB)" % (what, value)) from None


def constraints(flavor, props=None):
    """numa_get_constraints: the guest NUMA :class:`Topology` of ``flavor`` + image, or None.

    ``flavor``: ``vcpus``, ``ram`` (MB), ``extra_specs``; ``props``: the image properties
    (raw, as Glance stores them). Raises :class:`NumaRequestError` where Nova's API does.
    """
    specs = {str(k): str(v) for k, v in (flavor.get("extra_specs") or {}).items()}
    vcpus = int(flavor.get("vcpus") or 0)
    memory_mb = int(flavor.get("ram", flavor.get("memory_mb", 0)) or 0)
    image = image_props(props)

    # get_cpu_policy_constraint
    f_pol, i_pol = specs.get("hw:cpu_policy"), image.get("hw_cpu_policy")
    if f_pol and f_pol not in CPU_POLICIES:
        raise NumaRequestError("hw:cpu_policy=%r is not one of %s (InvalidCPUAllocationPolicy)"
                               % (f_pol, ", ".join(CPU_POLICIES)))
    if f_pol == "dedicated":
        cpu_policy = f_pol
    elif f_pol == "mixed":
        if i_pol == "dedicated":
            raise NumaRequestError("image property hw_cpu_policy=dedicated conflicts with the flavor's "
                                   "hw:cpu_policy=mixed (ImageCPUPinningForbidden)")
        cpu_policy = f_pol
    elif f_pol == "shared":
        if i_pol in ("mixed", "dedicated"):
            raise NumaRequestError("image property hw_cpu_policy=%s conflicts with the flavor's hw:cpu_policy=shared "
                                   "(ImageCPUPinningForbidden)" % i_pol)
        cpu_policy = f_pol
    elif i_pol in CPU_POLICIES:
        cpu_policy = i_pol
    else:
        cpu_policy = None

    # get_cpu_thread_policy_constraint
    f_thr, i_thr = specs.get("hw:cpu_thread_policy"), image.get("hw_cpu_thread_policy")
    if f_thr and f_thr not in THREAD_POLICIES:
        raise NumaRequestError("hw:cpu_thread_policy=%r is not one of %s (InvalidCPUThreadAllocationPolicy)"
                               % (f_thr, ", ".join(THREAD_POLICIES)))
    if f_thr in (None, "prefer"):
        thread_policy = f_thr or i_thr
    elif i_thr and i_thr != f_thr:
        raise NumaRequestError("image property hw_cpu_thread_policy=%s conflicts with the flavor's "
                               "hw:cpu_thread_policy=%s (ImageCPUThreadPolicyForbidden)" % (i_thr, f_thr))
    else:
        thread_policy = f_thr

    emu = specs.get("hw:emulator_threads_policy") or None
    # get_realtime_cpu_constraint (needs the emulator policy first: Nova validates it there too)
    realtime = None
    if bool_from_string(specs.get("hw:cpu_realtime", False)):
        mask = image.get("hw_cpu_realtime_mask") or specs.get("hw:cpu_realtime_mask")
        all_cpus = set(range(vcpus))
        if mask:
            spec = ("0-%d,%s" % (vcpus - 1, mask)) if mask.strip().startswith("^") else mask
            realtime = parse_cpu_spec(spec, "hw:cpu_realtime_mask")
        else:
            realtime = set(all_cpus)
        if not realtime:
            raise NumaRequestError("hw:cpu_realtime_mask leaves no realtime vCPU (RealtimeMaskNotFoundOrInvalid)")
        if emu and emu not in EMULATOR_POLICIES:
            raise NumaRequestError("hw:emulator_threads_policy=%r is not one of share, isolate "
                                   "(InvalidEmulatorThreadsPolicy)" % emu)
        if all_cpus == realtime and not emu:
            raise NumaRequestError("hw:cpu_realtime needs hw:cpu_realtime_mask to leave at least one vCPU "
                                   "non-realtime, or hw:emulator_threads_policy (RealtimeMaskNotFoundOrInvalid)")
        if not realtime <= all_cpus:
            raise NumaRequestError("hw:cpu_realtime_mask names vCPUs the flavor does not have "
                                   "(RealtimeMaskNotFoundOrInvalid)")

    # get_dedicated_cpu_constraint
    dedicated = None
    mask = specs.get("hw:cpu_dedicated_mask")
    if mask:
        spec = ("0-%d,%s" % (vcpus - 1, mask)) if mask.strip().startswith("^") else mask
        dedicated = parse_cpu_spec(spec, "hw:cpu_dedicated_mask")
        all_cpus = set(range(vcpus))
        if not dedicated or not (all_cpus - dedicated):
            raise NumaRequestError("hw:cpu_dedicated_mask=%r must leave at least one dedicated and one shared vCPU "
                                   "(InvalidMixedInstanceDedicatedMask)" % mask)
        if not dedicated <= all_cpus:
            raise NumaRequestError("hw:cpu_dedicated_mask=%r names vCPUs the flavor (%d vCPU) does not have "
                                   "(InvalidMixedInstanceDedicatedMask)" % (mask, vcpus))

    # get_emulator_thread_policy_constraint
    if emu and emu not in EMULATOR_POLICIES:
        raise NumaRequestError("hw:emulator_threads_policy=%r is not one of share, isolate "
                               "(InvalidEmulatorThreadsPolicy)" % emu)

    req_vcpu = req_pcpu = 0
    for key, val in specs.items():
        if _VCPU_RE.match(key):
            try:
                req_vcpu += int(val)
            except ValueError:
                pass
        if _PCPU_RE.match(key):
            try:
                req_pcpu += int(val)
            except ValueError:
                pass
    if cpu_policy and (req_vcpu or req_pcpu):
        raise NumaRequestError("resources:VCPU / resources:PCPU cannot be combined with hw:cpu_policy or "
                               "hw_cpu_policy; use one or the other (InvalidRequest)")
    if req_vcpu and req_pcpu:
        raise NumaRequestError("resources:VCPU and resources:PCPU cannot both be given (InvalidRequest)")
    if req_pcpu:
        if emu == "isolate" and vcpus + 1 != req_pcpu:
            raise NumaRequestError("hw:emulator_threads_policy=isolate with resources:PCPU needs exactly vcpus + 1 = "
                                   "%d PCPU, got %d (InvalidRequest)" % (vcpus + 1, req_pcpu))
        if emu != "isolate" and vcpus != req_pcpu:
            raise NumaRequestError("resources:PCPU=%d must equal the flavor's %d vCPU (InvalidRequest)"
                                   % (req_pcpu, vcpus))
        cpu_policy = "dedicated"
    if req_vcpu:
        cpu_policy = "shared"

    ht_trait = None
    for key, val in specs.items():
        if _HT_RE.match(key):
            ht_trait = val
            break
    if ht_trait is None and "HW_CPU_HYPERTHREADING" in (image.get("traits_required") or []):
        ht_trait = "required"
    if thread_policy and ht_trait:
        raise NumaRequestError("trait:HW_CPU_HYPERTHREADING cannot be combined with hw:cpu_thread_policy or "
                               "hw_cpu_thread_policy; use one or the other (InvalidRequest)")
    if ht_trait == "forbidden":
        thread_policy = "isolate"
    elif ht_trait == "required":
        thread_policy = "require"

    if cpu_policy in ("shared", None):
        if thread_policy:
            raise NumaRequestError("a CPU thread policy (hw:cpu_thread_policy=%s) needs hw:cpu_policy=dedicated or "
                                   "mixed (CPUThreadPolicyConfigurationInvalid)" % thread_policy)
        if emu == "isolate":
            raise NumaRequestError("hw:emulator_threads_policy=isolate needs hw:cpu_policy=dedicated or mixed "
                                   "(BadRequirementEmulatorThreadsPolicy)")
        if dedicated:
            raise NumaRequestError("hw:cpu_dedicated_mask needs hw:cpu_policy=mixed (RequiredMixedInstancePolicy)")
        if realtime:
            raise NumaRequestError("hw:cpu_realtime needs hw:cpu_policy=dedicated or mixed "
                                   "(RealtimeConfigurationInvalid)")
    elif cpu_policy == "dedicated":
        if dedicated:
            raise NumaRequestError("hw:cpu_dedicated_mask needs hw:cpu_policy=mixed, not dedicated "
                                   "(RequiredMixedInstancePolicy)")
    else:
        if realtime and dedicated:
            raise NumaRequestError("hw:cpu_policy=mixed takes its dedicated vCPUs from hw:cpu_dedicated_mask or "
                                   "hw:cpu_realtime_mask, not both (RequiredMixedOrRealtimeCPUMask)")
        if not (realtime or dedicated):
            raise NumaRequestError("hw:cpu_policy=mixed needs hw:cpu_dedicated_mask (or hw:cpu_realtime with "
                                   "hw:cpu_realtime_mask) (RequiredMixedOrRealtimeCPUMask)")
        dedicated = dedicated or realtime

    # _get_numa_node_count_constraint
    f_nodes, i_nodes = specs.get("hw:numa_nodes"), image.get("hw_numa_nodes")
    if f_nodes and i_nodes:
        raise NumaRequestError("hw:numa_nodes is set on the flavor and hw_numa_nodes on the image; the image may not "
                               "override the flavor (ImageNUMATopologyForbidden)")
    nodes = f_nodes or i_nodes
    if nodes is not None and (not _is_int_like(nodes) or int(nodes) < 1):
        raise NumaRequestError("hw:numa_nodes=%r must be a whole number of at least 1 (InvalidNUMANodesNumber)"
                               % (nodes,))
    nodes = int(nodes) if nodes else nodes

    pagesize = _pagesize_constraint(specs.get("hw:mem_page_size"), image.get("hw_mem_page_size"))
    vpmems = [x.strip() for x in (specs.get("hw:pmem") or "").split(",") if x.strip()]

    # get_locked_memory_constraint (memory encryption is not modelled)
    locked = specs.get("hw:locked_memory")
    i_locked = image.get("hw_locked_memory")
    if locked is not None:
        locked = bool_from_string(locked)
        if i_locked is not None and locked != i_locked:
            raise NumaRequestError("hw:locked_memory=%s conflicts with image property hw_locked_memory=%s "
                                   "(FlavorImageLockedMemoryConflict)" % (locked, i_locked))
    else:
        locked = i_locked
    if locked and not (specs.get("hw:mem_page_size") or image.get("hw_mem_page_size")):
        raise NumaRequestError("locked memory (hw:locked_memory) needs hw:mem_page_size (LockMemoryForbidden)")

    dedicated = dedicated or set()
    if cpu_policy == "dedicated":
        dedicated = set(range(vcpus))
    if not (nodes or pagesize or vpmems or cpu_policy in _PIN):
        return None
    cpus = set(range(vcpus))
    pcpus = dedicated
    shared = cpus - pcpus
    nodes = nodes or 1
    cpu_list = _flavor_map(specs, "hw:numa_cpus", parse_cpu_spec)
    if cpu_list is None:
        cpu_list = image.get("hw_numa_cpus")
    elif image.get("hw_numa_cpus") is not None:
        raise NumaRequestError("hw:numa_cpus.N on the flavor and hw_numa_cpus.N on the image "
                               "(ImageNUMATopologyForbidden)")
    mem_list = _flavor_map(specs, "hw:numa_mem", _int_spec)
    if mem_list is None:
        mem_list = image.get("hw_numa_mem")
    elif image.get("hw_numa_mem") is not None:
        raise NumaRequestError("hw:numa_mem.N on the flavor and hw_numa_mem.N on the image "
                               "(ImageNUMATopologyForbidden)")
    cells = []
    if cpu_list is None and mem_list is None:
        if vcpus % nodes or memory_mb % nodes:
            raise NumaRequestError("hw:numa_nodes=%d does not divide the flavor's %d vCPU and %d MB evenly; give "
                                   "hw:numa_cpus.N and hw:numa_mem.N (ImageNUMATopologyAsymmetric)"
                                   % (nodes, vcpus, memory_mb))
        ncpus, mem = vcpus // nodes, memory_mb // nodes
        for node in range(nodes):
            these = set(range(node * ncpus, node * ncpus + ncpus))
            cells.append(InstanceCell(node, these & shared, these & pcpus, mem))
    elif cpu_list is not None and mem_list is not None:
        if len(cpu_list) != nodes or len(mem_list) != nodes:
            raise NumaRequestError("hw:numa_cpus.N and hw:numa_mem.N must be given for each of the %d NUMA node(s), "
                                   "got %d and %d (ImageNUMATopologyIncomplete)" % (nodes, len(cpu_list),
                                                                                    len(mem_list)))
        available = set(range(vcpus))
        total = 0
        for node in range(nodes):
            for cpu in cpu_list[node]:
                if cpu > vcpus - 1:
                    raise NumaRequestError("hw:numa_cpus.%d names vCPU %d, the flavor's last is %d "
                                           "(ImageNUMATopologyCPUOutOfRange)" % (node, cpu, vcpus - 1))
                if cpu not in available:
                    raise NumaRequestError("hw:numa_cpus.%d names vCPU %d twice (ImageNUMATopologyCPUDuplicates)"
                                           % (node, cpu))
                available.remove(cpu)
            cells.append(InstanceCell(node, cpu_list[node] & shared, cpu_list[node] & pcpus, mem_list[node]))
            total += mem_list[node]
        if available:
            raise NumaRequestError("hw:numa_cpus.N leave vCPU(s) %s in no NUMA node (ImageNUMATopologyCPUsUnassigned)"
                                   % _cpuset.format_cpu_set(available))
        if total != memory_mb:
            raise NumaRequestError("hw:numa_mem.N sum to %d MB, the flavor has %d MB "
                                   "(ImageNUMATopologyMemoryOutOfRange)" % (total, memory_mb))
    else:
        raise NumaRequestError("hw:numa_cpus.N and hw:numa_mem.N must be given together "
                               "(ImageNUMATopologyIncomplete)")
    # InstanceNUMACell.pagesize is an IntegerField: Nova stores int(pagesize)
    page = int(pagesize) if pagesize is not None else None
    for cell in cells:
        cell.pagesize = page
        cell.cpu_policy = cpu_policy
        cell.cpu_thread_policy = thread_policy
    return Topology(cells, emu)


# ------------------------------------------------------------------ host cells

# Set iteration order decides which of a core's threads Nova pins first (``list(s)[:n]``).
# Nova's objects rebuild a set each time a set field is assigned (oslo.versionedobjects
# CoercedSet: element by element into a new set, then merged into an empty one); doing
# the same operations here gives the same hash-table layouts, so the same pinning.

def _plain(values):
    """Element by element into a new set (an iterator, not a set: set() then inserts one by one)."""
    return set(iter(values))


def _co(values):
    """A set field assignment of Nova's objects (same table layout as CoercedSet)."""
    out = set()
    out.update(_plain(values))
    return out


class HostCell:
    """objects.NUMACell from the snapshot's hosts[].numa.cells[]."""

    __slots__ = ("id", "cpuset", "pcpuset", "siblings", "memory", "memory_usage", "cpu_usage", "pinned", "mempages",
                 "socket")

    def __init__(self, cell_id, cpuset, pcpuset, siblings, memory, memory_usage, cpu_usage, pinned, mempages,
                 socket=None):
        self.id = cell_id
        self.cpuset = cpuset
        self.pcpuset = pcpuset
        self.siblings = siblings
        self.memory = memory
        self.memory_usage = memory_usage
        self.cpu_usage = cpu_usage
        self.pinned = pinned
        self.mempages = mempages  # [[size_kb, total, used, reserved], ...]
        self.socket = socket

    @property
    def free_pcpus(self):
        return self.pcpuset - self.pinned or set()

    @property
    def free_siblings(self):
        free = self.free_pcpus
        return [sib & free for sib in self.siblings]

    @property
    def avail_pcpus(self):
        return len(self.free_pcpus)

    @property
    def avail_memory(self):
        return self.memory - self.memory_usage

    @property
    def has_threads(self):
        return any(len(sib) > 1 for sib in self.siblings)

    def copy(self):
        """A new NUMACell built from this one's fields (as numa_usage_from_instance_numa builds it)."""
        return HostCell(self.id, _co(self.cpuset), _co(self.pcpuset), [_co(s) for s in self.siblings], self.memory,
                        self.memory_usage, self.cpu_usage, _co(self.pinned), [list(p) for p in self.mempages],
                        self.socket)

    def pin(self, cpus):
        """NUMACell.pin_cpus: ``pinned_cpus |= cpus``, then the field assignment."""
        pinned = self.pinned
        pinned |= _plain(cpus)
        self.pinned = _co(pinned)

    def page(self, size):
        for pages in self.mempages:
            if pages[0] == size:
                return pages
        return None


class PageSizeNotSupported(Exception):
    pass


def _free_pages(pages):
    return pages[1] - pages[2] - pages[3]


def can_fit_pagesize(cell, pagesize, memory_kb, use_free=True):
    """NUMACell.can_fit_pagesize."""
    for pages in cell.mempages:
        avail = _free_pages(pages) * pages[0] if use_free else pages[1] * pages[0]
        if pages[0] == pagesize:
            return memory_kb <= avail and memory_kb % pages[0] == 0
    raise PageSizeNotSupported(pagesize)


def host_cells(numa):
    """[HostCell] from a snapshot ``numa`` mapping (raises ValueError naming the bad field)."""
    cells = []
    for i, raw in enumerate(numa.get("cells") or []):
        if not isinstance(raw, dict):
            raise ValueError("numa.cells[%d] must be a mapping" % i)
        try:
            pages = [[int(p.get("size_kb")), int(p.get("total") or 0), int(p.get("used") or 0),
                      int(p.get("reserved") or 0)] for p in raw.get("mempages") or []]
            cells.append(HostCell(
                int(raw.get("id", i)), _co(set(int(c) for c in raw.get("cpuset") or [])),
                _co(set(int(c) for c in raw.get("pcpuset") or [])),
                [_co(set(int(c) for c in s)) for s in raw.get("siblings") or []],
                int(raw.get("memory") or 0), int(raw.get("memory_usage") or 0), int(raw.get("cpu_usage") or 0),
                _co(set(int(c) for c in raw.get("pinned_cpus") or [])), pages, raw.get("socket")))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError("numa.cells[%d]: %s" % (i, exc)) from None
    return cells


def state(host_raw):
    """(cells or None, unknown reason or None) for a snapshot host."""
    numa = host_raw.get("numa") if isinstance(host_raw, dict) else None
    if numa is None:
        return None, ("the snapshot has no NUMA data for this host (hosts[].numa): the compute-node facts "
                      "(stackops.nova.compute_facts) or Nova's compute_nodes.numa_topology would decide it")
    if not isinstance(numa, dict):
        return None, "hosts[].numa is not a mapping"
    if numa.get("unknown"):
        return None, "host NUMA state unknown: %s" % numa["unknown"]
    try:
        return host_cells(numa), None
    except ValueError as exc:
        return None, "hosts[].numa is malformed (%s)" % exc


# ------------------------------------------------------------------ fitting one cell

def _pagesize_for(cell, inst):
    """_numa_cell_supports_pagesize_request: the page size the cell can give, or None."""
    sizes = sorted((p[0] for p in cell.mempages), reverse=True)
    memory_kb = inst.memory * 1024
    if inst.pagesize == MEMPAGES_SMALL:
        sizes = sizes[-1:]
    elif inst.pagesize == MEMPAGES_LARGE:
        sizes = sizes[:-1]
    elif inst.pagesize == MEMPAGES_ANY:
        pass
    else:
        sizes = [inst.pagesize]
    for size in sizes:
        if can_fit_pagesize(cell, size, memory_kb):
            return size
    return None


def _pages_text(cell, inst):
    """The shortfall of a page size request on this cell, for the explanation."""
    sizes = sorted((p[0] for p in cell.mempages), reverse=True)
    if inst.pagesize == MEMPAGES_SMALL:
        sizes = sizes[-1:]
    elif inst.pagesize == MEMPAGES_LARGE:
        sizes = sizes[:-1]
    elif inst.pagesize != MEMPAGES_ANY:
        sizes = [inst.pagesize]
    if not sizes:
        has = "no huge pages" if cell.mempages else "no page sizes reported"
        return "%s pages: the cell has %s" % (page_text(inst.pagesize), has)
    memory_kb = inst.memory * 1024
    parts = []
    for size in sizes:
        pages = cell.page(size)
        if pages is None:
            parts.append("%d kB pages: none on this cell" % size)
            continue
        need = memory_kb / float(size)
        if memory_kb % size:
            parts.append("%d kB pages: %d MB is not a whole number of them" % (size, inst.memory))
        else:
            parts.append("%d kB pages: needs %d, %d free" % (size, int(need), _free_pages(pages)))
    return "; ".join(parts)


def _fit_cell(cell, inst, limits, reserved, why):
    """_numa_fit_instance_cell: ``inst`` (mutated as Nova mutates it) or None; ``why`` gets the reason."""
    if inst.pagesize:
        try:
            size = _pagesize_for(cell, inst)
        except PageSizeNotSupported:
            why.append(_pages_text(cell, inst))
            raise
        if not size:
            why.append(_pages_text(cell, inst))
            return None
        inst.pagesize = size
    elif cell.mempages:
        size = min(p[0] for p in cell.mempages)
        use_free = inst.cpu_policy in _PIN
        if not can_fit_pagesize(cell, size, inst.memory * 1024, use_free=use_free):
            pages = cell.page(size)
            if use_free:
                why.append("memory: needs %d MB, %d MB free in %d kB pages (pinned guests cannot overcommit)"
                           % (inst.memory, _free_pages(pages) * size // 1024, size))
            else:
                why.append("memory: needs %d MB, the cell has %d MB in %d kB pages"
                           % (inst.memory, pages[1] * size // 1024, size))
            return None
    else:
        if inst.cpu_policy in _PIN:
            if cell.avail_memory < inst.memory:
                why.append("memory: needs %d MB, %d MB free (pinned guests cannot overcommit)"
                           % (inst.memory, cell.avail_memory))
                return None
        elif cell.memory < inst.memory:
            why.append("memory: needs %d MB, the cell has %d MB" % (inst.memory, cell.memory))
            return None
    if inst.cpu_policy in _PIN:
        need = len(inst.pcpuset) + reserved
        if need > len(cell.pcpuset):
            why.append("needs %d pCPU%s, the cell has %d dedicated (cpu_dedicated_set)"
                       % (need, " (1 for emulator threads)" if reserved else "", len(cell.pcpuset)))
            return None
    if inst.cpu_policy in _SHARED:
        if len(inst.cpuset) > len(cell.cpuset):
            why.append("needs %d shared CPUs, the cell has %d (cpu_shared_set)"
                       % (len(inst.cpuset), len(cell.cpuset)))
            return None
    if inst.cpu_policy in _PIN:
        need = len(inst.pcpuset) + reserved
        if need > cell.avail_pcpus:
            why.append("needs %d pCPU%s, %d free" % (need, " (1 for emulator threads)" if reserved else "",
                                                     cell.avail_pcpus))
            return None
        fitted = _pack(cell, inst, reserved)
        if not fitted:
            why.append(_pack_text(cell, inst, reserved))
            return None
        inst = fitted
    if inst.cpu_policy in _SHARED and limits:
        cpu_ratio, ram_ratio = limits
        usage = cell.cpu_usage + len(inst.cpuset)
        limit = len(cell.cpuset) * cpu_ratio
        if usage > limit:
            why.append("shared CPUs: %d used + %d > limit %d x %g = %g" % (cell.cpu_usage, len(inst.cpuset),
                                                                           len(cell.cpuset), cpu_ratio, limit))
            return None
        usage = cell.memory_usage + inst.memory
        limit = cell.memory * ram_ratio
        if usage > limit:
            why.append("memory: %d MB used + %d > limit %d x %g = %g" % (cell.memory_usage, inst.memory,
                                                                         cell.memory, ram_ratio, limit))
            return None
    inst.id = cell.id
    return inst


def _pack_text(cell, inst, reserved):
    policy = inst.cpu_thread_policy
    need = len(inst.pcpuset) + reserved
    free = cell.free_siblings
    threads = max((len(s) for s in cell.siblings), default=1) or 1
    whole = sum(1 for s in free if threads > 1 and len(s) == threads)
    if policy == "isolate":
        return ("thread policy isolate: needs %d free whole core(s), %d free (%d pCPU free in part-used cores)"
                % (need, whole if threads > 1 else cell.avail_pcpus, cell.avail_pcpus))
    if policy == "require":
        if threads <= 1:
            return "thread policy require: the cell has no SMT thread siblings"
        return "thread policy require: %d pCPU needed on sibling threads, %d free sibling pairs" % (
            need, sum(1 for s in free if len(s) > 1))
    return "needs %d pCPU, %d free, but they cannot be packed onto the cell's cores" % (need, cell.avail_pcpus)


def _pack(cell, inst, reserved):
    """_pack_instance_onto_cores (same iteration order, so the same pinning)."""
    if not cell.siblings:
        raise NovaRaises("host NUMA cell %s has pCPUs but no thread siblings list: Nova's _pack_instance_onto_cores "
                         "raises ValueError (max() of an empty sequence)" % cell.id)
    threads_per_core = max(map(len, cell.siblings)) or 1
    sibling_sets = collections.defaultdict(list)
    for sib in cell.free_siblings:
        for threads_no in range(1, len(sib) + 1):
            sibling_sets[threads_no].append(sib)
    pinning = None
    reserved_set = None
    threads_no = 1

    def get_pinning(threads_no, sibling_set, cores):
        if threads_no * len(sibling_set) < len(cores):
            return None
        usable = [list(s)[:threads_no] for s in sibling_set]
        return list(zip(sorted(cores), itertools.chain(*usable)))

    def get_reserved(sibling_set, pins, isolate=False):
        if not pins or not reserved:
            return None  # Nova builds its lists and returns None as well
        out = None
        usable = [list(s) for s in sibling_set]
        if reserved:
            for _vcpu, pcpu in pins:
                for sib in usable:
                    if pcpu in sib:
                        if isolate:
                            usable.remove(sib)
                        else:
                            sib.remove(pcpu)
            out = set(list(itertools.chain(*usable))[:reserved])
        return out or None

    policy = inst.cpu_thread_policy
    if policy == "isolate":
        if threads_per_core not in sibling_sets:
            return None
        if threads_per_core != 1 and cell.pcpuset != cell.cpuset:
            return None  # bug #1889633: new-style hosts with SMT never fit isolate here
        pinning = get_pinning(1, sibling_sets[threads_per_core], inst.pcpuset)
        reserved_set = get_reserved(sibling_sets[1], pinning, isolate=True)
        if not pinning or (reserved and not reserved_set):
            pinning, reserved_set = None, None
    else:
        if policy == "require" and threads_per_core <= 1:
            return None
        for threads_no, sibling_set in sorted(sibling_sets.items(), reverse=True):
            if policy == "require" and threads_no <= 1:
                continue
            pinning = get_pinning(threads_no, sibling_set, inst.pcpuset)
            reserved_set = get_reserved(sibling_sets[1], pinning)
            if pinning is None or (reserved and not reserved_set):
                continue
            break
        if policy != "require" and not pinning:
            singles = [set([x]) for x in itertools.chain(*sibling_sets[1])]
            pinning = get_pinning(threads_no, singles, inst.pcpuset)
            reserved_set = get_reserved(singles, pinning)
    if pinning is None or (reserved and not reserved_set):
        return None
    pins = dict(inst.pinning or {})
    for vcpu, pcpu in pinning:
        if vcpu in inst.pcpuset:
            pins[vcpu] = pcpu
    inst.pinning = pins
    inst.id = cell.id
    inst.cpuset_reserved = _co(reserved_set) if reserved_set is not None else None
    return inst


# ------------------------------------------------------------------ fitting the guest

def order_cells(cells, topology, pack=False, pci_pools=None, pci_requested=False):
    """The host cells in the order Nova tries them (numa_fit_instance_to_host's sorting)."""
    if len(cells) <= len(topology.cells):
        return list(cells)
    ordered = sorted(cells, reverse=not pack, key=lambda c: c.avail_memory)
    if topology.cells[0].cpu_policy in (None, "shared"):
        ordered = sorted(ordered, reverse=pack, key=lambda c: c.cpu_usage)
    else:
        ordered = sorted(ordered, reverse=not pack, key=lambda c: len(c.free_pcpus))
    # HostState.pci_stats is always set, so Nova always sorts by the cells' free PCI devices
    per_cell = {}
    for pool in pci_pools or ():
        node = pool.get("numa_node")
        per_cell[node] = per_cell.get(node, 0) + int(pool.get("count") or 0)
    if pci_requested:
        ordered = sorted(ordered, reverse=True, key=lambda c: per_cell.get(c.id, 0))
    else:
        ordered = sorted(ordered, key=lambda c: per_cell.get(c.id, 0))
    return ordered


class Fit:
    """The outcome of :func:`fit`: ``cells`` (fitted guest cells, or None) and the reasons."""

    __slots__ = ("cells", "reasons", "order", "topology", "note")

    def __init__(self, cells, reasons, order, topology, note=None):
        self.cells = cells
        self.reasons = reasons  # {host cell id: [(guest cell index, reason)]}
        self.order = order
        self.topology = topology
        self.note = note

    @property
    def fits(self):
        return self.cells is not None

    def host_cell_ids(self):
        return [c.id for c in self.cells] if self.cells is not None else None


def fit(cells, topology, limits=None, pack=False, pci_pools=None, pci_requested=False, pci_check=None):
    """numa_fit_instance_to_host on host ``cells`` (not changed) for guest ``topology`` (not changed).

    ``limits``: (cpu_allocation_ratio, ram_allocation_ratio) or None. Returns a :class:`Fit`.
    ``pci_check``: None (PCI requests not matched; only their effect on the cell order) or a
    callable(fitted guest cells) -> bool, Nova's ``pci_stats.support_requests`` on the candidate
    cells (explain/numa_pci.py builds it).
    """
    topology = topology.copy()  # Nova's filter clones the request: the mutations stay in this call
    reasons = {}
    if not cells or not topology.cells:
        return Fit(None, reasons, [], topology, "no host NUMA topology")
    if len(cells) < len(topology.cells):
        return Fit(None, reasons, [], topology, "the guest asks %d NUMA cells, the host has %d" % (
            len(topology.cells), len(cells)))
    ordered = order_cells(cells, topology, pack, pci_pools, pci_requested)
    isolated = topology.emulator_threads_isolated
    not_fit = set()
    fit_cache = set()
    n = len(topology.cells)
    for perm in itertools.permutations(ordered, n):
        chosen = []
        for cell, inst in zip(perm, topology.cells):
            pair = (cell.id, inst.id)
            if pair in not_fit:
                break
            if pair in fit_cache:
                inst.id = cell.id
                chosen.append(inst)
                continue
            reserved = 1 if isolated and not chosen else 0
            why = []
            try:
                got = _fit_cell(cell, inst, limits, reserved, why)
            except PageSizeNotSupported:
                got = None
            index = topology.cells.index(inst)
            if got is None:
                not_fit.add(pair)
                reasons.setdefault(cell.id, []).append((index, why[0] if why else "does not fit"))
                break
            chosen.append(got)
            fit_cache.add(pair)
        if len(chosen) != n:
            continue
        if pci_check is not None and not pci_check(chosen):
            continue
        return Fit([c.copy() for c in chosen], reasons, ordered, topology)
    return Fit(None, reasons, ordered, topology)


def explain_fit(cells, result, topology):
    """Per host cell lines: '- cell 1: needs 8 pCPU, 5 free; ...' for a failed fit."""
    lines = []
    for cell in cells:
        found = result.reasons.get(cell.id)
        if found:
            seen = []
            for index, reason in found:
                text = reason if len(topology.cells) == 1 else "guest cell %d: %s" % (index, reason)
                if text not in seen:
                    seen.append(text)
            if topology.cpu_policy in _PIN and not any("pCPU" in t for t in seen):
                # Nova stops at the first check that fails; name the pCPU shortfall too
                need = max(len(c.pcpuset) for c in topology.cells)
                if need > cell.avail_pcpus:
                    seen.append("needs %d pCPU, %d free" % (need, cell.avail_pcpus))
            lines.append("cell %s: %s" % (cell.id, "; ".join(seen[:3])))
        else:
            lines.append("cell %s: %s" % (cell.id, cell_summary(cell, topology)))
    return lines


def cell_summary(cell, topology):
    """What a host cell has free, in the terms the guest asks."""
    parts = []
    if topology.cpu_policy in _PIN:
        parts.append("%d pCPU free" % cell.avail_pcpus)
    else:
        parts.append("%d shared CPUs" % len(cell.cpuset))
    parts.append("%d MB free" % cell.avail_memory)
    page = topology.cells[0].pagesize if topology.cells else None
    if page and page > 0:
        pages = cell.page(page)
        parts.append("%d kB pages: %d free" % (page, _free_pages(pages) if pages else 0))
    return "fits a guest cell alone (%s)" % ", ".join(parts)


# ------------------------------------------------------------------ consumption

def consume(cells, fitted):
    """numa_usage_from_instance_numa: new host cells after the fitted guest ``fitted`` lands."""
    out = []
    for cell in cells:
        new = cell.copy()
        new.cpu_usage = 0
        new.memory_usage = 0
        memory_usage = cell.memory_usage
        shared = cell.cpu_usage
        for inst in fitted:
            if inst.id != cell.id:
                continue
            size = inst.pagesize if inst.pagesize else (min(p[0] for p in new.mempages) if new.mempages else None)
            if size is not None:
                for pages in new.mempages:
                    if pages[0] == size:
                        pages[2] = int(max(0, pages[2] + inst.memory * 1024 / pages[0]))
            memory_usage += inst.memory
            shared += len(inst.cpuset)
            if inst.cpu_policy in (None, "shared"):
                continue
            pinned = set(inst.pinning.values()) if inst.pinning else set()
            if inst.cpuset_reserved:
                pinned |= inst.cpuset_reserved
            if inst.cpu_thread_policy == "isolate":
                with_siblings = set()
                for sib in new.siblings:
                    if pinned & sib:
                        with_siblings.update(sib)
                pinned = with_siblings
            new.pin(pinned)
        new.memory_usage = max(0, memory_usage)
        new.cpu_usage = max(0, shared)
        out.append(new)
    return out


def max_instances(cells, topology, limits=None, pack=False, pci_pools=None, upto=1000):
    """How many guests of ``topology`` fit one after the other on host ``cells`` (at most ``upto``)."""
    count = 0
    while count < upto:
        result = fit(cells, topology, limits, pack, pci_pools)
        if not result.fits:
            break
        cells = consume(cells, result.cells)
        count += 1
    return count
