"""Oracle: PCI passthrough against Nova's own code, on hypothesis-generated pools and requests.

Three comparisons per case, each with Nova 34 (installed in .venv) as the judge:

1. the engine's PciPassthroughFilter column (``engine.run`` with only that filter enabled, 3
   hosts with random ``pci_pools``) against Nova's ``PciPassthroughFilter.host_passes`` on a
   real ``HostState`` whose ``pci_stats`` is a ``PciDeviceStats`` of the same pools, and a
   ``RequestSpec`` whose ``pci_requests`` come from Nova's ``get_pci_requests_from_flavor``
   with ``[pci] alias`` set to the same JSON strings (Nova raising while building the
   requests = verdict ``error``);
2. ``pci.support_requests`` with guest NUMA cells and host cells with sockets (every
   ``numa_policy``) against ``PciDeviceStats.support_requests(numa_cells=...)``;
3. consumption: the requests applied k times (k instances of one request on one host,
   ``HostState.consume_from_request``) then checked again, against ``apply_requests``.

Counts go to $ORACLE_REPORT_PCI (JSON) when set.
"""

import atexit
import json
import os
import sys
import types

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))

import nova_oracle as O  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import pci  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import Cloud  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "300"))
COUNTS = {"cases": 0, "filter_host_verdicts": 0, "numa_verdicts": 0, "consume_verdicts": 0, "pass": 0, "fail": 0,
          "error": 0, "disagreements": 0, "policies": {}}


def _report():
    path = os.environ.get("ORACLE_REPORT_PCI")
    if path and COUNTS["cases"]:
        with open(path, "w") as handle:
            json.dump(COUNTS, handle, indent=1, sort_keys=True)


atexit.register(_report)

VENDORS = ("8086", "8086", "8086", "15b3")  # weighted so that aliases and pools often meet
PRODUCTS = ("154d", "154d", "154d", "10ED")
DEV_TYPES = ("type-PCI", "type-PCI", "type-VF", "type-VF", "type-PF", "vdpa")
TAG_VALUES = {"physical_network": (None, "physnet1", "physnet2"), "trusted": (None, "true", "false"),
              "remote_managed": (None, None, None, None, None, "true", "false", "True"), "live_migratable": (None, None, "true", "false")}


@st.composite
def pools(draw):
    result = []
    for _index in range(draw(st.integers(0, 7))):
        tags = {}
        for key, values in TAG_VALUES.items():
            value = draw(st.sampled_from(values))
            if value is not None:
                tags[key] = value
        result.append({"vendor_id": draw(st.sampled_from(VENDORS)), "product_id": draw(st.sampled_from(PRODUCTS)),
                       "numa_node": draw(st.sampled_from((None, 0, 1, 2))), "count": draw(st.integers(0, 6)),
                       "dev_type": draw(st.sampled_from(DEV_TYPES)), "tags": tags})
    return result


def _rarely(draw, good, bad, one_in=25):
    """``good`` drawn, or (1 in ``one_in``) one of the ``bad`` values Nova refuses.

    The odds come from a Random seeded by hypothesis: hypothesis' own draws favour the
    bounds, which would make "rare" mistakes the common case.
    """
    rnd = draw(st.randoms(use_true_random=True))
    if rnd.random() < 0.5 / one_in:  # half the nominal odds: most cases should reach the pools
        return rnd.choice(bad)
    return rnd.choice(good)


@st.composite
def alias_defs(draw):
    """[pci] alias JSON strings: mostly valid, sometimes what Nova refuses."""
    result = []
    names = ["a1", "a2"] + ([_rarely(draw, ("a3",), ("a1", " a2"), 8)] if draw(st.booleans()) else [])
    for name in names:
        spec = {"name": name}
        if _rarely(draw, (True,), (False,), 40):
            spec["vendor_id"] = _rarely(draw, VENDORS, ("80861",), 60)
        if _rarely(draw, (True,), (False,), 40):
            spec["product_id"] = draw(st.sampled_from(PRODUCTS))
        dev_type = _rarely(draw, (None, "type-PCI", "type-PF", "type-VF", "type-VF"), ("vdpa",), 60)
        if dev_type:
            spec["device_type"] = dev_type
        policy = _rarely(draw, (None, None, "required", "legacy", "preferred", "socket"), ("strict",), 60)
        if policy:
            spec["numa_policy"] = policy
        live = _rarely(draw, (None,) * 8 + ("true", "false", "yes"), ("maybe",), 60)
        if live:
            spec["live_migratable"] = live
        if not _rarely(draw, (True,), (False,), 80):
            spec["capability_type"] = "pci"
        if not _rarely(draw, (True,), (False,), 80):
            spec["physical_network"] = "physnet1"
        result.append(json.dumps(spec))
    return result


