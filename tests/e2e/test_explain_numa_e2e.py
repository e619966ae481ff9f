"""End to end, NUMA / CPU pinning / huge pages / PCI (issue 11): the explain engine against Nova.

tests/minicloud/topologies/numa.yml: minicloud's fake driver reports NUMA cells (shared and
dedicated CPUs, SMT siblings, 2 MB pages) and PCI devices per host, and Nova's own
NUMATopologyFilter and PciPassthroughFilter run at boot (README.md there, "NUMA and PCI").

Each scenario:

1. gathers a snapshot with the collection's gatherer, host NUMA cells and PCI pools read from
   the cell database read-only (``nova_db``), and explains the request;
2. boots it for real (``host``: a requested destination, microversion 2.74, which goes through
   the filters, unlike ``az:host``) and checks that Nova did what the scenario is built for
   (``nova``: the set of hosts that can take it, or NoValidHost): this proves minicloud, and is
   independent of the engine;
3. while the servers exist, checks that the "capacity + compute API" snapshot path (capacity
   from the topology as compute-node facts would give it, usage from ``GET
   /servers/{id}/topology``) says exactly what Nova's database says, cell by cell (or
   "unknown" with a reason, never other values);
4. compares the prediction with Nova's outcome: NoValidHost, or the exact set of hosts that
   passed Nova's filters (the scheduler's "Weighed [...]" debug line of the request). A prediction of
   ``fits: None`` (the engine names NUMATopologyFilter / PciPassthroughFilter unknown) fails:
   every scenario marked ``ENGINE`` needs the NUMA engine (explain/numa.py) or the PCI filter
   (explain/pci.py); until they are merged those fail at step 4 only.

Results go to $E2E_REPORT (JSON) when set. Env: EXPLAIN_NUMA_PORT_BASE (default 28000),
EXPLAIN_NUMA_STATE_DIR, EXPLAIN_NUMA_KEEP=1.
"""

import atexit
import copy
import json
import os
import re
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))
sys.path.insert(0, HERE)

import yaml  # noqa: E402

import numa_capacity  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as F  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as G  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as R  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import numa_usage as NU  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(ROOT, "tests", "minicloud", "topologies", "numa.yml")
DEFAULT_IMAGE = "76fa36fc-c930-4bf3-8c8a-ea2a2420deb6"
COMPUTE_MV = "2.74"  # requested destination host (filters run)
RESULTS = []
NVH = "NoValidHost"

with open(TOPOLOGY) as _handle:
    _TOPO = yaml.safe_load(_handle)
HOSTS = [h["name"] for h in _TOPO["hosts"]]
# the scheduler configuration as the engine takes it: the filters, and [pci] alias (JSON lines)
SCHEDULER = dict(_TOPO["scheduler"], pci_alias=[json.dumps(a, sort_keys=True) for a in _TOPO["pci"]["alias"]])

# Which engine part decides the scenario: "numa" (NUMATopologyFilter, explain/numa.py), "pci"
# (PciPassthroughFilter, explain/pci.py), None (the existing engine).
# (id, flavor, requested host, what Nova does: the hosts that can take it or NVH, engine part)
SCENARIOS = [
    ("plain-no-numa", "m1.small", None, {"n-pin", "n-huge", "n-pci", "n-flat"}, None),
    # pinned guests: placement is asked for PCPU, then (Nova's default,
    # [workarounds] disable_fallback_pcpu_query = False) again for VCPU: so n-huge, whose cells
    # have the legacy layout (no cpu_dedicated_set: every CPU shared and dedicated), takes them
    ("pinned-2", "pin.2", None, {"n-pin", "n-pci", "n-huge"}, "numa"),
    # placement has 4 free PCPU on n-pin, but each cell has 2 free: the classic NoValidHost
    ("pinned-3-on-n-pin-cells-full", "pin.3", "n-pin", NVH, "numa"),
    ("pinned-3", "pin.3", None, {"n-pci", "n-huge"}, "numa"),
    ("pinned-4-two-cells", "pin.4.numa2", None, {"n-pin", "n-huge"}, "numa"),
    ("thread-require", "pin.2.require", None, {"n-pin"}, "numa"),
    # isolate on SMT siblings with cpu_dedicated_set: Nova refuses (bug #1889633 note)
    ("thread-isolate", "pin.2.isolate", None, {"n-pci", "n-huge"}, "numa"),
    ("thread-isolate-on-n-pin", "pin.2.isolate", "n-pin", NVH, "numa"),
    ("thread-isolate-two-cells", "pin.2.isolate.numa2", None, {"n-huge"}, "numa"),
    ("emulator-threads-isolate", "pin.2.emu", None, {"n-pci", "n-huge"}, "numa"),
    ("mixed-policy", "mixed.2", None, {"n-pin"}, "numa"),
    ("two-numa-nodes-shared", "numa2", None, {"n-pin", "n-huge"}, "numa"),
    ("three-numa-nodes", "numa3", None, NVH, "numa"),
    ("hugepages-2m-2g", "huge.2g", None, {"n-huge"}, "numa"),
    ("hugepages-large-3g-one-cell", "huge.3g", None, NVH, "numa"),
    ("hugepages-large-3g-split-even", "huge.3g.split", None, NVH, "numa"),
    ("hugepages-large-3g-split-asym", "huge.3g.asym", None, {"n-huge"}, "numa"),
    ("hugepages-1g-none", "huge.1g", None, NVH, "numa"),
    ("pci-gpu-1", "gpu.1", None, {"n-pci"}, "pci"),
    ("pci-gpu-2", "gpu.2", None, NVH, "pci"),
    ("pci-nic-2", "nic.2", None, {"n-pci"}, "pci"),
    ("pinned-gpu-other-cell-legacy", "pin.2.gpu", None, NVH, "pci"),
    ("pinned-gpu-other-cell-preferred", "pin.2.gpu.preferred", None, {"n-pci"}, "pci"),
    ("pinned-nic-same-cell", "pin.2.nic", None, {"n-pci"}, "pci"),
]


