"""capacity.py at its edges, and flavor_request checked against Nova's own ResourceRequest."""

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as c


def view(total, reserved=0, ratio=1.0, used=0, **kw):
    inv = {"total": total, "reserved": reserved, "allocation_ratio": ratio}
    inv.update(kw)
    return c.resource_view(inv, used)


# ------------------------------------------------------------------ resource_view / capacity

def test_capacity_applies_reserved_then_ratio_and_floors():
    v = view(16, reserved=2, ratio=1.5, used=3)
    assert v["capacity"] == 21 and v["free"] == 18
    assert view(3, ratio=0.5)["capacity"] == 1  # 1.5 floored: placement never fits 2


def test_defaults_are_placements():
    v = c.resource_view({"total": 8})
    assert (v["reserved"], v["min_unit"], v["max_unit"], v["step_size"], v["allocation_ratio"]) == (0, 1, 8, 1, 1.0)
    assert v["used"] == 0 and v["free"] == 8


def test_reserved_greater_than_total_gives_negative_capacity_and_nothing_fits():
    v = view(4, reserved=6, ratio=4.0, used=0)
    assert v["capacity"] == -8 and v["free"] == -8
    assert c.max_allocations(v, 1) == 0
    ok, kind, reason = c.check_amount(v, 1)
    assert not ok and kind == "static" and "(4-6)x4.0=-8" in reason


def test_ratio_zero_fits_nothing():
    v = view(64, ratio=0.0)
    assert v["capacity"] == 0
    assert c.max_allocations(v, 1) == 0
    assert c.check_amount(v, 1)[:2] == (False, "static")


def test_negative_ratio_and_bad_numbers_are_named():
    with pytest.raises(c.CapacityError, match="allocation_ratio must not be negative"):
        view(4, ratio=-1)
    with pytest.raises(c.CapacityError, match="total must be a whole number"):
        c.resource_view({"total": 1.5})
    with pytest.raises(c.CapacityError, match="missing 'total'"):
        c.resource_view({"reserved": 1})
    with pytest.raises(c.CapacityError, match="reserved must be a number"):
        c.resource_view({"total": 1, "reserved": "x"})


def test_max_unit_limits_one_allocation_not_the_sum():
    v = view(64, ratio=1.0, max_unit=8)
    assert c.max_allocations(v, 8) == 8
    assert c.max_allocations(v, 9) == 0
    ok, kind, reason = c.check_amount(v, 9)
    assert not ok and kind == "static" and "max_unit 8" in reason


def test_min_unit():
    v = view(64, min_unit=4)
    assert c.max_allocations(v, 2) == 0
    assert c.check_amount(v, 2)[1] == "static"
    assert c.max_allocations(v, 4) == 16


def test_step_size():
    v = view(1024, step_size=256)
    assert c.max_allocations(v, 512) == 2
    assert c.max_allocations(v, 300) == 0
    ok, kind, reason = c.check_amount(v, 300)
    assert not ok and kind == "static" and "step_size 256" in reason


def test_dynamic_versus_static_rejection():
    v = view(8, used=6)
    assert c.check_amount(v, 2) == (True, None, c.check_amount(v, 2)[2])
    assert c.check_amount(v, 3)[:2] == (False, "dynamic")  # fits an empty provider
    assert c.check_amount(v, 9)[:2] == (False, "static")  # above max_unit 8
    assert c.check_amount(view(8, max_unit=16), 9)[:2] == (False, "static")  # more than capacity


def test_free_can_be_negative_after_ratio_change():
    v = view(8, ratio=1.0, used=20)
    assert v["free"] == -12 and c.max_allocations(v, 1) == 0


def test_headroom_takes_the_scarcest_class_and_missing_classes_give_zero():
    resources = {"VCPU": view(16, ratio=4.0, used=4), "MEMORY_MB": view(32768, reserved=512, used=2048),
                 "DISK_GB": view(100, used=10)}
    count, limited = c.headroom(resources, {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20})
    assert (count, limited) == (4, "DISK_GB")  # VCPU 30, RAM 7, DISK 4
    assert c.headroom(resources, {"VCPU": 1, "PCPU": 1}) == (0, "PCPU")
    assert c.headroom(resources, {}) == (0, None)


def test_provider_resources_without_usage_means_zero_used():
    res = c.provider_resources({"VCPU": {"total": 4}}, {})
    assert res["VCPU"]["used"] == 0 and res["VCPU"]["free"] == 4
    assert c.provider_resources(None, None) == {}


def test_totals_sum_per_class_and_count_providers():
    hosts = [{"resources": {"VCPU": view(4, ratio=2.0, used=1)}}, {"resources": {"VCPU": view(8, reserved=8)}},
             {"resources": {}}]
    t = c.totals(hosts)
    assert t["VCPU"] == {"total": 12, "reserved": 8, "used": 1, "capacity": 8, "free": 7, "providers": 2}


# ------------------------------------------------------------------ flavor_request

