# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters stackops.nova.explain, explain_table and explain_summary (docs in the .yml sidecars)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils import snapshot as _snapshot
from ansible_collections.stackops.nova.plugins.module_utils.explain import engine as _engine
from ansible_collections.stackops.nova.plugins.module_utils.explain import render as _render
from ansible_collections.stackops.nova.plugins.module_utils.explain import request as _request


def explain(snapshot, flavor, image=None, availability_zone=None, scheduler_hints=None, count=1, project_id=None,
            boot_from_volume=False, scheduler=None, nova_release=None, relaxations=True, host=None,
            hypervisor_hostname=None):
    """Explain a request offline on a saved snapshot; returns the explanation (plain data)."""
    try:
        data = _snapshot.validate(snapshot, "snapshot")
    except ValueError as exc:
        raise AnsibleFilterError("stackops.nova.explain: %s" % exc) from None
    if nova_release:
        data["source"] = dict(data.get("source") or {}, nova_release=nova_release)
    if not isinstance(flavor, dict):
        raise AnsibleFilterError("stackops.nova.explain: flavor must be a mapping with vcpus, ram and disk "
                                 "(the filter works offline: look flavors up with the module instead)")
    request = {"flavor": flavor, "image": image, "availability_zone": availability_zone,
               "scheduler_hints": scheduler_hints or {}, "count": count, "project_id": project_id,
               "is_bfv": bool(boot_from_volume), "host": host, "hypervisor_hostname": hypervisor_hostname}
    try:
        request["project_id"] = _request.resolve_project(project_id, data)
        return _engine.explain(data, request, scheduler=scheduler, relax=bool(relaxations))
    except ValueError as exc:
        raise AnsibleFilterError("stackops.nova.explain: %s" % exc) from None


def _check(explanation, name):
    if not isinstance(explanation, dict) or "hosts" not in explanation or "checks" not in explanation:
        raise AnsibleFilterError("stackops.nova.%s: the input must be an explanation (the result of the "
                                 "stackops.nova.explain filter or scheduling_explain's explanation)" % name)


def explain_table(explanation, max_hosts=40):
    """The human report as text."""
    _check(explanation, "explain_table")
    try:
        return _render.render_table(explanation, max_hosts=int(max_hosts))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("stackops.nova.explain_table: malformed explanation: %s" % exc) from None


def explain_summary(explanation):
    """The one-line summary."""
    _check(explanation, "explain_summary")
    try:
        return _render.summary_line(explanation)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("stackops.nova.explain_summary: malformed explanation: %s" % exc) from None


class FilterModule:
    """Scheduling explanations."""

    def filters(self):
        return {
            "explain": explain,
            "explain_table": explain_table,
            "explain_summary": explain_summary,
        }
