"""placement_audit on a real minicloud: a clean and a busy cloud give no finding; every kind of
drift injected (through placement's API, nova's cell database, a stopped compute, a deleted
provider, an ended migration) is found with the right objects and numbers; Nova's own
``nova-manage placement audit`` agrees on the allocations it can judge; the repair playbook
(check mode, diff, apply, idempotence) plus the commands the audit names leave the audit clean
and the capacity facts equal to what they were before the drift.

Cloud: tests/integration/audit_topology.yml. Environment: AUDIT_STATE_DIR (default
<repo>/.cache/audit-it), AUDIT_PORT_BASE (26000), AUDIT_KEEP=1 keeps the cloud running.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))

import harness  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import audit_cloud  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(ROOT, "tests", "integration", "audit_topology.yml")
BIN = os.path.dirname(sys.executable)
PMV = "1.36"
# nova.conf of the computes, as the topology sets them (minicloud's driver reports them)
COMPUTE_CONFIG = {
    "au1": {"cpu_allocation_ratio": 2.0, "reserved_host_memory_mb": 1024},
    "*": {"cpu_allocation_ratio": 4.0, "reserved_host_memory_mb": 512},
}
STATE = {}


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("AUDIT", TOPOLOGY, 26000, os.path.join(".cache", "audit-it"))


@pytest.fixture(scope="module")
def conn(cloud):
    return cloud.conn()


def run_playbook(cloud, tmp_path, playbook, extra=None, check=False):
    """Run a playbook; return (the registered result saved by the playbook, output)."""
    out = tmp_path / ("result-%s.json" % uuid.uuid4().hex[:8])
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "--diff",
           "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "placement_audit_result_file=%s" % out,
           "-e", json.dumps(dict(extra or {}, placement_cloud="minicloud")), str(playbook)]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:]
    return json.loads(out.read_text()), proc.stdout


def run_module(cloud, tmp_path, args):
    play = tmp_path / "audit.yml"
    play.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "audit", "stackops.nova.placement_audit": args, "register": "r", "ignore_errors": True},
            {"name": "save", "ansible.builtin.copy": {"content": "{{ r | to_json }}",
                                                      "dest": "{{ placement_audit_result_file }}"}},
        ]}]))
    return run_playbook(cloud, tmp_path, play)


def audit(conn, config=None):
    return audit_cloud.run_audit(conn, compute_config=COMPUTE_CONFIG if config is None else config)


def nova_manage_audit(cloud):
    """Nova's own tool against the same cloud: (exit code, consumer uuids it calls orphaned)."""
    env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING="1")
    proc = subprocess.run([os.path.join(BIN, "nova-manage"), "--config-file",
                           os.path.join(cloud.state_dir, "etc", "nova.conf"), "placement", "audit", "--verbose"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=600,
                          check=False)
    assert proc.returncode in (0, 3), proc.stdout[-3000:]
    return proc.returncode, set(re.findall(r"against consumer UUID ([0-9a-f-]{36})", proc.stdout))


def nova_manage(cloud, *args):
    env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING="1")
    proc = subprocess.run([os.path.join(BIN, "nova-manage"), "--config-file",
                           os.path.join(cloud.state_dir, "etc", "nova.conf")] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=600,
                          check=False)
    return proc


def pget(conn, url):
    r = conn.placement.get(url, microversion=PMV, raise_exc=True)
    return r.json()


def pput(conn, url, body):
    r = conn.placement.put(url, json=body, microversion=PMV, raise_exc=False)
    assert r.status_code in (200, 204), (url, r.status_code, r.text)
    return r


def providers(conn):
    return {p["name"]: p for p in pget(conn, "/resource_providers")["resource_providers"]}


def servers(conn):
    body = conn.compute.get("/servers/detail?all_tenants=True", microversion="2.87").json()
    return {s["name"]: s for s in body["servers"]}


