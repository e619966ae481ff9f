"""scheduling_explain offline: the snapshot is not echoed, can come from a file, and no SDK is imported."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "module_utils", "_nova", "explain"))

import explain_builders as B  # noqa: E402
# the fixture that runs the module offline, shared with the explain interface tests
from test_interfaces import run  # noqa: E402,F401 pylint: disable=unused-import

XL = {"name": "m1.xlarge", "vcpus": 8, "ram": 16384, "disk": 80}


def test_inline_snapshot_is_not_echoed_in_invocation(run):
    res = run(snapshot=B.twelve_hosts(), flavor=XL, availability_zone="az1")
    assert res.kind == "exit", res.result
    args = res.result["invocation"]["module_args"]
    assert args["snapshot"] == "(a snapshot of 12 hosts, not repeated here)"
    assert args["flavor"] == XL and args["availability_zone"] == "az1"
    assert "snapshot" not in res.result  # only with return_snapshot
    res = run(snapshot=B.twelve_hosts(), flavor=XL, return_snapshot=True)
    assert len(res.result["snapshot"]["hosts"]) == 12


def test_snapshot_path_gives_the_same_explanation(run, tmp_path):
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(B.twelve_hosts()))
    inline = run(snapshot=B.twelve_hosts(), flavor=XL, availability_zone="az1").result
    from_file = run(snapshot_path=str(path), flavor=XL, availability_zone="az1").result
    assert from_file["summary"] == inline["summary"]
    assert from_file["explanation"] == inline["explanation"]


def test_snapshot_options_bad_input(run, tmp_path):
    res = run(snapshot=B.twelve_hosts(), snapshot_path=str(tmp_path / "x.json"), flavor=XL)
    assert res.kind == "fail" and "mutually exclusive" in res.result["msg"]
    assert "snapshot" in res.result["msg"] and "snapshot_path" in res.result["msg"]
    res = run(snapshot_path=str(tmp_path / "missing.json"), flavor=XL)
    assert res.kind == "fail" and "cannot read snapshot file" in res.result["msg"]
    assert "missing.json" in res.result["msg"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = run(snapshot_path=str(bad), flavor=XL)
    assert res.kind == "fail" and "is not valid JSON" in res.result["msg"]


def test_offline_run_does_not_import_openstacksdk(tmp_path):
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"snapshot": B.twelve_hosts(), "flavor": XL}}))
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('SDK-IMPORTED=%s\\n' % ('openstack' in sys.modules)))\n"
        "sys.argv = ['scheduling_explain', sys.argv[1]]\n"
        "from ansible_collections.stackops.nova.plugins.modules import scheduling_explain\n"
        "scheduling_explain.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=False, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["fits"] is True and "SDK-IMPORTED=False" in proc.stderr
    assert result["invocation"]["module_args"]["snapshot"].startswith("(a snapshot of 12 hosts")


def test_snapshot_path_resolves_the_project_from_the_snapshot(run, tmp_path):
    # a project with snapshot_path asked the identity service (no cloud: the task failed)
    snap = dict(B.twelve_hosts(), projects=[{"id": "0123456789abcdef0123456789abcdef", "name": "web"}])
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snap))
    res = run(snapshot_path=str(path), flavor=XL, project_id="web")
    assert res.kind == "exit", res.result
    assert res.result["explanation"]["request"]["project_id"] == "0123456789abcdef0123456789abcdef"
    res = run(snapshot_path=str(path), flavor=XL, project_id="nope")
    assert res.kind == "fail" and "project_id 'nope'" in res.result["msg"]


def test_detail_compact_is_the_default_and_carries_what_full_does(run):
    from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import shape
    compact = run(snapshot=B.twelve_hosts(), flavor=XL, availability_zone="az1").result
    full = run(snapshot=B.twelve_hosts(), flavor=XL, availability_zone="az1", detail="full").result
    assert compact["explanation"]["detail"] == "compact" and "checks" not in compact["explanation"]["hosts"][0]
    assert shape.expand(compact["explanation"]) == full["explanation"]
    assert compact["table"] == full["table"]
    assert len(json.dumps(compact["explanation"])) < len(json.dumps(full["explanation"]))
    res = run(snapshot=B.twelve_hosts(), flavor=XL, detail="all")
    assert res.kind == "fail" and "detail" in res.result["msg"]