def _report():
    path = os.environ.get("E2E_REPORT")
    if path and RESULTS:
        with open(path, "w") as handle:
            json.dump(RESULTS, handle, indent=1)


atexit.register(_report)


@pytest.fixture(scope="module")
def cloud():
    import harness
    yield from harness.module_cloud("EXPLAIN_NUMA", TOPOLOGY, 28000, os.path.join(".cache", "explain", "numa"),
                                    timeout=600)


@pytest.fixture(scope="module")
def conn(cloud):
    return cloud.conn()


@pytest.fixture(scope="module")
def nova_db(cloud):
    return "sqlite:///%s" % os.path.join(cloud.state_dir, "nova_cell1.db")


@pytest.fixture(scope="module")
def baseline(conn, nova_db):
    """Nova's NUMA cells and PCI pools with only the topology's servers (pinned-a, pinned-b)."""
    return _db_state(nova_db)


def _db_state(nova_db):
    rows = NU.read_compute_nodes(nova_db)
    return {r[0]: (NU.numa_from_nova(r[2])["cells"], NU.pci_pools_from_nova(r[3])) for r in rows}


def _api(conn, method, url, body=None, mv=COMPUTE_MV):
    return conn.compute.request(url, method, json=body, microversion=mv, raise_exc=False)


def _wait(conn, sid, timeout=240):
    deadline = time.time() + timeout
    while True:
        server = _api(conn, "GET", "/servers/%s" % sid).json()["server"]
        if server["status"] in ("ACTIVE", "ERROR"):
            return server
        if time.time() > deadline:
            raise AssertionError("server %s still %s" % (sid, server["status"]))
        time.sleep(0.5)


def _delete(conn, sid, timeout=240):
    _api(conn, "DELETE", "/servers/%s" % sid)
    deadline = time.time() + timeout
    while _api(conn, "GET", "/servers/%s" % sid).status_code != 404:
        if time.time() > deadline:
            raise AssertionError("server %s not deleted" % sid)
        time.sleep(0.5)


def _wait_state(cloud, nova_db, baseline, timeout=60):
    """Until Nova's record of every host is back to the baseline (the delete freed the cells)."""
    deadline = time.time() + timeout
    forced = False
    while _db_state(nova_db) != baseline:
        if time.time() > deadline:
            if forced:
                raise AssertionError("NUMA/PCI usage not back to the baseline: %s" % _db_state(nova_db))
            for host in HOSTS:
                cloud.compute_update(host)
            forced, deadline = True, time.time() + timeout
        time.sleep(0.5)


def _strip(numa):
    numa = copy.deepcopy(numa)
    numa.pop("source", None)
    return numa


def check_api_path(conn, db_snapshot):
    """The capacity + compute API snapshot path says what Nova's DB says (or unknown, with the reason)."""
    api = G.gather_snapshot(conn, placement=False, server_groups=False,
                            numa_capacity=numa_capacity.topology_capacity(_TOPO))
    by_name = {h["name"]: h for h in db_snapshot["hosts"]}
    unknown = {}
    for host in api["hosts"]:
        numa = host["numa"]
        if numa["cells"] is None:
            assert numa["unknown"], numa
            unknown[host["name"]] = numa["unknown"]
            continue
        assert _strip(numa) == _strip(by_name[host["name"]]["numa"]), (host["name"], numa,
                                                                       by_name[host["name"]]["numa"])
    return unknown


def nova_host_set(cloud, request_id):
    """The hosts that passed every filter for one boot request: the scheduler's "Weighed [...]"
    debug line of that request (empty: NoValidHost before or in the filters)."""
    hosts = set()
    for line in cloud.log("nova-scheduler").splitlines():
        if request_id in line and " Weighed [" in line:
            hosts |= set(re.findall(r"host: \(([^,]+), ", line))
    return hosts


def _boot(conn, name, flavor, host):
    body = {"server": {"name": name, "flavorRef": flavor["id"], "imageRef": DEFAULT_IMAGE, "networks": "none"}}
    if host:
        body["server"]["host"] = host
    return _api(conn, "POST", "/servers", body)


