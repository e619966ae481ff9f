"""history.py: the per-request timeline built from the API's actions/events/fault and log records.

The log records come from Nova's own code paths through oslo.log (novalog_oracle.py); the API
data follows the shapes of GET /servers/{id} and os-instance-actions (microversion 2.84).
"""

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history as h
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as nl

oracle = pytest.importorskip("novalog_oracle")
pytest.importorskip("nova")


@pytest.fixture(scope="module")
def real():
    text, facts = oracle.generate("default")
    return nl.parse_text(text), facts, text


def _server(uuid, fault, status="ERROR", name="vm1"):
    return {"id": uuid, "name": name, "status": status, "OS-EXT-STS:vm_state": status.lower(),
            "fault": {"message": fault, "code": 500, "created": "2026-11-21T14:24:02Z", "details": "Traceback ..."}
            if fault else None}


def _action(req, events=(), action="create"):
    return {"action": action, "request_id": req, "start_time": "2026-11-21T14:24:01.000000",
            "user_id": oracle.USER, "project_id": oracle.PROJECT, "message": None, "events": list(events)}


def _event(name, host, result="Success", start="2026-11-21T14:24:01.500000", traceback=None, details=None):
    return {"event": name, "start_time": start, "finish_time": start, "result": result, "host": host,
            "hostId": "abc", "traceback": traceback, "details": details}


def test_reschedules_then_max_retries(real):
    records, facts, _text = real
    hist = h.build_history(_server(oracle.INST_RESCHEDULE, facts["reschedule_fault"]),
                           [_action(oracle.REQ_RESCHEDULE)], records)
    assert hist["outcome"] == "max_retries"
    (req,) = hist["requests"]
    assert [a["host"] for a in req["attempts"]] == ["compute1", "compute2", "compute3"]
    assert [a["result"] for a in req["attempts"]] == ["rescheduled"] * 3
    assert all(a["error"] == "Insufficient compute resources: FakeRescheduleDriver." for a in req["attempts"])
    assert req["attempts"][0]["alternates"] == [["compute2", "compute2"], ["compute3", "compute3"]]
    sched = req["attempts"][0]["scheduling"]
    assert sched["starting_hosts"] == 3 and [w["host"] for w in sched["weighed"]][0] == "compute1"
    assert req["failed_scheduling"] is None
    assert hist["summary"].startswith("server vm1 (create %s) failed after 3 attempts (compute1, compute2, "
                                      "compute3): MaxRetriesExceeded; last error on compute3: Insufficient"
                                      % oracle.REQ_RESCHEDULE)
    assert "| 3       |" in hist["table"] and "MaxRetriesExceeded" in hist["table"]


def test_placement_rejection(real):
    records, facts, _text = real
    hist = h.build_history(_server(oracle.INST_PLACEMENT, facts["placement_fault"]),
                           [_action(oracle.REQ_PLACEMENT,
                                    [_event("conductor_schedule_and_build_instances", "ctl1", "Error",
                                            traceback="Traceback...\nnova.exception.NoValidHost: No valid host "
                                                      "was found. \n")])], records)
    assert hist["outcome"] == "no_valid_host_placement"
    req = hist["requests"][0]
    assert req["attempts"] == [] and req["failed_scheduling"]["placement_no_candidates"] is True
    assert hist["summary"].endswith("NoValidHost: placement returned no allocation candidates")


def test_filter_emptied_the_list_with_hosts_per_filter(real):
    records, facts, _text = real
    hist = h.build_history(_server(oracle.INST_FILTER, facts["filter_fault"]), [_action(oracle.REQ_FILTER)],
                           records)
    assert hist["outcome"] == "no_valid_host_filter"
    sch = hist["requests"][0]["failed_scheduling"]
    assert sch["emptied_by"] == "AggregateInstanceExtraSpecsFilter" and sch["form"] == "hosts"
    assert [(f["filter"], f["start"], f["end"]) for f in sch["filters"]] == [
        ("AllHostsFilter", 3, 3), ("NumInstancesFilter", 3, 2), ("AggregateInstanceExtraSpecsFilter", 2, 0)]
    assert sch["filters"][1]["removed"] == [["compute3", "compute3"]]
    assert sch["filters"][2]["removed"] == [["compute1", "compute1"], ["compute2", "compute2"]]
    assert sch["not_enough_hosts"] == {"available": 0, "requested": 1}
    assert "filter AggregateInstanceExtraSpecsFilter removed the last 2 host(s) (3 -> AllHostsFilter 3 -> " \
           "NumInstancesFilter 2 -> AggregateInstanceExtraSpecsFilter 0)" in hist["summary"]
    table = hist["table"]
    assert "| NumInstancesFilter                | 3     | 2   | compute1, compute2" in table
    assert "compute3" in table.split("NumInstancesFilter")[-1].split("\n")[0]


def test_info_only_logs_give_counts_and_hosts_from_errors(real):
    records, facts, _text = real
    info = [r for r in records if r.level != "DEBUG"]
    hist = h.build_history(_server(oracle.INST_RESCHEDULE, facts["reschedule_fault"]),
                           [_action(oracle.REQ_RESCHEDULE)], info)
    req = hist["requests"][0]
    # without DEBUG the attempts come from the ERROR 'Error from last host' lines
    assert [a["host"] for a in req["attempts"]] == ["compute1", "compute2", "compute3"]
    assert req["attempts"][2]["error"] == "Insufficient compute resources: FakeRescheduleDriver."
    hist = h.build_history(_server(oracle.INST_FILTER, facts["filter_fault"]), [_action(oracle.REQ_FILTER)], info)
    sch = hist["requests"][0]["failed_scheduling"]
    assert sch["form"] == "counts"
    assert sch["filters"][1] == {"filter": "NumInstancesFilter", "start": 3, "end": 2, "hosts": None, "removed": None}
    assert any("debug = true" in n for n in hist["notes"])
    assert "(debug log only)" in hist["table"]