def capacity_facts(conn):
    """What hypervisor_info reports per node: inventory and usage per class, traits, provider aggregates."""
    snap = gather.gather_snapshot(conn, servers=False, server_groups=False)
    facts = {}
    for host in snap["hosts"]:
        facts[host["nodename"]] = {
            "resources": {rc: {k: v.get(k) for k in ("total", "reserved", "allocation_ratio", "used", "capacity", "free")}
                          for rc, v in (host.get("resources") or {}).items()},
            "traits": sorted(host.get("traits") or []),
            "provider_aggregates": sorted(host.get("provider_aggregates") or host.get("placement_aggregates") or []),
        }
    return facts


def by_kind(result):
    kinds = {}
    for finding in result["findings"]:
        kinds.setdefault(finding["kind"], []).append(finding)
    return kinds


# ------------------------------------------------------------------ clean cloud

def test_clean_cloud_has_no_finding(cloud, conn, tmp_path):
    result, dummy = run_module(cloud, tmp_path, {"cloud": "minicloud"})
    assert not result.get("failed"), result
    assert result["findings"] == [], result["summary"]
    assert result["summary"]["total"] == 0
    assert result["summary"]["line"].startswith("placement audit: 0 finding(s)")
    # without compute_config the ratio/reserved check is unknown, never a pass or a fail
    assert [u["check"] for u in result["unknown"]] == ["inventory_allocation_ratio_and_reserved"]
    assert sorted(o["name"] for o in result["unknown"][0]["objects"]) == ["au1", "au2", "au3", "au4"]
    # with the computes' nova.conf it is decided, and still clean
    decided = audit(conn)
    assert decided["findings"] == [] and decided["unknown"] == []
    # linear requests: Nova's aggregates, the provider list, 2 trait lists, 1 list per Nova aggregate (3),
    # inventories and allocations per provider (4 providers), 4 more Nova lists; no re-reads when clean
    assert decided["requests"] == 1 + 1 + 2 + 3 + 2 * 4 + 4
    code, consumers = nova_manage_audit(cloud)
    assert (code, consumers) == (0, set())
    STATE["facts_before"] = capacity_facts(conn)


def test_busy_cloud_has_no_finding(cloud, conn):
    """Boots and deletes in flight while auditing: nothing they do is drift."""
    stop = threading.Event()
    errors = []

    def churn(index):
        c = cloud.conn()
        n = 0
        while not stop.is_set() and n < 6:
            n += 1
            try:
                srv = cloud.boot("busy-%d-%d" % (index, n), "a.small", az="az1", wait=False)
                time.sleep(0.5 * index)
                deadline = time.time() + 90
                while time.time() < deadline:
                    s = c.compute.get("/servers/%s" % srv["id"]).json()["server"]
                    if s["status"] in ("ACTIVE", "ERROR"):
                        break
                    time.sleep(0.3)
                cloud.delete_server(srv["id"], wait=index % 2 == 0)
            except Exception as exc:  # reported below
                errors.append(repr(exc))
                return

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(1, 4)]
    for thread in threads:
        thread.start()
    results, busy_seen = [], 0
    try:
        for dummy in range(5):
            busy_seen += sum(1 for name in servers(conn) if name.startswith("busy-"))
            results.append(audit(conn))
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(300)
    assert not errors, errors
    for result in results:
        assert result["findings"] == [], [f["message"] for f in result["findings"]]
    # the churn really overlapped the audits
    assert busy_seen > 0
    # wait until the deletes finished, then the cloud is as clean as before
    deadline = time.time() + 120
    while any(n.startswith("busy-") for n in servers(conn)) and time.time() < deadline:
        time.sleep(1)
    assert audit(conn)["findings"] == []


# ------------------------------------------------------------------ drift

def _alloc(conn, consumer):
    return pget(conn, "/allocations/%s" % consumer)


