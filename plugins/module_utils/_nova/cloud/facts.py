# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn Nova and placement API answers into cloud snapshot hosts (docs/snapshot.md).

Private library code over plain data: no Ansible, no SDK. ``gather.py`` fetches the raw
answers, this file joins them. Everything here is deterministic and unit tested with
fakes for the edge cases (several nodes per service, a hypervisor without a service, a
provider without inventory, missing placement).
"""

from __future__ import annotations

import fnmatch
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as _cap
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine as _engine
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import headroom as _headroom
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request

SNAPSHOT_VERSION = 1
DEFAULT_AVAILABILITY_ZONE = "nova"

# nova.compute.stats.Stats.io_workload: vm_state building, or one of these task states.
IO_TASK_STATES = frozenset(("resize_migrating", "rebuilding", "resize_prep", "image_snapshot",
                            "image_backup", "rescuing", "unshelving"))

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def is_uuid(value):
    return isinstance(value, str) and bool(_UUID_RE.match(value))


def _text(value):
    return None if value is None else str(value)


def _int_or_none(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def service_entry(service):
    """The snapshot's ``service`` object from one ``os-services`` entry."""
    return {
        "id": _text(service.get("id")),
        "binary": service.get("binary") or "nova-compute",
        "status": service.get("status"),
        "state": service.get("state"),
        "disabled_reason": service.get("disabled_reason"),
        "forced_down": bool(service.get("forced_down", False)),
        "updated_at": service.get("updated_at"),
        "zone": service.get("zone"),
    }


def aggregate_entry(aggregate):
    """The snapshot's aggregate object from one ``os-aggregates`` entry."""
    metadata = dict(aggregate.get("metadata") or {})
    return {
        "id": _int_or_none(aggregate.get("id")),
        "uuid": aggregate.get("uuid"),
        "name": aggregate.get("name"),
        "availability_zone": aggregate.get("availability_zone") or metadata.get("availability_zone"),
        "hosts": sorted(aggregate.get("hosts") or []),
        "metadata": metadata,
    }


def _cpu_info(hypervisor):
    info = hypervisor.get("cpu_info")
    if isinstance(info, dict):
        return info
    if isinstance(info, str) and info.strip().startswith("{"):
        import json
        try:
            return json.loads(info)
        except ValueError:
            return None
    return None


def build_hosts(hypervisors, services, aggregates, default_availability_zone=DEFAULT_AVAILABILITY_ZONE,
                warnings=None):
    """Join ``os-hypervisors/detail`` with ``os-services`` and ``os-aggregates``.

    Returns snapshot hosts without placement data (``resources`` {} and the placement
    fields null) and without servers (``num_instances``/``instances`` null), sorted by
    (name, nodename). ``warnings`` (a list) collects data problems worth telling.
    """
    warnings = warnings if warnings is not None else []
    services = [s for s in (services or []) if (s.get("binary") or "nova-compute") == "nova-compute"]
    by_id = {}
    by_host = {}
    for service in services:
        if service.get("id") is not None:
            by_id[str(service["id"])] = service
        by_host.setdefault(service.get("host"), []).append(service)
    host_aggregates = {}
    aggregate_zone = {}
    for aggregate in aggregates or []:
        entry = aggregate_entry(aggregate)
        for name in entry["hosts"]:
            host_aggregates.setdefault(name, []).append(entry["id"])
            if entry["availability_zone"]:
                aggregate_zone.setdefault(name, entry["availability_zone"])

    hosts = []
    seen_services = set()
    for hyp in hypervisors or []:
        embedded = hyp.get("service") or {}
        name = embedded.get("host")
        service = None
        if embedded.get("id") is not None and str(embedded["id"]) in by_id:
            service = by_id[str(embedded["id"])]
        elif name is not None and len(by_host.get(name, [])) == 1:
            service = by_host[name][0]
        nodename = hyp.get("hypervisor_hostname")
        if name is None:
            name = service.get("host") if service else nodename
        if service is None:
            warnings.append("hypervisor %s (host %s) has no nova-compute service in os-services" % (nodename, name))
        else:
            seen_services.add(id(service))
        hyp_id = _text(hyp.get("id"))
        zone = None
        if service is not None and service.get("zone"):
            zone = service["zone"]
        elif name in aggregate_zone:
            zone = aggregate_zone[name]
        else:
            zone = default_availability_zone
        hosts.append({
            "name": name,
            "nodename": nodename,
            "hypervisor_id": hyp_id,
            "provider_uuid": hyp_id if is_uuid(hyp_id) else None,
            "hypervisor_type": hyp.get("hypervisor_type"),
            "hypervisor_version": _int_or_none(hyp.get("hypervisor_version")),
            "host_ip": hyp.get("host_ip"),
            "hypervisor_state": hyp.get("state"),
            "service": service_entry(service) if service is not None else None,
            "availability_zone": zone,
            "aggregates": sorted(a for a in host_aggregates.get(name, []) if a is not None),
            "resources": {},
            "traits": None,
            "provider_aggregates": None,
            "num_instances": None,
            "instances": None,
            # Nova's own count (the compute node's io_workload stat, which the scheduler's
            # IoOpsFilter reads), given by the API up to microversion 2.87; else from servers
            "num_io_ops": _int_or_none(hyp.get("current_workload")),
            "cpu_info": _cpu_info(hyp),
            "stats": {},
        })
    for service in services:
        if id(service) not in seen_services and not any(h["name"] == service.get("host") for h in hosts):
            warnings.append("nova-compute service on %s has no hypervisor (compute node) yet"
                            % service.get("host"))
    hosts.sort(key=lambda h: (str(h["name"]), str(h["nodename"])))
    return hosts


