"""nova_config module: real runs against files, validated by the venv's nova (the oracle)."""

import os
import sys

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stackops.nova.plugins.modules import nova_config

ORIGINAL = """[DEFAULT]
# keep me
#initial_cpu_allocation_ratio = 4.0
debug = false

[libvirt]
virt_type = qemu
"""

VALIDATOR = os.path.join(os.path.dirname(sys.executable), "oslo-config-validator")
# a real program as validator: accepts the candidate only when it says debug = true, prints why not
CHECK_DEBUG = ("%s -c \"import sys; text = open(sys.argv[1]).read(); ok = 'debug = true' in text; "
               "print('' if ok else 'debug must be true in ' + sys.argv[1], file=sys.stderr); "
               "sys.exit(0 if ok else 3)\" %%s" % sys.executable)


class Exit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind, self.result = kind, result


@pytest.fixture
def run(monkeypatch, tmp_path):
    def exit_json(self, **kw):
        raise Exit("exit", kw)

    def fail_json(self, msg, **kw):
        kw["msg"] = msg
        raise Exit("fail", kw)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _run(options, **extra):
        args = dict(path=str(tmp_path / "nova.conf"), options=options, nova_python=sys.executable, host_cpus="0-3")
        args.update(extra)
        with patch_module_args(args):
            with pytest.raises(Exit) as exc:
                nova_config.main()
        return exc.value
    return _run


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text(ORIGINAL)
    os.chmod(path, 0o640)
    return path


def test_sets_validates_and_is_idempotent(run, conf):
    opts = [{"section": "DEFAULT", "option": "initial_cpu_allocation_ratio", "value": "16.0"},
            {"section": "compute", "option": "cpu_dedicated_set", "value": "2-3"},
            {"section": "libvirt", "option": "live_migration_scheme", "value": "tcp"}]
    res = run(opts)
    assert res.kind == "exit" and res.result["changed"]
    assert res.result["values"]["DEFAULT.initial_cpu_allocation_ratio"] == 16.0
    assert "initial_cpu_allocation_ratio = 16.0\n" in conf.read_text()
    assert "# keep me" in conf.read_text()
    assert oct(os.stat(conf).st_mode & 0o777) == "0o640"
    again = run(opts)
    assert again.kind == "exit" and not again.result["changed"]


def test_check_mode_writes_nothing(run, conf):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], _ansible_check_mode=True)
    assert res.result["changed"] and conf.read_text() == ORIGINAL
    assert not [p for p in os.listdir(conf.parent) if p != "nova.conf"]


@pytest.mark.parametrize("option,expect", [
    ({"section": "DEFAULT", "option": "cpu_allocation_ratio", "value": "abc", "label": "my_ratio"},
     "my_ratio: nova rejects the value of [DEFAULT] cpu_allocation_ratio (%(path)s line 5): "
     "could not convert string to float: 'abc'"),
    ({"section": "libvirt", "option": "virt_type", "value": "vmware"}, "Valid values are"),
    ({"section": "libvirt", "option": "no_such", "value": "1"}, "[libvirt] no_such is not an option of the installed nova"),
    ({"section": "compute", "option": "cpu_shared_set", "value": "0-9", "label": "shared_var"},
     "shared_var: cpu_shared_set '0-9' names CPU(s) 4-9 that this host does not have (host CPUs: 0-3)"),
    ({"section": "DEFAULT", "option": "debug", "value": "true\n[DEFAULT]\ndebug = false"}, "line break"),
])
def test_bad_input_fails_and_leaves_file_unchanged(run, conf, option, expect):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}, option], backup=True)
    assert res.kind == "fail", res.result
    assert expect.replace("%(path)s", str(conf)) in res.result["msg"]
    assert ".candidate" not in res.result["msg"]
    assert "left unchanged" in res.result["msg"]
    assert conf.read_text() == ORIGINAL
    assert os.listdir(conf.parent) == ["nova.conf"]


