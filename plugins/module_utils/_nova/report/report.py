# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain-text tables of the fleet for people (the fleet report).

Private library code over plain data: snapshot hosts in, lines of text out.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import table as _table

CAPACITY_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")


def text_table(headers, rows):
    """Left-aligned columns separated by two spaces, with a rule under the headers (lines)."""
    return _table.table_lines(headers, rows, style=_table.PLAIN)


def _usage(view):
    if not view:
        return "-"
    percent = (100.0 * view["used"] / view["capacity"]) if view["capacity"] > 0 else None
    text = "%s/%s" % (view["used"], view["capacity"])
    if percent is not None:
        text += " (%d%%)" % round(percent)
    return text


def capacity_table(hosts, headroom=None, classes=CAPACITY_CLASSES):
    """One line per compute node: where it is, its state, used/capacity per class, servers.

    ``headroom`` is hypervisor_info's ``headroom`` result; when given, a column shows how
    many more of its flavor fit on each node.
    """
    if not isinstance(hosts, list):
        raise TypeError("capacity_table expects a list of snapshot hosts, got %s" % type(hosts).__name__)
    fits = {}
    if headroom:
        for entry in headroom.get("hosts") or []:
            fits[(entry.get("name"), entry.get("nodename"))] = entry
    headers = ["host", "node", "az", "status", "state"] + ["%s used/cap" % rc for rc in classes] + ["servers"]
    if headroom:
        headers.append("+%s" % ((headroom.get("flavor") or {}).get("name") or "flavor"))
    rows = []
    for host in hosts:
        service = host.get("service") or {}
        resources = host.get("resources") or {}
        row = [host.get("name"), host.get("nodename") if host.get("nodename") != host.get("name") else "",
               host.get("availability_zone") or "-", service.get("status") or "?", service.get("state") or "?"]
        row += [_usage(resources.get(rc)) for rc in classes]
        row.append("-" if host.get("num_instances") is None else host["num_instances"])
        if headroom:
            entry = fits.get((host.get("name"), host.get("nodename")))
            row.append("?" if entry is None or entry.get("count") is None else entry.get("fits", 0))
        rows.append(row)
    return text_table(headers, rows)


def totals_lines(totals):
    """One line per resource class: capacity, used, free, honest about ratios and reserved."""
    lines = []
    for rc in sorted(totals or {}):
        item = totals[rc]
        lines.append("%-10s total %s, reserved %s, capacity %s after ratios, used %s, free %s (%s providers)" % (
            rc, item.get("total"), item.get("reserved"), item.get("capacity"), item.get("used"),
            item.get("free"), item.get("providers")))
    return lines
