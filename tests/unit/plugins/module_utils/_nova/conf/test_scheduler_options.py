"""The scheduler option table against the options nova 34 registers (its oslo.config opts)."""

import warnings

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import novaconf
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import scheduler_options as so
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import config as explain_config

warnings.simplefilter("ignore", DeprecationWarning)
cfg = pytest.importorskip("oslo_config.cfg")
nova_conf = pytest.importorskip("nova.conf")

TYPES = {"Boolean": "bool", "Integer": "int", "Float": "float", "String": "str", "MultiString": "multistr",
         "List": "list"}


def _registered():
    """{(section, name): opt} of every option of nova 34's registry (nova.conf.CONF)."""
    conf = nova_conf.CONF
    out = {}
    for name, info in conf._opts.items():
        out[("DEFAULT", name)] = info["opt"]
    for gname, group in conf._groups.items():
        for name, info in group._opts.items():
            out[(gname, name)] = info["opt"]
    return out


REGISTERED = _registered()


def test_nova_is_34():
    from nova import version
    assert version.version_string().split(".")[0] == "34"


@pytest.mark.parametrize("name", sorted(n for n in so.OPTIONS if so.exists_in(n, 34)))
def test_option_matches_nova_34(name):
    entry = so.OPTIONS[name]
    opt = REGISTERED.get((entry["section"], so.option_name(name)))
    assert opt is not None, "nova 34 has no [%s] %s" % (entry["section"], name)
    assert TYPES[type(opt.type).__name__] == entry["type"], name
    default = opt.default
    if entry["type"] == "list" and default is not None:
        default = list(default)
    assert default == entry["default"], "%s: nova 34 default %r, table %r" % (name, default, entry["default"])
    minimum = getattr(opt.type, "min", None)
    assert entry.get("min") == minimum, "%s: nova's min %r, table %r" % (name, minimum, entry.get("min"))
    choices = getattr(opt.type, "choices", None)
    assert (list(choices) if choices else None) == entry.get("choices"), name
    # nova 34 keeps no deprecated alias of these: the table's old names are all gone by 34
    if entry.get("deprecated_still_read"):
        assert sorted((d.group or "DEFAULT", d.name) for d in opt.deprecated_opts) == \
            sorted(tuple(d) for d in entry["deprecated_names"]), name
        return
    assert not opt.deprecated_opts, "%s: nova 34 reads %s" % (name, [(d.group, d.name) for d in opt.deprecated_opts])
    assert so.DEPRECATED_NAMES_GONE_BY <= 34


def test_every_scheduler_section_option_is_in_the_table():
    nova_names = {(s, n) for (s, n) in REGISTERED if s in ("scheduler", "filter_scheduler")}
    table = {(e["section"], n) for n, e in so.OPTIONS.items() if so.exists_in(n, 34)}
    assert nova_names - table == set()


def test_options_retired_before_34_are_not_registered():
    for name, entry in so.OPTIONS.items():
        if not so.exists_in(name, 34):
            assert (entry["section"], name) not in REGISTERED, name


def test_old_names_are_not_nova_34_options():
    for name, entry in so.OPTIONS.items():
        for section, old in entry["deprecated_names"]:
            assert (section, old) not in REGISTERED or old == name, (section, old)


def test_engine_defaults_come_from_the_table():
    for name, value in explain_config.DEFAULTS.items():
        assert so.OPTIONS[name]["engine"], name
        assert value == so.OPTIONS[name]["default"], name
    for name, value in explain_config.DEFAULT_WEIGHTS.items():
        assert value == so.OPTIONS[name]["default"], name
    conf = explain_config.normalize_scheduler(None)
    assert conf["enabled_filters"] == so.OPTIONS["enabled_filters"]["default"]
    assert conf["weight_classes"] == so.OPTIONS["weight_classes"]["default"]


@pytest.mark.parametrize("name,value", [
    ("max_attempts", "0"), ("max_attempts", "x"), ("host_subset_size", 0), ("ram_weight_multiplier", "abc"),
    ("limit_tenants_to_placement_aggregate", "maybe"), ("soft_affinity_weight_multiplier", -1),
    ("image_properties_default_architecture", "z80"),
])
def test_check_agrees_with_nova_on_bad_values(name, value):
    """What check() refuses, oslo.config refuses for nova 34's option too (and the reverse below)."""
    problems = so.check(name, value, label="var_x")
    assert problems and problems[0].startswith("var_x"), problems
    opt = REGISTERED[(so.OPTIONS[name]["section"], so.option_name(name))]
    with pytest.raises((ValueError, TypeError)):
        opt.type(str(value))


