# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request to explain: flavor, image, AZ, hints, count, project -> one normalized dict.

Request shape (plain data)::

    flavor: {name, vcpus, ram, disk, ephemeral, swap, extra_specs}   # required
    image: {id, name, disk_format, properties: {...}}                # or null
    availability_zone: az1 | "az1:host" | "az1:host:node" | ":host" | null
    scheduler_hints: {group, different_host, same_host, query, build_near_host_ip, cidr}
    count: 1
    project_id: "..."
    is_bfv: false                                                    # boot from volume
"""

from __future__ import annotations

import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa as _numa
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError

# nova.objects.image_meta.ImageMetaProps legacy names (Glance properties of old images).
LEGACY_IMAGE_PROPERTIES = {
    "architecture": "hw_architecture",
    "hypervisor_type": "img_hv_type",
    "vm_mode": "hw_vm_mode",
    "hypervisor_version_requires": "img_hv_requested_version",
    "auto_disk_config": "hw_auto_disk_config",
    "os_command_line": "os_command_line",
}

_ID_RE = re.compile(r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")

KNOWN_HINTS = ("group", "different_host", "same_host", "query", "build_near_host_ip", "cidr",
               "target_cell", "retry_hosts")


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def parse_az(value):
    """``az``, ``az:host``, ``az:host:node``, ``:host`` -> (az or None, host or None, node or None)."""
    if value is None or value == "":
        return None, None, None
    if not isinstance(value, str):
        raise ExplainError("availability_zone must be a string such as az1 or az1:host, got %r" % (value,))
    parts = value.split(":")
    if len(parts) > 3:
        raise ExplainError("availability_zone %r has too many ':' (use az, az:host or az:host:node)" % value)
    az = parts[0] or None
    host = parts[1] if len(parts) > 1 and parts[1] else None
    node = parts[2] if len(parts) > 2 and parts[2] else None
    return az, host, node


def find_group(snapshot, ref):
    """The server group with id or name ``ref`` from the snapshot, or None."""
    for group in snapshot.get("server_groups") or []:
        if group.get("id") == ref:
            return group
    matches = [g for g in snapshot.get("server_groups") or [] if g.get("name") == ref]
    if len(matches) > 1:
        raise ExplainError("scheduler_hints.group %r names %d server groups; use the group id" % (ref, len(matches)))
    return matches[0] if matches else None


# nova.compute.flavors.create: vcpus and memory_mb must be at least 1 (root_gb, ephemeral
# and swap at least 0); a flavor below that cannot exist, so no request can use it.
_FLAVOR_MINIMUM = (("vcpus", ("vcpus",), 1), ("ram", ("ram", "memory_mb"), 1))


def _check_flavor_size(flavor):
    for name, keys, minimum in _FLAVOR_MINIMUM:
        value = next((flavor[k] for k in keys if k in flavor), None)
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            raise ExplainError("request.flavor.%s must be a whole number, got %r" % (name, value)) from None
        if number < minimum:
            raise ExplainError("request.flavor.%s is %d: Nova refuses a flavor with %s below %d "
                               "(nova.compute.flavors.create)" % (name, number, name, minimum))


def host_availability_zone(snapshot, host_name):
    """(AZ of ``host_name`` from its aggregates or None, whether the host is in any aggregate)."""
    in_any = False
    for agg in snapshot.get("aggregates") or []:
        if host_name is None or host_name not in (agg.get("hosts") or []):
            continue
        in_any = True
        metadata = agg.get("metadata") or {}
        zone = agg.get("availability_zone") or metadata.get("availability_zone")
        if zone:
            return zone, True
    return None, in_any


def forced_host_az(snapshot, az, forced_host, forced_node):
    """The AZ Nova keeps for a forced destination, and a note when it drops the requested one.

    nova.api.openstack.compute.servers._validate_host_availability_zone: with ``az:host``
    the requested AZ is kept only when the host is in it (or it is the default AZ and the
    host is in no AZ aggregate); otherwise the API logs "... to avoid bug #1934770" and
    drops it, so the server goes to the forced host whatever its AZ.
    """
    if not (forced_host or forced_node) or not az:
        return az, None
    default_az = ((snapshot.get("scheduler") or {}).get("default_availability_zone")) or "nova"
    host_az, in_any = host_availability_zone(snapshot, forced_host)
    if not in_any:
        if az == default_az:
            return az, None
        why = "is in no aggregate" if forced_host else "is not named (az::node)"
    elif az == host_az or (az == default_az and host_az is None):
        return az, None
    else:
        why = "is in availability zone %s" % (host_az or default_az)
    note = ("requested availability zone %s dropped: forced host %s %s, and Nova's API then ignores the requested "
            "zone (\"overwriting requested availability zone to avoid bug #1934770\")" % (
                az, forced_host or "(none)", why))
    return None, note


def resolve_project(value, snapshot):
    """A project id from ``value`` (an id or a name) using the snapshot's ``projects`` list.

    Returns the id; raises ExplainError naming ``project_id`` when ``value`` is not an id
    the snapshot knows and cannot be resolved as a name.
    """
    if value is None:
        return None
    value = str(value)
    projects = snapshot.get("projects")
    if isinstance(projects, list) and projects:
        ids = {str(p.get("id")) for p in projects if isinstance(p, dict)}
        if value in ids:
            return value
        named = [str(p.get("id")) for p in projects if isinstance(p, dict) and p.get("name") == value]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise ExplainError("project_id %r names %d projects; give the project id" % (value, len(named)))
        raise ExplainError("project_id %r is neither the id nor the name of a project of the snapshot" % value)
    known = set()
    for agg in snapshot.get("aggregates") or []:
        for key, val in (agg.get("metadata") or {}).items():
            if str(key).startswith("filter_tenant_id"):
                known.update(v.strip() for v in str(val).split(","))
    for group in snapshot.get("server_groups") or []:
        if group.get("project_id"):
            known.add(str(group["project_id"]))
    if value in known or _ID_RE.match(value):
        return value
    raise ExplainError("project_id %r does not look like a project id (32 hex digits or a UUID) and the snapshot "
                       "has no project names to resolve it: give the id (openstack project show -f value -c id "
                       "NAME)" % value)


def normalize_request(request, snapshot):
    """Validate the request and compute its placement request (``capacity.flavor_request``)."""
    if not isinstance(request, dict):
        raise ExplainError("request must be a mapping with at least a flavor")
    flavor = request.get("flavor")
    if not isinstance(flavor, dict):
        raise ExplainError("request.flavor must be a mapping with vcpus, ram and disk (and optionally name, "
                           "ephemeral, swap, extra_specs)")
    for key in ("vcpus", "ram"):
        if key not in flavor and not (key == "ram" and "memory_mb" in flavor):
            raise ExplainError("request.flavor.%s is required" % key)
    image = request.get("image") or {}
    if not isinstance(image, dict):
        raise ExplainError("request.image must be a mapping (id, name, disk_format, properties) or null")
    props = image.get("properties") or {}
    if not isinstance(props, dict):
        raise ExplainError("request.image.properties must be a mapping")
    props = dict(props)
    for legacy, name in LEGACY_IMAGE_PROPERTIES.items():
        if legacy in props and name not in props:
            props[name] = props.pop(legacy)
    is_bfv = bool(request.get("is_bfv", False))
    flavor_fields = _flavor_fields(flavor, props, is_bfv)
    networks = request.get("networks")
    if networks is not None and not (isinstance(networks, list) and all(isinstance(n, dict) for n in networks)):
        raise ExplainError("request.networks must be a list of mappings (port_id, network_id, remote_managed, "
                           "aggregates)")
    count = request.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) and not (isinstance(count, str) and count.isdigit()):
        raise ExplainError("request.count must be a positive integer, got %r" % (count,))
    count = int(count)
    if count < 1:
        raise ExplainError("request.count must be a positive integer, got %d" % count)
    hints = request.get("scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise ExplainError("request.scheduler_hints must be a mapping")
    requested_az, forced_host, forced_node = parse_az(request.get("availability_zone"))
    az, az_note = forced_host_az(snapshot, requested_az, forced_host, forced_node)
    requested_host = request.get("host") or None
    requested_node = request.get("hypervisor_hostname") or None
    for key, value in (("host", requested_host), ("hypervisor_hostname", requested_node)):
        if value is not None and not isinstance(value, str):
            raise ExplainError("request.%s must be a string, got %r" % (key, value))
    if (requested_host or requested_node) and (forced_host or forced_node):
        raise ExplainError("request.host/hypervisor_hostname and availability_zone az:host[:node] are mutually "
                           "exclusive (Nova's API refuses both together)")
    out = {
        "image": {"id": image.get("id"), "name": image.get("name"), "disk_format": image.get("disk_format"),
                  "properties": dict(props)},
        "availability_zone": az,
        "requested_availability_zone": requested_az,
        "az_note": az_note,
        "requested_host": requested_host,
        "requested_node": requested_node,
        "forced_host": forced_host,
        "forced_node": forced_node,
        "count": count,
        "project_id": request.get("project_id"),
        "is_bfv": is_bfv,
        "networks": networks,
    }
    out.update(flavor_fields)
    out.update(_hint_fields(hints, snapshot))
    return out


def _flavor_fields(flavor, props, is_bfv):
    """The request's flavor, its name, its placement request and its guest NUMA topology
    (flavor + image properties)."""
    try:
        placement = capacity.flavor_request(flavor, props, is_bfv=is_bfv)
    except capacity.CapacityError as exc:
        raise ExplainError("request.flavor: %s" % exc) from None
    _check_flavor_size(flavor)
    try:
        numa_topology = _numa.constraints(flavor, props)
    except _numa.NumaRequestError as exc:
        raise ExplainError("request.flavor / request.image: %s; Nova's API refuses this request" % exc) from None
    extra_specs = {str(k): str(v) for k, v in (flavor.get("extra_specs") or {}).items()}
    canonical = {
        "vcpus": int(flavor.get("vcpus") or 0),
        "ram": int(flavor.get("ram", flavor.get("memory_mb", 0)) or 0),
        "disk": int(flavor.get("disk", flavor.get("root_gb", 0)) or 0),
        "ephemeral": int(flavor.get("ephemeral", flavor.get("OS-FLV-EXT-DATA:ephemeral", 0)) or 0),
        "swap": int(flavor.get("swap") or 0) if flavor.get("swap") not in ("", None) else 0,
    }
    flavor_name = flavor.get("name") or flavor.get("original_name") or "%dvcpu-%dMB" % (
        int(flavor.get("vcpus") or 0), int(flavor.get("ram", flavor.get("memory_mb", 0)) or 0))
    return {"flavor": dict(canonical, extra_specs=extra_specs, name=flavor_name, id=flavor.get("id")),
            "flavor_name": flavor_name, "placement": placement, "numa": numa_topology}


def _hint_fields(hints, snapshot):
    """What the request's scheduler hints decide: the server group, host lists, query."""
    group = None
    group_ref = hints.get("group")
    if isinstance(group_ref, list):
        group_ref = group_ref[0] if group_ref else None
    if group_ref:
        group = find_group(snapshot, group_ref)
        if group is None:
            raise ExplainError("scheduler_hints.group %r is not a server group of the snapshot" % group_ref)
        if group.get("policy") not in ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"):
            raise ExplainError("server group %r has an unknown policy %r" % (group_ref, group.get("policy")))
    return {
        "hints": dict(hints),
        "different_host": _as_list(hints.get("different_host")),
        "same_host": _as_list(hints.get("same_host")),
        "query": hints.get("query"),
        "group": group,
        "unknown_hints": sorted(k for k in hints if k not in KNOWN_HINTS),
    }


