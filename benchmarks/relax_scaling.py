"""Benchmark: growth of a no-fit ``count: 2`` explanation with relaxations, by number of hosts.

For each size, in a fresh process per size (so one size's memory does not slow the next),
builds the explain benchmark's synthetic cloud and explains the request of
``explain_bench.py``'s "no-fit count 2" (every big host is a per-host relaxation candidate),
relaxations on. Reports wall and CPU seconds and the growth exponent between consecutive
sizes (1 = linear, 2 = quadratic). ``--collections DIR`` runs another copy of the collection
(for example today's code from ``git archive``) for a before/after in the same run.

Usage: relax_scaling.py [--hosts 1000,2000,4000,10000] [--collections DIR] [--json out.json]
"""

import argparse
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, sys, time
sys.path.insert(0, %(bench)r)
import explain_bench as EB
for name in [m for m in sys.modules if m.startswith("ansible_collections")]:
    del sys.modules[name]
sys.path.insert(0, %(collections)r)
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine
snap = EB.synthetic_cloud(%(hosts)d)
cloud = engine.prepare(snap)
request = dict(EB.REQUEST, flavor=dict(EB.REQUEST["flavor"], ram=524000), count=2)
t0, c0 = time.perf_counter(), time.process_time()
out = engine.explain(cloud, request, scheduler={"enabled_filters": EB.FILTERS})
print(json.dumps({"hosts": %(hosts)d, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                  "placed": out["placed"], "relaxations": [r["change"] for r in out["relaxations"]]}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", default="1000,2000,4000,10000")
    parser.add_argument("--collections", default=os.path.join(ROOT, ".build", "collections"))
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    for hosts in [int(h) for h in args.hosts.split(",")]:
        code = CHILD % {"bench": os.path.join(ROOT, "benchmarks"), "collections": os.path.abspath(args.collections),
                        "hosts": hosts}
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=args.timeout, check=False)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        if rows:
            prev = rows[-1]
            ratio = math.log(hosts / float(prev["hosts"]))
            row["exponent_cpu"] = round(math.log(row["cpu_seconds"] / prev["cpu_seconds"]) / ratio, 2)
        row["load"] = [round(x, 1) for x in os.getloadavg()]
        rows.append(row)
        print("%6d hosts: %.2f s wall, %.2f CPU s, placed %d, %d relaxations%s, load %s"
              % (hosts, row["seconds"], row["cpu_seconds"], row["placed"], len(row["relaxations"]),
                 ", exponent %.2f" % row["exponent_cpu"] if "exponent_cpu" in row else "", row["load"]))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
