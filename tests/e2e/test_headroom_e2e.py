"""One headroom (issue 9): both modules' "how many more fit" against what Nova places, per host.

tests/e2e/topologies/headroom.yml gives each flavor kind its own availability zone: a plain
flavor, a pinned one (hw:cpu_policy=dedicated: PCPU, then Nova's VCPU fallback query), one that
max_unit / step_size keep off some hosts, a tiny one under NumInstancesFilter, and the tiny one
in an anti-affinity group with max_server_per_host 2. For each kind:

1. ``stackops.nova.scheduling_explain`` (``explanation.headroom``) and
   ``stackops.nova.hypervisor_info flavor:`` (``headroom``) run through ansible-playbook, as
   users run them, with the topology's scheduler configuration;
2. servers of that flavor are booted one at a time in that zone until Nova says NoValidHost;
3. what each module predicted for each host must equal what Nova placed there.

A host that fits only if unknown checks pass (the pinned flavor: nova-compute's NUMA claim needs
the host's NUMA topology, which the API does not give) is compared with its "if the unknowns
pass" count, and the test asserts that the unknown checks are named and are only that claim.

Results go to $E2E_REPORT (JSON) when set. Env: HEADROOM_E2E_PORT_BASE (default 27000),
HEADROOM_E2E_STATE_DIR, HEADROOM_E2E_KEEP=1.
"""

import atexit
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))

import harness  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(HERE, "topologies", "headroom.yml")
IMAGE = "76fa36fc-c930-4bf3-8c8a-ea2a2420deb6"  # GlanceFixture image (architecture x86_64)
BIN = os.path.dirname(sys.executable)
RESULTS = []

with open(TOPOLOGY) as _handle:
    _TOPO = yaml.safe_load(_handle)
ZONE_HOSTS = {a["availability_zone"]: a["hosts"] for a in _TOPO["aggregates"]}

# (kind, flavor, availability zone, server group, unknown checks allowed)
KINDS = [
    ("plain", "h.plain", "plain", None, ()),
    ("pcpu-with-vcpu-fallback", "h.pinned", "pinned", None, ("numa_claim",)),
    ("max_unit-step_size", "h.units", "units", None, ()),
    ("num-instances-filter", "h.tiny", "numinst", None, ()),
    ("anti-affinity-max2", "h.tiny", "anti", "anti2", ()),
]


def _report():
    path = os.environ.get("E2E_REPORT")
    if path and RESULTS:
        with open(path, "w") as handle:
            json.dump(RESULTS, handle, indent=1)


atexit.register(_report)


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("HEADROOM_E2E", TOPOLOGY, 27000, os.path.join(".cache", "headroom", "cloud"),
                                    timeout=900)


@pytest.fixture(scope="module")
def conn(cloud):
    return cloud.conn()


def run_tasks(cloud, tmp_path, tasks):
    """Run module tasks through ansible-playbook; return their registered results, in order."""
    out = tmp_path / ("results-%s.json" % uuid.uuid4().hex[:8])
    play = []
    for i, (module, args) in enumerate(tasks):
        play.append({"name": "task %d" % i, "stackops.nova.%s" % module: args, "register": "r%d" % i})
    names = ", ".join("r%d" % i for i in range(len(tasks)))
    play.append({"name": "save", "ansible.builtin.copy": {"content": "{{ [%s] | to_json }}" % names,
                                                          "dest": str(out)}})
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": play}]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads(out.read_text())


def _api(conn, method, url, body=None, mv="2.74"):
    return conn.compute.request(url, method, json=body, microversion=mv, raise_exc=False)


def _group_id(conn, name):
    resp = _api(conn, "GET", "/os-server-groups?all_projects=1", mv="2.64")
    return next(g["id"] for g in resp.json()["server_groups"] if g["name"] == name)


def _boot_and_wait(conn, name, flavor_id, az, group_id, timeout=240):
    body = {"server": {"name": name, "flavorRef": flavor_id, "imageRef": IMAGE, "networks": "none",
                       "availability_zone": az}}
    if group_id:
        body["os:scheduler_hints"] = {"group": group_id}
    resp = _api(conn, "POST", "/servers", body)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["server"]["id"]
    deadline = time.time() + timeout
    while True:
        server = _api(conn, "GET", "/servers/%s" % sid).json()["server"]
        if server["status"] in ("ACTIVE", "ERROR"):
            return server
        if time.time() > deadline:
            raise AssertionError("server %s still %s" % (name, server["status"]))
        time.sleep(0.5)