@st.composite
def flavor_specs(draw):
    specs = {}
    parts = []
    for _index in range(draw(st.sampled_from((1, 1, 1, 2, 2, 3)))):
        name = _rarely(draw, ("a1", "a2", "a1", "a2", " a2"), ("a9", "a3"), 20)
        parts.append("%s:%d" % (name, draw(st.sampled_from((1, 1, 1, 2, 2, 3, 0)))))
    specs["pci_passthrough:alias"] = ",".join(parts)
    policy = _rarely(draw, (None, None, "required", "legacy", "preferred", "socket"), ("bogus",), 40)
    if policy:
        specs["hw:pci_numa_affinity_policy"] = policy
    return specs


@st.composite
def cases(draw):
    hosts = []
    for name in ("h1", "h2", "h3"):
        host = {"name": name, "nodename": name}
        if draw(st.integers(0, 9)):
            host["pci_pools"] = draw(pools())
        hosts.append(host)
    specs = draw(flavor_specs())
    image_policy = _rarely(draw, (None, None, None, "same"), ("required", "preferred", "legacy"), 10)
    if image_policy == "same":
        image_policy = specs.get("hw:pci_numa_affinity_policy")
        if image_policy not in pci.POLICIES:  # Glance properties are typed: ImageMeta refuses it
            image_policy = None
    props = {"hw_pci_numa_affinity_policy": image_policy} if image_policy else {}
    guest_cells = draw(st.lists(st.sampled_from((0, 1, 2)), min_size=1, max_size=2, unique=True))
    sockets = draw(st.sampled_from(((0, 0, 1), (0, 1, 1), (0, 1, 2), (0, None, 1))))
    return {"hosts": hosts, "aliases": draw(alias_defs()), "specs": specs, "props": props,
            "guest_cells": guest_cells, "sockets": sockets, "repeat": draw(st.integers(1, 3))}


# ------------------------------------------------------------------ Nova's side

def _nova_pool_list(pools_):
    objects = O.nova()["objects"]
    result = []
    for pool in pools_:
        tags = {k: v for k, v in (pool.get("tags") or {}).items() if v is not None}
        tags["dev_type"] = pool["dev_type"]
        result.append(objects.PciDevicePool(vendor_id=pool["vendor_id"], product_id=pool["product_id"],
                                            numa_node=pool["numa_node"], count=pool["count"], tags=tags))
    return objects.PciDevicePoolList(objects=result)


def _nova_stats(pools_, host_numa=None):
    from nova.pci import stats as nova_stats
    from nova.pci import whitelist
    return nova_stats.PciDeviceStats(host_numa, stats=_nova_pool_list(pools_), dev_filter=whitelist.Whitelist([]))


def _nova_requests(case):
    """Nova's InstancePCIRequests for the case, or the exception name."""
    from nova.pci import request as pci_request
    from nova.virt import hardware
    n = O.nova()
    n["conf"].set_override("alias", case["aliases"], group="pci")
    pci_request.get_alias_from_config.cache_clear()
    objects = n["objects"]
    flavor = objects.Flavor(name="f", flavorid="f1", vcpus=1, memory_mb=512, root_gb=1, ephemeral_gb=0, swap=0,
                            extra_specs=dict(case["specs"]))
    image = objects.ImageMeta.from_dict({"properties": dict(case["props"])})
    try:
        policy = hardware.get_pci_numa_policy_constraint(flavor, image)
        return pci_request.get_pci_requests_from_flavor(flavor, affinity_policy=policy)
    except Exception as exc:  # noqa: BLE001 - Nova refusing is a verdict too
        return "error:%s" % type(exc).__name__


