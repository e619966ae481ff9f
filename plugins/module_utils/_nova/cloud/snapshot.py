# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load and validate a cloud snapshot (docs/snapshot.md, version 1).

Private library code over plain data (no Ansible, no SDK): used by hypervisor_info,
the inventory plugin, scheduling_explain and the explain filter. Errors are
:class:`SnapshotError` with a message naming the offending key, e.g.
``snapshot.hosts[3].resources.VCPU.total must be a number``.
"""

from __future__ import annotations

import json
import math

SUPPORTED_VERSIONS = (1,)

# ------------------------------------------------------------------ the schema
# The single source of what a version 1 snapshot may hold (docs/snapshot.md documents every
# property; a unit test checks that, and that :func:`check` agrees with the jsonschema
# package). JSON Schema 2020-12, restricted to the keywords :func:`check` implements: type,
# properties, required, additionalProperties (a schema), items, enum, minimum, maximum,
# minLength. ``x-message`` replaces the error text of a property (missing or invalid).
# Unknown keys are allowed everywhere: a newer writer stays readable.

NOVA_MAX_INT = 2 ** 31 - 1  # placement's and Nova's integer columns
_BIG = 2 ** 53  # sums (used, capacity, free) stay exact as floats below this

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STR}
_STRINGS_OR_NULL = {"type": ["array", "null"], "items": _STR}
_COUNT_OR_NULL = {"type": ["integer", "null"], "minimum": 0, "maximum": _BIG}
_NAME = {"type": "string", "minLength": 1, "x-message": "is required and must be a non-empty string"}


def _amount(minimum=0, maximum=NOVA_MAX_INT, kind="number"):
    return {"type": [kind, "null"], "minimum": minimum, "maximum": maximum}


RESOURCE_SCHEMA = {
    "type": "object",
    "required": ["total"],
    "properties": {
        "total": {"type": "number", "minimum": 0, "maximum": NOVA_MAX_INT},
        "reserved": _amount(),
        "min_unit": _amount(),
        "max_unit": _amount(),
        "step_size": _amount(),
        "allocation_ratio": _amount(0, 3.4e38, "number"),
        "used": _amount(0, _BIG),
        "capacity": _amount(0, _BIG, "number"),
        "free": _amount(-_BIG, _BIG, "number"),
    },
}

_CPU_IDS = {"type": "array", "items": {"type": "integer", "minimum": 0}}
# hosts[].numa mirrors Nova's objects.NUMATopology / NUMACell (what the scheduler's
# NUMATopologyFilter reads), usage included; ``cells: null`` with ``unknown`` when not known.
NUMA_CELL_SCHEMA = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "cpuset": _CPU_IDS,
        "pcpuset": _CPU_IDS,
        "siblings": {"type": "array", "items": _CPU_IDS},
        "memory": _amount(0, _BIG, "integer"),
        "memory_usage": _amount(0, _BIG, "integer"),
        "cpu_usage": _amount(0, _BIG, "integer"),
        "pinned_cpus": _CPU_IDS,
        "mempages": {"type": "array", "items": {
            "type": "object",
            "required": ["size_kb", "total"],
            "properties": {
                "size_kb": {"type": "integer", "minimum": 1},
                "total": {"type": "integer", "minimum": 0},
                "used": {"type": "integer", "minimum": 0},
                "reserved": {"type": "integer", "minimum": 0},
            }}},
        "socket": {"type": ["integer", "null"], "minimum": 0},
    },
}
NUMA_SCHEMA = {
    "type": ["object", "null"],
    "properties": {
        "cells": {"type": ["array", "null"], "items": NUMA_CELL_SCHEMA},
        "source": _STR_OR_NULL,
        "unknown": _STR_OR_NULL,
    },
}
# hosts[].pci_pools mirrors nova.pci.stats.PciDeviceStats pools (PciPassthroughFilter)
PCI_POOL_SCHEMA = {
    "type": "object",
    "required": ["vendor_id", "product_id", "count"],
    "properties": {
        "vendor_id": _STR,
        "product_id": _STR,
        "numa_node": {"type": ["integer", "null"], "minimum": 0},
        "count": {"type": "integer", "minimum": 0},
        "dev_type": _STR_OR_NULL,
        "tags": {"type": ["object", "null"]},
    },
}

HOST_SCHEMA = {
    "type": "object",
    "required": ["name", "nodename"],
    "properties": {
        "name": _NAME,
        "nodename": _NAME,
        "hypervisor_id": {"type": ["string", "integer", "null"]},
        "provider_uuid": _STR_OR_NULL,
        "hypervisor_type": _STR_OR_NULL,
        "hypervisor_version": {"type": ["integer", "null"], "minimum": 0},
        "host_ip": _STR_OR_NULL,
        "hypervisor_state": {"type": ["string", "null"], "enum": ["up", "down", None]},
        "service": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": ["string", "integer", "null"]},
                "binary": _STR_OR_NULL,
                "status": {"type": ["string", "null"], "enum": ["enabled", "disabled", None]},
                "state": {"type": ["string", "null"], "enum": ["up", "down", None]},
                "disabled_reason": _STR_OR_NULL,
                "forced_down": {"type": ["boolean", "null"]},
                "updated_at": _STR_OR_NULL,
                "zone": _STR_OR_NULL,
            },
        },
        "availability_zone": _STR_OR_NULL,
        "aggregates": {"type": ["array", "null"], "items": {"type": ["integer", "string"]}},
        "resources": {"type": ["object", "null"], "additionalProperties": RESOURCE_SCHEMA},
        "traits": _STRINGS_OR_NULL,
        "provider_aggregates": _STRINGS_OR_NULL,
        "num_instances": _COUNT_OR_NULL,
        "instances": _STRINGS_OR_NULL,
        "num_io_ops": _COUNT_OR_NULL,
        "cpu_info": {"type": ["object", "string", "null"]},
        "stats": {"type": ["object", "null"]},
        "supported_instances": {"type": ["array", "null"],
                                "items": {"type": "array", "items": {"type": ["string", "null"]}}},
        "failed_builds": _COUNT_OR_NULL,
        # The compute node's own facts (stackops.nova.compute_facts, docs/facts.md), attached by
        # hypervisor_info / the inventory plugin from their node_facts options; optional.
        "node": {"type": ["object", "null"]},
        "numa": NUMA_SCHEMA,
        "pci_pools": {"type": ["array", "null"], "items": PCI_POOL_SCHEMA},
        "pci_unknown": _STR_OR_NULL,
        # host metrics (MonitorMetricList) for MetricsFilter: names, {name, value} or name -> value
        "metrics": {"type": ["array", "object", "null"]},
    },
}

AGGREGATE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "id": {"type": ["integer", "string", "null"]},
        "uuid": _STR_OR_NULL,
        "name": _STR,
        "availability_zone": _STR_OR_NULL,
        "hosts": {"type": ["array", "null"], "items": _STR},
        "metadata": {"type": ["object", "null"], "additionalProperties": {"type": ["string", "null"]}},
    },
}

ZONE_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": _STR,
        "hosts": {"type": ["array", "null"], "items": _STR},
        "available": {"type": ["boolean", "null"]},
    },
}

SERVER_GROUP_SCHEMA = {
    "type": "object",
    "required": ["policy"],
    "properties": {
        "id": _STR_OR_NULL,
        "name": _STR_OR_NULL,
        "policy": _STR,
        "rules": {"type": ["object", "null"], "properties": {
            "max_server_per_host": {"type": ["integer", "null"], "minimum": 1, "maximum": NOVA_MAX_INT}}},
        "members": {"type": ["array", "null"], "items": _STR},
        "project_id": _STR_OR_NULL,
    },
}

PROJECT_SCHEMA = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": dict(_STR, description="the project id (identity service); required"),
        "name": dict(_STR_OR_NULL, description="the project name; scheduling_explain resolves project_id given "
                     "by name against it (offline)"),
    },
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "stackops.nova cloud snapshot, version 1 (docs/snapshot.md)",
    "type": "object",
    "required": ["snapshot_version", "hosts"],
    "properties": {
        "snapshot_version": {"type": "integer", "enum": list(SUPPORTED_VERSIONS)},
        "generated_at": _STR_OR_NULL,
        "source": {"type": ["object", "null"], "properties": {
            "cloud": _STR_OR_NULL,
            "compute_microversion": _STR_OR_NULL,
            "placement_microversion": _STR_OR_NULL,
            "nova_release": _STR_OR_NULL,
        }},
        "warnings": {"type": ["array", "null"], "items": _STR},
        # The scheduler configuration is checked key by key by the explain engine.
        "scheduler": {"type": ["object", "null"]},
        "hosts": {"type": "array", "items": HOST_SCHEMA},
        "aggregates": {"type": ["array", "null"], "items": AGGREGATE_SCHEMA},
        "availability_zones": {"type": ["array", "null"], "items": ZONE_SCHEMA},
        "server_groups": {"type": ["array", "null"], "items": SERVER_GROUP_SCHEMA},
        "projects": {"type": ["array", "null"], "items": PROJECT_SCHEMA,
                     "description": "projects by id and name (optional; given by the user, not gathered): "
                                    "lets scheduling_explain resolve a project_id given by name offline"},
    },
}


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message names the key."""


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "a boolean", "null": "null"}


