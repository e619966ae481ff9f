#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: server_history
short_description: Why did this server fail - the history of its scheduling attempts and reschedules
version_added: 0.1.0
description:
  - Builds one consolidated report per request (API action such as C(create), C(resize), C(rebuild))
    of one server, like IBM PRS's scheduling report; every attempt (the first try and each reschedule)
    with the host and node chosen and the compute error there; for a scheduling pass that found no
    host, which hosts each filter let through and which it removed, or that placement returned no
    allocation candidates; the final error (C(NoValidHost), C(MaxRetriesExceeded), build aborted).
  - Reads the server and its fault (C(GET /servers/{id})), its instance actions and their events
    (C(GET /servers/{id}/os-instance-actions/{request_id}), with event details from microversion 2.84).
  - With O(log_paths) or O(log_text) it also reads nova-conductor, nova-scheduler and nova-compute
    logs (oslo.log text with or without pid, journald/syslog prefixes in any locale, devstack's
    formats old and new, C(grep -n)/C(grep -r) prefixes, lines without a timestamp, JSON lines
    from C(oslo_log.formatters.JSONFormatter), C(.gz) files), keeping only the lines of this server's
    request ids and instance uuid, streamed so that logs of hundreds of MB are fine.
  - Without logs the report uses the API only and its RV(notes) say what the logs would add; the
    hosts of the events are shown to admins only, so run it with admin credentials.
  - The logs live on the control hosts; gather them first (see the examples and
    C(playbooks/why_failed.yml)), the module reads files on the host it runs on.
author:
  - stackops.nova developers (@stackops)