def _delete(conn, servers, timeout=240):
    ids = [s["id"] for s in servers]
    for sid in ids:
        _api(conn, "DELETE", "/servers/%s" % sid)
    deadline = time.time() + timeout
    while ids:
        ids = [sid for sid in ids if _api(conn, "GET", "/servers/%s" % sid).status_code != 404]
        if time.time() > deadline:
            raise AssertionError("servers not deleted: %s" % ids)
        time.sleep(0.5)


def _explain_per_host(head):
    """scheduling_explain's headroom per host, the uncertain hosts at their if-unknowns-pass count."""
    out = dict(head["per_host"])
    out.update(head.get("maybe_per_host") or {})
    return {h: n for h, n in out.items() if n}


def _facts_per_host(room):
    """hypervisor_info's headroom per host: fits, or for an uncertain host its count."""
    out = {}
    for row in room["hosts"]:
        n = row["fits"] if row["schedulable"] is not None else row["count"]
        if n:
            out[row["name"]] = n
    return out


@pytest.mark.parametrize("kind, flavor, az, group, allowed_unknowns", KINDS, ids=[k[0] for k in KINDS])
def test_both_headrooms_are_what_nova_places(cloud, conn, tmp_path, kind, flavor, az, group, allowed_unknowns):
    scheduler = dict(_TOPO["scheduler"])
    explain_args = {"cloud": "minicloud", "flavor": flavor, "availability_zone": az, "scheduler": scheduler,
                    "relaxations": False}
    facts_args = {"cloud": "minicloud", "flavor": flavor, "availability_zone": [az], "scheduler": scheduler}
    group_id = None
    if group:
        group_id = _group_id(conn, group)
        explain_args["scheduler_hints"] = {"group": group_id}
        facts_args["server_group"] = group
    explained, facts = run_tasks(cloud, tmp_path, [("scheduling_explain", explain_args),
                                                   ("hypervisor_info", facts_args)])
    head = explained["explanation"]["headroom"]
    room = facts["headroom"]
    predicted_explain = _explain_per_host(head)
    predicted_facts = _facts_per_host(room)
    unknowns = sorted({u["name"] for u in explained["explanation"]["unknowns"]})
    assert set(unknowns) <= set(allowed_unknowns), unknowns
    if allowed_unknowns:
        # the uncertain hosts say so in both modules, and neither counts them as certain
        assert head["total"] == 0 and head.get("unknown"), head
        assert room["total"] == 0 and room["total_if_unknowns_pass"] == sum(predicted_facts.values()), room

    flavor_id = conn.compute.find_flavor(flavor, ignore_missing=False).id
    bound = sum(predicted_explain.values()) + 3
    booted = []
    record = {"kind": kind, "flavor": flavor, "availability_zone": az, "explain_per_host": predicted_explain,
              "hypervisor_info_per_host": predicted_facts, "unknowns": unknowns}
    try:
        for i in range(bound + 1):
            server = _boot_and_wait(conn, "hr-%s-%02d" % (az, i), flavor_id, az, group_id)
            booted.append(server)
            if server["status"] == "ERROR":
                break
        last = booted[-1]
        fault = (last.get("fault") or {}).get("message", "")
        placed = {}
        for server in booted:
            if server["status"] == "ACTIVE":
                host = server["OS-EXT-SRV-ATTR:host"]
                placed[host] = placed.get(host, 0) + 1
        record.update(placed=placed, last_status=last["status"], last_fault=fault,
                      agree_explain=predicted_explain == placed, agree_hypervisor_info=predicted_facts == placed)
        RESULTS.append(record)
        assert last["status"] == "ERROR" and "No valid host" in fault, json.dumps(record, indent=1)
        assert predicted_explain == placed, json.dumps(record, indent=1)
        assert predicted_facts == placed, json.dumps(record, indent=1)
        assert set(placed) <= set(ZONE_HOSTS[az])
    finally:
        _delete(conn, booted)
