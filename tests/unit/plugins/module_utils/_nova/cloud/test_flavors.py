"""flavors.py: the flavor option, inline or looked up, with errors naming `flavor`."""

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as fl


def test_inline_flavor_normalises():
    out = fl.inline_flavor({"vcpus": "2", "ram": 1024, "disk": 10.0, "extra_specs": {"hw:cpu_policy": "dedicated"}})
    assert out == {"name": "inline", "vcpus": 2, "ram": 1024, "disk": 10, "ephemeral": 0, "swap": 0,
                   "extra_specs": {"hw:cpu_policy": "dedicated"}}


@pytest.mark.parametrize("value,message", [
    ({"vcpus": 1, "ram": 1, "cpus": 2}, "flavor has unknown key.s. cpus"),
    ({"ram": 1}, "flavor.vcpus is required"),
    ({"vcpus": 1}, "flavor.ram is required"),
    ({"vcpus": 1, "ram": "lots"}, "flavor.ram must be a whole number"),
    ({"vcpus": 1.5, "ram": 1}, "flavor.vcpus must be a whole number >= 0"),
    ({"vcpus": -1, "ram": 1}, "flavor.vcpus must be a whole number >= 0"),
    ({"vcpus": True, "ram": 1}, "flavor.vcpus must be a whole number"),
    ({"vcpus": 1, "ram": 1, "extra_specs": ["a"]}, "flavor.extra_specs must be a mapping"),
    (["m1.small"], "flavor must be a flavor name or id, or a mapping"),
])
def test_bad_inline_flavor_names_the_key(value, message):
    with pytest.raises(ValueError, match=message):
        fl.inline_flavor(value)


RECORDS = [
    {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1, "OS-FLV-EXT-DATA:ephemeral": 0, "swap": "",
     "extra_specs": {}},
    {"id": "2", "name": "dup", "vcpus": 2, "ram": 1024, "disk": 1},
    {"id": "3", "name": "dup", "vcpus": 4, "ram": 1024, "disk": 1},
    {"id": "4", "name": "1", "vcpus": 8, "ram": 1024, "disk": 1},
]


def test_pick_flavor_prefers_id_then_unique_name():
    assert fl.pick_flavor(RECORDS, "1")["name"] == "m1.tiny"  # id wins over a flavor named "1"
    tiny = fl.pick_flavor(RECORDS, "m1.tiny")
    assert tiny["swap"] == 0 and tiny["extra_specs"] == {}
    with pytest.raises(ValueError, match="flavor 'dup' is ambiguous: 2 flavors"):
        fl.pick_flavor(RECORDS, "dup")
    with pytest.raises(ValueError, match="flavor 'm9.huge' was not found"):
        fl.pick_flavor(RECORDS, "m9.huge")


# --- odd values (issue 17): a clear error naming the key, never an exception ---------------------

def _huge_ids(value):
    if isinstance(value, int) and value.bit_length() > 1000 or isinstance(value, str) and len(value) > 1000:
        return "huge"
    return None


@pytest.mark.parametrize("key, value, words", [
    ("vcpus", float("inf"), "flavor.vcpus must be a finite whole number"),
    ("ram", float("-inf"), "flavor.ram must be a finite whole number"),
    ("disk", float("nan"), "flavor.disk must be a finite whole number"),
    ("vcpus", "inf", "flavor.vcpus must be a finite whole number"),
    ("ram", "1e999", "flavor.ram must be a finite whole number"),
    ("disk", "9" * 5000, "flavor.disk must be a whole number of at most 2147483647"),
    ("ram", 10 ** 5000, "flavor.ram must be at most 2147483647"),
    ("ephemeral", 2 ** 31, "flavor.ephemeral must be at most 2147483647"),
    ("swap", [512], "flavor.swap must be a whole number, got list"),
    ("vcpus", {"n": 1}, "flavor.vcpus must be a whole number, got dict"),
    ("ram", -1, "flavor.ram must be a whole number >= 0"),
    ("vcpus", 1.5, "flavor.vcpus must be a whole number >= 0"),
    ("name", ["x"], "flavor.name must be a string"),
    ("extra_specs", {"hw:cpu_policy": ["dedicated"]}, "flavor.extra_specs['hw:cpu_policy'] must be a string"),
    ("extra_specs", {"quota:x": float("nan")}, "flavor.extra_specs['quota:x'] must be finite"),
], ids=_huge_ids)
def test_odd_values_name_the_key(key, value, words):
    data = {"vcpus": 1, "ram": 512, "disk": 1}
    data[key] = value
    with pytest.raises(ValueError) as info:
        fl.inline_flavor(data)
    assert words in str(info.value)
    assert len(str(info.value)) < 300


def test_numbers_as_text_and_integral_floats_are_accepted():
    out = fl.inline_flavor({"vcpus": "2", "ram": 1024.0, "disk": " 10 ", "swap": ""})
    assert (out["vcpus"], out["ram"], out["disk"], out["swap"]) == (2, 1024, 10, 0)


def test_check_numbers_covers_flavors_of_any_origin():
    fl.check_numbers({"vcpus": 1, "ram": 512, "id": "x", "is_public": True})
    with pytest.raises(ValueError, match="flavor.memory_mb must be a finite whole number"):
        fl.check_numbers({"vcpus": 1, "memory_mb": float("inf")})