def _is_type(value, kind):
    """JSON Schema's types over Python data (a bool is not a number; 2.0 is an integer)."""
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, (list, tuple))
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if kind == "number":
        return True
    return isinstance(value, int) or value.is_integer()  # integer (a non-finite float is not)


def _type_name(value):
    if value is None:
        return "null"
    for kind in ("boolean", "string", "array", "object"):
        if _is_type(value, kind):
            return {"boolean": "bool", "string": "str", "array": "list", "object": "dict"}[kind]
    return type(value).__name__


def _shown(value):
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return "a number of %d+ digits" % 30
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_path(where, key):
    key = str(key)
    if key.replace("_", "a").replace("-", "a").isalnum() and not key[:1].isdigit():
        return "%s.%s" % (where, key)
    return "%s[%r]" % (where, key)


class _Where:
    """A key path made into text only when an error names it (a snapshot has ~100,000 keys)."""

    __slots__ = ("parent", "key", "index")

    def __init__(self, parent, key=None, index=None):
        self.parent, self.key, self.index = parent, key, index

    def __str__(self):
        if self.index is not None:
            return "%s[%d]" % (self.parent, self.index)
        return _key_path(self.parent, self.key)


def check(value, schema, where="snapshot"):
    """Validate ``value`` against ``schema`` (the keywords listed above); SnapshotError at the first error.

    The error names the offending key with its path (``snapshot.hosts[3].resources.VCPU.total``).
    Numbers must also be finite (JSON has no infinity or NaN; Python's json module reads them).
    """
    message = schema.get("x-message")
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        for kind in kinds:
            if _is_type(value, kind):
                break
        else:
            if message:
                raise SnapshotError("%s %s" % (where, message))
            expected = " or ".join(_TYPE_WORDS[k] for k in kinds)
            raise SnapshotError("%s must be %s, got %s" % (where, expected, _type_name(value)))
    if isinstance(value, float) and not math.isfinite(value):
        raise SnapshotError("%s must be a finite number, got %r" % (where, value))
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        raise SnapshotError("%s must be one of %s, got %s"
                            % (where, ", ".join("null" if o is None else str(o) for o in schema["enum"]),
                               _shown(value)))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SnapshotError("%s must be >= %s, got %s" % (where, schema["minimum"], _shown(value)))
        if "maximum" in schema and value > schema["maximum"]:
            raise SnapshotError("%s must be <= %s, got %s" % (where, schema["maximum"], _shown(value)))
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        raise SnapshotError("%s %s" % (where, message or "must not be empty"))
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise SnapshotError("%s has a key that is not a string: %s" % (where, _shown(key)))
        properties = schema.get("properties") or {}
        for key in schema.get("required") or ():
            if key not in value:
                sub_message = properties.get(key, {}).get("x-message")
                if sub_message:
                    raise SnapshotError("%s %s" % (_key_path(where, key), sub_message))
                raise SnapshotError("%s is missing the required key '%s'" % (where, key))
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                check(item, properties[key], _Where(where, key))
            elif isinstance(extra, dict):
                check(item, extra, _Where(where, key))
    if isinstance(value, (list, tuple)) and "items" in schema:
        for index, item in enumerate(value):
            check(item, schema["items"], _Where(where, index=index))
    return value