@pytest.mark.parametrize("name,value", [
    ("max_attempts", "1"), ("host_subset_size", 3), ("ram_weight_multiplier", "-2.5"),
    ("limit_tenants_to_placement_aggregate", "yes"), ("image_properties_default_architecture", "x86_64"),
    ("enabled_filters", "ComputeFilter,NUMATopologyFilter"),
])
def test_check_accepts_what_nova_accepts(name, value):
    assert so.check(name, value) == []
    opt = REGISTERED[(so.OPTIONS[name]["section"], so.option_name(name))]
    assert so.convert(name, value) == (list(opt.type(str(value))) if so.OPTIONS[name]["type"] == "list"
                                       else opt.type(str(value)))


def test_check_names_release_bounds():
    assert "only from nova 28 on" in so.check("hypervisor_version_weight_multiplier", 1.0, "w", major=26)[0]
    assert "only up to nova 27" in so.check("query_placement_for_availability_zone", True, "p")[0]
    assert "not a scheduler option" in so.check("max_atempts", 3, "m")[0]


def _read(text, major=None):
    return so.read_nova_conf(text, major, conf_class=novaconf.NovaConf)


NOVA_CONF = """\
[DEFAULT]
debug = true
scheduler_default_filters = RamFilter,ComputeFilter

[filter_scheduler]
enabled_filters = ComputeFilter, NUMATopologyFilter
available_filters = nova.scheduler.filters.all_filters
available_filters = my.filters.Mine
ram_weight_multiplier = -1.5
host_subset_size = 2

[scheduler]
max_attempts = 5
limit_tenants_to_placement_aggregate = True
"""


def test_read_nova_conf_like_oslo_config(tmp_path):
    values, warns = _read(NOVA_CONF)
    path = tmp_path / "nova.conf"
    path.write_text(NOVA_CONF)
    conf = cfg.ConfigOpts()
    for name, entry in so.OPTIONS.items():
        opt = REGISTERED.get((entry["section"], so.option_name(name)))
        if opt is not None:
            conf.register_opt(opt, group=None if entry["section"] == "DEFAULT" else entry["section"])
    conf([], default_config_files=[str(path)], default_config_dirs=[], use_env=False)
    for name, value in values.items():
        section = so.OPTIONS[name]["section"]
        nova_value = getattr(conf, so.option_name(name)) if section == "DEFAULT" else getattr(conf[section], so.option_name(name))
        assert value == (list(nova_value) if isinstance(nova_value, list) else nova_value), name
    assert values["enabled_filters"] == ["ComputeFilter", "NUMATopologyFilter"]
    assert values["available_filters"] == ["nova.scheduler.filters.all_filters", "my.filters.Mine"]
    assert any("scheduler_default_filters is the old name" in w and "no longer reads it" in w for w in warns)


def test_read_old_names_for_old_releases():
    values, warns = _read("[DEFAULT]\nscheduler_default_filters = RamFilter,ComputeFilter\n", major=18)
    assert values["enabled_filters"] == ["RamFilter", "ComputeFilter"]
    assert "deprecated name" in warns[0]
    values, warns = _read("[DEFAULT]\nscheduler_default_filters = RamFilter\n", major=34)
    assert "enabled_filters" not in values


def test_read_files_in_order_and_hosts_that_disagree():
    values = _read(["[scheduler]\nmax_attempts = 2\n", "[scheduler]\nmax_attempts = 7\n"])[0]
    assert values["max_attempts"] == 7
    same = "[filter_scheduler]\nhost_subset_size = 3\n"
    assert _read({"s1": same, "s2": same})[0] == {"host_subset_size": 3}
    with pytest.raises(so.OptionError) as err:
        _read({"s1": same, "s2": "[filter_scheduler]\nhost_subset_size = 4\n"})
    assert "disagree" in str(err.value) and "host_subset_size is 3 on s1 and 4 on s2" in str(err.value)


@pytest.mark.parametrize("value,message", [
    (42, "nova_conf_text must be the text of a nova.conf"),
    ("[scheduler]\nmax_attempts = many\n", "nova_conf_text: [scheduler] max_attempts must be an integer"),
    ({}, "is empty"),
])
def test_read_bad_input_names_the_parameter(value, message):
    with pytest.raises(so.OptionError) as err:
        _read(value)
    assert message in str(err.value)


def test_docs_show_the_table():
    """docs/explain.md's option list is the table's (regenerate with scheduler_options.markdown_table())."""
    import pathlib
    text = (pathlib.Path(__file__).resolve().parents[6] / "docs" / "explain.md").read_text()
    begin = text.index("<!-- scheduler-options:begin")
    begin = text.index("\n", begin) + 1
    end = text.index("<!-- scheduler-options:end -->")
    assert text[begin:end] == so.markdown_table()
