# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resolve the ``flavor`` option (a name, an id, or an inline mapping) into flavor data.

Private library code: :func:`inline_flavor` is pure; :func:`find_flavor` reads Nova
through an openstacksdk connection. Errors are ``ValueError`` naming ``flavor``.
"""

from __future__ import annotations

import math

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as _cap
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as _rest

INLINE_KEYS = ("name", "vcpus", "ram", "disk", "ephemeral", "swap", "extra_specs")
FLAVOR_MICROVERSION = "2.61"  # flavors carry their extra_specs since 2.61


NOVA_MAX_INT = 2 ** 31 - 1  # the largest vcpus/ram/disk/ephemeral/swap Nova's API accepts for a flavor


def _whole_number(raw, where):
    """A whole number >= 0 from an int, an integral finite float or a decimal string; ValueError naming it."""
    if raw is None or raw == "":
        return 0
    if isinstance(raw, bool):
        raise ValueError("%s must be a whole number, got %r" % (where, raw))
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("%s must be a finite whole number, got %r" % (where, raw))
        if not raw.is_integer():
            raise ValueError("%s must be a whole number >= 0, got %r" % (where, raw))
        number = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if len(text) > 20:
            raise ValueError("%s must be a whole number of at most %d, got a %d-character string"
                             % (where, NOVA_MAX_INT, len(text)))
        try:
            value = float(text)
        except ValueError:
            raise ValueError("%s must be a whole number, got %r" % (where, raw)) from None
        return _whole_number(value, where)
    else:
        raise ValueError("%s must be a whole number, got %s" % (where, type(raw).__name__))
    if number < 0:
        raise ValueError("%s must be a whole number >= 0, got %s" % (where, _short(number)))
    if number > NOVA_MAX_INT:
        raise ValueError("%s must be at most %d (Nova's limit), got %s" % (where, NOVA_MAX_INT, _short(number)))
    return number


def _short(number):
    """A number as text, cut when it has thousands of digits."""
    if abs(number) < 10 ** 30:
        return str(number)
    return "a %d-digit number" % (number.bit_length() * 30103 // 100000 + 1)


def inline_flavor(value, option="flavor"):
    """Check an inline flavor mapping; return a normalised copy or raise ValueError."""
    if not isinstance(value, dict):
        raise ValueError("%s must be a flavor name or id, or a mapping with vcpus, ram and disk" % option)
    unknown = sorted(set(str(k) for k in value) - set(INLINE_KEYS))
    if unknown:
        raise ValueError("%s has unknown key(s) %s; the keys are %s"
                         % (option, ", ".join(unknown), ", ".join(INLINE_KEYS)))
    for key in ("vcpus", "ram"):
        if value.get(key) is None:
            raise ValueError("%s.%s is required for an inline flavor" % (option, key))
    name = value.get("name")
    if name is not None and not isinstance(name, (str, int)) or isinstance(name, bool):
        raise ValueError("%s.name must be a string, got %s" % (option, type(name).__name__))
    flavor = {"name": str(name or "inline")}
    for key in ("vcpus", "ram", "disk", "ephemeral", "swap"):
        flavor[key] = _whole_number(value.get(key, 0), "%s.%s" % (option, key))
    extra_specs = value.get("extra_specs") or {}
    if not isinstance(extra_specs, dict):
        raise ValueError("%s.extra_specs must be a mapping of extra spec keys to values" % option)
    specs = {}
    for key, spec in extra_specs.items():
        if isinstance(spec, (dict, list, tuple, set)) or spec is None:
            raise ValueError("%s.extra_specs[%r] must be a string, a number or a boolean, got %s"
                             % (option, str(key), "null" if spec is None else type(spec).__name__))
        if isinstance(spec, float) and not math.isfinite(spec):
            raise ValueError("%s.extra_specs[%r] must be finite, got %r" % (option, str(key), spec))
        specs[str(key)] = str(spec)
    flavor["extra_specs"] = specs
    return flavor


def check_numbers(value, option="flavor"):
    """Check the numbers of a flavor mapping of any origin (inline, API, a saved record).

    Only the keys present are checked (vcpus, ram, disk, ephemeral, swap and Nova's older
    names); raises ValueError naming ``option.key``; returns None.
    """
    if not isinstance(value, dict):
        raise ValueError("%s must be a mapping with vcpus, ram and disk" % option)
    for key in ("vcpus", "ram", "disk", "ephemeral", "swap", "memory_mb", "root_gb", "OS-FLV-EXT-DATA:ephemeral"):
        if key in value:
            _whole_number(value[key], "%s.%s" % (option, key))
    if value.get("extra_specs") is not None and not isinstance(value["extra_specs"], dict):
        raise ValueError("%s.extra_specs must be a mapping of extra spec keys to values" % option)


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
    records = _rest.get_paginated(conn.compute, "/flavors/detail", "flavors", "list flavors",
                                  microversion=_rest.microversion(conn.compute, FLAVOR_MICROVERSION),
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
