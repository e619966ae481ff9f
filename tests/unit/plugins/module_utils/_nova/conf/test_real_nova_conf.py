"""Real nova.conf files (tests/unit/data/real/nova_conf, sources in ../SOURCES.md) read by our
reader and by oslo.config itself with nova 34's options registered (the oracle).

Two levels are compared for every file, and for the same file with CRLF line ends:
* raw: every (section, key) oslo.config's parser sees, with the values it sees, against
  ``NovaConf.values`` (oslo.config's section folding included);
* typed: the scheduler options ``scheduler_options.read_nova_conf`` returns against what a
  ``ConfigOpts`` that loaded the file gives for them (``$`` interpolation included).
Each kind of input a real file has or may have (a BOM, blanks in a section name, ``$var``,
an indented first key, an inline comment) is a case below, checked against the same oracle.
"""

import os
import pathlib
import sys
import warnings

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import novaconf as nc
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import scheduler_options as so
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import config as explain_config

sys.path.insert(0, os.path.dirname(__file__))

from test_novaconf import oslo_read  # noqa: E402  (the same oslo.config reader as the editor's tests)

warnings.simplefilter("ignore", DeprecationWarning)
cfg = pytest.importorskip("oslo_config.cfg")
nova_opts = pytest.importorskip("nova.conf.opts")
nova_conf = pytest.importorskip("nova.conf")

DATA = pathlib.Path(__file__).resolve().parents[4] / "data" / "real" / "nova_conf"
FILES = sorted(p.name for p in DATA.iterdir())


def _conf_opts():
    conf = cfg.ConfigOpts()
    for group, opts in nova_opts.list_opts():
        group = None if getattr(group, "name", group) == "DEFAULT" else group
        for opt in opts:
            if opt.required:       # auth plugin options (a missing one is not our question)
                continue
            try:
                conf.register_opt(opt, group=group)
            except cfg.DuplicateOptError:       # an auth plugin option listed twice
                pass
    return conf


CONF = _conf_opts()


def oracle_raw(text):
    """{group: {key: [values]}} as oslo.config's ConfigParser stores them (groups folded)."""
    return oslo_read(text, section_name=nc.oslo_group)


def oracle_typed(tmp_path, data):
    """{option: value} of the table's options a ConfigOpts loading ``data`` gives when it
    differs from the default, or the exception class name when Nova would fail on it."""
    path = tmp_path / "nova.conf"
    path.write_bytes(data)
    CONF.reset()
    CONF.clear()
    try:
        CONF(args=[], default_config_files=[str(path)], project="nova", validate_default_values=False)
    except cfg.Error as exc:
        return type(exc).__name__
    out = {}
    try:
        for name, entry in so.OPTIONS.items():
            if not so.exists_in(name, 34):
                continue
            group = CONF if entry["section"] == "DEFAULT" else CONF[entry["section"]]
            try:
                value = group[so.option_name(name)]
            except (cfg.Error, ValueError) as exc:
                out[name] = type(exc).__name__
                continue
            value = list(value) if isinstance(value, (list, tuple)) else value
            if value != entry["default"]:
                out[name] = value
    finally:
        CONF.reset()
        CONF.clear()
    return out


def ours_typed(text):
    return so.read_nova_conf(text, conf_class=nc.NovaConf)


def _variants():
    for name in FILES:
        yield name, "lf"
        yield name, "crlf"


@pytest.mark.parametrize("name,ends", list(_variants()))
def test_raw_values_are_oslo_configs(name, ends):
    text = (DATA / name).read_text(encoding="utf-8")
    if ends == "crlf":
        text = text.replace("\n", "\r\n")
    conf = nc.NovaConf(text)
    assert conf.parse_errors() == []
    seen = oracle_raw(text)
    assert seen, name
    for group, options in seen.items():
        for key, values in options.items():
            assert conf.values(group, key) == values, (name, group, key)
    # and nothing more: every option line we see is one oslo.config sees
    for section, key, _line in conf.names():
        assert key in seen.get(nc.oslo_group(section), {}), (name, section, key)


@pytest.mark.parametrize("name,ends", list(_variants()))
def test_scheduler_options_are_what_nova_reads(name, ends, tmp_path):
    data = (DATA / name).read_bytes()
    if ends == "crlf":
        data = data.replace(b"\n", b"\r\n")
    expected = oracle_typed(tmp_path, data)
    values, _warnings = ours_typed(data.decode("utf-8"))
    assert values == expected, name


