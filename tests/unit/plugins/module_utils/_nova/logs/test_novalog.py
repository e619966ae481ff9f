"""novalog.py: oslo.log lines in every variant -> records -> scheduling events.

The log text comes from oslo.log's own formatters fed by Nova 34's own code paths
(see novalog_oracle.py); the message recognisers are checked against Nova's message
templates read from the installed nova's source.
"""

import gzip
import json

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as nl

oracle = pytest.importorskip("novalog_oracle")
pytest.importorskip("nova")


@pytest.fixture(scope="module", params=oracle.VARIANTS)
def generated(request):
    text, facts = oracle.generate(request.param)
    return request.param, text, facts


def _events(records, request_id):
    return [(r, ev) for r, ev in nl.scheduling_events(records) if r.request_id == request_id]


def test_every_line_of_real_output_is_attributed(generated):
    variant, text, _facts = generated
    stats = nl.ParseStats()
    records = nl.parse_text(text, stats=stats)
    assert stats.unparsed == 0 and stats.json_errors == 0
    assert stats.lines == len(text.splitlines())
    assert stats.records == len(records) > 30
    # every record has its level and logger, and the nova ones their request id
    for rec in records:
        assert rec.level in nl.LEVELS and rec.logger.startswith("nova")
        assert rec.request_id in (oracle.REQ_RESCHEDULE, oracle.REQ_PLACEMENT, oracle.REQ_FILTER)
    if variant != "devstack":
        assert all(r.time and r.time.startswith(("20", "11-")) for r in records)
    if variant in ("default", "journald", "json"):
        assert all(r.pid for r in records)


def test_context_fields(generated):
    variant, text, _facts = generated
    records = nl.parse_text(text)
    first = records[0]
    assert first.request_id == oracle.REQ_RESCHEDULE
    assert first.global_request_id == oracle.GLOBAL_REQ
    if variant == "devstack":   # devstack logs names, not ids: [global req project_name user_name]
        assert (first.user, first.project) == ("demo", "demo")
    else:
        assert (first.user, first.project) == (oracle.USER, oracle.PROJECT)
    placement = [r for r in records if r.request_id == oracle.REQ_PLACEMENT]
    assert placement and all(r.global_request_id is None for r in placement)
    tagged = [r for r in records if r.instance == oracle.INST_RESCHEDULE]
    assert len(tagged) >= 10   # compute/conductor lines carry [instance: uuid]
    if variant in ("default", "nopid", "journald", "devstack"):
        debug = [r for r in records if r.level == "DEBUG"]
        assert debug and all(r.func and r.source and ".py:" in r.source for r in debug)
        assert not any(".py:" in r.message for r in debug)   # suffix split off
    if variant in ("journald", "devstack"):
        assert all(r.host == "ctl1" and r.service == "nova-scheduler" for r in records)


def test_tracebacks_are_joined_to_their_record(generated):
    _variant, text, _facts = generated
    records = nl.parse_text(text)
    failed = [r for r in records if r.message.startswith("Failed to schedule instances")]
    assert len(failed) == 2
    assert failed[0].traceback.startswith("Traceback (most recent call last):")
    assert failed[0].traceback.rstrip().endswith("nova.exception.NoValidHost: No valid host was found.")
    assert failed[1].traceback.rstrip().endswith("There are not enough hosts available.")
    assert "\n" not in failed[0].message


