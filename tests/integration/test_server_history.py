"""server_history, the nova_log filters and playbooks/why_failed.yml against a real minicloud.

The cloud is tests/integration/history_topology.yml: real keystone + placement + nova on loopback,
fake computes, nova's debug logs under <state>/logs/nova-{api,conductor,scheduler,compute}.log.
Its servers fail in three real ways (read its header): doomed3 and doomed2 are rescheduled off
fail_builds hosts until MaxRetriesExceeded, ssdonly is removed by AggregateInstanceExtraSpecsFilter,
giant gets no allocation candidates from placement; fine is ACTIVE. Every assertion below is about
what Nova really did and logged there.

Environment: HISTORY_STATE_DIR (default <repo>/.cache/history-it), HISTORY_PORT_BASE (16000),
HISTORY_KEEP=1 keeps the cloud running afterwards.
"""

import json
import os
import re
import subprocess
import sys
import uuid

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))

import harness  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(ROOT, "tests", "integration", "history_topology.yml")
BIN = os.path.dirname(sys.executable)
IMAGE = "76fa36fc-c930-4bf3-8c8a-ea2a2420deb6"  # the GlanceFixture image minicloud serves
FLAKY3 = {"flaky1", "flaky2", "flaky3"}
FLAKY2 = {"flaky4", "flaky5"}
ALL_HOSTS = FLAKY3 | FLAKY2 | {"good1"}
FAIL_BUILDS = "Insufficient compute resources: minicloud fail_builds host %s."


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("HISTORY", TOPOLOGY, 16000, os.path.join(".cache", "history-it"))


@pytest.fixture(scope="module")
def conn(cloud):
    return cloud.conn()


@pytest.fixture(scope="module")
def log_files(cloud):
    return [os.path.join(cloud.log_dir, "nova-%s.log" % s) for s in ("conductor", "scheduler", "compute")]


def run_tasks(cloud, tmp_path, tasks):
    """Run tasks through ansible-playbook on localhost; each registers r<i>; returns their results."""
    out = tmp_path / ("result-%s.json" % uuid.uuid4().hex[:8])
    registered = []
    body = []
    for i, task in enumerate(tasks):
        task = dict(task, register="r%d" % i, ignore_errors=True)
        task.setdefault("name", "task %d" % i)
        body.append(task)
        registered.append("r%d" % i)
    body.append({"name": "save", "ansible.builtin.copy": {
        "content": "{{ [%s] | to_json }}" % ", ".join(registered), "dest": str(out)}})
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": body}]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads(out.read_text())


def history_of(cloud, tmp_path, server, **extra):
    args = dict(cloud="minicloud", server=server, all_projects=True)
    args.update(extra)
    (result,) = run_tasks(cloud, tmp_path, [{"stackops.nova.server_history": args}])
    assert not result.get("failed"), result.get("msg")
    return result


def server_id(conn, name):
    return conn.compute.find_server(name, ignore_missing=False, all_projects=True).id


# -- reschedules until MaxRetriesExceeded ---------------------------------------------------

def test_rescheduled_three_times_then_max_retries(cloud, tmp_path, log_files, conn):
    res = history_of(cloud, tmp_path, "doomed3", log_paths=[cloud.log_dir])
    assert res["outcome"] == "max_retries"
    assert "Exceeded max scheduling attempts 3" in res["fault"]["message"]
    req = next(r for r in res["requests"] if r["request_id"] == res["failed_request"])
    assert req["action"] == "create"
    atts = req["attempts"]
    hosts = [a["host"] for a in atts]
    assert len(atts) == 3 and set(hosts) == FLAKY3          # three attempts, each on another flaky host
    for att in atts:
        assert att["result"] == "rescheduled"
        assert att["error"] == FAIL_BUILDS % att["host"]    # the compute error of that very host
        assert att["node"] == att["host"]
        assert att["source"] == "log+events"                # log lines and instance action events agree
    assert sorted(map(tuple, atts[0]["alternates"])) == sorted((h, h) for h in FLAKY3 - {hosts[0]})
    assert atts[1]["alternates"] == [[hosts[2], hosts[2]]] and atts[2]["alternates"] == []
    first_pass = atts[0]["scheduling"]
    assert first_pass["starting_hosts"] == 3 and first_pass["selected"] == [hosts[0], hosts[0]]
    assert [e["host"] for e in req["events"] if e["event"] == "compute__do_build_and_run_instance"] == hosts
    assert res["summary"] == ("server doomed3 (create %s) failed after 3 attempts (%s): MaxRetriesExceeded; "
                              "last error on %s: %s" % (req["request_id"], ", ".join(hosts), hosts[2],
                                                        FAIL_BUILDS % hosts[2]))
    for host in hosts:
        assert "| %s " % host in res["table"]
    assert res["logs"]["unparsed"] == 0 and res["logs"]["records"] > 0
    assert {f["path"] for f in res["logs"]["files"]} >= set(log_files)


