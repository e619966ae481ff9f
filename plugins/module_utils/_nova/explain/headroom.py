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
        blockers = [(checks[i], cell) for i, cell in enumerate(row)
                    if cell["verdict"] == C.ERROR or (cell["verdict"] in _BAD and not checks[i].counts)]
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
    if group and group.get("policy") == "affinity":
        total = max(per_host.values()) if per_host else 0
        if maybe_total is not None:
            maybe_total = max(list(per_host.values()) + list(maybe_per_host.values()) or [0])
        notes.append("affinity group: all instances share one host, so the total is the best single host")
    out = {"total": total, "per_host": per_host, "limited_by": limited}
    if maybe_per_host:
        out["unknown"] = True
        out["maybe_per_host"] = maybe_per_host
        out["total_if_unknowns_pass"] = maybe_total
    if notes:
        out["note"] = "; ".join(notes)
    return out
