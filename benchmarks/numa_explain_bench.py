"""Benchmark: the explain engine with NUMA hosts vs Nova's own filter pass, NUMATopologyFilter included.

explain_bench.py's synthetic cloud (N hosts, racks, AZs, usage, servers, an anti-affinity group)
with a NUMA topology on every host (2 cells, SMT siblings, half the hosts with every CPU in
cpu_dedicated_set and PCPU inventory, random pinned cores, 4 kB and 2 MB pages with random
use) and a pinned request (8 dedicated vCPUs, 2 MB pages). In the same process and run, best
of R repetitions:

- nova:   HostFilterHandler.get_filtered_objects(the 9 filters + NUMATopologyFilter) on real
          HostState objects carrying objects.NUMATopology, the RequestSpec carrying
          hardware.numa_get_constraints(flavor, image);
- matrix: the engine's full host x check matrix (every check on every host, never stopping);
- explain: engine.run + report (relaxations off).

The engine's NUMATopologyFilter verdicts are checked against Nova's on the hosts Nova's other
filters let through.

Usage: numa_explain_bench.py [--hosts 1000,10000] [--repeat 3] [--json out.json]
"""

import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import explain_bench as EB  # noqa: E402  (also puts the collection and tests/oracle on sys.path)

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

FILTERS = EB.FILTERS + ["NUMATopologyFilter"]
REQUEST = {
    "flavor": {"name": "pinned.xlarge", "vcpus": 8, "ram": 16384, "disk": 80,
               "extra_specs": {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "2048",
                               "aggregate_instance_extra_specs:ssd": "true"}},
    "image": {"id": "img", "properties": {"hw_architecture": "x86_64"}},
    "availability_zone": None,
    "scheduler_hints": {"group": "grp-1"},
    "project_id": "tenant-0",
}