def test_alternates_exhausted_after_two_hosts(cloud, tmp_path):
    res = history_of(cloud, tmp_path, "doomed2", log_paths=[os.path.join(cloud.log_dir, "nova-*.log")])
    assert res["outcome"] == "max_retries"
    assert "Exhausted all hosts available for retrying build failures" in res["fault"]["message"]
    req = next(r for r in res["requests"] if r["request_id"] == res["failed_request"])
    assert {a["host"] for a in req["attempts"]} == FLAKY2 and len(req["attempts"]) == 2
    assert all(a["error"] == FAIL_BUILDS % a["host"] for a in req["attempts"])
    assert "Exhausted all hosts" in req["final_error"]


# -- NoValidHost: a filter, placement --------------------------------------------------------

def test_filter_removed_every_host(cloud, tmp_path, conn):
    res = history_of(cloud, tmp_path, "ssdonly", log_paths=[cloud.log_dir])
    assert res["outcome"] == "no_valid_host_filter"
    assert res["fault"]["message"] == "No valid host was found. There are not enough hosts available."
    req = res["requests"][0]
    assert req["attempts"] == []
    sch = req["failed_scheduling"]
    assert sch["emptied_by"] == "AggregateInstanceExtraSpecsFilter" and sch["form"] == "hosts"
    assert sch["starting_hosts"] == 6
    last = sch["filters"][-1]
    assert (last["filter"], last["start"], last["end"]) == ("AggregateInstanceExtraSpecsFilter", 6, 0)
    assert {h for h, _n in last["removed"]} == ALL_HOSTS
    assert [f["filter"] for f in sch["filters"]] == [
        "ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
        "ServerGroupAffinityFilter", "AggregateInstanceExtraSpecsFilter"]
    assert all({h for h, _n in f["hosts"]} == ALL_HOSTS for f in sch["filters"][:-1])
    assert sch["not_enough_hosts"] == {"available": 0, "requested": 1}
    assert "filter AggregateInstanceExtraSpecsFilter removed the last 6 host(s)" in res["summary"]
    assert "Filters of the failing scheduling pass (6 host(s) at start)" in res["table"]


def test_placement_returned_no_candidates(cloud, tmp_path):
    res = history_of(cloud, tmp_path, "giant", log_paths=[cloud.log_dir])
    assert res["outcome"] == "no_valid_host_placement"
    assert res["fault"]["message"] == "No valid host was found. "
    sch = res["requests"][0]["failed_scheduling"]
    assert sch["placement_no_candidates"] is True and sch["filters"] == []
    assert res["summary"].endswith("NoValidHost: placement returned no allocation candidates")


def test_active_server(cloud, tmp_path):
    res = history_of(cloud, tmp_path, "fine", log_paths=[cloud.log_dir])
    assert res["outcome"] == "active" and res["failed_request"] is None
    (att,) = res["requests"][0]["attempts"]
    assert (att["host"], att["result"]) == ("good1", "active")


# -- without logs: instance actions, events and fault only -----------------------------------

