# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where Nova and placement disagree: the consistency audit, as pure functions over plain data.

Private library code. :func:`audit` takes what Nova's API and placement's API say (lists of
dicts, as the APIs return them) and returns findings, each with its kind, the objects
involved, the evidence from both sides, its effect on capacity and the fix (a command, and
where it is safe an API-level repair as plain data that :mod:`audit_fetch` applies).

Data the APIs do not carry (``nova.conf`` ratios and reserved amounts) is never guessed: with
no ``compute_config`` the inventory configuration check is reported as *unknown*, with what
would decide it.
"""

from __future__ import annotations

import math

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as _cap
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as _facts

# Resource classes Nova allocates (nova-manage placement audit's NOVA_RCS).
NOVA_RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB", "VGPU", "NET_BW_EGR_KILOBIT_PER_SEC",
                         "NET_BW_IGR_KILOBIT_PER_SEC", "PCPU", "MEM_ENCRYPTION_CONTEXT")
# Classes that live on the compute node provider itself (never on a sharing provider).
COMPUTE_CLASSES = ("VCPU", "PCPU", "MEMORY_MB")
FLAVOR_CLASSES = ("VCPU", "PCPU", "MEMORY_MB", "DISK_GB")
# Migration statuses Nova does not count as in progress
# (nova.db.main.api.migration_get_in_progress_by_host_and_node).
ENDED_MIGRATION_STATUSES = ("confirmed", "reverted", "error", "failed", "completed", "cancelled", "done")
# Server statuses of an instance that holds its flavor's allocation on its host.
SETTLED_STATUSES = ("ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED", "RESCUE", "SHELVED", "STOPPED", "ERROR")
DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"
SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"

KINDS = (
    "orphaned_allocation",
    "ended_migration_allocation",
    "instance_without_allocation",
    "instance_allocation_wrong_provider",
    "instance_allocation_wrong_amounts",
    "provider_without_compute_node",
    "compute_node_without_provider",
    "aggregate_missing_in_placement",
    "aggregate_stale_in_placement",
    "disabled_trait_mismatch",
    "inventory_mismatch",
    "down_service_with_instances",
    "deleted_service_with_instances",
)

CONFIG_KEYS = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio",
               "reserved_host_cpus", "reserved_host_memory_mb", "reserved_host_disk_mb")


class AuditError(ValueError):
    """Bad input to the audit (a message naming the parameter)."""


# ------------------------------------------------------------------ normalising API records

def server_entry(record):
    """The fields of one ``/servers/detail`` record (microversion >= 2.47) the audit uses."""
    flavor = record.get("flavor") or {}
    image = record.get("image")
    return {
        "id": record.get("id"),
        "name": record.get("name"),
        "project_id": record.get("tenant_id") or record.get("project_id"),
        "user_id": record.get("user_id"),
        "status": record.get("status"),
        "task_state": record.get("OS-EXT-STS:task_state"),
        "host": record.get("OS-EXT-SRV-ATTR:host"),
        "node": record.get("OS-EXT-SRV-ATTR:hypervisor_hostname"),
        "flavor": {
            "name": flavor.get("original_name") or flavor.get("name"),
            "vcpus": flavor.get("vcpus"),
            "ram": flavor.get("ram"),
            "disk": flavor.get("disk"),
            "ephemeral": flavor.get("ephemeral") or 0,
            "swap": flavor.get("swap") or 0,
            "extra_specs": dict(flavor.get("extra_specs") or {}),
        },
        "volume_backed": image in ("", None) or image == {},
    }


def hypervisor_entry(record):
    """The fields of one ``/os-hypervisors/detail`` record (2.53 <= microversion <= 2.87)."""
    service = record.get("service") or {}
    return {
        "id": record.get("id"),
        "hypervisor_hostname": record.get("hypervisor_hostname"),
        "host": service.get("host"),
        "hypervisor_type": record.get("hypervisor_type"),
        "vcpus": record.get("vcpus"),
        "memory_mb": record.get("memory_mb"),
        "local_gb": record.get("local_gb"),
    }


def service_entry(record):
    return {
        "id": record.get("id"),
        "host": record.get("host"),
        "status": record.get("status"),
        "state": record.get("state"),
        "forced_down": bool(record.get("forced_down")),
        "disabled_reason": record.get("disabled_reason"),
    }


def migration_entry(record):
    return {
        "id": record.get("id"),
        "uuid": record.get("uuid"),
        "status": record.get("status"),
        "instance_uuid": record.get("instance_uuid"),
        "migration_type": record.get("migration_type"),
        "source_compute": record.get("source_compute"),
        "source_node": record.get("source_node"),
        "dest_compute": record.get("dest_compute"),
        "dest_node": record.get("dest_node"),
    }


def aggregate_entry(record):
    return {"id": record.get("id"), "uuid": record.get("uuid"), "name": record.get("name"),
            "hosts": sorted(record.get("hosts") or [])}


def provider_entry(record, inventories=None, traits=None, aggregates=None, allocations=None):
    """One provider with its parts (``None`` where the read failed)."""
    return {
        "uuid": record.get("uuid"),
        "name": record.get("name"),
        "generation": record.get("generation"),
        "root_provider_uuid": record.get("root_provider_uuid") or record.get("uuid"),
        "parent_provider_uuid": record.get("parent_provider_uuid"),
        "inventories": inventories,
        "traits": traits,
        "aggregates": aggregates,
        "allocations": allocations,
    }


def validate_compute_config(value, option="compute_config"):
    """``{host or '*': {cpu_allocation_ratio: ..., reserved_host_memory_mb: ...}}``, checked."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AuditError("%s must be a mapping of compute host names (or '*') to nova.conf values" % option)
    result = {}
    for host, settings in value.items():
        if not isinstance(settings, dict):
            raise AuditError("%s.%s must be a mapping of %s" % (option, host, ", ".join(CONFIG_KEYS)))
        unknown = sorted(set(settings) - set(CONFIG_KEYS))
        if unknown:
            raise AuditError("%s.%s has unknown key(s) %s; the keys are %s"
                             % (option, host, ", ".join(unknown), ", ".join(CONFIG_KEYS)))
        entry = {}
        for key, raw in settings.items():
            if raw is None:
                entry[key] = None
                continue
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise AuditError("%s.%s.%s must be a number, got %r" % (option, host, key, raw)) from None
            if isinstance(raw, bool) or number < 0:
                raise AuditError("%s.%s.%s must be a number >= 0, got %r" % (option, host, key, raw))
            entry[key] = number if key.endswith("_ratio") else int(number)
        result[str(host)] = entry
    return result