def _accepts(schema):
    """A function ``value -> bool`` accepting exactly what :func:`check` accepts, built once per schema.

    :func:`check` walks a 2,000-host snapshot (~140,000 values) reading the schema's keywords
    at every value; this reads them once, and takes the common exact types (``int``, ``str``,
    ``dict``, ``list``) on a short path. It only says yes or no: on a no, :func:`check` runs
    to name the offending key (tests/unit: both agree on every mutation of real snapshots).
    """
    kinds = schema.get("type")
    kinds = None if kinds is None else ((kinds,) if isinstance(kinds, str) else tuple(kinds))
    has_enum, enum = "enum" in schema, schema.get("enum")
    has_min, minimum = "minimum" in schema, schema.get("minimum")
    has_max, maximum = "maximum" in schema, schema.get("maximum")
    min_length = schema.get("minLength", 0)
    properties = {key: _accepts(sub) for key, sub in (schema.get("properties") or {}).items()}
    required = tuple(schema.get("required") or ())
    extra = schema.get("additionalProperties")
    extra_ok = _accepts(extra) if isinstance(extra, dict) else None
    items_ok = _accepts(schema["items"]) if "items" in schema else None

    def number_ok(value):
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return (not has_min or value >= minimum) and (not has_max or value <= maximum)

    def mapping_ok(value):
        for key in required:
            if key not in value:
                return False
        for key, item in value.items():
            if not isinstance(key, str):
                return False
            sub = properties.get(key, extra_ok)
            if sub is not None and not sub(item):
                return False
        return True

    def general(value):
        if kinds is not None and not any(_is_type(value, kind) for kind in kinds):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if has_enum and not any(_same(value, option) for option in enum):
            return False
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not number_ok(value):
            return False
        if isinstance(value, str) and len(value) < min_length:
            return False
        if isinstance(value, dict) and not mapping_ok(value):
            return False
        if items_ok is not None and isinstance(value, (list, tuple)):
            for item in value:
                if not items_ok(item):
                    return False
        return True

    if has_enum:
        return general

    def always(_value):
        return True

    def int_ok(value):
        return (not has_min or value >= minimum) and (not has_max or value <= maximum)

    def str_ok(value):
        return len(value) >= min_length

    def list_ok(value):
        for item in value:
            if not items_ok(item):
                return False
        return True

    # the exact types this node accepts on a short path (anything else: general, which also says no)
    allowed = set(kinds) if kinds is not None else {"integer", "number", "string", "object", "array", "boolean",
                                                    "null"}
    dispatch = {}
    if allowed & {"integer", "number"}:
        dispatch[int] = int_ok if (has_min or has_max) else always
    if "string" in allowed:
        dispatch[str] = str_ok if min_length else always
    if "object" in allowed:
        dispatch[dict] = mapping_ok
    if "array" in allowed:
        dispatch[list] = list_ok if items_ok is not None else always
    if "boolean" in allowed:
        dispatch[bool] = always
    if "null" in allowed:
        dispatch[type(None)] = always

    def accepts(value):
        return dispatch.get(type(value), general)(value)

    return accepts


