# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import filter_args as _args
from ansible_collections.stackops.nova.plugins.module_utils._nova.report import report as _report


def capacity_table(hosts, headroom=None):
    """Render snapshot hosts as text lines (see capacity_table.yml)."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("capacity_table: the input must be hypervisor_info's hypervisors (a list of "
                                 "snapshot hosts), got %s" % type(hosts).__name__)
    try:
        headroom = _args.optional_mapping(headroom, "headroom", "hypervisor_info's headroom (a mapping)")
    except ValueError as exc:
        raise AnsibleFilterError("capacity_table: %s" % exc) from None
    try:
        return _report.capacity_table(list(hosts), headroom=headroom)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        raise AnsibleFilterError("capacity_table: expected hypervisor_info's hypervisors (a list of "
                                 "snapshot hosts) and optionally its headroom: %s" % exc) from None


def capacity_totals(totals):
    """Render hypervisor_info's totals as text lines (see capacity_totals.yml)."""
    if not isinstance(totals, dict):
        raise AnsibleFilterError("capacity_totals: the input must be hypervisor_info's totals (a dict per "
                                 "resource class), got %s" % type(totals).__name__)
    try:
        return _report.totals_lines(dict(totals))
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise AnsibleFilterError("capacity_totals: expected hypervisor_info's totals (a dict per "
                                 "resource class): %s" % exc) from None


class FilterModule:

    def filters(self):
        return {
            "capacity_table": capacity_table,
            "capacity_totals": capacity_totals,
        }
