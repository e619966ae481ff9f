# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Quota limits/usage and simple tenant usage per project: parsing and shaping.

Private library code. The pure functions (period parsing, quota and usage shaping,
merging paginated tenant usage) take plain data; :func:`gather_usage` reads Nova and
keystone through an openstacksdk connection.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as _gather
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as _rest

DEFAULT_PERIOD_DAYS = 30
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOVA_TIME = "%Y-%m-%dT%H:%M:%S"


def parse_time(value, option, now=None):
    """A naive UTC datetime from an ISO 8601 date or date-time (``Z``/offsets converted)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text == "now":
            return (now or datetime.datetime.now(datetime.timezone.utc)).replace(tzinfo=None, microsecond=0)
        if _DATE_RE.match(text):
            text += "T00:00:00"
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            raise ValueError("%s must be an ISO 8601 date or date-time such as 2026-11-01 or "
                             "2026-11-01T00:00:00Z, got %r" % (option, value)) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def period(start=None, end=None, now=None):
    """``(start, end)`` naive UTC datetimes; default end is now, default start 30 days earlier."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    end_dt = parse_time(end, "end", now) or now.replace(tzinfo=None, microsecond=0)
    start_dt = parse_time(start, "start", now) or end_dt - datetime.timedelta(days=DEFAULT_PERIOD_DAYS)
    if start_dt >= end_dt:
        raise ValueError("start (%s) must be before end (%s)" % (start_dt.isoformat(), end_dt.isoformat()))
    return start_dt, end_dt


def shape_quotas(quota_set):
    """``{resource: {limit, in_use, reserved, remaining}}`` from ``os-quota-sets/{id}/detail``.

    ``limit`` -1 means unlimited; ``remaining`` is then null.
    """
    result = {}
    for name, value in sorted((quota_set or {}).items()):
        if name == "id" or not isinstance(value, dict):
            continue
        limit = value.get("limit")
        in_use = value.get("in_use", 0) or 0
        reserved = value.get("reserved", 0) or 0
        remaining = None if limit is None or limit < 0 else limit - in_use - reserved
        result[name] = {"limit": limit, "in_use": in_use, "reserved": reserved, "remaining": remaining}
    return result


_USAGE_FIELDS = (("total_hours", "server_hours"), ("total_vcpus_usage", "vcpu_hours"),
                 ("total_memory_mb_usage", "ram_mb_hours"), ("total_local_gb_usage", "disk_gb_hours"))


def merge_tenant_usages(records):
    """``{project_id: usage}`` from tenant usage records (pages may split one project)."""
    merged = {}
    for record in records or []:
        project_id = record.get("tenant_id")
        usage = merged.setdefault(project_id, {"server_hours": 0.0, "vcpu_hours": 0.0, "ram_mb_hours": 0.0,
                                               "disk_gb_hours": 0.0, "servers": []})
        for source, target in _USAGE_FIELDS:
            usage[target] += float(record.get(source) or 0)
        for server in record.get("server_usages") or []:
            usage["servers"].append({
                "id": server.get("instance_id"),
                "name": server.get("name"),
                "flavor": server.get("flavor"),
                "state": server.get("state"),
                "hours": server.get("hours"),
                "vcpus": server.get("vcpus"),
                "memory_mb": server.get("memory_mb"),
                "local_gb": server.get("local_gb"),
                "started_at": server.get("started_at"),
                "ended_at": server.get("ended_at"),
            })
    for usage in merged.values():
        for _source, target in _USAGE_FIELDS:
            usage[target] = round(usage[target], 4)
        usage["servers"].sort(key=lambda s: (str(s["started_at"]), str(s["id"])))
        usage["num_servers"] = len(usage["servers"])
    return merged


def empty_usage():
    return {"server_hours": 0.0, "vcpu_hours": 0.0, "ram_mb_hours": 0.0, "disk_gb_hours": 0.0,
            "servers": [], "num_servers": 0}


def totals(projects):
    """Sums of the usage hours and of quota in_use over the projects."""
    total = {"server_hours": 0.0, "vcpu_hours": 0.0, "ram_mb_hours": 0.0, "disk_gb_hours": 0.0, "in_use": {}}
    for project in projects:
        usage = project.get("usage") or {}
        for _source, target in _USAGE_FIELDS:
            total[target] += usage.get(target) or 0
        for name, quota in (project.get("quotas") or {}).items():
            total["in_use"][name] = total["in_use"].get(name, 0) + (quota.get("in_use") or 0)
    for _source, target in _USAGE_FIELDS:
        total[target] = round(total[target], 4)
    return total