def test_reschedule_events(generated):
    _variant, text, facts = generated
    evs = _events(nl.parse_text(text), oracle.REQ_RESCHEDULE)
    kinds = [ev["kind"] for _r, ev in evs]
    assert kinds[:3] == ["schedule_start", "hosts_start", "filter_returned"]
    assert kinds.count("conductor_selected") == 3
    assert kinds.count("rescheduled") == 3 and kinds.count("error_from_last_host") == 3
    selected = [ev for _r, ev in evs if ev["kind"] == "conductor_selected"]
    assert [s["host"] for s in selected] == ["compute1", "compute2", "compute3"]
    assert selected[0]["alternates"] == [["compute2", "compute2"], ["compute3", "compute3"]]
    weighed = next(ev for _r, ev in evs if ev["kind"] == "weighed")
    assert [(w["host"], w["weight"]) for w in weighed["hosts"]] == [
        ("compute1", 3.0), ("compute2", 2.0), ("compute3", 1.0)]
    sched = next(ev for _r, ev in evs if ev["kind"] == "scheduler_selected")
    assert (sched["host"], sched["node"]) == ("compute1", "compute1")
    errs = [ev for _r, ev in evs if ev["kind"] == "error_from_last_host"]
    assert [e["host"] for e in errs] == ["compute1", "compute2", "compute3"]
    assert errs[0]["error"].startswith("nova.exception.RescheduledException: Build of instance")
    assert errs[0]["reason"] == "Insufficient compute resources: FakeRescheduleDriver."
    failed = next(ev for _r, ev in evs if ev["kind"] == "task_failed")
    assert failed["error_kind"] == "max_retries" and failed["task"] == "compute_task_build_instances"
    assert failed["error"] == facts["reschedule_fault"]   # oslo.log's error_summary suffix stripped


def test_placement_and_filter_events(generated):
    _variant, text, facts = generated
    records = nl.parse_text(text)
    kinds = [ev["kind"] for _r, ev in _events(records, oracle.REQ_PLACEMENT)]
    assert kinds == ["schedule_start", "no_allocation_candidates", "schedule_failed"]
    failed = _events(records, oracle.REQ_PLACEMENT)[-1][1]
    assert failed["error_kind"] == "no_valid_host"
    assert facts["placement_fault"] == "No valid host was found. "

    evs = _events(records, oracle.REQ_FILTER)
    counts = [ev for _r, ev in evs if ev["kind"] == "filter_returned"]
    assert [(c["filter"], c["count"]) for c in counts] == [("AllHostsFilter", 3), ("NumInstancesFilter", 2),
                                                           ("AggregateInstanceExtraSpecsFilter", 0)]
    removed = [ev for _r, ev in evs if ev["kind"] == "filtering_removed_all"]
    assert {r["form"] for r in removed} == {"hosts", "counts"}
    hosts = next(r for r in removed if r["form"] == "hosts")
    assert hosts["instance"] == oracle.INST_FILTER and hosts["filter"] == "AggregateInstanceExtraSpecsFilter"
    assert hosts["results"][1] == {"filter": "NumInstancesFilter",
                                   "hosts": [["compute1", "compute1"], ["compute2", "compute2"]]}
    assert hosts["results"][2] == {"filter": "AggregateInstanceExtraSpecsFilter", "hosts": None}
    cnt = next(r for r in removed if r["form"] == "counts")
    assert cnt["results"][1] == {"filter": "NumInstancesFilter", "start": 3, "end": 2}
    short = next(ev for _r, ev in evs if ev["kind"] == "not_enough_hosts")
    assert (short["available"], short["requested"]) == (0, 1)
    assert evs[-1][1]["kind"] == "schedule_failed" and "not enough hosts" in evs[-1][1]["error"]
    assert facts["filter_fault"] == "No valid host was found. There are not enough hosts available."


def test_match_keeps_only_the_wanted_requests(generated):
    _variant, text, _facts = generated
    stats = nl.ParseStats()
    kept = list(nl.iter_records(text.splitlines(), match=[oracle.REQ_FILTER], stats=stats))
    assert kept and {r.request_id for r in kept} == {oracle.REQ_FILTER}
    assert stats.skipped > 0 and stats.unparsed == 0
    full = [r for r in nl.parse_text(text) if r.request_id == oracle.REQ_FILTER]
    assert [r.message for r in kept] == [r.message for r in full]
    assert kept[-1].traceback == full[-1].traceback
    by_instance = list(nl.iter_records(text.splitlines(), match=[oracle.INST_RESCHEDULE]))
    assert by_instance and all(oracle.INST_RESCHEDULE in (r.instance or "") + r.message for r in by_instance)


