"""Totality: every parser entry point and every log/history filter takes arbitrary text and
arbitrary JSON without raising (issue 17, kind 3). Only the documented error of a filter for an
input of the wrong type (AnsibleFilterError) or of the history for no server (HistoryError) is
allowed; anything else found here is a bug.
"""

import json

from ansible.errors import AnsibleFilterError
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.stackops.nova.plugins.filter import nova_log
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as nl

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces of real lines, so that the generator reaches the parser's branches, not only its
# "unparsed" exit
FRAGMENTS = st.sampled_from([
    "2026-11-21 14:20:46.123 ", "12345:", "n-cond.log.2015-12-19-215531:", "Nov 21 14:20:46 host nova-scheduler[1]: ",
    "Dez 21 14:20:46 h nova-conductor[7]: ", "2026-11-21T14:20:46.123+00:00 h n[1]: ", " ERROR ", "DEBUG ",
    "INFO ", "TRACE ", "nova.filters ", "nova.scheduler.utils ", "[req-0af99b3d-73da-495c-8426-2f918439c4de ",
    "u p - - -] ", "[instance: 323dcae3-e3f0-4c19-a4ab-5413d9dfd304] ", "[-] ", "Starting with 3 host(s)",
    "Filter RamFilter returned 0 hosts", "Filter X returned " + "9" * 5000 + " host(s)",
    "Filtering removed all hosts for the request with instance ID 'x'. Filter results: ",
    "[('A', None)]", "[('A', 7)]", "[1, 2]", "[('A', [1, (2, 3), None])]", "['A: (start: 1, end: 0)']", "[[[[[[",
    "Error from last host: h (node n): ", "['Traceback (most recent call last):\\n', 'X: y\\n']",
    "Selected host: h; Selected node: n; Alternates: [('a', 'b'), 3]", "Failed to compute_task_build_instances: ",
    "NoValidHost_Remote: 找不到有效主机", "Weighed [WeighedHost [host: (h, n) ram: 1, weight: 1e999]]",
    " from (pid=11395) get_filtered_objects /opt/stack/nova/nova/filters.py:129", " {{(pid=1) f /a.py:3}}",
    "Traceback (most recent call last):", '  File "a.py", line 1, in f', "    code", "\x1b[01;31m", "\n", "\r",
    "Build of instance 323dcae3-e3f0-4c19-a4ab-5413d9dfd304 was re-scheduled: ", "Took 1e309 seconds to build instance",
    "There are 99999999999999999999 hosts available but 2 instances requested to build",
    "Rescheduling, attempt " + "1" * 5000,
])
TEXT = st.one_of(st.text(max_size=300), st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=12)
                 .map("".join))
LOG = st.lists(TEXT, max_size=15).map("\n".join)

JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 4000),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), FRAGMENTS)
JSON_VALUE = st.recursive(JSON_SCALAR, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)), max_leaves=12)
FIELDS = ("message", "levelname", "name", "asctime", "msecs", "process", "context", "extra", "traceback",
          "error_summary", "funcname", "pathname", "lineno", "hostname", "request_id", "global_request_id",
          "instance", "time", "pid", "level", "logger", "line", "user", "project", "host", "origin", "func",
          "source", "service", "instance_uuid", "resource_uuid", "uuid")
RECORD = st.dictionaries(st.sampled_from(FIELDS), JSON_VALUE, max_size=12)


def _json_line(obj):
    try:
        return json.dumps(obj)
    except ValueError:      # an integer too long for str()
        return "{}"


@SETTINGS
@given(LOG, st.lists(st.text(max_size=40), max_size=3))
def test_text_parsers_never_raise(text, match):
    stats = nl.ParseStats()
    records = nl.parse_text(text, stats=stats) + list(nl.iter_records(text.splitlines(), match=match, year=2026))
    for rec in records:
        nl.classify(rec)
        rec.to_dict()
    assert stats.lines == len(text.splitlines())
    history.attempts_from_records(records)
    history.attempts_from_log(records, instance_uuid="323dcae3-e3f0-4c19-a4ab-5413d9dfd304")
    nl.parse_filter_results(text)
    nl.exception_line(text)
    nl.strip_error_summary(text)
    nl.classify_error(text)
    nl.month_number(text[:12] or "x")


@SETTINGS
@given(st.lists(RECORD, max_size=6), st.lists(JSON_VALUE, max_size=3))
def test_json_lines_never_raise(records, others):
    text = "\n".join(_json_line(r) for r in records + others)
    parsed = nl.parse_text(text)
    for rec in parsed:
        assert isinstance(rec.message, str)
        assert rec.request_id is None or isinstance(rec.request_id, str)
        assert rec.traceback is None or isinstance(rec.traceback, str)
        nl.classify(rec)
    history.attempts_from_log(parsed)


@SETTINGS
@given(st.lists(st.one_of(RECORD, JSON_VALUE), max_size=8), st.one_of(st.none(), st.text(max_size=40)))
def test_record_dicts_and_filters_never_raise(items, ident):
    dicts = [i for i in items if isinstance(i, dict)]
    for d in dicts:
        nl.classify(d)
        nl.Record.from_dict(d)
    history.attempts_from_records(dicts)
    history.attempts_from_log(dicts, instance_uuid=ident, request_id=ident)
    for data in (dicts, items, "\n".join(str(i) for i in items)):
        try:
            nova_log.scheduling_attempts(data, instance_uuid=ident)
            nova_log.parse_nova_log(data, match=ident, events=True)
        except AnsibleFilterError:
            pass


@SETTINGS
@given(JSON_VALUE, st.lists(JSON_VALUE, max_size=3), st.lists(RECORD, max_size=4))
def test_history_never_raises_on_odd_api_data(server, actions, records):
    try:
        out = history.build_history(server if isinstance(server, dict) else {"id": "x", "fault": server},
                                    actions=actions, records=records, logs_given=True)
    except history.HistoryError:
        return
    assert isinstance(out["summary"], str) and isinstance(out["table"], str)
