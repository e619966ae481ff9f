"""gather.py edge cases with a fake API (pagination, placement 403/404, missing parts).

The normal path is tested against a real minicloud in tests/integration/test_facts.py; these
are the failures minicloud cannot easily produce.
"""

import json

import pytest
from keystoneauth1 import exceptions as ks_exc

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as c
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as g

U = ["%08d-0000-4000-8000-000000000000" % i for i in range(5)]


class Response:
    def __init__(self, body):
        self.content = json.dumps(body).encode()
        self._body = body

    def json(self):
        return self._body


class Adapter:
    def __init__(self, routes):
        self.routes = routes
        self.calls = []

    def get(self, url, raise_exc=True, microversion=None, params=None):
        self.calls.append((url, params))
        key = url.split("?")[0] if url.startswith("/") else url
        value = self.routes.get(key)
        if value is None:
            raise ks_exc.NotFound(http_status=404, message="no route %s" % url)
        if isinstance(value, Exception):
            raise value
        if callable(value):
            value = value(url, params)
        return Response(value)


class Conn:
    def __init__(self, compute, placement):
        self.compute = compute
        self._placement = placement

    @property
    def placement(self):
        if isinstance(self._placement, Exception):
            raise self._placement
        return self._placement


def hyp(i):
    return {"id": U[i], "hypervisor_hostname": "n%d" % i, "state": "up", "host_ip": "192.0.2.%d" % i,
            "hypervisor_type": "fake", "hypervisor_version": 1, "service": {"host": "h%d" % i, "id": "s%d" % i}}


def compute_routes():
    def hypervisors(url, params):
        if "marker" in url:
            return {"hypervisors": [hyp(3), hyp(4)]}
        return {"hypervisors": [hyp(0), hyp(1), hyp(2)],
                "hypervisors_links": [{"rel": "next", "href": "http://nova/v2.1/os-hypervisors/detail?marker=x"}]}
    return {
        "/os-hypervisors/detail": hypervisors,
        "http://nova/v2.1/os-hypervisors/detail?marker=x": hypervisors,
        "/os-services": {"services": [{"id": "s%d" % i, "host": "h%d" % i, "binary": "nova-compute", "zone": "nova",
                                       "status": "enabled", "state": "up"} for i in range(5)]},
        "/os-aggregates": {"aggregates": []},
        "/servers/detail": {"servers": []},
        "/os-server-groups": {"server_groups": []},
    }


def placement_routes(skip=()):
    routes = {"/resource_providers": {"resource_providers": [{"uuid": u, "name": "n%d" % i}
                                                             for i, u in enumerate(U) if i not in skip]}}
    for u in U:
        routes["/resource_providers/%s/inventories" % u] = {"inventories": {"VCPU": {"total": 4}}}
        routes["/resource_providers/%s/usages" % u] = {"usages": {"VCPU": 1}}
        routes["/resource_providers/%s/traits" % u] = {"traits": ["T"]}
        routes["/resource_providers/%s/aggregates" % u] = {"aggregates": []}
    return routes


def test_pagination_and_one_request_per_provider_part():
    compute, placement = Adapter(compute_routes()), Adapter(placement_routes())
    snap = g.gather_snapshot(Conn(compute, placement), workers=3)
    assert [h["nodename"] for h in snap["hosts"]] == ["n0", "n1", "n2", "n3", "n4"]
    assert snap["warnings"] == []
    assert all(h["resources"]["VCPU"]["free"] == 3 for h in snap["hosts"])
    assert len(placement.calls) == 1 + 4 * 5
    assert len([u for u, _unused in compute.calls if "os-hypervisors" in u]) == 2


def test_filters_limit_placement_requests_to_the_selection():
    placement = Adapter(placement_routes())
    snap = g.gather_snapshot(Conn(Adapter(compute_routes()), placement), host="h1")
    assert [h["nodename"] for h in snap["hosts"]] == ["n1"]
    assert len(placement.calls) == 1 + 4


def test_placement_forbidden_returns_novas_part_with_a_warning():
    placement = Adapter({"/resource_providers": ks_exc.Forbidden(http_status=403, message="policy")})
    snap = g.gather_snapshot(Conn(Adapter(compute_routes()), placement))
    assert len(snap["hosts"]) == 5 and all(h["resources"] == {} and h["traits"] is None for h in snap["hosts"])
    assert len(snap["warnings"]) == 1
    assert "placement unavailable" in snap["warnings"][0] and "forbidden (HTTP 403)" in snap["warnings"][0]


def test_no_placement_endpoint_is_a_warning():
    conn = Conn(Adapter(compute_routes()), ks_exc.EndpointNotFound("no placement endpoint"))
    snap = g.gather_snapshot(conn)
    assert "placement unavailable" in snap["warnings"][0] and "no matching endpoint" in snap["warnings"][0]


def test_missing_provider_vanished_provider_and_empty_inventory():
    routes = placement_routes(skip=(2,))
    routes["/resource_providers/%s/inventories" % U[3]] = ks_exc.NotFound(http_status=404, message="gone")
    routes["/resource_providers/%s/inventories" % U[4]] = {"inventories": {}}
    snap = g.gather_snapshot(Conn(Adapter(compute_routes()), Adapter(routes)))
    hosts = {h["nodename"]: h for h in snap["hosts"]}
    assert hosts["n2"]["provider_uuid"] is None and hosts["n2"]["resources"] == {}
    assert hosts["n3"]["resources"] == {} and hosts["n3"]["traits"] == ["T"]
    assert hosts["n4"]["resources"] == {}
    text = " | ".join(snap["warnings"])
    assert "placement audit: compute node n2 (%s, host h2) has no resource provider" % U[2] in text
    assert "run stackops.nova.placement_audit for the evidence and the fix" in text
    assert "1 placement request(s) failed" in text and "not found (HTTP 404)" in text
    assert "1 resource provider(s) have no inventory: n4" in text


def test_hypervisor_list_failure_is_an_error_and_other_lists_are_warnings():
    routes = compute_routes()
    routes["/os-hypervisors/detail"] = ks_exc.Forbidden(http_status=403, message="admin only")
    with pytest.raises(c.NovaError, match=r"could not list hypervisors: forbidden \(HTTP 403\)"):
        g.gather_snapshot(Conn(Adapter(routes), Adapter(placement_routes())))
    routes = compute_routes()
    routes["/servers/detail"] = ks_exc.Forbidden(http_status=403, message="no")
    routes["/os-server-groups"] = ks_exc.Forbidden(http_status=403, message="no")
    snap = g.gather_snapshot(Conn(Adapter(routes), Adapter(placement_routes())))
    assert all(h["num_instances"] is None for h in snap["hosts"])
    assert any(w.startswith("servers per host unknown") for w in snap["warnings"])
    assert any(w.startswith("server groups unknown") for w in snap["warnings"])


def test_transient_errors_are_retried(monkeypatch):
    monkeypatch.setattr(c.time, "sleep", lambda s: None)
    routes = compute_routes()
    state = {"n": 0}

    def flaky(url, params):
        state["n"] += 1
        if state["n"] < 3:
            raise ks_exc.ServiceUnavailable(http_status=503, message="busy")
        return {"aggregates": []}
    routes["/os-aggregates"] = flaky
    snap = g.gather_snapshot(Conn(Adapter(routes), Adapter(placement_routes())))
    assert state["n"] == 3 and snap["warnings"] == []
