"""End to end: the explain engine's prediction against what Nova really does on minicloud.

For each scenario: gather a fresh snapshot of the running cloud (the collection's own
gatherer), explain the request with the engine, check the engine's placement stage
against real placement (GET /allocation_candidates with the query Nova's request filters
build), then boot the request for real and compare:

- predicted none  -> every server ends in ERROR with "No valid host" (or the API refuses
  the request, for an AZ that does not exist);
- predicted some  -> every server goes ACTIVE on one of the predicted valid hosts.

The servers are deleted after each scenario. Results go to $E2E_REPORT (JSON) when set.
Env: EXPLAIN_E2E_PORT_BASE (default 17100), EXPLAIN_E2E_STATE_DIR (state dir),
EXPLAIN_E2E_KEEP=1 keeps the cloud running afterwards.
"""

import atexit
import json
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "minicloud"))

import yaml  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as F  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as G  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402

pytestmark = pytest.mark.minicloud

TOPOLOGY = os.path.join(HERE, "topologies", "explain.yml")
IMAGE = "76fa36fc-c930-4bf3-8c8a-ea2a2420deb6"  # nova's GlanceFixture image (architecture x86_64)
IMAGE_PROPS = {"architecture": "x86_64"}
COMPUTE_MV = "2.74"
RESULTS = []