# -- Nova's own message templates -------------------------------------------------------------

TEMPLATES = [
    ("filters.py", "Starting with %d host(s)", (5,), "hosts_start", {"count": 5}),
    ("filters.py", "Filter %(cls_name)s returned %(obj_len)d host(s)", {"cls_name": "ComputeFilter", "obj_len": 2},
     "filter_returned", {"filter": "ComputeFilter", "count": 2}),
    ("filters.py", "Filter %s returned 0 hosts", ("PciPassthroughFilter",), "filter_returned",
     {"filter": "PciPassthroughFilter", "count": 0}),
    ("filters.py", "Filter %s says to stop filtering", ("X",), "filter_stop", {"filter": "X"}),
    ("scheduler/manager.py", "Got no allocation candidates", None, "no_allocation_candidates", {}),
    ("scheduler/manager.py", "There are %(hosts)d hosts", {"hosts": 1, "required_count": 3}, "not_enough_hosts",
     {"available": 1, "requested": 3}),
    ("scheduler/manager.py", "Starting to schedule for instances", (["0d1e9b9e-7a4e-4b8e-9f0e-3c2d1b0a9f8e"],),
     "schedule_start", {"instances": ["0d1e9b9e-7a4e-4b8e-9f0e-3c2d1b0a9f8e"]}),
    ("scheduler/manager.py", "Unable to successfully claim", None, "claim_failed", {}),
    ("scheduler/utils.py", "Error from last host", {"last_host": "c1", "last_node": "n1",
                                                    "exc": ["Traceback (most recent call last):\n",
                                                            "nova.exception.RescheduledException: boom\n"]},
     "error_from_last_host", {"host": "c1", "node": "n1", "error": "nova.exception.RescheduledException: boom"}),
    ("scheduler/utils.py", "Failed to %(service)s_%(method)s",
     {"service": "compute_task", "method": "build_instances", "ex": "No valid host was found. "},
     "task_failed", {"task": "compute_task_build_instances", "error_kind": "no_valid_host"}),
    ("scheduler/utils.py", "Setting instance to %s state", ("ERROR",), "error_state", {"state": "ERROR"}),
    ("scheduler/utils.py", "Re-scheduling is disabled due to \"max_attempts\"", None, "retry_disabled", {}),
    ("conductor/manager.py", "Rescheduling: %s", (True,), "conductor_rescheduling", {"reschedule": True}),
    ("conductor/manager.py", "Selected host: %s; Selected node", ("c2", "n2", [("c3", "n3")]),
     "conductor_selected", {"host": "c2", "node": "n2", "alternates": [["c3", "n3"]]}),
    ("conductor/manager.py", "Failed to schedule instances", None, "schedule_failed", {}),
    ("compute/manager.py", "Failed to build and run instance", None, "build_failed", {}),
    ("compute/manager.py", "Unexpected build failure", None, "build_unexpected", {}),
    ("compute/manager.py", "Retry info not present", None, "retry_info_missing", {}),
    ("compute/manager.py", "Rescheduling, attempt %d", (2,), "compute_rescheduling", {"attempt": 2}),
    ("compute/manager.py", "Took %0.2f seconds to build instance", (1.5,), "build_took", {"seconds": 1.5}),
    ("compute/manager.py", "Starting instance...", None, "instance_starting", {}),
]


@pytest.mark.parametrize("relpath,start,args,kind,expect", TEMPLATES, ids=[t[3] + ":" + t[1][:20] for t in TEMPLATES])
def test_recognisers_match_novas_own_templates(relpath, start, args, kind, expect):
    _level, tpl = oracle.template(relpath, start)
    if args is None:
        msg = tpl
    elif isinstance(args, dict):
        msg = tpl % args
    else:
        msg = tpl % args
    ev = nl.classify(nl.Record(message=msg))
    assert ev is not None and ev["kind"] == kind, msg
    for key, value in expect.items():
        assert ev[key] == value


