# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nova's versioned notifications as plain events, and service heartbeat transitions.

Private library code over plain data (no Ansible, no AMQP client, no SDK imports): the
event source plugins in extensions/eda/plugins/event_source/ are thin doors around it.

A versioned notification travels in oslo.messaging's envelope::

    {"oslo.version": "2.0", "oslo.message": "<JSON string>"}

whose inner message holds ``event_type``, ``publisher_id`` (``nova-compute:host1``),
``priority``, ``payload`` (a serialized nova object: ``nova_object.name``,
``nova_object.data`` ...), ``message_id``, ``timestamp`` and the request context as
``_context_*`` keys. :func:`normalize` turns one into an event with the essential fields at the
top and the raw payload kept as received.
"""

from __future__ import annotations

import fnmatch
import json
from urllib.parse import urlsplit, urlunsplit

OSLO_VERSION_KEY = "oslo.version"
OSLO_MESSAGE_KEY = "oslo.message"
NOVA_OBJECT_DATA = "nova_object.data"
NOVA_OBJECT_NAME = "nova_object.name"

# oslo.messaging's notifier routes each message with "<topic>.<priority>" (priority lower case).
PRIORITIES = ("audit", "critical", "debug", "error", "info", "sample", "warn")

INSTANCE_FIELDS = ("uuid", "display_name", "host", "node", "state", "task_state", "power_state",
                   "tenant_id", "user_id", "availability_zone")
SERVICE_FIELDS = ("host", "binary", "topic", "disabled", "disabled_reason", "forced_down",
                  "last_seen_up", "availability_zone", "uuid", "version")


class NotificationError(ValueError):
    """A message that is not a Nova notification; the text says why, without the message body."""


def redact_url(url):
    """An AMQP URL (or several, comma-separated) with the passwords replaced by ``***``."""
    if url is None:
        return None
    parts = []
    for one in str(url).split(","):
        try:
            split = urlsplit(one)
        except ValueError:
            parts.append("<unparsable URL>")
            continue
        if split.password is None:
            parts.append(one)
            continue
        netloc = split.netloc.rsplit("@", 1)
        userinfo = netloc[0].split(":", 1)[0] + ":***"
        parts.append(urlunsplit((split.scheme, userinfo + "@" + netloc[1], split.path, split.query, split.fragment)))
    return ",".join(parts)


def redact_text(text, url):
    """``text`` (an error message) with every password of ``url`` replaced by ``***``."""
    text = str(text)
    for one in str(url or "").split(","):
        try:
            password = urlsplit(one).password
        except ValueError:
            continue
        if password:
            text = text.replace(password, "***")
    return text.replace(str(url), redact_url(url)) if url else text


def _loads(data, what):
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotificationError("%s is not UTF-8 text (byte %d)" % (what, exc.start)) from None
    if not isinstance(data, str):
        raise NotificationError("%s is a %s, not JSON text" % (what, type(data).__name__))
    try:
        return json.loads(data)
    except ValueError as exc:
        raise NotificationError("%s is not valid JSON: %s" % (what, exc)) from None


def unwrap(body):
    """The oslo.messaging message inside an AMQP body (bytes, str or an already parsed dict).

    Accepts the version 2.0 envelope and, as oslo.messaging's own deserializer does, a bare
    message without envelope. Raises :class:`NotificationError` for anything else.
    """
    message = body if isinstance(body, dict) else _loads(body, "the message body")
    if not isinstance(message, dict):
        raise NotificationError("the message body is a JSON %s, not an object" % type(message).__name__)
    if OSLO_MESSAGE_KEY in message:
        version = message.get(OSLO_VERSION_KEY)
        if str(version).split(".", 1)[0] != "2":
            raise NotificationError("unsupported oslo.messaging envelope version %r" % (version,))
        message = _loads(message[OSLO_MESSAGE_KEY], "the oslo.message field")
        if not isinstance(message, dict):
            raise NotificationError("the oslo.message field is a JSON %s, not an object" % type(message).__name__)
    if not isinstance(message.get("event_type"), str) or not message["event_type"]:
        raise NotificationError("the message has no event_type (not a notification)")
    return message


def plain(value):
    """A serialized nova object as plain data: each ``{nova_object.data: ...}`` becomes its data."""
    if isinstance(value, dict):
        if NOVA_OBJECT_DATA in value and isinstance(value[NOVA_OBJECT_DATA], dict):
            return {key: plain(item) for key, item in value[NOVA_OBJECT_DATA].items()}
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def object_name(value):
    """The nova object's class name (``InstanceActionPayload``), or None for plain data."""
    return value.get(NOVA_OBJECT_NAME) if isinstance(value, dict) else None