# ------------------------------------------------------------------ helpers

def _nova_amounts(resources):
    return {rc: n for rc, n in (resources or {}).items() if rc in NOVA_RESOURCE_CLASSES}


def _add(target, amounts, sign=1):
    for rc, n in (amounts or {}).items():
        target[rc] = target.get(rc, 0) + sign * n
        if target[rc] == 0:
            del target[rc]


def _pref(provider):
    if provider is None:
        return None
    return {"uuid": provider["uuid"], "name": provider["name"]}


def _sref(server):
    return {key: server.get(key) for key in ("id", "name", "project_id", "host", "node", "status")}


def _effect(provider, held=None, free=None):
    return {"provider_uuid": provider["uuid"] if provider else None,
            "provider_name": provider["name"] if provider else None,
            "wrongly_held": dict(held or {}), "wrongly_free": dict(free or {})}


def _fmt(amounts):
    return ", ".join("%s=%s" % (rc, amounts[rc]) for rc in sorted(amounts)) or "nothing"


def expected_resources(server):
    """What Nova claims for the server's flavor: a list of acceptable amount sets (PCPU or fallback)."""
    flavor = server.get("flavor") or {}
    if flavor.get("vcpus") is None or flavor.get("ram") is None:
        return None
    try:
        request = _cap.flavor_request(flavor, is_bfv=bool(server.get("volume_backed")))
    except _cap.CapacityError:
        return None
    options = [request["resources"]]
    if request.get("fallback"):
        options.append(request["fallback"]["resources"])
    return [{rc: n for rc, n in option.items() if rc in FLAVOR_CLASSES} for option in options]


def _finding(kind, message, **fields):
    finding = {"kind": kind, "message": message, "provider": None, "server": None, "consumer": None,
               "amounts": {}, "evidence": {"nova": None, "placement": None}, "capacity_effect": [],
               "fix": {"commands": [], "repair": None}}
    finding.update(fields)
    return finding


# ------------------------------------------------------------------ the audit

