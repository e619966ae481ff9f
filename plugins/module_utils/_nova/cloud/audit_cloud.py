# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read what the placement audit needs from a live cloud, and apply its API-level repairs.

Private library code (needs openstacksdk, not Ansible). Reads, for P providers:

* Nova's aggregates (one list call);
* placement: ``GET /resource_providers``, the providers with ``COMPUTE_STATUS_DISABLED`` and with
  ``MISC_SHARES_VIA_AGGREGATE`` (one filtered list each), the providers of each Nova aggregate
  (``member_of``, one list per aggregate), then per provider its inventories and allocations
  (``2P``), on at most ``workers`` threads;
* then Nova's list calls: hypervisors, compute services, servers of all projects, migrations
  (each paginated);
* then a re-read of the few consumers that look orphaned or missing (``GET /allocations/{c}``,
  ``GET /servers/{id}``), so boots and deletes in flight between the two reads are not findings.

Placement's allocations are read before Nova's servers on purpose: a consumer seen in placement was created before
Nova's lists were read, so "no such server" is only ever a race with a delete, which the
re-read settles. Repairs re-read each object and refuse when it changed since the audit.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit as _audit
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as _rest

# 2.87 is the last compute microversion whose hypervisors carry vcpus/memory_mb/local_gb;
# servers embed their flavor since 2.47, migrations have uuids since 2.59.
COMPUTE_MICROVERSION = "2.87"
# 1.28: consumer generations (safe allocation writes); 1.14: root_provider_uuid;
# below 1.38, which would require a consumer_type on writes.
PLACEMENT_MICROVERSION = "1.36"
PROVIDER_PARTS = ("inventories", "allocations")


def _placement(conn):
    adapter = conn.placement
    return adapter, _rest.microversion(adapter, PLACEMENT_MICROVERSION)


def fetch(conn, workers=8):
    """Everything :func:`audit.audit` takes, as keyword arguments, plus ``requests`` counted."""
    sent = []  # list.append is atomic: the per-provider reads run on threads

    def get_json(adapter, url, what, microversion=None, params=None):
        sent.append(url)
        return _rest.get_json(adapter, url, what, microversion=microversion, params=params)

    def get_paginated(adapter, url, key, what, microversion=None, params=None):
        items, next_url, next_params = [], url, params
        while next_url:
            body = get_json(adapter, next_url, what, microversion=microversion, params=next_params)
            page = body.get(key) or []
            items.extend(page)
            next_url = next((link.get("href") for link in body.get(key + "_links") or []
                             if link.get("rel") == "next"), None) if page else None
            next_params = None
        return items

    compute = conn.compute
    compute_mv = _rest.microversion(compute, COMPUTE_MICROVERSION)
    # Nova's aggregates first: their uuids are what placement is asked about (not racy).
    aggregates = [_audit.aggregate_entry(a) for a in get_json(
        compute, "/os-aggregates", "list host aggregates", microversion=compute_mv).get("aggregates") or []]

    placement, placement_mv = _placement(conn)
    raw_providers = get_paginated(placement, "/resource_providers", "resource_providers",
                                  "list placement resource providers", microversion=placement_mv)

    def members(query, what):
        """Provider uuids a filtered provider list returns, or None when it failed."""
        try:
            return {p["uuid"] for p in get_paginated(placement, "/resource_providers", "resource_providers", what,
                                                     microversion=placement_mv, params=query)}
        except _conn.NovaError:
            return None

    # Only the traits and aggregates the audit checks, one list call each (placement 1.18 / 1.3),
    # instead of two requests per provider.
    with_trait = {trait: members({"required": trait}, "list providers with trait %s" % trait)
                  for trait in (_audit.DISABLED_TRAIT, _audit.SHARING_TRAIT)}
    in_aggregate = {agg["uuid"]: members({"member_of": agg["uuid"]}, "list providers in aggregate %s" % agg["uuid"])
                    for agg in aggregates if agg.get("uuid")}
    traits_known = all(v is not None for v in with_trait.values())
    aggregates_known = all(v is not None for v in in_aggregate.values())

    def read_parts(record):
        uuid = record["uuid"]
        parts = {}
        for part in PROVIDER_PARTS:
            try:
                body = get_json(placement, "/resource_providers/%s/%s" % (uuid, part),
                                "read %s of resource provider %s" % (part, uuid), microversion=placement_mv)
            except _conn.NovaError as exc:
                if exc.status == 404:  # deleted since the list: nothing to audit
                    return None
                parts[part] = None
                continue
            parts[part] = body.get(part) or {}
        parts["traits"] = sorted(t for t, uuids in with_trait.items() if uuid in uuids) if traits_known else None
        parts["aggregates"] = (sorted(a for a, uuids in in_aggregate.items() if uuid in uuids)
                               if aggregates_known else None)
        return _audit.provider_entry(record, **parts)

    providers = [p for p in _conn.parallel_map(read_parts, raw_providers, workers=max(1, int(workers))) if p]

    hypervisors = [_audit.hypervisor_entry(h) for h in get_paginated(
        compute, "/os-hypervisors/detail", "hypervisors", "list hypervisors", microversion=compute_mv)]
    services = [_audit.service_entry(s) for s in get_json(
        compute, "/os-services", "list compute services", microversion=compute_mv,
        params={"binary": "nova-compute"}).get("services") or []]
    servers = [_audit.server_entry(s) for s in get_paginated(
        compute, "/servers/detail", "servers", "list servers of all projects", microversion=compute_mv,
        params={"all_tenants": "True"})]
    migrations = [_audit.migration_entry(m) for m in get_paginated(
        compute, "/os-migrations", "migrations", "list migrations", microversion=compute_mv)]

    settled = set()
    candidates = _audit.orphan_candidates(providers, servers, migrations)
    if candidates:
        held_first = {c for p in providers for c in (p.get("allocations") or {})}
        migrations_again = get_paginated(compute, "/os-migrations", "migrations", "list migrations",
                                         microversion=compute_mv)
        in_progress = {m.get("uuid") for m in migrations_again
                       if m.get("status") not in _audit.ENDED_MIGRATION_STATUSES}

        def recheck(consumer):
            now = get_json(placement, "/allocations/%s" % consumer, "read allocations of %s" % consumer,
                           microversion=placement_mv).get("allocations") or {}
            if (consumer in held_first) != bool(now):
                return consumer  # changed since the first read: in flight
            if consumer in held_first and consumer in in_progress:
                return consumer
            try:
                server = get_json(compute, "/servers/%s" % consumer, "show server %s" % consumer,
                                  microversion=compute_mv).get("server") or {}
            except _conn.NovaError as exc:
                if exc.status == 404:
                    return None
                raise
            if consumer in held_first or server.get("OS-EXT-STS:task_state") or \
                    server.get("status") not in _audit.SETTLED_STATUSES:
                return consumer  # born after the server list, or busy now
            return None

        settled = {c for c in _conn.parallel_map(recheck, candidates, workers=max(1, int(workers))) if c}
    return {"hypervisors": hypervisors, "services": services, "aggregates": aggregates, "servers": servers,
            "migrations": migrations, "providers": providers, "settled_consumers": settled,
            "requests": len(sent), "compute_microversion": compute_mv, "placement_microversion": placement_mv}


