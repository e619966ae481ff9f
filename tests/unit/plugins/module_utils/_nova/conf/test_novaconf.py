"""novaconf: lossless edits, read back with oslo.config's own parser (the oracle)."""

import pytest
from hypothesis import given, settings, strategies as st
from oslo_config import iniparser

from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import novaconf as nc

SAMPLE = """\
# nova.conf as a distribution ships it
[DEFAULT]
# comment kept
#cpu_allocation_ratio = <None>
state_path = /var/lib/nova
debug: true

; another comment style
[libvirt]
virt_type = kvm
multi = first
  continued

[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
available_filters = my.filters.Custom
"""


def oslo_read(text, section_name=lambda section: section):
    """What oslo.config reads: {section: {key: [values...]}}; ``section_name`` maps each header
    (``novaconf.oslo_group`` folds them into the groups oslo.config's ConfigParser keeps)."""
    class P(iniparser.BaseParser):
        def __init__(self):
            super().__init__()
            self.data = {}
            self.section = None

        def new_section(self, section):
            self.section = section_name(section)
            self.data.setdefault(self.section, {})

        def assignment(self, key, value):
            self.data[self.section].setdefault(key, []).append("\n".join(value))

        def parse_exc(self, msg, lineno, line=None):
            raise ValueError(msg)

    p = P()
    p.parse(text.splitlines(keepends=True))
    return p.data


def test_reads_like_oslo():
    conf = nc.NovaConf(SAMPLE)
    data = oslo_read(SAMPLE)
    for section, opts in data.items():
        for key, values in opts.items():
            assert conf.get(section, key) == values


def test_no_change_is_byte_identical():
    text, changed = nc.apply_changes(SAMPLE, [
        {"section": "libvirt", "option": "virt_type", "value": "kvm"},
        {"section": "DEFAULT", "option": "nonexistent", "state": "absent"},
    ])
    assert text == SAMPLE and changed == []


def test_set_touches_only_that_line_and_inserts_under_template():
    text, changed = nc.apply_changes(SAMPLE, [
        {"section": "DEFAULT", "option": "cpu_allocation_ratio", "value": "16.0"},
        {"section": "libvirt", "option": "virt_type", "value": "qemu"},
    ])
    old, new = SAMPLE.splitlines(), text.splitlines()
    assert new[new.index("#cpu_allocation_ratio = <None>") + 1] == "cpu_allocation_ratio = 16.0"
    assert [line for line in new if line not in old] == ["cpu_allocation_ratio = 16.0", "virt_type = qemu"]
    assert [line for line in old if line not in new] == ["virt_type = kvm"]
    assert oslo_read(text)["libvirt"]["virt_type"] == ["qemu"]
    assert [c["option"] for c in changed] == ["cpu_allocation_ratio", "virt_type"]


def test_multiline_value_replaced_whole_and_removed():
    text, _changes = nc.apply_changes(SAMPLE, [{"section": "libvirt", "option": "multi", "value": "one"}])
    assert "continued" not in text and oslo_read(text)["libvirt"]["multi"] == ["one"]
    text, _changes = nc.apply_changes(SAMPLE, [{"section": "libvirt", "option": "multi", "value": None}])
    assert "multi" not in oslo_read(text)["libvirt"] and "continued" not in text


def test_multi_valued_option():
    text, _changes = nc.apply_changes(SAMPLE, [{"section": "filter_scheduler", "option": "available_filters",
                                                "value": ["nova.scheduler.filters.all_filters"]}])
    assert oslo_read(text)["filter_scheduler"]["available_filters"] == ["nova.scheduler.filters.all_filters"]
    again, changed = nc.apply_changes(text, [{"section": "filter_scheduler", "option": "available_filters",
                                              "value": ["nova.scheduler.filters.all_filters"]}])
    assert again == text and not changed


def test_new_section_appended():
    text, _changes = nc.apply_changes(SAMPLE, [{"section": "compute", "option": "cpu_shared_set", "value": "0-3"}])
    assert text.startswith(SAMPLE) and text.endswith("\n[compute]\ncpu_shared_set = 0-3\n")
    assert nc.apply_changes("", [{"section": "DEFAULT", "option": "a", "value": "b"}])[0] == "[DEFAULT]\na = b\n"


def test_crlf_and_missing_final_newline_kept():
    text, _changes = nc.apply_changes("[DEFAULT]\r\na = 1", [{"section": "DEFAULT", "option": "b", "value": "2"}])
    assert text == "[DEFAULT]\r\na = 1\r\nb = 2\r\n"


@pytest.mark.parametrize("value", ["x\n[DEFAULT]\ntransport_url = evil", "x\r[s]", "a\x00b", "a\u2028b", "a\x1bb"])
def test_injection_refused_before_any_edit(value):
    with pytest.raises(nc.NovaConfError, match="nova_x"):
        nc.apply_changes(SAMPLE, [{"section": "DEFAULT", "option": "ok", "value": "1"},
                                  {"section": "DEFAULT", "option": "debug", "value": value, "label": "nova_x"}])


@pytest.mark.parametrize("section,option", [("DEF]AULT", "a"), ("DEFAULT", "a = b"), ("", "a"), ("DEFAULT", "a\nb")])
def test_bad_names_refused(section, option):
    with pytest.raises(nc.NovaConfError):
        nc.apply_changes(SAMPLE, [{"section": section, "option": option, "value": "1"}])


def test_typed_values_rendered_for_oslo():
    text, _changes = nc.apply_changes("", [{"section": "DEFAULT", "option": "a", "value": True},
                                           {"section": "DEFAULT", "option": "b", "value": 4.0},
                                           {"section": "DEFAULT", "option": "c", "value": 3}])
    assert oslo_read(text)["DEFAULT"] == {"a": ["true"], "b": ["4.0"], "c": ["3"]}


VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                                        blacklist_characters="\x85"), max_size=20)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_single_line_value_reads_back_exactly_with_oslo(value):
    text, _changes = nc.apply_changes(SAMPLE, [{"section": "libvirt", "option": "opt", "value": value}])
    assert oslo_read(text)["libvirt"]["opt"] == [value]
    # and everything else is unchanged
    before = oslo_read(SAMPLE)
    after = oslo_read(text)
    after["libvirt"].pop("opt")
    assert after == before


def test_style_of_the_file_is_kept():
    text = "[DEFAULT]\ndebug=false\nstate_path=/var/lib/nova\n\n[libvirt]\nvirt_type = kvm\n"
    after, _changed = nc.apply_changes(text, [
        {"section": "DEFAULT", "option": "debug", "value": True},
        {"section": "DEFAULT", "option": "my_ip", "value": "192.0.2.1"},
        {"section": "libvirt", "option": "cpu_mode", "value": "none"},
        {"section": "vnc", "option": "enabled", "value": False}])
    assert after == ("[DEFAULT]\ndebug=true\nstate_path=/var/lib/nova\nmy_ip=192.0.2.1\n\n[libvirt]\n"
                     "virt_type = kvm\ncpu_mode = none\n\n[vnc]\nenabled=false\n")
    assert nc.NovaConf(after).names()[:2] == [("DEFAULT", "debug", 2), ("DEFAULT", "state_path", 3)]