def test_the_corpus_sets_scheduler_options():
    # the comparison above is not vacuous: real files set scheduler options Nova reads
    found = set()
    for name in FILES:
        found.update(ours_typed((DATA / name).read_text(encoding="utf-8"))[0])
    assert {"enabled_filters", "available_filters", "cpu_allocation_ratio", "ram_allocation_ratio",
            "disk_allocation_ratio", "track_instance_changes"} <= found


# -- kinds of input, each against the oracle --------------------------------------------------------
BASE = "[DEFAULT]\nram_allocation_ratio = 1.5\n[filter_scheduler]\nhost_subset_size = 3\n"
SAME_AS_NOVA = {
    "section name with blanks (not read by Nova)": BASE.replace("[filter_scheduler]", "[ filter_scheduler ]"),
    "section name in another case (read by Nova)": BASE.replace("[filter_scheduler]", "[Filter_Scheduler]"),
    "[default] is not [DEFAULT]": BASE.replace("[DEFAULT]", "[default]"),
    "$name from [DEFAULT]": BASE + "[DEFAULT]\ncpu_allocation_ratio = $ram_allocation_ratio\n",
    "${name}": BASE + "[DEFAULT]\ncpu_allocation_ratio = ${ram_allocation_ratio}\n",
    "$group.name": BASE + "[filter_scheduler]\nmax_io_ops_per_host = $filter_scheduler.host_subset_size\n",
    "$name from the own section first": BASE + "[filter_scheduler]\nmax_instances_per_host = $host_subset_size\n",
    "$name chained": "[DEFAULT]\nram_allocation_ratio = $disk_allocation_ratio\ndisk_allocation_ratio = 2.0\n"
                     "cpu_allocation_ratio = $ram_allocation_ratio\n",
    "$name of an unset option with a known default": "[filter_scheduler]\nmax_io_ops_per_host = $host_subset_size\n",
    "$$ escape": "[filter_scheduler]\naggregate_image_properties_isolation_separator = $$\n",
    "backslash escape": "[filter_scheduler]\naggregate_image_properties_isolation_separator = \\$\n",
    "$ in a list": "[filter_scheduler]\nhost_subset_size = 2\n"
                   "isolated_hosts = a,$filter_scheduler.host_subset_size\n",
    "repeated section": "[filter_scheduler]\nhost_subset_size = 2\n[DEFAULT]\n[filter_scheduler]\nhost_subset_size = 5\n",
    "multi-line value": "[filter_scheduler]\nenabled_filters = ComputeFilter,\n    RamFilter\n",
    "quoted list": '[filter_scheduler]\nenabled_filters = "ComputeFilter,RamFilter"\n',
}


@pytest.mark.parametrize("case", sorted(SAME_AS_NOVA))
def test_kinds_read_as_nova_reads_them(case, tmp_path):
    text = SAME_AS_NOVA[case]
    for data in (text.encode(), text.replace("\n", "\r\n").encode()):
        assert ours_typed(data.decode())[0] == oracle_typed(tmp_path, data), case


@pytest.mark.parametrize("text,where", [
    ("\ufeff" + BASE, "line 1: No ':' or '=' found in assignment (a UTF-8 byte order mark before it)"),
    ("[filter_scheduler]\n\thost_subset_size = 3\n", "line 2: Unexpected continuation line"),
    ("host_subset_size = 3\n[filter_scheduler]\n", "line 1: No section header before this option"),
    ("[filter_scheduler\nhost_subset_size = 3\n", "line 1: Invalid section (must end with ])"),
    ("[filter_scheduler]\nhost_subset_size 3\n", "line 2: No ':' or '=' found in assignment"),
    ("[]\n", "line 1: Empty section name"),
    ("[filter_scheduler]\n= 3\n", "line 2: Key cannot be empty"),
])
def test_files_nova_cannot_parse_are_an_error(text, where, tmp_path):
    # Nova itself refuses these files (oslo.config raises while parsing)
    assert isinstance(oracle_typed(tmp_path, text.encode()), str)
    with pytest.raises(so.OptionError) as err:
        ours_typed(text)
    assert "Nova would not start" in str(err.value) and where in str(err.value)
    # the lossless editor still reads and edits such a file
    conf = nc.NovaConf(text)
    conf.set("filter_scheduler", "host_subset_size", "4")
    assert "host_subset_size" in conf.text()


