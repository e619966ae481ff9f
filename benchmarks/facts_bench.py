"""Benchmark: stackops.nova.hypervisor_info against the sequential command-line way.

Not a timed test: it measures and reports. On one minicloud with 200 hypervisors
(benchmarks/facts_scale200.yml: 20 fake nova-compute services x 10 nodes), in the same run:

* ours: ``ansible-playbook`` running ``stackops.nova.hypervisor_info`` (the whole command,
  ansible start-up included), and the library call ``gather.gather_snapshot`` in-process;
* the CLI way an operator uses today: ``openstack hypervisor list --long``, then for every
  provider ``openstack resource provider inventory list`` and ``openstack resource provider
  usage show``, one command after the other.

HTTP requests are counted in every process (benchmarks/reqcount/sitecustomize.py). The
numbers of both ways are compared field by field (total, reserved, min_unit, max_unit,
step_size, allocation_ratio, used). Results go to a JSON file and stdout.

Usage (from the repository root, after ``make venv collection``)::

    .venv/bin/python benchmarks/facts_bench.py [--port-base 19000] [--clouds-yaml FILE]
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
REQCOUNT = os.path.join(ROOT, "benchmarks", "reqcount")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Capacity of every compute node
      stackops.nova.hypervisor_info:
        cloud: minicloud
        placement_workers: {workers}
      register: facts
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ facts | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def log(message):
    sys.stderr.write("facts-bench: %s\n" % message)
    sys.stderr.flush()


class Counter:
    def __init__(self, directory):
        self.path = os.path.join(directory, "requests.log")

    def reset(self):
        open(self.path, "w").close()

    def lines(self):
        with open(self.path) as handle:
            return [line.split() for line in handle if line.strip()]

    def summary(self):
        lines = self.lines()
        by_service = {}
        for _pid, method, url, status in lines:
            port = re.match(r"https?://[^/:]+:(\d+)", url)
            key = port.group(1) if port else "?"
            by_service[key] = by_service.get(key, 0) + 1
        return {"requests": len(lines), "by_port": by_service,
                "errors": sum(1 for line in lines if not line[3].startswith(("2", "3")))}


def env_for(clouds_yaml, counter):
    env = dict(os.environ)
    env.update({
        "OS_CLIENT_CONFIG_FILE": clouds_yaml,
        "PYTHONPATH": REQCOUNT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "STACKOPS_BENCH_REQLOG": counter.path,
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "tests", "ansible.cfg"),
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    for key in [k for k in env if k.startswith("OS_") and k != "OS_CLIENT_CONFIG_FILE"]:
        env.pop(key)
    return env


def run(cmd, env, what):
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed (%d): %s\n%s" % (what, proc.returncode, " ".join(cmd), proc.stderr[-3000:]))
    return proc.stdout


def ours_ansible(clouds_yaml, counter, workdir, workers):
    out = os.path.join(workdir, "ours.json")
    playbook = os.path.join(workdir, "facts.yml")
    with open(playbook, "w") as handle:
        handle.write(PLAYBOOK.format(out=out, workers=workers))
    env = env_for(clouds_yaml, counter)
    counter.reset()
    start = time.monotonic()
    run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=%s" % sys.executable, playbook], env, "ansible-playbook")
    wall = time.monotonic() - start
    with open(out) as handle:
        result = json.load(handle)
    return wall, counter.summary(), result


def ours_library(clouds_yaml, counter, workers):
    """gather_snapshot in a fresh process (connection + authentication included)."""
    code = (
        "import json, sys, time\n"
        "sys.path.insert(0, %r)\n"
        "t = time.monotonic()\n"
        "from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection, gather\n"
        "conn = connection.connect({'cloud': 'minicloud'})\n"
        "snap = gather.gather_snapshot(conn, workers=%d)\n"
        "print(json.dumps({'seconds': time.monotonic() - t, 'hosts': len(snap['hosts'])}))\n"
    ) % (os.path.join(ROOT, ".build", "collections"), workers)
    env = env_for(clouds_yaml, counter)
    counter.reset()
    start = time.monotonic()
    out = run([sys.executable, "-c", code], env, "gather_snapshot")
    wall = time.monotonic() - start
    return wall, counter.summary(), json.loads(out.strip().splitlines()[-1])


def openstack(args, env):
    out = run([os.path.join(BIN, "openstack"), "--os-cloud", "minicloud"] + args + ["-f", "json"], env,
              "openstack " + " ".join(args))
    return json.loads(out)


def cli_way(clouds_yaml, counter, limit=None, budget=None):
    env = env_for(clouds_yaml, counter)
    counter.reset()
    start = time.monotonic()
    commands = 1
    hypervisors = openstack(["hypervisor", "list", "--long"], env)
    ids = {}
    for hyp in hypervisors:
        ids[hyp["Hypervisor Hostname"]] = str(hyp["ID"])
    if not all(UUID_RE.match(i) for i in ids.values()):
        # an old default microversion gives integer ids: map names to providers once
        providers = openstack(["resource", "provider", "list"], env)
        commands += 1
        by_name = {p["name"]: p["uuid"] for p in providers}
        ids = {name: by_name.get(name) for name in ids}
    data = {}
    names = sorted(ids)
    if limit:
        names = names[:limit]
    for index, name in enumerate(names):
        if budget and time.monotonic() - start > budget:
            log("CLI way: time budget of %d s spent after %d of %d providers" % (budget, index, len(names)))
            break
        if index and index % 20 == 0:
            log("CLI way: %d of %d providers after %.0f s" % (index, len(names), time.monotonic() - start))
        uuid = ids[name]
        inventory = openstack(["resource", "provider", "inventory", "list", uuid], env)
        usage = openstack(["resource", "provider", "usage", "show", uuid], env)
        commands += 2
        data[name] = {"uuid": uuid,
                      "inventory": {row["resource_class"]: row for row in inventory},
                      "usage": {row["resource_class"]: row["usage"] for row in usage}}
    wall = time.monotonic() - start
    return wall, counter.summary(), data, commands, len(ids)


def compare(ours, cli):
    """Field-by-field comparison; returns (values compared, list of differences)."""
    by_node = {h["nodename"]: h for h in ours["hypervisors"]}
    compared = 0
    diffs = []
    for name, theirs in cli.items():
        host = by_node.get(name)
        if host is None:
            diffs.append("%s: missing from hypervisor_info" % name)
            continue
        if host["provider_uuid"] != theirs["uuid"]:
            diffs.append("%s: provider %s vs %s" % (name, host["provider_uuid"], theirs["uuid"]))
        if set(host["resources"]) != set(theirs["inventory"]):
            diffs.append("%s: classes %s vs %s" % (name, sorted(host["resources"]), sorted(theirs["inventory"])))
        for rc, row in theirs["inventory"].items():
            view = host["resources"].get(rc) or {}
            for field in FIELDS:
                compared += 1
                if float(view.get(field, -1)) != float(row[field]):
                    diffs.append("%s %s.%s: %s vs %s" % (name, rc, field, view.get(field), row[field]))
            compared += 1
            if view.get("used") != theirs["usage"].get(rc, 0):
                diffs.append("%s %s.used: %s vs %s" % (name, rc, view.get("used"), theirs["usage"].get(rc)))
    return compared, diffs


def start_cloud(args):
    cmd = [sys.executable, os.path.join(ROOT, "tests", "minicloud", "minicloudctl"), "start",
           "--topology", args.topology, "--state-dir", args.state_dir, "--port-base", str(args.port_base), "--timeout", "900"]
    log("starting minicloud: %s" % " ".join(cmd))
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("minicloud did not start (exit %d)" % proc.returncode)
    path = proc.stdout.strip().splitlines()[-1].strip()
    log("minicloud up in %.0f s: %s" % (time.monotonic() - start, path))
    return path


def stop_cloud(args):
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "minicloud", "minicloudctl"), "stop",
                    "--state-dir", args.state_dir], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--topology", default=os.path.join(ROOT, "benchmarks", "facts_scale200.yml"))
    parser.add_argument("--state-dir", default=os.path.join(ROOT, ".cache", "facts-bench"))
    parser.add_argument("--port-base", type=int, default=19000)
    parser.add_argument("--clouds-yaml", help="use this running cloud (cloud name minicloud) instead of starting one")
    parser.add_argument("--workers", type=int, default=8, help="placement_workers")
    parser.add_argument("--repeat", type=int, default=3, help="runs of our way (the median is reported)")
    parser.add_argument("--cli-limit", type=int, default=0,
                        help="only this many providers the CLI way (0 = all; the rest is not extrapolated)")
    parser.add_argument("--cli-budget", type=int, default=0,
                        help="stop the CLI way after this many seconds (0 = no limit); the report then "
                             "gives the measured part and a linear extrapolation, marked as such")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "facts.json"))
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: stop the cloud
    workdir = tempfile.mkdtemp(prefix="facts-bench-")
    counter = Counter(workdir)
    started = False
    try:
        if args.clouds_yaml:
            clouds_yaml = os.path.abspath(args.clouds_yaml)
        else:
            clouds_yaml = start_cloud(args)
            started = True
        load_before = os.getloadavg()
        ansible_runs, library_runs = [], []
        result = None
        for i in range(args.repeat):
            wall, reqs, result = ours_ansible(clouds_yaml, counter, workdir, args.workers)
            ansible_runs.append({"seconds": round(wall, 2), **reqs})
            log("ours (ansible-playbook) run %d: %.2f s, %d requests" % (i + 1, wall, reqs["requests"]))
            wall, reqs, info = ours_library(clouds_yaml, counter, args.workers)
            library_runs.append({"seconds": round(wall, 2), "in_process_seconds": round(info["seconds"], 2),
                                 **reqs})
            log("ours (library, fresh process) run %d: %.2f s, %d requests"
                % (i + 1, wall, reqs["requests"]))
        hosts = len(result["hypervisors"])
        log("the CLI way, sequentially (this takes a while) ...")
        cli_wall, cli_reqs, cli_data, commands, cli_hosts = cli_way(
            clouds_yaml, counter, args.cli_limit or None, args.cli_budget or None)
        log("CLI way: %.1f s, %d commands, %d requests" % (cli_wall, commands, cli_reqs["requests"]))
        compared, diffs = compare(result, cli_data)
        ours_median = statistics.median(r["seconds"] for r in ansible_runs)
        report = {
            "benchmark": "hypervisor_info vs sequential openstack CLI",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "loadavg_before": [round(x, 2) for x in load_before]},
            "topology": os.path.relpath(args.topology, ROOT),
            "hypervisors": hosts,
            "placement_workers": args.workers,
            "ours_ansible_playbook": {"runs": ansible_runs, "median_seconds": ours_median,
                                      "requests": ansible_runs[-1]["requests"]},
            "ours_library": {"runs": library_runs,
                             "median_seconds": statistics.median(r["seconds"] for r in library_runs)},
            "cli": {"seconds": round(cli_wall, 2), "commands": commands, "providers": len(cli_data),
                    "hypervisors_listed": cli_hosts, **cli_reqs},
            "cli_complete": len(cli_data) == cli_hosts,
            "cli_extrapolated_seconds_for_all": (None if len(cli_data) == cli_hosts else
                                                 round(cli_wall * (2 * cli_hosts + 1) / max(1, commands), 1)),
            "speedup_vs_ansible_playbook": round(cli_wall / ours_median, 1) if len(cli_data) == cli_hosts else None,
            "speedup_vs_ansible_playbook_extrapolated": (None if len(cli_data) == cli_hosts else
                                                         round(cli_wall * (2 * cli_hosts + 1) / max(1, commands)
                                                               / ours_median, 1)),
            "values_compared": compared,
            "differences": diffs[:50],
            "same_numbers": not diffs,
            "warnings": result["snapshot"]["warnings"],
            "totals": result["totals"],
        }
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
        print(json.dumps({k: report[k] for k in ("hypervisors", "speedup_vs_ansible_playbook", "same_numbers",
                                                 "values_compared", "cli_complete",
                                                 "speedup_vs_ansible_playbook_extrapolated")}, sort_keys=True))
        print("ours (ansible-playbook, median of %d): %.2f s, %d requests"
              % (len(ansible_runs), ours_median, ansible_runs[-1]["requests"]))
        print("ours (library call):                 %.2f s, %d requests"
              % (report["ours_library"]["median_seconds"], library_runs[-1]["requests"]))
        print("CLI way (%d commands):             %.1f s, %d requests"
              % (commands, cli_wall, cli_reqs["requests"]))
        print("results: %s" % os.path.relpath(args.out, ROOT))
        return 0 if not diffs else 1
    finally:
        if started:
            stop_cloud(args)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
