"""compute_facts module: argument errors name the option; a run on a built tree sets the facts."""

import os

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.stackops.nova.plugins.modules import compute_facts


class Exit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind, self.result = kind, result


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **kw):
        raise Exit("exit", kw)

    def fail_json(self, msg, **kw):
        kw["msg"] = msg
        raise Exit("fail", kw)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _run(args):
        with patch_module_args(args):
            with pytest.raises(Exit) as exc:
                compute_facts.main()
        return exc.value
    return _run


@pytest.mark.parametrize("args, needle", [
    ({"gather_subset": ["cpu", "gpu"]}, "gather_subset: unknown subset 'gpu'"),
    ({"sysfs_root": "/nonexistent-dir"}, "sysfs_root: '/nonexistent-dir' is not a directory"),
    ({"proc_root": "/etc/hostname"}, "proc_root: '/etc/hostname' is not a directory"),
    ({"timeout": 0}, "timeout: must be a positive number"),
    ({"nova_conf": []}, "nova_conf: an empty list"),
    ({"libvirt_uri": "localhost"}, "libvirt_uri: 'localhost' is not a libvirt URI"),
])
def test_bad_options_fail_naming_the_option(run, args, needle):
    res = run(args)
    assert res.kind == "fail" and needle in res.result["msg"]


def test_a_run_in_check_mode_on_an_empty_root(run, tmp_path):
    res = run({"sysfs_root": str(tmp_path), "proc_root": str(tmp_path), "nova_conf": [str(tmp_path / "none.conf")],
               "virsh": "/nonexistent/virsh", "libvirt_uri": "test:///nonexistent", "_ansible_check_mode": True})
    assert res.kind == "exit" and res.result["changed"] is False
    facts = res.result["ansible_facts"]["nova_compute"]
    assert facts["schema_version"] == 1 and facts["warnings"]
    assert os.listdir(str(tmp_path)) == []