def test_api_only_uses_events_and_fault():
    events = [_event("compute__do_build_and_run_instance", host, start="2026-11-21T14:24:0%d.000000" % i)
              for i, host in enumerate(["compute1", "compute2", "compute3"], start=1)]
    fault = ("Exceeded maximum number of retries. Exceeded max scheduling attempts 3 for instance %s. "
             "Last exception: Insufficient compute resources: minicloud fail_builds host compute3."
             % oracle.INST_RESCHEDULE)
    hist = h.build_history(_server(oracle.INST_RESCHEDULE, fault), [_action(oracle.REQ_RESCHEDULE, events)])
    req = hist["requests"][0]
    assert hist["outcome"] == "max_retries"
    assert [a["host"] for a in req["attempts"]] == ["compute1", "compute2", "compute3"]
    assert req["attempts"][-1]["error"] == "Insufficient compute resources: minicloud fail_builds host compute3."
    assert req["attempts"][-1]["error_source"] == "fault"
    assert [a["result"] for a in req["attempts"][:2]] == ["rescheduled", "rescheduled"]
    assert any(n.startswith("No logs were given") for n in hist["notes"])


def test_api_only_fault_tells_placement_from_filters():
    hist = h.build_history(_server(oracle.INST_PLACEMENT, "No valid host was found. "),
                           [_action(oracle.REQ_PLACEMENT, [_event("conductor_schedule_and_build_instances", "c",
                                                                  "Error")])])
    assert hist["outcome"] == "no_valid_host_placement"
    assert any(n.startswith("Inferred from the fault") for n in hist["notes"])
    hist = h.build_history(_server(oracle.INST_FILTER,
                                   "No valid host was found. There are not enough hosts available."),
                           [_action(oracle.REQ_FILTER)])
    assert hist["outcome"] == "no_valid_host_filter"
    assert "the logs would say which filter" in hist["summary"]


def test_logs_with_nothing_for_this_server_say_so(real):
    records, facts, _text = real
    others = [r for r in records if r.request_id != oracle.REQ_FILTER]
    hist = h.build_history(_server(oracle.INST_FILTER, facts["filter_fault"]), [_action(oracle.REQ_FILTER)],
                           [], log_stats={"lines": 10}, logs_given=True)
    assert any("hold no line" in n for n in hist["notes"])
    hist = h.build_history(_server(oracle.INST_FILTER, facts["filter_fault"]), [_action(oracle.REQ_FILTER)],
                           others)
    assert hist["requests"][0]["log_records"] == 0


def test_successful_server_and_later_failed_resize():
    events = [_event("compute__do_build_and_run_instance", "compute1")]
    resize = _action("req-0d0d0d0d-4444-4444-8444-000000000004",
                     [_event("conductor_migrate_server", "ctl1", "Error",
                             traceback="Traceback\nnova.exception.NoValidHost: No valid host was found. "
                                       "No valid host found for cold migrate\n")], action="resize")
    resize["start_time"] = "2026-11-21T15:00:00.000000"
    hist = h.build_history(_server(oracle.INST_RESCHEDULE, None, status="ACTIVE"),
                           [_action(oracle.REQ_RESCHEDULE, events), resize])
    assert [r["outcome"] for r in hist["requests"]] == ["active", "no_valid_host"]
    assert hist["failed_request"] == resize["request_id"]
    assert "No valid host found for cold migrate" in hist["requests"][1]["final_error"]


def test_records_as_dicts_and_logs_only(real):
    records, _facts, _text = real
    dicts = [r.to_dict() for r in records]
    groups = h.attempts_from_log(dicts, instance_uuid=oracle.INST_RESCHEDULE)
    assert [g["request_id"] for g in groups] == [oracle.REQ_RESCHEDULE]
    assert len(groups[0]["attempts"]) == 3 and groups[0]["final"]["kind"] == "max_retries"
    every = h.attempts_from_log(dicts)
    assert [g["request_id"] for g in every] == [oracle.REQ_RESCHEDULE, oracle.REQ_PLACEMENT, oracle.REQ_FILTER]
    hist = h.build_history({"id": oracle.INST_FILTER, "name": None, "status": None}, [], dicts)
    assert hist["requests"][0]["request_id"] == oracle.REQ_FILTER and hist["outcome"] == "no_valid_host_filter"


def test_multi_create_lines_of_other_instances_are_ignored(real):
    records, facts, _text = real
    # pretend another instance of the same request was tagged on some lines
    other = "44444444-dddd-4ddd-8ddd-444444444444"
    extra = nl.parse_text("2026-11-21 14:24:01.800 1 DEBUG nova.conductor.manager [None %s u p - - - -] "
                          "[instance: %s] Selected host: compute9; Selected node: compute9; Alternates: []"
                          % (oracle.REQ_RESCHEDULE, other))
    hist = h.build_history(_server(oracle.INST_RESCHEDULE, facts["reschedule_fault"]),
                           [_action(oracle.REQ_RESCHEDULE)], records + extra)
    assert "compute9" not in [a["host"] for a in hist["requests"][0]["attempts"]]


def test_bad_input():
    with pytest.raises(h.HistoryError):
        h.build_history(None)
    hist = h.build_history({"id": "x", "name": "n", "status": "ERROR", "fault": {"message": "boom", "code": 500}})
    assert hist["outcome"] == "error" and "no instance action found" in hist["summary"]


def test_text_table_cuts_long_cells():
    table = h.text_table(["a", "b"], [["x" * 100, None]], max_width=10)
    assert "xxxxxxx..." in table and "| -" in table