def _nova_filter(pools_, requests):
    n = O.nova()
    objects = n["objects"]
    hs = n["host_manager"].HostState("h", "h", "cell1")
    hs.pci_stats = _nova_stats(pools_)
    hs.allocation_candidates = [{"mappings": {}}]
    spec = objects.RequestSpec(pci_requests=requests)
    return "pass" if n["classes"]["PciPassthroughFilter"]().host_passes(hs, spec) else "fail"


def _host_numa(sockets):
    return types.SimpleNamespace(cells=[types.SimpleNamespace(id=i, socket=s) for i, s in enumerate(sockets)])


def _guest_cells(ids):
    objects = O.nova()["objects"]
    return [objects.InstanceNUMACell(id=i) for i in ids]


# ------------------------------------------------------------------ the engine's side

def _engine_column(case):
    snap = {"snapshot_version": 1, "hosts": case["hosts"]}
    conf = normalize_scheduler({"enabled_filters": ["PciPassthroughFilter"], "pci_alias": case["aliases"]})
    cloud = Cloud(snap)
    req = normalize_request({"flavor": {"name": "f", "vcpus": 1, "ram": 512, "disk": 1,
                                        "extra_specs": dict(case["specs"])},
                             "image": {"properties": dict(case["props"])}}, snap)
    result = engine.run(cloud, conf, req)
    index = [c.name for c in result["checks"]].index("PciPassthroughFilter")
    return [result["matrix"][h.index][index] for h in cloud.hosts]


def _engine_requests(case):
    try:
        aliases = pci.parse_aliases(case["aliases"])
        return pci.requests_from_flavor(case["specs"], case["props"], aliases)
    except pci.PciAliasError:
        return None


def _fail(what, case, mine, theirs, extra=""):
    COUNTS["disagreements"] += 1
    raise AssertionError("%s: engine says %s, Nova says %s %s\ncase=%s"
                         % (what, mine, theirs, extra, json.dumps(case, indent=1)))


@pytest.fixture(scope="module", autouse=True)
def _nova():
    pytest.importorskip("nova")
    O.nova()
    yield
    O.nova()["conf"].clear_override("alias", group="pci")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(cases())
def test_pci_agrees_with_nova(case):
    COUNTS["cases"] += 1
    theirs_reqs = _nova_requests(case)
    mine_reqs = _engine_requests(case)
    column = _engine_column(case)
    if isinstance(theirs_reqs, str):
        for cell in column:
            COUNTS["filter_host_verdicts"] += 1
            COUNTS["error"] += 1
            if cell["verdict"] != "error":
                _fail("request building", case, cell, theirs_reqs)
        assert mine_reqs is None
        return
    assert mine_reqs is not None
    for mine, theirs in zip(mine_reqs, theirs_reqs.requests):
        assert (mine["count"], mine["numa_policy"], mine["spec"]) == (theirs.count, theirs.numa_policy, theirs.spec)
        COUNTS["policies"][mine["numa_policy"]] = COUNTS["policies"].get(mine["numa_policy"], 0) + 1
    for host, cell in zip(case["hosts"], column):
        COUNTS["filter_host_verdicts"] += 1
        if "pci_pools" not in host:
            if cell["verdict"] != "unknown":
                _fail("host without pools", case, cell, "unknown expected")
            COUNTS["unknown"] = COUNTS.get("unknown", 0) + 1
            continue
        verdict = _nova_filter(host["pci_pools"], theirs_reqs)
        COUNTS[verdict] += 1
        if cell["verdict"] != verdict:
            _fail("PciPassthroughFilter on %s" % host["name"], case, cell, verdict)
        # NUMA affinity with guest cells, and consumption by earlier instances
        host_numa = _host_numa(case["sockets"])
        cells = [{"id": c.id, "socket": c.socket} for c in host_numa.cells]
        stats = _nova_stats(host["pci_pools"], host_numa)
        theirs_numa = stats.support_requests(theirs_reqs.requests, provider_mapping={},
                                             numa_cells=_guest_cells(case["guest_cells"]))
        mine_numa, steps = pci.support_requests(host["pci_pools"], mine_reqs, numa_cells=case["guest_cells"],
                                                host_cells=cells)
        COUNTS["numa_verdicts"] += 1
        outcome = "numa_pass" if theirs_numa else "numa_fail"
        COUNTS[outcome] = COUNTS.get(outcome, 0) + 1
        if mine_numa != theirs_numa:
            _fail("support_requests(numa_cells=%s)" % case["guest_cells"], case, (mine_numa, steps), theirs_numa)
        from nova import exception
        work = pci.nova_pools(host["pci_pools"])
        stats = _nova_stats(host["pci_pools"])
        for _instance in range(case["repeat"]):
            mine_ok, _s = pci.apply_requests(work, mine_reqs)
            try:
                stats.apply_requests(theirs_reqs.requests, provider_mapping={})
                theirs_ok = True
            except exception.PciDeviceRequestFailed:
                theirs_ok = False
            COUNTS["consume_verdicts"] += 1
            if mine_ok != theirs_ok:
                _fail("apply_requests x%d" % case["repeat"], case, mine_ok, theirs_ok)
            if not mine_ok:
                break
            left_mine = sorted(json.dumps(p, sort_keys=True) for p in work)
            left_theirs = sorted(json.dumps({k: v for k, v in p.items() if k != "devices"}, sort_keys=True)
                                 for p in stats.pools)
            if left_mine != left_theirs:
                _fail("pools after consumption", case, left_mine, left_theirs)


