"""Benchmark: the explain engine's full host x check matrix vs Nova's own filter pass.

Builds a synthetic cloud (N hosts, a realistic mix: 4 hardware classes, racks as host
aggregates with metadata, 3 AZs, 2% disabled, 1% down, random usage, servers, an
anti-affinity group) as a snapshot, and the SAME hosts as Nova HostState objects. In the
same process and run it times, best of R repetitions:

- nova:   nova.filters.BaseFilterHandler.get_filtered_objects(enabled filters, hosts, spec)
          -- Nova's short-circuit filter pass (what FilterScheduler runs after placement);
- matrix: the engine's evaluate_matrix (every prefilter, placement resource class and
          filter on every host, never stopping) -- the "full matrix";
- explain: engine.run + report (matrix, candidates, weighing, placement of the instance,
          the JSON-able report with every cell), relaxations off.

- no-fit: two requests that fit nowhere, explained with the verified relaxations search
          (one of them count 2, every big host a per-host relaxation candidate); wall and
          CPU seconds (the machine is shared: CPU seconds are the steadier figure).

Nova's servicegroup compares each HostState's heartbeat with its clock; both are pinned to
one instant (pin_heartbeats), so the verdicts do not depend on how long the run takes.

Usage: explain_bench.py [--hosts 1000,10000] [--repeat 5] [--json out.json]
"""

import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if os.path.isdir(COLLECTIONS):
    sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))
os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

FILTERS = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
           "ServerGroupAffinityFilter", "AggregateInstanceExtraSpecsFilter", "AggregateMultiTenancyIsolation",
           "NumInstancesFilter", "IoOpsFilter"]

CLASSES = [  # vcpus, ram MB, disk GB, traits
    (32, 131072, 800, ["HW_CPU_X86_AVX2"]),
    (48, 262144, 1600, ["HW_CPU_X86_AVX2", "HW_CPU_X86_AVX512F"]),
    (64, 524288, 3200, ["HW_CPU_X86_AVX2", "HW_CPU_X86_AVX512F", "CUSTOM_NVME"]),
    (16, 65536, 400, []),
]