def _glob_match(value, patterns):
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(str(value), pattern) for pattern in patterns)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return [str(value)]


def select_hosts(hosts, aggregates=None, host=None, availability_zone=None, aggregate=None,
                 service_status=None, service_state=None):
    """The hosts matching every given filter (``None``/empty = no filter).

    ``host``: globs matched against the service host and the node name; ``availability_zone``,
    ``aggregate`` (names or ids), ``service_status`` (enabled/disabled), ``service_state``
    (up/down): one value or a list. Nothing matching gives an empty list.
    """
    host_patterns = _as_list(host)
    zones = set(_as_list(availability_zone))
    wanted_aggregates = set(_as_list(aggregate))
    statuses = set(_as_list(service_status))
    states = set(_as_list(service_state))
    aggregate_ids = set()
    if wanted_aggregates:
        for entry in aggregates or []:
            if entry.get("name") in wanted_aggregates or str(entry.get("id")) in wanted_aggregates:
                aggregate_ids.add(entry.get("id"))
    selected = []
    for entry in hosts:
        if host_patterns and not (_glob_match(entry["name"], host_patterns)
                                  or _glob_match(entry["nodename"], host_patterns)):
            continue
        if zones and entry.get("availability_zone") not in zones:
            continue
        if wanted_aggregates and not aggregate_ids.intersection(entry.get("aggregates") or []):
            continue
        service = entry.get("service") or {}
        if statuses and service.get("status") not in statuses:
            continue
        if states and service.get("state") not in states:
            continue
        selected.append(entry)
    return selected


def match_providers(hosts, providers):
    """Set ``provider_uuid`` from placement's provider list where Nova's id is not a UUID.

    Before microversion 2.53 hypervisor ids are integers; the compute node provider is
    then found by name (the hypervisor hostname). Returns {provider_uuid: host}.
    """
    by_uuid = {p.get("uuid"): p for p in providers or []}
    by_name = {}
    for provider in providers or []:
        by_name.setdefault(provider.get("name"), []).append(provider)
    mapping = {}
    for entry in hosts:
        uuid = entry.get("provider_uuid")
        if uuid and uuid in by_uuid:
            mapping[uuid] = entry
            continue
        candidates = by_name.get(entry.get("nodename")) or []
        if len(candidates) == 1:
            entry["provider_uuid"] = candidates[0].get("uuid")
            mapping[entry["provider_uuid"]] = entry
        elif uuid:
            entry["provider_uuid"] = None
    return mapping


