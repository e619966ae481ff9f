# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters stackops.nova.explain, explain_table and explain_summary (docs in the .yml sidecars)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import filter_args as _args
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import flavors as _flavors
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as _snapshot
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import engine as _engine
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render as _render
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import request as _request
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import shape as _shape

_MAX_COUNT = 10000  # instances in one request: far above any real quota, bounds the one-by-one placement


def _arguments(name, checks):
    """Run the argument checks of filter ``name``; a ValueError names the argument."""
    try:
        return [check() for check in checks]
    except ValueError as exc:
        raise AnsibleFilterError("stackops.nova.%s: %s" % (name, exc)) from None


def explain(snapshot, flavor, image=None, availability_zone=None, scheduler_hints=None, count=1, project_id=None,
            boot_from_volume=False, scheduler=None, nova_release=None, relaxations=True, host=None,
            hypervisor_hostname=None, detail="full"):
    """Explain a request offline on a saved snapshot; returns the explanation (plain data)."""
    if not isinstance(flavor, dict):
        raise AnsibleFilterError("stackops.nova.explain: flavor must be a mapping with vcpus, ram and disk "
                                 "(the filter works offline: look flavors up with the module instead)")
    (image, availability_zone, scheduler_hints, count, project_id, boot_from_volume, scheduler, nova_release,
     relaxations, host, hypervisor_hostname, detail) = _arguments("explain", [
         lambda: _flavors.check_numbers(flavor, "flavor"),
         lambda: _args.optional_mapping(image, "image", "a mapping (id, name, disk_format, properties)"),
         lambda: _args.optional_text(availability_zone, "availability_zone"),
         lambda: _args.optional_mapping(scheduler_hints, "scheduler_hints"),
         lambda: _args.whole_number(count, "count", minimum=1, maximum=_MAX_COUNT),
         lambda: _args.optional_text(project_id, "project_id"),
         lambda: _args.boolean(boot_from_volume, "boot_from_volume"),
         lambda: _args.optional_mapping(scheduler, "scheduler"),
         lambda: _args.optional_text(nova_release, "nova_release"),
         lambda: _args.boolean(relaxations, "relaxations"),
         lambda: _args.optional_text(host, "host"),
         lambda: _args.optional_text(hypervisor_hostname, "hypervisor_hostname"),
         lambda: _args.choice(detail, "detail", _shape.DETAILS),
     ])[1:]
    try:
        data = _snapshot.validate(snapshot, "snapshot")
    except ValueError as exc:
        raise AnsibleFilterError("stackops.nova.explain: %s" % exc) from None
    if nova_release:
        data["source"] = dict(data.get("source") or {}, nova_release=nova_release)
    request = {"flavor": flavor, "image": image, "availability_zone": availability_zone,
               "scheduler_hints": scheduler_hints or {}, "count": count, "project_id": project_id,
               "is_bfv": boot_from_volume, "host": host, "hypervisor_hostname": hypervisor_hostname}
    try:
        request["project_id"] = _request.resolve_project(project_id, data)
        return _engine.explain(data, request, scheduler=scheduler, relax=relaxations, detail=detail)
    except ValueError as exc:
        raise AnsibleFilterError("stackops.nova.explain: %s" % exc) from None


def _check(explanation, name):
    if not isinstance(explanation, dict) or "hosts" not in explanation or "checks" not in explanation:
        raise AnsibleFilterError("stackops.nova.%s: the input must be an explanation (the result of the "
                                 "stackops.nova.explain filter or scheduling_explain's explanation)" % name)


# What a malformed explanation can raise while it is rendered.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def explain_table(explanation, max_hosts=40):
    """The human report as text."""
    max_hosts = _arguments("explain_table", [lambda: _args.whole_number(max_hosts, "max_hosts")])[0]
    _check(explanation, "explain_table")
    try:
        return _render.render_table(explanation, max_hosts=max_hosts)
    except _MALFORMED as exc:
        raise AnsibleFilterError("stackops.nova.explain_table: malformed explanation: %s" % exc) from None


def explain_summary(explanation):
    """The one-line summary."""
    _check(explanation, "explain_summary")
    try:
        return _render.summary_line(explanation)
    except _MALFORMED as exc:
        raise AnsibleFilterError("stackops.nova.explain_summary: malformed explanation: %s" % exc) from None


class FilterModule:
    """Scheduling explanations."""

    def filters(self):
        return {
            "explain": explain,
            "explain_table": explain_table,
            "explain_summary": explain_summary,
        }
