"""api.py: the shared options and credential masking."""

from ansible_collections.stackops.nova.plugins.module_utils import api


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
