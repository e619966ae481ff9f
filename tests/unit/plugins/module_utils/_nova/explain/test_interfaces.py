"""The explain filters and the scheduling_explain module, offline (snapshot + inline flavor)."""

import json
import os
import sys

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.dirname(__file__))

import explain_builders as B  # noqa: E402

from ansible_collections.stackops.nova.plugins.filter import explain as F  # noqa: E402
from ansible_collections.stackops.nova.plugins.modules import scheduling_explain  # noqa: E402

XL = {"name": "m1.xlarge", "vcpus": 8, "ram": 16384, "disk": 80}


def test_filters_explain_render_and_summarize():
    plugins = F.FilterModule().filters()
    out = plugins["explain"](B.twelve_hosts(), XL, availability_zone="az1")
    assert out["fits"] is False and out["hosts_total"] == 12
    assert plugins["explain_summary"](out) == out["summary"]
    text = plugins["explain_table"](out, max_hosts=3)
    assert "... 9 more host(s) not shown" in text and out["summary"] in text
    json.dumps(out)


@pytest.mark.parametrize("args, message", [
    (({"snapshot_version": 1}, XL), "missing the required key 'hosts'"),
    ((B.twelve_hosts(), "m1.xlarge"), "flavor must be a mapping"),
    ((B.twelve_hosts(), dict(XL, vcpus="many")), "flavor"),
    ((B.twelve_hosts(), XL), None),
])
def test_filter_errors_are_ansible_filter_errors(args, message):
    if message is None:
        assert F.explain(*args)["hosts_total"] == 12
        return
    with pytest.raises(AnsibleFilterError, match=message):
        F.explain(*args)


def test_table_filter_rejects_non_explanations():
    with pytest.raises(AnsibleFilterError, match="must be an explanation"):
        F.explain_table({"foo": 1})
    with pytest.raises(AnsibleFilterError, match="must be an explanation"):
        F.explain_summary([])


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

    def _run(**args):
        with patch_module_args(args):
            with pytest.raises(Exit) as exc:
                scheduling_explain.main()
        return exc.value
    return _run


def test_module_offline_explains_without_a_cloud(run):
    res = run(snapshot=B.twelve_hosts(), flavor=XL, availability_zone="az1", _ansible_check_mode=True)
    assert res.kind == "exit", res.result
    assert res.result["changed"] is False
    assert res.result["fits"] is False
    assert res.result["summary"].startswith("0/12 hosts fit m1.xlarge in az1: 5 insufficient MEMORY_MB")
    assert res.result["table"].splitlines()[0] == res.result["summary"]
    assert res.result["explanation"]["relaxations"]


def test_module_bad_input_names_the_option(run):
    res = run(snapshot=B.twelve_hosts(), flavor=XL, count=0)
    assert res.kind == "fail" and res.result["msg"] == "count must be at least 1, got 0"
    res = run(snapshot=B.twelve_hosts(), flavor=XL, scheduler_hints={"group": "nope"})
    assert res.kind == "fail" and "scheduler_hints.group 'nope'" in res.result["msg"]
    res = run(snapshot=B.twelve_hosts(), flavor=XL, image={"props": {}})
    assert res.kind == "fail" and "image has unknown key(s) props" in res.result["msg"]
    res = run(snapshot={"snapshot_version": 7, "hosts": []}, flavor=XL)
    assert res.kind == "fail" and "snapshot" in res.result["msg"]


def test_module_warns_about_assumed_configuration_and_resolves_or_refuses_project_names(run):
    snap = B.twelve_hosts()
    res = run(snapshot=snap, flavor=XL, availability_zone="az1")
    assert res.kind == "exit"
    assert any("assuming Nova's defaults" in w for w in res.result["explanation"]["warnings"])
    res = run(snapshot=snap, flavor=XL, project_id="tenant-a")
    assert res.kind == "fail" and "project_id 'tenant-a' does not look like a project id" in res.result["msg"]
    named = dict(snap, projects=[{"id": "0123456789abcdef0123456789abcdef", "name": "tenant-a"}])
    res = run(snapshot=named, flavor=XL, project_id="tenant-a", scheduler={"enabled_filters": ["ComputeFilter"]})
    assert res.kind == "exit", res.result
    assert res.result["explanation"]["request"]["project_id"] == "0123456789abcdef0123456789abcdef"
    assert res.result["explanation"]["warnings"] == []


def test_module_refuses_a_zero_vcpu_flavor(run):
    res = run(snapshot=B.twelve_hosts(), flavor={"name": "z", "vcpus": 0, "ram": 512, "disk": 1}, count=1000000000)
    assert res.kind == "fail" and "flavor.vcpus is 0: Nova refuses" in res.result["msg"]