def test_injected_drift_is_found_with_objects_and_numbers(cloud, conn, tmp_path):
    provs = providers(conn)
    srvs = servers(conn)
    host_of = {name: s["OS-EXT-SRV-ATTR:host"] for name, s in srvs.items()}
    base = sorted(n for n in srvs if n.startswith("base-"))
    assert len(base) == 4
    project, user = srvs[base[0]]["tenant_id"], srvs[base[0]]["user_id"]
    s_missing, s_amounts, s_moved, s_migrated = (srvs[n] for n in base)
    other = {"au1": "au2", "au2": "au1"}

    # a. an orphaned allocation: a consumer that is nothing in Nova
    orphan = str(uuid.uuid4())
    pput(conn, "/allocations/%s" % orphan, {
        "allocations": {provs["au2"]["uuid"]: {"resources": {"VCPU": 1, "MEMORY_MB": 256}}},
        "consumer_generation": None, "project_id": project, "user_id": user})
    # b. an instance whose allocation is gone
    conn.placement.delete("/allocations/%s" % s_missing["id"], microversion=PMV, raise_exc=True)
    # c. an instance holding more memory than its flavor
    held = _alloc(conn, s_amounts["id"])
    (rp, body), = held["allocations"].items()
    pput(conn, "/allocations/%s" % s_amounts["id"], {
        "allocations": {rp: {"resources": dict(body["resources"], MEMORY_MB=2048)}},
        "consumer_generation": held["consumer_generation"], "project_id": project, "user_id": user})
    # d. an instance allocated against another host's provider
    moved = _alloc(conn, s_moved["id"])
    (rp_moved, body_moved), = moved["allocations"].items()
    wrong_host = other[host_of[s_moved["name"]]]
    pput(conn, "/allocations/%s" % s_moved["id"], {
        "allocations": {provs[wrong_host]["uuid"]: body_moved},
        "consumer_generation": moved["consumer_generation"], "project_id": project, "user_id": user})
    # e. a migration that failed but still holds the source allocation (nova's cell DB + placement)
    migration = str(uuid.uuid4())
    mhost = host_of[s_migrated["name"]]
    db = sqlite3.connect(os.path.join(cloud.state_dir, "nova_cell1.db"), timeout=30)
    with db:
        db.execute("INSERT INTO migrations (created_at, updated_at, source_compute, dest_compute, dest_host, status, "
                   "instance_uuid, source_node, dest_node, deleted, migration_type, hidden, uuid, cross_cell_move) "
                   "VALUES (datetime('now'), datetime('now'), ?, ?, '127.0.0.1', 'error', ?, ?, ?, 0, 'migration', 0, "
                   "?, 0)", (mhost, other[mhost], s_migrated["id"], mhost, other[mhost], migration))
    db.close()
    pput(conn, "/allocations/%s" % migration, {
        "allocations": {provs[mhost]["uuid"]: {"resources": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}},
        "consumer_generation": None, "project_id": project, "user_id": user})
    # f. a provider left by a renamed host
    stale = str(uuid.uuid4())
    r = conn.placement.post("/resource_providers", json={"name": "au9-old-name", "uuid": stale},
                            microversion=PMV, raise_exc=True)
    assert r.status_code in (200, 201)
    gen = pget(conn, "/resource_providers/%s" % stale)["generation"]
    pput(conn, "/resource_providers/%s/inventories" % stale, {
        "resource_provider_generation": gen,
        "inventories": {"VCPU": {"total": 8, "allocation_ratio": 4.0}, "MEMORY_MB": {"total": 4096, "reserved": 512}}})
    # g. a compute node whose provider was deleted
    au4 = provs["au4"]["uuid"]
    conn.placement.delete("/resource_providers/%s" % au4, microversion=PMV, raise_exc=True)
    # h. aggregates: one missing from placement, one stale
    aggs = {a["name"]: a for a in conn.compute.get("/os-aggregates", microversion="2.87").json()["aggregates"]}
    cur = pget(conn, "/resource_providers/%s/aggregates" % provs["au1"]["uuid"])
    pput(conn, "/resource_providers/%s/aggregates" % provs["au1"]["uuid"], {
        "aggregates": [a for a in cur["aggregates"] if a != aggs["agg-fast"]["uuid"]],
        "resource_provider_generation": cur["resource_provider_generation"]})
    cur = pget(conn, "/resource_providers/%s/aggregates" % provs["au2"]["uuid"])
    pput(conn, "/resource_providers/%s/aggregates" % provs["au2"]["uuid"], {
        "aggregates": cur["aggregates"] + [aggs["agg-b"]["uuid"]],
        "resource_provider_generation": cur["resource_provider_generation"]})
    # i. COMPUTE_STATUS_DISABLED on an enabled compute
    cur = pget(conn, "/resource_providers/%s/traits" % provs["au3"]["uuid"])
    pput(conn, "/resource_providers/%s/traits" % provs["au3"]["uuid"], {
        "traits": cur["traits"] + ["COMPUTE_STATUS_DISABLED"],
        "resource_provider_generation": cur["resource_provider_generation"]})
    # j. inventories: a ratio overwritten (decidable with compute_config) and a total changed
    inv = pget(conn, "/resource_providers/%s/inventories/VCPU" % provs["au1"]["uuid"])
    pput(conn, "/resource_providers/%s/inventories/VCPU" % provs["au1"]["uuid"],
         dict({k: inv[k] for k in ("total", "reserved", "min_unit", "max_unit", "step_size")},
              allocation_ratio=4.0, resource_provider_generation=inv["resource_provider_generation"]))
    inv = pget(conn, "/resource_providers/%s/inventories/MEMORY_MB" % provs["au2"]["uuid"])
    pput(conn, "/resource_providers/%s/inventories/MEMORY_MB" % provs["au2"]["uuid"],
         dict({k: inv[k] for k in ("reserved", "min_unit", "step_size", "allocation_ratio")},
              total=12288, max_unit=12288, resource_provider_generation=inv["resource_provider_generation"]))
    # k. a compute that is down with a server on it
    cloud.compute_stop("au3")
    cloud.wait_for_service_state("au3", "down", timeout=60)

    result = audit(conn)
    kinds = by_kind(result)
    messages = [f["message"] for f in result["findings"]]
    expected_counts = {"orphaned_allocation": 1, "ended_migration_allocation": 1, "instance_without_allocation": 1,
                       "instance_allocation_wrong_provider": 1, "instance_allocation_wrong_amounts": 1,
                       "provider_without_compute_node": 1, "compute_node_without_provider": 1,
                       "aggregate_missing_in_placement": 1, "aggregate_stale_in_placement": 1,
                       "disabled_trait_mismatch": 1, "inventory_mismatch": 2, "down_service_with_instances": 1}
    assert {k: len(v) for k, v in kinds.items()} == expected_counts, messages
    assert result["summary"]["total"] == 13
    assert result["summary"]["by_kind"]["deleted_service_with_instances"] == 0

    f = kinds["orphaned_allocation"][0]
    assert f["consumer"] == orphan and f["provider"]["name"] == "au2"
    assert f["amounts"] == {"VCPU": 1, "MEMORY_MB": 256}
    assert f["capacity_effect"] == [{"provider_uuid": provs["au2"]["uuid"], "provider_name": "au2",
                                     "wrongly_held": {"VCPU": 1, "MEMORY_MB": 256}, "wrongly_free": {}}]
    assert f["fix"]["commands"] == ["openstack resource provider allocation delete %s" % orphan]

    f = kinds["ended_migration_allocation"][0]
    assert f["consumer"] == migration and f["server"]["id"] == s_migrated["id"]
    assert f["migration"]["status"] == "error" and f["provider"]["name"] == mhost
    assert f["amounts"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}

    f = kinds["instance_without_allocation"][0]
    assert f["server"]["id"] == s_missing["id"] and f["server"]["project_id"] == project
    assert f["provider"]["name"] == host_of[s_missing["name"]]
    assert f["amounts"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert f["capacity_effect"][0]["wrongly_free"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert f["fix"]["commands"] == ["nova-manage placement heal_allocations --instance %s" % s_missing["id"]]

    f = kinds["instance_allocation_wrong_amounts"][0]
    assert f["server"]["id"] == s_amounts["id"]
    assert f["expected"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert f["difference"] == {"MEMORY_MB": 1536}
    assert f["capacity_effect"][0]["wrongly_held"] == {"MEMORY_MB": 1536}

    f = kinds["instance_allocation_wrong_provider"][0]
    assert f["server"]["id"] == s_moved["id"] and f["provider"]["name"] == host_of[s_moved["name"]]
    effects = {e["provider_name"]: e for e in f["capacity_effect"]}
    assert effects[wrong_host]["wrongly_held"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert effects[host_of[s_moved["name"]]]["wrongly_free"] == {"VCPU": 1, "MEMORY_MB": 512}

    f = kinds["provider_without_compute_node"][0]
    assert f["provider"] == {"uuid": stale, "name": "au9-old-name"}
    assert f["capacity_effect"][0]["wrongly_free"] == {"VCPU": 32, "MEMORY_MB": 3584}
    assert f["fix"]["repair"]["action"] == "delete_provider"

    f = kinds["compute_node_without_provider"][0]
    assert f["compute_node"] == {"uuid": au4, "hypervisor_hostname": "au4", "host": "au4"}

    f = kinds["aggregate_missing_in_placement"][0]
    assert (f["provider"]["name"], f["aggregate"]["name"]) == ("au1", "agg-fast")
    f = kinds["aggregate_stale_in_placement"][0]
    assert (f["provider"]["name"], f["aggregate"]["name"]) == ("au2", "agg-b")

    f = kinds["disabled_trait_mismatch"][0]
    assert f["provider"]["name"] == "au3" and f["service"]["status"] == "enabled"
    assert f["fix"]["repair"] == {"action": "set_traits", "provider": provs["au3"]["uuid"], "name": "au3",
                                  "add": [], "remove": ["COMPUTE_STATUS_DISABLED"]}

    inventory = {(f["provider"]["name"], f["resource_class"], f["field"]): f for f in kinds["inventory_mismatch"]}
    assert sorted(inventory) == [("au1", "VCPU", "allocation_ratio"), ("au2", "MEMORY_MB", "total")]
    f = inventory[("au1", "VCPU", "allocation_ratio")]
    assert (f["nova_value"], f["placement_value"]) == (2.0, 4.0)
    assert f["capacity_effect"][0]["wrongly_free"] == {"VCPU": 16}  # 8 x (4.0 - 2.0)
    f = inventory[("au2", "MEMORY_MB", "total")]
    assert (f["nova_value"], f["placement_value"]) == (16384, 12288)
    assert f["capacity_effect"][0]["wrongly_held"] == {"MEMORY_MB": 4096}

    f = kinds["down_service_with_instances"][0]
    assert f["service"]["host"] == "au3" and [s["name"] for s in f["servers"]] == ["med"]
    assert f["amounts"] == {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 6}  # 5 GB root + 1 GB swap

    # Nova's own tool, on the same cloud, flags exactly the allocations it can judge: those not
    # held by an instance on that provider's node or a migration in progress there.
    code, consumers = nova_manage_audit(cloud)
    assert code == 3
    ours = {f["consumer"] for k in ("orphaned_allocation", "ended_migration_allocation",
                                    "instance_allocation_wrong_provider") for f in kinds[k]}
    assert consumers == ours == {orphan, migration, s_moved["id"]}
    STATE.update(result=result, orphan=orphan, migration=migration, stale=stale, s_moved=s_moved,
                 s_amounts=s_amounts, rp_moved=rp_moved, body_moved=body_moved, rp_amounts=rp)


def test_repair_check_mode_diff_apply_idempotent(cloud, conn, tmp_path):
    if "result" not in STATE:
        pytest.skip("needs the drift of the previous test")
    playbook = os.path.join(ROOT, "playbooks", "placement_repair.yml")
    extra = {"placement_compute_config": COMPUTE_CONFIG}
    before = audit(conn)
    checked, output = run_playbook(cloud, tmp_path, playbook, extra, check=True)
    assert checked["changed"] is True
    planned = sorted((r["action"]["kind"], r["action"]["action"]) for r in checked["repairs"] if r["changed"])
    assert planned == sorted([
        ("orphaned_allocation", "delete_allocations"), ("ended_migration_allocation", "delete_allocations"),
        ("instance_without_allocation", "create_allocations"), ("provider_without_compute_node", "delete_provider"),
        ("aggregate_missing_in_placement", "set_aggregates"), ("aggregate_stale_in_placement", "set_aggregates"),
        ("disabled_trait_mismatch", "set_traits"), ("inventory_mismatch", "set_inventory")])
    # the diff names the objects, and check mode changed nothing
    assert STATE["orphan"] in output and "au9-old-name" in output
    assert [f["message"] for f in audit(conn)["findings"]] == [f["message"] for f in before["findings"]]

    applied, dummy = run_playbook(cloud, tmp_path, playbook, extra)
    assert applied["changed"] is True and not [r for r in applied["repairs"] if r.get("skipped")]
    left = by_kind(audit(conn))
    # what has no API-level repair is left for the commands the audit named
    assert sorted(left) == ["compute_node_without_provider", "down_service_with_instances",
                            "instance_allocation_wrong_amounts", "instance_allocation_wrong_provider",
                            "inventory_mismatch"]
    again, dummy = run_playbook(cloud, tmp_path, playbook, extra)
    assert again["changed"] is False

    # the commands: start the compute, let computes rewrite their provider, heal the moved instance
    # with Nova's own tool, set the allocation the audit printed
    cloud.compute_start("au3")
    cloud.wait_for_service_state("au3", "up", timeout=60)
    for host in ("au2", "au4", "au4"):
        cloud.compute_update(host)
    conn.placement.delete("/allocations/%s" % STATE["s_moved"]["id"], microversion=PMV, raise_exc=True)
    # minicloud has no Neutron endpoint: skip the port part of heal_allocations
    heal = nova_manage(cloud, "placement", "heal_allocations", "--skip-port-allocations",
                       "--instance", STATE["s_moved"]["id"])
    assert heal.returncode == 0, heal.stdout[-2000:]
    held = _alloc(conn, STATE["s_amounts"]["id"])
    pput(conn, "/allocations/%s" % STATE["s_amounts"]["id"], {
        "allocations": {STATE["rp_amounts"]: {"resources": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}},
        "consumer_generation": held["consumer_generation"], "project_id": held["project_id"],
        "user_id": held["user_id"]})
    # au4's new provider lacks its Nova aggregate (Nova mirrors aggregates only when hosts are added)
    final, dummy = run_playbook(cloud, tmp_path, playbook, extra)
    assert [(r["action"]["kind"], r["action"]["name"]) for r in final["repairs"]] == \
        [("aggregate_missing_in_placement", "au4")]
    clean = audit(conn)
    assert clean["findings"] == [], [f["message"] for f in clean["findings"]]
    code, consumers = nova_manage_audit(cloud)
    assert (code, consumers) == (0, set())
    # the capacity facts are what placement said before the drift
    assert capacity_facts(conn) == STATE["facts_before"]


def test_bad_input_is_a_clear_error(cloud, tmp_path):
    result, output = run_module(cloud, tmp_path, {"cloud": "minicloud", "repair_kinds": ["orphans"]})
    assert result["failed"] and "repair_kinds has unknown kind(s) orphans" in result["msg"]
    result, dummy = run_module(cloud, tmp_path, {"cloud": "minicloud", "compute_config": {"au1": {"cpu_ratio": 2}}})
    assert result["failed"] and "compute_config.au1 has unknown key(s) cpu_ratio" in result["msg"]
    assert "Traceback" not in output
