"""Oracle: the engine's NUMA fitting (explain/numa.py) against Nova's own nova.virt.hardware.

For each case hypothesis builds a flavor + image (every NUMA / pinning / huge-page extra spec,
valid and invalid combinations) and 3 hosts (1-4 NUMA cells, SMT on/off, dedicated / shared /
legacy CPU sets, pinned CPUs, 4 kB / 2 MB / 1 GB pages with used and reserved pages, used
memory and shared CPUs), the allocation ratios and the packing strategy. Then:

- Nova's ``hardware.numa_get_constraints(flavor, image_meta)`` and ``numa.constraints`` must
  both refuse the request or both build the same guest topology (cells, CPUs, memory, page
  size, policies);
- on each host, up to 3 guests one after the other: Nova's ``numa_fit_instance_to_host`` and
  ``numa.fit`` must agree on fit / no fit, on the host cells chosen, the page size, the pinning
  and the emulator-thread pCPU; then both consume the guest (Nova's
  ``numa_usage_from_instance_numa``, ``numa.consume``) and the next guest is fitted on the
  consumed host;
- Nova's ``NUMATopologyFilter.host_passes`` on a HostState carrying the host topology and the
  engine's NUMATopologyFilter column must agree.

Counts go to $ORACLE_REPORT_NUMA (JSON) when set.
"""

import atexit
import json
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))

import nova_oracle as O  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import numa  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import (  # noqa: E402
    ExplainError, normalize_scheduler)
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import Cloud  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.request import normalize_request  # noqa: E402

EXAMPLES = int(os.environ.get("ORACLE_NUMA_EXAMPLES", os.environ.get("ORACLE_EXAMPLES", "300")))
HOSTS = 3
ROUNDS = 3
COUNTS = {"cases": 0, "request_errors": 0, "no_topology": 0, "topologies": 0, "fits_compared": 0, "fit": 0,
          "no_fit": 0, "nova_raises": 0, "chosen_cells_compared": 0, "filter_verdicts": 0, "filter_pass": 0,
          "filter_fail": 0, "filter_error": 0, "disagreements": 0}


def _report():
    path = os.environ.get("ORACLE_REPORT_NUMA")
    if path and COUNTS["cases"]:
        with open(path, "w") as handle:
            json.dump(COUNTS, handle, indent=1, sort_keys=True)


atexit.register(_report)

# ------------------------------------------------------------------ strategies


