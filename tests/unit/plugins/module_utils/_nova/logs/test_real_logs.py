"""Real log excerpts operators pasted in public (tests/unit/data/real/, sources in SOURCES.md):
one test per kind of input that the parser and the history must read (issue 15).

The facts asserted are the ones a reader gets from the excerpt by hand (which filter emptied the
list, the compute error of each attempt, NoValidHost), not the parser's own output copied back.
"""

import pathlib

import pytest

from ansible_collections.stackops.nova.plugins.filter import nova_log
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as nl

DATA = pathlib.Path(__file__).resolve().parents[4] / "data" / "real" / "logs"


def _parse(name, **kw):
    stats = nl.ParseStats()
    records = nl.parse_file(str(DATA / name), stats=stats, **kw)
    return records, stats


def _text(name):
    return (DATA / name).read_text(encoding="utf-8")


def test_every_excerpt_has_a_source_note():
    sources = (DATA.parent / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DATA.iterdir()) + \
        sorted(p.name for p in (DATA.parent / "nova_conf").iterdir())
    assert files
    for name in files:
        assert name in sources, name


# -- grep prefixes ---------------------------------------------------------------------------
def test_grep_n_prefix_kolla_queens():
    records, stats = _parse("grep_n_kolla_queens_2018.log")
    assert stats.unparsed == 0 and len(records) == 2
    assert {r.request_id for r in records} == {"req-0af99b3d-73da-495c-8426-2f918439c4de"}
    assert records[0].time == "2018-08-09 09:19:08.040" and records[0].func == "get_filtered_objects"
    (group,) = nova_log.scheduling_attempts(_text("grep_n_kolla_queens_2018.log"))
    (failing,) = group["scheduling_passes"]
    assert failing["starting_hosts"] == 0 and failing["emptied_by"] == "AvailabilityZoneFilter"
    assert group["final"]["kind"] == "no_valid_host"


def test_grep_r_prefix_with_dotted_dashed_file_names_and_old_devstack_suffix():
    records, stats = _parse("grep_r_devstack_liberty_2015.log")
    assert stats.unparsed == 0
    by_req = {r.request_id: r for r in records}
    cond = by_req["req-50c29e27-4982-40a9-be91-21621c351c2b"]
    assert cond.time == "2015-12-20 17:20:47.176" and cond.logger == "nova.scheduler.utils"
    sched = by_req["req-a4eae3c0-822f-49a5-bd4f-63b219b320bc"]
    assert sched.func == "host_passes" and sched.pid == 10174        # "from (pid=10174) host_passes ..."
    assert sched.message.endswith("[[u'DevStackOSDomU', u'xenti.dsl.eumel.local']]")
    groups = {g["request_id"]: g for g in nova_log.scheduling_attempts(_text("grep_r_devstack_liberty_2015.log"))}
    (att,) = groups["req-50c29e27-4982-40a9-be91-21621c351c2b"]["attempts"]
    assert att["host"] == "DevStackOSDomU" and att["node"] == "xenti.dsl.eumel.local"
    assert att["error"].startswith("Only file-based SRs (ext/NFS) are supported by this feature.")
    # the first line, cut from its header, is a bare message with the old suffix
    assert groups[None]["final"]["kind"] == "no_valid_host"
    assert groups[None]["scheduling_passes"][0]["not_enough_hosts"] == {"available": 0, "requested": 1}


def test_grep_context_lines_and_separators():
    # grep -n -A1 over the real excerpt: the traceback line after a match comes as "N-" and
    # groups are separated by "--"
    lines = _text("zh_cn_novalidhost_queens_2021.log").splitlines()
    pasted = []
    for i, line in enumerate(lines[3:6], start=4):
        pasted.append("%d%s%s" % (i, ":" if line[:4].isdigit() else "-", line))
    pasted.append("--")
    records, stats = nl.parse_text("\n".join(pasted)), None
    assert len(records) == 1 and records[0].request_id == "req-ba7cca9e-6c0d-4a8e-b657-60673456a472"
    assert records[0].message.splitlines()[1] == "Traceback (most recent call last):"


# -- journald --------------------------------------------------------------------------------
def test_journald_with_oslo_line_inside():
    (rec,), _stats = _parse("journald_devstack_ussuri_2020.log")
    assert rec.host == "test-coa-5" and rec.service == "nova-conductor"
    assert rec.time == "2020-07-28 16:48:10.626" and rec.pid == 8393
    (group,) = nova_log.scheduling_attempts(_text("journald_devstack_ussuri_2020.log"))
    assert group["attempts"][0]["error"] == \
        "XML error: expected unicast mac address, found multicast '11:22:33:44:55:66'"


