"""Benchmark: the cloud read of hypervisor_info / the inventory at 1,000 and 2,000 nodes, before and after.

Issue 18: today's read asks placement 4 requests per provider (inventories, usages, traits,
aggregates) and lists hypervisors at microversion 2.100 (one uptime RPC per node, no
cpu_info). The new read asks one ``allocation_candidates`` (provider summaries: used and
traits), one ``member_of`` listing per host aggregate and the inventories of each provider,
and lists hypervisors at 2.87. On one minicloud per size (N/100 fake nova-compute services x
100 nodes, two AZs, one disabled service, a few servers), in the same run:

- before / after: ``gather.gather_snapshot`` in a fresh process (connect + authenticate +
  read), with ``--before`` (another copy of the collection, e.g. today's code from
  ``git archive``) and with this tree;
- the inventory plugin (``ansible-inventory --list``) before / after (``--inventory``);
- values compared host by host between both reads (resources with every field, traits,
  provider aggregates, provider uuid), and whether ``cpu_info`` is known.

HTTP requests are counted client side (benchmarks/reqcount). Results: JSON on stdout and
``--json``.

Usage: facts_scale_bench.py --before DIR [--nodes 1000,2000] [--port-base 34100] [--inventory]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import facts_bench as FB  # noqa: E402


def topology(nodes, path):
    services = max(1, nodes // 100)
    per = nodes // services
    classes = [(64, 262144, 2000, {}), (32, 131072, 1000, {"reserved_host_memory_mb": 4096}),
               (48, 196608, 1500, {"cpu_allocation_ratio": 2.0}), (16, 65536, 500, {})]
    hosts = []
    for i in range(services):
        vcpus, ram, disk, extra = classes[i % len(classes)]
        entry = {"name": "svc%02d" % i, "nodes": per, "vcpus": vcpus, "memory_mb": ram, "local_gb": disk}
        entry.update(extra)
        if i == services - 1 and services > 1:
            entry["disabled"] = "benchmark: one disabled service"
        hosts.append(entry)
    names = [h["name"] for h in hosts]
    doc = {
        "name": "facts-scale%d" % nodes,
        "description": "%d compute nodes (%d services x %d) for facts_scale_bench" % (nodes, services, per),
        "hosts": hosts,
        "aggregates": [{"name": "az1-hosts", "availability_zone": "az1", "hosts": names[0::2]},
                       {"name": "az2-hosts", "availability_zone": "az2", "hosts": names[1::2]},
                       {"name": "big", "hosts": names[:2], "metadata": {"size": "big"}}],
        "flavors": [{"name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 80}],
        "servers": [{"name": "bench", "flavor": "m1.large", "count": 4}],
        "boot_timeout": 1200,
        "start_timeout": 3600,
        "nova_conf": {"DEFAULT": {"update_resources_interval": 3600}},
    }
    with open(path, "w") as handle:
        json.dump(doc, handle, indent=1)  # JSON is YAML
    return path


LIBRARY = (
    "import json, sys, time\n"
    "sys.path.insert(0, %r)\n"
    "t = time.monotonic()\n"
    "from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection, gather\n"
    "conn = connection.connect({'cloud': 'minicloud'})\n"
    "snap = gather.gather_snapshot(conn, workers=8)\n"
    "seconds = time.monotonic() - t\n"
    "json.dump(snap, open(%r, 'w'))\n"
    "print(json.dumps({'seconds': seconds, 'hosts': len(snap['hosts'])}))\n"
)


def library(collections, clouds_yaml, counter, out, placement_port):
    env = FB.env_for(clouds_yaml, counter)
    counter.reset()
    start = time.monotonic()
    text = FB.run([sys.executable, "-c", LIBRARY % (collections, out)], env, "gather_snapshot")
    wall = time.monotonic() - start
    info = json.loads(text.strip().splitlines()[-1])
    summary = counter.summary()
    lines = counter.lines()
    summary["placement_requests"] = sum(1 for line in lines if (":%s" % placement_port) in line[2])
    return {"seconds": round(wall, 2), "in_process_seconds": round(info["seconds"], 2), "hosts": info["hosts"],
            **summary}


def inventory(collections, clouds_yaml, counter, workdir):
    path = os.path.join(workdir, "bench.nova_hypervisors.yml")
    with open(path, "w") as handle:
        handle.write("plugin: stackops.nova.hypervisors\ncloud: minicloud\n")
    env = FB.env_for(clouds_yaml, counter)
    env["ANSIBLE_COLLECTIONS_PATH"] = collections
    env["ANSIBLE_INVENTORY_ENABLED"] = "stackops.nova.hypervisors"
    counter.reset()
    start = time.monotonic()
    text = FB.run([os.path.join(BIN, "ansible-inventory"), "-i", path, "--list"], env, "ansible-inventory")
    wall = time.monotonic() - start
    hosts = len(json.loads(text).get("_meta", {}).get("hostvars", {}))
    return {"seconds": round(wall, 2), "inventory_hosts": hosts, **counter.summary()}


FIELDS = ("provider_uuid", "resources", "traits", "provider_aggregates")


def compare(before_path, after_path):
    with open(before_path) as handle:
        before = {(h["name"], h["nodename"]): h for h in json.load(handle)["hosts"]}
    with open(after_path) as handle:
        after = {(h["name"], h["nodename"]): h for h in json.load(handle)["hosts"]}
    diffs, compared = [], 0
    for key, host in before.items():
        other = after.get(key)
        if other is None:
            diffs.append("%s missing after" % (key,))
            continue
        for field in FIELDS:
            if field == "resources":
                for rc, view in (host["resources"] or {}).items():
                    for name, value in view.items():
                        compared += 1
                        theirs = (other["resources"] or {}).get(rc, {}).get(name)
                        if theirs != value:
                            diffs.append("%s %s.%s: %r vs %r" % (key[1], rc, name, value, theirs))
                if set(host["resources"] or {}) != set(other["resources"] or {}):
                    diffs.append("%s classes differ" % key[1])
            else:
                compared += 1
                if host[field] != other[field]:
                    diffs.append("%s %s: %r vs %r" % (key[1], field, host[field], other[field]))
    cpu_before = sum(1 for h in before.values() if h.get("cpu_info"))
    cpu_after = sum(1 for h in after.values() if h.get("cpu_info"))
    return {"values_compared": compared, "differences": diffs[:20], "same_values": not diffs,
            "hosts": len(before), "cpu_info_known_before": cpu_before, "cpu_info_known_after": cpu_after}


def start_cloud(args):
    cmd = [sys.executable, os.path.join(ROOT, "tests", "minicloud", "minicloudctl"), "start",
           "--topology", args.topology, "--state-dir", args.state_dir, "--port-base", str(args.port_base),
           "--timeout", "3600"]
    FB.log("starting minicloud: %s" % " ".join(cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("minicloud did not start (exit %d)" % proc.returncode)
    return proc.stdout.strip().splitlines()[-1].strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="collections path holding today's collection")
    parser.add_argument("--nodes", default="1000,2000")
    parser.add_argument("--port-base", type=int, default=34100)
    parser.add_argument("--state-dir", default=os.path.join(ROOT, ".cache", "facts-scale-bench"))
    parser.add_argument("--inventory", action="store_true", help="also time the inventory plugin")
    parser.add_argument("--json")
    args = parser.parse_args()
    ours = os.path.join(ROOT, ".build", "collections")
    before_path = os.path.abspath(args.before)
    workdir = tempfile.mkdtemp(prefix="facts-scale-")
    counter = FB.Counter(workdir)
    rows = []
    try:
        for nodes in [int(n) for n in args.nodes.split(",")]:
            cloud_args = argparse.Namespace(topology=topology(nodes, os.path.join(workdir, "topo%d.yml" % nodes)),
                                            state_dir=args.state_dir, port_base=args.port_base)
            started = time.monotonic()
            clouds_yaml = start_cloud(cloud_args)
            row = {"nodes": nodes, "cloud_start_s": round(time.monotonic() - started), "load_before": os.getloadavg()}
            try:
                b_out, a_out = os.path.join(workdir, "before.json"), os.path.join(workdir, "after.json")
                row["library_before"] = library(before_path, clouds_yaml, counter, b_out, args.port_base + 1)
                FB.log("%d nodes, before: %s" % (nodes, row["library_before"]))
                row["library_after"] = library(ours, clouds_yaml, counter, a_out, args.port_base + 1)
                FB.log("%d nodes, after: %s" % (nodes, row["library_after"]))
                row["compare"] = compare(b_out, a_out)
                FB.log("%d nodes, values: %s" % (nodes, row["compare"]))
                if args.inventory:
                    row["inventory_before"] = inventory(before_path, clouds_yaml, counter, workdir)
                    row["inventory_after"] = inventory(ours, clouds_yaml, counter, workdir)
                    FB.log("%d nodes, inventory: %s / %s" % (nodes, row["inventory_before"], row["inventory_after"]))
                lb, la = row["library_before"], row["library_after"]
                row["time_ratio_after_vs_before"] = round(la["seconds"] / lb["seconds"], 3)
                row["requests_per_node_before"] = round(lb["requests"] / float(nodes), 3)
                row["requests_per_node_after"] = round(la["requests"] / float(nodes), 3)
                if args.inventory:
                    row["inventory_time_ratio"] = round(row["inventory_after"]["seconds"]
                                                        / row["inventory_before"]["seconds"], 3)
                row["load_after"] = os.getloadavg()
            finally:
                FB.stop_cloud(cloud_args)
            rows.append(row)
            print(json.dumps(row, sort_keys=True))
            sys.stdout.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, sort_keys=True)
    return 0 if all(r["compare"]["same_values"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
