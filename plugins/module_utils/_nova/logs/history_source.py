# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a server's history comes from: the server and its instance actions (compute API) and
Nova's logs (files, directories, globs or text), joined by :func:`history.build_history`.

The service behind the ``server_history`` module, which only parses its arguments, calls
:func:`server_history` and returns. Errors are ValueError naming the option
(``server``, ``log_paths``, ``log_text``) or the connection's NovaError.
"""

from __future__ import annotations

import glob
import os
import re
import time

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import rest as _rest
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history as _history
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as _novalog

UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
ACTIONS_MICROVERSION = "2.84"     # event details and hosts
SERVER_MICROVERSION = "2.84"


def expand_log_paths(paths):
    """Every file named by the paths (files, directories walked, globs); ValueError names a bad path."""
    files = []
    for raw in paths or []:
        path = str(raw)  # the option is of type path: ~ is already expanded
        if any(ch in path for ch in "*?["):
            matched = sorted(glob.glob(path))
            if not matched:
                raise ValueError("log_paths: %s matches no file" % raw)
            candidates = matched
        else:
            candidates = [path]
        for cand in candidates:
            if os.path.isdir(cand):
                found = []
                for root, dirs, names in os.walk(cand):
                    dirs.sort()
                    found.extend(os.path.join(root, n) for n in sorted(names))
                files.extend(f for f in found if os.path.isfile(f))
            elif os.path.isfile(cand):
                if not os.access(cand, os.R_OK):
                    raise ValueError("log_paths: cannot read %s: permission denied" % cand)
                files.append(cand)
            else:
                raise ValueError("log_paths: %s does not exist" % raw)
    return files


def check_log_text(text):
    """``log_text`` is None, a string or a list of strings."""
    if text is not None and not isinstance(text, str) and not (
            isinstance(text, list) and all(isinstance(t, str) for t in text)):
        raise ValueError("log_text must be a string or a list of strings, got %s" % type(text).__name__)


# -- API ---------------------------------------------------------------------------------

def _get_versioned(compute, url, what, microversion, params=None):
    """GET with a microversion, falling back to the cloud's default when it is too old."""
    try:
        return _rest.get_json(compute, url, what, microversion=microversion, params=params)
    except _conn.NovaError as exc:
        if exc.status in (400, 406):
            return _rest.get_json(compute, url, what, params=params)
        raise


def find_server(compute, ref, all_projects=False):
    """The server named or with id ``ref`` (a name must be unique)."""
    ref = ref.strip()
    if UUID.match(ref):
        try:
            body = _get_versioned(compute, "/servers/%s" % ref, "read server %s" % ref, SERVER_MICROVERSION)
            return body["server"]
        except _conn.NovaError as exc:
            if exc.status != 404:
                raise
    params = {"name": "^%s$" % re.escape(ref)}
    if all_projects:
        params["all_tenants"] = "1"
    found = _rest.get_paginated(compute, "/servers/detail", "servers",
                                "look up server '%s'" % ref, microversion=SERVER_MICROVERSION, params=params)
    exact = [s for s in found if s.get("name") == ref]
    if not exact:
        scope = "in any project" if all_projects else \
            "in the credentials' project (set all_projects=true to search every project)"
        raise ValueError("server: no server named or with id '%s' %s" % (ref, scope))
    if len(exact) > 1:
        raise ValueError("server: %d servers are named '%s': %s; give the id instead" % (
            len(exact), ref, ", ".join("%s (project %s, %s)" % (s.get("id"), s.get("tenant_id"), s.get("status"))
                                       for s in exact)))
    return exact[0]


def actions(compute, server_id, request_id=None):
    """The server's instance actions with their events (only ``request_id``'s when given)."""
    body = _get_versioned(compute, "/servers/%s/os-instance-actions" % server_id,
                          "list the instance actions of server %s" % server_id, ACTIONS_MICROVERSION)
    out = []
    for act in body.get("instanceActions") or []:
        rid = act.get("request_id")
        if request_id and rid != request_id:
            continue
        detail = _get_versioned(compute, "/servers/%s/os-instance-actions/%s" % (server_id, rid),
                                "read instance action %s of server %s" % (rid, server_id), ACTIONS_MICROVERSION)
        out.append(detail.get("instanceAction") or act)
    return out


# -- logs --------------------------------------------------------------------------------

def read_logs(files, texts, tokens, year=None):
    """The records of the lines naming one of ``tokens``, and what was read: ``(records, stats)``.

    ``(None, None)`` when no log is given.
    """
    if texts is None and not files:
        return None, None
    if isinstance(texts, str):
        texts = [texts]
    started = time.monotonic()
    total = _novalog.ParseStats()
    records = []
    read = []
    for path in files:
        stats = _novalog.ParseStats()
        try:
            records.extend(_novalog.parse_file(path, match=tokens, stats=stats, year=year))
        except _novalog.NovaLogError as exc:
            raise ValueError("log_paths: %s" % exc) from None
        read.append({"path": path, "lines": stats.lines, "bytes": stats.bytes, "records": stats.records})
        total.add(stats)
    for i, text in enumerate(texts or []):
        stats = _novalog.ParseStats()
        records.extend(_novalog.iter_records(text.splitlines(), match=tokens, stats=stats,
                                             origin="log_text[%d]" % i, year=year))
        read.append({"path": "log_text[%d]" % i, "lines": stats.lines, "bytes": stats.bytes,
                     "records": stats.records})
        total.add(stats)
    summary = total.to_dict()
    summary["files"] = read
    summary["seconds"] = round(time.monotonic() - started, 3)
    return records, summary


def server_history(compute, server, all_projects=False, files=(), log_text=None, request_id=None,
                   include_records=False, year=None):
    """The history of ``server`` (name or id): the server_history module's result."""
    found = find_server(compute, server, all_projects)
    acts = actions(compute, found["id"], request_id)
    tokens = [found["id"]] + [a.get("request_id") for a in acts if a.get("request_id")]
    records, stats = read_logs(list(files or ()), log_text, tokens, year)
    if records is not None and request_id:
        records = [r for r in records if r.request_id == request_id or r.global_request_id == request_id]
    result = _history.build_history(found, acts, records or [], log_stats=stats, logs_given=records is not None)
    if include_records:
        result["records"] = [r.to_dict() for r in records or []]
    return result
