"""snapshot.SCHEMA: the single source of snapshot validation, down to the leaves.

* every schema property is documented in docs/snapshot.md;
* snapshot.check agrees with the reference implementation (the jsonschema package) on
  arbitrary JSON, so the schema means what JSON Schema says;
* arbitrary JSON never raises anything but SnapshotError, whose message names a key.
"""

import copy
import json
import math
import os
import re
import sys

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as s

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "explain"))

import explain_bench  # noqa: E402
import explain_builders as builders  # noqa: E402
from test_numa_pci import SCHED, gpu, host as numa_pci_host  # noqa: E402
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def minimal():
    return {"snapshot_version": 1, "hosts": [{"name": "c1", "nodename": "c1", "resources": {
        "VCPU": {"total": 4, "reserved": 0, "allocation_ratio": 4.0, "used": 1, "capacity": 16, "free": 15}}}]}


def _properties(schema, path=""):
    """(dotted path, name) of every property the schema names, at any depth."""
    for name, sub in (schema.get("properties") or {}).items():
        yield path + name, name
        yield from _properties(sub, path + name + ".")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _properties(schema[key], path + "*.")


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(s.SCHEMA)


def test_every_schema_property_is_documented():
    with open(os.path.join(ROOT, "docs", "snapshot.md"), encoding="utf-8") as handle:
        doc = handle.read()
    missing = sorted(path for path, name in _properties(s.SCHEMA)
                     if not re.search(r"(^|[\s{,])%s:" % re.escape(name), doc, re.M))
    assert not missing, "not in docs/snapshot.md: %s" % ", ".join(missing)


def test_the_keywords_used_are_the_ones_check_implements():
    known = {"$schema", "title", "type", "properties", "required", "additionalProperties", "items", "enum",
             "minimum", "maximum", "minLength", "x-message", "description"}

    def walk(schema):
        assert set(schema) <= known, set(schema) - known
        for sub in (schema.get("properties") or {}).values():
            walk(sub)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                walk(schema[key])
    walk(s.SCHEMA)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(total=-4), r"hosts\[0\].resources.VCPU.total must be >= 0"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(reserved=-1), r"VCPU.reserved must be >= 0"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(used=-1), r"VCPU.used must be >= 0"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(total=float("inf")), r"VCPU.total must be a finite number"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(allocation_ratio=float("nan")),
     r"VCPU.allocation_ratio must be a finite number"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(total=10 ** 5000), r"VCPU.total must be <= 2147483647"),
    (lambda d: d["hosts"][0].update(traits=["HW_CPU_X86_AVX2", 7]), r"hosts\[0\].traits\[1\] must be a string"),
    (lambda d: d["hosts"][0].update(instances=[None]), r"hosts\[0\].instances\[0\] must be a string"),
    (lambda d: d["hosts"][0].update(num_instances=-2), r"hosts\[0\].num_instances must be >= 0"),
    (lambda d: d["hosts"][0].update(service={"status": "maybe"}), r"hosts\[0\].service.status must be one of"),
    (lambda d: d["hosts"][0].update(resources={"VCPU": 4}), r"hosts\[0\].resources.VCPU must be a mapping"),
    (lambda d: d.update(aggregates=[{"name": "a", "hosts": ["c1", 2]}]), r"aggregates\[0\].hosts\[1\] must be a"),
    (lambda d: d.update(aggregates=[{"name": "a", "metadata": {"ssd": ["x"]}}]),
     r"aggregates\[0\].metadata.ssd must be a string or null"),
    (lambda d: d.update(server_groups=[{"policy": "affinity", "members": [{}]}]),
     r"server_groups\[0\].members\[0\] must be a string"),
    (lambda d: d.update(server_groups=[{"policy": "affinity", "rules": {"max_server_per_host": 0}}]),
     r"rules.max_server_per_host must be >= 1"),
    (lambda d: d.update(warnings=["ok", {"a": 1}]), r"warnings\[1\] must be a string"),
    (lambda d: d.update(source={"nova_release": 34}), r"source.nova_release must be a string or null"),
    (lambda d: d["hosts"][0].update({"name": ""}), r"hosts\[0\].name is required and must be a non-empty string"),
    (lambda d: d.update({7: 1}), r"snapshot has a key that is not a string"),
    (lambda d: d.update(projects={"id": "p"}), r"projects must be a list or null"),
    (lambda d: d.update(projects=[{"name": "web"}]), r"projects\[0\] is missing the required key 'id'"),
    (lambda d: d.update(projects=[{"id": "p", "name": 3}]), r"projects\[0\].name must be a string or null"),
])
def test_leaves_are_validated_with_a_path_to_the_key(mutate, message):
    data = minimal()
    mutate(data)
    with pytest.raises(s.SnapshotError, match=message):
        s.validate(data)


def test_a_valid_snapshot_passes_both_validators():
    data = minimal()
    data.update(aggregates=[{"id": 3, "name": "a", "hosts": ["c1"], "metadata": {"availability_zone": "az1"}}],
                availability_zones=[{"name": "az1", "hosts": ["c1"], "available": True}],
                server_groups=[{"id": "g", "name": "web", "policy": "anti-affinity", "rules": {}, "members": []}],
                projects=[{"id": "0123456789abcdef0123456789abcdef", "name": "web"}, {"id": "p2", "name": None}])
    jsonschema.validate(data, s.SCHEMA)
    assert s.validate(data)["aggregates"][0]["availability_zone"] == "az1"


# --- properties --------------------------------------------------------------------------------