def test_exception_message_templates():
    from nova import exception
    uuid = "0d1e9b9e-7a4e-4b8e-9f0e-3c2d1b0a9f8e"
    msg = exception.RescheduledException(instance_uuid=uuid, reason="disk full").format_message()
    assert nl.classify(nl.Record(message=msg)) == {"kind": "rescheduled", "instance": uuid, "reason": "disk full"}
    msg = exception.BuildAbortException(instance_uuid=uuid, reason="bad image").format_message()
    assert nl.classify(nl.Record(message=msg))["kind"] == "build_aborted"
    msg = exception.ComputeResourcesUnavailable(reason="no").format_message()
    assert nl.classify(nl.Record(message=msg))["kind"] == "resources_unavailable"
    assert nl.classify_error(exception.MaxRetriesExceeded(reason="x").format_message()) == "max_retries"
    assert nl.classify_error(exception.NoValidHost(reason="").format_message()) == "no_valid_host"


# -- formats and bad input --------------------------------------------------------------------

def test_journald_prefix_forms():
    body = ("2026-11-21 14:20:46.123 77 INFO nova.filters [None req-0a0a0a0a-1111-4111-8111-000000000001 u p - - "
            "default default] Filter ComputeFilter returned 0 hosts")
    for prefix in ("Nov 21 14:20:46 ctl1 nova-scheduler[77]: ", "Nov  1 14:20:46.123456 ctl1 nova-scheduler[77]: ",
                   "2026-11-21T14:20:46+0000 ctl1 nova-scheduler[77]: ",
                   "2026-11-21T14:20:46.123456+00:00 ctl1 nova-scheduler[77]: "):
        (rec,) = nl.parse_text(prefix + body)
        assert rec.time == "2026-11-21 14:20:46.123" and rec.pid == 77 and rec.host == "ctl1"
        assert rec.service == "nova-scheduler" and rec.request_id.endswith("000000000001")
        assert nl.classify(rec) == {"kind": "filter_returned", "filter": "ComputeFilter", "count": 0}


def test_ansi_colours_and_year_for_journald_time():
    line = ("Nov 21 14:20:46 ctl1 nova-scheduler[5]: \x1b[00;32mDEBUG nova.filters [\x1b[00;36mNone "
            "req-0a0a0a0a-1111-4111-8111-000000000001 admin admin\x1b[00;32m] \x1b[01;35m\x1b[00;32mStarting with 2 "
            "host(s)\x1b[00m {{(pid=5) get_filtered_objects /opt/stack/nova/nova/filters.py:70}}\x1b[00m")
    (rec,) = nl.parse_text(line, year=2026)
    assert rec.time == "2026-11-21 14:20:46" and rec.message == "Starting with 2 host(s)"
    assert rec.source == "/opt/stack/nova/nova/filters.py:70" and rec.pid == 5


def test_old_formats_without_pid_and_trace_level():
    text = ("2015-12-10 20:46:49.566 DEBUG nova.virt.libvirt.config [req-5c973fff-e9ba-4317-bfd9-76678cc96584 None "
            "None] Generated XML to_xml /opt/stack/nova/nova/virt/libvirt/config.py:82\n"
            "2015-12-10 20:46:50.001 ERROR nova.compute.manager [req-5c973fff-e9ba-4317-bfd9-76678cc96584 admin demo] "
            "[instance: f1e22596-6844-4d7a-84a3-e41e6d7618ef] Instance failed to spawn\n"
            "2015-12-10 20:46:50.001 TRACE nova.compute.manager [instance: f1e22596-6844-4d7a-84a3-e41e6d7618ef] "
            "Traceback (most recent call last):\n"
            "2015-12-10 20:46:50.001 TRACE nova.compute.manager [instance: f1e22596-6844-4d7a-84a3-e41e6d7618ef] "
            "NovaException: boom\n")
    first, second = nl.parse_text(text)
    assert first.pid is None and first.request_id == "req-5c973fff-e9ba-4317-bfd9-76678cc96584"
    assert first.user is None and first.func == "to_xml" and first.message == "Generated XML"
    assert second.user == "admin" and second.project == "demo"
    assert second.instance == "f1e22596-6844-4d7a-84a3-e41e6d7618ef"
    assert second.traceback.endswith("NovaException: boom")
    assert nl.exception_line(second.traceback) == "NovaException: boom"


