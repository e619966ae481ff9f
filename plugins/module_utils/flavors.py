# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resolve the ``flavor`` option (a name, an id, or an inline mapping) into flavor data.

Private library code: :func:`inline_flavor` is pure; :func:`find_flavor` reads Nova
through an openstacksdk connection. Errors are ``ValueError`` naming ``flavor``.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils import capacity as _cap

INLINE_KEYS = ("name", "vcpus", "ram", "disk", "ephemeral", "swap", "extra_specs")
FLAVOR_MICROVERSION = "2.61"  # flavors carry their extra_specs since 2.61


def inline_flavor(value, option="flavor"):
    """Check an inline flavor mapping; return a normalised copy or raise ValueError."""
    if not isinstance(value, dict):
        raise ValueError("%s must be a flavor name or id, or a mapping with vcpus, ram and disk" % option)
    unknown = sorted(set(value) - set(INLINE_KEYS))
    if unknown:
        raise ValueError("%s has unknown key(s) %s; the keys are %s"
                         % (option, ", ".join(unknown), ", ".join(INLINE_KEYS)))
    for key in ("vcpus", "ram"):
        if value.get(key) is None:
            raise ValueError("%s.%s is required for an inline flavor" % (option, key))
    flavor = {"name": str(value.get("name") or "inline")}
    for key in ("vcpus", "ram", "disk", "ephemeral", "swap"):
        raw = value.get(key, 0)
        if raw is None or raw == "":
            raw = 0
        if isinstance(raw, bool):
            raise ValueError("%s.%s must be a whole number, got %r" % (option, key, raw))
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError("%s.%s must be a whole number, got %r" % (option, key, raw)) from None
        if number != int(number) or number < 0:
            raise ValueError("%s.%s must be a whole number >= 0, got %r" % (option, key, raw))
        flavor[key] = int(number)
    extra_specs = value.get("extra_specs") or {}
    if not isinstance(extra_specs, dict):
        raise ValueError("%s.extra_specs must be a mapping of extra spec keys to values" % option)
    flavor["extra_specs"] = {str(k): str(v) for k, v in extra_specs.items()}
    return flavor


def flavor_from_api(record):
    """Flavor data from one ``/flavors/detail`` entry."""
    return {
        "id": record.get("id"),
        "name": record.get("name"),
        "vcpus": record.get("vcpus") or 0,
        "ram": record.get("ram") or 0,
        "disk": record.get("disk") or 0,
        "ephemeral": record.get("OS-FLV-EXT-DATA:ephemeral") or 0,
        "swap": record.get("swap") or 0,
        "extra_specs": dict(record.get("extra_specs") or {}),
    }


def pick_flavor(records, name_or_id, option="flavor"):
    """The one flavor whose id, else name, equals ``name_or_id``; ValueError otherwise."""
    by_id = [r for r in records if str(r.get("id")) == name_or_id]
    if by_id:
        return flavor_from_api(by_id[0])
    by_name = [r for r in records if r.get("name") == name_or_id]
    if len(by_name) == 1:
        return flavor_from_api(by_name[0])
    if len(by_name) > 1:
        raise ValueError("%s %r is ambiguous: %d flavors have that name (ids %s); give the id"
                         % (option, name_or_id, len(by_name), ", ".join(str(r.get("id")) for r in by_name)))
    raise ValueError("%s %r was not found (no flavor has that name or id among %d flavors visible to these "
                     "credentials)" % (option, name_or_id, len(records)))


def find_flavor(conn, name_or_id, option="flavor"):
    """Look a flavor up by id or name (public and private ones) with its extra specs."""
    from ansible_collections.stackops.nova.plugins.module_utils import gather as _gather
    records = _gather.get_paginated(conn.compute, "/flavors/detail", "flavors", "list flavors",
                                    microversion=_gather._microversion(conn.compute, FLAVOR_MICROVERSION),
                                    params={"is_public": "None"})
    flavor = pick_flavor(records, str(name_or_id), option)
    if "extra_specs" not in flavor or flavor["extra_specs"] is None:
        flavor["extra_specs"] = {}
    return flavor


def resolve(conn, value, option="flavor", is_bfv=False):
    """``(flavor, request)`` for the option value; ValueError naming the option."""
    if isinstance(value, dict):
        flavor = inline_flavor(value, option)
    else:
        flavor = find_flavor(conn, value, option)
    try:
        request = _cap.flavor_request(flavor, is_bfv=is_bfv)
    except _cap.CapacityError as exc:
        raise ValueError("%s %s: %s" % (option, flavor.get("name"), exc)) from None
    return flavor, request
