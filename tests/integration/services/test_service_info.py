"""service_info end to end: ansible-playbook against a real Nova (minicloud, test topology)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "minicloud"))
import harness  # noqa: E402

ANSIBLE_PLAYBOOK = str(ROOT / ".venv" / "bin" / "ansible-playbook")
ANSIBLE = str(ROOT / ".venv" / "bin" / "ansible")
SECRET = "Wr0ng-Secret-Pa55-{}".format(os.getpid())


@pytest.fixture(scope="module")
def cloud():
    yield from harness.module_cloud("SERVICES", "test", 14000, os.path.join(".cache", "services-it"))


def run(cloud, args, check=True):
    proc = subprocess.run(args, env=cloud.ansible_env(), capture_output=True, text=True, timeout=600, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s"
                             % (args[0], proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    return proc


def module(cloud, *module_args, verbosity=None):
    """Run service_info ad hoc; returns (rc, whole output)."""
    args = [ANSIBLE, "localhost", "-m", "stackops.nova.service_info", "-a", json.dumps(dict(module_args))]
    if verbosity:
        args.append(verbosity)
    proc = run(cloud, args, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_services_as_nova_reports_them(cloud):
    run(cloud, [ANSIBLE_PLAYBOOK, str(HERE / "service_info.yml")])


def test_a_stopped_heartbeat_shows_down(cloud):
    cloud.compute_stop("c-medium")
    try:
        run(cloud, [ANSIBLE_PLAYBOOK, str(HERE / "heartbeat.yml"), "-e", "stopped_host=c-medium"])
    finally:
        cloud.compute_start("c-medium")
    cloud.wait_for_service_state("c-medium", "up", timeout=60)


def _auth(cloud, password):
    return {"auth_url": "http://127.0.0.1:%d/v3" % cloud.ports["keystone"], "username": "admin",
            "password": password, "project_name": "admin", "user_domain_name": "Default",
            "project_domain_name": "Default"}


def test_wrong_password_is_clear_and_never_printed(cloud):
    rc, text = module(cloud, ("cloud", {"auth": _auth(cloud, SECRET), "region_name": "RegionOne"}),
                      verbosity="-vvv")
    assert rc != 0
    assert "authentication failed (HTTP 401)" in text
    assert SECRET not in text
    assert "Traceback" not in text


def test_wrong_password_in_auth_option_is_masked(cloud):
    rc, text = module(cloud, ("auth", _auth(cloud, SECRET)), verbosity="-vvv")
    assert rc != 0
    assert "authentication failed" in text
    assert SECRET not in text


def test_unknown_cloud_is_named(cloud):
    rc, text = module(cloud, ("cloud", "no-such-cloud"))
    assert rc != 0
    assert "no-such-cloud" in text and "clouds.yaml" in text
    assert "Traceback" not in text


def test_unreachable_endpoint(cloud):
    auth = _auth(cloud, "x")
    auth["auth_url"] = "http://127.0.0.1:9/v3"
    rc, text = module(cloud, ("cloud", {"auth": auth}), ("api_timeout", 3))
    assert rc != 0
    assert "unreachable" in text and "127.0.0.1:9" in text
    assert "Traceback" not in text


def test_non_admin_gets_a_clear_forbidden(cloud):
    rc, text = module(cloud, ("cloud", "minicloud-demo"))
    assert rc != 0
    assert "forbidden (HTTP 403)" in text and "admin" in text


def test_bad_option_value_names_the_option(cloud):
    rc, text = module(cloud, ("cloud", "minicloud"), ("state", "sideways"))
    assert rc != 0
    assert "state" in text and "sideways" in text and "up, down" in text
    rc, text = module(cloud, ("cloud", 42))
    assert rc != 0
    assert "cloud must be a clouds.yaml cloud name or a dict" in text