def test_snapshot_api_path_equals_nova_db_at_start(conn, nova_db, baseline):
    """With the topology's pinned servers only: both snapshot paths agree with Nova's record."""
    snap = G.gather_snapshot(conn, nova_db=nova_db)
    assert not check_api_path(conn, snap)
    pin = next(h for h in snap["hosts"] if h["name"] == "n-pin")
    # Nova spread the two pinned servers, one per cell: 2 free pCPUs per cell, 4 in placement
    assert [len(c["pinned_cpus"]) for c in pin["numa"]["cells"]] == [2, 2]
    assert pin["resources"]["PCPU"]["free"] == 4
    flat = next(h for h in snap["hosts"] if h["name"] == "n-flat")
    assert flat["numa"] == {"cells": [], "source": "nova_db", "unknown": None}
    pci = next(h for h in snap["hosts"] if h["name"] == "n-pci")
    assert sorted((p["vendor_id"], p["numa_node"], p["count"]) for p in pci["pci_pools"]) == [
        ("10de", 1, 1), ("8086", 0, 1), ("8086", 0, 1)]


def test_numa_state_request_count(conn):
    """One topology request per server with a NUMA flavor (here 2), none for the others."""
    snap = {"hosts": []}
    servers = R.get_paginated(conn.compute, "/servers/detail", "servers", "list", microversion="2.95",
                              params={"all_tenants": "True"})
    hosts = [{"name": h, "nodename": h, "instances": sorted(s["id"] for s in servers
                                                            if s.get("OS-EXT-SRV-ATTR:host") == h)}
             for h in HOSTS]
    snap["hosts"] = hosts
    n = NU.attach_from_api(conn.compute, hosts, servers, numa_capacity.topology_capacity(_TOPO))
    assert n == 2 == len(servers)


@pytest.mark.parametrize("sid, flavor_name, host, nova, part", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_prediction_matches_nova(cloud, conn, nova_db, baseline, sid, flavor_name, host, nova, part):
    t0 = time.time()
    snapshot = G.gather_snapshot(conn, nova_db=nova_db)
    flavor = F.find_flavor(conn, flavor_name)
    request = {"flavor": flavor, "image": {"id": DEFAULT_IMAGE, "properties": {"architecture": "x86_64"}},
               "project_id": conn.current_project_id}
    if host:
        request["host"] = host
    explanation = engine.explain(snapshot, request, scheduler=SCHEDULER, relax=False,
                                 headroom=False)
    record = {"scenario": sid, "engine_part": part, "summary": explanation["summary"],
              "predicted_fits": explanation["fits"], "predicted_valid": explanation["valid_hosts"],
              "unknowns": [u["name"] for u in explanation["unknowns"]],
              "nova_expected": sorted(nova) if nova != NVH else NVH}
    for entry in explanation["hosts"]:
        if any(c["verdict"] in ("unknown", "not_evaluated") for c in entry["checks"].values()):
            assert entry["fits"] is not True, entry

    RESULTS.append(record)
    resp = _boot(conn, "numa-%s" % sid, flavor, host)
    assert resp.status_code == 202, resp.text
    request_id = resp.headers.get("x-openstack-request-id") or resp.headers.get("x-compute-request-id")
    server = _wait(conn, resp.json()["server"]["id"])
    try:
        status, on = server["status"], server.get("OS-EXT-SRV-ATTR:host")
        fault = (server.get("fault") or {}).get("message", "")
        valid = nova_host_set(cloud, request_id)
        record.update(actual_status=status, actual_host=on, fault=fault, nova_valid=sorted(valid))
        # 2. minicloud: Nova did what the scenario is built for (its own filters' host set)
        if nova == NVH:
            assert status == "ERROR" and "No valid host" in fault and not valid, record
        else:
            assert status == "ACTIVE" and on in valid and valid == nova, record
        # 3. the API path of the snapshot, with this server's usage in it
        api_unknown = check_api_path(conn, G.gather_snapshot(conn, nova_db=nova_db))
        record["api_path_unknown"] = api_unknown
        if flavor["extra_specs"].get("hw:emulator_threads_policy") == "isolate" and status == "ACTIVE":
            assert "emulator" in api_unknown.get(on, ""), api_unknown
        else:
            assert not api_unknown, api_unknown
    finally:
        _delete(conn, server["id"])
        _wait_state(cloud, nova_db, baseline)
    record["seconds"] = round(time.time() - t0, 1)
    # 4. the prediction against what Nova did
    if explanation["fits"] is None:
        record["agree"] = None
        pytest.fail("%s: the engine is undecided (%s unknown; needs explain/%s.py): %s"
                    % (sid, ", ".join(record["unknowns"]), part, explanation["summary"]), pytrace=False)
    if status == "ERROR":
        agree = explanation["fits"] is False
    else:
        agree = explanation["fits"] is True and set(explanation["valid_hosts"]) == valid
    record["agree"] = agree
    assert agree, json.dumps(record, indent=1)