def audit(hypervisors, services, aggregates, servers, migrations, providers, compute_config=None,
          settled_consumers=None):
    """Compare Nova's records with placement's; return ``{"findings", "unknown", "summary", "capacity_effect"}``.

    Every argument is a list of the ``*_entry`` dicts above (``providers`` with their
    inventories, traits, aggregates and allocations ``{consumer: {"resources": {...}}}``).
    ``settled_consumers``: consumers whose re-read after Nova's lists disagreed with the first
    read (boots and deletes in flight): they are left out, never guessed about.
    """
    compute_config = compute_config or {}
    in_flight = set(settled_consumers or ())
    findings, unknown = [], []
    prov_by_uuid = {p["uuid"]: p for p in providers}
    hyp_by_uuid = {h["id"]: h for h in hypervisors if h.get("id")}
    hyp_by_node = {}
    for hyp in hypervisors:
        hyp_by_node.setdefault(hyp.get("hypervisor_hostname"), []).append(hyp)
    hosts_nodes = {}
    for hyp in hypervisors:
        hosts_nodes.setdefault(hyp.get("host"), []).append(hyp)
    service_by_host = {s["host"]: s for s in services}
    server_by_id = {s["id"]: s for s in servers}
    migration_by_uuid = {m["uuid"]: m for m in migrations if m.get("uuid")}
    migrating_instances = {m["instance_uuid"] for m in migrations
                           if m.get("status") not in ENDED_MIGRATION_STATUSES}

    # consumer -> {provider uuid: nova resources}, from the providers' allocations
    consumers = {}
    unread = []
    for prov in providers:
        if prov.get("allocations") is None:
            unread.append(prov)
            continue
        for consumer, body in prov["allocations"].items():
            amounts = _nova_amounts((body or {}).get("resources"))
            if amounts:
                consumers.setdefault(consumer, {})[prov["uuid"]] = amounts
    if unread:
        unknown.append({"check": "allocations", "objects": [_pref(p) for p in unread],
                        "why": "the allocations of these providers could not be read",
                        "decide_by": "GET /resource_providers/{uuid}/allocations with admin credentials"})

    # 1. consumers that are neither an instance nor a migration in progress
    for consumer in sorted(consumers):
        if consumer in server_by_id or consumer in in_flight:
            continue
        per_provider = consumers[consumer]
        migration = migration_by_uuid.get(consumer)
        if migration and migration.get("status") not in ENDED_MIGRATION_STATUSES:
            continue
        total = {}
        for amounts in per_provider.values():
            _add(total, amounts)
        effects = [_effect(prov_by_uuid[u], held=a) for u, a in sorted(per_provider.items())]
        on = ", ".join("%s (%s)" % (prov_by_uuid[u]["name"], _fmt(a)) for u, a in sorted(per_provider.items()))
        repair = {"action": "delete_allocations", "consumer": consumer,
                  "providers": {u: dict(a) for u, a in per_provider.items()}}
        commands = ["openstack resource provider allocation delete %s" % consumer]
        if migration:
            instance = server_by_id.get(migration.get("instance_uuid"))
            own = consumers.get(migration.get("instance_uuid")) if instance else None
            message = ("migration %s (%s, %s) ended but still holds %s"
                       % (consumer, migration.get("migration_type") or "migration", migration.get("status"), on))
            if instance and not own and instance.get("host"):
                # the instance's usage is only held under the migration: heal it after the delete
                commands.append("nova-manage placement heal_allocations --instance %s" % instance["id"])
                repair["then_heal"] = True
            findings.append(_finding(
                "ended_migration_allocation", message, consumer=consumer, amounts=total,
                provider=_pref(prov_by_uuid[sorted(per_provider)[0]]),
                server=_sref(instance) if instance else {"id": migration.get("instance_uuid")},
                migration=dict(migration),
                evidence={"nova": "migration %s of instance %s is %s (not in progress)"
                                  % (consumer, migration.get("instance_uuid"), migration.get("status")),
                          "placement": "consumer %s holds %s" % (consumer, on)},
                capacity_effect=effects, fix={"commands": commands, "repair": repair}))
            continue
        findings.append(_finding(
            "orphaned_allocation",
            "consumer %s is neither an instance nor a migration in progress but holds %s" % (consumer, on),
            consumer=consumer, amounts=total, provider=_pref(prov_by_uuid[sorted(per_provider)[0]]),
            evidence={"nova": "no server and no migration has uuid %s" % consumer,
                      "placement": "consumer %s holds %s" % (consumer, on)},
            capacity_effect=effects, fix={"commands": commands, "repair": repair}))

    # 2. instances: no allocation, wrong provider, wrong amounts
    for server in sorted(servers, key=lambda s: s["id"]):
        if server.get("task_state") or server["id"] in migrating_instances or server["id"] in in_flight:
            continue
        status = server.get("status")
        own = consumers.get(server["id"])
        if status == "SHELVED_OFFLOADED" or (status == "ERROR" and not server.get("host")):
            if own:
                on = ", ".join("%s (%s)" % (prov_by_uuid[u]["name"], _fmt(a)) for u, a in sorted(own.items()))
                findings.append(_finding(
                    "instance_allocation_wrong_provider",
                    "server %s (%s) is %s on no host but holds %s" % (server["name"], server["id"], status, on),
                    server=_sref(server), consumer=server["id"],
                    amounts={rc: n for a in own.values() for rc, n in a.items()},
                    provider=_pref(prov_by_uuid[sorted(own)[0]]),
                    evidence={"nova": "status %s, no host" % status, "placement": "allocations on %s" % on},
                    capacity_effect=[_effect(prov_by_uuid[u], held=a) for u, a in sorted(own.items())],
                    fix={"commands": ["openstack resource provider allocation delete %s" % server["id"]],
                         "repair": {"action": "delete_allocations", "consumer": server["id"],
                                    "providers": {u: dict(a) for u, a in own.items()}}}))
            continue
        if status not in SETTLED_STATUSES or not server.get("host"):
            continue
        nodes = [h for h in hyp_by_node.get(server.get("node"), []) if h.get("host") == server.get("host")]
        host_prov = prov_by_uuid.get(nodes[0]["id"]) if len(nodes) == 1 else None
        expected = expected_resources(server)
        if not own:
            if status == "ERROR":
                continue  # a failed build may hold nothing: not decidable from the API
            amounts = expected[0] if expected else {}
            findings.append(_finding(
                "instance_without_allocation",
                "server %s (%s, %s on %s) has no allocation in placement: %s look free on %s"
                % (server["name"], server["id"], status, server.get("node"), _fmt(amounts),
                   host_prov["name"] if host_prov else server.get("node")),
                server=_sref(server), consumer=server["id"], amounts=amounts, provider=_pref(host_prov),
                evidence={"nova": "server %s is %s on host %s node %s with flavor %s"
                                  % (server["id"], status, server.get("host"), server.get("node"),
                                     server["flavor"].get("name")),
                          "placement": "no allocation for consumer %s" % server["id"]},
                capacity_effect=[_effect(host_prov, free=amounts)] if host_prov else [],
                fix={"commands": ["nova-manage placement heal_allocations --instance %s" % server["id"]],
                     "repair": ({"action": "create_allocations", "consumer": server["id"],
                                 "provider": host_prov["uuid"], "resources": dict(amounts),
                                 "project_id": server.get("project_id"), "user_id": server.get("user_id")}
                                if host_prov and amounts and server.get("project_id") and server.get("user_id")
                                else None)}))
            continue
        if host_prov is None:
            continue  # the node's provider is missing: reported as compute_node_without_provider
        host_root = host_prov["root_provider_uuid"]
        elsewhere = {u: a for u, a in own.items()
                     if prov_by_uuid[u]["root_provider_uuid"] != host_root
                     and any(rc in COMPUTE_CLASSES for rc in a)}
        if elsewhere:
            on = ", ".join("%s (%s)" % (prov_by_uuid[u]["name"], _fmt(a)) for u, a in sorted(elsewhere.items()))
            wrong = {}
            for amounts in elsewhere.values():
                _add(wrong, amounts)
            at_host = {}
            for u, a in own.items():
                if prov_by_uuid[u]["root_provider_uuid"] == host_root:
                    _add(at_host, a)
            effects = [_effect(prov_by_uuid[u], held=a) for u, a in sorted(elsewhere.items())]
            missing = {rc: n for rc, n in (expected[0] if expected else {}).items()
                       if rc in COMPUTE_CLASSES and at_host.get(rc, 0) < n}
            if missing:
                effects.append(_effect(host_prov, free=missing))
            findings.append(_finding(
                "instance_allocation_wrong_provider",
                "server %s (%s) runs on %s but holds %s" % (server["name"], server["id"], server.get("node"), on),
                server=_sref(server), consumer=server["id"], amounts=wrong, provider=_pref(host_prov),
                evidence={"nova": "server %s is on host %s node %s (provider %s)"
                                  % (server["id"], server.get("host"), server.get("node"), host_prov["uuid"]),
                          "placement": "consumer %s holds %s" % (server["id"], on)},
                capacity_effect=effects,
                fix={"commands": ["openstack resource provider allocation delete %s" % server["id"],
                                  "nova-manage placement heal_allocations --instance %s" % server["id"]],
                     "repair": None}))
            continue
        if expected is None:
            unknown.append({"check": "instance_allocation_amounts", "objects": [_sref(server)],
                            "why": "the server's embedded flavor lacks vcpus/ram (compute API older than 2.47?)",
                            "decide_by": "the flavor the server was built with"})
            continue
        total = {}
        for amounts in own.values():
            _add(total, {rc: n for rc, n in amounts.items() if rc in FLAVOR_CLASSES})
        if any(total == option for option in expected):
            continue
        want = expected[0]
        diff = {rc: total.get(rc, 0) - want.get(rc, 0) for rc in set(total) | set(want)
                if total.get(rc, 0) != want.get(rc, 0)}
        held = {rc: d for rc, d in diff.items() if d > 0}
        free = {rc: -d for rc, d in diff.items() if d < 0}
        findings.append(_finding(
            "instance_allocation_wrong_amounts",
            "server %s (%s) holds %s but its flavor %s needs %s"
            % (server["name"], server["id"], _fmt(total), server["flavor"].get("name"), _fmt(want)),
            server=_sref(server), consumer=server["id"], amounts=total, provider=_pref(host_prov),
            expected=want, difference=diff,
            evidence={"nova": "flavor %s: %s" % (server["flavor"].get("name"), _fmt(want)),
                      "placement": "consumer %s holds %s" % (server["id"], _fmt(total))},
            capacity_effect=[_effect(host_prov, held=held, free=free)],
            fix={"commands": ["openstack resource provider allocation set %s %s" % (
                server["id"], " ".join("--allocation rp=%s,%s=%s" % (host_prov["uuid"], rc, n)
                                       for rc, n in sorted(want.items())))],
                 "repair": None}))

    # 3. providers without a compute node, compute nodes without a provider
    for prov in sorted(providers, key=lambda p: p["name"] or ""):
        if prov["parent_provider_uuid"] or prov["uuid"] in hyp_by_uuid:
            continue
        if SHARING_TRAIT in (prov.get("traits") or []):
            continue
        inventories = prov.get("inventories") or {}
        if not any(rc in inventories for rc in COMPUTE_CLASSES):
            continue  # not a compute node shape (another service's provider)
        held = {}
        for consumer, body in (prov.get("allocations") or {}).items():
            _add(held, _nova_amounts((body or {}).get("resources")))
        same_name = hyp_by_node.get(prov["name"]) or []
        children = [p for p in providers if p["root_provider_uuid"] == prov["uuid"] and p["uuid"] != prov["uuid"]]
        nova_says = ("compute node %s has uuid %s" % (prov["name"], same_name[0]["id"]) if same_name
                     else "no compute node has uuid %s or name %s" % (prov["uuid"], prov["name"]))
        phantom = {rc: _capacity(inv) for rc, inv in inventories.items() if _capacity(inv)}
        _add(phantom, held, -1)
        repair = None
        if not held and not children and not (prov.get("allocations") or {}):
            repair = {"action": "delete_provider", "provider": prov["uuid"], "name": prov["name"],
                      "generation": prov.get("generation")}
        commands = []
        if held:
            commands.append("openstack resource provider allocation delete <consumer> (for each of %s)"
                            % ", ".join(sorted(prov.get("allocations") or {})))
        commands.append("openstack resource provider delete %s" % prov["uuid"])
        findings.append(_finding(
            "provider_without_compute_node",
            "resource provider %s (%s) has no compute node%s; it holds %s"
            % (prov["name"], prov["uuid"],
               " (a compute node of that name has uuid %s: renamed or re-created)" % same_name[0]["id"]
               if same_name else " (renamed host or deleted service)", _fmt(held)),
            provider=_pref(prov), amounts=held, consumers=sorted(prov.get("allocations") or {}),
            evidence={"nova": nova_says, "placement": "root provider %s with inventory of %s"
                      % (prov["uuid"], ", ".join(sorted(inventories)))},
            capacity_effect=[_effect(prov, held=held, free=phantom)],
            fix={"commands": commands, "repair": repair}))

    prov_by_name = {p["name"]: p for p in providers}
    for hyp in sorted(hypervisors, key=lambda h: (h.get("hypervisor_hostname") or "", h.get("id") or "")):
        if not hyp.get("id") or hyp["id"] in prov_by_uuid:
            continue
        clash = prov_by_name.get(hyp.get("hypervisor_hostname"))
        duplicates = [h for h in hyp_by_node.get(hyp.get("hypervisor_hostname"), []) if h["id"] != hyp["id"]]
        commands = []
        if clash:
            commands.append("openstack resource provider delete %s  # the stale provider holding the name, once it "
                            "holds no allocations" % clash["uuid"])
        if duplicates:
            commands.append("openstack compute service delete <id of the stale service of host %s>"
                            % ", ".join(sorted({str(h.get("host")) for h in duplicates})))
        commands.append("restart nova-compute on %s (it creates the provider on its next resource update)"
                        % hyp.get("host"))
        findings.append(_finding(
            "compute_node_without_provider",
            "compute node %s (%s, host %s) has no resource provider%s: the scheduler never picks it"
            % (hyp.get("hypervisor_hostname"), hyp["id"], hyp.get("host"),
               "; provider %s already holds the name" % clash["uuid"] if clash else ""),
            compute_node={"uuid": hyp["id"], "hypervisor_hostname": hyp.get("hypervisor_hostname"),
                          "host": hyp.get("host")},
            duplicates=[{"uuid": h["id"], "host": h.get("host")} for h in duplicates],
            provider=_pref(clash),
            evidence={"nova": "compute node %s uuid %s" % (hyp.get("hypervisor_hostname"), hyp["id"]),
                      "placement": "no provider with uuid %s%s" % (
                          hyp["id"], "; the name %s belongs to %s" % (clash["name"], clash["uuid"]) if clash else "")},
            fix={"commands": commands, "repair": None}))

    # 4. aggregates. Nova mirrors a host's aggregates into placement for one node only
    # (AggregateAPI.add_host_to_aggregate takes the host's first compute node; sync_aggregates
    # refuses hosts with several): for multi-node hosts (ironic) Nova defines no membership.
    multi_node = {host for host, nodes in hosts_nodes.items() if len(nodes) > 1}
    unread_aggs = [p for p in providers if p["uuid"] in hyp_by_uuid and p.get("aggregates") is None]
    if unread_aggs:
        unknown.append({"check": "aggregates", "objects": [_pref(p) for p in unread_aggs],
                        "why": "the placement aggregates of these providers could not be read",
                        "decide_by": "GET /resource_providers?member_of=<aggregate uuid> with admin credentials"})
    unread_traits = [p for p in providers if p["uuid"] in hyp_by_uuid and p.get("traits") is None]
    if unread_traits:
        unknown.append({"check": "disabled_trait", "objects": [_pref(p) for p in unread_traits],
                        "why": "the traits of these providers could not be read",
                        "decide_by": "GET /resource_providers?required=COMPUTE_STATUS_DISABLED with admin credentials"})
    multi_in_aggs = sorted(h for h in multi_node if any(h in a["hosts"] for a in aggregates))
    if multi_in_aggs:
        unknown.append({
            "check": "aggregate_membership_of_multi_node_hosts",
            "objects": [{"host": h, "nodes": len(hosts_nodes[h])} for h in multi_in_aggs],
            "why": "Nova mirrors a host's aggregates into placement for one of its compute nodes only, and "
                   "nova-manage placement sync_aggregates refuses hosts with several nodes: Nova defines no "
                   "placement membership for the other nodes (placement prefilters such as the AZ one skip them)",
            "decide_by": "whether the placement aggregate prefilters ([scheduler] query_placement_for_*, "
                         "limit_tenants_to_placement_aggregate) are in use; if so add every node's provider to "
                         "the aggregate with openstack resource provider aggregate set"})
    for agg in sorted(aggregates, key=lambda a: a.get("name") or ""):
        if not agg.get("uuid"):
            continue
        members = set(agg["hosts"])
        for host in sorted(members - multi_node):
            for hyp in hosts_nodes.get(host, []):
                prov = prov_by_uuid.get(hyp.get("id"))
                if prov is None or prov.get("aggregates") is None or agg["uuid"] in prov["aggregates"]:
                    continue
                findings.append(_finding(
                    "aggregate_missing_in_placement",
                    "host %s is in aggregate %s but provider %s is not in placement aggregate %s: placement "
                    "prefilters (tenant isolation, AZ) miss it" % (host, agg["name"], prov["name"], agg["uuid"]),
                    provider=_pref(prov), aggregate=dict(agg),
                    evidence={"nova": "aggregate %s (%s) hosts: %s" % (agg["name"], agg["uuid"], ", ".join(agg["hosts"])),
                              "placement": "provider %s is not in placement aggregate %s (of Nova's aggregates it is in: %s)"
                                           % (prov["name"], agg["uuid"], ", ".join(prov["aggregates"]) or "none")},
                    fix={"commands": ["nova-manage placement sync_aggregates"],
                         "repair": {"action": "set_aggregates", "provider": prov["uuid"], "name": prov["name"],
                                    "add": [agg["uuid"]], "remove": []}}))
        for prov in sorted(providers, key=lambda p: p["name"] or ""):
            hyp = hyp_by_uuid.get(prov["uuid"])
            if hyp is None or prov.get("aggregates") is None or agg["uuid"] not in prov["aggregates"]:
                continue
            if hyp.get("host") in members or hyp.get("host") in multi_node:
                continue
            findings.append(_finding(
                "aggregate_stale_in_placement",
                "provider %s is in placement aggregate %s but host %s is not in Nova aggregate %s"
                % (prov["name"], agg["uuid"], hyp.get("host"), agg["name"]),
                provider=_pref(prov), aggregate=dict(agg),
                evidence={"nova": "aggregate %s (%s) hosts: %s" % (agg["name"], agg["uuid"], ", ".join(agg["hosts"]) or "none"),
                          "placement": "provider %s is in aggregate %s" % (prov["name"], agg["uuid"])},
                fix={"commands": ["openstack aggregate add host %s %s; openstack aggregate remove host %s %s "
                                  "(Nova removes the placement aggregate with the host)"
                                  % (agg["name"], hyp.get("host"), agg["name"], hyp.get("host"))],
                     "repair": {"action": "set_aggregates", "provider": prov["uuid"], "name": prov["name"],
                                "add": [], "remove": [agg["uuid"]]}}))

    # 5. COMPUTE_STATUS_DISABLED vs the service status
    for hyp in sorted(hypervisors, key=lambda h: h.get("hypervisor_hostname") or ""):
        prov = prov_by_uuid.get(hyp.get("id"))
        service = service_by_host.get(hyp.get("host"))
        if prov is None or service is None or prov.get("traits") is None or service.get("status") is None:
            continue
        disabled = service["status"] == "disabled"
        has_trait = DISABLED_TRAIT in prov["traits"]
        if disabled == has_trait:
            continue
        findings.append(_finding(
            "disabled_trait_mismatch",
            "service nova-compute on %s is %s but provider %s %s %s" % (
                hyp.get("host"), service["status"], prov["name"], "has" if has_trait else "lacks", DISABLED_TRAIT),
            provider=_pref(prov), service=dict(service),
            evidence={
                "nova": "nova-compute on %s is %s%s" % (
                    hyp.get("host"), service["status"],
                    " (%s)" % service["disabled_reason"] if service.get("disabled_reason") else ""),
                "placement": "provider %s traits %s %s" % (
                    prov["name"], "include" if has_trait else "lack", DISABLED_TRAIT)},
            capacity_effect=[_effect(prov, free=_free_capacity(prov)) if disabled
                             else _effect(prov, held=_free_capacity(prov))],
            fix={"commands": ["openstack compute service set --%s %s nova-compute  # again, with the compute up"
                              % ("disable" if disabled else "enable", hyp.get("host"))],
                 "repair": {"action": "set_traits", "provider": prov["uuid"], "name": prov["name"],
                            "add": [DISABLED_TRAIT] if disabled else [],
                            "remove": [] if disabled else [DISABLED_TRAIT]}}))

    # 6. inventories vs what the compute reports
    undecided = []
    for hyp in sorted(hypervisors, key=lambda h: h.get("hypervisor_hostname") or ""):
        prov = prov_by_uuid.get(hyp.get("id"))
        if prov is None or prov.get("inventories") is None:
            continue
        inv = prov["inventories"]
        if (hyp.get("hypervisor_type") or "").lower() == "ironic":
            continue
        for rc, field in (("VCPU", "vcpus"), ("MEMORY_MB", "memory_mb"), ("DISK_GB", "local_gb")):
            reported = hyp.get(field)
            if reported is None or rc not in inv or (rc == "VCPU" and "PCPU" in inv):
                continue
            if inv[rc].get("total") != reported:
                delta = (inv[rc].get("total") or 0) - reported
                ratio = inv[rc].get("allocation_ratio") or 1.0
                findings.append(_finding(
                    "inventory_mismatch",
                    "provider %s has %s total %s but the compute reports %s %s"
                    % (prov["name"], rc, inv[rc].get("total"), field, reported),
                    provider=_pref(prov), resource_class=rc, field="total",
                    nova_value=reported, placement_value=inv[rc].get("total"),
                    evidence={"nova": "compute node %s %s = %s" % (hyp.get("hypervisor_hostname"), field, reported),
                              "placement": "inventory %s total = %s" % (rc, inv[rc].get("total"))},
                    capacity_effect=[_effect(prov, free={rc: int(delta * ratio)} if delta > 0 else {},
                                             held={rc: int(-delta * ratio)} if delta < 0 else {})],
                    fix={"commands": ["openstack compute service set ... / restart nova-compute on %s (its next "
                                      "resource update rewrites the inventory)" % hyp.get("host")],
                         "repair": None}))
        config = compute_config.get(hyp.get("host"), compute_config.get("*"))
        if config is None:
            undecided.append(prov)
            continue
        for finding in _config_findings(prov, hyp, config):
            findings.append(finding)
    if undecided:
        unknown.append({
            "check": "inventory_allocation_ratio_and_reserved",
            "objects": [_pref(p) for p in undecided],
            "why": "the compute API does not show a compute's *_allocation_ratio or reserved_host_* settings",
            "decide_by": "nova.conf [DEFAULT] cpu/ram/disk_allocation_ratio and reserved_host_cpus/memory_mb/"
                         "disk_mb of each compute (pass them as compute_config): a ratio set there must equal "
                         "placement's; when unset, initial_*_allocation_ratio only applied when the provider was "
                         "created and placement's value is the truth"})

    # 7. services down or deleted with instances on them
    on_host = {}
    for server in servers:
        if server.get("host"):
            on_host.setdefault(server["host"], []).append(server)
    for host in sorted(on_host):
        service = service_by_host.get(host)
        hosted = sorted(on_host[host], key=lambda s: s["name"] or "")
        held = {}
        effects = []
        for server in hosted:
            for u, amounts in (consumers.get(server["id"]) or {}).items():
                _add(held, amounts)
        for hyp in hosts_nodes.get(host, []):
            prov = prov_by_uuid.get(hyp.get("id"))
            if prov is None:
                continue
            prov_held = {}
            for server in hosted:
                _add(prov_held, (consumers.get(server["id"]) or {}).get(prov["uuid"]))
            if prov_held:
                effects.append(_effect(prov, held=prov_held))
        if service is None:
            findings.append(_finding(
                "deleted_service_with_instances",
                "%d server(s) are on host %s, which has no nova-compute service" % (len(hosted), host),
                servers=[_sref(s) for s in hosted], amounts=held,
                evidence={"nova": "servers on %s: %s; no nova-compute service on %s"
                                  % (host, ", ".join(s["name"] or s["id"] for s in hosted[:10]), host),
                          "placement": "their allocations: %s" % _fmt(held)},
                capacity_effect=effects,
                fix={"commands": ["restart nova-compute on %s (the service record comes back), then "
                                  "openstack server evacuate <server> for each" % host], "repair": None}))
        elif service.get("state") == "down" or service.get("forced_down"):
            findings.append(_finding(
                "down_service_with_instances",
                "nova-compute on %s is down%s with %d server(s) on it"
                % (host, " (forced)" if service.get("forced_down") else "", len(hosted)),
                servers=[_sref(s) for s in hosted], service=dict(service), amounts=held,
                evidence={"nova": "nova-compute on %s state %s; servers: %s"
                                  % (host, service.get("state"), ", ".join(s["name"] or s["id"] for s in hosted[:10])),
                          "placement": "their allocations stay held: %s" % _fmt(held)},
                capacity_effect=effects,
                fix={"commands": ["start nova-compute on %s, or: openstack compute service set --down %s "
                                  "nova-compute; openstack server evacuate <server> (each of %d)"
                                  % (host, host, len(hosted))], "repair": None}))

    findings.sort(key=lambda f: (KINDS.index(f["kind"]), f["message"]))
    return {"findings": findings, "unknown": unknown, "summary": summarize(findings, unknown),
            "capacity_effect": capacity_effect(findings)}