def test_removed_filter_names_its_replacement(run, conf):
    res = run([{"section": "filter_scheduler", "option": "enabled_filters", "value": "ComputeFilter,RamFilter",
                "label": "nova_scheduler_enabled_filters"}], check_scheduler_filters=True)
    assert res.kind == "fail"
    assert "nova_scheduler_enabled_filters: RamFilter was removed from Nova in Train (20.0)" in res.result["msg"]
    assert "placement MEMORY_MB" in res.result["msg"]
    res = run([{"section": "filter_scheduler", "option": "enabled_filters",
                "value": "ComputeFilter,AvailabilityZoneFilter"}], check_scheduler_filters=True)
    assert "AvailabilityZoneFilter was removed from Nova in 2023.2" in res.result["msg"]
    assert "map_az_to_placement_aggregate" in res.result["msg"]
    assert conf.read_text() == ORIGINAL


def test_backup_and_diff(run, conf):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], backup=True, _ansible_diff=True)
    assert res.result["changed"] and os.path.exists(res.result["backup_file"])
    assert open(res.result["backup_file"]).read() == ORIGINAL
    assert res.result["diff"]["before"] == ORIGINAL and "debug = true" in res.result["diff"]["after"]


def test_bad_value_overridden_by_a_later_file_still_fails(run, conf, tmp_path):
    later = tmp_path / "nova-compute.conf"
    later.write_text("[libvirt]\nvirt_type = kvm\n")
    res = run([{"section": "libvirt", "option": "virt_type", "value": "vmware"}],
              config_files_after=[str(later)])
    assert res.kind == "fail" and "Valid values are" in res.result["msg"], res.result
    assert conf.read_text() == ORIGINAL
    ok = run([{"section": "libvirt", "option": "virt_type", "value": "lxc"}], config_files_after=[str(later)])
    assert ok.kind == "exit" and ok.result["changed"]
    # nova's effective value comes from the later file, and the module says so
    assert ok.result["values"]["libvirt.virt_type"] == "kvm"


REAL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data", "real",
                    "nova_conf")


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, w: seen.append(w))
    return seen


@pytest.mark.parametrize("name,retired", [
    # devstack's values (Newton era): graceful_shutdown_timeout is a valid option of Nova 34
    # (oslo.service.service), the nova-network and EC2 leftovers are not
    ("newton_devstack_values_crudini.conf", {"use_neutron": "nova-network is gone", "s3_port": "Mitaka (13.0",
                                             "scheduler_default_filters": "[filter_scheduler] enabled_filters"}),
    ("mitaka_playback_controller.conf", {"verbose": "Newton (14.0", "rpc_backend": "transport_url",
                                         "network_api_class": "nova-network is gone"}),
])
def test_real_files_edit_with_default_options_and_warn_for_retired_names(run, tmp_path, warnings, name, retired):
    path = tmp_path / "nova.conf"
    original = open(os.path.join(REAL, name), encoding="utf-8").read()
    path.write_text(original)
    res = run([{"section": "DEFAULT", "option": "cpu_allocation_ratio", "value": "4.0"},
               {"section": "filter_scheduler", "option": "enabled_filters",
                "value": "ComputeFilter,ImagePropertiesFilter"}])
    assert res.kind == "exit" and res.result["changed"], res.result
    unknown = {u["option"]: u for u in res.result["unknown_options"]}
    assert "graceful_shutdown_timeout" not in unknown
    assert "oslo.service.service" in res.result["namespaces"]
    for option, words in retired.items():
        line = original.splitlines().index(next(ln for ln in original.splitlines()
                                                if ln.split("=")[0].strip() == option)) + 1
        assert unknown[option]["line"] == line
        (warning,) = [w for w in warnings if "] %s " % option in w]
        assert warning.startswith("%s line %d: [DEFAULT] %s " % (path, line, option)) or \
            warning.startswith("%s line %d: [" % (path, line))
        assert words in warning and "nova ignores it" in warning
    assert not [w for w in warnings if ".candidate" in w]
    # only the two managed lines changed, in the file's own style
    after = path.read_text()
    removed = [ln for ln in original.splitlines() if ln not in after.splitlines()]
    assert removed == []
    sep = "=" if "verbose=True" in original else " = "
    assert "cpu_allocation_ratio%s4.0" % sep in after.splitlines()
    again = run([{"section": "DEFAULT", "option": "cpu_allocation_ratio", "value": "4.0"},
                 {"section": "filter_scheduler", "option": "enabled_filters",
                  "value": "ComputeFilter,ImagePropertiesFilter"}])
    assert again.kind == "exit" and not again.result["changed"]