def test_the_generator_saw_every_outcome():
    if not COUNTS["cases"]:
        pytest.skip("run with the oracle test")
    assert COUNTS["pass"] and COUNTS["fail"] and COUNTS["error"], COUNTS
    assert set(COUNTS["policies"]) >= set(pci.POLICIES), COUNTS["policies"]


# ------------------------------------------------------------------ MetricsFilter

METRIC_NAMES = ("cpu.frequency", "cpu.percent", "cpu.user.percent", "numa.membw.max")


@st.composite
def metrics_cases(draw):
    setting = draw(st.lists(st.sampled_from(["cpu.frequency=1.0", "cpu.percent=-1", "cpu.user.percent=x",
                                             "numa.membw.max", "numa.membw.max=2", "=2", "cpu.frequency=0"]), max_size=4))
    hosts = [draw(st.lists(st.sampled_from(METRIC_NAMES), unique=True, max_size=4)) for _host in range(3)]
    return setting, hosts


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(metrics_cases())
def test_metrics_filter_agrees_with_nova(case):
    setting, metric_lists = case
    n = O.nova()
    objects = n["objects"]
    n["conf"].set_override("weight_setting", setting, group="metrics")
    try:
        nova_filter = n["classes"]["MetricsFilter"]()
    finally:
        n["conf"].clear_override("weight_setting", group="metrics")
    snap = {"snapshot_version": 1, "hosts": [
        {"name": "h%d" % i, "nodename": "h%d" % i, "metrics": [{"name": m, "value": 1.0} for m in names]}
        for i, names in enumerate(metric_lists)]}
    conf = normalize_scheduler({"enabled_filters": ["MetricsFilter"], "metrics_weight_setting": setting})
    cloud = Cloud(snap)
    req = normalize_request({"flavor": {"name": "f", "vcpus": 1, "ram": 512, "disk": 1}}, snap)
    result = engine.run(cloud, conf, req)
    index = [c.name for c in result["checks"]].index("MetricsFilter")
    for host, names in zip(cloud.hosts, metric_lists):
        hs = n["host_manager"].HostState(host.name, host.name, "cell1")
        hs.metrics = objects.MonitorMetricList(objects=[
            objects.MonitorMetric(name=m, value=1, source="test") for m in names])
        theirs = "pass" if nova_filter.host_passes(hs, objects.RequestSpec()) else "fail"
        COUNTS.setdefault("metrics", {"pass": 0, "fail": 0})[theirs] += 1
        mine = result["matrix"][host.index][index]
        if mine["verdict"] != theirs:
            _fail("MetricsFilter", {"setting": setting, "metrics": names}, mine, theirs)
