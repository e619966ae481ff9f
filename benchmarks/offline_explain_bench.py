"""Benchmark: scheduling_explain on a saved snapshot (offline) against the engine call itself.

Builds the explain benchmark's synthetic cloud (benchmarks/explain_bench.py) with N hosts,
saves it as a snapshot file, and times in the same run:

- engine: ``engine.explain(snapshot, request)`` in-process (best of 3), the work itself;
- start-up: ``ansible-playbook`` running one trivial module task (``ansible.builtin.ping``) on
  localhost, what any module costs before doing anything;
- the inline argument: ``ansible.builtin.set_fact`` of the same ``lookup('file') | from_json``,
  what Ansible spends on a task argument of that size before any task code runs;
- ours, ``snapshot:`` inline (read with ``lookup('file') | from_json``) and ``snapshot_path:``
  (the default ``detail: compact``), and ``snapshot_path:`` with ``detail: full`` (every host
  with its own cells, the shape before the compact one);
- optionally (``--before DIR``) the same playbook with another copy of the collection, for
  example today's code unpacked with ``git archive``, to measure before/after in one run.

The target of issue 18: offline explain <= 2 x engine + start-up. The variants run interleaved
(one of each per round, median of the rounds), and each is also timed in CPU seconds (the
playbook and every process it waited for): on a shared, loaded machine the CPU ratio is the
steadier figure. Also reports the size of the
registered result (the snapshot is no longer echoed in ``invocation``).

Usage: offline_explain_bench.py [--hosts 2000] [--repeat 3] [--before DIR] [--json out.json]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import explain_bench as EB  # noqa: E402  (puts the collection on sys.path)

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

TASK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: explain
      {module}:
{args}
      register: r
{save}"""
SAVE = """\
    - name: save
      ansible.builtin.copy:
        content: "{{{{ r | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def playbook(workdir, name, module, args, save_to=None):
    lines = "\n".join("        %s" % line for line in args)
    path = os.path.join(workdir, name + ".yml")
    with open(path, "w") as handle:
        handle.write(TASK.format(module=module, args=lines, save=SAVE.format(out=save_to) if save_to else ""))
    return path


def run(path, collections):
    """(wall seconds, CPU seconds of ansible-playbook and every process it waited for)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections,
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, path],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit("ansible-playbook %s failed:\n%s" % (path, proc.stdout[-3000:]))
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="another collections path (ansible_collections/stackops/nova inside)")
    parser.add_argument("--json")
    args = parser.parse_args()
    ours = os.path.join(ROOT, ".build", "collections")
    workdir = tempfile.mkdtemp(prefix="offline-explain-")
    snap = EB.synthetic_cloud(args.hosts)
    snap_file = os.path.join(workdir, "snapshot.json")
    with open(snap_file, "w") as handle:
        json.dump(snap, handle)
    request = EB.REQUEST
    scheduler = {"enabled_filters": EB.FILTERS}
    common = ["flavor: %s" % json.dumps(request["flavor"]), "image: %s" % json.dumps(request["image"]),
              "scheduler_hints: %s" % json.dumps(request["scheduler_hints"]),
              "project_id: %s" % request["project_id"], "scheduler: %s" % json.dumps(scheduler)]
    inline = common + ["snapshot: \"{{ lookup('ansible.builtin.file', '%s') | from_json }}\"" % snap_file]
    by_path = common + ["snapshot_path: %s" % snap_file]

    def engine_call():
        t0, c0 = time.perf_counter(), time.process_time()
        engine.explain(snap, request, scheduler=scheduler)
        return time.perf_counter() - t0, time.process_time() - c0

    calls = [engine_call() for _unused in range(args.repeat)]
    t_engine, c_engine = min(c[0] for c in calls), min(c[1] for c in calls)
    variants = [("ansible_startup", None, ours, playbook(workdir, "ping", "ansible.builtin.ping", ["data: pong"])),
                # what Ansible itself spends on a 2 MB templated task argument: set_fact of the inline snapshot
                ("ansible_inline_argument", None, ours,
                 playbook(workdir, "set_fact", "ansible.builtin.set_fact", [inline[-1].replace("snapshot:", "snap:")]))]
    if args.before:
        variants.append(("before_inline", inline, os.path.abspath(args.before), None))
    variants += [("inline", inline, ours, None), ("snapshot_path", by_path, ours, None),
                 ("snapshot_path_full", by_path + ["detail: full"], ours, None)]
    variants = [(n, a, c, b or playbook(workdir, n, "stackops.nova.scheduling_explain", a)) for n, a, c, b in variants]
    # interleaved (one of each per round), so a change of the machine's load hits every variant alike
    times = {name: [] for name, _a, _c, _b in variants}
    for _round in range(args.repeat):
        for name, _args, collections, book in variants:
            times[name].append(run(book, collections))
    rows = {"hosts": args.hosts, "snapshot_bytes": os.path.getsize(snap_file), "engine_s": round(t_engine, 3),
            "engine_cpu_s": round(c_engine, 3), "load_after": [round(x, 1) for x in os.getloadavg()]}
    for name, _a, _c, _b in variants:
        rows[name + "_s"] = round(statistics.median(t[0] for t in times[name]), 3)
        rows[name + "_cpu_s"] = round(statistics.median(t[1] for t in times[name]), 3)
    for name, task_args, collections, _book in variants[2:]:
        out = os.path.join(workdir, name + ".json")
        run(playbook(workdir, name + "-save", "stackops.nova.scheduling_explain", task_args, save_to=out), collections)
        rows[name + "_result_bytes"] = os.path.getsize(out)
        rows[name + "_ratio_vs_2x_engine_plus_startup"] = round(
            rows[name + "_s"] / (2 * t_engine + rows["ansible_startup_s"]), 3)
        rows[name + "_cpu_ratio_vs_2x_engine_plus_startup"] = round(
            rows[name + "_cpu_s"] / (2 * c_engine + rows["ansible_startup_cpu_s"]), 3)
    print(json.dumps(rows, indent=1, sort_keys=True))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