def test_existing_line_keeps_its_own_style(run, conf):
    conf.write_text(ORIGINAL.replace("debug = false", "debug=false"))
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}])
    assert res.kind == "exit" and "debug=true\n" in conf.read_text()


def test_bad_value_under_a_deprecated_name_is_named_as_in_the_file(run, conf):
    conf.write_text(ORIGINAL.replace("debug = false", "debug = false\nimage_cache_manager_interval = soon"))
    before = conf.read_text()
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}])
    assert res.kind == "fail", res.result
    assert "[DEFAULT] image_cache_manager_interval (%s line 5)" % conf in res.result["msg"]
    assert ".candidate" not in res.result["msg"]
    assert conf.read_text() == before


def test_symlink_is_followed_and_kept(run, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "nova.conf"
    target.write_text(ORIGINAL)
    link = tmp_path / "nova.conf"          # the path the fixture edits
    os.symlink(target, link)
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}])
    assert res.kind == "exit" and res.result["changed"] and res.result["path"] == str(target)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert "debug = true" in target.read_text()
    assert sorted(os.listdir(real_dir)) == ["nova.conf"]
    res = run([{"section": "DEFAULT", "option": "debug", "value": "false"}], follow=False)
    assert res.kind == "fail" and "is a symbolic link" in res.result["msg"] and "follow: true" in res.result["msg"]
    assert os.path.islink(link) and "debug = true" in target.read_text()


def test_directory_path_says_it_is_a_directory(run, tmp_path):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], path=str(tmp_path))
    assert res.kind == "fail" and res.result["msg"] == "%s is a directory; path must be the nova.conf file itself" \
        % tmp_path
    missing = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], path=str(tmp_path / "nope.conf"))
    assert "does not exist (install nova first)" in missing.result["msg"]


def test_validator_accepts_the_candidate_then_the_file_is_replaced(run, conf):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], validator=CHECK_DEBUG)
    assert res.kind == "exit" and res.result["changed"] and res.result["validator_rc"] == 0, res.result
    assert "debug = true\n" in conf.read_text()
    assert os.listdir(conf.parent) == ["nova.conf"]
    again = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], validator=CHECK_DEBUG)
    assert again.kind == "exit" and not again.result["changed"] and "validator_rc" not in again.result


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_failing_validator_leaves_the_file_unchanged(run, conf, check_mode):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "false-ish"},
               {"section": "libvirt", "option": "virt_type", "value": "kvm"}],
              validator=CHECK_DEBUG, validate=False, backup=True, _ansible_check_mode=check_mode)
    assert res.kind == "fail", res.result
    msg = res.result["msg"]
    assert "refuses the new file (rc 3): debug must be true in %s" % conf in msg, msg
    assert ".candidate" not in msg and "left unchanged" in msg
    assert not res.result["changed"]
    assert conf.read_text() == ORIGINAL
    assert os.listdir(conf.parent) == ["nova.conf"]  # no candidate, no backup left behind


@pytest.mark.parametrize("validator,expect", [
    ("%s -c 'import sys; sys.exit(0)'" % sys.executable, "must contain %s"),
    ("python3 -c 'unterminated %s", "cannot be split into arguments"),
    ("/nonexistent/check-nova-conf %s", "cannot be run: No such file or directory"),
])
def test_bad_validator_is_refused_naming_it(run, conf, validator, expect):
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], validator=validator)
    assert res.kind == "fail" and expect in res.result["msg"] and "validator" in res.result["msg"], res.result
    assert conf.read_text() == ORIGINAL
    assert os.listdir(conf.parent) == ["nova.conf"]


def test_the_old_default_validator_is_ignored_with_a_warning(run, conf, monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: seen.append(text))
    res = run([{"section": "DEFAULT", "option": "debug", "value": "true"}], validator="oslo-config-validator")
    assert res.kind == "exit" and res.result["changed"] and "validator_rc" not in res.result
    assert any("is ignored" in w for w in seen), seen
