"""Every notification sample of the pinned Nova parses into an event.

The samples (doc/notification_samples/*.json) come from the nova source distribution of the
pinned version, downloaded by tests/bin/57-eda.sh into .cache (never copied into the
repository); EDA_NOVA_SAMPLES points at the directory. ``$ref`` entries are resolved as Nova's
own tests do (nova/tests/json_ref.py: the referenced file, then the sibling keys merged over it).
"""

import copy
import glob
import json
import os

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import notifications as nt

SAMPLES = os.environ.get("EDA_NOVA_SAMPLES", "")


def _merge(base, override):
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def resolve(obj, base_dir):
    if isinstance(obj, list):
        return [resolve(item, base_dir) for item in obj]
    if not isinstance(obj, dict):
        return obj
    if "$ref" in obj:
        path = os.path.join(base_dir, obj["$ref"].split("#", 1)[0])
        with open(path) as f:
            referenced = resolve(json.load(f), os.path.dirname(path))
        rest = {key: value for key, value in obj.items() if key != "$ref"}
        return _merge(copy.deepcopy(referenced), resolve(rest, base_dir))
    return {key: resolve(value, base_dir) for key, value in obj.items()}


def sample_files():
    return sorted(glob.glob(os.path.join(SAMPLES, "*.json")))


def test_samples_are_there():
    assert SAMPLES, "EDA_NOVA_SAMPLES is not set (tests/bin/57-eda.sh downloads nova's sdist)"
    assert len(sample_files()) > 100, "expected Nova's 140-odd notification samples in %s" % SAMPLES


@pytest.mark.parametrize("path", sample_files() or ["<none>"], ids=os.path.basename)
def test_sample_parses(path):
    if path == "<none>":
        pytest.fail("no samples in %r" % SAMPLES)
    with open(path) as f:
        sample = resolve(json.load(f), os.path.dirname(path))
    body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(sample)}).encode()
    event = nt.parse(body, routing_key="versioned_notifications.%s" % sample["priority"].lower())
    assert event["event_type"] == sample["event_type"]
    assert event["priority"] == sample["priority"]
    assert event["publisher"]["binary"] == sample["publisher_id"].split(":")[0]
    assert event["payload"] == sample["payload"]
    data = sample["payload"].get("nova_object.data", {})
    assert event["payload_type"] == sample["payload"]["nova_object.name"]
    if "fault" in data and data["fault"]:
        assert event["fault"]["exception"] == data["fault"]["nova_object.data"]["exception"]
    if sample["payload"]["nova_object.name"] == "ExceptionPayload" or "reason" in data:
        assert event["fault"] and event["fault"]["exception"]
    if sample["event_type"].startswith("instance."):
        assert event["instance"]["uuid"] == data.get("uuid", data.get("instance_uuid"))
    if sample["event_type"].startswith("service."):
        assert event["service"]["host"] == data["host"]
        assert event["service"]["binary"] == data["binary"]
    if "request_spec" in data:
        assert event["request"]["flavor"]["name"] == data["request_spec"]["nova_object.data"]["flavor"][
            "nova_object.data"]["name"]
