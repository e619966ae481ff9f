"""notifications.py: oslo.messaging envelopes -> normalized events; filters; heartbeats.

The envelopes are made by oslo.messaging's own serializer and context packing (the code the
RabbitMQ driver runs), the payloads by Nova's own notification objects. Every sample Nova
documents is parsed by tests/eda/test_nova_samples.py (stage 57-eda).
"""

import json

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import notifications as nt

common = pytest.importorskip("oslo_messaging._drivers.common")
amqp = pytest.importorskip("oslo_messaging._drivers.amqp")
pytest.importorskip("nova")


def envelope(message, context=None):
    """What oslo.messaging's rabbit driver puts on the wire for a notification."""
    msg = dict(message)
    amqp.pack_context(msg, context or {"request_id": "req-1b2c", "global_request_id": None,
                                       "project_id": "p1", "user_id": "u1"})
    return json.dumps(common.serialize_msg(msg)).encode()


@pytest.fixture(scope="module")
def nova_objects():
    from nova import objects
    objects.register_all()
    return objects


def exception_payload(exc):
    from nova.notifications.objects import exception as exc_objects
    return exc_objects.ExceptionPayload.from_exception(exc).obj_to_primitive()


def test_compute_task_error_with_novalidhost(nova_objects):
    from nova import exception
    reason = None
    try:
        raise exception.NoValidHost(reason="There are not enough hosts available.")
    except exception.NoValidHost as exc:
        reason = exception_payload(exc)
    payload = {
        "nova_object.name": "ComputeTaskPayload", "nova_object.namespace": "nova",
        "nova_object.version": "1.0",
        "nova_object.data": {"instance_uuid": "a1b2", "state": "error", "reason": reason,
                             "request_spec": {"nova_object.name": "RequestSpecPayload",
                                              "nova_object.data": {
                                                  "flavor": {"nova_object.data": {
                                                      "name": "huge", "flavorid": "9", "vcpus": 64,
                                                      "memory_mb": 999999, "root_gb": 10,
                                                      "ephemeral_gb": 0, "swap": 0,
                                                      "extra_specs": {"hw:cpu_policy": "dedicated"}}},
                                                  "availability_zone": None, "num_instances": 1,
                                                  "scheduler_hints": {"group": ["g1"]},
                                                  "project_id": "p1", "image": None}}},
    }
    body = envelope({"message_id": "m1", "publisher_id": "nova-conductor:controller",
                     "event_type": "compute_task.build_instances.error", "priority": "ERROR",
                     "payload": payload, "timestamp": "2026-12-02 10:00:00.000001"})
    event = nt.parse(body, routing_key="versioned_notifications.error")
    assert event["event_type"] == "compute_task.build_instances.error"
    assert event["publisher"] == {"binary": "nova-conductor", "host": "controller"}
    assert event["request_id"] == "req-1b2c"
    assert event["project_id"] == "p1"
    assert event["instance"] == {"uuid": "a1b2", "state": "error"}
    assert event["fault"]["exception"] == "NoValidHost"
    assert "not enough hosts" in event["fault"]["message"]
    assert event["request"]["flavor"] == {"name": "huge", "vcpus": 64, "ram": 999999, "disk": 10,
                                          "ephemeral": 0, "swap": 0, "extra_specs": {"hw:cpu_policy": "dedicated"}}
    assert event["request"]["scheduler_hints"] == {"group": "g1"}
    assert event["payload"] == payload
    assert event["routing_key"] == "versioned_notifications.error"


def test_service_update_from_nova_service_object(nova_objects, monkeypatch):
    import nova.conf
    from nova import rpc
    from nova.notifications.objects import service as service_notification

    class _Enabled:
        @staticmethod
        def is_enabled():
            return True
    monkeypatch.setattr(rpc, "NOTIFIER", _Enabled())
    nova.conf.CONF.set_override("notification_format", "versioned", "notifications")
    svc = nova_objects.Service(host="cmp-3", binary="nova-compute", topic="compute", disabled=True,
                               disabled_reason="maintenance", forced_down=False,
                               availability_zone="az1", uuid="5b6f0c2e-0000-4000-8000-000000000001",
                               last_seen_up=None, report_count=4)
    try:
        payload = service_notification.ServiceStatusPayload(svc).obj_to_primitive()
    finally:
        nova.conf.CONF.clear_override("notification_format", "notifications")
    event = nt.parse(envelope({"event_type": "service.update", "publisher_id": "nova-compute:cmp-3",
                               "priority": "INFO", "payload": payload}))
    assert event["service"]["host"] == "cmp-3"
    assert event["service"]["disabled"] is True
    assert event["service"]["disabled_reason"] == "maintenance"
    assert event["service"]["forced_down"] is False
    assert event["payload_type"] == "ServiceStatusPayload"
    assert event["instance"] is None and event["fault"] is None


