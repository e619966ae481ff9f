"""The live-migration preflight's numa_guests check (node/preflight_numa.py) against Nova's own code.

Destinations are real libvirt capabilities documents (tests/unit/data/real/libvirt) turned into
compute facts, and the same documents turned into Nova's NUMATopology by Nova's libvirt driver
(test_numa_state's helpers); guests are flavors with CPU pinning, several NUMA nodes and page
sizes. The verdict must be Nova's ``numa_fit_instance_to_host`` (the MoveClaim's fit) with the
same limits: pass where Nova fits, fail where it does not; unknown only where data is missing.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import test_numa_state as T  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa as N  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import libvirt_caps as lc  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight_numa as P  # noqa: E402

DOCS = ["libvirt-vircaps-x86_64-resctrl-amd-2socket.xml", "libvirt-caps-qemu-real-full-amd-host.xml",
        "testhost-debian12-libvirt9-caps.xml"]
SEEN = set()
CONFIGS = [dict(), dict(dedicated="2-5", shared="0-1"), dict(dedicated="1-3")]
FLAVORS = [
    (2, 1024, {"hw:cpu_policy": "dedicated"}),
    (4, 2048, {"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"}),
    (6, 4096, {"hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "isolate"}),
    (2, 512, {"hw:numa_nodes": "1"}),
    (64, 4096, {"hw:numa_nodes": "2"}),
    (2, 2048, {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "large"}),
    (1, 256, {"hw:mem_page_size": "small"}),
    (2, 10 ** 7, {"hw:numa_nodes": "1"}),
    (2, 512, {}),
]


def _nova_fit(host, flavor, limits):
    from nova import objects
    from nova.virt import hardware
    vcpus, ram, specs = flavor
    fl = objects.Flavor(name="f", flavorid="f", vcpus=vcpus, memory_mb=ram, root_gb=1, ephemeral_gb=0, swap=0,
                        extra_specs=dict(specs))
    topo = hardware.numa_get_constraints(fl, objects.ImageMeta.from_dict({"properties": {}}))
    if topo is None:
        return "none"
    lim = None
    if limits is not None:
        lim = objects.NUMATopologyLimits(cpu_allocation_ratio=limits[0], ram_allocation_ratio=limits[1])
    return hardware.numa_fit_instance_to_host(host, topo, provider_mapping=None, limits=lim)


def _guest(flavor, pagesize=None):
    vcpus, ram, specs = flavor
    guest = {"flavor": {"vcpus": vcpus, "ram": ram, "extra_specs": dict(specs)}, "image_properties": {}}
    if pagesize is not None:
        guest["numa_topology"] = {"nodes": [], "pagesize_kb": pagesize}
    return guest


def _setup(doc, cfg):
    xml = T._read(doc)
    caps = lc.parse_capabilities(xml)
    online = sorted(cpu["id"] for c in caps["cells"] for cpu in c["cpus"])
    if not all(set(T.no.parse_cpu_spec(s)) <= set(online) for s in cfg.values() if s):
        pytest.skip("option beyond this host's CPUs")
    args = (xml, online, cfg.get("dedicated"), cfg.get("shared"), None, {})
    return T._facts_from(*args), T._nova_topology(*args)


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
@pytest.mark.parametrize("ratios", [None, (4.0, 1.0), (1.0, 1.0)])
def test_verdict_is_novas_fit_on_real_hosts(doc, cfg, ratios):
    facts, host = _setup(doc, cfg)
    if ratios is not None:
        facts["nova"]["allocation_ratios"] = {"VCPU": {"effective": ratios[0]}, "MEMORY_MB": {"effective": ratios[1]}}
    seen = SEEN
    for flavor in FLAVORS:
        verdict, evidence = P.check(_guest(flavor, pagesize=4), facts, "dst")
        theirs = _nova_fit(host, flavor, ratios)
        if theirs == "none":
            assert verdict == "pass" and "no NUMA topology" in evidence
            continue
        if ratios is None:
            loose = theirs
            strict = _nova_fit(host, flavor, (1.0, 1.0))
            if loose is None:
                assert verdict == "fail", (flavor, evidence)
            elif strict is None:
                assert verdict == "unknown" and "allocation ratios" in evidence, (flavor, evidence)
            else:
                assert verdict in ("pass", "fail"), (flavor, evidence)
                assert (verdict == "pass") == (strict.cells[0].pagesize in (None, 4)), (flavor, evidence)
        else:
            if theirs is None:
                assert verdict == "fail", (flavor, evidence)
            else:
                # the MoveClaim's page-size test: the instance uses 4 kB pages now (None: no page request)
                assert verdict == ("pass" if theirs.cells[0].pagesize in (None, 4) else "fail"), (flavor, evidence)
        seen.add(verdict)


def test_the_cases_saw_pass_and_fail():
    if not SEEN:
        pytest.skip("run with test_verdict_is_novas_fit_on_real_hosts")
    assert {"pass", "fail"} <= SEEN, SEEN


def test_page_size_must_stay_the_same():
    facts, host = _setup("testhost-debian12-libvirt9-caps.xml", {})
    flavor = (1, 256, {"hw:mem_page_size": "any"})
    chosen = _nova_fit(host, flavor, None).cells[0].pagesize
    assert P.check(_guest(flavor, pagesize=chosen), facts)[0] == "pass"
    verdict, evidence = P.check(_guest(flavor, pagesize=chosen * 512), facts)
    assert verdict == "fail" and "Requested page size is different from current page size" in evidence
    verdict, evidence = P.check(_guest(flavor), facts)
    assert verdict == "unknown" and "pagesize_kb" in evidence


def test_unknown_only_when_data_is_missing():
    facts, _host = _setup("testhost-debian12-libvirt9-caps.xml", {})
    guest = _guest(FLAVORS[0], pagesize=4)
    verdict, evidence = P.check(None, facts)
    assert verdict == "unknown" and "guest=" in evidence
    verdict, evidence = P.check(guest, {"nova": facts["nova"]})
    assert verdict == "unknown" and "NUMA state unknown" in evidence
    busy = dict(facts, guests=None)
    busy["numa"] = dict(facts["numa"])
    from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state
    if numa_state.cells_from_facts(busy).get("usage_unknown"):
        verdict, evidence = P.check(guest, busy)
        assert verdict == "unknown" and "free room" in evidence


@pytest.mark.parametrize("guest,expect", [
    ("big", "guest must be a mapping"),
    ({"flavor": None}, "guest.flavor must be a mapping"),
    ({"flavor": {"vcpus": 0, "ram": 1}}, "guest.flavor.vcpus must be a positive integer"),
    ({"flavor": {"vcpus": 2, "ram": True}}, "guest.flavor.ram must be a positive integer"),
    ({"flavor": {"vcpus": 2, "ram": 512, "extra_specs": {"hw:cpu_policy": "pinned"}}}, "Nova refuses"),
    ({"flavor": {"vcpus": 2, "ram": 512}, "numa_topology": {"pagesize_kb": "4"}}, "pagesize_kb must be"),
])
def test_bad_guest_is_an_error_naming_the_key(guest, expect):
    facts, _host = _setup("testhost-debian12-libvirt9-caps.xml", {})
    with pytest.raises(P.GuestError, match=expect):
        P.check(guest, facts)
    with pytest.raises(preflight.PreflightError, match=expect):
        preflight.check_numa_guests({"host": "a"}, {"host": "b"}, guest, facts)


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_cells_and_pins_are_novas_on_real_hosts(doc, cfg):
    """The fit on the cells built from the facts picks Nova's cells and Nova's pCPUs: the sibling
    sets keep the libvirt driver's order (Nova pins by walking them), not a sorted one."""
    facts, host = _setup(doc, cfg)
    cells, _why = N.state({"numa": numa_state.cells_from_facts(facts)})
    compared = 0
    for flavor in FLAVORS:
        theirs = _nova_fit(host, flavor, (4.0, 1.0))
        if theirs in ("none", None):
            continue
        topology, _page = P._guest(_guest(flavor, pagesize=4))
        ours = N.fit(cells, topology, (4.0, 1.0))
        assert ours.fits, (flavor, N.explain_fit(cells, ours, topology))
        mine = [(c.id, sorted((c.pinning or {}).items())) for c in ours.cells]
        novas = [(c.id, sorted((c.cpu_pinning or {}).items())) for c in theirs.cells]
        assert mine == novas, flavor
        compared += 1
    assert compared