def test_plain_flavor():
    r = c.flavor_request({"vcpus": 2, "ram": 2048, "disk": 20})
    assert r["resources"] == {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}
    assert r["required_traits"] == [] and r["forbidden_traits"] == [] and r["groups"] == 0


@pytest.mark.parametrize("swap,extra", [(0, 0), (1, 1), (1023, 1), (1024, 1), (1025, 2), (4096, 4)])
def test_swap_rounds_up_to_whole_gb(swap, extra):
    r = c.flavor_request({"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 2, "swap": swap})
    assert r["resources"]["DISK_GB"] == 1 + 2 + extra


def test_boot_from_volume_drops_root_disk_and_zero_disk_is_dropped():
    r = c.flavor_request({"vcpus": 1, "ram": 512, "disk": 10}, is_bfv=True)
    assert "DISK_GB" not in r["resources"]
    r = c.flavor_request({"vcpus": 1, "ram": 512, "disk": 10, "ephemeral": 5}, is_bfv=True)
    assert r["resources"]["DISK_GB"] == 5


def test_dedicated_cpu_policy_asks_pcpu_not_vcpu():
    r = c.flavor_request({"vcpus": 4, "ram": 1024, "disk": 1, "extra_specs": {"hw:cpu_policy": "dedicated"}})
    assert r["resources"] == {"PCPU": 4, "MEMORY_MB": 1024, "DISK_GB": 1}
    r = c.flavor_request({"vcpus": 4, "ram": 1024, "disk": 1, "extra_specs": {
        "hw:cpu_policy": "dedicated", "hw:emulator_threads_policy": "isolate"}})
    assert r["resources"]["PCPU"] == 5


def test_mixed_policy_splits_vcpu_and_pcpu():
    r = c.flavor_request({"vcpus": 4, "ram": 1024, "disk": 1, "extra_specs": {
        "hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "^0"}})
    assert r["resources"]["PCPU"] == 3 and r["resources"]["VCPU"] == 1


def test_resources_overrides():
    r = c.flavor_request({"vcpus": 4, "ram": 1024, "disk": 10, "extra_specs": {
        "resources:VCPU": "0", "resources:CUSTOM_BAREMETAL_GOLD": "1", "resources:DISK_GB": "0",
        "resources:MEMORY_MB": "0"}})
    assert r["resources"] == {"CUSTOM_BAREMETAL_GOLD": 1}
    r = c.flavor_request({"vcpus": 4, "ram": 1024, "disk": 10, "extra_specs": {"resources:DISK_GB": "3"}})
    assert r["resources"]["DISK_GB"] == 3


def test_traits_and_thread_policy():
    r = c.flavor_request({"vcpus": 1, "ram": 1, "disk": 0, "extra_specs": {
        "trait:HW_CPU_X86_AVX2": "required", "trait:CUSTOM_SLOW": "forbidden", "hw:cpu_thread_policy": "isolate"}},
        image_properties={"traits_required": ["CUSTOM_IMG"]})
    assert r["required_traits"] == ["CUSTOM_IMG", "HW_CPU_X86_AVX2"]
    assert r["forbidden_traits"] == ["CUSTOM_SLOW", "HW_CPU_HYPERTHREADING"]


@pytest.mark.parametrize("flavor,message", [
    ({"vcpus": "x", "ram": 1}, "flavor vcpus must be a number"),
    ({"vcpus": -1, "ram": 1}, "flavor vcpus must not be negative"),
    ({"vcpus": 1, "ram": 1, "extra_specs": {"resources:VCPU": "two"}}, "resources:VCPU"),
    ({"vcpus": 1, "ram": 1, "extra_specs": {"resources:lower": "1"}}, "not a resource class"),
    ({"vcpus": 1, "ram": 1, "extra_specs": {"trait:X": "maybe"}}, "trait:X must be 'required' or 'forbidden'"),
    ({"vcpus": 1, "ram": 1, "extra_specs": {"hw:cpu_policy": "sometimes"}}, "hw:cpu_policy must be"),
    ({"vcpus": 2, "ram": 1, "extra_specs": {"hw:cpu_policy": "mixed", "hw:cpu_dedicated_mask": "a-b"}},
     "hw:cpu_dedicated_mask"),
    ("m1.small", "flavor must be a mapping"),
])
def test_bad_flavors_name_the_field(flavor, message):
    with pytest.raises(c.CapacityError, match=message):
        c.flavor_request(flavor)


# ------------------------------------------------------------------ oracle: Nova's ResourceRequest

os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")


@pytest.fixture(scope="module")
def nova():
    objects = pytest.importorskip("nova.objects")
    objects.register_all()
    from nova.scheduler import utils as scheduler_utils
    return objects, scheduler_utils


def nova_request(nova, flavor, image_traits, is_bfv, translate=True):
    objects, scheduler_utils = nova
    fl = objects.Flavor(vcpus=flavor["vcpus"], memory_mb=flavor["ram"], root_gb=flavor["disk"],
                        ephemeral_gb=flavor["ephemeral"], swap=flavor["swap"],
                        extra_specs=dict(flavor["extra_specs"]))
    image = objects.ImageMeta(properties=objects.ImageMetaProps(traits_required=list(image_traits)))
    spec = objects.RequestSpec(flavor=fl, is_bfv=is_bfv, image=image, requested_resources=[],
                               request_level_params=objects.RequestLevelParams())
    rr = scheduler_utils.ResourceRequest.from_request_spec(spec, enable_pinning_translate=translate)
    pinning = rr.cpu_pinning_requested
    rr.strip_zeros()
    forbidden = set()
    for group in rr._rg_by_id.values():
        forbidden |= set(group.forbidden_traits)
    return {
        "resources": {k: v for k, v in rr.merged_resources().items() if v},
        "required_traits": sorted(rr.all_required_traits),
        "forbidden_traits": sorted(forbidden),
        "groups": rr.get_num_of_suffixed_groups(),
        "cpu_pinning_requested": pinning,
    }


CUSTOM = st.sampled_from(["CUSTOM_GPU", "CUSTOM_FPGA", "CUSTOM_BAREMETAL_GOLD"])
TRAITS = st.sampled_from(["HW_CPU_X86_AVX2", "CUSTOM_SSD", "COMPUTE_STATUS_DISABLED", "CUSTOM_RACK_A"])


@st.composite
def flavors(draw):
    vcpus = draw(st.integers(1, 64))
    flavor = {"vcpus": vcpus, "ram": draw(st.integers(1, 262144)), "disk": draw(st.integers(0, 500)),
              "ephemeral": draw(st.integers(0, 100)), "swap": draw(st.integers(0, 9000)), "extra_specs": {}}
    xs = flavor["extra_specs"]
    policy = draw(st.sampled_from([None, "shared", "dedicated", "mixed"]))
    if policy == "mixed" and vcpus < 2:
        policy = "dedicated"
    if policy:
        xs["hw:cpu_policy"] = policy
    if policy == "mixed":
        if draw(st.booleans()):
            xs["hw:cpu_dedicated_mask"] = "^0"
        else:
            xs["hw:cpu_dedicated_mask"] = "0-%d" % draw(st.integers(0, vcpus - 2))
    if policy in ("dedicated", "mixed") and draw(st.booleans()):
        xs["hw:emulator_threads_policy"] = draw(st.sampled_from(["isolate", "share"]))
    if draw(st.booleans()):
        xs["hw:cpu_thread_policy"] = draw(st.sampled_from(["prefer", "isolate", "require"]))
    if policy in (None, "shared"):
        if draw(st.booleans()):
            xs["resources:VCPU"] = str(draw(st.integers(0, 8)))
    for rc in ("MEMORY_MB", "DISK_GB"):
        if draw(st.integers(0, 3)) == 0:
            xs["resources:%s" % rc] = str(draw(st.integers(0, 4096)))
    for name in draw(st.lists(CUSTOM, max_size=2, unique=True)):
        xs["resources:%s" % name] = str(draw(st.integers(0, 4)))
    if draw(st.booleans()):
        xs["resources1:%s" % draw(CUSTOM)] = str(draw(st.integers(1, 2)))
    for trait in draw(st.lists(TRAITS, max_size=3, unique=True)):
        xs["trait:%s" % trait] = draw(st.sampled_from(["required", "forbidden"]))
    if draw(st.integers(0, 4)) == 0:
        xs["trait_gpu:CUSTOM_GPU_MODEL_A"] = "required"
    if draw(st.booleans()):
        xs["hw:mem_page_size"] = "large"  # not a placement spec: must be ignored by both
    return flavor


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flavor=flavors(), image_traits=st.lists(TRAITS, max_size=2, unique=True), is_bfv=st.booleans())
def test_flavor_request_agrees_with_nova(nova, flavor, image_traits, is_bfv):
    ours = c.flavor_request(flavor, image_properties={"traits_required": image_traits}, is_bfv=is_bfv)
    theirs = nova_request(nova, flavor, image_traits, is_bfv)
    assert ours["resources"] == theirs["resources"]
    assert ours["required_traits"] == theirs["required_traits"]
    assert ours["forbidden_traits"] == theirs["forbidden_traits"]
    assert ours["groups"] == theirs["groups"]
    # the scheduler's second placement query for pinned flavors (nova.scheduler.manager)
    assert ours["cpu_pinning_requested"] == theirs["cpu_pinning_requested"]
    if theirs["cpu_pinning_requested"]:
        legacy = nova_request(nova, flavor, image_traits, is_bfv, translate=False)
        assert ours["fallback"]["resources"] == legacy["resources"]
        assert ours["fallback"]["required_traits"] == legacy["required_traits"]
        assert ours["fallback"]["forbidden_traits"] == legacy["forbidden_traits"]
    else:
        assert ours["fallback"] is None