def _capacity(inv):
    return int(((inv.get("total") or 0) - (inv.get("reserved") or 0)) * (inv.get("allocation_ratio") or 1.0))


def _free_capacity(prov):
    used = {}
    if prov.get("allocations") is None and prov.get("usages") is not None:
        used = dict(prov["usages"])  # from a snapshot: placement's usages, allocations not read
    for body in (prov.get("allocations") or {}).values():
        _add(used, (body or {}).get("resources"))
    free = {}
    for rc, inv in (prov.get("inventories") or {}).items():
        if rc in FLAVOR_CLASSES:
            value = _capacity(inv) - used.get(rc, 0)
            if value > 0:
                free[rc] = value
    return free


def _config_findings(prov, hyp, config):
    inv = prov.get("inventories") or {}
    checks = (("VCPU", "allocation_ratio", "cpu_allocation_ratio"),
              ("MEMORY_MB", "allocation_ratio", "ram_allocation_ratio"),
              ("DISK_GB", "allocation_ratio", "disk_allocation_ratio"),
              ("VCPU", "reserved", "reserved_host_cpus"),
              ("MEMORY_MB", "reserved", "reserved_host_memory_mb"),
              ("DISK_GB", "reserved", "reserved_host_disk_mb"))
    for rc, field, key in checks:
        if rc not in inv or config.get(key) is None:
            continue
        want = config[key]
        if key == "reserved_host_disk_mb":
            want = int(math.ceil(want / 1024.0))
        have = inv[rc].get(field)
        if have is None or (float(have) == float(want)):
            continue
        wrong = dict(inv[rc], **{field: want})
        delta = _capacity(inv[rc]) - _capacity(wrong)
        yield _finding(
            "inventory_mismatch",
            "provider %s has %s %s %s but nova.conf of %s sets %s = %s"
            % (prov["name"], rc, field, have, hyp.get("host"), key, config[key]),
            provider=_pref(prov), resource_class=rc, field=field, nova_value=want, placement_value=have,
            evidence={"nova": "%s = %s on %s" % (key, config[key], hyp.get("host")),
                      "placement": "inventory %s %s = %s" % (rc, field, have)},
            capacity_effect=[_effect(prov, free={rc: delta} if delta > 0 else {},
                                     held={rc: -delta} if delta < 0 else {})],
            fix={"commands": ["openstack resource provider inventory set %s --amend --resource %s:%s=%s"
                              % (prov["uuid"], rc, field, want)],
                 "repair": {"action": "set_inventory", "provider": prov["uuid"], "name": prov["name"],
                            "resource_class": rc, "field": field, "value": want, "was": have}})


