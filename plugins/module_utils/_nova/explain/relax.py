# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Minimal relaxations: single changes that would let the request fit, each verified.

Candidates come from the failures of the matrix (fewer instances, another AZ, a dropped
hint / extra spec / image property, a smaller flavor, enabling a disabled host, a higher
allocation ratio on one host); each is applied to a copy of the request or of the one host
concerned and the engine is run again: only changes that make the whole request fit are
returned, with the hosts that would then be valid.

Each candidate request is a copy of the normalized request with the one change
(``request.changed``), never raw input normalized again. The engine passes are the
caller's (``rerun`` and ``rerun_host``: the engine's ``run`` and ``rerun_host``), so this
module does not import the engine that calls it.
"""

from __future__ import annotations

import math

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as _cap
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import pci as _pci
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import placement as P
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request as RQ

_BAD = (C.FAIL, C.ERROR)
# verifications of per-host changes that may fail before the search of that kind stops
MAX_HOST_ATTEMPTS = 20
# Order = how small the change is for a user (first = least intrusive).
_ORDER = ("count", "drop_hint", "availability_zone", "drop_forced_host", "smaller_flavor", "numa",
          "pci_fewer_devices", "pci_other_alias", "pci_affinity_preferred", "drop_extra_spec",
          "drop_image_property", "enable_host", "allocation_ratio")


def _row_key(row):
    """The verdicts of a host's row (cells of hosts with equal keys are shared objects)."""
    return tuple(id(cell) for cell in row)


def _resource_key(host):
    return tuple(sorted((rc, tuple(sorted(view.items()))) for rc, view in host.resources.items()))


def _most_instances(host, rc_checks):
    """An upper bound of the instances of this request ``host`` can hold (placement classes only)."""
    most = None
    if not _cap.usage_known(host.resources):
        return float("inf")  # usage not gathered: no bound (never a reason to skip a verification)
    for check in rc_checks:
        if check.fallback is not None:
            return float("inf")  # PCPU or VCPU: no simple bound
        view = host.resources.get(check.rc)
        count = 0 if view is None else _cap.max_allocations(view, check.amount)
        if count is not None and (most is None or count < most):
            most = count
    return float("inf") if most is None else most


def _verify(cloud, conf, req, rerun, changes, bound=None):
    """The engine pass of ``req`` with ``changes`` when it places every instance, else None.

    ``bound()``: how many instances of ``req`` the hosts' capacity can hold at most; a
    request asking the same resources for more instances cannot fit, so it is not run.
    """
    try:
        changed = RQ.changed(req, cloud.snapshot, **changes)
    except ExplainError:
        return None
    if bound is not None and \
            changed["placement"]["resources"] == req["placement"]["resources"] and \
            changed["placement"].get("fallback") == req["placement"].get("fallback") and \
            changed["count"] > bound():
        return None
    result = rerun(cloud, conf, changed)
    if result["fits"] is not True:  # a change that fits only if unknown checks pass is not verified
        return None
    return result


