"""The parse_nova_log / scheduling_attempts filters, on real Nova output (novalog_oracle)."""

import os
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.filter import nova_log

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils", "_nova", "logs"))
oracle = pytest.importorskip("novalog_oracle")
pytest.importorskip("nova")


@pytest.fixture(scope="module")
def text():
    return oracle.generate("default")[0]


def test_parse_nova_log_records_and_events(text):
    recs = nova_log.parse_nova_log(text, events=True)
    assert all(isinstance(r, dict) and "event" in r for r in recs)
    kinds = [r["event"]["kind"] for r in recs if r["event"]]
    assert "filtering_removed_all" in kinds and "error_from_last_host" in kinds
    only = nova_log.parse_nova_log(text, match=oracle.REQ_PLACEMENT)
    assert {r["request_id"] for r in only} == {oracle.REQ_PLACEMENT}
    per_host = nova_log.parse_nova_log([text, text], match=[oracle.REQ_PLACEMENT])
    assert [r["origin"] for r in per_host].count("item[1]") == len(only)


def test_scheduling_attempts_from_text_and_records(text):
    by_text = nova_log.scheduling_attempts(text, instance_uuid=oracle.INST_RESCHEDULE)
    assert [a["host"] for a in by_text[0]["attempts"]] == ["compute1", "compute2", "compute3"]
    recs = nova_log.parse_nova_log(text)
    by_recs = nova_log.scheduling_attempts(recs, request_id=oracle.REQ_FILTER)
    assert by_recs[0]["final"]["scheduling"]["emptied_by"] == "AggregateInstanceExtraSpecsFilter"
    assert nova_log.scheduling_attempts([]) == []


def test_bad_input_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="parse_nova_log: the input must be log text"):
        nova_log.parse_nova_log(42)
    with pytest.raises(AnsibleFilterError, match="match must be"):
        nova_log.parse_nova_log("x", match=3)
    with pytest.raises(AnsibleFilterError, match="scheduling_attempts"):
        nova_log.scheduling_attempts({"a": 1})
    assert nova_log.parse_nova_log("not a log line\n") == []