# ------------------------------------------------------------------ from a cloud snapshot

# The kinds a cloud snapshot (docs/snapshot.md) decides from its own data, with no extra request.
SNAPSHOT_KINDS = ("compute_node_without_provider", "aggregate_missing_in_placement",
                  "aggregate_stale_in_placement", "disabled_trait_mismatch")
SNAPSHOT_ADVICE = "run stackops.nova.placement_audit for the evidence and the fix"
_SNAPSHOT_AGGREGATE_KINDS = ("aggregate_missing_in_placement", "aggregate_stale_in_placement")


def snapshot_audit(hosts, aggregates, nodes_per_host=None):
    """The audit's findings of :data:`SNAPSHOT_KINDS` over the hosts of a snapshot, through :func:`audit`.

    ``hosts``: snapshot host objects whose placement part was read (``provider_uuid`` null: no
    provider); ``aggregates``: the snapshot's aggregates. ``nodes_per_host``: ``{service host:
    compute nodes}`` of the whole cloud (a filtered snapshot may hold one node of a multi-node
    host): Nova mirrors a host's aggregates into placement for one node only, so for a host with
    several nodes the aggregate kinds are unknown and never reported. Fields that are null (not
    read) decide nothing. Returns the findings, as :func:`audit` words them.
    """
    hypervisors, services, providers, host_of = [], {}, [], {}
    for entry in hosts:
        uuid = entry.get("provider_uuid")
        hyp_id = entry.get("hypervisor_id")
        if not _facts.is_uuid(hyp_id):
            hyp_id = uuid or hyp_id  # before compute API 2.53: the provider was found by name
        # else a provider_uuid other than the node's uuid is a provider of the same name (facts.match_providers)
        hypervisors.append({"id": hyp_id, "hypervisor_hostname": entry.get("nodename"), "host": entry.get("name"),
                            "hypervisor_type": entry.get("hypervisor_type"),
                            "vcpus": None, "memory_mb": None, "local_gb": None})
        if entry.get("service") is not None:
            services.setdefault(entry.get("name"), dict(entry["service"], host=entry.get("name")))
        if not uuid:
            continue
        host_of[uuid] = entry.get("name")
        resources = entry.get("resources") or {}
        known = all(view.get("used") is not None for view in resources.values())
        prov = provider_entry({"uuid": uuid, "name": entry.get("nodename")},
                              inventories=dict(resources) if known else {}, traits=entry.get("traits"),
                              aggregates=entry.get("provider_aggregates"), allocations=None)
        prov["usages"] = {rc: view["used"] for rc, view in resources.items()} if known else {}
        providers.append(prov)
    result = audit(hypervisors, list(services.values()), [aggregate_entry(a) for a in aggregates or ()],
                   [], [], providers)
    in_snapshot = {}
    for entry in hosts:
        in_snapshot[entry.get("name")] = in_snapshot.get(entry.get("name"), 0) + 1
    counts = {name: max(n, (nodes_per_host or {}).get(name, 0)) for name, n in in_snapshot.items()}
    findings = []
    for finding in result["findings"]:
        if finding["kind"] not in SNAPSHOT_KINDS:
            continue
        if finding["kind"] in _SNAPSHOT_AGGREGATE_KINDS \
                and counts.get(host_of.get((finding.get("provider") or {}).get("uuid")), 0) != 1:
            continue
        findings.append(finding)
    return findings


