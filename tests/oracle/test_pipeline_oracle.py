"""Oracle: the whole scheduling pipeline of the explain engine against Nova's own code.

The per-filter oracles compare one column at a time; this one compares what the engine
concludes: per host "fits the first instance", the valid-host set, fits / does not fit, how
many instances of a multi-create are placed, the headroom ("N more fit") and every verified
relaxation.

hypothesis builds a TRUE cloud (4 hosts with random inventories, reservations, allocation
ratios, max_unit / step_size, usage, traits, service states, aggregates with AZs and
metadata, a server group with members, instances) and a request (flavor with extra specs,
image with properties, hints, count 1-4, an AZ, a forced ``az:host`` or a 2.74 requested
host, a project) and a scheduler configuration (a random subset of the placement-free host
filters, the prefilter options). The engine sees that cloud with some data HIDDEN (traits,
usage, service, instances, provider aggregates, cpu_info set to None = not gathered); Nova
sees the truth. So every definite verdict of the engine must equal Nova's, and where the
engine lacks data it must say unknown (counted, never a disagreement).

Nova's side is Nova's code: the API's ``_validate_host_availability_zone`` for ``az:host``,
``request_filter.process_reqspec`` (every request filter; only the aggregate and
service-version DB queries answer from the snapshot), ``utils.resources_from_request_spec``
(the placement query), the placement query semantics restated (capacity, min/max_unit,
step_size, required / forbidden / root traits, member_of, in_tree), real ``HostState``s,
``HostManager.get_filtered_hosts`` with Nova's filter classes and ``get_weighed_hosts`` with
``all_weighers``, the ``SchedulerManager._schedule`` loop (claim against placement usage,
``_consume_selected_host``), nova-compute's ``_validate_instance_group_policy`` restated.
Counts go to $ORACLE_REPORT_PIPELINE (JSON) when set.
"""

import atexit
import copy
import json
import os
import sys
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))

import nova_oracle as O  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError  # noqa: E402

EXAMPLES = int(os.environ.get("ORACLE_PIPELINE_EXAMPLES", os.environ.get("ORACLE_EXAMPLES", "300")))
HEADROOM_CAP = 60
COUNTS = {"cases": 0, "engine_refused": 0, "nova_api_refused": 0, "host_verdicts": 0, "host_pass": 0,
          "host_fail": 0, "host_unknown": 0, "fits": 0, "does_not_fit": 0, "fit_unknown": 0,
          "placed_compared": 0, "order_dependent": 0, "headroom_compared": 0, "headroom_unknown": 0,
          "relaxations_verified": 0, "disagreements": 0, "classes": {}}

HOSTS = ("h1", "h2", "h3", "h4")
MEMBERS = ("m1", "m2", "m3", "m4", "m5")
TRAITS = ("CUSTOM_GOLD", "HW_CPU_X86_AVX2", "COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW",
          "HW_ARCH_X86_64", "COMPUTE_STORAGE_BUS_VIRTIO")
FILTERS = ("ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
           "ServerGroupAffinityFilter", "AggregateInstanceExtraSpecsFilter", "AggregateMultiTenancyIsolation",
           "NumInstancesFilter", "AggregateNumInstancesFilter", "IoOpsFilter", "DifferentHostFilter",
           "SameHostFilter", "AggregateTypeAffinityFilter")
SCHED_OPTS = {"limit_tenants_to_placement_aggregate": "scheduler",
              "placement_aggregate_required_for_tenants": "scheduler",
              "enable_isolated_aggregate_filtering": "scheduler", "image_metadata_prefilter": "scheduler",
              "query_placement_for_image_type_support": "scheduler", "max_attempts": "scheduler",
              "disable_group_policy_check_upcall": "workarounds"}
