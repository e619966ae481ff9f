# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PciPassthroughFilter with Nova's semantics over the snapshot's PCI pools.

Mirrors nova 34: ``nova.pci.request.get_alias_from_config`` (``[pci] alias``),
``_translate_alias_to_requests`` (``pci_passthrough:alias`` extra spec),
``hardware.get_pci_numa_policy_constraint`` (``hw:pci_numa_affinity_policy`` /
``hw_pci_numa_affinity_policy``) and ``nova.pci.stats.PciDeviceStats.support_requests``
(pool filtering by spec, NUMA affinity, unrequested PFs, vDPA and remote-managed devices,
live-migratable devices; consumption order). tests/oracle/test_pci_oracle.py compares every
verdict with Nova's own classes.

A snapshot host's ``pci_pools`` list mirrors the scheduler's ``HostState.pci_stats`` pools::

    {"vendor_id": "8086", "product_id": "154d", "numa_node": 0, "count": 4,
     "dev_type": "type-VF", "tags": {"physical_network": "physnet1", "trusted": "true"}}

A host without ``pci_pools`` has unknown PCI state (``pci_unknown`` may say why).

The scheduler's PciPassthroughFilter calls ``support_requests`` without guest NUMA cells,
so the NUMA affinity policy is not applied there: NUMATopologyFilter applies it (through
``numa_fit_instance_to_host``) for guests with a NUMA topology. :func:`support_requests`
takes ``numa_cells`` (guest cell ids mapped to host cells) and ``host_cells`` (the
snapshot's ``numa.cells``, for the ``socket`` policy) so the NUMA model can call it per
cell.
"""

from __future__ import annotations

import json
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C

POLICIES = ("required", "legacy", "preferred", "socket")  # fields.PCINUMAAffinityPolicy.ALL
ALIAS_DEVICE_TYPES = ("type-PCI", "type-PF", "type-VF")  # vdpa cannot be requested by alias
_ALIAS_KEYS = ("name", "capability_type", "product_id", "vendor_id", "device_type", "numa_policy",
               "resource_class", "traits", "live_migratable")
_VENDOR_RE = re.compile(r"^[\da-fA-F]{4}$")  # nova.pci.utils.PCI_VENDOR_PATTERN
_IGNORED_SPEC_TAGS = ("resource_class", "traits", "rp_uuids")
_POOL_KEYS = ("vendor_id", "product_id", "numa_node", "count", "dev_type")
_TRUE = ("1", "t", "true", "on", "y", "yes")


class PciAliasError(Exception):
    """Nova refuses the request (PciInvalidAlias, PciRequestAliasNotDefined, ...)."""


def _bool_from_string(value):
    """oslo_utils.strutils.bool_from_string (non-strict, default False)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in _TRUE


# ---------------------------------------------------------------- aliases and requests

def parse_aliases(values, pci_in_placement=False):
    """``[pci] alias`` -> {name: (numa_policy, [spec, ...])} as get_alias_from_config.

    ``values`` is the option's list of JSON strings (dicts are accepted too).
    Raises PciAliasError with Nova's reason where Nova raises PciInvalidAlias.
    """
    aliases = {}
    if isinstance(values, (str, dict)):
        values = [values]  # one alias line
    if not isinstance(values, (list, tuple)):
        raise PciAliasError("scheduler.pci_alias must be a list of [pci] alias JSON strings, got %r" % (values,))
    for item in values or []:
        try:
            spec = json.loads(item) if isinstance(item, str) else dict(item)
        except (TypeError, ValueError) as exc:
            raise PciAliasError("PCI alias %r is not JSON: %s" % (item, exc)) from None
        _validate_alias(spec)
        spec = dict(spec)
        name = spec.pop("name").strip()
        policy = spec.pop("numa_policy", None) or "legacy"
        dev_type = spec.pop("device_type", None)
        if dev_type:
            spec["dev_type"] = dev_type
        live = spec.pop("live_migratable", None)
        if live is not None:
            text = str(live).strip().lower()
            if text in _TRUE:
                spec["live_migratable"] = "true"
            elif text in ("0", "f", "false", "off", "n", "no"):
                spec["live_migratable"] = "false"
            else:
                raise PciAliasError("PCI alias %s: live_migratable %r is not a boolean" % (name, live))
        if name not in aliases:
            aliases[name] = (policy, [spec])
            continue
        if aliases[name][0] != policy:
            raise PciAliasError("NUMA policy mismatch for alias '%s'" % name)
        if "dev_type" not in aliases[name][1][0] or "dev_type" not in spec:
            raise PciAliasError("alias '%s' is defined more than once and not every definition has a "
                                "device_type (Nova fails with KeyError 'dev_type')" % name)
        if aliases[name][1][0]["dev_type"] != spec["dev_type"]:
            raise PciAliasError("Device type mismatch for alias '%s'" % name)
        aliases[name][1].append(spec)
    if pci_in_placement:
        multi = [n for n, a in aliases.items() if len(a[1]) > 1]
        if multi:
            raise PciAliasError("The PCI alias(es) %s have multiple specs but [filter_scheduler]pci_in_placement "
                                "is True" % ",".join(multi))
    missing = sorted({n for n, a in aliases.items() for s in a[1]
                      if not ("vendor_id" in s and "product_id" in s)
                      and not (pci_in_placement and "resource_class" in s)})
    if missing:
        raise PciAliasError("The PCI alias(es) %s does not have vendor_id and product_id fields set."
                            % ",".join(missing))
    return aliases


def _validate_alias(spec):
    """nova.pci.request._ALIAS_SCHEMA."""
    if not isinstance(spec, dict):
        raise PciAliasError("PCI alias %r is not a JSON object" % (spec,))
    extra = sorted(k for k in spec if k not in _ALIAS_KEYS)
    if extra:
        raise PciAliasError("Additional properties are not allowed (%s were unexpected)"
                            % ", ".join(repr(k) for k in extra))
    if "name" not in spec:
        raise PciAliasError("'name' is a required property")
    for key in spec:
        if not isinstance(spec[key], str):
            raise PciAliasError("PCI alias field %s=%r is not a string" % (key, spec[key]))
    if not 1 <= len(spec["name"]) <= 256:
        raise PciAliasError("PCI alias name %r must be 1 to 256 characters" % spec["name"])
    for key in ("vendor_id", "product_id"):
        if key in spec and not _VENDOR_RE.match(spec[key]):
            raise PciAliasError("PCI alias %s: %s %r is not 4 hex digits" % (spec["name"], key, spec[key]))
    if "device_type" in spec and spec["device_type"] not in ALIAS_DEVICE_TYPES:
        raise PciAliasError("PCI alias %s: device_type %r is not one of %s" % (
            spec["name"], spec["device_type"], ", ".join(ALIAS_DEVICE_TYPES)))
    if "numa_policy" in spec and spec["numa_policy"] not in POLICIES:
        raise PciAliasError("PCI alias %s: numa_policy %r is not one of %s" % (
            spec["name"], spec["numa_policy"], ", ".join(POLICIES)))
    if "capability_type" in spec and spec["capability_type"] != "pci":
        raise PciAliasError("PCI alias %s: capability_type must be 'pci'" % spec["name"])


def numa_policy_constraint(extra_specs, image_props):
    """hardware.get_pci_numa_policy_constraint: the flavor's or image's policy, or None."""
    flavor_policy = extra_specs.get("hw:pci_numa_affinity_policy")
    image_policy = image_props.get("hw_pci_numa_affinity_policy")
    if flavor_policy and image_policy and flavor_policy != image_policy:
        raise PciAliasError("ImagePCINUMAPolicyForbidden: flavor hw:pci_numa_affinity_policy=%s and image "
                            "hw_pci_numa_affinity_policy=%s differ" % (flavor_policy, image_policy))
    policy = flavor_policy or image_policy
    if policy and policy not in POLICIES:
        raise PciAliasError("InvalidPCINUMAAffinity: %r is not one of %s" % (policy, ", ".join(POLICIES)))
    return policy


def requests_from_flavor(extra_specs, image_props, aliases):
    """The InstancePCIRequests of the flavor: [{alias, count, spec, numa_policy}]."""
    text = extra_specs.get("pci_passthrough:alias")
    if text is None:
        return []
    affinity = numa_policy_constraint(extra_specs, image_props)
    result = []
    for part in str(text).split(","):
        pieces = part.split(":")
        if len(pieces) != 2:
            raise PciAliasError("pci_passthrough:alias %r: %r is not alias:count" % (text, part))
        name, count = pieces[0].strip(), pieces[1]
        if name not in aliases:
            raise PciAliasError("PCI alias %s is not defined" % name)
        try:
            count = int(count)
        except ValueError:
            raise PciAliasError("pci_passthrough:alias %r: count %r is not a number" % (text, pieces[1])) from None
        policy, specs = aliases[name]
        result.append({"alias": name, "count": count, "spec": [dict(s) for s in specs],
                       "numa_policy": affinity or policy})
    return result


# ---------------------------------------------------------------- pools

def nova_pools(pools):
    """Snapshot pools -> Nova's pool dicts (tags flattened), sorted as PciDeviceStats sorts them."""
    result = []
    for pool in pools:
        entry = {"vendor_id": pool.get("vendor_id"), "product_id": pool.get("product_id"),
                 "numa_node": pool.get("numa_node"), "count": int(pool.get("count") or 0)}
        tags = dict(pool.get("tags") or {})
        if pool.get("dev_type") is not None:
            tags["dev_type"] = pool["dev_type"]
        for key, value in tags.items():
            if key not in entry and value is not None:
                entry[key] = value if isinstance(value, str) else str(value).lower() if isinstance(
                    value, bool) else str(value)
        result.append(entry)
    result.sort(key=len)
    return result


def _prop_match(pool, specs):
    """nova.pci.utils.pci_device_prop_match."""
    def matching(spec):
        for key, want in spec.items():
            have = pool.get(key)
            if isinstance(want, list) and isinstance(have, list):
                if not all(x in have for x in want):
                    return False
                continue
            if isinstance(want, str):
                want = want.lower()
            if isinstance(have, str):
                have = have.lower()
            if have != want:
                return False
        return True
    return any(matching(spec) for spec in specs)


def _total(pools):
    return sum(p["count"] for p in pools)


def pool_label(pool):
    where = "no NUMA node" if pool.get("numa_node") is None else "numa %s" % pool["numa_node"]
    tags = ["%s=%s" % (k, pool[k]) for k in sorted(pool) if k not in _POOL_KEYS]
    extra = (", " + ", ".join(tags)) if tags else ""
    return "%s:%s %s on %s%s (%d free)" % (pool.get("vendor_id"), pool.get("product_id"),
                                           pool.get("dev_type") or "type-?", where, extra, pool["count"])


def _spec_label(specs):
    parts = []
    for spec in specs:
        ids = "%s:%s" % (spec.get("vendor_id", "*"), spec.get("product_id", "*"))
        more = ["%s=%s" % (k, v) for k, v in sorted(spec.items()) if k not in ("vendor_id", "product_id")]
        parts.append(ids + ((" " + " ".join(more)) if more else ""))
    return " or ".join(parts)


def _socket_pools(pools, numa_cells, host_cells):
    if host_cells is None or any(c.get("socket") is None for c in host_cells):
        return [], "no socket information in the host NUMA cells"
    sockets = {h.get("socket") for g in numa_cells for h in host_cells if h.get("id") == g}
    allowed = {h.get("id") for h in host_cells if h.get("socket") in sockets}
    return [p for p in pools if any(_prop_match(p, [{"numa_node": n}]) for n in allowed)], \
        "socket(s) %s = NUMA node(s) %s" % (sorted(sockets), sorted(allowed))


def _filter_numa(pools, request, numa_cells, host_cells, notes):
    if not numa_cells:
        return pools
    policy = request.get("numa_policy") or "legacy"
    wanted = request["count"]
    ids = list(numa_cells)
    filtered = [p for p in pools if any(_prop_match(p, [{"numa_node": c}]) for c in ids)]
    if policy == "required" or _total(filtered) >= wanted:
        notes.append("policy %s: %d device(s) on guest NUMA node(s) %s" % (policy, _total(filtered), ids))
        return filtered
    if policy == "socket":
        result, why = _socket_pools(pools, numa_cells, host_cells)
        notes.append("policy socket: %d device(s) in %s" % (_total(result), why))
        return result
    ids.append(None)
    filtered = [p for p in pools if any(_prop_match(p, [{"numa_node": c}]) for c in ids)]
    if policy == "legacy" or _total(filtered) >= wanted:
        notes.append("policy %s: %d device(s) on guest NUMA node(s) %s or without NUMA affinity"
                     % (policy, _total(filtered), ids[:-1]))
        return filtered
    notes.append("policy preferred: any NUMA node (%d on the guest's)" % _total(filtered))
    return sorted(pools, key=lambda p: p.get("numa_node") not in ids)


def filter_pools(pools, request, numa_cells=None, host_cells=None):
    """PciDeviceStats._filter_pools -> (pools or None, [explanation steps])."""
    notes = []
    wanted = request["count"]
    specs = [{k: v for k, v in s.items() if k not in _IGNORED_SPEC_TAGS} for s in request["spec"]]
    before = _total(pools)
    pools = [p for p in pools if _prop_match(p, specs)]
    after = _total(pools)
    notes.append("%d of %d free device(s) match %s" % (after, before, _spec_label(request["spec"])))
    if after < wanted:
        return None, notes
    pools = _filter_numa(pools, request, numa_cells, host_cells, notes)
    if _total(pools) < wanted:
        return None, notes
    if all(s.get("dev_type") != "type-PF" for s in request["spec"]):
        dropped = _total([p for p in pools if p.get("dev_type") == "type-PF"])
        pools = [p for p in pools if p.get("dev_type") != "type-PF"]
        if dropped:
            notes.append("%d PF device(s) not usable (the alias does not ask for type-PF)" % dropped)
        if _total(pools) < wanted:
            return None, notes
    if all(s.get("dev_type") != "vdpa" for s in request["spec"]):
        dropped = _total([p for p in pools if p.get("dev_type") == "vdpa"])
        pools = [p for p in pools if p.get("dev_type") != "vdpa"]
        if dropped:
            notes.append("%d vDPA device(s) not usable (not requested)" % dropped)
    if all(not _bool_from_string(s.get("remote_managed")) for s in request["spec"]):
        dropped = _total([p for p in pools if _bool_from_string(p.get("remote_managed"))])
        pools = [p for p in pools if not _bool_from_string(p.get("remote_managed"))]
        if dropped:
            notes.append("%d remote-managed device(s) not usable (not requested)" % dropped)
    if all(s.get("live_migratable") == "true" for s in request["spec"]):
        keep = [p for p in pools if p.get("live_migratable") and p["live_migratable"] == "true"]
        if _total(keep) < _total(pools):
            notes.append("%d device(s) not live-migratable" % (_total(pools) - _total(keep)))
        pools = keep
    elif all(s.get("live_migratable") == "false" for s in request["spec"]):
        keep = [p for p in pools if p.get("live_migratable") and p["live_migratable"] == "false"]
        if _total(keep) < _total(pools):
            notes.append("%d device(s) not marked live_migratable=false" % (_total(pools) - _total(keep)))
        pools = keep
    if _total(pools) < wanted:
        return None, notes
    return pools, notes


def apply_requests(pools, requests, numa_cells=None, host_cells=None):
    """PciDeviceStats.apply_requests on ``pools`` (consumed in place).

    Returns (True, steps) or (False, steps) where steps explain each request.
    """
    steps = []
    for request in requests:
        filtered, notes = filter_pools(pools, request, numa_cells, host_cells)
        head = "alias %s needs %d x %s" % (request.get("alias"), request["count"], _spec_label(request["spec"]))
        if not filtered:
            steps.append({"alias": request.get("alias"), "ok": False, "needs": request["count"],
                          "usable": 0, "text": head + ": " + "; ".join(notes)})
            return False, steps
        usable = _total(filtered)
        count = request["count"]
        for pool in filtered:
            if pool["count"] > count:
                pool["count"] -= count
                count = 0
            else:
                count -= pool["count"]
                pools.remove(pool)
            if not count:
                break
        steps.append({"alias": request.get("alias"), "ok": True, "needs": request["count"], "usable": usable,
                      "text": head + ": " + "; ".join(notes)})
    return True, steps


def support_requests(pools, requests, numa_cells=None, host_cells=None):
    """PciDeviceStats.support_requests: (bool, steps) on a copy of the snapshot pools."""
    return apply_requests(nova_pools(pools), requests, numa_cells, host_cells)


def pool_summary(pools):
    return "; ".join(pool_label(p) for p in nova_pools(pools)) or "no PCI device pools"


# ---------------------------------------------------------------- the filter

class PciPassthroughFilter(C.Check):
    """nova.scheduler.filters.pci_passthrough_filter.PciPassthroughFilter."""

    stage = "filter"
    name = "PciPassthroughFilter"
    dynamic = True
    short = "no PCI devices (PciPassthroughFilter)"

    def __init__(self, ctx):
        super().__init__("filter:%s" % self.name)
        req = ctx.req
        specs = req["flavor"]["extra_specs"]
        self.requests = []
        self.error = None
        self.in_placement = _bool_from_string(ctx.conf.get("pci_in_placement"))
        self.aliases_known = ctx.conf.get("pci_alias") is not None
        self.policy = None
        if specs.get("pci_passthrough:alias") is None:
            return
        try:
            self.policy = numa_policy_constraint(specs, req["image"]["properties"])
            if self.aliases_known:
                aliases = parse_aliases(ctx.conf.get("pci_alias"), self.in_placement)
                self.requests = requests_from_flavor(specs, req["image"]["properties"], aliases)
        except PciAliasError as exc:
            self.error = str(exc)

    def key(self, host, ctx):
        if self.error or not self.requests:
            return True  # same cell for every host (no alias, unknown aliases, or Nova refuses)
        return (id(host.raw.get("pci_pools")), host.raw.get("pci_unknown"))

    def wanted(self, ctx):
        return ctx.req["flavor"]["extra_specs"].get("pci_passthrough:alias")

    def evaluate(self, host, ctx, state):
        text = self.wanted(ctx)
        if text is None:
            return C.ok("no PCI alias in the flavor (SR-IOV ports are not known to the engine)")
        if self.error:
            return C.cell(C.ERROR, "Nova refuses the request: %s" % self.error)
        if not self.aliases_known:
            return C.unknown("the flavor asks pci_passthrough:alias=%s but the scheduler's [pci] alias is not "
                             "known (give scheduler.pci_alias)" % text, "PCI alias unknown")
        if self.in_placement:
            return C.unknown("[filter_scheduler] pci_in_placement is on: the devices are placement inventories "
                             "and Nova filters the pools per allocation candidate (not modelled)",
                             "PCI in placement")
        pools = host.raw.get("pci_pools")
        if pools is None:
            why = host.raw.get("pci_unknown") or "the snapshot has no PCI pools for this host"
            return C.unknown("PCI pools unknown (%s); the host passes when it has %s" % (why, "; ".join(
                "%d x %s free" % (r["count"], _spec_label(r["spec"])) for r in self.requests)), "PCI pools unknown")
        placed = state.placed.get(host.index, 0) if state else 0
        work, why = self.pools_now(host, ctx, state)
        if work is None:
            return C.unknown("PCI pools after the %d earlier instance(s) of this request unknown: %s" % (placed, why),
                             "PCI pools unknown")
        ok, steps = apply_requests(work, self.requests)
        text = "; ".join(s["text"] for s in steps)
        if placed:
            text += " (after %d instance(s) of this request placed here)" % placed
        if self.policy or any(r["numa_policy"] != "legacy" for r in self.requests):
            text += ("; NUMA affinity (%s) is applied by NUMATopologyFilter for guests with a NUMA topology, not by "
                     "this filter" % ", ".join(sorted({r["numa_policy"] for r in self.requests})))
        if ok:
            return C.ok(text)
        # static: even with every device of the host free it would not do; dynamic: devices are in use
        everything = [dict(p, count=10 ** 6) for p in pools if p.get("count") is not None]
        kind = C.STATIC if not support_requests(everything, self.requests)[0] else C.DYNAMIC
        return C.fail(kind, text + ". Host pools: " + pool_summary(pools), self.short)

    def pools_now(self, host, ctx, state):
        """(Nova-shaped free pools, None) after the request's earlier instances landed on ``host``.

        This base replays ``apply_requests`` without guest NUMA cells (a guest without a NUMA
        topology); explain/pci_state.py consumes a NUMA guest's devices with its fitted cells.
        """
        work = nova_pools(host.raw["pci_pools"])
        for _earlier in range(state.placed.get(host.index, 0) if state else 0):
            ok, _steps = apply_requests(work, self.requests)
            if not ok:
                break
        return work, None

    def describe(self):
        result = super().describe()
        if self.requests:
            result["pci_requests"] = [{"alias": r["alias"], "count": r["count"], "numa_policy": r["numa_policy"]}
                                      for r in self.requests]
        return result


# ---------------------------------------------------------------- relaxations

def _alias_text(parts):
    return ",".join("%s:%d" % (name, count) for name, count in parts)


def _fits_somewhere(cloud, requests):
    """Does some host's pools support ``requests`` (one instance)? Pre-check before the engine verifies."""
    for host in cloud.hosts:
        pools = host.raw.get("pci_pools")
        if pools is not None and support_requests(pools, requests)[0]:
            return True
    return False


def relaxation_candidates(req, conf, cloud):
    """PCI changes to try: fewer devices, another alias, ``preferred`` NUMA affinity.

    Returns ``[{"kind", "change", "flavor_extra_specs", "image_properties", "detail"}]``; the
    caller (relax.py) verifies each by running the engine on the changed request.
    """
    specs = req["flavor"]["extra_specs"]
    props = req["image"]["properties"]
    text = specs.get("pci_passthrough:alias")
    if text is None or conf.get("pci_alias") is None:
        return []
    try:
        aliases = parse_aliases(conf.get("pci_alias"), _bool_from_string(conf.get("pci_in_placement")))
        requests = requests_from_flavor(specs, props, aliases)
    except PciAliasError:
        return []
    parts = [(r["alias"], r["count"]) for r in requests]
    out = []

    def with_alias(new_parts):
        return dict(specs, **{"pci_passthrough:alias": _alias_text(new_parts)})

    # fewer devices of one alias: the most some host can give with the other aliases unchanged
    for i, (name, count) in enumerate(parts):
        for fewer in range(count - 1, 0, -1):
            trial = list(parts)
            trial[i] = (name, fewer)
            try:
                trial_requests = requests_from_flavor(with_alias(trial), props, aliases)
            except PciAliasError:
                break
            if _fits_somewhere(cloud, trial_requests):
                out.append({"kind": "pci_fewer_devices",
                            "change": "ask %d x PCI alias %s instead of %d (pci_passthrough:alias=%s)"
                                      % (fewer, name, count, _alias_text(trial)),
                            "flavor_extra_specs": with_alias(trial), "image_properties": props,
                            "detail": {"alias": name, "count": fewer, "was": count}})
                break
    # another alias for the same number of devices
    for i, (name, count) in enumerate(parts):
        for other in sorted(aliases):
            if other == name or any(other == p[0] for p in parts):
                continue
            trial = list(parts)
            trial[i] = (other, count)
            try:
                trial_requests = requests_from_flavor(with_alias(trial), props, aliases)
            except PciAliasError:
                continue
            if _fits_somewhere(cloud, trial_requests):
                out.append({"kind": "pci_other_alias",
                            "change": "use PCI alias %s instead of %s (pci_passthrough:alias=%s)"
                                      % (other, name, _alias_text(trial)),
                            "flavor_extra_specs": with_alias(trial), "image_properties": props,
                            "detail": {"alias": other, "instead_of": name, "count": count}})
    # preferred NUMA affinity (decided by NUMATopologyFilter for guests with a NUMA topology)
    if any(r["numa_policy"] != "preferred" for r in requests):
        new_props = dict(props)
        if "hw_pci_numa_affinity_policy" in new_props:
            new_props["hw_pci_numa_affinity_policy"] = "preferred"
        out.append({"kind": "pci_affinity_preferred",
                    "change": "set hw:pci_numa_affinity_policy=preferred (devices from any NUMA node)%s"
                              % (" and the image's hw_pci_numa_affinity_policy" if new_props != props else ""),
                    "flavor_extra_specs": dict(specs, **{"hw:pci_numa_affinity_policy": "preferred"}),
                    "image_properties": new_props,
                    "detail": {"policy": "preferred", "was": sorted({r["numa_policy"] for r in requests})}})
    return out