def relaxations(cloud, conf, req, result, rerun, rerun_host, limit=10, max_host_attempts=MAX_HOST_ATTEMPTS):
    """Verified single changes that make the request fit, smallest first.

    ``rerun(cloud, conf, req)``: one engine pass; ``rerun_host(result, cloud, index)``: the
    pass again with only host ``index`` changed (the engine's ``run`` and ``rerun_host``).

    The per-host changes (enable a host, raise one host's allocation ratio) cost one row and
    one placement each, are skipped when the changed host cannot make up for what the other
    hosts cannot hold, and stop after ``max_host_attempts`` verifications that found nothing.
    """
    found = []
    seen = set()
    rc_checks = [c for c in result["checks"] if isinstance(c, P.ResourceClass)]
    memo = {}

    def bound():
        if "bound" not in memo:
            memo["bound"] = sum(_most_instances(h, rc_checks) for h in cloud.hosts)
        return memo["bound"]

    def attempt(kind, change, changes, detail=None):
        if len(found) >= limit * 2 or change in seen:
            return
        seen.add(change)
        verified = _verify(cloud, conf, req, rerun, changes, bound)
        if verified is None:
            return
        valid = [h.label for h in verified["valid"]]
        found.append({"kind": kind, "change": change, "detail": detail or {}, "hosts_valid": len(valid),
                      "hosts": valid[:10], "lands_on": [p["host"] for p in verified["placements"]][:10],
                      "verified": True})

    checks, matrix = result["checks"], result["matrix"]
    failing_ids = set()
    for row in matrix:
        for i, cell in enumerate(row):
            if cell["verdict"] in _BAD:
                failing_ids.add(checks[i].id)

    # 1. fewer instances
    if req["count"] > 1 and result["placements"]:
        attempt("count", "request %d instance(s) instead of %d" % (len(result["placements"]), req["count"]),
                {"count": len(result["placements"])}, detail={"count": len(result["placements"])})

    # 2. drop a scheduler hint
    hint_checks = {"group": ("filter:ServerGroupAffinityFilter", "filter:ServerGroupAntiAffinityFilter"),
                   "different_host": ("filter:DifferentHostFilter",), "same_host": ("filter:SameHostFilter",),
                   "query": ("filter:JsonFilter",), "build_near_host_ip": ("filter:SimpleCIDRAffinityFilter",)}
    for hint in sorted(req["hints"]):
        if hint in hint_checks and not failing_ids.intersection(hint_checks[hint]) and hint != "group":
            continue
        hints = dict(req["hints"])
        del hints[hint]
        if hint == "build_near_host_ip":
            hints.pop("cidr", None)
        attempt("drop_hint", "drop the scheduler hint %s" % hint, {"hints": hints},
                detail={"hint": hint})

    # 3. another availability zone (or none)
    if req["availability_zone"] and not (req["forced_host"] or req["forced_node"]):
        for zone in cloud.zones:
            if zone != req["availability_zone"]:
                attempt("availability_zone", "use availability zone %s" % zone, {"availability_zone": zone},
                        detail={"availability_zone": zone})
        attempt("availability_zone", "do not ask for an availability zone", {"availability_zone": None},
                detail={"availability_zone": None})
    if req["forced_host"] or req["forced_node"]:
        attempt("drop_forced_host", "do not force host %s" % (req["forced_host"] or req["forced_node"]),
                {"unforce": True}, detail={})

    # 4. a smaller flavor (the largest that fits on a host failing only capacity checks)
    for flavor, host_label in _smaller_flavors(result, req):
        attempt("smaller_flavor", "a flavor of at most %d vCPU, %d MB RAM, %d GB disk (fits %s)" % (
            flavor["vcpus"], flavor["ram"], flavor["disk"], host_label), {"flavor": flavor},
            detail={"vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"],
                    "ephemeral": flavor.get("ephemeral", 0), "swap": flavor.get("swap", 0)})

    # 4b. NUMA: fewer/more guest NUMA nodes, another page size, a laxer thread / emulator policy
    if "filter:NUMATopologyFilter" in failing_ids:
        for text, specs_new, detail in _numa_changes(req):
            attempt("numa", text, {"flavor": dict(req["flavor"], extra_specs=specs_new)}, detail=detail)
    # 4c. PCI: fewer devices, another alias, preferred NUMA affinity (candidates from explain/pci.py)
    if failing_ids & {"filter:PciPassthroughFilter", "filter:NUMATopologyFilter", "claim:numa_pci"}:
        for cand in _pci.relaxation_candidates(req, conf, cloud):
            attempt(cand["kind"], cand["change"],
                    {"flavor": dict(req["flavor"], extra_specs=cand["flavor_extra_specs"]),
                     "image_properties": cand["image_properties"]},
                    detail=cand["detail"])

    # 5. drop one constraining extra spec / image property
    specs = req["flavor"]["extra_specs"]
    for key in sorted(specs):
        scope = key.split(":", 1)[0]
        if ":" in key and scope not in ("trait", "capabilities", "aggregate_instance_extra_specs") \
                and not key.startswith("trait"):
            continue
        flavor = dict(req["flavor"], extra_specs={k: v for k, v in specs.items() if k != key})
        attempt("drop_extra_spec", "remove flavor extra spec %s=%s" % (key, specs[key]), {"flavor": flavor},
                detail={"extra_spec": key})
    props = req["image"]["properties"]
    if failing_ids & {"filter:ImagePropertiesFilter", "filter:AggregateImagePropertiesIsolation",
                      "placement:required_traits", "prefilter:image_metadata"}:
        for key in sorted(props):
            attempt("drop_image_property", "remove image property %s=%s" % (key, props[key]),
                    {"image_properties": {k: v for k, v in props.items() if k != key}},
                    detail={"image_property": key})

    # 6. enable a disabled host / 7. raise one host's allocation ratio: one candidate per host,
    # pre-checked (can the changed host, with what the others hold, take the whole request?),
    # grouped (hosts whose change has the same effect are verified once until one is found) and
    # verified by re-evaluating the changed host's row only; at most ``max_host_attempts``
    # verifications that find nothing.
    budget = {"failed": 0}
    rejected = set()
    placed = len(result["placements"])
    affinity = (req["group"] or {}).get("policy") == "affinity"

    def host_attempt(kind, change, host, raw, detail, group_key):
        if len(found) >= limit * 2 or change in seen or group_key in rejected \
                or budget["failed"] >= max_host_attempts:
            return
        seen.add(change)
        the_cloud = cloud.with_host(host.index, raw)
        if not affinity and placed + _most_instances(the_cloud.hosts[host.index], rc_checks) < req["count"]:
            rejected.add(group_key)  # cannot hold what the others leave over: no verification needed
            return
        verified = rerun_host(result, the_cloud, host.index)
        if verified["fits"] is not True:  # fits only if unknown checks pass: not verified
            budget["failed"] += 1
            rejected.add(group_key)
            return
        valid = [h.label for h in verified["valid"]]
        found.append({"kind": kind, "change": change, "detail": detail, "hosts_valid": len(valid),
                      "hosts": valid[:10], "lands_on": [p["host"] for p in verified["placements"]][:10],
                      "verified": True})

    for host in cloud.hosts:
        if len(found) >= limit * 2 or budget["failed"] >= max_host_attempts:
            break
        row = matrix[host.index]
        bad = [checks[i] for i, cell in enumerate(row) if cell["verdict"] in _BAD]
        if not bad:
            continue
        if all(c.id in ("prefilter:compute_status", "filter:ComputeFilter") for c in bad) and host.disabled:
            service = dict(host.raw.get("service") or {}, status="enabled", disabled_reason=None)
            if service.get("state") == "down":
                continue
            raw = dict(host.raw, service=service)
            if raw.get("traits") is not None:
                raw["traits"] = [t for t in raw["traits"] if t != "COMPUTE_STATUS_DISABLED"]
            host_attempt("enable_host", "enable the compute service on %s" % host.label, host, raw,
                         {"host": host.name}, ("enable_host", _row_key(row), _resource_key(host)))
        rc_bad = [c for c in bad if isinstance(c, P.ResourceClass)]
        if rc_bad and len(rc_bad) == len(bad):
            resources = dict(host.raw.get("resources") or {})
            changes = {}
            for check in rc_bad:
                view = host.resources[check.rc]
                usable = view["total"] - view["reserved"]
                if usable <= 0 or check.amount > view["max_unit"] or check.amount % (view["step_size"] or 1):
                    changes = None
                    break
                ratio = math.ceil((view["used"] + check.amount) / float(usable) * 100) / 100.0
                resources[check.rc] = dict(resources[check.rc], allocation_ratio=ratio)
                changes[check.rc] = {"from": view["allocation_ratio"], "to": ratio}
            if changes:
                text = ", ".join("%s allocation_ratio %g -> %g" % (rc, v["from"], v["to"]) for rc, v in changes.items())
                aggs = sorted(str(a.get("name") or a.get("id")) for a in host.aggregates)
                host_attempt("allocation_ratio", "on %s set %s" % (host.label, text), host,
                             dict(host.raw, resources=resources),
                             {"host": host.name, "ratios": changes, "aggregates": aggs},
                             ("allocation_ratio", _row_key(row), _resource_key(host)))
    found.sort(key=lambda r: (_ORDER.index(r["kind"]), 0 if r["kind"] == "smaller_flavor" else -r["hosts_valid"]))
    # keep the variety: at most 3 of a kind
    result_list, per_kind = [], {}
    for item in found:
        if per_kind.get(item["kind"], 0) >= 3:
            continue
        per_kind[item["kind"]] = per_kind.get(item["kind"], 0) + 1
        result_list.append(item)
    return result_list[:limit]


