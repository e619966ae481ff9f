"""Every filter's arguments: a bad one is named, and nothing but AnsibleFilterError ever escapes.

Property tests (hypothesis) feed arbitrary JSON values to every argument of every filter of the
collection, and arbitrary JSON as the input of the filters over data (explanations, snapshots,
hypervisor_info results). The log filters' input text is a fixed sample here: arbitrary log
text is the log parser's own property test.
"""

import math
import os
import sys

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.stackops.nova.plugins.filter import explain as explain_filters
from ansible_collections.stackops.nova.plugins.filter import nova_log as log_filters
from ansible_collections.stackops.nova.plugins.filter import report as report_filters

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "module_utils", "_nova", "explain"))
import explain_builders as B  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any JSON value (as Ansible hands filters their arguments), with numbers of every size,
# non-finite floats and very long integers.
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 300, max_value=10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(["1", "-1", "0", "40", "yes", "no", "true", "nan", "inf", "1e999", " 7 "]),
                    st.sampled_from([float("nan"), float("inf"), float("-inf"), 10 ** 350]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)

LOG = ("2026-11-21 14:00:00.123 4242 INFO nova.scheduler.host_manager "
       "[req-6a0b5d1e-4c6f-4c43-9d5e-0f3a8e9d1c2b - - - - -] Host filter ignoring hosts: \n"
       "2026-11-21 14:00:01.456 4242 WARNING nova.scheduler.manager "
       "[req-6a0b5d1e-4c6f-4c43-9d5e-0f3a8e9d1c2b admin admin - - -] Got no allocation candidates from the "
       "Placement API. This could be due to insufficient resources or a temporary occurrence as compute nodes "
       "start up.\n")


@pytest.fixture(scope="module")
def explanation():
    return explain_filters.explain(B.twelve_hosts(), B.flavor("m1.small"), relaxations=False)


def _ids(value):
    """pytest ids: a number of thousands of digits cannot even be printed."""
    if isinstance(value, int) and value.bit_length() > 1000:
        return "huge-int"
    return None


def _only_filter_errors(func, *args, **kwargs):
    """Call a filter; it returns, or raises AnsibleFilterError, never anything else."""
    try:
        return func(*args, **kwargs)
    except AnsibleFilterError as exc:
        assert "Traceback" not in str(exc)
        return exc


# --- the named-argument cases (kind 6 of issue 17) -------------------------------------------

@pytest.mark.parametrize("bad", [-1, "many", 1.5, [], {}, True, float("inf"), float("nan"), 10 ** 4000], ids=_ids)
def test_a_bad_max_hosts_is_named_not_blamed_on_the_explanation(explanation, bad):
    with pytest.raises(AnsibleFilterError) as info:
        explain_filters.explain_table(explanation, max_hosts=bad)
    assert "max_hosts" in str(info.value)
    assert "malformed explanation" not in str(info.value)


def test_max_hosts_accepts_numbers_given_as_text(explanation):
    assert explain_filters.explain_table(explanation, max_hosts="3") == \
        explain_filters.explain_table(explanation, max_hosts=3)


@pytest.mark.parametrize("argument, bad", [
    ("count", 0), ("count", "two"), ("count", 1.5), ("count", 10 ** 6), ("count", True),
    ("boot_from_volume", "maybe"), ("relaxations", [1]), ("image", "cirros"), ("scheduler_hints", [1]),
    ("scheduler", "filters"), ("availability_zone", {"a": 1}), ("project_id", [1]), ("nova_release", 34.5),
])
def test_explain_names_the_bad_argument(argument, bad):
    with pytest.raises(AnsibleFilterError) as info:
        explain_filters.explain(B.twelve_hosts(), B.flavor("m1.small"), **{argument: bad})
    assert argument in str(info.value)


@pytest.mark.parametrize("key, bad", [("vcpus", float("inf")), ("ram", float("nan")), ("disk", 10 ** 5000),
                                      ("vcpus", "lots"), ("ram", -512), ("swap", [1])], ids=_ids)
def test_explain_names_the_bad_flavor_key(key, bad):
    flavor = dict(B.flavor("m1.small"), **{key: bad})
    with pytest.raises(AnsibleFilterError) as info:
        explain_filters.explain(B.twelve_hosts(), flavor)
    assert "flavor.%s" % key in str(info.value)


