"""Oracle: the seven request filters the engine models in explain/request_filters.py against Nova's.

For each generated flavor / image / networks / compute version, every one of
packed_virtqueue_filter, routed_networks_filter, remote_managed_ports_filter,
ephemeral_encryption_filter, virtio_sound_filter, tpm_secret_security_filter and
owner_nova_filter of nova.scheduler.request_filter runs on a real RequestSpec; what it adds
(``root_required`` traits, ``requested_destination.aggregates``) or whether it raises must
equal ``request_filters.additions``. Only Neutron, the placement report client and the
service-version query are replaced by fakes that answer from the same generated data.
Counts go to $ORACLE_REPORT_REQUEST_FILTERS (JSON) when set.
"""

import atexit
import json
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))

import nova_oracle as O  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request_filters as RF  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "300"))
COUNTS = {name: {"cases": 0, "added": 0, "none": 0, "error": 0, "unknown": 0, "disagreements": 0}
          for name in RF.NAMES}


def _report():
    path = os.environ.get("ORACLE_REPORT_REQUEST_FILTERS")
    if path and COUNTS[RF.NAMES[0]]["cases"]:
        with open(path, "w") as handle:
            json.dump(COUNTS, handle, indent=1, sort_keys=True)


atexit.register(_report)

BOOLS = ("true", "false", "yes", "0", "True")
FLAVOR_KEYS = {
    "hw:virtio_packed_ring": BOOLS,
    "hw:ephemeral_encryption": BOOLS,
    "hw:ephemeral_encryption_format": ("luks", "plain", "luksv2", "xts"),
    "hw:sound_model": ("virtio", "ich9", "sb16", "beep"),
    "hw:tpm_version": ("2.0", "1.2", "3.0"),
    "hw:tpm_model": ("tpm-tis", "tpm-crb", "tpm-x"),
    "hw:tpm_secret_security": ("user", "host", "deployment", "cloud"),
}
IMAGE_KEYS = {
    "hw_virtio_packed_ring": ("true", "false", "yes", "no"),
    "hw_ephemeral_encryption": ("true", "false"),
    "hw_ephemeral_encryption_format": ("luks", "plain", "luksv2"),
    "hw_sound_model": ("virtio", "ich9", "usb"),
    "hw_tpm_version": ("2.0", "1.2"),
    "hw_tpm_model": ("tpm-tis", "tpm-crb"),
}


@st.composite
def cases(draw):
    specs = {k: draw(st.sampled_from(v)) for k, v in FLAVOR_KEYS.items() if draw(st.integers(0, 2)) == 0}
    props = {k: draw(st.sampled_from(v)) for k, v in IMAGE_KEYS.items() if draw(st.integers(0, 3)) == 0}
    networks = None
    if draw(st.integers(0, 4)):
        networks = []
        for i in range(draw(st.integers(0, 3))):
            net = {"remote_managed": draw(st.booleans()),
                   "aggregates": draw(st.lists(st.sampled_from(("agg-a", "agg-b", "agg-c")), max_size=2, unique=True))}
            kind = draw(st.sampled_from(("port", "port-ip", "network")))
            if kind == "network":
                net["network_id"] = "net-%d" % i
            else:
                net["port_id"] = "port-%d" % i
                net["fixed_ip"] = kind == "port-ip"
            networks.append(net)
    return {"specs": specs, "props": props, "networks": networks,
            "routed": draw(st.booleans()), "min_version": draw(st.sampled_from((60, 72, 73, 74)))}


# ------------------------------------------------------------------ Nova's side

class _FakeNeutron:
    def __init__(self, case):
        self.ports = {n["port_id"]: n for n in case["networks"] or [] if n.get("port_id")}

    def show_port(self, ctxt, port_id):
        net = self.ports[port_id]
        fixed = [{"subnet_id": "sub-" + port_id}] if net.get("fixed_ip") else []
        return {"port": {"id": port_id, "network_id": "pnet-" + port_id, "fixed_ips": fixed}}

    def is_remote_managed_port(self, ctxt, port_id):
        return self.ports[port_id]["remote_managed"]


