"""Benchmark: reading placement for 1,000 and 2,000 providers, per provider (today) vs in bulk.

minicloud's fake computes register about a dozen nodes a minute on a loaded 2-core machine, so
thousands of compute nodes are out of reach for a routine run. This benchmark measures the
part of the cloud read that issue 18 changes, the placement fan-out, on a real placement
service (minicloud's, started with one compute) holding N resource providers created through
its API: varied inventories (ratios, reserved memory, step sizes, providers without
MEMORY_MB), traits, 20 placement aggregates and allocations (some providers full). In the
same run, for each N:

- before: ``gather.placement_provider`` for every provider (inventories, usages, traits,
  aggregates: 4 requests each), ``placement_workers`` (8) at a time, as the gatherer did;
- after: ``gather.placement_bulk`` (one ``allocation_candidates``, one ``member_of`` listing
  per aggregate, the inventories, per-provider usages/traits for providers the summaries do
  not list);
- the values of both, provider by provider (inventories with every field, usages, traits,
  aggregates).

Requests are counted on the session. Results: JSON on stdout and ``--json``.

Usage: placement_scale_bench.py [--providers 1000,2000] [--port-base 34200]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection, gather  # noqa: E402

MV = "1.39"
TOPOLOGY = """\
name: placement-bench
description: one compute; the benchmark's providers are created in placement directly
hosts:
  - {name: pb-compute, vcpus: 8, memory_mb: 16384, local_gb: 100}
