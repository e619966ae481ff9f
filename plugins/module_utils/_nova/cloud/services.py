# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nova services: normalise API records, select them, summarise them.

Private library code over plain data (no Ansible, no SDK imports).
"""

from __future__ import annotations

import fnmatch

SERVICE_FIELDS = ("id", "binary", "host", "zone", "status", "state", "disabled_reason",
                  "forced_down", "updated_at")


def _get(record, *names, default=None):
    for name in names:
        if isinstance(record, dict):
            if name in record:
                return record[name]
        elif hasattr(record, name):
            return getattr(record, name)
    return default


def normalize_service(record):
    """One service as a plain dict with the documented keys, from an SDK object or API dict."""
    updated_at = _get(record, "updated_at")
    return {
        "id": None if _get(record, "id") is None else str(_get(record, "id")),
        "binary": _get(record, "binary"),
        "host": _get(record, "host"),
        "zone": _get(record, "availability_zone", "zone"),
        "status": _get(record, "status"),
        "state": _get(record, "state"),
        "disabled_reason": _get(record, "disabled_reason"),
        "forced_down": bool(_get(record, "is_forced_down", "forced_down", default=False)),
        "updated_at": None if updated_at is None else str(updated_at),
    }


def _as_list(value):
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def select_services(services, host=None, binary=None, zone=None, status=None, state=None):
    """Services matching every given criterion.

    ``host`` is a shell glob (``compute-*``) or a list of globs; ``binary`` and ``zone``
    a name or list of names; ``status`` enabled|disabled; ``state`` up|down.
    """
    hosts = _as_list(host)
    binaries = _as_list(binary)
    zones = _as_list(zone)
    selected = []
    for service in services:
        if hosts and not any(fnmatch.fnmatchcase(service["host"] or "", pattern) for pattern in hosts):
            continue
        if binaries and service["binary"] not in binaries:
            continue
        if zones and service["zone"] not in zones:
            continue
        if status and service["status"] != status:
            continue
        if state and service["state"] != state:
            continue
        selected.append(service)
    selected.sort(key=lambda s: (s["binary"] or "", s["host"] or "", s["id"] or ""))
    return selected


def summarize(services):
    """Counts per state and status, and the services an operator must look at."""
    summary = {
        "total": len(services),
        "by_state": {},
        "by_status": {},
        "by_binary": {},
        "down": [],
        "disabled": [],
        "forced_down": [],
    }
    for service in services:
        for key, field in (("by_state", "state"), ("by_status", "status"), ("by_binary", "binary")):
            value = service[field] or "unknown"
            summary[key][value] = summary[key].get(value, 0) + 1
        brief = {"binary": service["binary"], "host": service["host"], "zone": service["zone"]}
        if service["state"] == "down":
            summary["down"].append(dict(brief, updated_at=service["updated_at"]))
        if service["status"] == "disabled":
            summary["disabled"].append(dict(brief, disabled_reason=service["disabled_reason"]))
        if service["forced_down"]:
            summary["forced_down"].append(brief)
    return summary
