"""hypervisor_info, usage_info and the hypervisors inventory against a real minicloud.

The cloud is tests/integration/facts_topology.yml (its header explains the expected numbers).
Modules run through ``ansible-playbook`` exactly as users run them; re-reads after boots use
the same library (``gather.gather_snapshot``) in-process to keep the test short.

Environment: FACTS_STATE_DIR (default <repo>/.cache/facts-it), FACTS_PORT_BASE (18000),
FACTS_KEEP=1 keeps the cloud running afterwards.
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))

import harness  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as snapshot_mod  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(ROOT, "tests", "integration", "facts_topology.yml")
BIN = os.path.dirname(sys.executable)
IMAGE = "76fa36fc-c930-4bf3-8c8a-ea2a2420deb6"  # the GlanceFixture image minicloud serves
NODES = ["fa1", "fa2", "fb1", "fd", "fm-n0001", "fm-n0002"]


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("FACTS", TOPOLOGY, 18000, os.path.join(".cache", "facts-it"))


@pytest.fixture(scope="module")
def conn(cloud):
    return cloud.conn()


def run_modules(cloud, tmp_path, calls):
    """Run module tasks [(module, args), ...] one after the other in one ansible-playbook (one
    Ansible start-up for several independent calls); return ([registered result per call],
    stdout+stderr of the whole run)."""
    tag = uuid.uuid4().hex[:8]
    outs = [tmp_path / ("result-%s-%d.json" % (tag, i)) for i in range(len(calls))]
    tasks = []
    for i, (module, args) in enumerate(calls):
        tasks.append({"name": "module %d" % i, "stackops.nova.%s" % module: args, "register": "r%d" % i,
                      "ignore_errors": True})
        save = {"content": "{{ r%d | to_json }}" % i, "dest": str(outs[i])}
        tasks.append({"name": "save %d" % i, "ansible.builtin.copy": save})
    playbook = tmp_path / ("play-%s.yml" % tag)
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return [json.loads(out.read_text()) for out in outs], proc.stdout


def run_module(cloud, tmp_path, module, args):
    """Run one module task through ansible-playbook; return (registered result, stdout+stderr)."""
    results, output = run_modules(cloud, tmp_path, [(module, args)])
    return results[0], output


def by_node(hosts):
    return {h["nodename"]: h for h in hosts}


def snapshot(conn, **kwargs):
    kwargs.setdefault("server_groups", False)
    return gather.gather_snapshot(conn, **kwargs)


def flavor_id(conn, name):
    return conn.compute.find_flavor(name, ignore_missing=False).id


def boot(conn, name, flavor, availability_zone=None, timeout=180):
    """Boot one server and wait; returns (server, fault message or None)."""
    kwargs = dict(name=name, flavor_id=flavor_id(conn, flavor), image_id=IMAGE, networks="none")
    if availability_zone:
        kwargs["availability_zone"] = availability_zone
    server = conn.compute.create_server(**kwargs)
    deadline = time.time() + timeout
    while True:
        server = conn.compute.get_server(server.id)
        if server.status in ("ACTIVE", "ERROR"):
            break
        if time.time() > deadline:
            raise AssertionError("server %s still %s after %d s" % (name, server.status, timeout))
        time.sleep(0.5)
    fault = (server.fault or {}).get("message") if server.status == "ERROR" else None
    return server, fault


def delete_all(conn, servers):
    for server in servers:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=120)


def wait_for_usage(conn, node, predicate, timeout=30):
    """Placement is updated synchronously by claims, but allow deletes a moment."""
    deadline = time.time() + timeout
    while True:
        snap = snapshot(conn, host=node.split("-n")[0])
        host = by_node(snap["hosts"])[node]
        if predicate(host) or time.time() > deadline:
            return host
        time.sleep(1)


# ------------------------------------------------------------------ hypervisor_info

def test_module_reports_topology_ratios_reserved_and_joins(cloud, tmp_path):
    result, output = run_module(cloud, tmp_path, "hypervisor_info", {"cloud": "minicloud",
                                                                     "return_hypervisors": True})
    assert not result.get("failed"), result
    assert result["hypervisors"] == result["snapshot"]["hosts"]
    hosts = by_node(result["hypervisors"])
    assert sorted(hosts) == sorted(NODES)
    fa1, fa2 = hosts["fa1"], hosts["fa2"]
    # the topology's allocation ratios and reserved memory, and placement's capacity formula
    assert fa1["resources"]["VCPU"]["allocation_ratio"] == 2.0 and fa1["resources"]["VCPU"]["capacity"] == 8
    assert fa1["resources"]["MEMORY_MB"]["reserved"] == 1024 and fa1["resources"]["MEMORY_MB"]["capacity"] == 7168
    assert fa2["resources"]["MEMORY_MB"]["allocation_ratio"] == 1.5
    assert fa2["resources"]["MEMORY_MB"]["reserved"] == 512 and fa2["resources"]["MEMORY_MB"]["capacity"] == 8448
    assert fa2["resources"]["VCPU"]["allocation_ratio"] == 4.0  # Nova's initial_cpu_allocation_ratio
    assert fa2["resources"]["DISK_GB"]["total"] == 40 and fa2["resources"]["VCPU"]["max_unit"] == 8
    assert "CUSTOM_FAST" in fa1["traits"] and "CUSTOM_FAST" not in fa2["traits"]
    # service join, AZ and aggregates (an aggregate named like its AZ)
    assert hosts["fb1"]["service"]["status"] == "disabled"
    assert hosts["fb1"]["service"]["disabled_reason"] == "maintenance (facts test)"
    assert "COMPUTE_STATUS_DISABLED" in hosts["fb1"]["traits"]
    # Nova shows updated_at null (and state up, from created_at) until the first heartbeat.
    assert fa1["service"]["state"] == "up" and "updated_at" in fa1["service"]
    assert fa1["availability_zone"] == "az-a" and hosts["fd"]["availability_zone"] == "az-b"
    aggregates = {a["name"]: a for a in result["snapshot"]["aggregates"]}
    assert sorted(fa1["aggregates"]) == sorted([aggregates["az-a"]["id"], aggregates["fast"]["id"]])
    assert aggregates["fast"]["metadata"] == {"ssd": "true"}
    # one service, two nodes
    assert hosts["fm-n0001"]["name"] == hosts["fm-n0002"]["name"] == "fm"
    assert hosts["fm-n0001"]["service"]["id"] == hosts["fm-n0002"]["service"]["id"]
    assert hosts["fm-n0001"]["provider_uuid"] != hosts["fm-n0002"]["provider_uuid"]
    assert all(h["hypervisor_type"] == "fake" and h["host_ip"] for h in hosts.values())
    assert all(h["num_instances"] == 0 for h in hosts.values())
    # totals = sums over the nodes
    vcpu = result["totals"]["VCPU"]
    assert vcpu["providers"] == 6
    assert vcpu["capacity"] == sum(h["resources"]["VCPU"]["capacity"] for h in hosts.values())
    assert vcpu["total"] == 4 + 8 + 4 + 2 + 2 + 2
    # the snapshot is valid, saves and loads back unchanged
    assert result["snapshot"]["warnings"] == []
    assert result["snapshot"]["source"]["cloud"] == "minicloud"
    loaded = snapshot_mod.loads(json.dumps(result["snapshot"]))
    assert loaded["hosts"] == result["snapshot"]["hosts"]
    zones = {z["name"]: z for z in loaded["availability_zones"]}
    assert zones["az-a"]["hosts"] == ["fa1", "fa2"] and zones["az-b"]["available"] is True
    assert "Traceback" not in output


def test_booting_raises_used_by_the_flavor_amounts(conn):
    before = by_node(snapshot(conn)["hosts"])
    server, fault = boot(conn, "facts-used", "f.fill", availability_zone="az-a:fa2")
    try:
        assert fault is None and server.status == "ACTIVE"
        after = by_node(snapshot(conn)["hosts"])
        for node in NODES:
            for rc in ("VCPU", "MEMORY_MB", "DISK_GB"):
                delta = after[node]["resources"][rc]["used"] - before[node]["resources"][rc]["used"]
                expected = {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}[rc] if node == "fa2" else 0
                assert delta == expected, (node, rc, delta)
        assert after["fa2"]["num_instances"] == before["fa2"]["num_instances"] + 1
        assert server.id in after["fa2"]["instances"]
        assert after["fa2"]["resources"]["MEMORY_MB"]["free"] == 8448 - after["fa2"]["resources"]["MEMORY_MB"]["used"]
    finally:
        delete_all(conn, [server])
    host = wait_for_usage(conn, "fa2", lambda h: h["resources"]["VCPU"]["used"] == before["fa2"]["resources"]["VCPU"]["used"])
    assert host["resources"]["MEMORY_MB"]["used"] == before["fa2"]["resources"]["MEMORY_MB"]["used"]


def test_filters_select_and_empty_matches_do_not_fail(cloud, tmp_path, conn):
    def names(snap):
        return sorted(h["nodename"] for h in snap["hosts"])

    assert names(snapshot(conn, host="f?1")) == ["fa1", "fb1"]
    assert names(snapshot(conn, host="fm")) == ["fm-n0001", "fm-n0002"]
    assert names(snapshot(conn, aggregate="az-a")) == ["fa1", "fa2"]
    assert names(snapshot(conn, availability_zone="az-b")) == ["fb1", "fd", "fm-n0001", "fm-n0002"]
    assert names(snapshot(conn, service_status="disabled")) == ["fb1"]
    assert names(snapshot(conn, service_status="enabled", availability_zone="az-a", aggregate="fast")) == ["fa1"]
    (result, once), _unused = run_modules(cloud, tmp_path, [
        ("hypervisor_info", {"cloud": "minicloud", "host": ["nothing-*"], "return_hypervisors": True}),
        ("hypervisor_info", {"cloud": "minicloud", "host": ["fa*"]})])
    assert not result.get("failed") and result["hypervisors"] == [] and result["totals"] == {}
    # by default the hosts come once, in the snapshot
    assert "hypervisors" not in once and sorted(names(once["snapshot"])) == ["fa1", "fa2"]


def test_headroom_matches_what_actually_boots(cloud, tmp_path, conn):
    result, _unused = run_module(cloud, tmp_path, "hypervisor_info", {"cloud": "minicloud", "flavor": "f.fill"})
    assert not result.get("failed"), result
    room = result["headroom"]
    per_host = {h["nodename"]: h for h in room["hosts"]}
    assert room["request"]["resources"] == {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 10}
    assert {n: per_host[n]["fits"] for n in NODES} == {"fa1": 3, "fa2": 4, "fd": 1, "fb1": 0,
                                                       "fm-n0001": 0, "fm-n0002": 0}
    assert per_host["fb1"]["count"] > 0 and not per_host["fb1"]["schedulable"]
    assert per_host["fa1"]["limited_by"] == "MEMORY_MB" and per_host["fa2"]["limited_by"] in ("MEMORY_MB", "DISK_GB")
    predicted = room["total"]
    assert predicted == 8
    booted = []
    try:
        fault = None
        for i in range(predicted + 3):
            server, fault = boot(conn, "facts-fill-%02d" % i, "f.fill")
            booted.append(server)
            if server.status == "ERROR":
                break
        active = [s for s in booted if s.status == "ACTIVE"]
        assert len(active) == predicted, "predicted %d, booted %d (last fault: %s)" % (predicted, len(active), fault)
        assert booted[-1].status == "ERROR" and "No valid host" in (fault or "")
        placed = {}
        for server in active:
            node = conn.compute.get_server(server.id).hypervisor_hostname
            placed[node] = placed.get(node, 0) + 1
        assert placed == {n: per_host[n]["fits"] for n in NODES if per_host[n]["fits"]}
        # and now the module predicts 0 more
        again, _unused = run_module(cloud, tmp_path, "hypervisor_info", {"cloud": "minicloud", "flavor": "f.fill"})
        assert again["headroom"]["total"] == 0
    finally:
        delete_all(conn, booted)


def test_pinned_flavor_pcpu_request_and_novas_vcpu_fallback(cloud, tmp_path, conn):
    # No host reports PCPU. Nova asks placement for PCPU *and*, by default, for the same request
    # with VCPU ([workarounds] disable_fallback_pcpu_query=false), so the flavor boots on VCPU.
    (strict, result), _unused = run_modules(cloud, tmp_path, [
        ("hypervisor_info", {"cloud": "minicloud", "flavor": "f.pinned", "pcpu_fallback": False, "host": ["fa1"]}),
        ("hypervisor_info", {"cloud": "minicloud", "flavor": "f.pinned", "host": ["fa1"]})])
    room = strict["headroom"]
    assert room["request"]["resources"] == {"PCPU": 2, "MEMORY_MB": 512, "DISK_GB": 1}
    assert room["request"]["fallback"]["resources"] == {"VCPU": 2, "MEMORY_MB": 512, "DISK_GB": 1}
    assert room["total"] == 0 and room["hosts"][0]["limited_by"] == "PCPU"
    fa1 = result["headroom"]["hosts"][0]
    assert (fa1["count"], fa1["limited_by"]) == (4, "VCPU")  # VCPU (4-0)x2.0=8 -> 4
    server, fault = boot(conn, "facts-pinned", "f.pinned", availability_zone="az-a:fa1")
    try:
        assert server.status == "ACTIVE", fault
        host = by_node(snapshot(conn, host="fa1")["hosts"])["fa1"]
        assert host["resources"]["VCPU"]["used"] == 2 and "PCPU" not in host["resources"]
    finally:
        delete_all(conn, [server])


def test_inline_flavor_respects_max_unit(cloud, tmp_path):
    # 9 vCPUs exceed every VCPU max_unit (the largest host has 8): nothing fits, even on empty hosts
    (result, small), _unused = run_modules(cloud, tmp_path, [
        ("hypervisor_info", {"cloud": "minicloud", "flavor": {"vcpus": 9, "ram": 64, "disk": 1}, "servers": False,
                             "server_groups": False}),
        ("hypervisor_info", {"cloud": "minicloud", "flavor": {"vcpus": 1, "ram": 512, "disk": 1}, "host": ["fa1"]})])
    assert result["headroom"]["total"] == 0 and all(h["count"] == 0 for h in result["headroom"]["hosts"])
    fa1 = small["headroom"]["hosts"][0]
    # fa1 empty: VCPU 8, MEMORY_MB 7168/512=14, DISK_GB 100 -> 8, limited by VCPU at ratio 2.0
    assert (fa1["count"], fa1["limited_by"]) == (8, "VCPU")


BAD_INPUT = [
    ({"flavor": "no-such-flavor"}, "flavor 'no-such-flavor' was not found"),
    ({"flavor": {"vcpus": 1, "ram": "lots"}}, "flavor.ram must be a whole number"),
    ({"flavor": {"vcpus": 1, "ram": 1, "cpu": 2}}, "flavor has unknown key(s) cpu"),
    ({"flavor": {"vcpus": 1, "ram": 1, "extra_specs": {"hw:cpu_policy": "pinned"}}}, "hw:cpu_policy must be"),
    ({"placement_workers": 0}, "placement_workers must be at least 1"),
    ({"cloud": "no-such-cloud"}, "no-such-cloud"),
    ({"numa_capacity": {"fa1": {"cells": "x"}}}, "numa_capacity.fa1.cells must be a list or null, got str"),
    ({"numa_capacity": {"fa1": {"cells": None}}}, "numa_capacity.fa1.cells must be a list of NUMA cells"),
]


@pytest.fixture(scope="module")
def bad_input_runs(cloud, tmp_path_factory):
    """Every BAD_INPUT case as its own task of one ansible-playbook run (one start-up for all)."""
    return run_modules(cloud, tmp_path_factory.mktemp("bad-input"),
                       [("hypervisor_info", dict({"cloud": "minicloud"}, **args)) for args, dummy in BAD_INPUT])


@pytest.mark.parametrize("index", range(len(BAD_INPUT)), ids=[m for a, m in BAD_INPUT])
def test_bad_input_fails_clearly(bad_input_runs, index):
    message = BAD_INPUT[index][1]
    results, output = bad_input_runs
    result = results[index]
    assert result.get("failed") is True
    assert message in result["msg"]
    assert "Traceback" not in output and "minicloud-admin" not in output


def test_numa_state_from_the_cell_database_read_only(cloud, tmp_path):
    """nova_db: the hosts' NUMA state from compute_nodes (the fake hosts report none: cells []);
    an unreachable database is a warning that never shows the URL's password."""
    db = os.path.join(cloud.state_dir, "nova_cell1.db")
    (result, unreachable), output = run_modules(cloud, tmp_path, [
        ("hypervisor_info", {"cloud": "minicloud", "nova_db": "sqlite:///%s" % db, "placement": False,
                             "server_groups": False}),
        ("hypervisor_info", {"cloud": "minicloud", "nova_db": "mysql+pymysql://nova:Sekr1tDbPw@127.0.0.1:9/nova",
                             "placement": False, "server_groups": False})])
    assert not result.get("failed"), result
    assert result["snapshot"]["hosts"]
    assert all(h["numa"] == {"cells": [], "source": "nova_db", "unknown": None} and h["pci_pools"] == []
               for h in result["snapshot"]["hosts"])
    result = unreachable
    assert not result.get("failed"), result
    assert any("host NUMA cells and PCI pools unknown" in w for w in result["snapshot"]["warnings"])
    assert result["snapshot"]["hosts"] and all(h["numa"]["cells"] is None for h in result["snapshot"]["hosts"])
    assert "Sekr1tDbPw" not in output and "Sekr1tDbPw" not in json.dumps(result)