FINITE = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 60), max_value=2 ** 60),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
                   st.sampled_from(["", "up", "down", "enabled", "disabled", "affinity", "VCPU"]))
KEYS = st.sampled_from(sorted({pair[1] for pair in _properties(s.SCHEMA)} | {"VCPU", "MEMORY_MB", "x"}))
JSON = st.recursive(FINITE, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)


def _mutations(draw_value):
    """A valid snapshot with one leaf or branch replaced by arbitrary JSON."""
    return st.builds(_replace, st.integers(min_value=0, max_value=40), draw_value)


def _replace(choice, value):
    data = minimal()
    data.update(aggregates=[{"id": 3, "name": "a", "hosts": ["c1"], "metadata": {"k": "v"}}],
                server_groups=[{"policy": "affinity", "members": ["m"], "rules": {"max_server_per_host": 2}}],
                availability_zones=[{"name": "az1", "hosts": ["c1"]}])
    slots = []

    def walk(node):
        if isinstance(node, dict):
            for key in list(node):
                slots.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for index in range(len(node)):
                slots.append((node, index))
                walk(node[index])
    walk(data)
    node, key = slots[choice % len(slots)]
    node[key] = value
    return data


def _check_passes(data):
    try:
        s.check(data, s.SCHEMA)
        return True
    except s.SnapshotError:
        return False


def _agree(data):
    reference = jsonschema.Draft202012Validator(s.SCHEMA).is_valid(data)
    ours = _check_passes(data)
    assert ours == reference, json.dumps(data)[:500]
    # validate() asks the compiled acceptor first, check() only to name the key of a no
    assert s._accepts(s.SCHEMA)(data) == ours, json.dumps(data)[:500]


@SETTINGS
@given(data=JSON)
def test_check_agrees_with_jsonschema_on_any_json(data):
    _agree(data)


@SETTINGS
@given(data=_mutations(JSON))
def test_check_agrees_with_jsonschema_near_valid_snapshots(data):
    _agree(data)


ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 300, max_value=10 ** 400),
              st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.one_of(KEYS, st.text(max_size=4)),
                                                                         inner, max_size=5)), max_leaves=25)


@SETTINGS
@given(data=st.one_of(ANY, _mutations(ANY)))
def test_any_json_is_a_snapshot_or_a_clear_error(data):
    try:
        out = s.validate(data)
    except s.SnapshotError as exc:
        assert str(exc).startswith("snapshot")
        return
    for host in out["hosts"]:
        for view in host["resources"].values():
            assert all(not isinstance(v, float) or math.isfinite(v) for v in view.values())
            assert view["total"] >= 0


@SETTINGS
@given(text=st.text(max_size=60))
def test_any_text_loads_or_fails_clearly(text):
    try:
        s.loads(text)
    except s.SnapshotError as exc:
        assert str(exc).startswith("snapshot")


@SETTINGS
@given(data=st.one_of(ANY, _mutations(ANY)))
def test_the_fast_acceptor_accepts_exactly_what_check_accepts(data):
    assert s._accepts(s.SCHEMA)(data) == _check_passes(data), repr(data)[:500]


ODD_VALUES = [None, True, False, 0, -1, 2, 2.0, 2.5, -0.5, float("inf"), float("nan"), 10 ** 40, "", "x", "up",
              "enabled", [], ["x"], [1], {}, {"x": 1}, {7: 1}, (1, 2)]


def test_the_fast_acceptor_agrees_on_every_slot_of_rich_snapshots():
    """Every value of real-shaped snapshots (NUMA cells, PCI pools, server groups, aggregates, the
    benchmark's cloud) replaced in turn by each odd value, subclasses of dict, list, str and int too."""
    class Dict(dict):
        pass

    class Str(str):
        pass

    rich = builders.snapshot([numa_pci_host(pinned_cell1=[4], pools=[gpu(2, 1), gpu(1, None)]),
                              builders.host("p1", az="az1", aggregates=["fast"], instances=["i-1"])],
                             aggregates=[builders.aggregate(1, "fast", ["p1"], metadata={"ssd": "true"})],
                             server_groups=[{"id": "g", "name": "web", "policy": "anti-affinity",
                                             "rules": {"max_server_per_host": 2}, "members": ["i-1"]}],
                             scheduler=SCHED)
    bases = [rich, explain_bench.synthetic_cloud(3)]
    compared = 0
    for base in bases:
        assert s._accepts(s.SCHEMA)(base) and _check_passes(base)
        slots = []

        def walk(node, path):
            if isinstance(node, dict):
                for key in list(node):
                    slots.append(path + (key,))
                    walk(node[key], path + (key,))
            elif isinstance(node, list):
                for index in range(len(node)):
                    slots.append(path + (index,))
                    walk(node[index], path + (index,))
        walk(base, ())
        for slot in slots:
            for value in ODD_VALUES + ["delete", "subclass"]:
                data = copy.deepcopy(base)
                node = data
                for key in slot[:-1]:
                    node = node[key]
                if value == "delete":
                    if isinstance(node, list):
                        continue
                    del node[slot[-1]]
                elif value == "subclass":
                    old = node[slot[-1]]
                    node[slot[-1]] = (Dict(old) if isinstance(old, dict) else Str(old) if isinstance(old, str)
                                      else type("List", (list,), {})(old) if isinstance(old, list) else old)
                else:
                    node[slot[-1]] = value
                assert s._accepts(s.SCHEMA)(data) == _check_passes(data), (slot, value)
                compared += 1
    assert compared > 5000