def _snapshot_effect(finding):
    """What the finding does to the snapshot's numbers (totals, headroom, explanations)."""
    kind = finding["kind"]
    if kind == "compute_node_without_provider":
        if finding.get("provider"):
            return ("the resources and traits shown for it are those of provider %s (%s), which no compute node "
                    "has: the scheduler never picks this node, so its free capacity is not really free"
                    % (finding["provider"]["name"], finding["provider"]["uuid"]))
        return "its resources and traits are unknown here (left out of totals and headroom)"
    if kind == "disabled_trait_mismatch":
        effect = (finding.get("capacity_effect") or [{}])[0]
        if (finding.get("service") or {}).get("status") != "disabled":
            return ("placement hides its free %s from the scheduler (wrongly held); the headroom counts it 0 "
                    "although Nova has the service enabled" % (_fmt(effect.get("wrongly_held") or {})
                                                               if effect.get("wrongly_held") else "capacity"))
        return ("placement still offers its free %s (wrongly free); the headroom counts it 0 because the "
                "service is disabled" % (_fmt(effect.get("wrongly_free") or {})
                                         if effect.get("wrongly_free") else "capacity"))
    aggregate = finding.get("aggregate") or {}
    if kind == "aggregate_missing_in_placement":
        return ("its capacity is counted in aggregate %s here but placement's aggregate prefilters do not "
                "offer it for that aggregate" % aggregate.get("name"))
    return ("placement's aggregate prefilters offer its capacity for aggregate %s, which does not count "
            "it here" % aggregate.get("name"))