def _numa_changes(req):
    """Candidate NUMA extra spec changes: (text, new extra specs, detail)."""
    flavor = req["flavor"]
    specs = dict(flavor.get("extra_specs") or {})
    vcpus, ram = int(flavor.get("vcpus") or 0), int(flavor.get("ram") or 0)
    out = []
    manual = any(k.startswith(("hw:numa_cpus.", "hw:numa_mem.")) for k in specs)
    try:
        nodes = int(specs.get("hw:numa_nodes") or 1)
    except ValueError:
        nodes = 1
    if not manual:
        for n in (2, 3, 4, 1):
            if n != nodes and vcpus % n == 0 and ram % n == 0:
                new = dict(specs)
                if n == 1:
                    new.pop("hw:numa_nodes", None)
                else:
                    new["hw:numa_nodes"] = str(n)
                text = "set hw:numa_nodes=%d (the guest spread over %d host NUMA cell%s)" % (
                    n, n, "s" if n > 1 else "")
                out.append((text, new, {"extra_spec": "hw:numa_nodes", "value": str(n)}))
    page = specs.get("hw:mem_page_size")
    if page:
        for other in ("any", "large", "small", "2048", "1048576"):
            if other != page:
                out.append(("set hw:mem_page_size=%s instead of %s" % (other, page), dict(specs, **{
                    "hw:mem_page_size": other}), {"extra_spec": "hw:mem_page_size", "value": other}))
    if specs.get("hw:cpu_thread_policy") in ("require", "isolate"):
        out.append(("set hw:cpu_thread_policy=prefer instead of %s" % specs["hw:cpu_thread_policy"],
                    dict(specs, **{"hw:cpu_thread_policy": "prefer"}),
                    {"extra_spec": "hw:cpu_thread_policy", "value": "prefer"}))
    if specs.get("hw:emulator_threads_policy") == "isolate":
        out.append(("set hw:emulator_threads_policy=share instead of isolate (no extra pCPU; emulator threads run "
                    "on [compute] cpu_shared_set)", dict(specs, **{"hw:emulator_threads_policy": "share"}),
                    {"extra_spec": "hw:emulator_threads_policy", "value": "share"}))
    return out