options:
  server:
    description:
      - The server's name or id. A name must match exactly; when several servers have that name the
        task fails and lists their ids.
    type: str
    required: true
  all_projects:
    description:
      - Look the name up in every project, not only the one of the credentials (admin only).
        An id is found in any project the credentials may see.
    type: bool
    default: false
  log_paths:
    description:
      - Log files, directories (every file below them) or shell globs on the host the module runs on,
        for example the files that M(ansible.builtin.fetch) brought from the nova control hosts.
      - C(.gz) files are decompressed. A path that does not exist or cannot be read fails the task,
        naming the path.
    type: list
    elements: path
  log_text:
    description:
      - Log text given directly, for example the registered output of a C(grep) or C(journalctl) run on
        the control hosts, or a M(ansible.builtin.slurp) result decoded with C(b64decode).
      - A list is parsed item by item (one item per host), so that lines of different hosts never join.
    type: raw
  request_id:
    description:
      - Only report this request (an instance action's request id, C(req-...)).
    type: str
  include_records:
    description:
      - Also return the matched log records (RV(records)).
    type: bool
    default: false
  year:
    description:
      - The year of journald/syslog short timestamps (C(Nov 21 14:20:46)), which carry none, when the
        oslo.log timestamp is missing too (devstack's format). Defaults to leaving them as C(MM-DD ...).
    type: int
extends_documentation_fragment:
  - stackops.nova.auth
  - stackops.nova.auth.info_module
notes:
  - Nova logs the hosts each filter let through only at DEBUG level (C([DEFAULT] debug = true)); at INFO
    the report has the counts per filter of the failing pass, and the attempts from the conductor's
    ERROR C(Error from last host) lines.
  - A rescheduled build ends its C(compute__do_build_and_run_instance) event with C(Success) (Nova
    returns instead of raising), so without logs the compute error of the attempts before the last
    is unknown; the fault carries the last one for C(MaxRetriesExceeded) on the attempts limit.
seealso:
  - module: stackops.nova.scheduling_explain
  - plugin: stackops.nova.parse_nova_log
    plugin_type: filter
  - name: Nova's instance actions API
    description: The API this module reads.
    link: https://docs.openstack.org/api-ref/compute/#servers-actions-servers-os-instance-actions
"""

EXAMPLES = r"""
- name: Why did web-1 fail? (API only)
  stackops.nova.server_history:
    cloud: mycloud
    server: web-1
  register: why

- name: Show the report
  ansible.builtin.debug:
    msg: "{{ why.summary }}"

- name: Logs fetched from the control hosts beforehand (ansible.builtin.fetch to logs/<host>/...)
  stackops.nova.server_history:
    cloud: mycloud
    server: 5f0c3a52-3c55-4a2e-9d7c-1a0e3c1c9b11
    log_paths:
      - logs/
  register: why

- name: Print the PRS-style table
  ansible.builtin.debug:
    msg: "{{ why.table.split('\n') }}"

- name: Only the lines of this server, grepped on every control host, passed as text
  stackops.nova.server_history:
    cloud: mycloud
    server: web-1
    all_projects: true
    log_text: "{{ groups['nova_control'] | map('extract', hostvars, ['nova_grep', 'stdout']) | list }}"
"""

RETURN = r"""
server:
  description: The server.
  returned: always
  type: dict
  sample: {id: 5f0c3a52-3c55-4a2e-9d7c-1a0e3c1c9b11, name: web-1, status: ERROR, vm_state: error, task_state: null,
           host: null, node: null, created: "2026-11-21T14:20:00Z", project_id: 9a8b7c6d5e4f40312233445566778899}
fault:
  description: The server's fault (message, code, created, details), or null.
  returned: always
  type: dict
  sample: {message: "No valid host was found. There are not enough hosts available.", code: 500,
           created: "2026-11-21T14:20:02Z", details: "Traceback ..."}
outcome:
  description:
    - How the failed request (else the last one) ended. V(max_retries) (every attempt failed on its compute
      host), V(no_valid_host_placement) (placement returned no candidates), V(no_valid_host_filter) (host
      filters removed every candidate), V(no_valid_host) (no host, cause unknown), V(build_aborted),
      V(error), V(active), V(in_progress) or V(unknown).
  returned: always
  type: str
  sample: max_retries
summary:
  description: One line saying what happened.
  returned: always
  type: str
  sample: "server web-1 (create req-...) failed after 3 attempts (compute1, compute2, compute3): MaxRetriesExceeded;
    last error on compute3: Insufficient compute resources: disk full."
table:
  description: The PRS-style text report; attempts per request, then the filters of the failing pass.
  returned: always
  type: str
requests:
  description: One entry per request (instance action, or request id found only in the logs), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    request_id:
      description: The request id (C(req-...)) shared by the API, conductor, scheduler and compute lines.
      type: str
    action:
      description: The instance action (C(create), C(resize), ...), null for a request found only in logs.
      type: str
    start_time:
      description: When the action started.
      type: str
    outcome:
      description: How this request ended (same values as RV(outcome)).
      type: str
    attempts:
      description:
        - Every attempt, in order. Each has C(number), C(time), C(host), C(node), C(alternates) (the
          conductor's alternate hosts), C(result) (V(rescheduled), V(aborted), V(failed), V(active),
          V(sent to compute), ...), C(error) (the compute error there), C(error_detail) (the exception line),
          C(scheduling) (the scheduling pass that chose it), C(source) (V(log), V(events) or V(log+events)).
      type: list
      elements: dict
    failed_scheduling:
      description:
        - The scheduling pass that found no host, or null. C(starting_hosts); C(filters), each with
          C(filter), C(start), C(end), C(hosts) (the hosts it let through, DEBUG logs only) and C(removed);
          C(emptied_by) (the filter that left 0 hosts); C(placement_no_candidates); C(not_enough_hosts);
          C(form) (V(hosts) or V(counts)).
      type: dict
    final_error:
      description: The error that ended the request (conductor log line or failed conductor event).
      type: str
    events:
      description: The instance action events (event, start_time, finish_time, result, host, traceback, details).
      type: list
      elements: dict
    log_records:
      description: How many log records of this request were read.
      type: int
    notes:
      description: Remarks found in the logs (re-scheduling disabled, ...).
      type: list
      elements: str
failed_request:
  description: The request id of the failed request the summary is about, or null.
  returned: always
  type: str
logs:
  description:
    - What was read, or null without logs. C(files) (per file C(path), C(lines), C(bytes), C(records)),
      and totals C(lines), C(bytes), C(records) (matched), C(skipped) (lines of other requests),
      C(unparsed) (lines that belong to no record), C(json_errors), C(seconds).
  returned: always
  type: dict
notes:
  description: What the report could not know and why (no logs given, INFO-level logs, inferences).
  returned: always
  type: list
  elements: str
records:
  description: The matched log records (time, pid, level, logger, request ids, user, project, instance, message,
    traceback, origin, line), when O(include_records=true).
  returned: when include_records
  type: list
  elements: dict
"""

import glob
import os
import re
import time

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _conn
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import gather as _gather
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


class ServerHistoryModule(NovaModule):
    argument_spec = dict(
        server=dict(type="str", required=True),
        all_projects=dict(type="bool", default=False),
        log_paths=dict(type="list", elements="path"),
        log_text=dict(type="raw"),
        request_id=dict(type="str"),
        include_records=dict(type="bool", default=False),
        year=dict(type="int"),
    )

    def validate(self):
        if not (self.params["server"] or "").strip():
            raise ValueError("server must be a server name or id, got an empty string")
        text = self.params["log_text"]
        if text is not None and not isinstance(text, str) and not (
                isinstance(text, list) and all(isinstance(t, str) for t in text)):
            raise ValueError("log_text must be a string or a list of strings, got %s" % type(text).__name__)
        if self.params["log_paths"]:
            self._files = expand_log_paths(self.params["log_paths"])
        else:
            self._files = []

    # -- API ---------------------------------------------------------------------------------
    def _get(self, url, what, microversion=None, params=None):
        return _gather.get_json(self.conn.compute, url, what, microversion=microversion, params=params)

    def _get_versioned(self, url, what, microversion, params=None):
        """GET with a microversion, falling back to the cloud's default when it is too old."""
        try:
            return self._get(url, what, microversion=microversion, params=params)
        except _conn.NovaError as exc:
            if exc.status in (400, 406):
                return self._get(url, what, params=params)
            raise

    def find_server(self):
        ref = self.params["server"].strip()
        all_projects = self.params["all_projects"]
        if UUID.match(ref):
            try:
                body = self._get_versioned("/servers/%s" % ref, "read server %s" % ref, SERVER_MICROVERSION)
                return body["server"]
            except _conn.NovaError as exc:
                if exc.status != 404:
                    raise
        params = {"name": "^%s$" % re.escape(ref)}
        if all_projects:
            params["all_tenants"] = "1"
        found = _gather.get_paginated(self.conn.compute, "/servers/detail", "servers",
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

    def actions(self, server_id):
        body = self._get_versioned("/servers/%s/os-instance-actions" % server_id,
                                   "list the instance actions of server %s" % server_id, ACTIONS_MICROVERSION)
        out = []
        for act in body.get("instanceActions") or []:
            rid = act.get("request_id")
            if self.params["request_id"] and rid != self.params["request_id"]:
                continue
            detail = self._get_versioned("/servers/%s/os-instance-actions/%s" % (server_id, rid),
                                         "read instance action %s of server %s" % (rid, server_id),
                                         ACTIONS_MICROVERSION)
            out.append(detail.get("instanceAction") or act)
        return out

    # -- logs --------------------------------------------------------------------------------
    def read_logs(self, tokens):
        texts = self.params["log_text"]
        if texts is None and not self._files:
            return None, None
        if isinstance(texts, str):
            texts = [texts]
        started = time.monotonic()
        total = _novalog.ParseStats()
        records = []
        files = []
        for path in self._files:
            stats = _novalog.ParseStats()
            try:
                records.extend(_novalog.parse_file(path, match=tokens, stats=stats, year=self.params["year"]))
            except _novalog.NovaLogError as exc:
                raise ValueError("log_paths: %s" % exc) from None
            files.append({"path": path, "lines": stats.lines, "bytes": stats.bytes, "records": stats.records})
            total.add(stats)
        for i, text in enumerate(texts or []):
            stats = _novalog.ParseStats()
            records.extend(_novalog.iter_records(text.splitlines(), match=tokens, stats=stats,
                                                 origin="log_text[%d]" % i, year=self.params["year"]))
            files.append({"path": "log_text[%d]" % i, "lines": stats.lines, "bytes": stats.bytes,
                          "records": stats.records})
            total.add(stats)
        summary = total.to_dict()
        summary["files"] = files
        summary["seconds"] = round(time.monotonic() - started, 3)
        return records, summary

    def run(self):
        server = self.find_server()
        actions = self.actions(server["id"])
        tokens = [server["id"]] + [a.get("request_id") for a in actions if a.get("request_id")]
        records, stats = self.read_logs(tokens)
        if records is not None and self.params["request_id"]:
            wanted = self.params["request_id"]
            records = [r for r in records if r.request_id == wanted or r.global_request_id == wanted]
        result = _history.build_history(server, actions, records or [], log_stats=stats,
                                        logs_given=records is not None)
        if self.params["include_records"]:
            result["records"] = [r.to_dict() for r in records or []]
        return result


def main():
    ServerHistoryModule()()


if __name__ == "__main__":
    main()