def test_placement_unreachable_returns_novas_part_with_a_warning(cloud, tmp_path):
    with open(cloud.clouds_yaml) as handle:
        clouds = yaml.safe_load(handle)
    entry = dict(clouds["clouds"]["minicloud"])
    entry["placement_endpoint_override"] = "http://127.0.0.1:9/"
    clouds["clouds"]["noplacement"] = entry
    extra = tmp_path / "clouds.yaml"
    extra.write_text(yaml.safe_dump(clouds))
    result, _unused = run_module(cloud, tmp_path, "hypervisor_info", {"cloud": dict(entry.items()),
                                                                      "flavor": "f.fill",
                                                                      "return_hypervisors": True})
    assert not result.get("failed"), result
    hosts = by_node(result["hypervisors"])
    assert sorted(hosts) == sorted(NODES)
    assert all(h["resources"] == {} and h["traits"] is None for h in hosts.values())
    assert hosts["fb1"]["service"]["status"] == "disabled"
    assert any("placement unavailable" in w for w in result["snapshot"]["warnings"])
    assert any("placement unavailable" in w for w in result.get("warnings", []))
    assert result["headroom"]["total"] == 0 and len(result["headroom"]["unknown"]) == 6


def test_placement_drift_the_snapshot_decides_is_a_warning_naming_the_host(cloud, tmp_path, conn):
    """COMPUTE_STATUS_DISABLED put on the enabled fa2 and fa1's provider taken out of aggregate
    ``fast`` (through placement's API): hypervisor_info warns about both, naming the host, the
    effect and the audit module. The clean cloud gives no such warning (the first test asserts
    ``snapshot.warnings == []``, with the two-node host fm in aggregate zone-b); the drift is
    undone afterwards and the snapshot is clean again."""
    placement, mv = conn.placement, "1.36"

    def provider(name):
        return placement.get("/resource_providers", params={"name": name},
                             microversion=mv).json()["resource_providers"][0]["uuid"]

    def put(url, body):
        response = placement.put(url, json=body, microversion=mv, raise_exc=False)
        assert response.status_code == 200, (url, response.text)

    def edit(url, key, change):
        current = placement.get(url, microversion=mv).json()
        put(url, {key: change(current[key]), "resource_provider_generation": current["resource_provider_generation"]})

    fa1, fa2 = provider("fa1"), provider("fa2")
    fast = [a for a in conn.compute.get("/os-aggregates", microversion="2.41").json()["aggregates"]
            if a["name"] == "fast"][0]["uuid"]
    edit("/resource_providers/%s/traits" % fa2, "traits", lambda t: t + ["COMPUTE_STATUS_DISABLED"])
    try:
        edit("/resource_providers/%s/aggregates" % fa1, "aggregates", lambda a: [x for x in a if x != fast])
        try:
            result, output = run_module(cloud, tmp_path, "hypervisor_info", {"cloud": "minicloud", "flavor": "f.fill"})
        finally:
            edit("/resource_providers/%s/aggregates" % fa1, "aggregates", lambda a: sorted(set(a) | {fast}))
    finally:
        edit("/resource_providers/%s/traits" % fa2, "traits",
             lambda t: [x for x in t if x != "COMPUTE_STATUS_DISABLED"])
    assert not result.get("failed"), result
    audit = [w for w in result["snapshot"]["warnings"] if w.startswith("placement audit: ")]
    assert len(audit) == 2, result["snapshot"]["warnings"]
    trait = [w for w in audit if "COMPUTE_STATUS_DISABLED" in w][0]
    # the free capacity placement hides is what the module reports free on fa2
    free = by_node(result["snapshot"]["hosts"])["fa2"]["resources"]
    assert trait.startswith("placement audit: service nova-compute on fa2 is enabled but provider fa2 has "
                            "COMPUTE_STATUS_DISABLED; effect on these numbers: placement hides its free "
                            "DISK_GB=%d, MEMORY_MB=%d, VCPU=%d from the scheduler"
                            % (free["DISK_GB"]["free"], free["MEMORY_MB"]["free"], free["VCPU"]["free"]))
    aggregate = [w for w in audit if "aggregate" in w and w is not trait][0]
    assert aggregate.startswith("placement audit: host fa1 is in aggregate fast but provider fa1 is not in "
                                "placement aggregate %s" % fast)
    assert all(w.endswith("run stackops.nova.placement_audit for the evidence and the fix") for w in audit)
    # they reach the module's warnings, and the numbers say the same: fa2 counts 0 while the trait is there
    assert sum("placement audit: service nova-compute on fa2" in w for w in result.get("warnings", [])) == 1
    assert [h["fits"] for h in result["headroom"]["hosts"] if h["nodename"] == "fa2"] == [0]
    assert snapshot(conn)["warnings"] == []


