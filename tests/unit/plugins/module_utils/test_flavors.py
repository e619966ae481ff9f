"""flavors.py: the flavor option, inline or looked up, with errors naming `flavor`."""

import pytest

from ansible_collections.stackops.nova.plugins.module_utils import flavors as fl


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