def run_audit(conn, compute_config=None, workers=8):
    data = fetch(conn, workers=workers)
    result = _audit.audit(data["hypervisors"], data["services"], data["aggregates"], data["servers"],
                          data["migrations"], data["providers"], compute_config=compute_config,
                          settled_consumers=data["settled_consumers"])
    result["requests"] = data["requests"]
    result["in_flight_consumers"] = sorted(data["settled_consumers"])
    result["source"] = {"compute_microversion": data["compute_microversion"],
                        "placement_microversion": data["placement_microversion"]}
    return result


# ------------------------------------------------------------------ repairs

def _send(adapter, method, url, what, microversion, json_body=None):
    try:
        response = _conn.retry(getattr(adapter, method), url, json=json_body, microversion=microversion,
                               raise_exc=True) if json_body is not None else \
            _conn.retry(getattr(adapter, method), url, microversion=microversion, raise_exc=True)
        return response
    except Exception as exc:
        raise _conn.describe_error(exc, what=what) from None


def apply_repairs(conn, actions, check_mode=False):
    """Apply (or in check mode only describe) each repair; returns one result per action.

    Each result: the action, ``before`` and ``after`` (the object's state as placement holds it),
    ``changed``, and ``skipped`` with a reason when the object changed since the audit.
    """
    adapter, mv = _placement(conn)
    results = []
    for action in actions:
        handler = _HANDLERS[action["action"]]
        try:
            result = handler(adapter, mv, action, check_mode)
        except _conn.NovaError as exc:
            result = {"changed": False, "skipped": "failed: %s" % exc.message, "before": None, "after": None}
        result["action"] = action
        results.append(result)
    return results


def _get(adapter, mv, url, what):
    return _rest.get_json(adapter, url, what, microversion=mv)