def add_numa(snap, seed=7):
    rng = random.Random(seed)
    for i, host in enumerate(snap["hosts"]):
        res = host["resources"]
        vcpu = res["VCPU"]["total"]
        ram = res["MEMORY_MB"]["total"]
        dedicated = i % 2 == 0
        cores = vcpu // 4  # per cell, 2 threads each: 2 cells x cores x 2 = vcpu
        cells = []
        pinned_total = 0
        for c in range(2):
            siblings = [[c * cores + k, 2 * cores + c * cores + k] for k in range(cores)]
            cpus = sorted(x for sib in siblings for x in sib)
            pinned = []
            if dedicated:
                for sib in siblings:
                    if rng.random() < 0.45:
                        pinned.extend(sib)
            pinned_total += len(pinned)
            memory = ram // 2
            huge = memory // 2 // 2  # half the cell's memory in 2 MB pages
            huge_used = rng.randint(0, huge)
            cells.append({"id": c, "cpuset": [] if dedicated else cpus, "pcpuset": cpus if dedicated else [],
                          "siblings": siblings, "memory": memory, "memory_usage": rng.randint(0, memory // 2),
                          "cpu_usage": 0 if dedicated else rng.randint(0, 2 * len(cpus)), "pinned_cpus": pinned,
                          "mempages": [{"size_kb": 4, "total": memory * 128, "used": rng.randint(0, memory * 64),
                                        "reserved": 0},
                                       {"size_kb": 2048, "total": huge, "used": huge_used, "reserved": 0}],
                          "socket": c})
        host["numa"] = {"cells": cells, "source": "bench", "unknown": None}
        if dedicated:
            view = res.pop("VCPU")
            res["PCPU"] = dict(view, allocation_ratio=1.0, used=pinned_total)
    return snap


def bench(n, repeat):
    import nova_oracle as O
    from nova.scheduler import filters as nova_filters
    from nova.virt import hardware
    sys.path.insert(0, os.path.join(EB.ROOT, "tests", "oracle"))
    import test_numa_oracle as TN
    snap = add_numa(EB.synthetic_cloud(n))
    O.nova()
    O.set_conf({})
    objects = O.nova()["objects"]
    classes = O.nova()["classes"]
    by_id = {a["id"]: a for a in snap["aggregates"]}
    host_states = [O.host_state(h, by_id) for h in snap["hosts"]]
    for state, raw in zip(host_states, snap["hosts"]):
        state.numa_topology = TN.nova_topology(raw["numa"])
        state.allocation_candidates = [{"mappings": {}}]
        state.limits = {}
        if state.cpu_allocation_ratio is None:
            state.cpu_allocation_ratio = 4.0
    clock = EB.pin_heartbeats(host_states, snap["hosts"])
    spec = O.request_spec(REQUEST, snap)
    spec.numa_topology = hardware.numa_get_constraints(spec.flavor, spec.image)
    spec.pci_requests = objects.InstancePCIRequests(requests=[])
    handler = nova_filters.HostFilterHandler()
    nova_filter_objs = [classes[name]() for name in FILTERS]

    def nova_pass():
        return list(handler.get_filtered_objects(nova_filter_objs, host_states, spec, 0) or [])

    cloud = engine.prepare(snap)
    conf = normalize_scheduler({"enabled_filters": FILTERS})
    req = normalize_request(REQUEST, snap)

    def matrix():
        for host in cloud.hosts:  # no memo carried between repetitions
            host.memo.clear()
        ctx = engine.Context(cloud, conf, req)
        checks, _notes = engine.build_checks(ctx)
        return engine.evaluate_matrix(cloud, ctx, checks), checks

    def full():
        for host in cloud.hosts:
            host.memo.clear()
        result = engine.run(cloud, conf, req)
        rep = engine.report(result)
        rep["summary"] = render.summary_line(rep)
        return rep, result

    t_nova, nova_hosts = EB.best_of(nova_pass, repeat)
    clock.stop()
    t_matrix, (cells, checks) = EB.best_of(matrix, repeat)
    t_full, (rep, _result) = EB.best_of(full, repeat)
    nova_names = {h.host for h in nova_hosts}
    filter_cols = [i for i, c in enumerate(checks) if c.stage == "filter"]
    engine_pass = {cloud.hosts[i].name for i, row in enumerate(cells)
                   if all(row[j]["verdict"] not in ("fail", "error") for j in filter_cols)}
    numa_col = [i for i, c in enumerate(checks) if c.name == "NUMATopologyFilter"][0]
    numa_fail = sum(1 for row in cells if row[numa_col]["verdict"] == "fail")
    return {
        "hosts": n, "filters": len(FILTERS), "checks": len(checks),
        "nova_filter_pass_s": round(t_nova, 4), "engine_matrix_s": round(t_matrix, 4),
        "engine_explain_s": round(t_full, 4), "ratio_matrix_vs_nova": round(t_matrix / t_nova, 3),
        "ratio_explain_vs_nova": round(t_full / t_nova, 3), "nova_hosts_passing": len(nova_names),
        "engine_filter_stage_passing": len(engine_pass), "filter_verdicts_agree": nova_names == engine_pass,
        "numa_fail_hosts": numa_fail, "summary": rep["summary"], "repeat": repeat,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    import logging
    logging.disable(logging.WARNING)
    rows = []
    for n in [int(x) for x in args.hosts.split(",")]:
        row = bench(n, args.repeat)
        rows.append(row)
        print("%6d NUMA hosts x %2d checks: nova filter pass %.4fs | engine full matrix %.4fs (ratio %.3f) | "
              "engine run+report %.4fs (ratio %.3f) | NUMA fails %d hosts | filter verdicts agree: %s"
              % (n, row["checks"], row["nova_filter_pass_s"], row["engine_matrix_s"], row["ratio_matrix_vs_nova"],
                 row["engine_explain_s"], row["ratio_explain_vs_nova"], row["numa_fail_hosts"],
                 row["filter_verdicts_agree"]))
        print("        %s" % row["summary"][:150])
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0 if all(r["filter_verdicts_agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
