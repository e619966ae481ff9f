"""Benchmark: scheduling_explain on a saved snapshot (offline) against the engine call itself.

Builds the explain benchmark's synthetic cloud (benchmarks/explain_bench.py) with N hosts,
saves it as a snapshot file, and times in the same run:

- engine: ``engine.explain(snapshot, request)`` in-process (best of 3), the work itself;
- start-up: ``ansible-playbook`` running one trivial module task (``ansible.builtin.ping``) on
  localhost, what any module costs before doing anything;
- ours, ``snapshot:`` inline (read with ``lookup('file') | from_json``) and ``snapshot_path:``
  (the default ``detail: compact``), and ``snapshot_path:`` with ``detail: full`` (every host
  with its own cells, the shape before the compact one);
- optionally (``--before DIR``) the same playbook with another copy of the collection, for
  example today's code unpacked with ``git archive``, to measure before/after in one run.

The target of issue 18: offline explain <= 2 x engine + start-up. Also reports the size of the
registered result (the snapshot is no longer echoed in ``invocation``).

Usage: offline_explain_bench.py [--hosts 2000] [--repeat 3] [--before DIR] [--json out.json]
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
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections,
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    start = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, path],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("ansible-playbook %s failed:\n%s" % (path, proc.stdout[-3000:]))
    return wall


def median_of(func, repeat):
    return statistics.median(func() for _unused in range(repeat))


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
        t0 = time.perf_counter()
        engine.explain(snap, request, scheduler=scheduler)
        return time.perf_counter() - t0

    t_engine = min(engine_call() for _unused in range(args.repeat))
    ping = playbook(workdir, "ping", "ansible.builtin.ping", ["data: pong"])
    t_start = median_of(lambda: run(ping, ours), args.repeat)
    rows = {"hosts": args.hosts, "snapshot_bytes": os.path.getsize(snap_file), "engine_s": round(t_engine, 3),
            "ansible_startup_s": round(t_start, 3)}
    variants = [("inline", inline, ours), ("snapshot_path", by_path, ours),
                ("snapshot_path_full", by_path + ["detail: full"], ours)]
    if args.before:
        variants.insert(0, ("before_inline", inline, os.path.abspath(args.before)))
    for name, task_args, collections in variants:
        book = playbook(workdir, name, "stackops.nova.scheduling_explain", task_args)
        rows[name + "_s"] = round(median_of(lambda book=book, c=collections: run(book, c), args.repeat), 3)
        out = os.path.join(workdir, name + ".json")
        run(playbook(workdir, name + "-save", "stackops.nova.scheduling_explain", task_args, save_to=out), collections)
        rows[name + "_result_bytes"] = os.path.getsize(out)
        rows[name + "_ratio_vs_2x_engine_plus_startup"] = round(rows[name + "_s"] / (2 * t_engine + t_start), 3)
    print(json.dumps(rows, indent=1, sort_keys=True))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
