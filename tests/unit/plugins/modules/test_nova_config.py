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
        args = dict(path=str(tmp_path / "nova.conf"), options=options, nova_python=sys.executable,
                    validator=VALIDATOR, host_cpus="0-3")
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
