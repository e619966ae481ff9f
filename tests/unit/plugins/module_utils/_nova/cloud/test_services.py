"""services.py: normalising, selecting and summarising Nova services."""

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import services as s

RAW = [
    {"id": "1", "binary": "nova-compute", "host": "compute-01", "availability_zone": "az1",
     "status": "enabled", "state": "up", "disabled_reason": None, "is_forced_down": False,
     "updated_at": "2026-11-21T14:00:00.000000"},
    {"id": "2", "binary": "nova-compute", "host": "compute-02", "availability_zone": "az2",
     "status": "disabled", "state": "down", "disabled_reason": "maintenance", "is_forced_down": True,
     "updated_at": "2026-11-21T13:00:00.000000"},
    {"id": "3", "binary": "nova-scheduler", "host": "ctl-01", "availability_zone": "internal",
     "status": "enabled", "state": "up", "disabled_reason": None, "is_forced_down": False,
     "updated_at": "2026-11-21T14:00:01.000000"},
    {"id": "4", "binary": "nova-compute", "host": "gpu-01", "availability_zone": "az1",
     "status": "enabled", "state": "up", "disabled_reason": None, "is_forced_down": False,
     "updated_at": None},
]
SERVICES = [s.normalize_service(r) for r in RAW]


def test_normalize_keeps_every_documented_field():
    svc = SERVICES[1]
    assert set(svc) == set(s.SERVICE_FIELDS)
    assert svc["zone"] == "az2" and svc["forced_down"] is True and svc["disabled_reason"] == "maintenance"


def test_normalize_reads_sdk_like_objects():
    class Obj:
        id = 7
        binary = "nova-compute"
        host = "h"
        availability_zone = "nova"
        status = "enabled"
        state = "up"
        disabled_reason = None
        is_forced_down = None
        updated_at = None
    svc = s.normalize_service(Obj())
    assert svc["id"] == "7" and svc["forced_down"] is False and svc["zone"] == "nova"


def test_host_glob_and_lists():
    assert [x["host"] for x in s.select_services(SERVICES, host="compute-*")] == ["compute-01", "compute-02"]
    assert [x["host"] for x in s.select_services(SERVICES, host=["gpu-*", "ctl-0?"])] == ["gpu-01", "ctl-01"]


def test_glob_is_case_sensitive_like_nova_host_names():
    assert s.select_services(SERVICES, host="COMPUTE-*") == []


def test_combined_criteria():
    got = s.select_services(SERVICES, binary="nova-compute", zone="az1", status="enabled", state="up")
    assert [x["host"] for x in got] == ["compute-01", "gpu-01"]


def test_no_match_is_an_empty_list_not_an_error():
    assert s.select_services(SERVICES, host="nothing-*") == []
    summary = s.summarize([])
    assert summary["total"] == 0 and summary["down"] == [] and summary["by_state"] == {}


def test_summary_lists_what_to_look_at():
    summary = s.summarize(SERVICES)
    assert summary["total"] == 4
    assert summary["by_state"] == {"up": 3, "down": 1}
    assert summary["by_binary"] == {"nova-compute": 3, "nova-scheduler": 1}
    assert summary["down"] == [{"binary": "nova-compute", "host": "compute-02", "zone": "az2",
                                "updated_at": "2026-11-21T13:00:00.000000"}]
    assert summary["disabled"][0]["disabled_reason"] == "maintenance"
    assert summary["forced_down"] == [{"binary": "nova-compute", "host": "compute-02", "zone": "az2"}]
