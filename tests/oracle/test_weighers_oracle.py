"""Oracle: the engine's weighing against Nova's own weighers (nova.scheduler.weights.all_weighers).

Random snapshots (the filter oracle's generator, plus aggregate *_weight_multiplier
overrides and random failed_builds) and random multipliers; the engine's total weight of
every host must equal Nova's HostWeightHandler result on real HostState / RequestSpec
objects (to 1e-9), and so must the ranking.
"""

import atexit
import json
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))

import nova_oracle as O  # noqa: E402
import test_filters_oracle as T  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import weighers as W  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import normalize_scheduler  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import Cloud  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "300"))
MULTIPLIERS = ("ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier",
               "io_ops_weight_multiplier", "soft_affinity_weight_multiplier",
               "soft_anti_affinity_weight_multiplier", "build_failure_weight_multiplier",
               "num_instances_weight_multiplier", "hypervisor_version_weight_multiplier")
COUNTS = {"cases": 0, "host_weights": 0, "disagreements": 0}


def _report():
    path = os.environ.get("ORACLE_REPORT_WEIGHERS")
    if path and COUNTS["cases"]:
        with open(path, "w") as handle:
            json.dump(COUNTS, handle)


atexit.register(_report)


@st.composite
def weigh_cases(draw):
    snap = draw(T.snapshots())
    for agg in snap["aggregates"]:
        if draw(st.booleans()):
            agg["metadata"][draw(st.sampled_from(MULTIPLIERS))] = draw(st.sampled_from(["2.0", "-1.0", "0", "abc"]))
    for host in snap["hosts"]:
        host["failed_builds"] = draw(st.integers(0, 3))
    request = draw(T.requests(snap))
    request["flavor"]["extra_specs"] = {}
    weights = draw(st.fixed_dictionaries({}, optional={
        m: st.sampled_from([0.0, 0.5, 1.0, 3.0] if m.startswith("soft") else [-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
        for m in MULTIPLIERS}))
    return snap, request, weights


@pytest.fixture(scope="module", autouse=True)
def _nova():
    pytest.importorskip("nova")
    yield O.nova()
    # the next oracle in the same process weighs with Nova's defaults
    for m in MULTIPLIERS:
        O.nova()["conf"].clear_override(m, group="filter_scheduler")


def nova_weights(snap, request, weights):
    n = O.nova()
    conf = n["conf"]
    for m in MULTIPLIERS:
        conf.clear_override(m, group="filter_scheduler")
    for key, value in weights.items():
        conf.set_override(key, value, group="filter_scheduler")
    O.set_conf({})
    from nova.scheduler import weights as nova_weights_mod
    by_id = {a["id"]: a for a in snap["aggregates"]}
    states = [O.host_state(raw, by_id) for raw in snap["hosts"]]
    for hs, raw in zip(states, snap["hosts"]):
        hs.metrics = None
    spec = O.request_spec(request, snap)
    handler = nova_weights_mod.HostWeightHandler()
    weighers = [cls() for cls in nova_weights_mod.all_weighers()]
    result = handler.get_weighed_objects(weighers, states, spec)
    return {w.obj.host: w.weight for w in result}, [w.obj.host for w in result]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(weigh_cases())
def test_weights_agree_with_nova(case):
    snap, request, weights = case
    cloud = Cloud(snap)
    conf = normalize_scheduler({"weights": weights})
    req = normalize_request(request, snap)
    ctx = engine.Context(cloud, conf, req)
    mine = {h.name: w for w, h, _d in W.weigh(cloud.hosts, ctx)}
    theirs, order = nova_weights(snap, request, weights)
    COUNTS["cases"] += 1
    for host, weight in theirs.items():
        COUNTS["host_weights"] += 1
        if abs(mine[host] - weight) > 1e-9:
            COUNTS["disagreements"] += 1
            raise AssertionError("host %s: engine weight %r, Nova %r (weights=%s)\nmine=%s\nnova=%s" % (
                host, mine[host], weight, weights, mine, theirs))