def snapshot_warnings(findings, limit=10):
    """One warning per finding (at most ``limit`` per kind, then a count): what, the effect, the advice."""
    warnings = []
    for kind in KINDS:
        group = [f for f in findings if f["kind"] == kind]
        for finding in group[:limit]:
            warnings.append("placement audit: %s; effect on these numbers: %s; %s"
                            % (finding["message"], _snapshot_effect(finding), SNAPSHOT_ADVICE))
        if len(group) > limit:
            warnings.append("placement audit: %d more %s finding(s) (%s); %s" % (
                len(group) - limit, kind,
                ", ".join(str((f.get("provider") or {}).get("name") or (f.get("compute_node") or {}).get(
                    "hypervisor_hostname")) for f in group[limit:limit + 10]), SNAPSHOT_ADVICE))
    return warnings


def summarize(findings, unknown=()):
    counts = {kind: 0 for kind in KINDS}
    for finding in findings:
        counts[finding["kind"]] += 1
    found = {k: n for k, n in counts.items() if n}
    line = ("placement audit: %d finding(s)%s; %d check(s) unknown"
            % (len(findings), " (%s)" % ", ".join("%s %d" % (k, n) for k, n in found.items()) if found else "",
               len(unknown)))
    return {"total": len(findings), "by_kind": counts, "unknown": len(unknown),
            "repairable": sum(1 for f in findings if f["fix"]["repair"]), "line": line}


