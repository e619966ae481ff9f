"""live_migration_pairs / live_migration_table filters: bad input is an AnsibleFilterError naming it."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.filter import live_migration as lm


def _result(host):
    return {"local": {"facts": {"names": {"hostname": host, "local_addresses": []},
                                "nova": {"config_drive_format": "vfat"}}}, "peers": []}


def test_pairs_and_table():
    reports = lm.live_migration_pairs({"a": _result("a"), "b": _result("b")})
    assert [(r["source"], r["destination"]) for r in reports] == [("a", "b"), ("b", "a")]
    # nothing was measured: the checks that need measurements are unknown, not passed
    assert reports[0]["checks"]["names"]["verdict"] == "unknown"
    assert reports[0]["checks"]["config_drive"]["verdict"] == "pass"
    lines = lm.live_migration_table(reports)
    assert lines[0].split()[:3] == ["source", "destination", "verdict"] and len(lines) == 4


def test_facts_override():
    override = {"b": {"names": {"hostname": "b"}, "nova": {"config_drive_format": "iso9660"}}}
    reports = lm.live_migration_pairs({"a": _result("a"), "b": _result("b")}, facts=override)
    assert reports[0]["checks"]["config_drive"]["verdict"] == "fail"


@pytest.mark.parametrize("value,message", [
    ([], "expected a mapping of host -> live_migration_preflight result"),
    ({"a": {"changed": False}}, "a: its live_migration_preflight result has no local.facts"),
])
def test_bad_input(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        lm.live_migration_pairs(value)
    with pytest.raises(AnsibleFilterError, match="facts: expected a mapping"):
        lm.live_migration_pairs({"a": _result("a")}, facts=[1])
    with pytest.raises(AnsibleFilterError, match="live_migration_table: the input must be"):
        lm.live_migration_table("x")
    with pytest.raises(AnsibleFilterError, match="live_migration_table: expected"):
        lm.live_migration_table([{"source": "a"}])