# Abbreviated month names as glibc's localedata (LC_TIME abmon) prints them for journalctl /
# syslog in a few locales, September in each; plus case variants and a word the parser has
# never seen, which must still be read as a journald line (month unknown).
@pytest.mark.parametrize("month,number", [
    ("Sep", "09"), ("SEP", "09"), ("sept.", "09"), ("set", "09"), ("wrz", "09"), ("zář", "09"), ("сен", "09"),
    ("Eyl", "09"), ("syys", "09"), ("9月", "09"), ("9월", "09"), ("Σεπ", "09"), ("Septembre", "09"),
    ("Xyzzy", "00"),
])
def test_journald_month_in_any_locale_and_case(month, number):
    real = _text("journald_devstack_pike_2017.log").splitlines()[0]
    line = month + real[3:]
    (rec,) = nl.parse_text(line)
    assert rec.time == "%s-05 09:02:02" % number
    assert rec.host == "leg-004" and rec.service == "nova-scheduler" and rec.pid == 15128
    assert rec.request_id == "req-c8cd4884-6858-4438-ab57-07ac3adeefbe" and rec.func == "_locked_update"


# -- no timestamp, bare message -----------------------------------------------------------------
def test_line_without_timestamp():
    (rec,), stats = _parse("notime_devstack_mitaka_2016.log")
    assert stats.unparsed == 0
    assert rec.level == "ERROR" and rec.logger == "nova.scheduler.utils"
    assert rec.request_id == "req-1256d890-58f6-41b8-8013-793ada1b696e"
    assert rec.instance == "16145ddf-99eb-4180-8a69-c8e811754297"
    (group,) = nova_log.scheduling_attempts(_text("notime_devstack_mitaka_2016.log"),
                                            instance_uuid="16145ddf-99eb-4180-8a69-c8e811754297")
    assert group["attempts"][0]["error"] == "Unable to get host UUID: /etc/machine-id is empty"


def test_bare_message_without_header():
    text = _text("bare_message_caracal_2024.log")
    for groups in (nova_log.scheduling_attempts(text),
                   nova_log.scheduling_attempts(text, instance_uuid="03d2c6e7-60f8-4382-958b-f2e268540528")):
        (group,) = groups
        (failing,) = group["scheduling_passes"]
        assert failing["emptied_by"] == "FailureDomainFilter"
        assert [f["filter"] for f in failing["filters"]][0] == "ComputeFilter"
        assert failing["filters"][-1]["start"] == 2 and failing["filters"][-1]["end"] == 0


# -- hard-wrapped context ------------------------------------------------------------------------
def test_context_bracket_wrapped_by_the_terminal():
    (rec,), stats = _parse("wrapped_context_liberty_2016.log")
    assert stats.unparsed == 0
    assert rec.request_id == "req-e21fdda8-7c6c-47d7-9137-0eaed3fc7c7c"
    assert rec.user == "5976e07fd29649a383023e80b50e1e9e" and rec.project == "3090c353f4104643a1e4fbe8c96e23ba"
    assert rec.message.startswith("Failed to compute_task_build_instances: No valid host was found.")
    # also found by the filtered (match) path the module takes, although the id is cut in two
    (kept,) = nl.parse_file(str(DATA / "wrapped_context_liberty_2016.log"),
                            match=["req-e21fdda8-7c6c-47d7-9137-0eaed3fc7c7c"])
    assert kept.request_id == rec.request_id
    (group,) = nova_log.scheduling_attempts(_text("wrapped_context_liberty_2016.log"),
                                            request_id="req-e21fdda8-7c6c-47d7-9137-0eaed3fc7c7c")
    assert group["final"]["kind"] == "no_valid_host"


def test_wrapped_filter_results_list():
    # the real "Filter results" line cut by a terminal at 80 columns, inside the list
    line = _text("bare_message_caracal_2024.log").rstrip("\n")
    wrapped = "\n".join(line[i:i + 80] for i in range(0, len(line), 80))
    (group,) = nova_log.scheduling_attempts(wrapped)
    assert group["scheduling_passes"][0]["emptied_by"] == "FailureDomainFilter"
    assert len(group["scheduling_passes"][0]["filters"]) == 8


