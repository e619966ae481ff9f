"""usage.py: period parsing, quota shaping and merging paginated tenant usage."""

import datetime

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import usage as u

NOW = datetime.datetime(2026, 11, 21, 14, 0, 0, tzinfo=datetime.timezone.utc)


def test_period_defaults_to_the_last_30_days():
    start, end = u.period(now=NOW)
    assert end == datetime.datetime(2026, 11, 21, 14, 0, 0) and start == datetime.datetime(2026, 10, 22, 14, 0, 0)


def test_period_accepts_dates_zulu_and_offsets():
    start, end = u.period("2026-11-01", "2026-11-02T03:00:00+02:00", now=NOW)
    assert start == datetime.datetime(2026, 11, 1) and end == datetime.datetime(2026, 11, 2, 1, 0)
    assert u.period("2026-11-01T00:00:00Z", "now", now=NOW)[1] == datetime.datetime(2026, 11, 21, 14)


@pytest.mark.parametrize("start,end,message", [
    ("yesterday", None, "start must be an ISO 8601 date"),
    (None, "2026-13-01", "end must be an ISO 8601 date"),
    ("2026-11-02", "2026-11-01", r"start \(2026-11-02T00:00:00\) must be before end"),
])
def test_bad_periods_name_the_option(start, end, message):
    with pytest.raises(ValueError, match=message):
        u.period(start, end, now=NOW)


def test_shape_quotas_remaining_and_unlimited():
    q = u.shape_quotas({"id": "p", "cores": {"limit": 20, "in_use": 6, "reserved": 1},
                        "ram": {"limit": -1, "in_use": 4096, "reserved": 0}})
    assert q["cores"] == {"limit": 20, "in_use": 6, "reserved": 1, "remaining": 13}
    assert q["ram"]["remaining"] is None and "id" not in q


def test_merge_tenant_usages_sums_pages_of_one_project():
    pages = [
        {"tenant_id": "a", "total_hours": 1.5, "total_vcpus_usage": 3.0, "total_memory_mb_usage": 768.0,
         "total_local_gb_usage": 1.5, "server_usages": [{"instance_id": "s1", "started_at": "2026-11-01T00:00:00"}]},
        {"tenant_id": "a", "total_hours": 0.5, "total_vcpus_usage": 1.0, "total_memory_mb_usage": 256.0,
         "total_local_gb_usage": 0.5, "server_usages": [{"instance_id": "s2", "started_at": "2026-10-01T00:00:00"}]},
        {"tenant_id": "b", "total_hours": 2, "total_vcpus_usage": 2, "total_memory_mb_usage": 1024,
         "total_local_gb_usage": 0},
    ]
    merged = u.merge_tenant_usages(pages)
    assert merged["a"]["server_hours"] == 2.0 and merged["a"]["vcpu_hours"] == 4.0
    assert merged["a"]["ram_mb_hours"] == 1024.0 and merged["a"]["num_servers"] == 2
    assert [s["id"] for s in merged["a"]["servers"]] == ["s2", "s1"]
    assert merged["b"]["num_servers"] == 0
    total = u.totals([{"usage": merged["a"], "quotas": {"cores": {"in_use": 2}}},
                      {"usage": merged["b"], "quotas": {"cores": {"in_use": 3}}}])
    assert total["server_hours"] == 4.0 and total["in_use"] == {"cores": 5}
