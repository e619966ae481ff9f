# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight as _preflight
from ansible_collections.stackops.nova.plugins.module_utils._nova.report import report as _report


def live_migration_pairs(results, facts=None, guest=None):
    """One report per ordered pair of computes (see live_migration_pairs.yml)."""
    try:
        found_facts, probes = _preflight.from_results(results)
        if facts is not None:
            if not isinstance(facts, dict):
                raise _preflight.PreflightError("facts: expected a mapping of host -> compute facts, got %s"
                                                % type(facts).__name__)
            found_facts.update({h: f for h, f in facts.items() if h in found_facts and isinstance(f, dict)})
        return _preflight.pairs_report(found_facts, probes, guest)
    except _preflight.PreflightError as exc:
        raise AnsibleFilterError("live_migration_pairs: %s" % exc) from None


def live_migration_table(reports):
    """The pair reports as text lines (see live_migration_table.yml)."""
    if not isinstance(reports, (list, tuple)):
        raise AnsibleFilterError("live_migration_table: the input must be live_migration_pairs' reports (a list), "
                                 "got %s" % type(reports).__name__)
    try:
        headers, rows = _preflight.table(list(reports))
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError("live_migration_table: expected live_migration_pairs' reports: %s" % exc) from None
    return _report.text_table(headers, rows)


class FilterModule:

    def filters(self):
        return {
            "live_migration_pairs": live_migration_pairs,
            "live_migration_table": live_migration_table,
        }
