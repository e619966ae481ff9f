"""Benchmark: hypervisor_info returning every host once (the snapshot) against twice (hypervisors + snapshot).

Issue 9: ``hypervisor_info`` returned each host twice, as ``hypervisors`` and as
``snapshot.hosts``. Now the snapshot carries them and ``hypervisors`` comes only with
``return_hypervisors: true``, which reproduces the old result shape. On one minicloud with 200
hypervisors (tests/minicloud/topologies/scale200.yml: 4 fake nova-compute services x 50 nodes),
in the same run and interleaved (twice, once, twice, once, ...):

- the whole ``ansible-playbook`` command (module + registering the result + saving it with
  ``to_json``, as playbooks/explain.yml and fleet_report.yml do), wall time;
- the bytes of the registered result (``r | to_json``) and of the module's own JSON answer;
- optionally ``--before REF``: the same playbook with the collection of a git ref (``git archive``)
  before the change, to show that ``return_hypervisors: true`` is the old shape.

Usage (from the repository root, after ``make venv collection``)::

    .venv/bin/python benchmarks/hosts_once_bench.py [--port-base 27200] [--repeat 5] [--before REF] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
CTL = os.path.join(ROOT, "tests", "minicloud", "minicloudctl")

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Capacity of every compute node
      stackops.nova.hypervisor_info:
        cloud: minicloud
{extra}      register: facts
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ facts | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def log(message):
    sys.stderr.write("[hosts_once_bench] %s\n" % message)
    sys.stderr.flush()


def collection_of(ref, workdir):
    """A collections dir holding the collection as it was at git ``ref``."""
    base = os.path.join(workdir, "before", "ansible_collections", "stackops", "nova")
    os.makedirs(base)
    archive = subprocess.run(["git", "-C", ROOT, "archive", ref], stdout=subprocess.PIPE, check=True).stdout
    subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
    return os.path.join(workdir, "before")


def play(clouds_yaml, collections, workdir, name, extra):
    out = os.path.join(workdir, "%s.json" % name)
    path = os.path.join(workdir, "%s.yml" % name)
    with open(path, "w") as handle:
        handle.write(PLAYBOOK.format(out=out, extra=extra))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=clouds_yaml, ANSIBLE_COLLECTIONS_PATH=collections,
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"))
    start = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, path],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (name, proc.stdout[-3000:]))
    with open(out) as handle:
        text = handle.read()
    result = json.loads(text)
    module_json = {k: v for k, v in result.items() if k not in ("changed", "failed", "invocation", "warnings")}
    return {"seconds": wall, "registered_bytes": len(text.encode()),
            "module_bytes": len(json.dumps(module_json, separators=(",", ":")).encode()),
            "hosts": len(result["snapshot"]["hosts"]), "has_hypervisors": "hypervisors" in result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--topology", default=os.path.join(ROOT, "tests", "minicloud", "topologies", "scale200.yml"))
    parser.add_argument("--state-dir", default=os.path.join(ROOT, ".cache", "hosts-once-bench"))
    parser.add_argument("--port-base", type=int, default=27200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", help="a git ref whose collection runs the old code too")
    parser.add_argument("--json", help="write the report here too")
    args = parser.parse_args()
    log("starting minicloud %s" % os.path.basename(args.topology))
    proc = subprocess.run([sys.executable, CTL, "start", "--topology", args.topology, "--state-dir", args.state_dir,
                           "--port-base", str(args.port_base), "--timeout", "900"],
                          stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("minicloud did not start (exit %d)" % proc.returncode)
    clouds_yaml = proc.stdout.strip().splitlines()[-1].strip()
    try:
        with tempfile.TemporaryDirectory(prefix="hosts-once-") as workdir:
            ours = os.path.join(ROOT, ".build", "collections")
            variants = [("twice", ours, "        return_hypervisors: true\n"), ("once", ours, "")]
            if args.before:
                variants.insert(0, ("before", collection_of(args.before, workdir), ""))
            runs = {name: [] for name, _c, _e in variants}
            for _warm in range(1):
                for name, coll, extra in variants:
                    play(clouds_yaml, coll, workdir, name, extra)  # warm-up: caches, token
            for i in range(args.repeat):
                for name, coll, extra in variants:
                    runs[name].append(play(clouds_yaml, coll, workdir, name, extra))
                    log("%s run %d: %.1f s, %d bytes" % (name, i + 1, runs[name][-1]["seconds"],
                                                         runs[name][-1]["registered_bytes"]))
    finally:
        subprocess.run([sys.executable, CTL, "stop", "--state-dir", args.state_dir], check=False)
    report = {"topology": os.path.basename(args.topology), "repeat": args.repeat, "load_average": os.getloadavg()}
    for name, items in runs.items():
        report[name] = {"median_seconds": round(statistics.median(r["seconds"] for r in items), 2),
                        "seconds": [round(r["seconds"], 2) for r in items],
                        "registered_bytes": items[-1]["registered_bytes"], "module_bytes": items[-1]["module_bytes"],
                        "hosts": items[-1]["hosts"], "has_hypervisors": items[-1]["has_hypervisors"]}
    report["bytes_ratio_once_vs_twice"] = round(report["once"]["registered_bytes"] / report["twice"]["registered_bytes"], 3)
    report["time_ratio_once_vs_twice"] = round(report["once"]["median_seconds"] / report["twice"]["median_seconds"], 3)
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