# set by other oracles of the same process (the weighers oracle): back to Nova's defaults here, the
# engine's side weighs with the defaults too
SCHED_OPTS.update({key: "filter_scheduler" for key in (
    "ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier", "io_ops_weight_multiplier",
    "soft_affinity_weight_multiplier", "soft_anti_affinity_weight_multiplier", "build_failure_weight_multiplier",
    "num_instances_weight_multiplier", "hypervisor_version_weight_multiplier", "cross_cell_move_weight_multiplier",
    "pci_weight_multiplier", "image_props_weight_multiplier", "host_subset_size",
    "shuffle_best_same_weighed_hosts")})


def _report():
    path = os.environ.get("ORACLE_REPORT_PIPELINE")
    if path and COUNTS["cases"]:
        with open(path, "w") as handle:
            json.dump(COUNTS, handle, indent=1, sort_keys=True)


atexit.register(_report)


# ------------------------------------------------------------------ strategies

@st.composite
def resource(draw, totals, ratios, reserved, step=(1,)):
    total = draw(st.sampled_from(totals))
    res = draw(st.sampled_from(reserved))
    ratio = draw(st.sampled_from(ratios))
    cap = int((total - res) * ratio)
    used = draw(st.one_of(st.integers(0, max(cap // 3, 0)), st.integers(0, max(cap, 0))))
    return {"total": total, "reserved": res, "allocation_ratio": ratio, "used": used, "min_unit": 1,
            "max_unit": draw(st.sampled_from([total, max(1, total // 2)])), "step_size": draw(st.sampled_from(step))}


@st.composite
def clouds(draw):
    aggs = []
    for i in range(draw(st.integers(0, 4))):  # noqa: B007
        members = draw(st.lists(st.sampled_from(HOSTS), unique=True, max_size=3))
        md = draw(st.dictionaries(st.sampled_from(["ssd", "filter_tenant_id", "max_instances_per_host",
                                                   "instance_type", "trait:CUSTOM_GOLD"]),
                                  st.sampled_from(["true", "p1", "2", "m1.small", "required"]), max_size=2))
        if md.get("trait:CUSTOM_GOLD"):
            md["trait:CUSTOM_GOLD"] = "required"
        if "max_instances_per_host" in md:
            md["max_instances_per_host"] = draw(st.sampled_from(["1", "2", "5"]))
        aggs.append({"id": i + 1, "uuid": "agg-%d" % (i + 1), "name": "agg%d" % (i + 1), "hosts": members,
                     "availability_zone": None, "metadata": md})
    # at most one AZ per host (Nova's API refuses a host in two AZs)
    zoned = set()
    for agg in aggs:
        zone = draw(st.sampled_from([None, "az1", "az2", "az1"]))
        if zone and not zoned.intersection(agg["hosts"]):
            agg["availability_zone"] = zone
            agg["metadata"]["availability_zone"] = zone
            zoned.update(agg["hosts"])
    free = list(MEMBERS)
    hosts = []
    for name in HOSTS:
        members = draw(st.lists(st.sampled_from(free), unique=True, max_size=2)) if free else []
        free = [m for m in free if m not in members]
        others = ["x-%s-%d" % (name, k) for k in range(draw(st.integers(0, 6)))]
        status = draw(st.sampled_from(["enabled"] * 7 + ["disabled"]))
        traits = draw(st.lists(st.sampled_from(TRAITS), unique=True, max_size=4))
        for common in ("COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW", "HW_ARCH_X86_64"):
            if common not in traits and draw(st.integers(0, 3)):
                traits.append(common)
        if status == "disabled":
            traits.append("COMPUTE_STATUS_DISABLED")
        hosts.append({
            "name": name, "nodename": name, "provider_uuid": "rp-" + name, "hypervisor_type": "QEMU",
            "hypervisor_version": 8002000, "host_ip": "10.0.0.%d" % (HOSTS.index(name) + 1),
            "service": {"status": status, "state": draw(st.sampled_from(["up"] * 7 + ["down"])),
                        "forced_down": False, "disabled_reason": None},
            "aggregates": [a["id"] for a in aggs if name in a["hosts"]],
            "provider_aggregates": [a["uuid"] for a in aggs if name in a["hosts"]],
            "resources": {
                "VCPU": draw(resource((4, 8, 16), (1.0, 2.0, 4.0), (0, 1), step=(1, 1, 2))),
                "MEMORY_MB": draw(resource((4096, 8192, 16384), (1.0, 1.5), (0, 512))),
                "DISK_GB": draw(resource((20, 100, 200), (1.0, 2.0), (0, 10)))},
            "traits": traits, "instances": members + others, "num_instances": len(members) + len(others),
            "num_io_ops": draw(st.integers(0, 3)),
            "cpu_info": {"arch": "x86_64", "vendor": "Intel"},
            "stats": {},
            "supported_instances": [["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]],
        })
    groups = []
    if draw(st.booleans()):
        groups.append({"id": "g1", "name": "grp", "project_id": "p1",
                       "policy": draw(st.sampled_from(["affinity", "anti-affinity", "soft-affinity",
                                                       "soft-anti-affinity"])),
                       "rules": draw(st.sampled_from([{}, {"max_server_per_host": 2}])),
                       "members": draw(st.lists(st.sampled_from(MEMBERS), unique=True, max_size=4))})
    return {"snapshot_version": 1, "hosts": hosts, "aggregates": aggs, "server_groups": groups,
            "availability_zones": [], "scheduler": None, "source": {}}


@st.composite
def hidden(draw, cloud):
    """The engine's snapshot: the truth with some host data not gathered (None)."""
    snap = copy.deepcopy(cloud)
    for host in snap["hosts"]:
        for key in ("traits", "service", "instances", "provider_aggregates", "cpu_info", "num_io_ops"):
            if draw(st.integers(0, 11)) == 0:
                host[key] = None
                if key == "instances":
                    host["num_instances"] = None
        if draw(st.integers(0, 15)) == 0:
            rc = draw(st.sampled_from(sorted(host["resources"])))
            host["resources"][rc]["used"] = None
    return snap


@st.composite
def requests(draw, cloud):
    specs = {}
    for key, values in (("trait:CUSTOM_GOLD", ("required", "forbidden")), ("trait:HW_CPU_X86_AVX2", ("required",)),
                        ("aggregate_instance_extra_specs:ssd", ("true",)), ("resources:VCPU", ("1", "3")),
                        ("capabilities:hypervisor_type", ("QEMU", "kvm")), ("resources:DISK_GB", ("0",))):
        if draw(st.integers(0, 9)) == 0:
            specs[key] = draw(st.sampled_from(values))
    props = draw(st.fixed_dictionaries({}, optional={
        "hw_architecture": st.sampled_from(["x86_64", "aarch64"]),
        "hw_disk_bus": st.sampled_from(["virtio", "scsi"]),
        "trait:CUSTOM_GOLD": st.just("required")}))
    hints = draw(st.fixed_dictionaries({}, optional={
        "different_host": st.lists(st.sampled_from(MEMBERS), max_size=2, unique=True),
        "same_host": st.lists(st.sampled_from(MEMBERS), max_size=1, unique=True)}))
    if cloud["server_groups"] and draw(st.integers(0, 2)):
        hints["group"] = "g1"
    request = {
        "flavor": {"name": draw(st.sampled_from(["m1.small", "m1.big"])), "vcpus": draw(st.sampled_from([1, 2, 4])),
                   "ram": draw(st.sampled_from([512, 1024, 2048, 4096])), "disk": draw(st.sampled_from([1, 5, 10, 40])),
                   "ephemeral": draw(st.sampled_from([0, 0, 5])), "swap": draw(st.sampled_from([0, 0, 512])),
                   "extra_specs": specs},
        "image": {"id": "img-a", "disk_format": draw(st.sampled_from(["qcow2", "raw"])), "properties": props},
        "scheduler_hints": hints,
        "project_id": draw(st.sampled_from(["p1", "p2"])),
        "count": draw(st.sampled_from([1, 1, 2, 3, 4])),
    }
    where = draw(st.sampled_from([None] * 6 + ["az1", "az2", "nova", "az1:h2", "nova:h3", ":h1", "host", "az1", "az9"]))
    if where == "host":
        request["host"] = draw(st.sampled_from(HOSTS))
    elif where:
        request["availability_zone"] = where
    return request


@st.composite
def configs(draw):
    filters = draw(st.lists(st.sampled_from(FILTERS), unique=True, min_size=0, max_size=8))
    conf = {"enabled_filters": filters,
            "max_instances_per_host": draw(st.sampled_from([3, 8, 50])),
            "max_io_ops_per_host": draw(st.sampled_from([2, 8]))}
    for key in ("limit_tenants_to_placement_aggregate", "placement_aggregate_required_for_tenants",
                "enable_isolated_aggregate_filtering", "image_metadata_prefilter",
                "query_placement_for_image_type_support", "disable_group_policy_check_upcall"):
        conf[key] = draw(st.integers(0, 3 if key != "placement_aggregate_required_for_tenants" else 9)) == 0
    conf["max_attempts"] = draw(st.sampled_from([1, 3]))
    return conf


@st.composite
def cases(draw):
    cloud = draw(clouds())
    return cloud, draw(hidden(cloud)), draw(requests(cloud)), draw(configs())


# ------------------------------------------------------------------ Nova's side

class NoFit(Exception):
    """The request never reaches the scheduler, or placement returns nothing usable."""


class _Node:
    def __init__(self, raw):
        self.host = raw["name"]
        self.hypervisor_hostname = raw.get("nodename") or raw["name"]
        self.uuid = raw["provider_uuid"]


class _HostManagerLookup:
    def __init__(self, cloud):
        self.cloud = cloud

    def get_compute_nodes_by_host_or_node(self, ctxt, host, node, cell=None):
        return [_Node(h) for h in self.cloud["hosts"]
                if (host is None or h["name"] == host) and (node is None or (h.get("nodename") or h["name"]) == node)]


def _agg_objects(cloud):
    objects = O.nova()["objects"]
    out = []
    for agg in cloud["aggregates"]:
        out.append(objects.Aggregate(id=agg["id"], uuid=agg["uuid"], name=agg["name"], hosts=list(agg["hosts"]),
                                     metadata=dict(agg["metadata"])))
    return out


def _set_conf(conf):
    n = O.nova()
    c = n["conf"]
    for key, group in SCHED_OPTS.items():
        c.clear_override(key, group=group)
        if key in conf:
            c.set_override(key, conf[key], group=group)
    O.set_conf(conf)


def _validate_host_az(cloud, az, host):
    """nova.api.openstack.compute.servers.ServersController._validate_host_availability_zone."""
    from nova.api.openstack.compute import servers
    aggs = [a for a in _agg_objects(cloud) if host in a.hosts]
    with mock.patch.object(servers.objects.AggregateList, "get_by_host", lambda ctxt, host: aggs):
        return servers.ServersController._validate_host_availability_zone(None, az, host)


def _az_exists(cloud, az):
    """Nova's API accepts an AZ some compute is in (a host outside AZ aggregates is in the default one)."""
    zones = set()
    for raw in cloud["hosts"]:
        zone = next((a["availability_zone"] for a in cloud["aggregates"]
                     if raw["name"] in a["hosts"] and a["availability_zone"]), None)
        zones.add(zone or "nova")
    return az in zones


def nova_spec(cloud, request, num_instances=None):
    """A RequestSpec as the API and conductor build it, after the request filters; raises NoFit."""
    n = O.nova()
    objects = n["objects"]
    spec = O.request_spec(request, cloud)
    spec.num_instances = num_instances or request.get("count", 1)
    spec.is_bfv = False
    spec.pci_requests = objects.InstancePCIRequests(requests=[])
    spec.numa_topology = None
    spec.request_level_params = objects.RequestLevelParams()
    spec.requested_resources = []
    spec.ignore_hosts = None
    spec.force_hosts = None
    spec.force_nodes = None
    spec.requested_destination = None
    spec.image = objects.ImageMeta.from_dict({"id": "img-a", "disk_format": request["image"]["disk_format"],
                                              "properties": dict(request["image"]["properties"])})
    where = request.get("availability_zone")
    az = None
    if where:
        parts = where.split(":")
        az = parts[0] or None
        host = parts[1] if len(parts) > 1 and parts[1] else None
        if host:
            az = _validate_host_az(cloud, az, host)
            spec.force_hosts = [host]
    if az and not _az_exists(cloud, az):
        raise NoFit("AZ %s does not exist (API 400)" % az)
    spec.availability_zone = az
    if request.get("host"):
        spec.requested_destination = objects.Destination(host=request["host"])
    from nova.scheduler import request_filter as nrf
    aggs = _agg_objects(cloud)

    def by_metadata(ctxt, key=None, value=None):
        return [a for a in aggs if any((key is None or k == key) and (value is None or v == value)
                                       for k, v in a.metadata.items())]

    def non_matching(ctxt, keys, key_prefix, value):
        return [a for a in aggs if any(k.startswith(key_prefix) and k not in keys and v == value
                                       for k, v in a.metadata.items())]
    with mock.patch.object(nrf.objects.AggregateList, "get_by_metadata", by_metadata), \
            mock.patch.object(nrf.objects.aggregate.AggregateList, "get_non_matching_by_metadata_keys", non_matching), \
            mock.patch.object(nrf.objects.service, "get_minimum_version_all_cells", lambda ctxt, binaries: 0):
        try:
            nrf.process_reqspec(None, spec)
        except n_exc().RequestFilterFailed as exc:
            raise NoFit("request filter: %s" % exc) from None
    return spec


def n_exc():
    from nova import exception
    return exception


def placement_query(cloud, spec):
    """(resources, required, forbidden, root_required, root_forbidden, member_of, forbidden_aggs, in_tree)."""
    from nova.scheduler import utils as nutils
    try:
        rr = nutils.resources_from_request_spec(None, spec, _HostManagerLookup(cloud))
    except n_exc().NoValidHost as exc:
        raise NoFit(str(exc)) from None
    groups = list(rr._rg_by_id.values())
    assert len(groups) == 1, [str(g) for g in groups]  # the generator asks no granular groups
    g = groups[0]
    return {"resources": dict(g.resources), "required": set(g.required_traits), "forbidden": set(g.forbidden_traits),
            "root_required": set(rr._root_required), "root_forbidden": set(rr._root_forbidden),
            "member_of": [set(x) for x in (g.aggregates or [])], "forbidden_aggs": set(g.forbidden_aggregates or ()),
            "in_tree": g.in_tree}


def placement_fits(raw, query, extra=None):
    """GET /allocation_candidates for one root provider (placement's semantics): does it qualify?"""
    if query["in_tree"] and query["in_tree"] != raw["provider_uuid"]:
        return False
    traits = set(raw["traits"])
    if not (query["required"] | query["root_required"]) <= traits:
        return False
    if (query["forbidden"] | query["root_forbidden"]) & traits:
        return False
    aggs = set(raw["provider_aggregates"])
    if any(not (aggs & ored) for ored in query["member_of"]):
        return False
    if aggs & query["forbidden_aggs"]:
        return False
    return claim_fits(raw, query["resources"], extra)


def claim_fits(raw, resources, extra=None):
    for rc, amount in resources.items():
        inv = raw["resources"].get(rc)
        if inv is None:
            return False
        if amount < inv["min_unit"] or amount > inv["max_unit"] or amount % inv["step_size"]:
            return False
        used = inv["used"] + (extra or {}).get(rc, 0)
        if (inv["total"] - inv["reserved"]) * inv["allocation_ratio"] < used + amount:
            return False
    return True


def _host_manager(conf):
    n = O.nova()
    from nova.scheduler import host_manager, weights
    hm = object.__new__(host_manager.HostManager)
    hm.filter_handler = n["filters"].HostFilterHandler()
    hm.enabled_filters = [n["classes"][name]() for name in conf["enabled_filters"]]
    hm.weight_handler = weights.HostWeightHandler()
    hm.weighers = [cls() for cls in weights.all_weighers()]
    return hm


def _compute_claim_ok(cloud, spec, conf, hs):
    """nova-compute's _validate_instance_group_policy on the chosen host (restated)."""
    group = spec.instance_group
    if group is None or conf.get("disable_group_policy_check_upcall"):
        return True
    if group.policy == "anti-affinity":
        members = set(group.members)
        on_host = len(set(hs.instances) & members)
        limit = (group.rules or {}).get("max_server_per_host", 1)
        return on_host < int(limit)
    if group.policy == "affinity":
        hosts = set(group.hosts)
        return not hosts or hs.host in hosts
    return True


def nova_schedule(cloud, request, conf, order=None, count=None, states=None, spec=None):
    """Nova's SchedulerManager._schedule for ``count`` instances.

    Returns (valid_first, placed_hosts, states): the hosts that passed placement and the
    filters for the first instance, the host of each instance placed before the first failure
    (NoValidHost or the compute claim), and the host states after consumption."""
    _set_conf(conf)
    count = count or request.get("count", 1)
    spec = spec or nova_spec(cloud, request, count)
    query = placement_query(cloud, spec)
    by_id = {a["id"]: a for a in cloud["aggregates"]}
    raws = {h["name"]: h for h in cloud["hosts"]}
    names = order or [h["name"] for h in cloud["hosts"]]
    if states is None:
        states = {name: O.host_state(raws[name], by_id) for name in names}
        for hs in states.values():
            hs.metrics = None
            hs.claimed = {}
    hm = _host_manager(conf)
    candidates = [states[name] for name in names if placement_fits(raws[name], query, states[name].claimed)]
    base = sum(len(hs.instances) for hs in states.values())
    uuids = ["new-%d-%d" % (base, i) for i in range(count)]
    if spec.instance_group is not None:
        spec.instance_group.members = list(spec.instance_group.members) + uuids
    hosts = list(candidates)
    valid_first = None
    placed = []
    for num in range(count):
        uuid = uuids[num]
        spec.instance_uuid = uuid
        filtered = list(hm.get_filtered_hosts(hosts, spec, num))
        if num == 0:
            valid_first = [h.host for h in filtered if _compute_claim_ok(cloud, spec, conf, h)]
        if not filtered:
            break
        weighed = [w.obj for w in hm.get_weighed_hosts(filtered, spec)]
        hosts = weighed
        # the selected host and its alternates (max_attempts), each claimed in placement; nova-compute
        # re-checks the group policy and a refusal reschedules to the next alternate
        selection = [hs for hs in weighed if claim_fits(raws[hs.host], query["resources"], hs.claimed)]
        selection = selection[:1 if spec.force_hosts else max(1, conf.get("max_attempts", 3))]
        chosen = next((hs for hs in selection if _compute_claim_ok(cloud, spec, conf, hs)), None)
        if chosen is None:
            break
        for rc, amount in query["resources"].items():
            chosen.claimed[rc] = chosen.claimed.get(rc, 0) + amount
        chosen.consume_from_request(spec)
        if spec.instance_group is not None:
            spec.instance_group.hosts.append(chosen.host)
        chosen.instances[uuid] = O.nova()["objects"].Instance(uuid=uuid)
        placed.append(chosen.host)
    return valid_first or [], placed, states


def nova_headroom(cloud, request, conf):
    """How many more single-instance requests Nova places one after the other (each build finished:
    its I/O operation ends), up to HEADROOM_CAP."""
    single = dict(request, count=1)
    states = None
    group_hosts = []
    members = []
    for number in range(HEADROOM_CAP + 1):
        spec = nova_spec(cloud, single, 1)
        if spec.instance_group is not None:
            spec.instance_group.hosts = list(spec.instance_group.hosts) + group_hosts
            spec.instance_group.members = list(spec.instance_group.members) + members
        before = {name: hs.num_io_ops for name, hs in (states or {}).items()}
        _valid, placed, states = nova_schedule(cloud, single, conf, count=1, states=states, spec=spec)
        if not placed:
            return number
        hs = states[placed[0]]
        hs.num_io_ops = before.get(placed[0], hs.num_io_ops - 1)
        group_hosts.append(placed[0])
        members.append(list(hs.instances)[-1])
    return None


# ------------------------------------------------------------------ the comparison

@pytest.fixture(scope="module", autouse=True)
def _nova():
    pytest.importorskip("nova")
    O.nova()


def _disagree(kind, message, case):
    COUNTS["disagreements"] += 1
    COUNTS["classes"][kind] = COUNTS["classes"].get(kind, 0) + 1
    cloud, snap, request, conf = case
    if os.environ.get("ORACLE_PIPELINE_DUMP"):
        with open(os.environ["ORACLE_PIPELINE_DUMP"], "w") as handle:
            json.dump({"cloud": cloud, "snap": snap, "request": request, "conf": conf}, handle)
    raise AssertionError("%s: %s\nrequest=%s\nconf=%s\ntruth=%s\nengine snapshot=%s" % (
        kind, message, json.dumps(request), json.dumps(conf), json.dumps(cloud), json.dumps(snap)))


def _nova_outcome(cloud, request, conf):
    try:
        valid, placed, _states = nova_schedule(cloud, request, conf)
    except NoFit as exc:
        key = str(exc)[:60]
        COUNTS.setdefault("refusals", {})[key] = COUNTS.setdefault("refusals", {}).get(key, 0) + 1
        return [], [], True
    return valid, placed, False


def _apply_relaxation(cloud, request, relax):
    cloud = copy.deepcopy(cloud)
    request = copy.deepcopy(request)
    kind, detail = relax["kind"], relax["detail"]
    if kind == "count":
        request["count"] = detail["count"]
    elif kind == "drop_hint":
        request["scheduler_hints"].pop(detail["hint"], None)
    elif kind == "availability_zone":
        request.pop("availability_zone", None)
        if detail["availability_zone"]:
            request["availability_zone"] = detail["availability_zone"]
    elif kind == "drop_forced_host":
        az = request.pop("availability_zone").split(":")[0]
        if az:
            request["availability_zone"] = az
    elif kind == "smaller_flavor":
        request["flavor"].update({k: detail[k] for k in ("vcpus", "ram", "disk", "ephemeral", "swap")})
    elif kind == "drop_extra_spec":
        request["flavor"]["extra_specs"].pop(detail["extra_spec"])
    elif kind == "drop_image_property":
        request["image"]["properties"].pop(detail["image_property"])
    elif kind == "enable_host":
        raw = next(h for h in cloud["hosts"] if h["name"] == detail["host"])
        raw["service"]["status"] = "enabled"
        raw["traits"] = [t for t in raw["traits"] if t != "COMPUTE_STATUS_DISABLED"]
    elif kind == "allocation_ratio":
        raw = next(h for h in cloud["hosts"] if h["name"] == detail["host"])
        for rc, change in detail["ratios"].items():
            raw["resources"][rc]["allocation_ratio"] = change["to"]
    else:
        return None, None
    return cloud, request


SEED = os.environ.get("ORACLE_PIPELINE_SEED")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
          phases=(Phase.generate,) if os.environ.get("ORACLE_NO_SHRINK") else tuple(Phase),
          suppress_health_check=list(HealthCheck))
@given(cases())
@(seed(int(SEED)) if SEED else (lambda f: f))
def test_pipeline_agrees_with_nova(case):
    cloud, snap, request, conf = case
    COUNTS["cases"] += 1
    try:
        out = engine.explain(snap, request, scheduler=dict(conf))
    except ExplainError:
        COUNTS["engine_refused"] += 1
        return
    valid, placed, refused = _nova_outcome(cloud, request, conf)
    if refused:
        COUNTS["nova_api_refused"] += 1
    for reason in out["reasons"][:1]:
        key = reason["reason"].split(" ")[0] + " " + " ".join(reason["reason"].split(" ")[1:3])
        COUNTS.setdefault("first_reasons", {})[key] = COUNTS.setdefault("first_reasons", {}).get(key, 0) + 1
    count = request.get("count", 1)
    nova_fits = len(placed) == count
    # the same cloud with the hosts in the reverse order: equal weights keep Nova's host-state order
    rplaced = placed
    if not refused:
        try:
            _v, rplaced, _s = nova_schedule(cloud, request, conf, order=list(reversed(HOSTS)))
        except NoFit:
            rplaced = []
    order_dependent = (len(rplaced) == count) != nova_fits
    # 1. per host: fits the first instance (prefilters, placement, filters)
    for host in out["hosts"]:
        COUNTS["host_verdicts"] += 1
        truth = host["host"] in valid
        if host["fits"] is None:
            COUNTS["host_unknown"] += 1
            continue
        COUNTS["host_pass" if host["fits"] else "host_fail"] += 1
        if host["fits"] != truth:
            bad = {k: v for k, v in host["checks"].items() if v["verdict"] != "pass"}
            _disagree("host_verdict", "host %s: engine fits=%s (%s), Nova %s (valid %s)" % (
                host["host"], host["fits"], json.dumps(bad), truth, valid), case)
    # 2. the request: fits / does not fit
    if out["fits"] is None:
        COUNTS["fit_unknown"] += 1
    elif order_dependent:
        COUNTS["order_dependent"] += 1
        _disagree("order_dependent", "engine says fits=%s but Nova's answer depends on the host order of equal "
                  "weights (%s vs %s)" % (out["fits"], placed, rplaced), case)
    else:
        COUNTS["fits" if out["fits"] else "does_not_fit"] += 1
        if out["fits"] != nova_fits:
            _disagree("fits", "engine fits=%s (%s), Nova placed %s of %d" % (
                out["fits"], out["summary"], placed, count), case)
        if not refused and len(rplaced) == len(placed) and not out["hosts_maybe"]:
            COUNTS["placed_compared"] += 1
            if out["placed"] != len(placed):
                _disagree("placed", "engine placed %s, Nova %s" % (out["placed"], placed), case)
    # 3. headroom: N more fit, booted one by one
    head = out.get("headroom") or {}
    if head and not refused:
        if head.get("unknown"):
            COUNTS["headroom_unknown"] += 1
        elif head["total"] < HEADROOM_CAP:
            COUNTS["headroom_compared"] += 1
            nova_total = nova_headroom(cloud, request, conf)
            COUNTS["headroom_positive"] = COUNTS.get("headroom_positive", 0) + (1 if nova_total else 0)
            if nova_total != head["total"]:
                _disagree("headroom", "engine headroom %s (%s), Nova boots %s one by one" % (
                    head["total"], json.dumps(head), nova_total), case)
    # 4. every relaxation: applied to the request (or the cloud), Nova places every instance
    for relax in out.get("relaxations") or []:
        rcloud, rrequest = _apply_relaxation(cloud, request, relax)
        if rcloud is None:
            continue
        _rv, rplaced2, _ref = _nova_outcome(rcloud, rrequest, conf)
        COUNTS["relaxations_verified"] += 1
        if len(rplaced2) != rrequest.get("count", 1):
            _disagree("relaxation", "engine proposes %s; Nova then places %s of %d" % (
                relax["change"], rplaced2, rrequest.get("count", 1)), case)