def split_publisher(publisher_id):
    """``nova-compute:host1`` -> {"binary": "nova-compute", "host": "host1"}."""
    if not isinstance(publisher_id, str) or not publisher_id:
        return {"binary": None, "host": None}
    binary, sep, host = publisher_id.partition(":")
    return {"binary": binary or None, "host": host if sep and host else None}


def fault_of(exception_payload):
    """An ExceptionPayload (plain) as {exception, message, function, module}; None if absent."""
    if not isinstance(exception_payload, dict) or not exception_payload.get("exception"):
        return None
    return {
        "exception": exception_payload.get("exception"),
        "message": exception_payload.get("exception_message"),
        "function": exception_payload.get("function_name"),
        "module": exception_payload.get("module_name"),
    }


def _flavor(flavor):
    if not isinstance(flavor, dict):
        return None
    return {
        "name": flavor.get("name"),
        "vcpus": flavor.get("vcpus"),
        "ram": flavor.get("memory_mb"),
        "disk": flavor.get("root_gb"),
        "ephemeral": flavor.get("ephemeral_gb") or 0,
        "swap": flavor.get("swap") or 0,
        "extra_specs": dict(flavor.get("extra_specs") or {}),
    }


def _image(image):
    if not isinstance(image, dict):
        return None
    props = image.get("properties") if isinstance(image.get("properties"), dict) else {}
    return {
        "id": image.get("id"),
        "name": image.get("name"),
        "disk_format": image.get("disk_format"),
        "properties": {key: value for key, value in props.items() if value is not None},
    }


def request_of(request_spec):
    """A RequestSpecPayload (plain) as the request stackops.nova.scheduling_explain takes."""
    if not isinstance(request_spec, dict):
        return None
    hints = request_spec.get("scheduler_hints")
    hints = hints if isinstance(hints, dict) else {}
    return {
        "flavor": _flavor(request_spec.get("flavor")),
        "image": _image(request_spec.get("image")),
        "availability_zone": request_spec.get("availability_zone"),
        "scheduler_hints": {key: (value[0] if isinstance(value, list) and len(value) == 1 else value)
                            for key, value in hints.items()},
        "count": request_spec.get("num_instances") or 1,
        "project_id": request_spec.get("project_id"),
        "instance_uuid": request_spec.get("instance_uuid"),
    }


def _instance(payload):
    if "uuid" in payload and "state" in payload and "task_state" in payload:
        instance = {key: payload.get(key) for key in INSTANCE_FIELDS}
        flavor = payload.get("flavor")
        instance["flavor"] = flavor.get("name") if isinstance(flavor, dict) else None
        return instance
    if payload.get("instance_uuid"):
        return {"uuid": payload["instance_uuid"], "state": payload.get("state")}
    return None