def test_inline_comment_is_part_of_the_value(tmp_path):
    text = "[filter_scheduler]\nhost_subset_size = 3 # three\n"
    assert oracle_typed(tmp_path, text.encode()) == {"host_subset_size": "ConfigFileValueError"}
    with pytest.raises(so.OptionError, match="no inline comments"):
        ours_typed(text)


def test_unresolved_reference_is_unknown_not_guessed(tmp_path):
    # $my_ip's default is the host's address: not known here. Nova's value is unknown, so the
    # option is left out with a warning (never read as the literal "$my_ip").
    text = "[filter_scheduler]\nisolated_hosts = $my_ip\nhost_subset_size = 2\n"
    values, warns = ours_typed(text)
    assert values == {"host_subset_size": 2}
    assert any("refers to $my_ip" in w for w in warns)
    # set in the file: resolved as Nova does
    text = "[DEFAULT]\nmy_ip = 192.0.2.5\n" + text
    assert ours_typed(text)[0] == oracle_typed(tmp_path, text.encode())


def test_substitute_matches_string_template_rules():
    conf = nc.NovaConf("[DEFAULT]\na = 1\nb = $a$a\n[g]\na = 2\n")
    assert nc.substitute(conf, "$a", "g") == "2"                 # own section first
    assert nc.substitute(conf, "$b", "DEFAULT") == "11"
    assert nc.substitute(conf, "x $ y", "g") == "x $ y"          # a lone $ stays
    assert nc.substitute(conf, "$$a", "g") == "$a"
    assert nc.substitute(conf, "${DEFAULT.a}", "g") == "1"
    with pytest.raises(nc.UnresolvedReference):
        nc.substitute(conf, "$nope", "g")
    loop = nc.NovaConf("[DEFAULT]\na = $b\nb = $a\n")
    with pytest.raises(nc.UnresolvedReference):
        nc.substitute(loop, "$a", "DEFAULT")


def test_oracle_is_isolated():
    # the ConfigOpts of these tests is not nova's global CONF
    assert CONF is not nova_conf.CONF


def test_scheduling_explain_reads_a_real_file_through_the_same_path():
    # scheduler.nova_conf_text of scheduling_explain: the same reader, its errors an ExplainError
    text = (DATA / "pike_devstack_color_formats_kherox.conf").read_text(encoding="utf-8")
    conf = explain_config.normalize_scheduler({"nova_conf_text": text})
    assert conf["enabled_filters"][-1] == "DifferentHostFilter" and "RetryFilter" in conf["enabled_filters"]
    with pytest.raises(explain_config.ExplainError, match="Nova would not start"):
        explain_config.normalize_scheduler({"nova_conf_text": "\ufeff" + text})
    ratios = "[DEFAULT]\nram_allocation_ratio = 1.5\ncpu_allocation_ratio = $ram_allocation_ratio\n"
    assert explain_config.normalize_scheduler({"nova_conf_text": ratios})["cpu_allocation_ratio"] == 1.5


def test_a_nova_conf_d_fragment_after_the_main_file(tmp_path):
    # nova-scheduler --config-file nova.conf --config-dir nova.conf.d: later files win, a
    # multi-string option (available_filters) comes from the last file that sets it
    main = (DATA / "pike_devstack_color_formats_kherox.conf").read_text(encoding="utf-8")
    fragment = (DATA / "blazar_doc_fragment_available_filters.conf").read_text(encoding="utf-8")
    (tmp_path / "nova.conf").write_text(main)
    (tmp_path / "nova.conf.d").mkdir()
    (tmp_path / "nova.conf.d" / "50-blazar.conf").write_text(fragment)
    CONF.reset()
    CONF.clear()
    try:
        CONF(args=["--config-file", str(tmp_path / "nova.conf"), "--config-dir", str(tmp_path / "nova.conf.d")],
             project="nova", validate_default_values=False, default_config_files=[], default_config_dirs=[])
        expected = {"enabled_filters": list(CONF.filter_scheduler.enabled_filters),
                    "available_filters": list(CONF.filter_scheduler.available_filters),
                    "track_instance_changes": CONF.filter_scheduler.track_instance_changes}
    finally:
        CONF.reset()
        CONF.clear()
    values, _warnings = ours_typed([main, fragment])
    assert {k: values[k] for k in expected} == expected
    assert expected["enabled_filters"][-1] == "BlazarFilter" and len(expected["available_filters"]) == 2
