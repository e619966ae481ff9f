"""cpuset.parse_cpu_spec against nova.virt.hardware.parse_cpu_spec (the oracle), and the host checks."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import cpuset


def _nova(spec):
    from nova import exception
    from nova.virt import hardware
    try:
        return ("ok", hardware.parse_cpu_spec(spec))
    except exception.Invalid:
        return ("invalid", None)


def _ours(spec):
    try:
        return ("ok", cpuset.parse_cpu_spec(spec))
    except cpuset.CpuSpecError:
        return ("invalid", None)


CASES = [
    "4-12,^8,15", "0", "0-3", "1,2,3", " 1 , 2 ", "", ",", "1,,2", "^3", "0-7,^2-4", "3-1", "1-",
    "-1", "a", "1-a", "^a", "^", "1--3", "+3", " 0 - 3 ", "^ 2", "0-3,^2-", "1_0", "٣", "0x1",
    "1.5", "7-7", "^0-1,0-3", "1-2-3", "\t4", "12,^12", "10-12,^11-",
]


@pytest.mark.parametrize("spec", CASES)
def test_matches_nova_on_known_cases(spec):
    assert _ours(spec) == _nova(spec)


TOKENS = st.sampled_from(["0", "1", "3", "7", "12", "-", ",", "^", " ", "a", "+", "63", "^2", "4-6"])


def _huge(spec):
    return any(int(run) > cpuset.MAX_CPU_INDEX for run in re.findall(r"[0-9]+", spec))


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=10).map("".join))
def test_matches_nova_on_generated_specs(spec):
    if _huge(spec):
        # Nova would build a set of billions of CPUs (tens of GB): we refuse instead.
        assert _ours(spec) == ("invalid", None)
    else:
        assert _ours(spec) == _nova(spec)


@pytest.mark.parametrize("spec", ["0-6363636363", "^99999999999", "70000", "0-3,^0-65536"])
def test_indexes_beyond_any_host_are_refused_without_building_the_set(spec):
    with pytest.raises(cpuset.CpuSpecError, match="beyond any host"):
        cpuset.parse_cpu_spec(spec)


def test_largest_accepted_index():
    assert cpuset.parse_cpu_spec("65535") == {65535}


def test_format_round_trip():
    assert cpuset.format_cpu_set({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert cpuset.parse_cpu_spec(cpuset.format_cpu_set({0, 1, 2, 5})) == {0, 1, 2, 5}


def test_index_beyond_host_is_an_error_naming_the_option():
    with pytest.raises(cpuset.CpuSpecError, match=r"cpu_dedicated_set '2-4' names CPU\(s\) 4 that this host does not have \(host CPUs: 0-3\)"):
        cpuset.check_cpu_sets("0-3", dedicated="2-4")


def test_overlap_and_vcpu_pin_set_combination():
    with pytest.raises(cpuset.CpuSpecError, match="overlap on CPU"):
        cpuset.check_cpu_sets({0, 1, 2, 3}, dedicated="0-1", shared="1-2")
    with pytest.raises(cpuset.CpuSpecError, match="cannot be combined"):
        cpuset.check_cpu_sets("0-3", dedicated="0", vcpu_pin_set="1")
    assert cpuset.check_cpu_sets("0-3", dedicated="2-3", shared="0-1") == {
        "cpu_dedicated_set": {2, 3}, "cpu_shared_set": {0, 1}}


def test_empty_and_bad_syntax():
    with pytest.raises(cpuset.CpuSpecError, match="selects no CPU"):
        cpuset.check_cpu_sets("0-3", shared="^1")
    with pytest.raises(cpuset.CpuSpecError, match="cpu_shared_set '3-1': Invalid range expression"):
        cpuset.check_cpu_sets("0-3", shared="3-1")