@st.composite
def host_numa(draw):
    """A snapshot hosts[].numa mapping, numbered the Linux way (thread t of core k of cell c)."""
    ncells = draw(st.integers(1, 4))
    cores = draw(st.integers(1, 6))
    threads = draw(st.sampled_from([1, 2]))
    mode = draw(st.sampled_from(["dedicated", "shared", "split", "legacy", "dedicated", "split", "dedicated"]))
    total_cores = ncells * cores
    cells = []
    for c in range(ncells):
        siblings = []
        for k in range(cores):
            siblings.append([t * total_cores + c * cores + k for t in range(threads)])
        cpus = [cpu for sib in siblings for cpu in sib]
        if mode == "dedicated":
            pcpus, shared = cpus, []
        elif mode == "shared":
            pcpus, shared = [], cpus
        elif mode == "legacy":
            pcpus, shared = cpus, cpus
        else:
            pcpus, shared = [], []
            for sib in siblings:
                (pcpus if draw(st.booleans()) else shared).extend(sib)
        pinned = []
        if pcpus:
            how = draw(st.sampled_from(["none", "none", "none", "some", "whole"]))
            if how == "some":
                pinned = sorted(draw(st.sets(st.sampled_from(pcpus), max_size=len(pcpus))))
            elif how == "whole":
                for sib in siblings:
                    if set(sib) <= set(pcpus) and draw(st.booleans()):
                        pinned.extend(sib)
        memory = draw(st.sampled_from([1024, 2048, 4096, 8192, 8192]))
        memory_usage = draw(st.sampled_from([0, 0, 0, 512, 1024, memory // 2, memory]))
        pages = []
        page_mode = draw(st.sampled_from(["4k", "4k+2m", "4k+2m+1g", "4k+1g", "none", "4k+2m", "4k+2m"]))
        if page_mode != "none":
            huge_kb = 0
            if "2m" in page_mode:
                total = draw(st.sampled_from([512, 1024, 2048, 0]))
                total = min(total, memory * 1024 // 2048 // 2)
                used = draw(st.integers(0, total))
                reserved = draw(st.integers(0, total - used))
                pages.append({"size_kb": 2048, "total": total, "used": used, "reserved": reserved})
                huge_kb += total * 2048
            if "1g" in page_mode:
                total = draw(st.sampled_from([1, 2, 4, 0]))
                total = min(total, max(0, (memory * 1024 - huge_kb) // 1048576 - 1))
                used = draw(st.integers(0, total))
                pages.append({"size_kb": 1048576, "total": total, "used": used, "reserved": 0})
                huge_kb += total * 1048576
            small_total = (memory * 1024 - huge_kb) // 4
            small_used = min(small_total, draw(st.sampled_from([0, 0, 65536, 131072, small_total])))
            pages.insert(0, {"size_kb": 4, "total": small_total, "used": small_used, "reserved": 0})
        cells.append({"id": c, "cpuset": sorted(shared), "pcpuset": sorted(pcpus), "siblings": siblings,
                      "memory": memory, "memory_usage": memory_usage,
                      "cpu_usage": draw(st.integers(0, 2 * len(shared))) if shared else 0,
                      "pinned_cpus": pinned, "mempages": pages, "socket": 0})
    return {"cells": cells, "source": "oracle", "unknown": None}


PAGE_SIZES = ["small", "large", "any", "2048", "1048576", "4", "2MB", "1GB", "4KB", "huge", "2MiB"]


@st.composite
def flavors(draw):
    """Mostly valid combinations (so hosts get tried), one in four anything-goes (Nova's refusals)."""
    vcpus = draw(st.sampled_from([1, 1, 2, 2, 2, 3, 4, 4, 6, 8]))
    ram = draw(st.sampled_from([512, 1024, 1024, 2048, 2048, 3072, 4096, 6144]))
    specs = {}
    if draw(st.integers(0, 3)) == 0:
        _chaos(draw, specs, vcpus, ram)
    else:
        policy = draw(st.sampled_from([None, "dedicated", "dedicated", "dedicated", "mixed", "shared"]))
        if policy == "mixed" and vcpus < 2:
            policy = "dedicated"
        if policy:
            specs["hw:cpu_policy"] = policy
        if policy == "mixed":
            specs["hw:cpu_dedicated_mask"] = draw(st.sampled_from(["^0", "0", "1-%d" % (vcpus - 1)]))
        if policy in ("dedicated", "mixed"):
            thread = draw(st.sampled_from([None, None, "prefer", "isolate", "require"]))
            if thread:
                specs["hw:cpu_thread_policy"] = thread
            emu = draw(st.sampled_from([None, None, None, "share", "isolate"]))
            if emu:
                specs["hw:emulator_threads_policy"] = emu
        divisors = [n for n in (1, 2, 3, 4) if vcpus % n == 0 and ram % n == 0]
        nodes = draw(st.sampled_from([None, None] + divisors + divisors[1:]))
        if nodes:
            specs["hw:numa_nodes"] = str(nodes)
            if nodes == 2 and vcpus >= 2 and draw(st.integers(0, 2)) == 0:
                cut = draw(st.integers(1, vcpus - 1))
                mem_cut = draw(st.sampled_from([ram // 2, ram // 4, 512]))
                specs["hw:numa_cpus.0"] = "0-%d" % (cut - 1)
                specs["hw:numa_cpus.1"] = "%d-%d" % (cut, vcpus - 1)
                specs["hw:numa_mem.0"] = str(mem_cut)
                specs["hw:numa_mem.1"] = str(ram - mem_cut)
        page = draw(st.sampled_from([None, None, None, "small", "large", "any", "2048", "1048576", "2MB", "1GB"]))
        if page:
            specs["hw:mem_page_size"] = page
    image = {}
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(["hw_cpu_policy", "hw_cpu_thread_policy", "hw_mem_page_size", "hw_numa_nodes",
                                    "hw_numa_cpus", "hw_locked_memory"]))
        if key == "hw_cpu_policy":
            image[key] = draw(st.sampled_from(["dedicated", "shared", "mixed"]))
        elif key == "hw_cpu_thread_policy":
            image[key] = draw(st.sampled_from(["prefer", "isolate", "require"]))
        elif key == "hw_mem_page_size":
            image[key] = draw(st.sampled_from(["small", "large", "2048", "1048576", "any"]))
        elif key == "hw_numa_nodes":
            image[key] = draw(st.sampled_from(["1", "2"]))
        elif key == "hw_numa_cpus":
            image["hw_numa_nodes"] = "2"
            half = max(1, vcpus // 2)
            image["hw_numa_cpus.0"] = "0-%d" % (half - 1)
            image["hw_numa_cpus.1"] = "%d-%d" % (half, max(half, vcpus - 1))
            image["hw_numa_mem.0"] = str(ram // 2)
            image["hw_numa_mem.1"] = str(ram - ram // 2)
        else:
            image[key] = "true"
    return {"name": "f", "vcpus": vcpus, "ram": ram, "disk": 1, "extra_specs": specs}, image


def _chaos(draw, specs, vcpus, ram):
    """Any mix of the NUMA extra specs, invalid values and conflicts included."""
    policy = draw(st.sampled_from([None, "dedicated", "dedicated", "shared", "mixed", "bogus", None]))
    if policy:
        specs["hw:cpu_policy"] = policy
    if draw(st.integers(0, 3)) == 0 or policy == "mixed" and draw(st.booleans()):
        specs["hw:cpu_dedicated_mask"] = draw(st.sampled_from(["0", "^0", "0-1", "1-%d" % (vcpus - 1), "7", "0-15"]))
    thread = draw(st.sampled_from([None, None, "prefer", "isolate", "require", "bogus"]))
    if thread:
        specs["hw:cpu_thread_policy"] = thread
    emu = draw(st.sampled_from([None, None, None, "share", "isolate", "bogus"]))
    if emu:
        specs["hw:emulator_threads_policy"] = emu
    nodes = draw(st.sampled_from([None, None, "1", "2", "2", "3", "4", "0", "x"]))
    if nodes:
        specs["hw:numa_nodes"] = nodes
    if nodes in ("2", "3") and draw(st.integers(0, 2)) == 0:
        n = int(nodes)
        cut = draw(st.integers(0, vcpus))
        split = [set(range(0, cut)), set(range(cut, vcpus))] + [set()] * (n - 2)
        mem_cut = draw(st.sampled_from([ram // 2, ram // 4, 512, ram]))
        mems = [mem_cut, ram - mem_cut] + [0] * (n - 2)
        for i in range(n):
            specs["hw:numa_cpus.%d" % i] = ",".join(str(x) for x in sorted(split[i])) or "0"
            specs["hw:numa_mem.%d" % i] = str(mems[i])
        if draw(st.integers(0, 4)) == 0:
            del specs["hw:numa_mem.%d" % (n - 1)]
    page = draw(st.sampled_from([None, None] + PAGE_SIZES))
    if page:
        specs["hw:mem_page_size"] = page
    extra = draw(st.sampled_from([None, None, "pcpu", "vcpu", "ht_required", "ht_forbidden", "locked",
                                  "realtime", "realtime_mask", "pmem"]))
    if extra == "pcpu":
        specs["resources:PCPU"] = str(vcpus + (1 if emu == "isolate" else 0))
    elif extra == "vcpu":
        specs["resources:VCPU"] = str(vcpus)
    elif extra == "ht_required":
        specs["trait:HW_CPU_HYPERTHREADING"] = "required"
    elif extra == "ht_forbidden":
        specs["trait:HW_CPU_HYPERTHREADING"] = "forbidden"
    elif extra == "locked":
        specs["hw:locked_memory"] = draw(st.sampled_from(["true", "false"]))
    elif extra == "realtime":
        specs["hw:cpu_realtime"] = "yes"
    elif extra == "realtime_mask":
        specs["hw:cpu_realtime"] = "yes"
        specs["hw:cpu_realtime_mask"] = draw(st.sampled_from(["^0", "0", "1-2", "^0-1"]))
    elif extra == "pmem":
        specs["hw:pmem"] = "small"


@st.composite
def cases(draw):
    flavor, image = draw(flavors())
    hosts = [draw(host_numa()) for _unused in range(HOSTS)]
    ratios = (draw(st.sampled_from([1.0, 2.0, 16.0])), draw(st.sampled_from([1.0, 1.5])))
    pack = draw(st.booleans())
    return flavor, image, hosts, ratios, pack


# ------------------------------------------------------------------ Nova's side


def nova_flavor(flavor):
    objects = O.nova()["objects"]
    return objects.Flavor(name=flavor["name"], flavorid="f1", vcpus=flavor["vcpus"], memory_mb=flavor["ram"],
                          root_gb=1, ephemeral_gb=0, swap=0, extra_specs=dict(flavor["extra_specs"]))


def nova_topology(numa_raw):
    objects = O.nova()["objects"]
    cells = []
    for c in numa_raw["cells"]:
        cells.append(objects.NUMACell(
            id=c["id"], cpuset=set(c["cpuset"]), pcpuset=set(c["pcpuset"]), memory=c["memory"],
            cpu_usage=c["cpu_usage"], memory_usage=c["memory_usage"], pinned_cpus=set(c["pinned_cpus"]),
            siblings=[set(s) for s in c["siblings"]], socket=c["socket"],
            mempages=[objects.NUMAPagesTopology(size_kb=p["size_kb"], total=p["total"], used=p["used"],
                                                reserved=p["reserved"]) for p in c["mempages"]]))
    return objects.NUMATopology(cells=cells)


def nova_constraints(flavor, image):
    from nova.virt import hardware
    objects = O.nova()["objects"]
    try:
        image_meta = objects.ImageMeta.from_dict({"properties": dict(image)})
        return hardware.numa_get_constraints(nova_flavor(flavor), image_meta), None
    except Exception as exc:  # noqa: BLE001 - Nova refusing is an outcome too
        return None, "%s: %s" % (type(exc).__name__, exc)


def describe_nova_cells(cells):
    return [(c.id, sorted(c.cpuset), sorted(c.pcpuset), c.memory, c.pagesize, c.cpu_policy, c.cpu_thread_policy)
            for c in cells]


def describe_mine(cells):
    return [(c.id, sorted(c.cpuset), sorted(c.pcpuset), c.memory, c.pagesize, c.cpu_policy, c.cpu_thread_policy)
            for c in cells]


def fitted_nova(topology):
    return [(c.id, c.pagesize, dict(c.cpu_pinning or {}), sorted(c.cpuset_reserved or ())) for c in topology.cells]


def fitted_mine(cells):
    return [(c.id, c.pagesize, dict(c.pinning or {}), sorted(c.cpuset_reserved or ())) for c in cells]


@pytest.fixture(scope="module", autouse=True)
def _nova():
    pytest.importorskip("nova")
    O.nova()


def _fail(what, case, detail):
    COUNTS["disagreements"] += 1
    flavor, image, hosts, ratios, pack = case
    raise AssertionError("%s\n%s\nflavor=%s\nimage=%s\nratios=%s pack=%s\nhosts=%s" % (
        what, detail, json.dumps(flavor), json.dumps(image), ratios, pack, json.dumps(hosts)))


def _compare_host(case, raw, topo_nova, topo_mine, ratios, pack):
    from nova.virt import hardware
    objects = O.nova()["objects"]
    limits = objects.NUMATopologyLimits(cpu_allocation_ratio=ratios[0], ram_allocation_ratio=ratios[1])
    host_nova = nova_topology(raw)
    host_mine = numa.host_cells(raw)
    for round_no in range(ROUNDS):
        COUNTS["fits_compared"] += 1
        request = topo_nova.obj_clone()
        nova_error = mine_error = None
        try:
            got = hardware.numa_fit_instance_to_host(host_nova, request, provider_mapping=None, limits=limits)
        except Exception as exc:  # noqa: BLE001
            got, nova_error = None, type(exc).__name__
        try:
            result = numa.fit(host_mine, topo_mine, limits=ratios, pack=pack)
        except numa.NovaRaises as exc:
            result, mine_error = None, str(exc)
        if nova_error or mine_error:
            if not (nova_error and mine_error):
                _fail("round %d: Nova raises %s, engine raises %s" % (round_no, nova_error, mine_error), case, "")
            COUNTS["nova_raises"] += 1
            return
        if (got is not None) != result.fits:
            _fail("round %d: Nova fits=%s, engine fits=%s" % (round_no, got is not None, result.fits), case,
                  "nova=%s\nengine reasons=%s" % (got and fitted_nova(got), result.reasons))
        if got is None:
            COUNTS["no_fit"] += 1
            return
        COUNTS["fit"] += 1
        COUNTS["chosen_cells_compared"] += 1
        if fitted_nova(got) != fitted_mine(result.cells):
            _fail("round %d: chosen cells differ" % round_no, case,
                  "nova=%s\nengine=%s" % (fitted_nova(got), fitted_mine(result.cells)))
        chosen = set(result.host_cell_ids())
        if any(not c.mempages for c in host_mine if c.id in chosen):
            return  # Nova's consumption needs the cells' page sizes (IndexError; libvirt always reports them)
        host_nova = hardware.numa_usage_from_instance_numa(host_nova, got)
        host_mine = numa.consume(host_mine, result.cells)


def _compare_filter(case, flavor, image, hosts, ratios, pack):
    """Nova's NUMATopologyFilter.host_passes against the engine's column, on the same hosts."""
    objects = O.nova()["objects"]
    snap = {"snapshot_version": 1, "hosts": [], "aggregates": []}
    for i, raw in enumerate(hosts):
        snap["hosts"].append({
            "name": "h%d" % i, "numa": raw,
            "resources": {"VCPU": {"total": 64, "allocation_ratio": ratios[0], "used": 0},
                          "MEMORY_MB": {"total": 65536, "allocation_ratio": ratios[1], "used": 0}},
            "service": {"status": "enabled", "state": "up"}})
    request = {"flavor": flavor, "image": {"id": "img", "properties": image}}
    try:
        req = normalize_request(request, snap)
    except ExplainError:
        return
    conf = normalize_scheduler({"enabled_filters": ["NUMATopologyFilter"],
                                "packing_host_numa_cells_allocation_strategy": pack})
    result = engine.run(Cloud(snap), conf, req)
    index = [i for i, c in enumerate(result["checks"]) if c.name == "NUMATopologyFilter"][0]
    O.nova()["conf"].set_override("packing_host_numa_cells_allocation_strategy", pack, group="compute")
    try:
        spec = O.request_spec(request, snap)
    except Exception:  # noqa: BLE001 - the image metadata Nova refuses is a request error above
        return
    from nova.virt import hardware
    spec.numa_topology = hardware.numa_get_constraints(spec.flavor, spec.image)
    spec.pci_requests = objects.InstancePCIRequests(requests=[])
    for i, raw in enumerate(snap["hosts"]):
        hs = O.host_state(raw, {})
        hs.numa_topology = nova_topology(raw["numa"])
        hs.allocation_candidates = [{"mappings": {}}]
        hs.limits = {}
        verdict = O.nova_verdict("NUMATopologyFilter", hs, spec).split(":", maxsplit=1)[0]
        cell = result["matrix"][i][index]
        COUNTS["filter_verdicts"] += 1
        COUNTS["filter_" + verdict] += 1
        if cell["verdict"] != verdict:
            _fail("NUMATopologyFilter on host %d: engine %s (%s), Nova %s"
                  % (i, cell["verdict"], cell["reason"], verdict), case, "")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(cases())
def test_numa_fit_agrees_with_nova(case):
    flavor, image, hosts, ratios, pack = case
    COUNTS["cases"] += 1
    O.nova()["conf"].set_override("packing_host_numa_cells_allocation_strategy", pack, group="compute")
    topo_nova, nova_error = nova_constraints(flavor, image)
    try:
        topo_mine = numa.constraints(flavor, image)
        mine_error = None
    except numa.NumaRequestError as exc:
        topo_mine, mine_error = None, str(exc)
    if bool(nova_error) != bool(mine_error):
        _fail("request: Nova %s, engine %s" % (nova_error or "accepts", mine_error or "accepts"), case, "")
    if nova_error:
        COUNTS["request_errors"] += 1
        return
    if (topo_nova is None) != (topo_mine is None):
        _fail("guest topology: Nova %s, engine %s" % (topo_nova, topo_mine), case, "")
    if topo_nova is None:
        COUNTS["no_topology"] += 1
        return
    COUNTS["topologies"] += 1
    if describe_nova_cells(topo_nova.cells) != describe_mine(topo_mine.cells) or \
            (topo_nova.emulator_threads_policy if "emulator_threads_policy" in topo_nova else None) != \
            topo_mine.emulator_threads_policy:
        _fail("guest topology differs", case,
              "nova=%s\nengine=%s" % (describe_nova_cells(topo_nova.cells), describe_mine(topo_mine.cells)))
    for raw in hosts:
        _compare_host(case, raw, topo_nova, topo_mine, ratios, pack)
    _compare_filter(case, flavor, image, hosts, ratios, pack)


def test_generator_is_not_degenerate():
    if not COUNTS["cases"]:
        pytest.skip("run with the oracle test")
    keys = ["request_errors", "fit", "no_fit", "filter_pass", "filter_fail"]
    if COUNTS["cases"] >= 500:
        keys.append("no_topology")  # rare: a valid request asking no NUMA at all
    for key in keys:
        assert COUNTS[key] > 0, (key, COUNTS)