def _nova_additions(case, monkeypatch):
    from nova.scheduler import request_filter as nrf
    n = O.nova()
    objects = n["objects"]
    n["conf"].set_override("query_placement_for_routed_network_aggregates", case["routed"], group="scheduler")
    neutron = _FakeNeutron(case)
    aggs = {}
    for net in case["networks"] or []:
        if net.get("port_id"):
            key = ("sub-" if net.get("fixed_ip") else "pnet-") + net["port_id"]
        else:
            key = net["network_id"]
        aggs[key] = net["aggregates"]
    monkeypatch.setattr(nrf.neutron, "API", lambda: neutron)
    monkeypatch.setattr(nrf.report, "report_client_singleton", lambda: None)
    monkeypatch.setattr(nrf.utils, "get_aggregates_for_routed_network", lambda c, n_, r, net_id: aggs[net_id])
    monkeypatch.setattr(nrf.utils, "get_aggregates_for_routed_subnet", lambda c, n_, r, sub_id: aggs[sub_id])
    monkeypatch.setattr(nrf.objects.service, "get_minimum_version_all_cells",
                        lambda ctxt, binaries: case["min_version"])
    flavor = objects.Flavor(name="f", flavorid="f1", vcpus=1, memory_mb=512, root_gb=1, ephemeral_gb=0, swap=0,
                            extra_specs=dict(case["specs"]))
    image = objects.ImageMeta.from_dict({"name": "img", "properties": dict(case["props"])})
    out = {}
    for name in RF.NAMES:
        spec = objects.RequestSpec(flavor=flavor, image=image, project_id="p", instance_uuid="i",
                                   request_level_params=objects.RequestLevelParams())
        if case["networks"] is not None:
            spec.requested_networks = objects.NetworkRequestList(objects=[
                objects.NetworkRequest(port_id=n.get("port_id"), network_id=n.get("network_id"))
                for n in case["networks"]])
        try:
            getattr(nrf, name)(None, spec)
        except Exception as exc:  # noqa: BLE001 - Nova refusing is a verdict too
            out[name] = ("error", type(exc).__name__)
            continue
        dest = spec.requested_destination if "requested_destination" in spec else None
        aggregates = sorted(tuple(sorted(a.split(","))) for a in (dest.aggregates or [])) if dest and \
            "aggregates" in dest and dest.aggregates else []
        out[name] = (sorted(spec.root_required), aggregates)
    return out


def _mine(case):
    snap = {"snapshot_version": 1, "hosts": []}
    request = {"flavor": {"name": "f", "vcpus": 1, "ram": 512, "disk": 1, "extra_specs": dict(case["specs"])},
               "image": {"name": "img", "properties": dict(case["props"])}}
    if case["networks"] is not None:
        request["networks"] = case["networks"]
    req = normalize_request(request, snap)
    conf = {"query_placement_for_routed_network_aggregates": case["routed"],
            "compute_service_min_version": case["min_version"]}
    return {item["name"]: item for item in RF.additions(req, conf)}


@pytest.fixture(scope="module", autouse=True)
def _nova():
    pytest.importorskip("nova")
    O.nova()
    yield
    O.nova()["conf"].clear_override("query_placement_for_routed_network_aggregates", group="scheduler")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(cases())
def test_request_filters_agree_with_nova(case):
    monkeypatch = pytest.MonkeyPatch()
    try:
        theirs = _nova_additions(case, monkeypatch)
    finally:
        monkeypatch.undo()
    mine = _mine(case)
    for name in RF.NAMES:
        stats = COUNTS[name]
        stats["cases"] += 1
        item = mine[name]
        stats[item["state"]] += 1
        nova = theirs[name]
        if item["state"] == "error" or nova[0] == "error":
            if not (item["state"] == "error" and nova[0] == "error"):
                stats["disagreements"] += 1
                raise AssertionError("%s: engine %s, Nova %s\ncase=%s" % (name, item, nova, json.dumps(case)))
            continue
        if item["state"] == "unknown":
            # only where the engine lacks the data: the request's networks
            assert name == "routed_networks_filter" and case["networks"] is None, (name, item)
            continue
        want_traits = sorted(item["traits"]) if item["state"] == "added" else []
        want_aggs = sorted(tuple(a) for a in item["aggregates"]) if item["state"] == "added" else []
        if (want_traits, want_aggs) != (sorted(nova[0]), nova[1]):
            stats["disagreements"] += 1
            raise AssertionError("%s: engine adds %s %s, Nova adds %s %s\ncase=%s" % (
                name, want_traits, want_aggs, nova[0], nova[1], json.dumps(case)))


def test_every_request_filter_added_something():
    if not COUNTS[RF.NAMES[0]]["cases"]:
        pytest.skip("run with the oracle test")
    for name, stats in COUNTS.items():
        assert stats["added"] and stats["none"], (name, stats)
