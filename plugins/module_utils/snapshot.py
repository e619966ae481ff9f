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

import copy
import json

SUPPORTED_VERSIONS = (1,)

_TOP_REQUIRED = ("snapshot_version", "hosts")
_HOST_REQUIRED = ("name", "nodename")
_RESOURCE_NUMBERS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio",
                     "used", "capacity", "free")


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message names the key."""


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require_list(value, where, allow_none=False):
    if value is None and allow_none:
        return []
    if not isinstance(value, list):
        raise SnapshotError("%s must be a list, got %s" % (where, type(value).__name__))
    return value


def _require_dict(value, where, allow_none=False):
    if value is None and allow_none:
        return {}
    if not isinstance(value, dict):
        raise SnapshotError("%s must be a mapping, got %s" % (where, type(value).__name__))
    return value


def validate(data, name="snapshot", copy_data=True):
    """Check a snapshot and fill optional keys with their defaults; return it.

    Works on a deep copy (the caller's data is never changed) unless ``copy_data`` is false
    (the caller owns ``data`` and lets it be completed in place: no copy of a big snapshot).
    Unknown keys are kept (a newer writer stays readable). Raises :class:`SnapshotError`.
    """
    _require_dict(data, name)
    if copy_data:
        data = copy.deepcopy(data)
    for key in _TOP_REQUIRED:
        if key not in data:
            raise SnapshotError("%s is missing the required key '%s'" % (name, key))
    version = data["snapshot_version"]
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise SnapshotError("%s.snapshot_version is %r; this reader knows version(s) %s"
                            % (name, version, ", ".join(str(v) for v in SUPPORTED_VERSIONS)))
    data.setdefault("generated_at", None)
    data["source"] = dict(_require_dict(data.get("source"), name + ".source", allow_none=True))
    data["warnings"] = [str(w) for w in _require_list(data.get("warnings"), name + ".warnings", allow_none=True)]
    if data.get("scheduler") is not None:
        _require_dict(data["scheduler"], name + ".scheduler")
    else:
        data["scheduler"] = None
    hosts = _require_list(data["hosts"], name + ".hosts")
    seen = set()
    for index, host in enumerate(hosts):
        where = "%s.hosts[%d]" % (name, index)
        _require_dict(host, where)
        for key in _HOST_REQUIRED:
            if key not in host or not isinstance(host[key], str) or not host[key]:
                raise SnapshotError("%s.%s is required and must be a non-empty string" % (where, key))
        pair = (host["name"], host["nodename"])
        if pair in seen:
            raise SnapshotError("%s: the pair (name %s, nodename %s) appears twice" % (where, pair[0], pair[1]))
        seen.add(pair)
        resources = _require_dict(host.get("resources"), where + ".resources", allow_none=True)
        host["resources"] = resources
        for rc, view in resources.items():
            rwhere = "%s.resources.%s" % (where, rc)
            _require_dict(view, rwhere)
            if "total" not in view:
                raise SnapshotError("%s is missing the required key 'total'" % rwhere)
            for key in _RESOURCE_NUMBERS:
                if key in view and view[key] is not None and not _is_number(view[key]):
                    raise SnapshotError("%s.%s must be a number, got %r" % (rwhere, key, view[key]))
        service = host.get("service")
        if service is not None:
            _require_dict(service, where + ".service")
        for key in ("traits", "provider_aggregates", "instances"):
            if host.get(key) is not None:
                _require_list(host[key], "%s.%s" % (where, key))
        host["aggregates"] = _require_list(host.get("aggregates"), where + ".aggregates", allow_none=True)
        for key in ("hypervisor_id", "provider_uuid", "hypervisor_type", "hypervisor_version", "host_ip",
                    "hypervisor_state", "service", "availability_zone", "traits", "provider_aggregates",
                    "num_instances", "instances", "num_io_ops", "cpu_info"):
            host.setdefault(key, None)
        host["stats"] = _require_dict(host.get("stats"), where + ".stats", allow_none=True)
    aggregates = _require_list(data.get("aggregates"), name + ".aggregates", allow_none=True)
    for index, aggregate in enumerate(aggregates):
        where = "%s.aggregates[%d]" % (name, index)
        _require_dict(aggregate, where)
        if "name" not in aggregate:
            raise SnapshotError("%s is missing the required key 'name'" % where)
        aggregate["hosts"] = _require_list(aggregate.get("hosts"), where + ".hosts", allow_none=True)
        aggregate["metadata"] = _require_dict(aggregate.get("metadata"), where + ".metadata", allow_none=True)
        aggregate.setdefault("availability_zone", aggregate["metadata"].get("availability_zone"))
        aggregate.setdefault("id", None)
        aggregate.setdefault("uuid", None)
    data["aggregates"] = aggregates
    zones = _require_list(data.get("availability_zones"), name + ".availability_zones", allow_none=True)
    for index, zone in enumerate(zones):
        where = "%s.availability_zones[%d]" % (name, index)
        _require_dict(zone, where)
        if "name" not in zone:
            raise SnapshotError("%s is missing the required key 'name'" % where)
        zone["hosts"] = _require_list(zone.get("hosts"), where + ".hosts", allow_none=True)
    data["availability_zones"] = zones
    groups = _require_list(data.get("server_groups"), name + ".server_groups", allow_none=True)
    for index, group in enumerate(groups):
        where = "%s.server_groups[%d]" % (name, index)
        _require_dict(group, where)
        if "policy" not in group:
            raise SnapshotError("%s is missing the required key 'policy'" % where)
        group["members"] = _require_list(group.get("members"), where + ".members", allow_none=True)
        group["rules"] = _require_dict(group.get("rules"), where + ".rules", allow_none=True)
    data["server_groups"] = groups
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
