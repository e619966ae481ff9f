"""api.py: the shared options and credential masking."""

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import api


def test_auth_options_mark_credentials_no_log():
    spec = api.auth_argument_spec()
    assert spec["auth"]["no_log"] is True
    assert spec["client_key"]["no_log"] is True
    assert "default" not in spec["interface"]  # the cloud's own setting wins


def test_secret_values_found_at_any_depth():
    cloud = {"auth": {"auth_url": "http://x", "username": "admin", "password": "p1",
                      "application_credential_secret": "s1"},
             "token": "t1", "profiles": [{"api_key": "k1"}], "region_name": "RegionOne"}
    assert api.secret_values(cloud) == {"p1", "s1", "t1", "k1"}


def test_secret_values_of_a_cloud_name_is_empty():
    assert api.secret_values("mycloud") == set()
    assert api.secret_values(None) == set()


def test_raw_secrets_cover_every_way_a_credential_is_given():
    spec = api.auth_argument_spec()
    spec["flavor"] = dict(type="raw")
    params = {
        "auth": {"auth_url": "http://x", "password": "p-auth", "token": "t-auth"},
        "cloud": {"auth": {"password": "p-cloud", "application_credential_secret": "s-cloud"},
                  "token": "t-cloud", "region_name": "RegionOne"},
        "key": "/keys/k-alias",  # client_key's alias
        "os_password": "p-typo",  # an option the module does not know
        "bogus": {"nested": {"passcode": "c-typo"}},
        "flavor": {"name": "m1.small", "extra_specs": {"trait:HW_X": "required"}},
        "_ansible_check_mode": False,
    }
    found = api.raw_secrets(spec, params)
    assert {"p-auth", "t-auth", "http://x", "p-cloud", "s-cloud", "t-cloud", "/keys/k-alias", "p-typo",
            "c-typo"} <= found
    assert "RegionOne" not in found and "m1.small" not in found and "required" not in found


def test_raw_secrets_of_a_wrong_typed_credential_option():
    spec = api.auth_argument_spec()
    assert api.raw_secrets(spec, {"auth": "password=p-string"}) == {"password=p-string"}
    assert api.raw_secrets(spec, {"auth": ["p-list"]}) == {"p-list"}
    assert api.raw_secrets(spec, "not a dict") == set()


def test_the_module_masks_before_validation(monkeypatch):
    """AnsibleModule fails inside __init__ on a bad option; the inline cloud's secret is already masked."""
    import json

    import pytest
    from ansible.module_utils.testing import patch_module_args

    class Probe(api.NovaModule):
        argument_spec = dict(count=dict(type="int"))

        def run(self):
            return {}

    args = {"cloud": {"auth": {"password": "p-inline-1234"}}, "count": "many"}
    captured = {}
    monkeypatch.setattr("ansible.module_utils.basic.AnsibleModule._record_module_result",
                        lambda self, o: captured.update(o))
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            Probe()
    assert "count" in captured["msg"]
    assert "p-inline-1234" not in json.dumps(captured)
    assert captured["invocation"]["module_args"]["cloud"]["auth"]["password"] != "p-inline-1234"