def _delete_allocations(adapter, mv, action, check_mode):
    consumer = action["consumer"]
    body = _get(adapter, mv, "/allocations/%s" % consumer, "read allocations of %s" % consumer)
    current = {u: (a or {}).get("resources") or {} for u, a in (body.get("allocations") or {}).items()}
    before = {"consumer": consumer, "allocations": current}
    if not current:
        return {"changed": False, "skipped": None, "before": before, "after": before}
    for prov, amounts in action["providers"].items():
        if _audit._nova_amounts(current.get(prov)) != amounts:
            return {"changed": False, "before": before, "after": before,
                    "skipped": "the allocations of %s on %s changed since the audit" % (consumer, prov)}
    remaining = {u: a for u, a in current.items() if u not in action["providers"]}
    after = {"consumer": consumer, "allocations": remaining}
    if not check_mode:
        if remaining:
            _send(adapter, "put", "/allocations/%s" % consumer, "update allocations of %s" % consumer, mv, {
                "allocations": {u: {"resources": a} for u, a in remaining.items()},
                "consumer_generation": body.get("consumer_generation"),
                "project_id": body.get("project_id"), "user_id": body.get("user_id")})
        else:
            _send(adapter, "delete", "/allocations/%s" % consumer, "delete allocations of %s" % consumer, mv)
    return {"changed": True, "skipped": None, "before": before, "after": after}


def _create_allocations(adapter, mv, action, check_mode):
    consumer = action["consumer"]
    body = _get(adapter, mv, "/allocations/%s" % consumer, "read allocations of %s" % consumer)
    current = {u: (a or {}).get("resources") or {} for u, a in (body.get("allocations") or {}).items()}
    before = {"consumer": consumer, "allocations": current}
    if current:
        return {"changed": False, "before": before, "after": before,
                "skipped": None if current == {action["provider"]: action["resources"]}
                else "consumer %s holds allocations now" % consumer}
    after = {"consumer": consumer, "allocations": {action["provider"]: dict(action["resources"])}}
    if not check_mode:
        _send(adapter, "put", "/allocations/%s" % consumer, "create allocations of %s" % consumer, mv, {
            "allocations": {action["provider"]: {"resources": action["resources"]}},
            "consumer_generation": None, "project_id": action["project_id"], "user_id": action["user_id"]})
    return {"changed": True, "skipped": None, "before": before, "after": after}


def _set_list(part):
    def handler(adapter, mv, action, check_mode):
        url = "/resource_providers/%s/%s" % (action["provider"], part)
        body = _get(adapter, mv, url, "read %s of resource provider %s" % (part, action["provider"]))
        current = sorted(body.get(part) or [])
        wanted = sorted((set(current) | set(action["add"])) - set(action["remove"]))
        before = {"provider": action["provider"], "name": action.get("name"), part: current}
        after = dict(before, **{part: wanted})
        if wanted == current:
            return {"changed": False, "skipped": None, "before": before, "after": before}
        if not check_mode:
            _send(adapter, "put", url, "update %s of resource provider %s" % (part, action["provider"]), mv,
                  {part: wanted, "resource_provider_generation": body.get("resource_provider_generation")})
        return {"changed": True, "skipped": None, "before": before, "after": after}
    return handler


def _delete_provider(adapter, mv, action, check_mode):
    url = "/resource_providers/%s" % action["provider"]
    try:
        _get(adapter, mv, url, "read resource provider %s" % action["provider"])
    except _conn.NovaError as exc:
        if exc.status == 404:
            return {"changed": False, "skipped": None, "before": None, "after": None}
        raise
    allocations = _get(adapter, mv, url + "/allocations", "read allocations").get("allocations") or {}
    before = {"provider": action["provider"], "name": action.get("name"), "exists": True}
    if allocations:
        return {"changed": False, "before": before, "after": before,
                "skipped": "provider %s holds allocations now" % action["provider"]}
    if not check_mode:
        _send(adapter, "delete", url, "delete resource provider %s" % action["provider"], mv)
    return {"changed": True, "skipped": None, "before": before, "after": dict(before, exists=False)}


def _set_inventory(adapter, mv, action, check_mode):
    url = "/resource_providers/%s/inventories/%s" % (action["provider"], action["resource_class"])
    body = _get(adapter, mv, url, "read %s inventory of %s" % (action["resource_class"], action["provider"]))
    field, value = action["field"], action["value"]
    inventory = {k: body[k] for k in ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")
                 if k in body}
    before = {"provider": action["provider"], "name": action.get("name"), action["resource_class"]: inventory}
    if float(inventory.get(field)) == float(value):
        return {"changed": False, "skipped": None, "before": before, "after": before}
    if float(inventory.get(field)) != float(action["was"]):
        return {"changed": False, "before": before, "after": before,
                "skipped": "%s %s changed since the audit" % (action["resource_class"], field)}
    new = dict(inventory, **{field: value})
    if not check_mode:
        _send(adapter, "put", url, "update %s inventory of %s" % (action["resource_class"], action["provider"]), mv,
              dict(new, resource_provider_generation=body.get("resource_provider_generation")))
    return {"changed": True, "skipped": None, "before": before, "after": dict(before, **{action["resource_class"]: new})}


_HANDLERS = {
    "delete_allocations": _delete_allocations,
    "create_allocations": _create_allocations,
    "set_aggregates": _set_list("aggregates"),
    "set_traits": _set_list("traits"),
    "delete_provider": _delete_provider,
    "set_inventory": _set_inventory,
}