def test_request_count_is_linear_and_placement_runs_per_selected_provider(cloud, conn):
    calls = []
    original = conn.session.request

    def counting(url, method, *args, **kwargs):
        calls.append((method, url))
        return original(url, method, *args, **kwargs)

    conn.session.request = counting
    try:
        snapshot(conn, server_groups=True)
        all_calls = list(calls)
        calls.clear()
        snapshot(conn, host="fa1", server_groups=True)
        one_calls = list(calls)
    finally:
        conn.session.request = original
    placement = [u for _m, u in all_calls if "resource_providers/" in u]
    assert len(placement) == 4 * len(NODES)
    assert not any("/os-hypervisors/" in u and "detail" not in u for _m, u in all_calls)  # no per-hypervisor call
    assert len([u for _m, u in one_calls if "resource_providers/" in u]) == 4
    assert len(all_calls) - len(one_calls) == 4 * (len(NODES) - 1)


# ------------------------------------------------------------------ inventory plugin

def inventory(cloud, tmp_path, config):
    path = tmp_path / "test.nova_hypervisors.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(path), "--list"],
                          env=cloud.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def plain(value):
    """ansible-inventory --list shows unsafe strings as {"__ansible_unsafe": "..."}; unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def members(data, group):
    return sorted(data.get(group, {}).get("hosts", []))


def test_inventory_groups_hostvars_and_down_host(cloud, tmp_path):
    data, _unused = inventory(cloud, tmp_path, {"plugin": "stackops.nova.hypervisors", "cloud": "minicloud",
                                                "keyed_groups": [{"key": "nova.availability_zone", "prefix": "zone"}],
                                                "compose": {"vcpu_free": "nova.resources.VCPU.free"}})
    assert members(data, "nova_status_disabled") == ["fb1"]
    assert members(data, "nova_status_enabled") == ["fa1", "fa2", "fd", "fm"]
    assert members(data, "nova_az_az_a") == ["fa1", "fa2"] and members(data, "nova_aggregate_fast") == ["fa1"]
    assert members(data, "nova_aggregate_zone_b") == ["fb1", "fd", "fm"]
    assert members(data, "nova_hypervisor_type_fake") == ["fa1", "fa2", "fb1", "fd", "fm"]
    assert members(data, "zone_az_b") == ["fb1", "fd", "fm"]
    assert "nova_compute" in data["all"]["children"]
    # API data is marked unsafe (never templated)
    raw = data["_meta"]["hostvars"]["fa1"]
    assert raw["ansible_host"] == {"__ansible_unsafe": raw["nova"]["host_ip"]["__ansible_unsafe"]}
    assert raw["nova"]["service"]["status"] == {"__ansible_unsafe": "enabled"}
    hostvars = plain(data["_meta"]["hostvars"])
    assert hostvars["fa1"]["nova"]["resources"]["VCPU"]["allocation_ratio"] == 2.0
    assert hostvars["fa1"]["ansible_host"] == hostvars["fa1"]["nova"]["host_ip"]
    assert hostvars["fa1"]["vcpu_free"] == hostvars["fa1"]["nova"]["resources"]["VCPU"]["free"]
    assert [n["nodename"] for n in hostvars["fm"]["nova"]["nodes"]] == ["fm-n0001", "fm-n0002"]

    cloud.compute_stop("fd")
    try:
        cloud.wait_for_service_state("fd", "down", timeout=60)
        data, _unused = inventory(cloud, tmp_path, {"plugin": "stackops.nova.hypervisors", "cloud": "minicloud",
                                                    "placement": False, "use_host_ip": False,
                                                    "service_state": "down"})
        assert members(data, "nova_compute") == ["fd"] and members(data, "nova_state_down") == ["fd"]
        assert "ansible_host" not in data["_meta"]["hostvars"]["fd"]
        assert plain(data["_meta"]["hostvars"]["fd"])["nova"]["resources"] == {}
    finally:
        cloud.compute_start("fd")
        cloud.wait_for_service_state("fd", "up", timeout=60)


def test_inventory_errors_are_clear(cloud, tmp_path):
    path = tmp_path / "bad.nova_hypervisors.yml"
    path.write_text("plugin: stackops.nova.hypervisors\ncloud: no-such-cloud\n")
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(path), "--list"],
                          env=cloud.ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="1"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode != 0
    assert "stackops.nova.hypervisors: could not connect to the cloud 'no-such-cloud'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ usage_info

def test_usage_info_quotas_and_tenant_usage(cloud, tmp_path, conn):
    server, fault = boot(conn, "facts-usage", "f.fill", availability_zone="az-a")
    try:
        assert fault is None
        (result, one), _unused = run_modules(cloud, tmp_path, [
            ("usage_info", {"cloud": "minicloud", "all_projects": True}),
            ("usage_info", {"cloud": "minicloud", "project": "admin", "detailed": True, "quotas": False})])
        assert not result.get("failed"), result
        projects = {p["name"]: p for p in result["projects"]}
        assert {"admin", "demo"} <= set(projects)
        admin = projects["admin"]
        assert admin["quotas"]["instances"]["in_use"] >= 1 and admin["quotas"]["cores"]["in_use"] >= 2
        assert admin["quotas"]["ram"]["in_use"] >= 2048
        assert "server_groups" in admin["quotas"] and "limit" in admin["quotas"]["cores"]
        # earlier tests booted and deleted servers in this period: they count
        assert admin["usage"]["num_servers"] >= 2 and admin["usage"]["server_hours"] > 0
        assert admin["usage"]["vcpu_hours"] >= 2 * admin["usage"]["server_hours"] * 0.99
        assert result["totals"]["server_hours"] >= admin["usage"]["server_hours"]
        assert result["period"]["hours"] == 720.0

        servers = one["projects"][0]["usage"]["servers"]
        assert server.id in [s["id"] for s in servers] and "quotas" not in one["projects"][0]
    finally:
        delete_all(conn, [server])
    (bad1, bad2, bad), _unused = run_modules(cloud, tmp_path, [
        ("usage_info", {"cloud": "minicloud", "project": "no-such-project"}),
        ("usage_info", {"cloud": "minicloud", "start": "2026-12-01", "end": "2026-11-01"}),
        ("usage_info", {"cloud": "minicloud-demo", "all_projects": True})])
    assert bad1["failed"] and "project 'no-such-project' was not found" in bad1["msg"]
    assert bad2["failed"] and "start (2026-12-01T00:00:00) must be before end" in bad2["msg"]
    assert bad["failed"] and "needs the admin role" in bad["msg"] and "403" in bad["msg"]


def test_capacity_headroom_helper_agrees_with_module_numbers(conn):
    """The library's headroom for f.fill equals the per-class minimum computed by hand here."""
    snap = snapshot(conn, host="fa*")
    request = capacity.flavor_request({"vcpus": 2, "ram": 2048, "disk": 10})
    for host in snap["hosts"]:
        res = host["resources"]
        by_hand = min((res[rc]["capacity"] - res[rc]["used"]) // amount for rc, amount in request["resources"].items())
        assert capacity.headroom(res, request["resources"])[0] == by_hand


def test_bulk_placement_reads_equal_the_per_provider_reads(conn):
    """The bulk path (summaries + member_of + inventories) gives the per-provider values exactly.

    fm-n0001 is made full by a placement allocation of a consumer Nova does not know, so
    allocation_candidates does not list it and the bulk path falls back to its own
    usages/traits requests for it.
    """
    placement = conn.placement
    providers = placement.get("/resource_providers", params={"name": "fm-n0001"},
                              microversion="1.39").json()["resource_providers"]
    full = providers[0]["uuid"]
    inventory = placement.get("/resource_providers/%s/inventories" % full,
                              microversion="1.39").json()["inventories"]["MEMORY_MB"]
    usages = placement.get("/resource_providers/%s/usages" % full, microversion="1.39").json()["usages"]
    free = int((inventory["total"] - inventory["reserved"]) * inventory["allocation_ratio"]) - usages["MEMORY_MB"]
    consumer = str(uuid.uuid4())
    project = conn.current_project_id
    body = {"allocations": {full: {"resources": {"MEMORY_MB": free}}}, "project_id": project,
            "user_id": conn.current_user_id, "consumer_generation": None}
    response = placement.put("/allocations/%s" % consumer, json=body, microversion="1.28", raise_exc=False)
    assert response.status_code == 204, response.text
    calls = []
    original = conn.session.request

    def counting(url, method, *args, **kwargs):
        calls.append((method, url))
        return original(url, method, *args, **kwargs)

    try:
        per_provider = snapshot(conn, servers=False, placement_bulk=False)
        conn.session.request = counting
        try:
            bulk = snapshot(conn, servers=False, placement_bulk=True)
        finally:
            conn.session.request = original
    finally:
        placement.delete("/allocations/%s" % consumer, microversion="1.39")
    assert not per_provider["warnings"] and not bulk["warnings"], (per_provider["warnings"], bulk["warnings"])
    fields = ("provider_uuid", "resources", "traits", "provider_aggregates", "cpu_info")
    compared = 0
    for node, host in by_node(per_provider["hosts"]).items():
        other = by_node(bulk["hosts"])[node]
        for field in fields:
            assert other[field] == host[field], (node, field, other[field], host[field])
            compared += 1
    assert compared == len(NODES) * len(fields)
    assert by_node(bulk["hosts"])["fm-n0001"]["resources"]["MEMORY_MB"]["free"] == 0
    assert by_node(bulk["hosts"])["fa1"]["provider_aggregates"]  # in az-a and fast
    assert all(h["cpu_info"] for h in bulk["hosts"])  # the hypervisor list at 2.87 keeps cpu_info
    per_provider_urls = [u for _m, u in calls if "/resource_providers/" in u]
    assert len([u for u in per_provider_urls if u.endswith("/inventories")]) == len(NODES)
    # only the provider the summaries do not list is asked for its usages and traits
    assert [u for u in per_provider_urls if not u.endswith("/inventories")] == [
        u for u in per_provider_urls if full in u and not u.endswith("/inventories")]
    assert len([u for u in per_provider_urls if u.endswith(("/usages", "/traits"))]) == 2
    assert not any(u.endswith("/aggregates") for u in per_provider_urls)
    assert len([u for _m, u in calls if "/allocation_candidates" in u]) == 1
