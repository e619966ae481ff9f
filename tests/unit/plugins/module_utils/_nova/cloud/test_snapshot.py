"""snapshot.py: loading and validating cloud snapshots, with errors naming the key."""

import json

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as s


def minimal():
    return {"snapshot_version": 1, "hosts": [{"name": "c1", "nodename": "c1", "resources": {
        "VCPU": {"total": 4, "reserved": 0, "allocation_ratio": 4.0, "used": 1, "capacity": 16, "free": 15}}}]}


def test_minimal_snapshot_gets_defaults_and_input_is_not_changed():
    data = minimal()
    out = s.validate(data)
    assert out["aggregates"] == [] and out["server_groups"] == [] and out["scheduler"] is None
    assert out["hosts"][0]["traits"] is None and out["hosts"][0]["aggregates"] == []
    assert "aggregates" not in data  # deep copy


def test_unknown_keys_are_kept():
    data = minimal()
    data["future_key"] = {"x": 1}
    data["hosts"][0]["future"] = 2
    out = s.validate(data)
    assert out["future_key"] == {"x": 1} and out["hosts"][0]["future"] == 2


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.pop("snapshot_version"), "missing the required key 'snapshot_version'"),
    (lambda d: d.pop("hosts"), "missing the required key 'hosts'"),
    (lambda d: d.update(snapshot_version=2), r"snapshot_version is 2; this reader knows version\(s\) 1"),
    (lambda d: d.update(snapshot_version=True), "snapshot_version is True"),
    (lambda d: d.update(hosts={}), "snapshot.hosts must be a list"),
    (lambda d: d["hosts"][0].pop("nodename"), r"snapshot.hosts\[0\].nodename is required"),
    (lambda d: d["hosts"].append(dict(d["hosts"][0])), r"hosts\[1\]: the pair \(name c1, nodename c1\) appears twice"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].update(total="4"),
     r"snapshot.hosts\[0\].resources.VCPU.total must be a number"),
    (lambda d: d["hosts"][0]["resources"]["VCPU"].pop("total"), r"resources.VCPU is missing the required key 'total'"),
    (lambda d: d["hosts"][0].update(traits="A"), r"hosts\[0\].traits must be a list"),
    (lambda d: d.update(aggregates=[{"hosts": []}]), r"aggregates\[0\] is missing the required key 'name'"),
    (lambda d: d.update(server_groups=[{"name": "x"}]), r"server_groups\[0\] is missing the required key 'policy'"),
    (lambda d: d.update(scheduler=[1]), "snapshot.scheduler must be a mapping"),
])
def test_errors_name_the_key(mutate, message):
    data = minimal()
    mutate(data)
    with pytest.raises(s.SnapshotError, match=message):
        s.validate(data)


def test_loads_and_load(tmp_path):
    text = json.dumps(minimal())
    assert s.loads(text)["hosts"][0]["name"] == "c1"
    with pytest.raises(s.SnapshotError, match="is not valid JSON"):
        s.loads("{nope")
    with pytest.raises(s.SnapshotError, match="must be a JSON string or a mapping"):
        s.loads(42)
    path = tmp_path / "snap.json"
    path.write_text(s.dumps(minimal()))
    assert s.load(str(path))["snapshot_version"] == 1
    with pytest.raises(s.SnapshotError, match="cannot read snapshot file"):
        s.load(str(tmp_path / "missing.json"))
    path.write_text(json.dumps({"snapshot_version": 9, "hosts": []}))
    with pytest.raises(s.SnapshotError, match=r"snapshot file .*snap.json.snapshot_version is 9"):
        s.load(str(path))
