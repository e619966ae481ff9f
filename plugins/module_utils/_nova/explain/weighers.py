# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nova's weighers (nova/scheduler/weights/*) over the surviving hosts.

Each weigher's raw values are normalized to 0..1 over the survivors (min-max, all equal
-> 0; RAM, CPU, disk and IoOps weighers clamp at 0 and normalize against 0), multiplied by the multiplier (an aggregate's metadata key of the same name
overrides the configured one: minimum over the host's aggregates) and summed. The
highest total wins; with host_subset_size 1 the best host is chosen.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.aggregates import agg_values, validate_num_values


def _free_ram(host, state):
    view = host.resources.get("MEMORY_MB") or {}
    delta = state.used.get(host.index, {}).get("MEMORY_MB", 0) if state else 0
    return (view.get("total") or 0) - (view.get("reserved") or 0) - (view.get("used") or 0) - delta


def _free_vcpus(host, state):
    view = host.resources.get("VCPU") or {}
    delta = state.vcpus.get(host.index, 0) if state else 0
    ratio = view.get("allocation_ratio")
    if ratio is None:
        ratio = 0.0
    return (view.get("total") or 0) * ratio - (view.get("used") or 0) - delta


def _free_disk(host, state):
    view = host.resources.get("DISK_GB") or {}
    delta = state.disk_gb.get(host.index, 0) if state else 0
    return ((view.get("total") or 0) - (view.get("reserved") or 0) - (view.get("used") or 0) - delta) * 1024


def _placed(host, state):
    return state.placed.get(host.index, 0) if state else 0


def _members(host, ctx, state):
    if host.instances is None:
        return 0
    return len(host.instances & ctx.group_members) + _placed(host, state)


# (name, multiplier option, raw value function, applies(ctx))
WEIGHERS = (
    ("RAMWeigher", "ram_weight_multiplier", lambda h, c, s: _free_ram(h, s), None),
    ("CPUWeigher", "cpu_weight_multiplier", lambda h, c, s: _free_vcpus(h, s), None),
    ("DiskWeigher", "disk_weight_multiplier", lambda h, c, s: _free_disk(h, s), None),
    ("IoOpsWeigher", "io_ops_weight_multiplier", lambda h, c, s: (h.num_io_ops or 0) + _placed(h, s), None),
    ("ServerGroupSoftAffinityWeigher", "soft_affinity_weight_multiplier",
     _members, "soft-affinity"),
    ("ServerGroupSoftAntiAffinityWeigher", "soft_anti_affinity_weight_multiplier",
     lambda h, c, s: -_members(h, c, s), "soft-anti-affinity"),
    ("BuildFailureWeigher", "build_failure_weight_multiplier", lambda h, c, s: h.failed_builds or 0, None),
    ("NumInstancesWeigher", "num_instances_weight_multiplier",
     lambda h, c, s: (h.num_instances or 0) + _placed(h, s), None),
    ("HypervisorVersionWeigher", "hypervisor_version_weight_multiplier",
     lambda h, c, s: h.raw.get("hypervisor_version") or 0, None),
)

NEGATED = ("BuildFailureWeigher",)
# Weighers with ``minval = 0``: raw values are clamped at 0 and normalized against 0, not
# against the smallest value (nova.weights.normalize with minval): equal positive values
# all normalize to 1.0.
MINVAL_ZERO = ("RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher")


def enabled_weighers(conf):
    """The weighers of weight_classes (all_weighers = every one the engine models)."""
    classes = conf["weight_classes"]
    if any(c.endswith("all_weighers") for c in classes):
        return list(WEIGHERS)
    names = {c.rsplit(".", 1)[-1] for c in classes}
    return [w for w in WEIGHERS if w[0] in names]


def multiplier(host, option, default, cache):
    key = (host.agg_key, option)
    if key in cache:
        return cache[key]
    values = agg_values(host, option) if host.aggregates else set()
    value, _note = validate_num_values(values, default, float)
    cache[key] = value
    return value


def weigh(hosts, ctx, state=None, detail=False):
    """[(weight, host, {weigher: score})] sorted best first (stable for equal weights)."""
    if len(hosts) <= 1:
        return [(0.0, h, {}) for h in hosts]
    totals = [0.0] * len(hosts)
    details = [{} for _host in hosts] if detail else None
    cache = {}
    group_policy = (ctx.req["group"] or {}).get("policy")
    for name, option, func, policy in ctx.weighers:
        if policy is not None and policy != group_policy:
            continue  # raw weight 0 everywhere: normalized to 0
        default = ctx.conf["weights"][option]
        raws = [func(h, ctx, state) for h in hosts]
        if name in MINVAL_ZERO:
            raws = [max(r, 0) for r in raws]
            low = 0
        else:
            low = min(raws)
        high = max(raws)
        if low == high:
            continue
        span = float(high - low)
        for i, host in enumerate(hosts):
            mult = multiplier(host, option, default, cache)
            if name in NEGATED:
                mult = -mult
            score = mult * ((raws[i] - low) / span)
            totals[i] += score
            if detail:
                details[i][name] = round(score, 6)
    order = sorted(range(len(hosts)), key=lambda i: totals[i], reverse=True)
    return [(totals[i], hosts[i], details[i] if detail else {}) for i in order]