def attach_placement(entry, data):
    """Fill one host's resources/traits/provider_aggregates from placement data.

    ``data``: ``{"inventories": {rc: inventory} | None, "usages": {rc: n} | None,
    "traits": [...] | None, "aggregates": [...] | None}`` (``None`` = could not be read).
    A provider without inventory gets ``resources`` {}.
    """
    inventories = data.get("inventories")
    usages = data.get("usages")
    if inventories is not None:
        entry["resources"] = _cap.provider_resources(inventories, usages or {})
        if usages is None:
            for view in entry["resources"].values():
                view["used"] = None
                view["free"] = None
    traits = data.get("traits")
    entry["traits"] = sorted(traits) if traits is not None else None
    aggs = data.get("aggregates")
    entry["provider_aggregates"] = sorted(aggs) if aggs is not None else None
    return entry


def attach_servers(hosts, servers):
    """Set num_instances, instances and num_io_ops of every host from a server list.

    ``servers``: ``/servers/detail?all_tenants=1`` entries (need the admin attributes
    ``OS-EXT-SRV-ATTR:host`` and ``OS-EXT-SRV-ATTR:hypervisor_hostname``).
    """
    index = {}
    from_nova = {id(entry): entry["num_io_ops"] for entry in hosts if isinstance(entry.get("num_io_ops"), int)}
    for entry in hosts:
        entry["num_instances"] = 0
        entry["instances"] = []
        entry["num_io_ops"] = 0
        index[(entry["name"], entry["nodename"])] = entry
    by_name = {}
    for entry in hosts:
        by_name.setdefault(entry["name"], []).append(entry)
    for server in servers or []:
        host = server.get("OS-EXT-SRV-ATTR:host")
        node = server.get("OS-EXT-SRV-ATTR:hypervisor_hostname")
        if host is None:
            continue
        entry = index.get((host, node))
        if entry is None and len(by_name.get(host, [])) == 1:
            entry = by_name[host][0]
        if entry is None:
            continue
        entry["num_instances"] += 1
        entry["instances"].append(server.get("id"))
        vm_state = server.get("OS-EXT-STS:vm_state")
        task_state = server.get("OS-EXT-STS:task_state")
        if vm_state == "building" or task_state in IO_TASK_STATES:
            entry["num_io_ops"] += 1
    for entry in hosts:
        entry["instances"].sort()
        if id(entry) in from_nova:
            # the compute's count is what the scheduler sees: a build that just finished still
            # counts until the compute's next periodic resource update
            entry["num_io_ops"] = from_nova[id(entry)]
    return hosts


def availability_zones(hosts, aggregates):
    """Derive the availability zones of the snapshot from hosts and aggregates."""
    zones = {}
    for aggregate in aggregates or []:
        if aggregate.get("availability_zone"):
            zones.setdefault(aggregate["availability_zone"], {"hosts": set(), "available": False})
    for entry in hosts:
        zone = entry.get("availability_zone")
        if not zone:
            continue
        bucket = zones.setdefault(zone, {"hosts": set(), "available": False})
        bucket["hosts"].add(entry["name"])
        service = entry.get("service") or {}
        if service.get("status") == "enabled" and service.get("state") == "up":
            bucket["available"] = True
    return [{"name": name, "hosts": sorted(zones[name]["hosts"]), "available": zones[name]["available"]}
            for name in sorted(zones)]


def server_group_entry(group):
    policy = group.get("policy")
    if policy is None:
        policies = group.get("policies") or []
        policy = policies[0] if policies else None
    return {
        "id": group.get("id"),
        "name": group.get("name"),
        "policy": policy,
        "rules": dict(group.get("rules") or {}),
        "members": list(group.get("members") or []),
        "project_id": group.get("project_id"),
    }