"""


def log(message):
    sys.stderr.write("placement-bench: %s\n" % message)
    sys.stderr.flush()


def check(response, what):
    if response.status_code >= 400:
        raise SystemExit("%s: HTTP %d %s" % (what, response.status_code, response.text[:500]))
    return response


def populate(conn, count, aggregates):
    """Create ``count`` providers with inventories, traits, aggregates and allocations."""
    placement = conn.placement
    project, user = conn.current_project_id, conn.current_user_id
    for trait in ("CUSTOM_BENCH_FAST", "CUSTOM_BENCH_GPU", "CUSTOM_BENCH_NVME"):
        check(placement.put("/traits/%s" % trait, microversion=MV, raise_exc=False), "create trait")

    def one(index):
        rp = str(uuid.uuid4())
        check(placement.post("/resource_providers", json={"name": "bench-%05d" % index, "uuid": rp},
                             microversion=MV, raise_exc=False), "create provider")
        kind = index % 50
        ram = [262144, 131072, 65536][index % 3]
        inventories = {
            "VCPU": {"total": 64, "reserved": 0, "allocation_ratio": [1.0, 2.0, 4.0][index % 3], "min_unit": 1,
                     "max_unit": 64, "step_size": 1},
            "DISK_GB": {"total": 2000, "reserved": 10, "allocation_ratio": 1.0, "min_unit": 1, "max_unit": 2000,
                        "step_size": 1},
        }
        if kind != 7:  # 2% without MEMORY_MB: not listed by the summaries
            inventories["MEMORY_MB"] = {"total": ram, "reserved": [0, 512, 4096][index % 3], "allocation_ratio": 1.0,
                                        "min_unit": 1, "max_unit": ram, "step_size": 256 if kind == 11 else 1}
        gen = check(placement.put("/resource_providers/%s/inventories" % rp,
                                  json={"resource_provider_generation": 0, "inventories": inventories},
                                  microversion=MV, raise_exc=False), "set inventories").json()["resource_provider_generation"]
        traits = [t for t, every in (("CUSTOM_BENCH_FAST", 2), ("CUSTOM_BENCH_GPU", 9), ("CUSTOM_BENCH_NVME", 5))
                  if index % every == 0]
        gen = check(placement.put("/resource_providers/%s/traits" % rp,
                                  json={"resource_provider_generation": gen, "traits": traits},
                                  microversion=MV, raise_exc=False), "set traits").json()["resource_provider_generation"]
        aggs = [aggregates[index % len(aggregates)]] + ([aggregates[0]] if index % 10 == 0 else [])
        check(placement.put("/resource_providers/%s/aggregates" % rp,
                            json={"resource_provider_generation": gen, "aggregates": sorted(set(aggs))},
                            microversion=MV, raise_exc=False), "set aggregates")
        if "MEMORY_MB" in inventories and index % 4:
            reserved = inventories["MEMORY_MB"]["reserved"]
            # 1 in 25 full of memory (not listed by the summaries), the others partly used
            memory = ram - reserved if kind in (3, 28) else 1024 * (1 + index % 40)
            memory -= memory % inventories["MEMORY_MB"]["step_size"]
            body = {"allocations": {rp: {"resources": {"VCPU": 1 + index % 8, "MEMORY_MB": memory,
                                                       "DISK_GB": 10 * (1 + index % 5)}}},
                    "project_id": project, "user_id": user, "consumer_generation": None}
            check(placement.put("/allocations/%s" % uuid.uuid4(), json=body, microversion="1.28", raise_exc=False),
                  "allocate")
        return rp

    start = time.monotonic()
    uuids = connection.parallel_map(one, range(count), workers=8)
    log("created %d providers in %.0f s" % (count, time.monotonic() - start))
    return uuids


class Counting:
    def __init__(self, conn):
        self.conn = conn
        self.calls = []
        self.original = conn.session.request

    def __enter__(self):
        def counting(url, method, *args, **kwargs):
            self.calls.append((method, url))
            return self.original(url, method, *args, **kwargs)
        self.conn.session.request = counting
        return self

    def __exit__(self, *exc):
        self.conn.session.request = self.original


def normal(result):
    return {"inventories": result.get("inventories"), "usages": result.get("usages"),
            "traits": sorted(result["traits"]) if result.get("traits") is not None else None,
            "aggregates": sorted(result["aggregates"]) if result.get("aggregates") is not None else None}


def measure(conn, uuids, aggregates, workers):
    adapter = conn.placement
    with Counting(conn) as before_calls:
        start = time.monotonic()
        before = connection.parallel_map(lambda u: gather.placement_provider(adapter, u, MV), uuids, workers=workers)
        t_before = time.monotonic() - start
    nova_aggregates = [{"uuid": a} for a in aggregates]
    with Counting(conn) as after_calls:
        start = time.monotonic()
        after = gather.placement_bulk(adapter, uuids, MV, nova_aggregates, workers)
        t_after = time.monotonic() - start
    diffs, compared = [], 0
    for one, other in zip(before, after):
        a, b = normal(one), normal(other)
        for key in a:
            compared += 1
            if a[key] != b[key]:
                diffs.append("%s %s: %r vs %r" % (one["uuid"], key, a[key], b[key]))
    fallbacks = sum(1 for _m, u in after_calls.calls if u.endswith("/usages"))
    return {
        "providers": len(uuids),
        "before_seconds": round(t_before, 2), "before_requests": len(before_calls.calls),
        "after_seconds": round(t_after, 2), "after_requests": len(after_calls.calls),
        "after_fallback_providers": fallbacks,
        "requests_per_provider_before": round(len(before_calls.calls) / float(len(uuids)), 3),
        "requests_per_provider_after": round(len(after_calls.calls) / float(len(uuids)), 3),
        "time_ratio_after_vs_before": round(t_after / t_before, 3),
        "values_compared": compared, "same_values": not diffs, "differences": diffs[:10],
        "errors": sum(len(r["errors"]) for r in before + after),
        "load": [round(x, 1) for x in os.getloadavg()],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", default="1000,2000")
    parser.add_argument("--port-base", type=int, default=34200)
    parser.add_argument("--state-dir", default=os.path.join(ROOT, ".cache", "placement-bench"))
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--json")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.providers.split(","))
    ctl = os.path.join(ROOT, "tests", "minicloud", "minicloudctl")
    topo = os.path.join(tempfile.mkdtemp(prefix="placement-bench-"), "topology.yml")
    with open(topo, "w") as handle:
        handle.write(TOPOLOGY)
    proc = subprocess.run([sys.executable, ctl, "start", "--topology", topo, "--state-dir", args.state_dir,
                           "--port-base", str(args.port_base), "--timeout", "900"],
                          stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        raise SystemExit("minicloud did not start")
    os.environ["OS_CLIENT_CONFIG_FILE"] = proc.stdout.strip().splitlines()[-1]
    rows = []
    try:
        conn = connection.connect({"cloud": "minicloud"})
        aggregates = [str(uuid.uuid4()) for _unused in range(20)]
        uuids = populate(conn, sizes[-1], aggregates)
        for size in sizes:
            row = measure(conn, uuids[:size], aggregates, args.workers)
            rows.append(row)
            print(json.dumps(row, sort_keys=True))
            sys.stdout.flush()
    finally:
        subprocess.run([sys.executable, ctl, "stop", "--state-dir", args.state_dir], check=False)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, sort_keys=True)
    return 0 if all(r["same_values"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
