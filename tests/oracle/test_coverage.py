"""The coverage table of docs/explain.md lists every filter and request filter of the pinned Nova.

Fails when ``nova.scheduler.filters.all_filters()`` or ``request_filter.ALL_REQUEST_FILTERS``
has a name the table does not list, when the table lists a name Nova does not have, when a
status is not modelled / partly / not, or when a row claims ``modelled`` / ``partly`` for a
name the engine has no column for.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import nova_oracle as O  # noqa: E402

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import filters as F  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import prefilters as PF  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request_filters as RF  # noqa: E402

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "explain.md")
STATUSES = ("modelled", "partly", "not")
_ROW = re.compile(r"^\|\s*(host filter|request filter)\s*\|\s*`([A-Za-z_]+)`\s*\|\s*([a-z]+)\s*\|")


def table():
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("## Coverage of the pinned Nova")
    end = text.index("\n## ", start + 1)
    rows = {}
    for line in text[start:end].splitlines():
        match = _ROW.match(line)
        if match:
            kind, name, status = match.groups()
            assert (kind, name) not in rows, "listed twice: %s" % name
            rows[(kind, name)] = status
    return rows


def nova_names():
    pytest.importorskip("nova")
    n = O.nova()
    from nova.scheduler import request_filter
    hosts = {("host filter", cls.__name__) for cls in n["filters"].all_filters()}
    requests = {("request filter", fn.__name__) for fn in request_filter.ALL_REQUEST_FILTERS}
    return hosts | requests


def engine_request_filter_names():
    """The request filter names the engine has a column (or an addition) for."""
    names = set(RF.NAMES)
    source = open(PF.__file__, encoding="utf-8").read()
    names.update(re.findall(r'name = "([a-z_]+)"', source))
    names.update(re.findall(r'"prefilter:[a-z_]+", "([a-z_]+)"', source))
    return names


def test_table_lists_every_filter_of_the_pinned_nova():
    rows = table()
    nova = nova_names()
    missing = sorted(n for k, n in nova - set(rows))
    assert not missing, "docs/explain.md coverage table does not list: %s" % ", ".join(missing)
    stale = sorted(n for k, n in set(rows) - nova)
    assert not stale, "docs/explain.md coverage table lists names the pinned Nova does not have: %s" % stale


def test_statuses_are_known_and_claims_are_backed():
    rows = table()
    request_names = engine_request_filter_names()
    for (kind, name), status in rows.items():
        assert status in STATUSES, (name, status)
        if status == "not":
            continue
        if kind == "host filter":
            assert name in F.REGISTRY, "%s is %s in the table but the engine has no such filter" % (name, status)
        else:
            assert name in request_names, "%s is %s in the table but the engine has no column for it" % (name, status)
