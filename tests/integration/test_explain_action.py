"""scheduling_explain's action plugin: an offline explanation on the controller is the module's own.

Real ``ansible-playbook -vvv`` runs, no cloud. The same offline request is explained on the
controller by the action plugin (local connection) and by the module (``async``, which always
runs the module); the results must be identical, the module must run only where it should
(``-vvv`` shows each module that is sent), an inline snapshot given from a variable must be
left as it was, and every error must be the module's (its wording, its secret masking).
"""

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import explain_bench as EB  # noqa: E402

MODULE_SENT = "AnsiballZ_scheduling_explain.py"
FLAVOR = {"name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 40, "extra_specs": {}}
SCHEDULER = {"enabled_filters": EB.FILTERS}


def _play(tmp_path, tasks, extra_vars=None):
    out = tmp_path / "results.json"
    names = [t["register"] for t in tasks if "register" in t]
    tasks = tasks + [{"name": "save", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (n, n) for n in names), "dest": str(out)}}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars": extra_vars or {},
                                         "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    return proc.stdout, json.loads(out.read_text())


def _sections(stdout):
    """The -vvv output cut at each task: {task name: its text}."""
    parts = {}
    for chunk in stdout.split("TASK [")[1:]:
        name = chunk.split("]", 1)[0]
        parts[name] = chunk
    return parts


SAME = ("fits", "summary", "valid_hosts", "table", "explanation")


def test_the_controller_gives_the_modules_result(tmp_path):
    snap = EB.synthetic_cloud(120)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snap))
    common = {"flavor": FLAVOR, "count": 3, "scheduler": SCHEDULER, "project_id": EB.REQUEST["project_id"]}
    tasks = [
        {"name": "here", "stackops.nova.scheduling_explain": dict(common, snapshot_path=str(path)),
         "register": "here"},
        {"name": "module", "stackops.nova.scheduling_explain": dict(common, snapshot_path=str(path)),
         "async": 300, "poll": 1, "register": "module"},
        {"name": "keep", "ansible.builtin.set_fact": {"before": "{{ snap | to_json }}"}},
        {"name": "inline", "stackops.nova.scheduling_explain": dict(common, snapshot="{{ snap }}", detail="full"),
         "register": "inline"},
        {"name": "inline module", "async": 300, "poll": 1, "register": "inline_module",
         "stackops.nova.scheduling_explain": dict(common, snapshot="{{ snap }}", detail="full")},
        {"name": "unchanged", "ansible.builtin.assert": {"that": ["(snap | to_json) == before"]}},
        {"name": "check mode", "stackops.nova.scheduling_explain": {"snapshot_path": str(path), "flavor": FLAVOR},
         "check_mode": True, "register": "checked"},
    ]
    stdout, results = _play(tmp_path, tasks, extra_vars={"snap": snap})
    sections = _sections(stdout)
    # the module is sent only where the task is async
    assert MODULE_SENT not in sections["here"] and MODULE_SENT not in sections["inline"]
    assert MODULE_SENT not in sections["check mode"]
    assert MODULE_SENT in sections["module"] and MODULE_SENT in sections["inline module"]
    here, module = results["here"], results["module"]
    assert here["explanation"]["hosts_total"] == 120 and here["explanation"]["count"] == 3
    for key in SAME:
        assert here[key] == module[key], key
        assert results["inline"][key] == results["inline_module"][key], key
    assert results["inline"]["explanation"]["detail"] == "full" and here["explanation"]["detail"] == "compact"
    assert here["changed"] is False and results["checked"]["changed"] is False
    # no scheduler option: the engine's warning reaches the play from the controller too
    assert "no scheduler configuration given" in sections["check mode"]
    assert results["checked"]["summary"]


def test_errors_are_the_modules(tmp_path):
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(EB.synthetic_cloud(10)))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    cases = {
        "count": ({"snapshot_path": str(path), "flavor": FLAVOR, "count": 0}, "count must be at least 1"),
        "missing file": ({"snapshot_path": str(tmp_path / "nope.json"), "flavor": FLAVOR},
                         "cannot read snapshot file"),
        "bad json": ({"snapshot_path": str(bad_json), "flavor": FLAVOR}, "is not valid JSON"),
        "unknown option": ({"snapshot_path": str(path), "flavor": FLAVOR, "no_such": 1}, "Unsupported parameters"),
        "bad flavor": ({"snapshot_path": str(path), "flavor": {"name": "x", "vcpus": "many"}}, "flavor"),
        "bad snapshot": ({"snapshot": {"snapshot_version": 1, "hosts": "all"}, "flavor": FLAVOR}, "snapshot.hosts"),
        "secret": ({"snapshot_path": str(path), "flavor": FLAVOR, "detail": "everything",
                    "auth": {"password": "{{ secret }}"}}, "detail"),
    }
    tasks = [{"name": name, "stackops.nova.scheduling_explain": args, "register": name.replace(" ", "_"),
              "ignore_errors": True} for name, (args, _m) in cases.items()]
    stdout, results = _play(tmp_path, tasks, extra_vars={"secret": "S3cr3t-action-%d" % os.getpid()})
    sections = _sections(stdout)
    for name, (_args, message) in cases.items():
        result = results[name.replace(" ", "_")]
        assert result.get("failed") is True, (name, result)
        assert message in result["msg"], (name, result["msg"])
        assert MODULE_SENT in sections[name], name  # the module said it
    assert "S3cr3t-action" not in stdout and "S3cr3t-action" not in json.dumps(results)