def test_api_only(cloud, tmp_path, conn):
    res = history_of(cloud, tmp_path, server_id(conn, "doomed3"))
    assert res["logs"] is None and res["outcome"] == "max_retries"
    req = res["requests"][0]
    atts = req["attempts"]
    assert len(atts) == 3 and {a["host"] for a in atts} == FLAKY3 and all(a["source"] == "events" for a in atts)
    assert all(a["result"] == "rescheduled" for a in atts)
    assert req["final_error"] == res["fault"]["message"]
    # the fault names the last attempt's error; the events cannot say the earlier ones
    assert atts[-1]["error"] == FAIL_BUILDS % atts[-1]["host"] and atts[-1]["error_source"] == "fault"
    assert any(n.startswith("No logs were given") for n in res["notes"])
    placement = history_of(cloud, tmp_path, "giant")
    assert placement["outcome"] == "no_valid_host_placement"
    assert any(n.startswith("Inferred from the fault") for n in placement["notes"])
    flt = history_of(cloud, tmp_path, "ssdonly")
    assert flt["outcome"] == "no_valid_host_filter" and "the logs would say which filter" in flt["summary"]


# -- the same real lines in the other layouts ------------------------------------------------

def _real_records(log_files, transform=None):
    recs = []
    for path in log_files:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        if transform:
            lines = [transform(line) for line in lines]
        stats = novalog.ParseStats()
        recs.extend(novalog.iter_records(lines, stats=stats))
        assert stats.unparsed == 0, path
    return recs


def _digest(recs, server, actions):
    hist = history.build_history(server, actions, recs)
    req = next(r for r in hist["requests"] if r["request_id"] == hist["failed_request"])
    return hist["outcome"], [(a["host"], a["error"]) for a in req["attempts"]], \
        (req["failed_scheduling"] or {}).get("emptied_by")


def test_real_lines_in_journald_and_pidless_layouts(cloud, conn, log_files):
    pid_re = re.compile(r"^(\S+ \S+) \d+ ")
    layouts = {
        "as written": None,
        "journald short": lambda ln: "Nov 21 14:39:20 ctl1 nova-conductor[4242]: " + ln,
        "journald short-iso": lambda ln: "2026-11-21T14:39:20+0000 ctl1 nova-scheduler[4242]: " + ln,
        "no pid": lambda ln: pid_re.sub(r"\1 ", ln, count=1),
    }
    for name in ("doomed3", "ssdonly"):
        sid = server_id(conn, name)
        server = conn.compute.get("/servers/%s" % sid, microversion="2.84").json()["server"]
        acts = conn.compute.get("/servers/%s/os-instance-actions" % sid).json()["instanceActions"]
        actions = [conn.compute.get("/servers/%s/os-instance-actions/%s" % (sid, a["request_id"]),
                                    microversion="2.84").json()["instanceAction"] for a in acts]
        digests = {layout: _digest(_real_records(log_files, fn), server, actions) for layout, fn in layouts.items()}
        assert len(set(map(json.dumps, digests.values()))) == 1, digests
        outcome, attempts, emptied = digests["as written"]
        if name == "doomed3":
            assert outcome == "max_retries" and len(attempts) == 3
        else:
            assert outcome == "no_valid_host_filter" and emptied == "AggregateInstanceExtraSpecsFilter"


# -- filters over real log text ----------------------------------------------------------------

def test_filters_on_real_logs(cloud, tmp_path, conn):
    sid = server_id(conn, "doomed2")
    conductor = os.path.join(cloud.log_dir, "nova-conductor.log")
    results = run_tasks(cloud, tmp_path, [
        {"ansible.builtin.set_fact": {"text": "{{ lookup('ansible.builtin.file', '%s') }}" % conductor}},
        {"ansible.builtin.debug": {"msg": "{{ text | stackops.nova.scheduling_attempts(instance_uuid='%s') }}" % sid}},
        {"ansible.builtin.debug": {"msg": "{{ text | stackops.nova.parse_nova_log(match=['%s'], events=true) "
                                          "| selectattr('event') | map(attribute='event.kind') | list }}" % sid}},
    ])
    groups = results[1]["msg"]
    assert len(groups) == 1 and {a["host"] for a in groups[0]["attempts"]} == FLAKY2
    assert groups[0]["final"]["kind"] == "max_retries"
    kinds = results[2]["msg"]
    assert kinds.count("conductor_selected") == 2 and kinds.count("error_from_last_host") == 2


