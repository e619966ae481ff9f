"""option_check: the roles' controller-side checks (the nova_option_check filter) and the
scheduler role's nova.conf options (nova_scheduler_conf), on edge cases; the roles themselves
are tested on molecule hosts."""

import pytest

from ansible_collections.stackops.nova.plugins.filter import nova_conf as nova_conf_filters
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import option_check as oc
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import scheduler_options as so


@pytest.mark.parametrize("item,expect", [
    ({"label": "v_ratio", "check": "number", "above": 0, "value": "abc"}, "v_ratio must be a number"),
    ({"label": "v_ratio", "check": "number", "above": 0, "value": 0}, "v_ratio must be a number above 0"),
    ({"label": "v_ratio", "check": "number", "above": 0, "value": "nan"}, "finite"),
    ({"label": "v_mem", "check": "integer", "min": 0, "value": -1}, "v_mem must be 0 or more"),
    ({"label": "v_set", "check": "cpuset", "value": "1-x"}, 'v_set: "1-x" is not a CPU set'),
    ({"label": "v_set", "check": "cpuset", "value": "3-1"}, "Invalid range expression"),
    ({"label": "v_f", "check": "filter_names", "value": ["ComputeFilter\n[DEFAULT]"]}, "v_f: "),
    ({"label": "v_p", "check": "python_paths", "value": ["a b"]}, "not a Python path"),
    ({"label": "v_w", "check": "weight_multipliers", "value": {"ram": "abc"}}, "v_w.ram must be a number"),
    ({"label": "v_w", "check": "weight_multipliers", "value": {"ram_weight_multiplier": 1}}, "without the _weight"),
    ({"label": "v_w", "check": "weight_multipliers", "value": {"soft_affinity": -1}}, "v_w.soft_affinity must be 0.0 or more"),
    ({"label": "v_pf", "check": "prefilters", "value": {"no_such": True}}, "v_pf.no_such: expected one of"),
    ({"label": "v_pf", "check": "prefilters", "value": {"image_metadata_prefilter": "maybe"}}, "must be a boolean"),
    ({"label": "v_n", "option": "max_attempts", "value": 0}, "v_n must be 1 or more"),
    ({"label": "v_n", "option": "max_atempts", "value": 1}, "not a scheduler option"),
    ({"label": "v_x", "check": "conf_options", "value": [{"section": "DEFAULT", "option": "debug", "value": "a\nb"}]},
     "line break"),
    ({"label": "v_x", "check": "conf_options", "value": [{"section": "DEFAULT", "option": "debug",
                                                         "value": ["ok", "a\u2028b"]}]}, "line break"),
    ({"label": "v_x", "check": "conf_options", "value": [{"section": "DEF]AULT", "option": "debug", "value": "1"}]},
     "invalid section name"),
    ({"label": "v_a", "check": "host_address", "value": "x\n[libvirt]"}, "v_a must be a host name"),
    ({"label": "v_c", "check": "conf_value", "value": ["a", "b\x07"]}, "control character"),
])
def test_bad_input_is_named(item, expect):
    problems = oc.check_items([item])
    assert problems and expect in problems[0], problems
    assert problems[0].startswith(item["label"])


@pytest.mark.parametrize("item", [
    {"label": "v", "check": "number", "above": 0, "value": "16.0"},
    {"label": "v", "check": "integer", "min": 0, "value": "0"},
    {"label": "v", "check": "cpuset", "value": "4-12,^8,15"},
    {"label": "v", "check": "cpuset", "value": None},
    {"label": "v", "check": "weight_multipliers", "value": {"ram": 2, "io_ops": -2.0, "my_out_of_tree": 1}},
    # whether the installed nova has an option is the host's nova's answer, not the controller's
    {"label": "v", "check": "weight_multipliers", "value": {"hypervisor_version": 1.0}},
    {"label": "v", "check": "prefilters", "value": {"query_placement_for_availability_zone": "yes"}},
    {"label": "v", "option": "enabled_filters", "value": ["ComputeFilter", "NUMATopologyFilter"]},
])
def test_good_input_passes(item):
    assert oc.check_items([item]) == []


def test_release_bound_only_when_asked():
    item = {"label": "v", "option": "hypervisor_version_weight_multiplier", "value": 1.0, "nova_major": 26}
    assert "only from nova 28 on" in oc.check_items([item])[0]


def test_malformed_check_is_a_filter_error():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="unknown check 'nope'"):
        nova_conf_filters.nova_option_check([{"label": "x", "check": "nope", "value": 1}])
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        nova_conf_filters.nova_option_check("x")


def test_scheduler_conf_takes_sections_and_text_from_the_table():
    out = nova_conf_filters.nova_scheduler_conf([
        {"option": "enabled_filters", "value": ["ComputeFilter", "ImagePropertiesFilter"], "label": "a"},
        {"option": "available_filters", "value": ["nova.scheduler.filters.all_filters", "x.Y"], "label": "b"},
        {"option": "max_attempts", "value": 5, "label": "c"},
        {"option": "ram_weight_multiplier", "value": 2.0, "label": "d", "section": "filter_scheduler"},
        {"option": "limit_tenants_to_placement_aggregate", "value": "yes", "label": "e"},
        {"option": "mine_weight_multiplier", "value": 1.5, "label": "f", "section": "filter_scheduler"},
    ])
    assert out == [
        {"section": "filter_scheduler", "option": "enabled_filters", "value": "ComputeFilter,ImagePropertiesFilter",
         "label": "a"},
        {"section": "filter_scheduler", "option": "available_filters",
         "value": ["nova.scheduler.filters.all_filters", "x.Y"], "label": "b"},
        {"section": "scheduler", "option": "max_attempts", "value": "5", "label": "c"},
        {"section": "filter_scheduler", "option": "ram_weight_multiplier", "value": "2.0", "label": "d"},
        {"section": "scheduler", "option": "limit_tenants_to_placement_aggregate", "value": "true", "label": "e"},
        {"section": "filter_scheduler", "option": "mine_weight_multiplier", "value": "1.5", "label": "f"},
    ]
    with pytest.raises(so.OptionError, match="zzz: nope is not a scheduler option"):
        so.conf_items([{"option": "nope", "value": 1, "label": "zzz"}])