# (id, flavor, availability_zone, hints, count). "@name" in hints = that server's uuid,
# "group" = a server group name (the test puts its id).
SCENARIOS = [
    ("tiny-anywhere", "m1.tiny", None, {}, 1),
    ("small-az1", "m1.small", "az1", {}, 1),
    ("huge-az1-no-ram", "m1.huge", "az1", {}, 1),
    ("huge-anywhere-type-affinity", "m1.huge", None, {}, 1),
    ("xlarge-az2-full-or-typed", "m1.xlarge", "az2", {}, 1),
    ("xlarge-az1-only-c1", "m1.xlarge", "az1", {}, 1),
    ("large-az2", "m1.large", "az2", {}, 1),
    ("small-az2-typed-c5", "m1.small", "az2", {}, 1),
    ("tiny-az2-near-full-c4", "m1.tiny", "az2", {}, 1),
    ("tiny-az3-aggregate-num-instances", "m1.tiny", "az3", {}, 1),
    ("wide-vcpu-max-unit", "wide", None, {}, 1),
    ("bigdisk", "bigdisk", None, {}, 1),
    ("ephemeral-swap-az1", "ephswap", "az1", {}, 1),
    ("ssd-extra-spec", "ssd.small", None, {}, 1),
    ("ssd-extra-spec-az2", "ssd.small", "az2", {}, 1),
    ("required-trait", "trait.ssd", None, {}, 1),
    ("forbidden-trait-az1", "no.ssd", "az1", {}, 1),
    ("capabilities-fake", "cap.fake", "az1", {}, 1),
    ("capabilities-kvm", "cap.kvm", None, {}, 1),
    ("capabilities-free-ram", "cap.ram", None, {}, 1),
    ("anti-affinity-member-on-c1", "m1.tiny", "az1", {"group": "anti"}, 1),
    ("affinity-member-on-c2", "m1.tiny", None, {"group": "aff"}, 1),
    ("affinity-but-no-ram", "m1.xlarge", None, {"group": "aff"}, 1),
    ("anti-affinity-count-2-az1", "m1.tiny", "az1", {"group": "anti"}, 2),
    ("anti-affinity-max-2-count-2-az2", "m1.tiny", "az2", {"group": "anti2"}, 2),
    ("count-3-az2", "m1.tiny", "az2", {}, 3),
    ("count-3-small-az2", "m1.small", "az2", {}, 3),
    ("count-2-medium-az1", "m1.medium", "az1", {}, 2),
    ("count-5-large-az1", "m1.large", "az1", {}, 5),
    ("different-host", "m1.tiny", "az1", {"different_host": "@marker"}, 1),
    ("same-host", "m1.tiny", None, {"same_host": "@marker"}, 1),
    ("same-host-no-ram", "m1.xlarge", None, {"same_host": "@marker"}, 1),
    ("json-query-host", "m1.tiny", None, {"query": '["=", "$host", "c5"]'}, 1),
    ("json-query-impossible", "m1.tiny", None, {"query": '[">=", "$free_ram_mb", 1000000]'}, 1),
    ("cidr-far-away", "m1.tiny", None, {"build_near_host_ip": "10.9.9.9", "cidr": "/24"}, 1),
    ("forced-disabled-host", "m1.tiny", "az1:c3", {}, 1),
    ("forced-full-host", "m1.small", "az2:c4", {}, 1),
    ("forced-host-fits", "m1.tiny", "az1:c2", {}, 1),
    ("unknown-az", "m1.tiny", "nowhere", {}, 1),
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
    yield from harness.module_cloud("EXPLAIN_E2E", TOPOLOGY, 17100, os.path.join(".cache", "explain", "e2e"),
                                    timeout=900)


@pytest.fixture(scope="module")
def conn(cloud):
    return cloud.conn()


@pytest.fixture(scope="module")
def scheduler_conf():
    with open(TOPOLOGY) as handle:
        return yaml.safe_load(handle)["scheduler"]


def _api(conn, method, url, body=None, mv=COMPUTE_MV):
    resp = conn.compute.request(url, method, json=body, microversion=mv, raise_exc=False)
    return resp


def _servers(conn):
    resp = _api(conn, "GET", "/servers/detail?all_tenants=1")
    return resp.json()["servers"]


def _uuid_of(conn, name):
    return next(s["id"] for s in _servers(conn) if s["name"] == name)


def _group_id(conn, name):
    resp = _api(conn, "GET", "/os-server-groups?all_projects=1", mv="2.64")
    return next(g["id"] for g in resp.json()["server_groups"] if g["name"] == name)


def _resolve_hints(conn, hints):
    out = {}
    for key, value in hints.items():
        if key == "group":
            out[key] = _group_id(conn, value)
        elif isinstance(value, str) and value.startswith("@"):
            out[key] = _uuid_of(conn, value[1:])
        else:
            out[key] = value
    return out


def _placement_candidates(conn, snapshot, explanation, az, forced):
    """Provider uuids real placement returns for the query Nova's request filters build."""
    req = explanation["request"]
    params = {"resources": ",".join("%s:%d" % kv for kv in sorted(req["resources"].items())),
              "limit": "1000"}
    required = list(req["required_traits"]) + ["!%s" % t for t in req["forbidden_traits"]]
    required.append("!COMPUTE_STATUS_DISABLED")  # compute_status_filter
    params["required"] = ",".join(required)
    if az:
        uuids = [a["uuid"] for a in snapshot["aggregates"]
                 if (a.get("metadata") or {}).get("availability_zone", a.get("availability_zone")) == az]
        if uuids:
            params["member_of"] = "in:" + ",".join(uuids)
    if forced:
        host = next(h for h in snapshot["hosts"] if h["name"] == forced)
        params["in_tree"] = host["provider_uuid"]
    resp = conn.placement.request("/allocation_candidates", "GET", params=params, microversion="1.39",
                                  raise_exc=False)
    assert resp.status_code == 200, resp.text
    return set(resp.json()["provider_summaries"])


def _wait(conn, names, timeout=240):
    deadline = time.time() + timeout
    while True:
        by_name = {s["name"]: s for s in _servers(conn)}
        found = [by_name.get(n) for n in names]
        if all(s is not None and s["status"] in ("ACTIVE", "ERROR") for s in found):
            return found
        if time.time() > deadline:
            building = [(n, (by_name.get(n) or {}).get("status")) for n in names]
            raise AssertionError("servers still building: %s" % building)
        time.sleep(0.5)


def _delete(conn, servers, timeout=240):
    ids = [s["id"] for s in servers if s]
    for sid in ids:
        _api(conn, "DELETE", "/servers/%s" % sid)
    deadline = time.time() + timeout
    while ids:
        ids = [sid for sid in ids if _api(conn, "GET", "/servers/%s" % sid).status_code != 404]
        if time.time() > deadline:
            raise AssertionError("servers not deleted: %s" % ids)
        time.sleep(0.5)


@pytest.mark.parametrize("sid, flavor_name, az, hints, count", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_prediction_matches_nova(conn, scheduler_conf, sid, flavor_name, az, hints, count):
    t0 = time.time()
    hints = _resolve_hints(conn, hints)
    snapshot = G.gather_snapshot(conn)
    flavor = F.find_flavor(conn, flavor_name)
    request = {"flavor": flavor, "image": {"id": IMAGE, "properties": dict(IMAGE_PROPS)},
               "availability_zone": az, "scheduler_hints": hints, "count": count,
               "project_id": conn.current_project_id}
    explanation = engine.explain(snapshot, request, scheduler=scheduler_conf, relax=False, headroom=False)
    record = {"scenario": sid, "summary": explanation["summary"], "predicted_fits": explanation["fits"],
              "predicted_valid": explanation["valid_hosts"],
              "predicted_hosts": [p["host"] for p in explanation["placements"]]}

    # placement oracle: the engine's placement-stage survivors = real allocation candidates
    forced = az.split(":")[1] if az and ":" in az else None
    az_name = az.split(":")[0] if az else None
    az_known = az_name is None or any(
        (a.get("metadata") or {}).get("availability_zone", a.get("availability_zone")) == az_name
        for a in snapshot["aggregates"])
    if az_known:
        real = _placement_candidates(conn, snapshot, explanation, az_name, forced)
        pre_ids = [c["id"] for c in explanation["checks"] if c["stage"] in ("prefilter", "placement")]
        mine = {h["provider_uuid"] for h, e in zip(snapshot["hosts"], explanation["hosts"])
                if all(e["checks"][i]["verdict"] not in ("fail", "error") for i in pre_ids)}
        record["placement_agrees"] = mine == real
        assert mine == real, "placement: engine %s, real %s" % (sorted(mine), sorted(real))

    # boot it for real
    name = "e2e-%s" % sid
    body = {"server": {"name": name, "flavorRef": flavor["id"], "imageRef": IMAGE, "networks": "none"}}
    if count > 1:
        body["server"]["min_count"] = body["server"]["max_count"] = count
    if az:
        body["server"]["availability_zone"] = az
    if hints:
        body["os:scheduler_hints"] = hints
    resp = _api(conn, "POST", "/servers", body)
    if resp.status_code == 400:
        record.update(actual="rejected by the API: %s" % resp.json().get("badRequest", {}).get("message"),
                      agree=not explanation["fits"], seconds=round(time.time() - t0, 1))
        RESULTS.append(record)
        assert not explanation["fits"], (explanation["summary"], resp.text)
        return
    assert resp.status_code == 202, resp.text
    names = [name] if count == 1 else ["%s-%d" % (name, i) for i in range(1, count + 1)]
    servers = _wait(conn, names)
    try:
        statuses = [s["status"] for s in servers]
        hosts = [s.get("OS-EXT-SRV-ATTR:host") for s in servers]
        faults = [(s.get("fault") or {}).get("message", "") for s in servers]
        actual_fits = all(st == "ACTIVE" for st in statuses)
        record.update(actual_status=statuses, actual_hosts=hosts, faults=sorted(set(f for f in faults if f)))
        # fits None (unknown) is never an agreement: none of these scenarios lacks data
        agree = explanation["fits"] is actual_fits
        if actual_fits:
            agree = agree and all(h in explanation["valid_hosts"] for h in hosts)
            record["same_hosts_as_predicted"] = sorted(hosts) == sorted(record["predicted_hosts"])
        elif explanation["failure"] == "nova_compute_error":
            agree = agree and all("instance group policy was violated" in f for f in faults if f)
        else:
            agree = agree and all("No valid host" in f for f in faults)
        record.update(agree=agree, seconds=round(time.time() - t0, 1))
        RESULTS.append(record)
        assert agree, json.dumps(record, indent=1)
    finally:
        _delete(conn, servers)