def new_snapshot(hosts, aggregates, server_groups=None, warnings=None, source=None, generated_at=None,
                 scheduler=None):
    """Assemble a version-1 snapshot document (docs/snapshot.md)."""
    source = dict(source or {})
    for key in ("cloud", "compute_microversion", "placement_microversion", "nova_release"):
        source.setdefault(key, None)
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "generated_at": generated_at,
        "source": source,
        "warnings": list(warnings or []),
        "scheduler": scheduler,
        "hosts": hosts,
        "aggregates": aggregates,
        "availability_zones": availability_zones(hosts, aggregates),
        "server_groups": server_groups or [],
    }


# ---------------------------------------------------------------- flavor headroom

def _flavor_from_request(request):
    """A flavor with the sizes of a placement request (for callers that give only the request)."""
    res = request.get("resources") or {}
    return {"name": "flavor", "vcpus": max(1, res.get("VCPU", 0) + res.get("PCPU", 0)),
            "ram": max(1, res.get("MEMORY_MB", 0)), "disk": res.get("DISK_GB", 0), "extra_specs": {}}


def headroom(hosts, request, pcpu_fallback=True, flavor=None, snapshot=None, scheduler=None,
             scheduler_hints=None):
    """How many more instances of a flavor fit, per host and in total: the explain engine's headroom.

    ``request`` is :func:`capacity.flavor_request`'s result (the placement request the engine
    uses); ``flavor`` the flavor itself (its extra specs feed the host filters; without it only
    the request's sizes are known). ``snapshot`` gives the aggregates and server groups
    (``hosts`` are its selected hosts), ``scheduler`` the configuration (None: the snapshot's,
    else Nova's defaults), ``scheduler_hints`` e.g. ``{"group": id}``. With ``pcpu_fallback``
    (Nova's default, ``[workarounds] disable_fallback_pcpu_query = false``) a
    ``hw:cpu_policy=dedicated`` flavor may also land on VCPU inventory.

    Per host: ``count`` (the smallest bound of the checks that limit a count: placement with
    max_unit/step_size and the PCPU fallback, NumInstancesFilter, anti-affinity; None when the
    inventory is unknown), ``limited_by``, ``schedulable`` (True; False when a check excludes the
    host; None when it fits only if ``unknown_checks`` pass), ``reasons`` and ``fits`` (count
    when schedulable, else 0). ``total`` sums ``fits``; ``total_if_unknowns_pass`` adds the
    uncertain hosts (None when one of them has unknown capacity); ``unknown`` lists the hosts
    whose capacity is unknown.
    """
    snap = dict(snapshot or new_snapshot([], []), hosts=list(hosts))
    if scheduler is None:
        scheduler = snap.get("scheduler")
    conf = normalize_scheduler(scheduler, (snap.get("source") or {}).get("nova_release"))
    conf = dict(conf, disable_fallback_pcpu_query=bool(conf.get("disable_fallback_pcpu_query")) or not pcpu_fallback)
    req = normalize_request({"flavor": flavor or _flavor_from_request(request),
                             "scheduler_hints": scheduler_hints or {}}, snap)
    req["placement"] = dict(req["placement"], **{k: request[k] for k in request if k in req["placement"]})
    result = _engine.run(_engine.prepare(snap), conf, req)
    per_host = []
    total = 0
    maybe_total = 0
    unknown = []
    for host, count, limited_by, blockers, unsure in _headroom.headroom_rows(result):
        if count is None:
            unknown.append(host.name if host.name == host.nodename else "%s (%s)" % (host.name, host.nodename))
        reasons = [cell["reason"] for _check, cell in blockers]
        schedulable = False if blockers else (None if unsure else True)
        fits = count if (schedulable and count is not None) else 0
        total += fits
        if schedulable is not False and maybe_total is not None:
            maybe_total = None if count is None else maybe_total + count
        row = {"name": host.name, "nodename": host.nodename, "count": count, "limited_by": limited_by,
               "schedulable": schedulable, "reasons": reasons, "fits": fits}
        if unsure:
            row["unknown_checks"] = ["%s: %s" % (check.name, cell["reason"]) for check, cell in unsure]
        per_host.append(row)
    out = {"total": total, "hosts": per_host, "unknown": unknown}
    if any(row["schedulable"] is None for row in per_host):
        out["total_if_unknowns_pass"] = maybe_total
    return out