def _smaller_flavors(result, req, max_candidates=3):
    """Flavors shrunk to the free capacity of the hosts that fail only on capacity."""
    checks, matrix = result["checks"], result["matrix"]
    flavor = req["flavor"]
    specs = flavor.get("extra_specs") or {}
    if any(k.startswith("resources") for k in specs):
        return []
    options = []
    for host in result["ctx"].cloud.hosts:
        row = matrix[host.index]
        bad = [checks[i] for i, cell in enumerate(row) if cell["verdict"] in _BAD]
        if not bad or not all(isinstance(c, P.ResourceClass) for c in bad):
            continue
        new = {"vcpus": int(flavor.get("vcpus") or 0), "ram": int(flavor.get("ram") or 0),
               "disk": int(flavor.get("disk") or 0)}
        ok = True
        for check in bad:
            view = host.resources.get(check.rc)
            if view is None:
                ok = False
                break
            room = min(view["capacity"] - view["used"], view["max_unit"])
            step = view["step_size"] or 1
            room -= room % step
            if room < max(view["min_unit"], 1):
                ok = False
                break
            if check.rc in ("VCPU", "PCPU"):
                new["vcpus"] = room - (1 if check.rc == "PCPU" and
                                       specs.get("hw:emulator_threads_policy") == "isolate" else 0)
            elif check.rc == "MEMORY_MB":
                new["ram"] = room
            elif check.rc == "DISK_GB":
                other = int(flavor.get("ephemeral") or 0) + int(math.ceil(int(flavor.get("swap") or 0) / 1024.0))
                new["disk"] = room - other
                if new["disk"] < 0 or req["is_bfv"]:
                    ok = False
            else:
                ok = False
            if new["vcpus"] < 1 or new["ram"] < 1:
                ok = False
        if ok:
            shrink = sum(new[k] / float(max(1, int(flavor.get(k) or 1))) for k in new)
            options.append((-shrink, host.label, new))
    options.sort(key=lambda o: (o[0], o[1]))
    out = []
    seen = set()
    for _score, label, new in options:
        key = (new["vcpus"], new["ram"], new["disk"])
        if key in seen:
            continue
        seen.add(key)
        shrunk = dict(flavor, vcpus=new["vcpus"], ram=new["ram"], disk=new["disk"],
                      name="%s (smaller)" % req["flavor_name"])
        out.append((shrunk, label))
        if len(out) >= max_candidates:
            break
    return out