_KEEP = object()


def changed(req, snapshot, count=None, hints=None, availability_zone=_KEEP, unforce=False, flavor=None,
            image_properties=None):
    """A copy of the normalized request ``req`` with one change (the relaxations' candidates).

    Only what the change decides is worked out again (the placement request for a flavor or
    image change, the group for a hint change); ``req`` itself is never changed. Raises
    ExplainError as :func:`normalize_request` would for the changed request.
    """
    out = dict(req)
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ExplainError("request.count must be a positive integer, got %r" % (count,))
        out["count"] = count
    if hints is not None:
        out.update(_hint_fields(hints, snapshot))
    if unforce:
        out.update(forced_host=None, forced_node=None, az_note=None,
                   availability_zone=req.get("requested_availability_zone"))
    if availability_zone is not _KEEP:
        if req["forced_host"] or req["forced_node"]:
            raise ExplainError("a forced destination keeps its availability zone")
        out.update(availability_zone=availability_zone, requested_availability_zone=availability_zone,
                   az_note=None)
    if image_properties is not None:
        out["image"] = dict(req["image"], properties=dict(image_properties))
    if flavor is not None or image_properties is not None:
        out.update(_flavor_fields(flavor if flavor is not None else req["flavor"], out["image"]["properties"],
                                  req["is_bfv"]))
    return out
