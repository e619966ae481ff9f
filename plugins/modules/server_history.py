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
      C(unparsed) (lines that belong to no record), C(unparsed_lines) (the first five of them as
      C(line) number and C(text), cut to 200 characters), C(json_errors), C(seconds).
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

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import NovaModule
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history_source as _source


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
        _source.check_log_text(self.params["log_text"])
        self._files = _source.expand_log_paths(self.params["log_paths"])

    def run(self):
        params = self.params
        return _source.server_history(self.conn.compute, params["server"], all_projects=params["all_projects"],
                                      files=self._files, log_text=params["log_text"],
                                      request_id=params["request_id"], include_records=params["include_records"],
                                      year=params["year"])


def main():
    ServerHistoryModule()()


if __name__ == "__main__":
    main()