# -- bad input -----------------------------------------------------------------------------------

def test_bad_input(cloud, tmp_path, conn):
    flavor = conn.compute.find_flavor("m1.small", ignore_missing=False).id
    twins = [conn.compute.create_server(name="twin", flavor_id=flavor, image_id=IMAGE, networks="none",
                                        availability_zone="good") for _unused in range(2)]
    try:
        missing = str(tmp_path / "no-such.log")
        unknown, clash, badpath, badtext, other_req, records = run_tasks(cloud, tmp_path, [
            {"stackops.nova.server_history": {"cloud": "minicloud", "server": "no-such-server", "all_projects": True}},
            {"stackops.nova.server_history": {"cloud": "minicloud", "server": "twin", "all_projects": True}},
            {"stackops.nova.server_history": {"cloud": "minicloud", "server": "doomed3", "log_paths": [missing]}},
            {"stackops.nova.server_history": {"cloud": "minicloud", "server": "doomed3", "log_text": {"a": 1}}},
            {"stackops.nova.server_history": {"cloud": "minicloud", "server": "giant", "all_projects": True,
                                              "request_id": "req-00000000-0000-4000-8000-000000000000"}},
            {"stackops.nova.server_history": {"cloud": "minicloud", "server": "giant", "all_projects": True,
                                              "log_paths": [cloud.log_dir], "include_records": True}},
        ])
        # request_id selects one request (none here); include_records returns what was matched
        assert not other_req.get("failed") and other_req["requests"] == []
        assert "no instance action found" in other_req["summary"]
        giant = records["server"]["id"]
        rids = {r["request_id"] for r in records["requests"]}
        assert records["records"] and all(
            r["request_id"] in rids or r["global_request_id"] in rids or giant in (r["instance"] or "") + r["message"]
            for r in records["records"])
        assert any(r["message"].startswith("Got no allocation candidates") for r in records["records"])
        assert unknown["failed"] and unknown["msg"].startswith("server: no server named or with id 'no-such-server'")
        assert clash["failed"] and clash["msg"].startswith("server: 2 servers are named 'twin'")
        assert all(t.id in clash["msg"] for t in twins)
        assert badpath["failed"] and badpath["msg"] == "log_paths: %s does not exist" % missing
        assert badtext["failed"] and "log_text must be a string or a list of strings" in badtext["msg"]
        for res in (unknown, clash, badpath, badtext):
            assert "Traceback" not in json.dumps(res) and "minicloud-admin" not in json.dumps(res)
    finally:
        for twin in twins:
            conn.compute.delete_server(twin, ignore_missing=True)
        for twin in twins:
            conn.compute.wait_for_delete(twin, wait=120)


# -- the playbook, end to end ----------------------------------------------------------------------

def test_why_failed_playbook(cloud, tmp_path, log_files):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"nova_control": {"hosts": {
        "ctl1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}},
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    report = tmp_path / "report.txt"
    extra = {"why_failed_server": "doomed3", "why_failed_cloud": "minicloud", "why_failed_all_projects": True,
             "why_failed_log_paths": log_files + [str(tmp_path / "absent.log")],
             "why_failed_report_file": str(report)}
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory),
                           os.path.join(ROOT, "playbooks", "why_failed.yml"), "-e", json.dumps(extra)],
                          env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    text = report.read_text()
    first = text.splitlines()[0]
    assert first.startswith("server doomed3 (create req-") and "failed after 3 attempts" in first
    assert "MaxRetriesExceeded" in first
    for host in FLAKY3:
        assert (FAIL_BUILDS % host)[:60] in text
    assert "No logs were given" not in text
