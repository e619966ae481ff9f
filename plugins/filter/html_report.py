# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter stackops.nova.html_report (docs in html_report.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils._nova.report import html_report as _html


def html_report(snapshot, explanations=None, flavors=None, headroom=None, title=None):
    """One self-contained HTML file of the fleet and of explanations (a string)."""
    try:
        return _html.render(snapshot=snapshot or None, explanations=explanations, flavors=flavors,
                            headroom=headroom, title=title)
    except _html.ReportError as exc:
        raise AnsibleFilterError("stackops.nova.html_report: %s" % exc) from None


class FilterModule:
    """The HTML report."""

    def filters(self):
        return {"html_report": html_report}