# -- exceptions ---------------------------------------------------------------------------------
def test_multiline_exception_reported_by_its_first_line():
    records, _stats = _parse("zh_cn_novalidhost_queens_2021.log")
    failed = [r for r in records if r.message.startswith("Failed to compute_task_build_instances")][0]
    # the traceback was pasted without oslo's prefix: it continues the message; the exception
    # is "NoValidHost: ..." and its message goes on over the next line
    assert nl.exception_line(failed.message).startswith("NoValidHost: \\u627e\\u4e0d")


# -- an excerpt that starts mid-pass, old devstack suffix -------------------------------------------
def test_excerpt_starting_mid_pass_keeps_passes_apart():
    records, stats = _parse("midpass_devstack_ocata_2018.log")
    assert stats.unparsed == 0
    assert all(r.func for r in records if r.level == "DEBUG")        # "from (pid=11395) func path:line"
    (group,) = nova_log.scheduling_attempts(_text("midpass_devstack_ocata_2018.log"))
    first, failing = group["scheduling_passes"]
    assert first["selected"] == ["ubuntu", "a204e33f-6803-4d92-ad47-5b6928e3cede"]
    assert failing["starting_hosts"] == 4
    assert [f["filter"] for f in failing["filters"]] == [
        "RetryFilter", "RamFilter", "DiskFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
        "ServerGroupAggregateAffinityFilter"]
    assert failing["emptied_by"] == "ServerGroupAggregateAffinityFilter"
    # the per-host DEBUG results (behind the old suffix) say which host each filter removed
    assert failing["form"] == "hosts"
    ram = [f for f in failing["filters"] if f["filter"] == "RamFilter"][0]
    assert ram["removed"] == [["ubuntu", "a204e33f-6803-4d92-ad47-5b6928e3cede"]]
    assert group["final"]["scheduling"] is failing


# -- localized messages, summary ----------------------------------------------------------------
def test_localized_messages_classified_by_exception_class():
    records, _stats = _parse("zh_cn_novalidhost_queens_2021.log")
    server = {"id": "4f75fd35-c53c-4feb-90bf-391996dee667", "name": "centos7_new", "status": "ERROR",
              "fault": {"code": 500, "message": "找不到有效主机，原因是 没有足够的主机可用。",
                        "details": "Traceback ...\nNoValidHost_Remote: ..."}}
    action = {"action": "create", "request_id": "req-ba7cca9e-6c0d-4a8e-b657-60673456a472",
              "start_time": "2021-09-17T15:48:47.000000", "events": []}
    out = history.build_history(server, [action], records)
    assert out["outcome"] == "no_valid_host_filter"
    assert "filter ComputeFilter removed the last 1 host(s)" in out["summary"]
    assert nl.classify_error("NoValidHost_Remote: 找不到有效主机") == "no_valid_host"


def test_summary_keeps_the_compute_error_behind_reschedules():
    records, _stats = _parse("journald_devstack_ussuri_2020.log")
    server = {"id": "a5a972b4-b779-4931-94c3-c43956f4d7ee", "name": "vm", "status": "ERROR",
              "fault": {"code": 500, "message": "No valid host was found. There are not enough hosts available."}}
    action = {"action": "create", "request_id": "req-9b59c38d-c943-4d56-82ca-5cf9f1b5bfe9",
              "start_time": "2020-07-28T16:48:09.000000", "events": []}
    out = history.build_history(server, [action], records)
    assert out["outcome"].startswith("no_valid_host")
    assert "last error on test-coa-5: XML error: expected unicast mac address" in out["summary"]


def test_summary_gives_the_attempt_error_when_no_fault_exists():
    records, _stats = _parse("notime_devstack_mitaka_2016.log")
    server = {"id": "16145ddf-99eb-4180-8a69-c8e811754297", "name": "vm", "status": "ERROR"}
    action = {"action": "create", "request_id": "req-1256d890-58f6-41b8-8013-793ada1b696e", "events": []}
    out = history.build_history(server, [action], records)
    assert "unknown error" not in out["summary"]
    assert "/etc/machine-id is empty" in out["summary"]


def test_request_id_cut_in_two_by_the_wrap():
    # the same real line, wrapped by a narrower terminal: the cut falls inside the request id
    line = _text("wrapped_context_liberty_2016.log").replace("\n", "")
    cut = line.index("req-e21fdda8") + 20
    wrapped = line[:cut] + "\n" + line[cut:]
    (rec,) = nl.parse_text(wrapped)
    assert rec.request_id == "req-e21fdda8-7c6c-47d7-9137-0eaed3fc7c7c"
    (group,) = nova_log.scheduling_attempts(wrapped, request_id="req-e21fdda8-7c6c-47d7-9137-0eaed3fc7c7c")
    assert group["final"]["kind"] == "no_valid_host"