# ---------------------------------------------------------------- API side

def _projects(conn, project, all_projects):
    """``[{id, name}]`` of the projects asked for."""
    if all_projects:
        try:
            return sorted(({"id": p.id, "name": p.name} for p in conn.identity.projects()),
                          key=lambda p: (p["name"] or "", p["id"]))
        except Exception as exc:
            raise _conn.describe_error(exc, what="list projects (all_projects needs the admin role)", via=conn) from None
    if project is None:
        project_id = conn.current_project_id
        name = None
        try:
            name = conn.identity.get_project(project_id).name
        except Exception:  # a non-admin user may not read its own project record
            pass
        return [{"id": project_id, "name": name}]
    try:
        found = conn.identity.find_project(project, ignore_missing=True)
    except Exception as exc:
        raise _conn.describe_error(exc, what="look up project %r" % project, via=conn) from None
    if found is None:
        raise ValueError("project %r was not found (no project has that name or id, or these "
                         "credentials may not see it)" % project)
    return [{"id": found.id, "name": found.name}]


def _project_usage(compute, proj, params, mv, max_pages=1000):
    """``GET /os-simple-tenant-usage/{id}``, following ``tenant_usage_links`` (2.40+ pages servers)."""
    what = "read the simple tenant usage of project %s" % (proj["name"] or proj["id"])
    url = "/os-simple-tenant-usage/%s" % proj["id"]
    query = dict(params)
    query.pop("detailed", None)
    records = []
    for _page in range(max_pages):
        body = _rest.get_json(compute, url, what, microversion=mv, params=query)
        record = body.get("tenant_usage") or {}
        if record:
            records.append(record)
        url = None
        for link in body.get("tenant_usage_links") or []:
            if link.get("rel") == "next":
                url = link.get("href")
        if not url or not record.get("server_usages"):
            break
        query = None
    return records


def gather_usage(conn, project=None, all_projects=False, start=None, end=None, quotas=True, usage=True,
                 detailed=False, workers=8):
    """Quotas and usage per project: ``{"period": ..., "projects": [...], "totals": ..., "warnings": [...]}``."""
    start_dt, end_dt = period(start, end)
    projects = _projects(conn, project, all_projects)
    compute = conn.compute
    mv = _rest.microversion(compute, _gather.COMPUTE_MAX_MICROVERSION)
    warnings = []
    if quotas:
        def quota_of(proj):
            body = _rest.get_json(compute, "/os-quota-sets/%s/detail" % proj["id"],
                                  "read the quotas of project %s" % (proj["name"] or proj["id"]), microversion=mv)
            return shape_quotas(body.get("quota_set"))
        for proj, quota in zip(projects, _conn.parallel_map(quota_of, projects, workers=workers)):
            proj["quotas"] = quota
    if usage:
        params = {"start": start_dt.strftime(_NOVA_TIME), "end": end_dt.strftime(_NOVA_TIME),
                  "detailed": "1"}  # always: num_servers needs the server list; dropped below unless detailed
        if all_projects:
            records = _rest.get_paginated(compute, "/os-simple-tenant-usage", "tenant_usages",
                                          "read the simple tenant usage of all projects", microversion=mv,
                                          params=params)
        else:
            records = []
            for proj in projects:
                records.extend(_project_usage(compute, proj, params, mv))
        merged = merge_tenant_usages(r for r in records if r)
        known = {p["id"] for p in projects}
        for proj in projects:
            proj["usage"] = merged.get(proj["id"], empty_usage())
            if not detailed:
                proj["usage"].pop("servers", None)
        orphans = sorted(k for k in merged if k not in known)
        for orphan in orphans:
            entry = {"id": orphan, "name": None, "usage": merged[orphan]}
            if not detailed:
                entry["usage"].pop("servers", None)
            projects.append(entry)
        if orphans:
            warnings.append("%d project(s) with usage are not in keystone any more: %s"
                            % (len(orphans), ", ".join(orphans[:10])))
    return {
        "period": {"start": start_dt.strftime(_NOVA_TIME) + "Z", "end": end_dt.strftime(_NOVA_TIME) + "Z",
                   "hours": round((end_dt - start_dt).total_seconds() / 3600.0, 4)},
        "projects": projects,
        "totals": totals(projects),
        "warnings": warnings,
        "compute_microversion": mv,
    }