def normalize(message, routing_key=None):
    """One notification (the unwrapped oslo message) as an event (a plain dict).

    Keys: ``event_type``, ``priority``, ``publisher`` ({binary, host}), ``publisher_id``,
    ``message_id``, ``timestamp``, ``request_id``, ``payload_type``, ``instance``, ``fault``,
    ``service``, ``request`` (what scheduling_explain takes, for events with a request spec),
    and ``payload`` (the raw payload as Nova sent it). Unknown event types get the same
    treatment: the generic fields are filled in and the payload is kept.
    """
    raw = message.get("payload")
    payload = plain(raw) if isinstance(raw, dict) else {}
    event = {
        "event_type": message["event_type"],
        "priority": message.get("priority"),
        "publisher_id": message.get("publisher_id"),
        "publisher": split_publisher(message.get("publisher_id")),
        "message_id": message.get("message_id"),
        "timestamp": message.get("timestamp"),
        "request_id": payload.get("request_id") or message.get("_context_request_id"),
        "global_request_id": message.get("_context_global_request_id"),
        "project_id": message.get("_context_project_id") or message.get("_context_project"),
        "payload_type": object_name(raw),
        "routing_key": routing_key,
        "instance": _instance(payload),
        "fault": None,
        "service": None,
        "request": None,
        "payload": raw,
    }
    if event["payload_type"] == "ExceptionPayload":
        event["fault"] = fault_of(payload)
    else:
        event["fault"] = fault_of(payload.get("fault")) or fault_of(payload.get("reason"))
    if event["payload_type"] == "ServiceStatusPayload" or (
            event["event_type"].startswith("service.") and "binary" in payload):
        event["service"] = {key: payload.get(key) for key in SERVICE_FIELDS}
    if isinstance(payload.get("request_spec"), dict):
        event["request"] = request_of(payload["request_spec"])
    elif event["payload_type"] == "RequestSpecPayload":
        event["request"] = request_of(payload)
    return event


def parse(body, routing_key=None):
    """unwrap + normalize; raises :class:`NotificationError` for a message that is not one."""
    return normalize(unwrap(body), routing_key=routing_key)


def _globs(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value]


def event_filter(include=None, exclude=None):
    """A predicate on event types: matches one of ``include`` (default all) and none of ``exclude``.

    Both are shell globs (``instance.*.error``, ``compute_task.*``), a list or a comma-separated
    string.
    """
    includes = _globs(include) or ["*"]
    excludes = _globs(exclude)

    def wanted(event_type):
        return (any(fnmatch.fnmatchcase(event_type, pattern) for pattern in includes)
                and not any(fnmatch.fnmatchcase(event_type, pattern) for pattern in excludes))
    return wanted


def routing_keys(topics, priorities=None):
    """The routing keys a consumer binds to: every ``<topic>.<priority>``."""
    return ["%s.%s" % (topic, priority) for topic in _globs(topics) for priority in (_globs(priorities) or PRIORITIES)]


# ------------------------------------------------------------------ heartbeats
def service_key(service):
    return "%s@%s" % (service.get("binary"), service.get("host"))


def service_transitions(previous, services, initial=False):
    """Compare the services' states with the previous poll.

    ``previous`` maps ``binary@host`` to the state seen last time (None on the first poll);
    ``services`` are normalized services (stackops.nova services.normalize_service). Returns
    ``(events, current)``: a ``service.down`` / ``service.up`` event for each service whose state
    changed between ``up`` and ``down`` (on the first poll only with ``initial``: every service
    that is down), and the new map. A service that disappears is reported as ``service.deleted``.
    """
    current = {}
    events = []
    for service in services:
        key = service_key(service)
        state = service.get("state")
        current[key] = state
        before = None if previous is None else previous.get(key)
        if previous is None:
            if initial and state == "down":
                events.append(_service_event("service.down", service, None))
            continue
        if state in ("up", "down") and before != state and (before is not None or state == "down"):
            events.append(_service_event("service." + state, service, before))
    for key in sorted(set(previous or {}) - set(current)):
        binary, host = key.split("@", 1)
        events.append({"event_type": "service.deleted", "previous_state": previous[key],
                       "service": {"binary": binary, "host": host},
                       "publisher": {"binary": binary, "host": host}})
    return events, current


def _service_event(event_type, service, before):
    return {
        "event_type": event_type,
        "previous_state": before,
        "service": dict(service),
        "publisher": {"binary": service.get("binary"), "host": service.get("host")},
    }