def test_bare_message_without_envelope():
    event = nt.parse(json.dumps({"event_type": "x.y", "payload": {}, "publisher_id": "nova-api"}))
    assert event["event_type"] == "x.y"
    assert event["publisher"] == {"binary": "nova-api", "host": None}
    assert event["payload_type"] is None


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON list, not an object"),
    (json.dumps({"oslo.version": "2.0", "oslo.message": "{oops"}).encode(), "oslo.message field is not valid JSON"),
    (json.dumps({"oslo.version": "3.0", "oslo.message": "{}"}).encode(), "unsupported oslo.messaging envelope"),
    (json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps({"method": "rpc_call"})}).encode(),
     "no event_type"),
    (12, "int, not JSON text"),
])
def test_malformed_messages_raise_a_clear_error(body, message):
    with pytest.raises(nt.NotificationError, match=message):
        nt.parse(body)


def test_unknown_event_type_keeps_the_raw_payload():
    payload = {"nova_object.name": "FuturePayload",
               "nova_object.data": {"uuid": "u", "host": "h", "state": "x", "task_state": None}}
    event = nt.parse(envelope({"event_type": "instance.teleport.end", "payload": payload}))
    assert event["payload_type"] == "FuturePayload"
    assert event["instance"]["uuid"] == "u"
    assert event["payload"] == payload


def test_redaction():
    url = "amqp://nova:s3cr%40t@10.0.0.1:5672/,amqp://nova:other@10.0.0.2:5672/"
    safe = nt.redact_url(url)
    assert "s3cr" not in safe and "other" not in safe
    assert safe == "amqp://nova:***@10.0.0.1:5672/,amqp://nova:***@10.0.0.2:5672/"
    assert nt.redact_url("amqp://10.0.0.1/") == "amqp://10.0.0.1/"
    text = nt.redact_text("cannot connect to %s: refused (password s3cr%%40t)" % url, url)
    assert "s3cr" not in text and "other" not in text


def test_event_filter_globs():
    wanted = nt.event_filter(["compute_task.*.error", "instance.*.error"], "instance.volume_*")
    assert wanted("compute_task.build_instances.error")
    assert wanted("instance.create.error")
    assert not wanted("instance.volume_attach.error")
    assert not wanted("instance.create.start")
    assert nt.event_filter()("anything")
    assert nt.event_filter("service.*, aggregate.*")("aggregate.create.end")


def test_routing_keys():
    assert nt.routing_keys("versioned_notifications", ["info", "error"]) == [
        "versioned_notifications.info", "versioned_notifications.error"]
    assert len(nt.routing_keys("a,b")) == 2 * len(nt.PRIORITIES)


def svc(host, state, binary="nova-compute"):
    return {"host": host, "binary": binary, "state": state, "status": "enabled"}


def test_service_transitions():
    events, state = nt.service_transitions(None, [svc("c1", "up"), svc("c2", "down")])
    assert events == []
    events, state0 = nt.service_transitions(None, [svc("c1", "up"), svc("c2", "down")], initial=True)
    assert [(e["event_type"], e["service"]["host"]) for e in events] == [("service.down", "c2")]
    events, state = nt.service_transitions(state, [svc("c1", "down"), svc("c2", "down")])
    assert [(e["event_type"], e["service"]["host"], e["previous_state"]) for e in events] == [
        ("service.down", "c1", "up")]
    events, state = nt.service_transitions(state, [svc("c1", "up"), svc("c2", "up"), svc("c3", "up")])
    assert sorted((e["event_type"], e["service"]["host"]) for e in events) == [
        ("service.up", "c1"), ("service.up", "c2")]
    events, state = nt.service_transitions(state, [svc("c1", "up"), svc("c2", "up")])
    assert [(e["event_type"], e["service"]["host"]) for e in events] == [("service.deleted", "c3")]
    events, _state = nt.service_transitions(state, [svc("c1", "up"), svc("c2", "up")])
    assert events == []


@pytest.mark.parametrize("payload", [
    {"nova_object.name": "ComputeTaskPayload", "nova_object.data": {
        "instance_uuid": "u", "reason": "not an object", "request_spec": {"scheduler_hints": ["x"], "flavor": 3}}},
    {"nova_object.name": "InstanceActionPayload", "nova_object.data": {
        "uuid": "u", "state": "error", "task_state": None, "fault": ["odd"], "flavor": "small"}},
    ["a", "list"],
    None,
])
def test_odd_payload_shapes_do_not_break_the_normaliser(payload):
    event = nt.parse(envelope({"event_type": "instance.odd.error", "payload": payload}))
    assert event["payload"] == payload
    assert event["fault"] is None
