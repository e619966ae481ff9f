# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Gather a live cloud snapshot from Nova and placement with few, bounded requests.

Private library code (needs openstacksdk, not Ansible), shared by hypervisor_info,
the hypervisors inventory plugin and scheduling_explain. Requests made, for N selected
compute nodes and S servers:

* compute: ``GET /os-hypervisors/detail`` (paginated), ``GET /os-services?binary=nova-compute``,
  ``GET /os-aggregates``, ``GET /servers/detail?all_tenants=1`` (paginated, ~S/1000 pages),
  ``GET /os-server-groups?all_projects=True`` (paginated);
* placement, many providers (``N >= BULK_MIN_PROVIDERS``, placement 1.27+): ``GET /resource_providers``
  once, ``GET /allocation_candidates?resources=MEMORY_MB:1`` once (its ``provider_summaries`` give
  every listed provider's ``used`` per class and its traits), ``GET /resource_providers?member_of=<uuid>``
  once per Nova host aggregate (the provider aggregates), then each selected provider's
  inventories; usages and traits one by one only for the providers the summaries do not list
  (full, no MEMORY_MB, min_unit/step_size above 1, or classes differing from the inventory);
* placement, few providers (or an older placement): ``GET /resource_providers`` once, then for each
  selected provider its inventories, usages, traits and aggregates.

Per-provider requests run concurrently on at most ``workers`` threads. So the count is about
``6 + N + A`` (A: host aggregates) for many providers and ``5 + 4N`` for few, plus pages: linear in
hosts, never a Nova request per hypervisor.

Each call asks for the microversion giving what it needs at the least cost (see
``CALL_MICROVERSIONS``): the hypervisor list at 2.87, because 2.88 drops ``cpu_info`` and makes
Nova ask each hypervisor for its uptime (one RPC per node for drivers that do not store it).
"""

from __future__ import annotations

import datetime

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit as _audit
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as _rest
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as _facts
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import numa_usage as _numa_usage

COMPUTE_MAX_MICROVERSION = "2.100"
PLACEMENT_MAX_MICROVERSION = "1.39"
PLACEMENT_PARTS = ("inventories", "usages", "traits", "aggregates")
# placement microversion from which provider_summaries carry traits (1.17) and every class (1.27)
SUMMARIES_MIN_MICROVERSION = (1, 27)
# From this many selected providers on, placement is read in bulk (allocation_candidates' summaries
# and member_of per aggregate) instead of 4 requests per provider. Below it the per-provider path
# costs little and reads every field (also placement-only aggregates) exactly.
BULK_MIN_PROVIDERS = 50
# The microversion each compute call asks for (capped by what the cloud supports): the least that
# gives what the snapshot needs, nothing that costs Nova a per-item lookup.
CALL_MICROVERSIONS = {
    # 2.53: hypervisor and service ids are UUIDs (the provider UUID); 2.88 drops cpu_info and adds
    # uptime, one RPC per hypervisor for drivers that do not store it.
    "hypervisors": "2.87",
    "services": "2.53",
    "aggregates": "2.41",  # aggregate uuid
    # OS-EXT-SRV-ATTR:host/hypervisor_hostname and OS-EXT-STS:* are there from 2.1; 2.96+ loads
    # every server's request spec (pinned_availability_zone, 2.100 scheduler_hints).
    "servers": "2.95",
    "server_groups": "2.64",  # policy + rules
    "server_topology": _numa_usage.TOPOLOGY_MICROVERSION,  # host_node + cpu_pinning for admins
}


def _mv_tuple(version):
    try:
        major, minor = str(version).split(".", 1)
        return int(major), int(minor)
    except (AttributeError, ValueError):
        return None


def call_microversion(maximum, wanted):
    """``wanted`` capped by the cloud's ``maximum`` (None when the maximum is unknown: no header)."""
    top = _mv_tuple(maximum)
    if top is None:
        return maximum
    return wanted if _mv_tuple(wanted) <= top else maximum


def _server_groups(adapter, microversion, page_size=1000):
    groups = []
    offset = 0
    while True:
        body = _rest.get_json(adapter, "/os-server-groups", "list server groups", microversion=microversion,
                              params={"all_projects": "True", "limit": page_size, "offset": offset})
        page = body.get("server_groups") or []
        groups.extend(page)
        if len(page) < page_size:
            return groups
        offset += len(page)


def placement_provider(adapter, uuid, microversion, parts=PLACEMENT_PARTS):
    """Inventories, usages, traits and aggregates of one provider (None where they failed)."""
    result = {"uuid": uuid, "errors": []}
    for part in parts:
        what = "read %s of resource provider %s" % (part, uuid)
        try:
            body = _rest.get_json(adapter, "/resource_providers/%s/%s" % (uuid, part), what, microversion=microversion)
        except _conn.NovaError as exc:
            result[part] = None
            result["errors"].append(exc.message)
            continue
        if part == "inventories":
            result[part] = body.get("inventories") or {}
        elif part == "usages":
            result[part] = body.get("usages") or {}
        else:
            result[part] = body.get(part) or []
    return result


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def gather_snapshot(conn, host=None, availability_zone=None, aggregate=None, service_status=None,
                    service_state=None, placement=True, servers=True, server_groups=True, workers=8,
                    scheduler=None, default_availability_zone=_facts.DEFAULT_AVAILABILITY_ZONE,
                    placement_bulk=None, numa_capacity=None, nova_db=None):
    """Read the cloud and return a version-1 snapshot of the selected compute nodes.

    Filters (see :func:`facts.select_hosts`) are applied before placement is read, so
    placement is only asked about the selected providers. Only the hypervisor list is
    mandatory: failures of the other reads become ``warnings`` in the snapshot and the
    affected fields stay ``null``. ``placement_bulk``: ``None`` chooses by the number of selected
    providers (``BULK_MIN_PROVIDERS``), ``True``/``False`` force the bulk / per-provider reads.
    ``numa_capacity`` (``{host: {"cells": [...]}}``, e.g. from compute-node facts) and/or
    ``nova_db`` (a read-only cell database URL) add ``hosts[].numa`` and ``pci_pools`` (see
    :mod:`numa_usage`): one topology request per server with a NUMA flavor, or one query.
    Raises :class:`connection.NovaError`.
    """
    warnings = []
    compute = conn.compute
    compute_mv = _rest.microversion(compute, COMPUTE_MAX_MICROVERSION)
    hypervisor_mv = call_microversion(compute_mv, CALL_MICROVERSIONS["hypervisors"])
    hypervisors = _rest.get_paginated(compute, "/os-hypervisors/detail", "hypervisors", "list hypervisors",
                                      microversion=hypervisor_mv)
    try:
        services = _rest.get_json(compute, "/os-services", "list compute services",
                                  microversion=call_microversion(compute_mv, CALL_MICROVERSIONS["services"]),
                                  params={"binary": "nova-compute"}).get("services") or []
    except _conn.NovaError as exc:
        services = []
        warnings.append("compute services unknown (service status/state are null): %s" % exc.message)
    try:
        raw_aggregates = _rest.get_json(compute, "/os-aggregates", "list host aggregates",
                                        microversion=call_microversion(compute_mv, CALL_MICROVERSIONS["aggregates"])
                                        ).get("aggregates") or []
    except _conn.NovaError as exc:
        raw_aggregates = []
        warnings.append("host aggregates unknown: %s" % exc.message)
    aggregates = sorted((_facts.aggregate_entry(a) for a in raw_aggregates), key=lambda a: (a["id"] is None, a["id"]))

    hosts = _facts.build_hosts(hypervisors, services, raw_aggregates,
                               default_availability_zone=default_availability_zone, warnings=warnings)
    nodes_per_host = {}
    for entry in hosts:
        nodes_per_host[entry["name"]] = nodes_per_host.get(entry["name"], 0) + 1
    hosts = _facts.select_hosts(hosts, aggregates, host=host, availability_zone=availability_zone,
                                aggregate=aggregate, service_status=service_status, service_state=service_state)

    placement_mv = None
    if placement and hosts:
        placement_mv, placement_read = _gather_placement(conn, hosts, workers, warnings, raw_aggregates,
                                                         placement_bulk)
        if placement_read:
            # the audit kinds this data decides, no extra request (docs/audit.md)
            warnings.extend(_audit.snapshot_warnings(_audit.snapshot_audit(hosts, aggregates, nodes_per_host)))

    server_list = None
    if servers and hosts:
        try:
            server_list = _rest.get_paginated(compute, "/servers/detail", "servers", "list servers of all projects",
                                              microversion=call_microversion(compute_mv, CALL_MICROVERSIONS["servers"]),
                                              params={"all_tenants": "True"})
            _facts.attach_servers(hosts, server_list)
        except _conn.NovaError as exc:
            warnings.append("servers per host unknown (num_instances, instances, num_io_ops are null): %s"
                            % exc.message)
    if (numa_capacity or nova_db) and hosts:
        _numa_usage.attach(compute, hosts, server_list, capacity=numa_capacity, nova_db=nova_db,
                           warnings=warnings, workers=workers,
                           microversion=call_microversion(compute_mv, CALL_MICROVERSIONS["server_topology"]))

    groups = []
    if server_groups:
        try:
            group_mv = call_microversion(compute_mv, CALL_MICROVERSIONS["server_groups"])
            groups = [_facts.server_group_entry(g) for g in _server_groups(compute, group_mv)]
        except _conn.NovaError as exc:
            warnings.append("server groups unknown: %s" % exc.message)

    source = {
        "cloud": getattr(getattr(conn, "config", None), "name", None),
        "compute_microversion": compute_mv,
        "placement_microversion": placement_mv,
        "nova_release": None,
    }
    return _facts.new_snapshot(hosts, aggregates, server_groups=groups, warnings=warnings, source=source,
                               generated_at=_now(), scheduler=scheduler)


def _gather_placement(conn, hosts, workers, warnings, nova_aggregates=(), bulk=None):
    try:
        adapter = conn.placement
        placement_mv = _rest.microversion(adapter, PLACEMENT_MAX_MICROVERSION)
        providers = _rest.get_paginated(adapter, "/resource_providers", "resource_providers",
                                        "list placement resource providers", microversion=placement_mv)
    except _conn.NovaError as exc:
        warnings.append("placement unavailable, so resources, traits and provider aggregates are unknown "
                        "(only Nova's data is returned): %s" % exc.message)
        return None, False
    except Exception as exc:  # e.g. no placement endpoint in the catalog
        warnings.append("placement unavailable, so resources, traits and provider aggregates are unknown "
                        "(only Nova's data is returned): %s" % _conn.describe_error(exc, "reach placement", via=conn).message)
        return None, False
    # compute nodes without a provider are told by the audit warnings (compute_node_without_provider)
    mapping = _facts.match_providers(hosts, providers)
    uuids = sorted(mapping)
    workers = max(1, int(workers))
    if bulk is None:
        bulk = len(uuids) >= BULK_MIN_PROVIDERS
    mv = _mv_tuple(placement_mv)
    if bulk and (mv is None or mv < SUMMARIES_MIN_MICROVERSION):
        bulk = False
    if bulk:
        results = placement_bulk(adapter, uuids, placement_mv, nova_aggregates, workers)
    else:
        results = _conn.parallel_map(lambda uuid: placement_provider(adapter, uuid, placement_mv), uuids,
                                     workers=workers)
    errors = []
    for result in results:
        _facts.attach_placement(mapping[result["uuid"]], result)
        errors.extend(result["errors"])
    if errors:
        warnings.append("%d placement request(s) failed, those fields are null: %s%s"
                        % (len(errors), errors[0], " ..." if len(errors) > 1 else ""))
    empty = [mapping[r["uuid"]]["nodename"] for r in results if r.get("inventories") == {}]
    if empty:
        warnings.append("%d resource provider(s) have no inventory: %s" % (len(empty), ", ".join(sorted(empty)[:10])))
    return placement_mv, True


def provider_summaries(adapter, microversion):
    """``{uuid: {"resources": {rc: {"capacity", "used"}}, "traits": [...]}}`` in one request.

    ``allocation_candidates`` for one MB of memory lists every provider that could hold it, and
    its ``provider_summaries`` (1.27+: every class of the provider; 1.17+: traits) carry the same
    ``used`` as each provider's ``/usages`` and the same traits as its ``/traits``. Providers
    without room for it (or without MEMORY_MB) are not listed.
    """
    body = _rest.get_json(adapter, "/allocation_candidates", "read placement provider summaries",
                          microversion=microversion, params={"resources": "MEMORY_MB:1"})
    return body.get("provider_summaries") or {}


def aggregate_members(adapter, aggregate_uuids, microversion, workers):
    """``{provider uuid: [aggregate uuid, ...]}`` from one ``member_of`` listing per aggregate.

    Returns ``None`` when one listing failed (then provider aggregates are read per provider).
    """
    aggregate_uuids = sorted(set(a for a in aggregate_uuids if a))

    def members(agg):
        try:
            body = _rest.get_json(adapter, "/resource_providers", "list the providers of aggregate %s" % agg,
                                  microversion=microversion, params={"member_of": agg})
        except _conn.NovaError:
            return agg, None
        return agg, [p.get("uuid") for p in body.get("resource_providers") or []]

    result = {}
    for agg, uuids in _conn.parallel_map(members, aggregate_uuids, workers=workers):
        if uuids is None:
            return None
        for uuid in uuids:
            result.setdefault(uuid, []).append(agg)
    return result


def placement_bulk(adapter, uuids, microversion, nova_aggregates, workers):
    """Placement data of many providers in about one request per provider (see the module doc).

    Same result shape and values as :func:`placement_provider` for each uuid. Provider aggregates
    are read through the Nova host aggregates (placement mirrors each as an aggregate with the
    same uuid); an aggregate only placement knows (not a Nova host aggregate) is not seen.
    """
    try:
        summaries = provider_summaries(adapter, microversion)
    except _conn.NovaError:
        summaries = {}
    members = aggregate_members(adapter, [a.get("uuid") for a in nova_aggregates or ()], microversion, workers)
    if any(not a.get("uuid") for a in nova_aggregates or ()):
        members = None  # an aggregate without uuid (very old Nova): read them per provider

    def one(uuid):
        result = placement_provider(adapter, uuid, microversion, parts=("inventories",))
        summary = summaries.get(uuid)
        inventories = result.get("inventories")
        parts = []
        if summary is not None and inventories is not None and "traits" in summary \
                and set(summary.get("resources") or {}) == set(inventories):
            result["usages"] = {rc: view.get("used", 0) for rc, view in summary["resources"].items()}
            result["traits"] = list(summary["traits"])
        else:
            parts.extend(("usages", "traits"))
        if members is not None:
            result["aggregates"] = sorted(members.get(uuid, []))
        else:
            parts.append("aggregates")
        if parts:
            extra = placement_provider(adapter, uuid, microversion, parts=tuple(parts))
            for part in parts:
                result[part] = extra[part]
            result["errors"].extend(extra["errors"])
        return result

    return _conn.parallel_map(one, uuids, workers=workers)