def capacity_effect(findings):
    """Per provider, the sum of what the findings say is wrongly held and wrongly free."""
    result = {}
    for finding in findings:
        for effect in finding.get("capacity_effect") or []:
            if not effect.get("provider_uuid"):
                continue
            entry = result.setdefault(effect["provider_uuid"], {
                "provider_name": effect["provider_name"], "wrongly_held": {}, "wrongly_free": {}})
            _add(entry["wrongly_held"], effect["wrongly_held"])
            _add(entry["wrongly_free"], effect["wrongly_free"])
    return {u: e for u, e in sorted(result.items()) if e["wrongly_held"] or e["wrongly_free"]}


def orphan_candidates(providers, servers, migrations):
    """Consumers to re-read before calling them orphaned or missing (races with boots and deletes)."""
    server_ids = {s["id"] for s in servers}
    in_progress = {m["uuid"] for m in migrations if m.get("uuid") and m.get("status") not in ENDED_MIGRATION_STATUSES}
    held = set()
    for prov in providers:
        for consumer, body in (prov.get("allocations") or {}).items():
            if _nova_amounts((body or {}).get("resources")):
                held.add(consumer)
    orphans = sorted(c for c in held if c not in server_ids and c not in in_progress)
    missing = sorted(s["id"] for s in servers if s["id"] not in held and s.get("host")
                     and s.get("status") in SETTLED_STATUSES and not s.get("task_state"))
    return orphans + missing


def repairs(findings, kinds=None):
    """The API-level repairs of the findings (optionally only of some kinds), deduplicated."""
    actions = []
    seen = set()
    for finding in findings:
        if kinds and finding["kind"] not in kinds:
            continue
        repair = finding["fix"].get("repair")
        if not repair:
            continue
        key = repr(sorted(repair.items()))
        if key in seen:
            continue
        seen.add(key)
        actions.append(dict(repair, kind=finding["kind"]))
    return actions
