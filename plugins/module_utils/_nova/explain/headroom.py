# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Headroom: how many more instances of a request fit, from one engine pass.

Every check that limits a count (``Check.counts``: the placement resource classes, with
Nova's PCPU -> VCPU fallback query; NumInstancesFilter; IoOpsFilter at its limit;
anti-affinity with max_server_per_host, in the filter and in nova-compute's claim) gives its
own bound for a host (``Check.capacity``); a host's headroom is the smallest. Both
``scheduling_explain`` (``headroom``) and ``hypervisor_info flavor:`` (``cloud/facts.headroom``)
read these rows: one model, one answer.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import filters as F

_BAD = (C.FAIL, C.ERROR)
_UNSURE = (C.UNKNOWN, C.NOT_EVALUATED)


def host_capacity(ctx, checks, host):
    """``(count, limited_by)``: the smallest bound any counting check sets on ``host`` (each check's
    own :meth:`capacity`); count None when no check sets one."""
    best, by = None, None
    for check in checks:
        if not check.counts:
            continue
        room = check.capacity(host, ctx)
        if room is None:
            continue
        room = max(room, 0)
        if best is None or room < best:
            best, by = room, check.limit_name(host, ctx)
    return best, by


def _blocks(check, cell, host, ctx):
    """Does this cell keep the host from taking any instance, whatever its capacity? A failing
    check that limits a count blocks too unless its own bound for the host is what runs out
    (an affinity claim that refuses the host bounds nothing: it is a blocker, not a count of 0)."""
    if cell["verdict"] == C.ERROR:
        return True
    if cell["verdict"] not in _BAD:
        return False
    if not check.counts:
        return True
    room = check.capacity(host, ctx)
    return room is None or room > 0


def headroom_rows(result):
    """Per host, what the engine's headroom is made of: ``(host, count, limited_by, blockers, unsure)``.

    ``count``: the smallest bound of every check that limits a count (:func:`host_capacity`;
    None when the placement inventory is unknown); ``blockers``: the failing cells of the other
    checks (the host takes none whatever its capacity); ``unsure``: the checks whose verdict is
    unknown (the host takes ``count`` only if they pass).
    """
    ctx, checks, matrix = result["ctx"], result["checks"], result["matrix"]
    rows = []
    for host in ctx.cloud.hosts:
        row = matrix[host.index]
        blockers = [(checks[i], cell) for i, cell in enumerate(row) if _blocks(checks[i], cell, host, ctx)]
        unsure = [(checks[i], cell) for i, cell in enumerate(row) if cell["verdict"] in _UNSURE]
        if capacity.usage_known(host.resources):
            count, by = host_capacity(ctx, checks, host)
            count = 0 if count is None else count
        else:
            count, by = None, None
        rows.append((host, count, by, blockers, unsure))
    return rows


def compute_headroom(result):
    """How many more instances of this request fit, per host and in total (now, as configured).

    Only certain hosts count in ``total``; a host that fits only if unknown checks pass is
    in ``maybe_per_host`` (None: its capacity is unknown too) and ``total_if_unknowns_pass``.
    IoOpsFilter does not cap the total: Nova counts as I/O operations only the instances
    being built, resized, migrated, snapshotted, rescued or unshelved, so finished servers
    free their slot; a host at its limit now has no headroom now.
    """
    ctx, checks = result["ctx"], result["checks"]
    group = ctx.req["group"]
    per_host = {}
    maybe_per_host = {}
    limited = {}
    notes = []
    for host, count, by, blockers, unsure in headroom_rows(result):
        if blockers:
            continue
        if count is None:
            maybe_per_host[host.label] = None
            continue
        if count:
            if unsure:
                maybe_per_host[host.label] = count
            else:
                per_host[host.label] = count
            limited[host.label] = by
    if any(isinstance(c, F.IoOpsFilter) for c in checks):
        notes.append("IoOpsFilter limits only concurrent builds (max_io_ops_per_host; servers being built, resized, "
                     "migrated, snapshotted count, finished ones do not): it does not cap the total; the scheduler "
                     "reads the count of the compute's last resource update (about every minute), so a host that "
                     "just finished builds may refuse new ones until then")
    total = sum(per_host.values())
    maybe_total = None if any(v is None for v in maybe_per_host.values()) else \
        total + sum(maybe_per_host.values())
    claim_only = False
    if group and group.get("policy") == "affinity" and _affinity_enforced(ctx, checks):
        total, maybe_total, note, claim_only = _affinity_headroom(result, per_host, maybe_per_host, maybe_total)
        notes.append(note)
    elif group and group.get("policy") == "anti-affinity" and _claim_only(ctx, checks, F.ServerGroupAntiAffinityFilter):
        # the scheduler does not know the rule: it may send the next instance to a host whose claim
        # refuses it (ERROR, or a reschedule to an alternate), however much room the others have
        claim_only = True
        total = 0  # maybe_total (the certain hosts plus the maybe ones) keeps the count
        notes.append("anti-affinity group without ServerGroupAntiAffinityFilter: only nova-compute's claim applies "
                     "max_server_per_host, and the scheduler may choose a host the claim refuses (ERROR or a "
                     "reschedule): total unknown, counted as total_if_unknowns_pass")
    out = {"total": total, "per_host": per_host, "limited_by": limited}
    if claim_only:
        out["unknown"] = True
        out["total_if_unknowns_pass"] = maybe_total
    if maybe_per_host:
        out["unknown"] = True
        out["maybe_per_host"] = maybe_per_host
        out["total_if_unknowns_pass"] = maybe_total
    if notes:
        out["note"] = "; ".join(notes)
    return out


def _claim_only(ctx, checks, filter_class):
    """Is a group policy enforced by nova-compute's claim alone (its filter not enabled)?"""
    return not any(isinstance(c, filter_class) for c in checks) \
        and not ctx.conf.get("disable_group_policy_check_upcall")


def _affinity_enforced(ctx, checks):
    """Does anything keep an affinity group's instances together (the filter or nova-compute's claim)?"""
    return any(isinstance(c, F.ServerGroupAffinityFilter) for c in checks) \
        or not ctx.conf.get("disable_group_policy_check_upcall")


def _affinity_headroom(result, per_host, maybe_per_host, maybe_total):
    """``(total, total_if_unknowns_pass, note, claim_only)`` for a hard affinity group.

    Every instance goes where the group's members are; a group without members placed goes
    where Nova sends the next instance (the best weighed valid host), and the rest follow it:
    the total is that host's room, not the largest one's. Equal best weights: Nova's host
    order decides, so the smallest of those hosts is what is certain. Without
    ServerGroupAffinityFilter only nova-compute's claim keeps the group together: the
    scheduler may pick another host each time (ERROR, or a reschedule to an alternate), so the
    total is not certain.
    """
    ctx, checks = result["ctx"], result["checks"]
    label = {h.name: h.label for h in ctx.cloud.hosts}
    claim_only = _claim_only(ctx, checks, F.ServerGroupAffinityFilter)  # _affinity_enforced: the claim is on
    if ctx.group_existing_hosts:
        labels = [label[n] for n in sorted(ctx.group_existing_hosts) if n in label]
        total = sum(per_host.get(lb, 0) for lb in labels)
        if maybe_total is not None:
            maybe_total = total + sum(maybe_per_host.get(lb) or 0 for lb in labels)
        where = "the group's members are on %s" % ", ".join(labels)
    elif result["placements"]:
        first = result["placements"][0]
        top = first["ranking"][0]["weight"] if first.get("ranking") else None
        tied = [r["host"] if r["nodename"] == r["host"] else "%s/%s" % (r["host"], r["nodename"])
                for r in first.get("ranking") or () if r["weight"] == top]
        firsts = [lb for lb in tied if lb in per_host] or [label.get(first["host"], first["host"])]
        total = min(per_host.get(lb, 0) for lb in firsts)
        where = "no member is placed yet: the next instance goes to the best weighed host %s%s" % (
            ", ".join(firsts), " (equal weights: Nova's host order decides; the smallest is counted)"
            if len(firsts) > 1 else "")
        maybe_total = None if maybe_per_host else total
    else:
        total = 0
        where = "no host takes the next instance for certain"
        maybe_total = None if maybe_per_host else 0
    note = "affinity group: all instances share one host (%s), so the total is that host's room" % where
    if claim_only:
        note += ("; without ServerGroupAffinityFilter only nova-compute's claim keeps them together and the scheduler "
                 "may choose another host (ERROR or a reschedule): total unknown, counted as total_if_unknowns_pass")
        return 0, total if maybe_total is not None else None, note, True
    return total, maybe_total, note, False