def synthetic_cloud(n, seed=42):
    rng = random.Random(seed)
    racks = max(1, n // 40)
    aggregates = []
    for r in range(racks):
        md = {}
        if r % 5 == 0:
            md["ssd"] = "true"
        if r % 17 == 0:
            md["filter_tenant_id"] = "tenant-%d" % r
        aggregates.append({"id": r + 1, "uuid": "rack-%04d" % r, "name": "rack%d" % r, "hosts": [],
                           "availability_zone": "az%d" % (r % 3 + 1), "metadata": md})
    hosts = []
    uid = 0
    group_members = []
    for i in range(n):
        vcpu, ram, disk, traits = CLASSES[i % len(CLASSES)] if rng.random() > 0.1 else rng.choice(CLASSES)
        rack = aggregates[i % racks]
        name = "cmp%05d" % i
        rack["hosts"].append(name)
        disabled = rng.random() < 0.02
        down = rng.random() < 0.01
        n_inst = rng.randint(0, 30)
        instances = ["inst-%07d" % (uid + k) for k in range(n_inst)]
        uid += n_inst
        if rng.random() < 0.01 and instances:
            group_members.append(instances[0])
        used_vcpu = min(vcpu * 4, n_inst * rng.choice([1, 2, 4]))
        used_ram = min(ram - 4096, n_inst * rng.choice([2048, 4096, 8192]))
        used_disk = min(disk, n_inst * rng.choice([20, 40, 80]))
        hosts.append({
            "name": name, "nodename": name, "provider_uuid": "rp-%05d" % i, "hypervisor_type": "QEMU",
            "hypervisor_version": 8002000, "host_ip": "10.%d.%d.%d" % (i // 65536, (i // 256) % 256, i % 256),
            "service": {"status": "disabled" if disabled else "enabled", "state": "down" if down else "up",
                        "forced_down": False, "disabled_reason": "maintenance" if disabled else None},
            "availability_zone": rack["availability_zone"], "aggregates": [rack["id"]],
            "resources": {
                "VCPU": {"total": vcpu, "reserved": 0, "allocation_ratio": 4.0, "used": used_vcpu, "min_unit": 1,
                         "max_unit": vcpu, "step_size": 1},
                "MEMORY_MB": {"total": ram, "reserved": 4096, "allocation_ratio": 1.0, "used": used_ram,
                              "min_unit": 1, "max_unit": ram, "step_size": 1},
                "DISK_GB": {"total": disk, "reserved": 0, "allocation_ratio": 1.0, "used": used_disk,
                            "min_unit": 1, "max_unit": disk, "step_size": 1},
            },
            "traits": traits + (["COMPUTE_STATUS_DISABLED"] if disabled else []),
            "provider_aggregates": [rack["uuid"]], "instances": instances, "num_instances": n_inst,
            "num_io_ops": rng.randint(0, 3), "cpu_info": None, "stats": {},
            "supported_instances": [["x86_64", "qemu", "hvm"]],
        })
    groups = [{"id": "grp-1", "name": "web", "policy": "anti-affinity", "rules": {}, "members": group_members}]
    return {"snapshot_version": 1, "source": {}, "scheduler": None, "hosts": hosts, "aggregates": aggregates,
            "availability_zones": [], "server_groups": groups}


REQUEST = {
    "flavor": {"name": "m1.xlarge", "vcpus": 8, "ram": 32768, "disk": 160,
               "extra_specs": {"aggregate_instance_extra_specs:ssd": "true", "hw:watchdog_action": "reset"}},
    "image": {"id": "img", "properties": {"hw_architecture": "x86_64"}},
    "availability_zone": None,
    "scheduler_hints": {"group": "grp-1"},
    "project_id": "tenant-0",
}


def best_of(func, repeat):
    times = []
    result = None
    for _unused in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return min(times), result


def pin_heartbeats(host_states, raws):
    """Make Nova's up/down verdicts independent of wall time.

    The oracle stamps each HostState's heartbeat when it builds it; a run that outlives
    ``service_down_time`` (50,000 hosts) would then see Nova call hosts down mid-run. Here every
    up host's heartbeat is one fixed instant and Nova's clock (``oslo_utils.timeutils.utcnow``,
    what the servicegroup DB driver compares with) is frozen at that instant; down hosts are
    an hour older.
    """
    import datetime
    from unittest import mock
    from oslo_utils import timeutils
    instant = datetime.datetime(2026, 1, 1, 12, 0, 0)
    for state, raw in zip(host_states, raws):
        up = (raw.get("service") or {}).get("state") == "up"
        seen = instant if up else instant - datetime.timedelta(hours=1)
        state.service["last_seen_up"] = seen
        state.service["created_at"] = seen
    patcher = mock.patch.object(timeutils, "utcnow", lambda *args, **kwargs: instant)
    patcher.start()
    return patcher


def bench(n, repeat):
    import nova_oracle as O
    snap = synthetic_cloud(n)
    conf_dict = {"enabled_filters": FILTERS}
    O.nova()
    O.set_conf({})
    from nova.scheduler import filters as nova_filters
    classes = O.nova()["classes"]
    by_id = {a["id"]: a for a in snap["aggregates"]}
    host_states = [O.host_state(h, by_id) for h in snap["hosts"]]
    clock = pin_heartbeats(host_states, snap["hosts"])
    spec = O.request_spec(REQUEST, snap)
    handler = nova_filters.HostFilterHandler()  # what HostManager.filter_handler is
    nova_filter_objs = [classes[name]() for name in FILTERS]

    def nova_pass():
        return list(handler.get_filtered_objects(nova_filter_objs, host_states, spec, 0) or [])

    cloud = engine.prepare(snap)
    conf = normalize_scheduler(conf_dict)
    req = normalize_request(REQUEST, snap)

    def matrix():
        ctx = engine.Context(cloud, conf, req)
        checks, _notes = engine.build_checks(ctx)
        return engine.evaluate_matrix(cloud, ctx, checks), checks

    from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render

    def full():
        result = engine.run(cloud, conf, req)
        rep = engine.report(result)
        rep["summary"] = render.summary_line(rep)
        return rep, result

    t_nova, nova_hosts = best_of(nova_pass, repeat)
    clock.stop()
    t_matrix, (cells, checks) = best_of(matrix, repeat)
    t_full, (rep, result) = best_of(full, repeat)
    # a request that fits nowhere, with the verified relaxations search (what an operator runs
    # after a NoValidHost): one run, not compared with Nova (Nova has nothing like it)
    nofit = dict(REQUEST, flavor=dict(REQUEST["flavor"], ram=600000), availability_zone="az1")
    t0 = time.perf_counter()
    nofit_out = engine.explain(cloud, nofit, scheduler=conf_dict)
    t_nofit = time.perf_counter() - t0
    # two instances of a flavor that fits no host now (memory just above the biggest hosts'
    # capacity, within their max_unit): every such host is a per-host relaxation candidate
    # (a higher ratio on it), the search the issue measured as quadratic
    nofit2 = dict(REQUEST, flavor=dict(REQUEST["flavor"], ram=524000), count=2)
    t0, c0 = time.perf_counter(), time.process_time()
    nofit2_out = engine.explain(cloud, nofit2, scheduler=conf_dict)
    t_nofit2, c_nofit2 = time.perf_counter() - t0, time.process_time() - c0
    # sanity: the engine's filter-stage survivors among hosts Nova kept agree on the filter verdicts
    nova_names = {h.host for h in nova_hosts}
    filter_cols = [i for i, c in enumerate(checks) if c.stage == "filter"]
    engine_filter_pass = {cloud.hosts[i].name for i, row in enumerate(cells)
                          if all(row[j]["verdict"] not in ("fail", "error") for j in filter_cols)}
    return {
        "hosts": n,
        "filters": len(FILTERS),
        "checks": len(checks),
        "cells": n * len(checks),
        "nova_filter_pass_s": round(t_nova, 4),
        "engine_matrix_s": round(t_matrix, 4),
        "engine_explain_s": round(t_full, 4),
        "ratio_matrix_vs_nova": round(t_matrix / t_nova, 3),
        "ratio_explain_vs_nova": round(t_full / t_nova, 3),
        "nova_hosts_passing": len(nova_names),
        "engine_filter_stage_passing": len(engine_filter_pass),
        "filter_verdicts_agree": nova_names == engine_filter_pass,
        "hosts_valid": rep["hosts_valid"],
        "summary": rep["summary"],
        "nofit_explain_with_relaxations_s": round(t_nofit, 3),
        "nofit_relaxations": [r["change"] for r in nofit_out["relaxations"]],
        "nofit_count2_explain_with_relaxations_s": round(t_nofit2, 3),
        "nofit_count2_explain_with_relaxations_cpu_s": round(c_nofit2, 3),
        "nofit_count2_placed": nofit2_out["placed"],
        "nofit_count2_relaxations": [r["change"] for r in nofit2_out["relaxations"]],
        "repeat": repeat,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    import logging
    logging.disable(logging.WARNING)  # Nova's LOG.debug/info calls stay (cheap) but print nothing
    rows = []
    for n in [int(x) for x in args.hosts.split(",")]:
        row = bench(n, args.repeat)
        rows.append(row)
        print("%6d hosts x %2d checks: nova filter pass %.4fs | engine full matrix %.4fs (ratio %.3f) | "
              "engine run+report %.4fs (ratio %.3f) | filter verdicts agree: %s"
              % (n, row["checks"], row["nova_filter_pass_s"], row["engine_matrix_s"], row["ratio_matrix_vs_nova"],
                 row["engine_explain_s"], row["ratio_explain_vs_nova"], row["filter_verdicts_agree"]))
        print("        %s" % row["summary"][:150])
        print("        no-fit request, full explain with %d verified relaxations: %.2fs"
              % (len(row["nofit_relaxations"]), row["nofit_explain_with_relaxations_s"]))
        print("        no-fit count 2, full explain with %d verified relaxations: %.2fs (%.2f CPU s)"
              % (len(row["nofit_count2_relaxations"]), row["nofit_count2_explain_with_relaxations_s"],
                 row["nofit_count2_explain_with_relaxations_cpu_s"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0 if all(r["filter_verdicts_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
