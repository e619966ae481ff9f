# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Placement capacity arithmetic and flavor -> resource request translation.

Private library code over plain data (no Ansible, no SDK imports), shared by
hypervisor_info, the explain engine (placement stage, headroom, HostState figures) and the
filters: the one place where capacity is computed from inventories and usages.

Placement's rule, for one resource class of one provider, is
``used + amount <= (total - reserved) * allocation_ratio`` together with
``min_unit <= amount <= max_unit`` and ``amount % step_size == 0``.
Amounts are integers, so comparing against ``floor(capacity)`` is exact.
"""

from __future__ import annotations

import math
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import cpuset as _cpuset

STANDARD_CLASSES = ("VCPU", "PCPU", "MEMORY_MB", "DISK_GB")

INVENTORY_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")

_RC_RE = re.compile(r"^(?:VCPU|PCPU|MEMORY_MB|DISK_GB|[A-Z][A-Z0-9_]*)$")
# resources[$S]:$RC and trait[$S]:$TRAIT, as nova's ResourceRequest.XS_KEYPAT
_XS_KEY_RE = re.compile(r"^(resources|trait)([1-9][0-9]*|[a-zA-Z0-9_-]{1,64})?:(.*)$")


class CapacityError(ValueError):
    """Bad inventory, flavor or request data; the message names the field."""


def _number(value, what, integer=True):
    if isinstance(value, bool):
        raise CapacityError("%s must be a number, got %r" % (what, value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CapacityError("%s must be a number, got %r" % (what, value)) from None
    if math.isnan(number) or math.isinf(number):
        raise CapacityError("%s must be a finite number, got %r" % (what, value))
    if integer:
        if number != int(number):
            raise CapacityError("%s must be a whole number, got %r" % (what, value))
        return int(number)
    return number


def capacity(total, reserved, allocation_ratio):
    """Usable capacity as placement computes it, floored to a whole amount.

    ``(total - reserved) * allocation_ratio``; negative when reserved exceeds total
    (placement then fits nothing), 0 with a ratio of 0.
    """
    return math.floor((total - reserved) * allocation_ratio)


def resource_view(inventory, used=0):
    """One resource class of one provider: the inventory fields plus used, capacity, free.

    ``inventory`` is a mapping with placement's inventory fields (missing optional ones
    take placement's defaults); ``used`` is the provider's usage of that class.
    """
    if not isinstance(inventory, dict):
        raise CapacityError("inventory must be a mapping, got %r" % (inventory,))
    if "total" not in inventory:
        raise CapacityError("inventory is missing 'total'")
    total = _number(inventory["total"], "total")
    reserved = _number(inventory.get("reserved", 0) or 0, "reserved")
    min_unit = _number(inventory.get("min_unit", 1) or 1, "min_unit")
    max_unit = _number(inventory.get("max_unit", total) if inventory.get("max_unit") is not None else total, "max_unit")
    step_size = _number(inventory.get("step_size", 1) or 1, "step_size")
    ratio = _number(inventory.get("allocation_ratio", 1.0) if inventory.get("allocation_ratio") is not None else 1.0,
                    "allocation_ratio", integer=False)
    if ratio < 0:
        raise CapacityError("allocation_ratio must not be negative, got %r" % (ratio,))
    used = _number(used or 0, "used")
    cap = capacity(total, reserved, ratio)
    return {
        "total": total,
        "reserved": reserved,
        "min_unit": min_unit,
        "max_unit": max_unit,
        "step_size": step_size,
        "allocation_ratio": ratio,
        "used": used,
        "capacity": cap,
        "free": cap - used,
    }


VIEW_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio", "used", "capacity")


def as_view(view):
    """A snapshot's resource entry as a complete view: kept when it has every field, else
    computed by :func:`resource_view` (hand-written snapshots may give only the inventory).
    A usage given as None (placement's usages could not be read) stays None: unknown."""
    if all(k in view for k in VIEW_FIELDS) and view["max_unit"] is not None:
        return view
    result = resource_view(view, view.get("used") or 0)
    if "used" in view and view["used"] is None:
        result["used"] = result["free"] = None
    return result


def usage_known(resources):
    """Are a provider's inventory and usage known (some class, every usage given)?"""
    return bool(resources) and all(view.get("used") is not None for view in resources.values())


def host_state_figures(resources):
    """What Nova's ``HostState.update_from_compute_node`` derives from a node's inventory and
    usage (the attributes the legacy Ram/Core/Disk filters, JsonFilter and the weighers read):
    free amounts without allocation ratios, disk in MB."""
    mem = resources.get("MEMORY_MB") or {}
    disk = resources.get("DISK_GB") or {}
    cpu = resources.get("VCPU") or {}

    def num(view, key):
        value = view.get(key)
        return value if value is not None else 0
    return {
        "total_usable_ram_mb": num(mem, "total"),
        "total_usable_disk_gb": num(disk, "total"),
        "disk_mb_used": (num(disk, "used") + num(disk, "reserved")) * 1024,
        "free_ram_mb": num(mem, "total") - num(mem, "reserved") - num(mem, "used"),
        "free_disk_mb": (num(disk, "total") - num(disk, "reserved") - num(disk, "used")) * 1024,
        "vcpus_total": num(cpu, "total"),
        "vcpus_used": num(cpu, "used"),
        "ram_allocation_ratio": mem.get("allocation_ratio"),
        "cpu_allocation_ratio": cpu.get("allocation_ratio"),
        "disk_allocation_ratio": disk.get("allocation_ratio"),
    }


def provider_resources(inventories, usages):
    """Resource views for every class of a provider from placement's inventories and usages."""
    inventories = inventories or {}
    usages = usages or {}
    result = {}
    for rc in sorted(inventories):
        result[rc] = resource_view(inventories[rc], usages.get(rc, 0))
    return result


def check_amount(view, amount):
    """Does one allocation of ``amount`` fit this resource view right now?

    Returns ``(ok, kind, reason)``: kind is ``None`` when it fits, ``"static"`` when it can
    never fit on this inventory (max_unit, min_unit, step_size, capacity below the amount even
    when empty) and ``"dynamic"`` when it would fit on an emptier provider.
    """
    rc_text = "needs %d" % amount
    if amount > view["max_unit"]:
        return False, "static", "%s; max_unit %d" % (rc_text, view["max_unit"])
    if amount < view["min_unit"]:
        return False, "static", "%s; min_unit %d" % (rc_text, view["min_unit"])
    if view["step_size"] and amount % view["step_size"]:
        return False, "static", "%s; not a multiple of step_size %d" % (rc_text, view["step_size"])
    formula = "capacity (%d-%d)x%s=%d, used %d -> free %d" % (
        view["total"], view["reserved"], _ratio_text(view["allocation_ratio"]), view["capacity"],
        view["used"], view["free"])
    if view["used"] + amount <= view["capacity"]:
        return True, None, "%s; %s" % (rc_text, formula)
    kind = "static" if amount > view["capacity"] else "dynamic"
    return False, kind, "%s; %s" % (rc_text, formula)


def _ratio_text(ratio):
    return ("%g" % ratio) if ratio != int(ratio) else "%.1f" % ratio


def max_allocations(view, amount):
    """How many more allocations of ``amount`` fit in this view (None when amount is 0)."""
    if amount <= 0:
        return None
    if amount > view["max_unit"] or amount < view["min_unit"]:
        return 0
    if view["step_size"] and amount % view["step_size"]:
        return 0
    return max(0, (view["capacity"] - view["used"]) // amount)


def headroom(resources, request):
    """How many more of ``request`` (rc -> amount) fit on a provider with ``resources``.

    Returns ``(count, limited_by)``; ``limited_by`` is the resource class that runs out
    first (``None`` when no class limits). A class the request needs but the provider
    lacks gives 0.
    """
    best = None
    limited_by = None
    for rc in sorted(request):
        amount = request[rc]
        if amount <= 0:
            continue
        view = resources.get(rc)
        count = 0 if view is None else max_allocations(view, amount)
        if count is None:
            continue
        if best is None or count < best:
            best, limited_by = count, rc
    return (best if best is not None else 0), limited_by


def _cpu_mask_count(mask, vcpus, what):
    """Number of dedicated CPUs of a ``hw:cpu_dedicated_mask``, as Nova's
    ``get_dedicated_cpu_constraint`` computes it (``^`` form: all vCPUs but those)."""
    text = str(mask).strip()
    spec = ("0-%d,%s" % (vcpus - 1, text)) if text.startswith("^") else text
    try:
        pcpus = _cpuset.parse_cpu_spec(spec)
    except _cpuset.CpuSpecError as exc:
        raise CapacityError("%s: %s" % (what, exc)) from None
    if not pcpus or len(pcpus & set(range(min(vcpus, _cpuset.MAX_CPU_INDEX + 1)))) >= vcpus:
        raise CapacityError("%s must leave at least one dedicated and one shared vCPU, got %r" % (what, mask))
    if min(pcpus) < 0 or max(pcpus) >= vcpus:
        raise CapacityError("%s names vCPUs the flavor does not have (it has %d), got %r" % (what, vcpus, mask))
    return len(pcpus)


def _flag(value):
    return str(value).strip().lower()


def flavor_request(flavor, image_properties=None, is_bfv=False):
    """Translate a flavor (+ image properties) into the placement request Nova makes.

    ``flavor``: ``vcpus``, ``ram`` (MB), ``disk`` (GB), optional ``ephemeral`` (GB),
    ``swap`` (MB) and ``extra_specs``. Follows ``nova.scheduler.utils.ResourceRequest``:
    ``resources[$S]:RC`` overrides, ``trait[$S]:T=required|forbidden``, image
    ``trait:T=required``, ``hw:cpu_policy`` dedicated/mixed -> PCPU (+1 for
    ``hw:emulator_threads_policy=isolate``), ``hw:cpu_thread_policy`` -> HW_CPU_HYPERTHREADING,
    disk = ephemeral + ceil(swap/1024) + root (root is 0 when booting from a volume).

    Returns ``{"resources": {rc: n}, "required_traits": [...], "forbidden_traits": [...],
    "groups": n_suffixed_groups, "notes": [...], "cpu_pinning_requested": bool,
    "fallback": {...} | None}`` (amounts of 0 are dropped, as Nova does). ``fallback`` is,
    for ``hw:cpu_policy=dedicated``, the request without the pinning translation (VCPU)
    that Nova's scheduler also sends to placement unless
    ``[workarounds] disable_fallback_pcpu_query`` is set.
    """
    if not isinstance(flavor, dict):
        raise CapacityError("flavor must be a mapping with vcpus, ram and disk")
    vcpus = _number(flavor.get("vcpus", 0), "flavor vcpus")
    ram = _number(flavor.get("ram", flavor.get("memory_mb", 0)), "flavor ram")
    root = _number(flavor.get("disk", flavor.get("root_gb", 0)) or 0, "flavor disk")
    ephemeral = _number(flavor.get("ephemeral", flavor.get("OS-FLV-EXT-DATA:ephemeral", 0)) or 0, "flavor ephemeral")
    swap_value = flavor.get("swap", 0)
    swap = _number(swap_value if swap_value not in ("", None) else 0, "flavor swap")
    for value, what in ((vcpus, "vcpus"), (ram, "ram"), (root, "disk"), (ephemeral, "ephemeral"), (swap, "swap")):
        if value < 0:
            raise CapacityError("flavor %s must not be negative, got %d" % (what, value))
    extra_specs = flavor.get("extra_specs") or {}
    if not isinstance(extra_specs, dict):
        raise CapacityError("flavor extra_specs must be a mapping")
    image_properties = image_properties or {}
    if not isinstance(image_properties, dict):
        raise CapacityError("image properties must be a mapping")

    resources = {}
    required, forbidden = set(), set()
    groups = set()
    notes = []

    for key in sorted(extra_specs):
        match = _XS_KEY_RE.match(key)
        if not match:
            continue
        prefix, suffix, name = match.groups()
        value = extra_specs[key]
        if suffix:
            groups.add(suffix)
        if prefix == "resources":
            if not _RC_RE.match(name):
                raise CapacityError("flavor extra spec %s: %r is not a resource class" % (key, name))
            amount = _number(value, "flavor extra spec %s" % key)
            if amount < 0:
                raise CapacityError("flavor extra spec %s must not be negative" % key)
            resources[name] = resources.get(name, 0) + amount
        else:
            flag = _flag(value)
            if flag == "required":
                required.add(name)
            elif flag == "forbidden":
                forbidden.add(name)
            else:
                raise CapacityError("flavor extra spec %s must be 'required' or 'forbidden', got %r" % (key, value))

    for key, value in image_properties.items():
        if key.startswith("trait:") and _flag(value) == "required":
            required.add(key[len("trait:"):])
    for trait in image_properties.get("traits_required", []) or []:
        required.add(trait)

    cpu_policy = _flag(extra_specs.get("hw:cpu_policy") or image_properties.get("hw_cpu_policy") or "shared")
    thread_policy = _flag(extra_specs.get("hw:cpu_thread_policy") or image_properties.get("hw_cpu_thread_policy") or "")
    emulator = _flag(extra_specs.get("hw:emulator_threads_policy") or "")
    pcpus = None
    if cpu_policy == "dedicated":
        pcpus = vcpus
    elif cpu_policy == "mixed":
        mask = extra_specs.get("hw:cpu_dedicated_mask")
        if mask is None:
            raise CapacityError("hw:cpu_policy=mixed needs hw:cpu_dedicated_mask (realtime masks are not modelled)")
        pcpus = _cpu_mask_count(mask, vcpus, "hw:cpu_dedicated_mask")
        resources["VCPU"] = resources.get("VCPU", 0) + (vcpus - pcpus)
    elif cpu_policy not in ("shared", ""):
        raise CapacityError("hw:cpu_policy must be shared, dedicated or mixed, got %r" % cpu_policy)
    if pcpus is not None:
        if emulator == "isolate":
            pcpus += 1
        resources["PCPU"] = resources.get("PCPU", 0) + pcpus
    if thread_policy == "isolate":
        forbidden.add("HW_CPU_HYPERTHREADING")
    elif thread_policy == "require":
        required.add("HW_CPU_HYPERTHREADING")

    if "VCPU" not in resources and "PCPU" not in resources:
        resources["VCPU"] = vcpus
    if "MEMORY_MB" not in resources:
        resources["MEMORY_MB"] = ram
    if "DISK_GB" not in resources:
        disk = ephemeral + int(math.ceil(swap / 1024.0)) + (0 if is_bfv else root)
        if disk:
            resources["DISK_GB"] = disk

    for key in ("hw:mem_encryption", "hw:pmem", "hw:tpm_version", "os:secure_boot", "hw:maxphysaddr_mode",
                "accel:device_profile", "pci_passthrough:alias"):
        if key in extra_specs:
            notes.append("%s is not modelled: Nova adds resources or traits for it" % key)
    if groups:
        notes.append("granular request groups (%s) are merged onto the compute node provider" % ", ".join(sorted(groups)))

    fallback = None
    if cpu_policy == "dedicated":
        # Nova's scheduler also asks placement for the request *without* the pinning
        # translation (VCPU instead of PCPU) and merges the candidates, unless
        # [workarounds] disable_fallback_pcpu_query is true (nova.scheduler.manager).
        legacy_specs = {k: v for k, v in extra_specs.items()
                        if k not in ("hw:cpu_policy", "hw:cpu_thread_policy", "hw:emulator_threads_policy")}
        legacy_image = {k: v for k, v in image_properties.items()
                        if k not in ("hw_cpu_policy", "hw_cpu_thread_policy")}
        legacy = flavor_request(dict(flavor, extra_specs=legacy_specs), legacy_image, is_bfv)
        fallback = {key: legacy[key] for key in ("resources", "required_traits", "forbidden_traits")}

    return {
        "resources": {rc: amount for rc, amount in sorted(resources.items()) if amount},
        "required_traits": sorted(required),
        "forbidden_traits": sorted(forbidden),
        "groups": len(groups),
        "notes": notes,
        "cpu_pinning_requested": cpu_policy == "dedicated",
        "fallback": fallback,
    }


def totals(hosts, classes=None):
    """Sum total/reserved/used/capacity/free per resource class over snapshot hosts."""
    result = {}
    for host in hosts:
        for rc, view in (host.get("resources") or {}).items():
            if classes and rc not in classes:
                continue
            bucket = result.setdefault(rc, {"total": 0, "reserved": 0, "used": 0, "capacity": 0, "free": 0, "providers": 0})
            for field in ("total", "reserved", "used", "capacity", "free"):
                bucket[field] += view.get(field) or 0
            bucket["providers"] += 1
    return result