def test_garbage_is_counted_never_raised(tmp_path):
    text = "\n".join([
        "random preface line",
        "\x00\x01 binary junk",
        "{not json",
        '{"no_message": 1}',
        "2026-11-21 14:20:46.123 77 INFO nova.filters [-] Filter ComputeFilter returned 0 hosts",
        "2026-11-21 14:20:46.124 77 INFO nova.filters [unterminated bracket",
        "",
    ])
    stats = nl.ParseStats()
    records = nl.parse_text(text, stats=stats)
    assert stats.unparsed == 4 and stats.json_errors == 2
    assert len(records) == 2 and records[0].request_id is None and records[1].message == "[unterminated bracket"
    raw = tmp_path / "bad.log"
    raw.write_bytes(b"\xff\xfe\x00garbage\n" + text.encode())
    stats = nl.ParseStats()
    assert len(nl.parse_file(str(raw), stats=stats)) == 2 and stats.unparsed == 5


def test_files_plain_gz_and_unreadable(tmp_path):
    text, _facts = oracle.generate("default")
    plain = tmp_path / "nova-scheduler.log"
    plain.write_text(text)
    packed = tmp_path / "nova-scheduler.log.1.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write(text)
    a = nl.parse_file(str(plain))
    b = nl.parse_file(str(packed))
    assert [r.to_dict() for r in a] == [dict(r.to_dict(), origin=str(plain)) for r in b]
    assert a[0].origin == str(plain) and a[0].line == 1
    with pytest.raises(nl.NovaLogError, match="cannot read log file .*missing.log"):
        nl.parse_file(str(tmp_path / "missing.log"))
    with pytest.raises(nl.NovaLogError, match="cannot read log file"):
        nl.parse_file(str(tmp_path))
    with pytest.raises(nl.NovaLogError, match="must be a string"):
        nl.parse_text(b"bytes")


def test_json_records_carry_context_and_traceback():
    text, _facts = oracle.generate("json")
    recs = nl.parse_text(text)
    failed = [r for r in recs if r.message.startswith("Failed to schedule instances")]
    assert failed[0].traceback.rstrip().endswith("nova.exception.NoValidHost: No valid host was found.")
    assert failed[0].message == "Failed to schedule instances: nova.exception.NoValidHost: No valid host was found."
    line = json.loads(text.splitlines()[0])
    assert recs[0].pid == line["process"] and recs[0].source.endswith(":%d" % line["lineno"])


def test_record_round_trip():
    rec = nl.parse_text("2026-11-21 14:20:46.123 77 INFO nova.filters [-] [instance: "
                        "0d1e9b9e-7a4e-4b8e-9f0e-3c2d1b0a9f8e] hello")[0]
    assert nl.Record.from_dict(rec.to_dict()).to_dict() == rec.to_dict()
    assert rec.instance == "0d1e9b9e-7a4e-4b8e-9f0e-3c2d1b0a9f8e" and rec.message == "hello"
    assert nl.classify(rec.to_dict()) is None


def test_filter_results_fallback_for_truncated_lines():
    out = nl.parse_filter_results("['ComputeFilter: (start: 3, end: 3)', 'RamFilter: (start: 3, end: 0)'")
    assert out == [{"filter": "ComputeFilter", "start": 3, "end": 3}, {"filter": "RamFilter", "start": 3, "end": 0}]