_SNAPSHOT_ACCEPTS = _accepts(SCHEMA)


def _same(value, option):
    """JSON equality: True is not 1."""
    if isinstance(value, bool) or isinstance(option, bool):
        return isinstance(value, bool) and isinstance(option, bool) and value == option
    return value == option


def _completable_copy(data):
    """A copy of ``data`` in which :func:`validate` can complete keys without touching ``data``.

    :func:`validate` sets keys on the top mapping and on each host, aggregate, zone and server
    group, and replaces (never edits) the values below them; so copying those mappings is
    enough, and everything else is shared. A deep copy of a 2,000-host snapshot costs as much
    as the explanation itself.
    """
    data = dict(data)
    for key in ("hosts", "aggregates", "availability_zones", "server_groups"):
        if isinstance(data.get(key), list):
            data[key] = [dict(item) if isinstance(item, dict) else item for item in data[key]]
    return data


def validate(data, name="snapshot", copy_data=True):
    """Check a snapshot against :data:`SCHEMA` and fill optional keys with their defaults; return it.

    The caller's data is never changed (the containers this completes are copied, see
    :func:`_completable_copy`) unless ``copy_data`` is false (the caller owns ``data`` and lets it
    be completed in place: no copy of a big snapshot).
    Unknown keys are kept (a newer writer stays readable). Raises :class:`SnapshotError` naming the key.
    """
    if not isinstance(data, dict):
        raise SnapshotError("%s must be a mapping, got %s" % (name, _type_name(data)))
    for key in SCHEMA["required"]:
        if key not in data:
            raise SnapshotError("%s is missing the required key '%s'" % (name, key))
    version = data["snapshot_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        raise SnapshotError("%s.snapshot_version is %s; this reader knows version(s) %s"
                            % (name, _shown(version), ", ".join(str(v) for v in SUPPORTED_VERSIONS)))
    try:
        if not _SNAPSHOT_ACCEPTS(data):
            check(data, SCHEMA, name)  # says which key
    except RecursionError:
        raise SnapshotError("%s is nested too deeply" % name) from None
    if copy_data:
        data = _completable_copy(data)
    data.setdefault("generated_at", None)
    data["source"] = dict(data.get("source") or {})
    data["warnings"] = list(data.get("warnings") or [])
    data["scheduler"] = data.get("scheduler")
    data["hosts"] = list(data["hosts"])
    seen = set()
    for index, host in enumerate(data["hosts"]):
        where = "%s.hosts[%d]" % (name, index)
        pair = (host["name"], host["nodename"])
        if pair in seen:
            raise SnapshotError("%s: the pair (name %s, nodename %s) appears twice" % (where, pair[0], pair[1]))
        seen.add(pair)
        host["resources"] = dict(host.get("resources") or {})
        host["aggregates"] = list(host.get("aggregates") or [])
        for key in ("hypervisor_id", "provider_uuid", "hypervisor_type", "hypervisor_version", "host_ip",
                    "hypervisor_state", "service", "availability_zone", "traits", "provider_aggregates",
                    "num_instances", "instances", "num_io_ops", "cpu_info"):
            host.setdefault(key, None)
        host["stats"] = dict(host.get("stats") or {})
    data["aggregates"] = list(data.get("aggregates") or [])
    for aggregate in data["aggregates"]:
        aggregate["hosts"] = list(aggregate.get("hosts") or [])
        aggregate["metadata"] = dict(aggregate.get("metadata") or {})
        aggregate.setdefault("availability_zone", aggregate["metadata"].get("availability_zone"))
        aggregate.setdefault("id", None)
        aggregate.setdefault("uuid", None)
    data["availability_zones"] = list(data.get("availability_zones") or [])
    for zone in data["availability_zones"]:
        zone["hosts"] = list(zone.get("hosts") or [])
    data["server_groups"] = list(data.get("server_groups") or [])
    for group in data["server_groups"]:
        group["members"] = list(group.get("members") or [])
        group["rules"] = dict(group.get("rules") or {})
    return data


def loads(text, name="snapshot"):
    """Parse JSON (or an already-parsed mapping) and validate it."""
    if isinstance(text, dict):
        return validate(text, name)
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise SnapshotError("%s must be a JSON string or a mapping, got %s" % (name, type(text).__name__))
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SnapshotError("%s is not valid JSON: %s" % (name, exc)) from None
    return validate(data, name, copy_data=False)  # parsed here: nobody else holds it


def load(path):
    """Read a snapshot file (JSON) and validate it."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        raise SnapshotError("cannot read snapshot file %s: %s" % (path, exc.strerror or exc)) from None
    return loads(text, name="snapshot file %s" % path)


def dumps(data):
    """Serialise a snapshot as stable, indented JSON."""
    return json.dumps(data, indent=2, sort_keys=True)
