"""Benchmark: stackops.nova.placement_audit against ``nova-manage placement audit``, same cloud, same run.

Not a timed test: it measures and reports. On one minicloud with 200 hypervisors
(benchmarks/facts_scale200.yml), after planting ``--orphans`` orphaned allocations through
placement's API:

* ours: the library call ``audit_cloud.run_audit`` in a fresh process (connection and
  authentication included), and ``ansible-playbook`` running ``stackops.nova.placement_audit``;
* Nova's: ``nova-manage --config-file <state dir>/etc/nova.conf placement audit --verbose``
  (database access on the control node, orphaned allocations only).

HTTP requests are counted in every process (benchmarks/reqcount/sitecustomize.py; nova-manage's
database queries are not HTTP and are not counted). Both must name the same orphaned consumers.
Helpers (request counting, cloud start/stop) come from benchmarks/facts_bench.py.

Usage (from the repository root, after ``make venv collection``)::

    .venv/bin/python benchmarks/audit_bench.py [--port-base 26500] [--clouds-yaml FILE --state-dir DIR]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import facts_bench as fb  # noqa: E402

ROOT = fb.ROOT
BIN = fb.BIN

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Audit
      stackops.nova.placement_audit:
        cloud: minicloud
      register: audit
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ audit | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def log(message):
    sys.stderr.write("audit-bench: %s\n" % message)
    sys.stderr.flush()


def plant_orphans(clouds_yaml, count):
    sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))
    from mc_util import sdk_conn
    conn = sdk_conn(clouds_yaml, "minicloud")
    providers = conn.placement.get("/resource_providers", microversion="1.36").json()["resource_providers"]
    providers.sort(key=lambda p: p["name"])
    planted = set()
    for index in range(count):
        consumer = str(uuid.uuid4())
        rp = providers[(index * 37) % len(providers)]["uuid"]
        r = conn.placement.put("/allocations/%s" % consumer, microversion="1.36", json={
            "allocations": {rp: {"resources": {"VCPU": 1, "MEMORY_MB": 128}}},
            "consumer_generation": None, "project_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())})
        assert r.status_code == 204, r.text
        planted.add(consumer)
    return planted


def ours_library(clouds_yaml, counter):
    code = (
        "import json, sys, time\n"
        "sys.path.insert(0, %r)\n"
        "t = time.monotonic()\n"
        "from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection, audit_cloud\n"
        "conn = connection.connect({'cloud': 'minicloud'})\n"
        "r = audit_cloud.run_audit(conn)\n"
        "nodes = [u for u in r['unknown'] if u['check'] == 'inventory_allocation_ratio_and_reserved']\n"
        "print(json.dumps({'seconds': time.monotonic() - t, 'summary': r['summary'], 'requests': r['requests'],\n"
        "                  'nodes': len(nodes[0]['objects']) if nodes else None,\n"
        "                  'orphans': sorted(f['consumer'] for f in r['findings'] if f['kind'] == 'orphaned_allocation')}))\n"
    ) % os.path.join(ROOT, ".build", "collections")
    env = fb.env_for(clouds_yaml, counter)
    counter.reset()
    start = time.monotonic()
    out = fb.run([sys.executable, "-c", code], env, "run_audit")
    wall = time.monotonic() - start
    return wall, counter.summary(), json.loads(out.strip().splitlines()[-1])


def ours_ansible(clouds_yaml, counter, workdir):
    out = os.path.join(workdir, "audit.json")
    playbook = os.path.join(workdir, "audit.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAYBOOK.format(out=out))
    env = fb.env_for(clouds_yaml, counter)
    counter.reset()
    start = time.monotonic()
    fb.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, playbook], env, "ansible-playbook")
    wall = time.monotonic() - start
    with open(out) as handle:
        result = json.load(handle)
    return wall, counter.summary(), result


def nova_manage(clouds_yaml, counter, state_dir):
    env = fb.env_for(clouds_yaml, counter)
    env["OS_NOVA_DISABLE_EVENTLET_PATCHING"] = "1"
    counter.reset()
    start = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "nova-manage"), "--config-file",
                           os.path.join(state_dir, "etc", "nova.conf"), "placement", "audit", "--verbose"],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode not in (0, 3):
        raise SystemExit("nova-manage placement audit failed (exit %d): %s" % (proc.returncode, proc.stdout[-2000:]))
    return wall, counter.summary(), set(re.findall(r"against consumer UUID ([0-9a-f-]{36})", proc.stdout))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--topology", default=os.path.join(ROOT, "benchmarks", "facts_scale200.yml"))
    parser.add_argument("--state-dir", default=os.path.join(ROOT, ".cache", "audit-bench"))
    parser.add_argument("--port-base", type=int, default=26500)
    parser.add_argument("--clouds-yaml", help="use this running cloud (with --state-dir) instead of starting one")
    parser.add_argument("--orphans", type=int, default=5)
    parser.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "results", "audit.json"))
    args = parser.parse_args()
    started = False
    try:
        clouds_yaml = args.clouds_yaml
        if not clouds_yaml:
            clouds_yaml = fb.start_cloud(args)
            started = True
        with tempfile.TemporaryDirectory() as workdir:
            counter = fb.Counter(workdir)
            planted = plant_orphans(clouds_yaml, args.orphans)
            log("planted %d orphaned allocations" % len(planted))
            lib_wall, lib_req, lib = ours_library(clouds_yaml, counter)
            log("library: %.1f s, %d requests" % (lib_wall, lib_req["requests"]))
            ans_wall, ans_req, ans = ours_ansible(clouds_yaml, counter, workdir)
            log("ansible-playbook: %.1f s, %d requests" % (ans_wall, ans_req["requests"]))
            nm_wall, nm_req, nm_orphans = nova_manage(clouds_yaml, counter, args.state_dir)
            log("nova-manage: %.1f s, %d requests" % (nm_wall, nm_req["requests"]))
        result = {
            "compute_nodes": lib["nodes"],
            "ours_library": {"seconds": round(lib_wall, 1), "requests": lib_req, "summary": lib["summary"]["line"]},
            "ours_ansible": {"seconds": round(ans_wall, 1), "requests": ans_req},
            "nova_manage": {"seconds": round(nm_wall, 1), "requests": nm_req},
            "same_orphans": set(lib["orphans"]) == nm_orphans == planted == {
                f["consumer"] for f in ans["findings"] if f["kind"] == "orphaned_allocation"},
            "orphans_found": {"ours": len(lib["orphans"]), "nova_manage": len(nm_orphans), "planted": len(planted)},
            "speedup_library": round(nm_wall / lib_wall, 2),
            "speedup_ansible": round(nm_wall / ans_wall, 2),
            "load_average": os.getloadavg(),
        }
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
        print(json.dumps(result, indent=1))
    finally:
        if started:
            fb.stop_cloud(args)


if __name__ == "__main__":
    main()