@pytest.mark.parametrize("argument, bad", [("events", "sometimes"), ("year", "soon"), ("year", 12),
                                           ("year", float("inf")), ("match", 5)])
def test_parse_nova_log_names_the_bad_argument(argument, bad):
    with pytest.raises(AnsibleFilterError) as info:
        log_filters.parse_nova_log(LOG, **{argument: bad})
    assert argument in str(info.value)


@pytest.mark.parametrize("argument", ["instance_uuid", "request_id"])
def test_scheduling_attempts_names_the_bad_argument(argument):
    with pytest.raises(AnsibleFilterError) as info:
        log_filters.scheduling_attempts(LOG, **{argument: ["x"]})
    assert argument in str(info.value)


def test_capacity_filters_name_what_they_expected():
    with pytest.raises(AnsibleFilterError, match="headroom"):
        report_filters.capacity_table([], headroom="m1.small")
    with pytest.raises(AnsibleFilterError, match="hypervisors"):
        report_filters.capacity_table("c1")
    with pytest.raises(AnsibleFilterError, match="totals"):
        report_filters.capacity_totals([1, 2])


# --- properties ------------------------------------------------------------------------------

@SETTINGS
@given(max_hosts=JSON)
def test_explain_table_any_max_hosts(explanation, max_hosts):
    out = _only_filter_errors(explain_filters.explain_table, explanation, max_hosts=max_hosts)
    if isinstance(out, AnsibleFilterError):
        assert "max_hosts" in str(out)


@SETTINGS
@given(data=JSON)
def test_explain_table_and_summary_any_input(data):
    _only_filter_errors(explain_filters.explain_table, data)
    _only_filter_errors(explain_filters.explain_summary, data)


@SETTINGS
@given(hosts=st.lists(JSON, max_size=3), checks=st.lists(JSON, max_size=3), extra=st.dictionaries(
    st.sampled_from(["request", "summary", "hosts_valid", "hosts_total", "reasons", "fits", "placements",
                     "near_misses", "relaxations", "headroom", "count", "notes"]), JSON, max_size=6))
def test_explain_table_explanation_shaped_input(hosts, checks, extra):
    data = dict(extra, hosts=hosts, checks=checks)
    _only_filter_errors(explain_filters.explain_table, data)
    _only_filter_errors(explain_filters.explain_summary, data)


@SETTINGS
@given(args=st.fixed_dictionaries({}, optional={
    "image": JSON, "availability_zone": JSON, "scheduler_hints": JSON, "count": JSON, "project_id": JSON,
    "boot_from_volume": JSON, "scheduler": JSON, "nova_release": JSON, "relaxations": st.just(False)}))
def test_explain_any_arguments(args):
    _only_filter_errors(explain_filters.explain, B.twelve_hosts(), B.flavor("m1.small"), **args)


@SETTINGS
@given(snapshot=JSON, flavor=JSON)
def test_explain_any_snapshot_and_flavor(snapshot, flavor):
    _only_filter_errors(explain_filters.explain, snapshot, flavor, relaxations=False)


@SETTINGS
@given(hosts=JSON, headroom=JSON, totals=JSON)
def test_capacity_filters_any_input(hosts, headroom, totals):
    _only_filter_errors(report_filters.capacity_table, hosts)
    _only_filter_errors(report_filters.capacity_table, [], headroom=headroom)
    _only_filter_errors(report_filters.capacity_totals, totals)


@SETTINGS
@given(match=JSON, events=JSON, year=JSON)
def test_parse_nova_log_any_arguments(match, events, year):
    out = _only_filter_errors(log_filters.parse_nova_log, LOG, match=match, events=events, year=year)
    if not isinstance(out, AnsibleFilterError):
        assert isinstance(out, list)


@SETTINGS
@given(instance_uuid=JSON, request_id=JSON)
def test_scheduling_attempts_any_arguments(instance_uuid, request_id):
    _only_filter_errors(log_filters.scheduling_attempts, LOG, instance_uuid=instance_uuid, request_id=request_id)


def test_the_strategies_reach_the_odd_values():
    """The properties above are only worth something if odd values are generated."""
    seen = []

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(value=SCALARS)
    def collect(value):
        seen.append(value)
    collect()
    assert any(isinstance(v, float) and math.isnan(v) for v in seen)
    assert any(isinstance(v, int) and not isinstance(v, bool) and v > 10 ** 300 for v in seen)
