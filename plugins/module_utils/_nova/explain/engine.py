# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The explanation engine: every check on every host, then Nova's own selection.

``explain(snapshot, request, scheduler=None)`` returns plain JSON-able data (shape in
docs/explain.md). Unlike Nova it never stops at the stage that empties the host list:
each host gets a verdict for every prefilter, placement resource class / trait set and
enabled filter. Then, as Nova does, the instances of the request are placed one by one
(placement candidates fixed at the start; filters and weighers re-run per instance on
hosts that have virtually consumed the earlier instances; the best-weighed host whose
placement claim still fits is chosen).
"""

from __future__ import annotations

import copy

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import claim as CL
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import filters as F
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import headroom as H
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import placement as P
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import prefilters as PF
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request_filters as RF
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import relax as R
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import shape as S
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import weighers as W
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError, normalize_scheduler
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import Cloud
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request

EXPLAIN_VERSION = 1
_BAD = (C.FAIL, C.ERROR)
_UNSURE = (C.UNKNOWN, C.NOT_EVALUATED)
_STRICT = _BAD + _UNSURE
# Instance-by-instance placement stops after this many steps when the capacity gives no
# bound (inventory unknown): the answer is then "unknown", never a guess.
MAX_PLACEMENT_STEPS = 20000


class State:
    """What the earlier instances of this request consumed (Nova's HostState.consume_from_request)."""

    def __init__(self):
        self.placed = {}
        self.used = {}
        self.vcpus = {}
        self.disk_gb = {}
        self.new_instances = {}
        self.group_hosts = []

    def consume(self, host, ctx, number):
        idx = host.index
        self.placed[idx] = self.placed.get(idx, 0) + 1
        used = self.used.setdefault(idx, {})
        pcpu = ctx.fallback_check
        for rc, amount in ctx.req["placement"]["resources"].items():
            if pcpu is not None and rc == pcpu.rc and not pcpu.primary_fits(host, used.get(rc, 0)):
                # placed through Nova's fallback query: the instance takes VCPU, not PCPU
                rc, amount = pcpu.fallback
            used[rc] = used.get(rc, 0) + amount
        flavor = ctx.req["flavor"]
        self.vcpus[idx] = self.vcpus.get(idx, 0) + int(flavor.get("vcpus") or 0)
        root = 0 if ctx.req["is_bfv"] else int(flavor.get("disk") or 0)
        self.disk_gb[idx] = self.disk_gb.get(idx, 0) + root + int(flavor.get("ephemeral") or 0)
        self.new_instances.setdefault(idx, []).append("new-instance-%d" % number)
        if ctx.req["group"] is not None:
            self.group_hosts.append(host.name)

    def host_attr_changes(self, host, ctx):
        """HostState attributes after this request's earlier instances landed on ``host``."""
        attrs = host.host_state_attrs()
        idx = host.index
        n = self.placed.get(idx, 0)
        ram = self.used.get(idx, {}).get("MEMORY_MB", 0)
        instances = dict(attrs["instances"])
        for uuid in self.new_instances.get(idx, ()):
            instances[uuid] = None
        return {
            "free_ram_mb": attrs["free_ram_mb"] - ram,
            "free_disk_mb": attrs["free_disk_mb"] - self.disk_gb.get(idx, 0) * 1024,
            "vcpus_used": attrs["vcpus_used"] + self.vcpus.get(idx, 0),
            "num_instances": attrs["num_instances"] + n,
            "num_io_ops": attrs["num_io_ops"] + n,
            "instances": instances,
        }


class Context:
    """Everything the checks read: the request, configuration, cloud and group facts."""

    def __init__(self, cloud, conf, req):
        self.cloud = cloud
        self.conf = conf
        self.req = req
        group = req["group"]
        self.group_members = frozenset(group.get("members") or []) if group else frozenset()
        self.group_existing_hosts = {cloud.instance_host[m] for m in self.group_members if m in cloud.instance_host}
        # members the snapshot does not place while some host's servers are not known: Nova's
        # group.hosts may hold hosts the engine cannot see, so an affinity verdict is unknown
        unplaced = sorted(self.group_members - set(cloud.instance_host))
        self.group_hosts_unknown = unplaced if unplaced and any(h.instances is None for h in cloud.hosts) else []
        self.forced = bool(req["forced_host"] or req["forced_node"])
        self.weighers = W.enabled_weighers(conf)
        self.fallback_check = None  # the PCPU check with Nova's VCPU fallback query (build_checks)

    def group_hosts(self, state):
        if state is None or not state.group_hosts:
            return self.group_existing_hosts
        return self.group_existing_hosts | set(state.group_hosts)


def prepare(snapshot):
    """Index a snapshot once, to run the engine many times on it (relaxations, benchmarks)."""
    if isinstance(snapshot, Cloud):
        return snapshot
    sched = snapshot.get("scheduler") if isinstance(snapshot, dict) else None
    default_az = (sched or {}).get("default_availability_zone") or "nova"
    return Cloud(snapshot, default_az=default_az)


def build_checks(ctx):
    placement = P.build(ctx)
    ctx.fallback_check = next((c for c in placement if getattr(c, "fallback", None) is not None), None)
    checks = PF.build(ctx) + RF.build(ctx) + placement
    filter_checks, notes = F.build(ctx)
    return checks + filter_checks + CL.build(ctx), notes


def evaluate_matrix(cloud, ctx, checks, hosts=None):
    """cells[h][c] for every host and check, sharing verdicts between hosts with equal keys.

    Equal cells are interned in a table of this pass only (never shared with another call).
    """
    hosts = cloud.hosts if hosts is None else hosts
    intern = C.Interner()
    columns = []
    for check in checks:
        cache = {}
        column = []
        evaluate = check.evaluate
        key_of = check.key
        for host in hosts:
            key = key_of(host, ctx)
            if key is None:
                column.append(intern(evaluate(host, ctx, None)))
                continue
            found = cache.get(key)
            if found is None:
                found = intern(evaluate(host, ctx, None))
                cache[key] = found
            column.append(found)
        columns.append(column)
    return [list(row) for row in zip(*columns)] if columns else [[] for _host in hosts]


def run(cloud, conf, req):
    """One engine pass on a prepared cloud; the core of :func:`explain`.

    Hosts are ``valid`` (every check passes), ``maybe`` (no check fails but one is
    unknown or not evaluated: they fit only if those pass) or neither. The placement runs
    twice: on the certain verdicts only, and with the unknown ones taken as passes. ``fits``
    is True when the first places every instance, None (unknown) when only the second does,
    False when neither does.
    """
    ctx = Context(cloud, conf, req)
    checks, notes = build_checks(ctx)
    matrix = evaluate_matrix(cloud, ctx, checks)
    pre_idx, filter_idx, claim_idx = _stage_indexes(checks)

    # Nova's candidates: what placement returns (prefilters + placement), before host filters.
    candidates = [h for h in cloud.hosts if not any(matrix[h.index][i]["verdict"] in _BAD for i in pre_idx)]
    possible = [h for h in candidates if not any(matrix[h.index][i]["verdict"] in _BAD
                                                 for i in filter_idx + claim_idx)]
    valid = [h for h in possible if not any(cell["verdict"] in _UNSURE for cell in matrix[h.index])]
    valid_ids = {h.index for h in valid}
    maybe = [h for h in possible if h.index not in valid_ids]
    return _conclude(ctx, checks, matrix, notes, candidates, valid, maybe)


def _stage_indexes(checks):
    """Positions of the checks Nova runs before the filters, of the filters, and of the claim."""
    pre_idx = [i for i, c in enumerate(checks) if c.stage in ("prefilter", "placement")]
    filter_idx = [i for i, c in enumerate(checks) if c.stage == "filter"]
    claim_idx = [i for i, c in enumerate(checks) if c.stage == CL.STAGE]
    return pre_idx, filter_idx, claim_idx


def _conclude(ctx, checks, matrix, notes, candidates, valid, maybe):
    """Place the instances on the certain verdicts, then (if needed) with the unknowns as passes."""
    pre_idx, filter_idx, claim_idx = _stage_indexes(checks)
    count = ctx.req["count"]
    sure_candidates = [h for h in candidates if not any(matrix[h.index][i]["verdict"] in _UNSURE for i in pre_idx)]
    placements, failed_step = _place(ctx, checks, matrix, sure_candidates, filter_idx, claim_idx, count, True)
    fits = len(placements) == count and failed_step is None
    optimistic = None
    # hosts Nova may see that the certain placement leaves out: maybe hosts, and candidates with an
    # unknown verdict that some other check fails only at nova-compute's claim (the scheduler can
    # still choose them, and the claim then refuses the instance)
    unsure = maybe or any(cell["verdict"] in _UNSURE for h in candidates for cell in matrix[h.index])
    if unsure:
        optimistic = _place(ctx, checks, matrix, candidates, filter_idx, claim_idx, count, False)
        optimistic_fits = len(optimistic[0]) == count and optimistic[1] is None
        if not fits and optimistic_fits:
            fits = None
        elif not fits and optimistic[1] and optimistic[1].get("unbounded"):
            fits = None
        elif fits and not optimistic_fits:
            # if the unknown hosts pass, Nova sees them too: one may outrank the certain hosts and
            # then be refused by nova-compute's claim, or draw an affinity group onto itself
            fits = None
    return {
        "ctx": ctx, "checks": checks, "matrix": matrix, "candidates": candidates, "valid": valid,
        "maybe": maybe, "fits": fits, "placements": placements, "failed_step": failed_step,
        "optimistic": optimistic, "notes": notes,
    }


def rerun_host(result, cloud, index):
    """:func:`run` for ``cloud``, which differs from ``result``'s cloud only in host ``index``.

    Only that host's row is evaluated again (every other row, the checks and their order are
    the earlier pass's); Nova's candidates, the valid and maybe hosts and the placement of
    every instance are then worked out as :func:`run` does. Same answer as a full ``run``, at
    the cost of one row plus the placement.
    """
    base = result["ctx"]
    ctx = Context(cloud, base.conf, base.req)
    checks = result["checks"]
    host = cloud.hosts[index]
    row = [check.evaluate(host, ctx, None) for check in checks]
    matrix = list(result["matrix"])
    matrix[index] = row
    pre_idx, filter_idx, claim_idx = _stage_indexes(checks)
    is_candidate = not any(row[i]["verdict"] in _BAD for i in pre_idx)
    is_possible = is_candidate and not any(row[i]["verdict"] in _BAD for i in filter_idx + claim_idx)
    is_valid = is_possible and not any(cell["verdict"] in _UNSURE for cell in row)

    def replaced(hosts, keep):
        out = [h for h in hosts if h.index != index]
        if keep:
            position = 0
            while position < len(out) and out[position].index < index:
                position += 1
            out.insert(position, host)
        return out

    candidates = replaced(result["candidates"], is_candidate)
    valid = replaced(result["valid"], is_valid)
    maybe = replaced(result["maybe"], is_possible and not is_valid)
    return _conclude(ctx, checks, matrix, result["notes"], candidates, valid, maybe)


def capacity_bound(ctx, hosts, rc_checks):
    """At most how many instances of the request placement can hold on ``hosts`` (None: unbounded)."""
    total = 0
    for host in hosts:
        if not capacity.usage_known(host.resources):
            return None
        count, _by = H.host_capacity(ctx, rc_checks, host)
        if count is None:
            return None
        total += count
    return total


def _place(ctx, checks, matrix, candidates, filter_idx, claim_idx, count, strict):
    """Place ``count`` instances one by one as Nova's scheduler and nova-compute do.

    ``strict``: an unknown verdict blocks the host (the certain answer); otherwise it is
    taken as a pass (what would happen if the unknown checks pass). Bounded by what
    placement can hold: a request larger than that fails at once, without a step per
    instance.
    """
    bad_verdicts = _STRICT if strict else _BAD
    state = State()
    placements = []
    rc_checks = [c for c in checks if isinstance(c, P.ResourceClass)]
    filter_checks = [checks[i] for i in filter_idx]
    claim_checks = [checks[i] for i in claim_idx]
    dynamic = [(pos, checks[i]) for pos, i in enumerate(filter_idx) if checks[i].dynamic]
    dyn_positions = {pos for pos, _c in dynamic}
    bound = capacity_bound(ctx, candidates, rc_checks)
    steps = count
    if bound is not None and count > bound and bound + 1 <= MAX_PLACEMENT_STEPS:
        steps = bound + 1  # the instance after the last that can fit fails with Nova's reasons
    elif bound is not None and count > bound:
        return placements, {"instance": bound + 1, "candidates": len(candidates), "after_filters": None,
                            "reasons": [{"reason": "placement holds at most %d instance(s) of this flavor on the "
                                         "%d candidate host(s)" % (bound, len(candidates)), "hosts": len(candidates)}],
                            "capacity_bound": bound}
    if bound is None and count > MAX_PLACEMENT_STEPS:
        steps = MAX_PLACEMENT_STEPS
    attempts = 1 if ctx.forced else max(1, int(ctx.conf.get("max_attempts") or 1))

    def fits_now(check, host, extra):
        if not strict and not capacity.usage_known(host.resources):
            return True
        return check.fits_with(host, extra, state.used.get(host.index))

    for number in range(1, steps + 1):
        survivors = []
        blocked = {}
        for host in candidates:
            row = matrix[host.index]
            bad = None
            if number == 1:
                for i in filter_idx:
                    if row[i]["verdict"] in bad_verdicts:
                        bad = row[i]
                        break
            else:
                for pos, check in enumerate(filter_checks):
                    if pos in dyn_positions:
                        the_cell = check.evaluate(host, ctx, state)
                    else:
                        the_cell = row[filter_idx[pos]]
                    if the_cell["verdict"] in bad_verdicts:
                        bad = the_cell
                        break
            if bad is None:
                survivors.append(host)
            else:
                label = bad.get("short") or "filtered"
                blocked[label] = blocked.get(label, 0) + 1
        weighed = W.weigh(survivors, ctx, state if number > 1 else None, detail=(number == 1))
        # the selected host and its alternates: the best weighed hosts whose placement claim fits
        selection = []
        full = 0
        for weight, host, detail in weighed:
            extra = state.used.get(host.index, {})
            if all(fits_now(c, host, extra.get(c.rc, 0)) for c in rc_checks):
                selection.append((weight, host, detail))
                if len(selection) >= attempts:
                    break
            else:
                full += 1
        if full:
            for c in rc_checks:
                n = sum(1 for _w, h, _d in weighed
                        if not fits_now(c, h, state.used.get(h.index, {}).get(c.rc, 0)))
                if n:
                    blocked["insufficient %s" % c.rc] = blocked.get("insufficient %s" % c.rc, 0) + n
        chosen = None
        claim_failures = []
        for weight, host, detail in selection:
            failed = None
            for check in claim_checks:
                the_cell = check.evaluate(host, ctx, state)
                if the_cell["verdict"] in bad_verdicts:
                    failed = the_cell
                    break
            if failed is None:
                chosen = (weight, host, detail)
                break
            claim_failures.append({"host": host.name, "reason": failed["reason"]})
        if chosen is None:
            step = {"instance": number, "candidates": len(candidates), "after_filters": len(survivors),
                    "reasons": _sorted_counts(blocked)}
            if claim_failures:
                # the scheduler chose a host: nova-compute refuses it and the server goes to ERROR
                step["claim_failures"] = claim_failures
                if attempts == 1:
                    step["error"] = claim_failures[0]["reason"]
                else:
                    step["error"] = ("MaxRetriesExceeded: Exceeded maximum number of retries (%d host(s) tried, "
                                     "each refused by nova-compute: %s)" % (len(claim_failures),
                                                                            claim_failures[-1]["reason"]))
                step["reasons"] = step["reasons"] + [{"reason": "nova-compute's claim refuses the chosen host",
                                                      "hosts": len(claim_failures)}]
            return placements, step
        weight, host, detail = chosen
        entry = {"instance": number, "host": host.name, "nodename": host.nodename, "weight": round(weight, 6),
                 "candidates": len(candidates), "after_filters": len(survivors)}
        if claim_failures:
            entry["rescheduled_from"] = [f["host"] for f in claim_failures]
        if number == 1:
            entry["ranking"] = [{"host": h.name, "nodename": h.nodename, "weight": round(w, 6), "scores": d}
                                for w, h, d in weighed[:10]]
        placements.append(entry)
        state.consume(host, ctx, number)
    if steps < count:
        return placements, {"instance": steps + 1, "candidates": len(candidates), "after_filters": None,
                            "reasons": [{"reason": "not simulated beyond %d instances (inventory unknown)" % steps,
                                         "hosts": len(candidates)}], "unbounded": True}
    return placements, None


def _sorted_counts(counter):
    return [{"reason": k, "hosts": v} for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


# ------------------------------------------------------------------ public entry point

def explain(snapshot, request, scheduler=None, relax=True, headroom=True, max_relaxations=10, detail=S.FULL):
    """Explain where (and whether) ``request`` would be scheduled on the cloud of ``snapshot``.

    ``snapshot``: a snapshot dict (docs/snapshot.md) or a :func:`prepare`-d cloud.
    ``scheduler``: the scheduler configuration (None: the snapshot's, else Nova's defaults).
    ``detail``: ``full`` (every host with its cells) or ``compact`` (each distinct cell and
    verdict row once, hosts referring to their row; :mod:`shape`).
    Raises :class:`ExplainError` (a ValueError) naming the bad input.
    """
    if detail not in S.DETAILS:
        raise ExplainError("detail must be one of %s, got %r" % (", ".join(S.DETAILS), detail))
    cloud = prepare(snapshot)
    raw = cloud.snapshot
    if scheduler is None:
        scheduler = raw.get("scheduler")
    release = ((raw.get("source") or {}).get("nova_release"))
    conf = normalize_scheduler(scheduler, release)
    req = normalize_request(request, raw)
    result = run(cloud, conf, req)
    out = report(result)
    out["warnings"] = assumption_warnings(scheduler, conf)
    if headroom:
        out["headroom"] = H.compute_headroom(result)
    out["relaxations"] = []
    if relax and out["fits"] is False:
        out["relaxations"] = R.relaxations(cloud, conf, req, result, limit=max_relaxations,
                                           rerun=run, rerun_host=rerun_host)
    elif out["fits"] is None:
        out["relaxations_note"] = ("not searched: the request fits only if the unknown check(s) %s pass; "
                                   "decide them first" % ", ".join(u["name"] for u in out["unknowns"]))
    out["summary"] = render.summary_line(out)
    return S.expand(out) if detail == S.FULL else out


HOW_TO_CONFIGURE = ("give the scheduler's nova.conf (scheduler: {nova_conf: path} or {nova_conf_text: text}, see "
                    "docs/explain.md 'The scheduler configuration, from nova.conf') or its options in the scheduler "
                    "option or the snapshot's scheduler key")


def assumption_warnings(given, conf):
    """Warnings for what the engine assumed because the configuration was not given."""
    if conf.get("from_nova_conf"):
        # what nova.conf leaves out, Nova itself takes at its default: nothing was assumed
        return list(conf.get("config_warnings") or [])
    if given is None or not given:
        return ["no scheduler configuration given: assuming Nova's defaults for %s (enabled_filters %s, every "
                "option at its default); a cloud with other filters or options (isolated hosts, tenant aggregates, "
                "...) may schedule differently; %s" % (
                    conf.get("nova_release") or "the latest release", ", ".join(conf["enabled_filters"]),
                    HOW_TO_CONFIGURE)]
    if conf.get("enabled_filters_default"):
        return ["scheduler configuration has no enabled_filters: assuming Nova's default filters %s; %s"
                % (", ".join(conf["enabled_filters"]), HOW_TO_CONFIGURE)]
    return []


def report(result):
    """The plain-data report of one engine pass."""
    ctx, checks, matrix = result["ctx"], result["checks"], result["matrix"]
    req, conf, cloud = ctx.req, ctx.conf, ctx.cloud
    valid_ids = {h.index for h in result["valid"]}
    maybe_ids = {h.index for h in result["maybe"]}
    fits = result["fits"]
    placements = result["placements"]
    if fits is None and result["optimistic"] is not None:
        placements = [dict(p, only_if_unknowns_pass=True) for p in result["optimistic"][0]]
    chosen = {(p["host"], p["nodename"]) for p in placements}

    def fits_of(host):
        return True if host.index in valid_ids else (None if host.index in maybe_ids else False)

    cells_out, rows_out, hosts_out, primary_counts, all_counts, kinds = S.matrix_out(
        cloud.hosts, matrix, [c.id for c in checks], fits_of, chosen)
    # Nova's short-circuit view: the counts its log would show.
    pipeline = [{"stage": "placement", "name": "allocation_candidates", "start": len(cloud.hosts),
                 "end": len(result["candidates"])}]
    remaining = list(result["candidates"])
    stopped = not remaining  # "Got no allocation candidates": no filter runs
    for i, check in enumerate(checks):
        if check.stage != "filter":
            continue
        start = len(remaining)
        if stopped:
            pipeline.append({"stage": "filter", "name": check.name, "start": 0, "end": None, "ran": False})
            continue
        remaining = [h for h in remaining if matrix[h.index][i]["verdict"] not in _BAD]
        entry = {"stage": "filter", "name": check.name, "start": start, "end": len(remaining), "ran": True}
        unsure = sum(1 for h in remaining if matrix[h.index][i]["verdict"] in _UNSURE)
        if unsure:
            entry["unknown"] = unsure
        pipeline.append(entry)
        if not remaining:
            stopped = True
    notes = list(result["notes"])
    notes.extend(req["placement"]["notes"])
    for check in checks:
        note = getattr(check, "note", None)
        if note and note not in notes:
            notes.append(note)
    if req["unknown_hints"]:
        notes.append("scheduler hint(s) %s are not used by any filter the engine models" % ", ".join(req["unknown_hints"]))
    if len(result["candidates"]) > conf["max_placement_results"]:
        notes.append("placement returns at most max_placement_results=%d candidates; Nova sees only that many of "
                     "the %d that fit" % (conf["max_placement_results"], len(result["candidates"])))
    if conf["host_subset_size"] > 1:
        notes.append("host_subset_size=%d: Nova picks at random among the best %d hosts; the chosen host shown is "
                     "the best one" % (conf["host_subset_size"], conf["host_subset_size"]))
    if conf["ignored_options"]:
        notes.append("scheduler option(s) not used by the engine: %s" % ", ".join(conf["ignored_options"]))
    if req.get("az_note"):
        notes.insert(0, req["az_note"])
    placed = len(placements)
    failed_step = result["failed_step"]
    failure = None
    if fits is False:
        failure = "nova_compute_error" if (failed_step or {}).get("error") else "no_valid_host"
    reasons = [{"reason": k, "hosts": v, "kind": kinds.get(k)} for k, v in
               sorted(primary_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    all_reasons = [{"reason": k, "hosts": v, "kind": kinds.get(k)} for k, v in
                   sorted(all_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return {
        "explain_version": EXPLAIN_VERSION,
        "fits": fits,
        "verdict": {True: "fits", False: "does_not_fit", None: "unknown"}[fits],
        "failure": failure,
        "count": req["count"],
        "placed": placed,
        "hosts_total": len(cloud.hosts),
        "hosts_valid": len(result["valid"]),
        "valid_hosts": [h.label for h in result["valid"]],
        "hosts_maybe": len(result["maybe"]),
        "maybe_hosts": [h.label for h in result["maybe"]],
        "unknowns": unknowns(result),
        "request": _request_out(req),
        "scheduler": copy.deepcopy({k: v for k, v in conf.items() if k != "ignored_options"}),
        "checks": [c.describe() for c in checks],
        "detail": S.COMPACT,
        "cells": cells_out,
        "rows": rows_out,
        "hosts": hosts_out,
        "reasons": reasons,
        "all_reasons": all_reasons,
        "nova_pipeline": pipeline,
        "placements": placements,
        "failed_instance": failed_step if fits is not None else (result["optimistic"] or (None, None))[1],
        "near_misses": near_misses(result),
        "notes": notes,
    }


def _request_out(req):
    return {
        "flavor": req["flavor_name"],
        "resources": req["placement"]["resources"],
        "required_traits": req["placement"]["required_traits"],
        "forbidden_traits": req["placement"]["forbidden_traits"],
        "availability_zone": req["availability_zone"],
        "requested_availability_zone": req.get("requested_availability_zone"),
        "forced_host": req["forced_host"],
        "forced_node": req["forced_node"],
        "host": req.get("requested_host"),
        "hypervisor_hostname": req.get("requested_node"),
        "image": req["image"].get("name") or req["image"].get("id"),
        "count": req["count"],
        "project_id": req["project_id"],
        "scheduler_hints": req["hints"],
        "server_group": (req["group"] or {}).get("name") or (req["group"] or {}).get("id"),
        "server_group_policy": (req["group"] or {}).get("policy"),
    }


def near_misses(result, limit=20):
    """Hosts failing exactly one check, with by how much when it is a capacity check."""
    ctx, checks, matrix = result["ctx"], result["checks"], result["matrix"]
    out = []
    for host in ctx.cloud.hosts:
        row = matrix[host.index]
        bad = [i for i, cell in enumerate(row) if cell["verdict"] in _BAD]
        if len(bad) != 1:
            continue
        check = checks[bad[0]]
        entry = {"host": host.label, "check": check.id, "kind": row[bad[0]]["kind"], "reason": row[bad[0]]["reason"]}
        if isinstance(check, P.ResourceClass):
            view = host.resources.get(check.rc)
            if view is not None:
                entry["short_by"] = {check.rc: view["used"] + check.amount - view["capacity"]}
        out.append(entry)
    out.sort(key=lambda e: (0 if "short_by" in e else 1, sum((e.get("short_by") or {}).values()), e["host"]))
    return out[:limit]


# What data would decide an unknown verdict, by check (id prefix or filter name).
_DECIDE = {
    "placement:": "the providers' inventories and usages from the placement API",
    "prefilter:": "the providers' traits (and aggregates) from the placement API",
    "filter:ComputeFilter": "the nova-compute service list (os-services)",
    "filter:ComputeCapabilitiesFilter": "the host capability named by the extra spec (cpu_info: os-hypervisors at "
                                        "microversion 2.87 or lower; stats: the compute node record)",
    "filter:ImagePropertiesFilter": "the hosts' supported_instances (not in Nova's API: give it in the snapshot's "
                                    "hosts, or the compute node record)",
    "filter:ServerGroupAntiAffinityFilter": "the servers on each host (servers/detail?all_tenants=1 as admin)",
    "filter:DifferentHostFilter": "the servers on each host (servers/detail?all_tenants=1 as admin)",
    "filter:SameHostFilter": "the servers on each host (servers/detail?all_tenants=1 as admin)",
    "filter:NumInstancesFilter": "the servers on each host (servers/detail?all_tenants=1 as admin)",
    "filter:AggregateNumInstancesFilter": "the servers on each host (servers/detail?all_tenants=1 as admin)",
    "filter:IoOpsFilter": "the servers on each host with their task states (servers/detail?all_tenants=1)",
    "filter:AggregateIoOpsFilter": "the servers on each host with their task states (servers/detail?all_tenants=1)",
    "filter:SimpleCIDRAffinityFilter": "the hosts' IP addresses (os-hypervisors host_ip)",
    "claim:group_policy": "the servers on each host (servers/detail?all_tenants=1 as admin)",
    "claim:numa_pci": "the hosts' NUMA topology and PCI devices (compute node record)",
    "filter:NUMATopologyFilter": "the hosts' NUMA cells (snapshot hosts[].numa: from stackops.nova.compute_facts or "
                                 "Nova's compute_nodes.numa_topology)",
}


def _decide(check):
    if check.id in _DECIDE:
        return _DECIDE[check.id]
    for prefix in ("placement:", "prefilter:"):
        if check.id.startswith(prefix):
            return _DECIDE[prefix]
    return "the code of %s (not modelled by the engine) or the data it reads" % check.name


def unknowns(result):
    """The checks whose unknown verdicts keep hosts from being certain, with what would decide them."""
    checks, matrix = result["checks"], result["matrix"]
    out = []
    maybe = result["maybe"]
    for i, check in enumerate(checks):
        cells = [matrix[h.index][i] for h in maybe if matrix[h.index][i]["verdict"] in _UNSURE]
        if not cells:
            continue
        out.append({"check": check.id, "name": check.name, "stage": check.stage, "hosts": len(cells),
                    "verdict": cells[0]["verdict"], "reason": cells[0]["reason"], "decided_by": _decide(check)})
    return out


__all__ = ["explain", "prepare", "run", "report", "ExplainError"]
