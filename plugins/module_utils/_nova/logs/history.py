# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Why did this server fail: the timeline of one server's scheduling attempts.

Private library code of stackops.nova, pure Python over plain data. Input: the server
(as ``GET /servers/{id}`` returns it, fault included), its instance actions with their
events (``GET /servers/{id}/os-instance-actions/{request_id}``), and optionally log records
from nova-scheduler / nova-conductor / nova-compute (see ``novalog``). Output: one report
per request id (an API action such as ``create``): every attempt (first try and each
reschedule) with the host and node chosen and the compute error there, and for a scheduling
pass that found no host, which hosts each filter let through, or that placement returned no
candidates; a one-line summary and a PRS-style text table (seed 004).

Nova facts this relies on (nova 34 source):
* the API's request id travels with the request through conductor, scheduler and compute
  (``RequestContext`` over RPC), so one request id groups every line of a boot, reschedules
  included;
* the conductor logs ``Selected host: H; Selected node: N; Alternates: [...]`` (DEBUG) for each
  attempt, and ``Error from last host: H (node N): [traceback]`` (ERROR) before each reschedule
  and before giving up; the scheduler logs the filter counts (INFO when a filter empties the
  list, DEBUG otherwise) and the surviving host lists (DEBUG);
* rescheduled builds finish their ``compute__do_build_and_run_instance`` event with
  ``Success`` (the build method returns RESCHEDULED instead of raising), so the events give the
  hosts tried but not the errors; the fault gives the final error; ``No valid host was found. ``
  with an empty reason is what placement returning no candidates leaves.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import table as _table
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog

# instance action events that mark one attempt on a compute host
ATTEMPT_EVENTS = ("compute__do_build_and_run_instance", "compute_prep_resize", "compute_rebuild_instance",
                  "compute_unshelve_instance", "compute_check_can_live_migrate_destination")
COMPUTE_FAILURE_KINDS = ("rescheduled", "build_failed", "build_aborted", "build_unexpected",
                         "resources_unavailable")

OUTCOME_TEXT = {
    "max_retries": "MaxRetriesExceeded: every attempt failed on its compute host",
    "no_valid_host_placement": "NoValidHost: placement returned no allocation candidates",
    "no_valid_host_filter": "NoValidHost: the host filters removed every candidate",
    "no_valid_host": "NoValidHost",
    "build_aborted": "build aborted on the compute host (not rescheduled)",
    "error": "failed",
    "active": "built",
    "in_progress": "in progress",
    "unknown": "unknown",
}


class HistoryError(Exception):
    """Input the history cannot be built from."""


# ------------------------------------------------------------------------------------------
# input normalisation
# ------------------------------------------------------------------------------------------
def _get(obj, *names, default=None):
    for name in names:
        if isinstance(obj, dict):
            if obj.get(name) is not None:
                return obj[name]
        elif getattr(obj, name, None) is not None:
            return getattr(obj, name)
    return default


def _text(value):
    """API text fields: a string, else None (an SDK or a user may hand anything over)."""
    return value if isinstance(value, str) else None


def _mapping(value):
    if isinstance(value, dict):
        return value
    if value is None or isinstance(value, (str, bytes, int, float, bool, list, tuple)):
        return None
    try:
        return dict(value)      # an SDK resource
    except (TypeError, ValueError):
        return None


def normalize_server(server):
    """The fields of a server (API dict or SDK object) the history uses; values of unexpected
    types are dropped (None), never raised on."""
    if server is None:
        raise HistoryError("no server given")
    fault = _mapping(_get(server, "fault"))
    code = fault.get("code") if fault else None
    return {
        "id": _text(_get(server, "id")),
        "name": _text(_get(server, "name")),
        "status": _text(_get(server, "status")),
        "task_state": _text(_get(server, "OS-EXT-STS:task_state", "task_state")),
        "vm_state": _text(_get(server, "OS-EXT-STS:vm_state", "vm_state")),
        "host": _text(_get(server, "OS-EXT-SRV-ATTR:host", "compute_host", "host")),
        "node": _text(_get(server, "OS-EXT-SRV-ATTR:hypervisor_hostname", "hypervisor_hostname")),
        "created": _text(_get(server, "created", "created_at")),
        "project_id": _text(_get(server, "tenant_id", "project_id")),
        "fault": {
            "message": _text(fault.get("message")),
            "code": code if isinstance(code, int) and not isinstance(code, bool) else None,
            "created": _text(fault.get("created")),
            "details": _text(fault.get("details")),
        } if fault else None,
    }


def normalize_action(action):
    """An instance action (API dict or SDK object) with its events, oldest event first."""
    events = []
    raw_events = _get(action, "events", default=[]) if not isinstance(action, (str, bytes, int, float)) else []
    for ev in raw_events if isinstance(raw_events, (list, tuple)) else []:
        if isinstance(ev, (str, bytes, int, float, bool, list, tuple)) or ev is None:
            continue
        events.append({
            "event": _text(_get(ev, "event")),
            "start_time": _text(_get(ev, "start_time")),
            "finish_time": _text(_get(ev, "finish_time")),
            "result": _text(_get(ev, "result")),
            "host": _text(_get(ev, "host")),
            "host_id": _text(_get(ev, "hostId", "host_id")),
            "traceback": novalog._traceback_text(_get(ev, "traceback")),
            "details": _text(_get(ev, "details")),
        })
    events.sort(key=lambda e: e["start_time"] or "")
    if isinstance(action, (str, bytes, int, float, bool, list, tuple)):
        action = {}
    return {
        "action": _text(_get(action, "action")),
        "request_id": _text(_get(action, "request_id", "id")),
        "start_time": _text(_get(action, "start_time")),
        "user_id": _text(_get(action, "user_id")),
        "project_id": _text(_get(action, "project_id")),
        "message": _text(_get(action, "message")),
        "events": events,
    }


def _as_record(rec):
    return rec if isinstance(rec, novalog.Record) else novalog.Record.from_dict(rec if isinstance(rec, dict) else {})


# ------------------------------------------------------------------------------------------
# log records -> attempts
# ------------------------------------------------------------------------------------------
def _new_pass(time):
    return {"time": time, "instances": [], "starting_hosts": None, "filters": [], "removed_all": False,
            "emptied_by": None, "placement_no_candidates": False, "weighed": None, "selected": None,
            "not_enough_hosts": None, "claim_failed": False, "form": None}


def _pass_add_filter(pss, name, count):
    prev = pss["filters"][-1]["end"] if pss["filters"] else pss["starting_hosts"]
    pss["filters"].append({"filter": name, "start": prev, "end": count, "hosts": None})


def _pass_merge_results(pss, ev):
    """Merge a 'Filtering removed all hosts' event (counts or host lists) into the pass."""
    pss["removed_all"] = True
    by_name = {f["filter"]: f for f in pss["filters"]}
    ordered = []
    for item in ev.get("results", []):
        entry = by_name.pop(item["filter"], None)
        if entry is None:
            entry = {"filter": item["filter"], "start": None, "end": None, "hosts": None}
        ordered.append(entry)
        if "start" in item:
            entry["start"] = item["start"]
            entry["end"] = item["end"]
        if "hosts" in item:
            entry["hosts"] = item["hosts"] if item["hosts"] is not None else []
            if item["hosts"] is None:
                entry["end"] = 0
            elif entry["end"] is None:
                entry["end"] = len(item["hosts"])
    if ordered:
        # the results list every filter that ran in this pass, in order: a filter seen before
        # but not listed ran in another pass (an excerpt that starts mid-pass)
        pss["filters"] = ordered
    if ev.get("filter"):
        pss["emptied_by"] = ev["filter"]
    if ev.get("form") == "hosts":
        pss["form"] = "hosts"
    elif pss["form"] is None:
        pss["form"] = "counts"
    # fill starts from the previous end, and the first start from the host count
    prev = pss["starting_hosts"]
    for f in pss["filters"]:
        if f["start"] is None:
            f["start"] = prev
        prev = f["end"]
    if pss["starting_hosts"] is None and pss["filters"]:
        pss["starting_hosts"] = pss["filters"][0]["start"]


def _finish_pass(pss):
    """Add the hosts each filter removed, when the surviving host lists are known."""
    if pss is None:
        return None
    before = None
    for i, f in enumerate(pss["filters"]):
        hosts = f.get("hosts")
        if hosts is not None and before is not None:
            now = {tuple(h) for h in hosts}
            f["removed"] = [list(h) for h in before if tuple(h) not in now]
        elif hosts is not None and i == 0 and f.get("start") == len(hosts):
            f["removed"] = []
        else:
            f["removed"] = None
        if hosts is not None:
            before = [list(h) for h in hosts]
    return pss


def _instance_ok(rec, ev, instance_uuid):
    if not instance_uuid:
        return True
    tagged = rec.instance or ev.get("instance")
    return tagged is None or tagged == instance_uuid


def attempts_from_records(records, instance_uuid=None):
    """Build the attempts of one request from its log records (any order; sorted by time).

    Returns ``{"attempts": [...], "final": {...} or None, "passes": [...], "notes": [...]}``.
    """
    recs = sorted((_as_record(r) for r in records), key=lambda r: (r.time or "", r.line or 0))
    attempts = []
    passes = []
    final = None
    notes = []
    current = None    # the scheduling pass being read

    def attempt_for(host):
        for att in reversed(attempts):
            if att["host"] == host:
                return att
        return None

    def new_attempt(host, node, time, source):
        att = {"number": len(attempts) + 1, "host": host, "node": node, "time": time, "alternates": None,
               "result": "unknown", "error": None, "error_detail": None, "scheduling": None, "source": source,
               "compute_log": []}
        attempts.append(att)
        return att

    for rec in recs:
        ev = novalog.classify(rec)
        if ev is None or not _instance_ok(rec, ev, instance_uuid):
            continue
        kind = ev["kind"]
        if kind == "schedule_start":
            current = _new_pass(rec.time)
            current["instances"] = ev["instances"]
            passes.append(current)
        elif kind == "hosts_start":
            # "Starting with N host(s)" opens a filtering run: a new pass unless the one just
            # opened by "Starting to schedule" has not filtered yet
            if current is None or current["starting_hosts"] is not None or current["filters"] or \
                    current["removed_all"] or current["selected"] or current["weighed"] is not None:
                current = _new_pass(rec.time)
                passes.append(current)
            current["starting_hosts"] = ev["count"]
        elif kind == "filter_returned":
            if current is None or current["removed_all"] or current["selected"] or \
                    current["weighed"] is not None or \
                    any(f["filter"] == ev["filter"] for f in current["filters"][:-1]) or \
                    (current["filters"] and current["filters"][-1]["filter"] == ev["filter"]
                     and current["filters"][-1]["end"] != ev["count"]):
                # a filter that already ran, or a pass that already ended: a new pass whose
                # "Starting with" line is not in the excerpt
                current = _new_pass(rec.time)
                passes.append(current)
            if not (current["filters"] and current["filters"][-1]["filter"] == ev["filter"]
                    and current["filters"][-1]["end"] == ev["count"]):
                _pass_add_filter(current, ev["filter"], ev["count"])
            if ev["count"] == 0:
                current["emptied_by"] = ev["filter"]
        elif kind == "filtering_removed_all":
            if current is None:
                current = _new_pass(rec.time)
                passes.append(current)
            _pass_merge_results(current, ev)
        elif kind == "no_allocation_candidates":
            if current is None:
                current = _new_pass(rec.time)
                passes.append(current)
            current["placement_no_candidates"] = True
        elif kind == "weighed" and current is not None:
            current["weighed"] = ev["hosts"]
        elif kind == "scheduler_selected" and current is not None:
            current["selected"] = [ev["host"], ev["node"]]
        elif kind == "not_enough_hosts":
            if current is None:
                current = _new_pass(rec.time)
                passes.append(current)
            current["not_enough_hosts"] = {"available": ev["available"], "requested": ev["requested"]}
        elif kind == "claim_failed":
            if current is None:
                current = _new_pass(rec.time)
                passes.append(current)
            current["claim_failed"] = True
        elif kind == "conductor_selected":
            att = new_attempt(ev["host"], ev["node"], rec.time, "log")
            att["alternates"] = ev["alternates"]
            if current is not None and not current.get("_used"):
                att["scheduling"] = current
                current["_used"] = True
            att["result"] = "sent to compute"
        elif kind in COMPUTE_FAILURE_KINDS:
            att = attempts[-1] if attempts else None
            if rec.host and attempts:
                att = attempt_for(rec.host) or att
            if att is None:
                att = new_attempt(rec.host, None, rec.time, "log")
            att["compute_log"].append({"time": rec.time, "kind": kind, "text": rec.message.split("\n")[0]})
            if kind == "rescheduled":
                att["result"] = "rescheduled"
                att["error"] = ev["reason"]
            elif kind == "build_aborted":
                att["result"] = "aborted"
                att["error"] = ev["reason"]
            elif kind in ("build_failed", "build_unexpected"):
                if att["error"] is None:
                    att["error"] = ev.get("error")
                if rec.traceback:
                    att["error_detail"] = novalog.exception_line(rec.traceback)
                if kind == "build_unexpected":
                    att["result"] = "failed"
            elif kind == "resources_unavailable" and att["error"] is None:
                att["error"] = "Insufficient compute resources: %s" % ev["reason"]
        elif kind == "error_from_last_host":
            att = attempt_for(ev["host"])
            if att is None or (att["result"] == "rescheduled" and att.get("_conductor_error")):
                att = new_attempt(ev["host"], ev["node"], rec.time, "log")
            att["_conductor_error"] = True
            att["result"] = "rescheduled" if att["result"] in ("unknown", "sent to compute") else att["result"]
            att["error"] = ev.get("reason") or att["error"]
            att["error_detail"] = ev.get("error")
            if att["node"] is None:
                att["node"] = ev["node"]
        elif kind == "build_took":
            if attempts:
                attempts[-1]["result"] = "active"
        elif kind in ("task_failed", "schedule_failed"):
            final = {"kind": ev.get("error_kind") or "error", "error": ev.get("error"), "time": rec.time,
                     "logger": rec.logger}
        elif kind == "retry_disabled":
            notes.append("re-scheduling was disabled: %s" % ev["reason"])
        elif kind == "retry_info_missing":
            notes.append("the compute host did not reschedule (no retry information: a forced host or "
                         "[scheduler] max_attempts = 1)")

    for att in attempts:
        att.pop("_conductor_error", None)
        if not att["compute_log"]:
            att.pop("compute_log")
    for pss in passes:
        pss.pop("_used", None)
        _finish_pass(pss)
    # a scheduling pass that selected nothing is the failing pass
    failing = [p for p in passes if p["removed_all"] or p["placement_no_candidates"] or p["not_enough_hosts"]
               or p["claim_failed"] or p["emptied_by"]]
    if final is not None and failing:
        final["scheduling"] = failing[-1]
    elif failing and final is None:
        final = {"kind": "no_valid_host", "error": None, "time": failing[-1]["time"], "logger": None,
                 "scheduling": failing[-1]}
    return {"attempts": attempts, "final": final, "passes": passes, "notes": notes}


# ------------------------------------------------------------------------------------------
# API events -> attempts
# ------------------------------------------------------------------------------------------
def attempts_from_events(action):
    attempts = []
    sched_error = None
    for ev in action["events"]:
        name = ev["event"] or ""
        if name in ATTEMPT_EVENTS:
            err = None
            detail = ev.get("details")
            if (ev.get("result") or "").lower() == "error":
                err = detail or novalog.exception_line(ev.get("traceback"))
            attempts.append({"number": len(attempts) + 1, "host": ev.get("host"), "node": None,
                             "time": ev.get("start_time"), "alternates": None,
                             "result": "error" if err else ("done" if ev.get("finish_time") else "in progress"),
                             "error": err, "error_detail": novalog.exception_line(ev.get("traceback")),
                             "scheduling": None, "source": "events", "event": name,
                             "event_result": ev.get("result")})
        elif name.startswith("conductor_") and (ev.get("result") or "").lower() == "error":
            sched_error = {"event": name, "error": ev.get("details") or novalog.exception_line(ev.get("traceback")),
                           "time": ev.get("finish_time") or ev.get("start_time"), "host": ev.get("host")}
    return attempts, sched_error


def _merge_attempts(log_attempts, event_attempts):
    """Log attempts are the richer source; events add time/host/results, and attempts the logs missed."""
    if not log_attempts:
        return [dict(a) for a in event_attempts]
    merged = [dict(a) for a in log_attempts]
    used = set()
    for ev in event_attempts:
        match = None
        for i, att in enumerate(merged):
            if i not in used and att["host"] == ev["host"]:
                match = i
                break
        if match is None:
            merged.append(dict(ev))
            used.add(len(merged) - 1)
            continue
        used.add(match)
        att = merged[match]
        att["source"] = "log+events"
        att["event"] = ev.get("event")
        att["event_result"] = ev.get("event_result")
        if att.get("time") is None:
            att["time"] = ev.get("time")
        if att.get("error") is None and ev.get("error"):
            att["error"] = ev["error"]
    merged.sort(key=lambda a: (a.get("time") or "").replace("T", " "))
    for i, att in enumerate(merged, start=1):
        att["number"] = i
    return merged


# ------------------------------------------------------------------------------------------
# the history
# ------------------------------------------------------------------------------------------
def _classify_fault(fault):
    if not fault or not fault.get("message"):
        return None
    msg = fault["message"]
    kind = novalog.classify_error(msg)
    if kind == "no_valid_host":
        if msg.strip() == novalog.NO_VALID_HOST:
            return "no_valid_host_placement"
        if "not enough hosts available" in msg:
            return "no_valid_host_filter"
    return kind


def _outcome(server, final, attempts, sched_error, fault_kind):
    status = (server.get("status") or "").upper()
    if final is not None:
        kind = final["kind"]
        if kind == "no_valid_host":
            sch = final.get("scheduling") or {}
            if sch.get("placement_no_candidates"):
                return "no_valid_host_placement"
            if sch.get("removed_all") or sch.get("emptied_by") or sch.get("not_enough_hosts"):
                return "no_valid_host_filter"
            return fault_kind if (fault_kind or "").startswith("no_valid_host") else "no_valid_host"
        if kind in ("max_retries", "build_aborted"):
            return kind
    if fault_kind and status == "ERROR":
        return fault_kind
    if sched_error:
        kind = novalog.classify_error(sched_error.get("error"))
        if kind == "no_valid_host":
            return "no_valid_host"
        return kind or "error"
    if attempts and any(a.get("result") == "aborted" for a in attempts):
        return "build_aborted"
    if status == "ERROR":
        return "error"
    if status == "ACTIVE":
        return "active"
    if status in ("BUILD", "RESIZE", "MIGRATING", "REBUILD"):
        return "in_progress"
    return "unknown"


def build_request(action, records=None, server=None, instance_uuid=None, fault_kind=None, is_last=False):
    """The report of one request (one instance action, plus its log records)."""
    server = server or {}
    log_part = attempts_from_records(records or [], instance_uuid=instance_uuid) if records else \
        {"attempts": [], "final": None, "passes": [], "notes": []}
    event_attempts, sched_error = attempts_from_events(action) if action else ([], None)
    attempts = _merge_attempts(log_part["attempts"], event_attempts)
    final = log_part["final"]
    outcome = _outcome(server if is_last else {}, final, attempts, sched_error, fault_kind if is_last else None)
    if outcome == "unknown" and attempts and attempts[-1].get("result") == "active":
        outcome = "active"
    if outcome == "unknown" and action and not sched_error and event_attempts and \
            all((a.get("event_result") or "").lower() == "success" for a in event_attempts) and not is_last:
        outcome = "active"
    # the attempt that failed last gets the final error when the logs had none for it
    if outcome == "max_retries" and attempts and attempts[-1].get("error") is None and is_last and \
            server.get("fault"):
        reason = _last_exception(server["fault"]["message"])
        if reason:
            attempts[-1]["error"] = reason
            attempts[-1]["error_source"] = "fault"
    for att in attempts:
        if outcome == "max_retries" and att.get("result") in ("done", "in progress", "sent to compute", "unknown"):
            # every attempt of a MaxRetriesExceeded build was rescheduled off its host (events of
            # rescheduled builds may stay unfinished or say Success: Nova returns, it does not raise)
            att["result"] = "rescheduled"
        if att.get("result") == "done" and outcome == "active" and att is attempts[-1]:
            att["result"] = "active"
        elif att.get("result") == "done" and att is not attempts[-1]:
            att["result"] = "rescheduled"
    scheduling = (final or {}).get("scheduling")
    req = {
        "request_id": (action or {}).get("request_id") or (records[0].request_id if records else None),
        "action": (action or {}).get("action"),
        "start_time": (action or {}).get("start_time"),
        "user_id": (action or {}).get("user_id"),
        "message": (action or {}).get("message"),
        "outcome": outcome,
        "attempts": attempts,
        "failed_scheduling": scheduling,
        "final_error": (final or {}).get("error") or (sched_error or {}).get("error") or
        (((server.get("fault") or {}).get("message") or None)
         if is_last and outcome not in ("active", "in_progress", "unknown") else None),
        "scheduling_passes": len(log_part["passes"]),
        "events": (action or {}).get("events", []),
        "log_records": len(records or []),
        "notes": log_part["notes"],
    }
    return req


def _last_exception(message):
    if not message:
        return None
    marker = "Last exception: "
    if marker in message:
        return message.split(marker, 1)[1].strip() or None
    return None


def group_records(records, request_ids=(), instance_uuid=None):
    """{request_id: [records]} for the wanted request ids, plus any request naming the instance."""
    wanted = set(r for r in request_ids if r)
    groups = {}
    extra = set()
    recs = [_as_record(r) for r in records]
    if instance_uuid:
        for rec in recs:
            if rec.request_id and (rec.instance == instance_uuid or instance_uuid in rec.message):
                extra.add(rec.request_id)
    keep = wanted | extra
    for rec in recs:
        rid = rec.request_id
        if rid in keep:
            groups.setdefault(rid, []).append(rec)
        elif rec.global_request_id in keep:
            groups.setdefault(rec.global_request_id, []).append(rec)
    return groups


def build_history(server, actions=None, records=None, log_stats=None, logs_given=None):
    """The whole report for one server: requests (oldest first), outcome, summary, table.

    ``server``: the API server (dict/SDK object). ``actions``: its instance actions, each with
    ``events`` (as ``os-instance-actions/{request_id}`` returns them). ``records``: log
    records (``novalog.Record`` or their dicts) from any mix of files. ``log_stats``: a dict
    of parse counters to report. ``logs_given``: whether logs were searched at all.
    """
    srv = normalize_server(server)
    acts = sorted((normalize_action(a) for a in (actions or [])), key=lambda a: a["start_time"] or "")
    records = [_as_record(r) for r in (records or [])]
    if logs_given is None:
        logs_given = bool(records) or log_stats is not None
    groups = group_records(records, [a["request_id"] for a in acts], srv["id"])
    fault_kind = _classify_fault(srv["fault"])
    requests = []
    seen = set()
    for i, act in enumerate(acts):
        rid = act["request_id"]
        seen.add(rid)
        requests.append(build_request(act, groups.get(rid), srv, srv["id"], fault_kind, is_last=(i == len(acts) - 1)))
    for rid, recs in groups.items():       # requests found only in the logs
        if rid in seen:
            continue
        req = build_request(None, recs, srv, srv["id"], None, is_last=not acts)
        # keep only those that scheduled or built something (not API reads naming the server)
        if req["attempts"] or req["failed_scheduling"] or req["final_error"] or req["scheduling_passes"]:
            requests.append(req)
    requests.sort(key=lambda r: (r.get("start_time") or _first_time(groups.get(r["request_id"])) or "")
                  .replace("T", " "))
    failed = [r for r in requests if r["outcome"] not in ("active", "in_progress", "unknown")]
    api_requests = [r for r in requests if r.get("action")]
    focus = failed[-1] if failed else (api_requests[-1] if api_requests else (requests[-1] if requests else None))
    outcome = focus["outcome"] if focus else (fault_kind or ("error" if (srv["status"] or "") == "ERROR"
                                                             else "unknown"))
    notes = []
    if not logs_given:
        notes.append(
            "No logs were given: attempts and hosts come from the instance action events (hosts are shown to "
            "admins only) and the fault. The nova-conductor / nova-scheduler / nova-compute logs (log_paths or "
            "log_text) would add the compute error of every attempt, the alternates, and for a NoValidHost which "
            "filter removed which hosts or that placement returned no candidates.")
    elif not records:
        ids = ", ".join(a["request_id"] for a in acts if a["request_id"]) or "none"
        notes.append("The logs given hold no line of this server's requests (%s): wrong hosts or files, "
                     "rotated logs, or another request id." % ids)
    elif focus and focus["log_records"] and not any(
            a.get("source", "").startswith("log") for a in focus["attempts"]) and \
            not focus.get("failed_scheduling") and focus["outcome"] != "no_valid_host_placement":
        notes.append("The logs hold this request but no attempt lines: nova-conductor's DEBUG 'Selected host' "
                     "lines need [DEFAULT] debug = true; the ERROR 'Error from last host' lines are always logged.")
    if focus and focus.get("failed_scheduling") and focus["failed_scheduling"].get("form") == "counts":
        notes.append("The scheduler logged counts only (INFO); with [DEFAULT] debug = true it logs the hosts each "
                     "filter let through.")
    if outcome == "no_valid_host_placement" and not (focus or {}).get("failed_scheduling"):
        notes.append("Inferred from the fault: 'No valid host was found. ' with an empty reason is what Nova "
                     "raises when placement returns no allocation candidates.")
    elif outcome == "no_valid_host_placement":
        notes.append("Placement returned no allocation candidates: no provider has the free VCPU/MEMORY_MB/"
                     "DISK_GB (after allocation ratios and reserved), or the required traits/aggregates; host "
                     "filters never ran. Use stackops.nova.scheduling_explain for the per-host numbers.")
    history = {
        "server": {k: srv[k] for k in ("id", "name", "status", "vm_state", "task_state", "host", "node",
                                       "created", "project_id")},
        "fault": srv["fault"],
        "outcome": outcome,
        "requests": requests,
        "failed_request": focus["request_id"] if focus and focus in failed else None,
        "logs": log_stats,
        "notes": notes,
    }
    history["summary"] = summarize(history)
    history["table"] = render_table(history)
    return history


def _first_time(records):
    times = [r.time for r in records or [] if r.time]
    return min(times) if times else None


# ------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------
def _hosts(hosts):
    if not hosts:
        return "-"
    names = []
    for h in hosts:
        host, node = (h[0], h[1]) if isinstance(h, (list, tuple)) else (h, "")
        names.append(host if not node or node == host else "%s/%s" % (host, node))
    return ", ".join(names)


def _filter_chain(sch):
    parts = []
    if sch.get("starting_hosts") is not None:
        parts.append(str(sch["starting_hosts"]))
    for f in sch.get("filters", []):
        parts.append("%s %s" % (f["filter"], "?" if f["end"] is None else f["end"]))
    return " -> ".join(parts)


def summarize(history):
    """One line, as short as Kubernetes' FailedScheduling message."""
    srv = history["server"]
    name = srv.get("name") or srv.get("id")
    reqs = history["requests"]
    req = None
    for r in reqs:
        if r["request_id"] == history.get("failed_request"):
            req = r
    if req is None and reqs:
        req = reqs[-1]
    outcome = history["outcome"]
    if req is None:
        fault = (history.get("fault") or {}).get("message")
        return "server %s is %s%s; no instance action found" % (name, srv.get("status"),
                                                                ": %s" % fault if fault else "")
    atts = req["attempts"]
    hosts = [a["host"] for a in atts if a.get("host")]
    tried = "%d attempt%s" % (len(atts), "" if len(atts) == 1 else "s")
    if hosts:
        tried += " (%s)" % ", ".join(hosts)
    head = "server %s (%s %s)" % (name, req.get("action") or "request", req.get("request_id"))
    if outcome == "max_retries":
        last = atts[-1] if atts else {}
        err = last.get("error") or req.get("final_error") or "unknown error"
        return "%s failed after %s: MaxRetriesExceeded; last error on %s: %s" % (
            head, tried, last.get("host") or "?", err)
    if outcome.startswith("no_valid_host"):
        sch = req.get("failed_scheduling") or {}
        before = ""
        if atts:
            before = " after %s" % tried
        if outcome == "no_valid_host_placement":
            why = "placement returned no allocation candidates"
        elif sch.get("emptied_by"):
            last = next((f for f in sch["filters"] if f["filter"] == sch["emptied_by"]), None)
            count = last["start"] if last and last.get("start") is not None else "?"
            why = "filter %s removed the last %s host(s) (%s)" % (sch["emptied_by"], count, _filter_chain(sch))
        elif sch.get("not_enough_hosts"):
            why = "%(available)d host(s) for %(requested)d instance(s)" % sch["not_enough_hosts"]
        elif outcome == "no_valid_host_filter":
            why = "no host passed the filters (the logs would say which filter)"
        else:
            why = (history.get("fault") or {}).get("message") or req.get("final_error") or "no valid host"
        last_err = _last_attempt_error(atts)
        if last_err:
            why += "; last error on %s: %s" % (last_err[0] or "?", last_err[1])
        return "%s failed%s: NoValidHost: %s" % (head, before, why)
    if outcome == "build_aborted":
        last = atts[-1] if atts else {}
        return "%s failed: build aborted on %s: %s" % (
            head, last.get("host") or "?", last.get("error") or req.get("final_error"))
    if outcome == "active":
        return "%s succeeded after %s" % (head, tried)
    if outcome == "in_progress":
        return "%s is in progress: %s so far" % (head, tried)
    err = (history.get("fault") or {}).get("message") or req.get("final_error")
    if not err:
        last_err = _last_attempt_error(atts)
        err = "error on %s: %s" % (last_err[0] or "?", last_err[1]) if last_err else "unknown error"
    return "%s %s after %s: %s" % (head, "failed" if outcome == "error" else outcome, tried, err)


def _last_attempt_error(attempts):
    """(host, error) of the last attempt whose compute error is known, else None."""
    for att in reversed(attempts or []):
        if att.get("error"):
            return att.get("host"), att["error"]
    return None


def text_table(header, rows, max_width=70):
    """A prettytable-like box table, cells cut to max_width, empty cells shown as ``-``."""
    return _table.table(header, rows, empty="-", max_width=max_width)


def render_table(history):
    """The PRS-style report: attempts, then the filters of the failing scheduling pass."""
    srv = history["server"]
    lines = ["Server %s (%s): %s" % (srv.get("name") or "-", srv.get("id"), srv.get("status"))]
    fault = history.get("fault")
    if fault and fault.get("message"):
        lines.append("Fault: %s (code %s, %s)" % (fault["message"], fault.get("code"), fault.get("created")))
    lines.append("Outcome: %s" % OUTCOME_TEXT.get(history["outcome"], history["outcome"]))
    for req in history["requests"]:
        lines.append("")
        lines.append("Request %s %s at %s: %s" % (
            req.get("request_id"), req.get("action") or "(logs only)", req.get("start_time") or "-",
            OUTCOME_TEXT.get(req["outcome"], req["outcome"])))
        rows = []
        for att in req["attempts"]:
            rows.append([att["number"], att.get("time"), att.get("host"), att.get("node"), att.get("result"),
                         att.get("error")])
        sch = req.get("failed_scheduling")
        if sch is not None or (req["outcome"].startswith("no_valid_host") and req.get("final_error")):
            rows.append([len(rows) + 1, (sch or {}).get("time"), "-", "-", "NoValidHost",
                         _no_host_reason(sch, req)])
        elif req["outcome"] == "max_retries":
            rows.append([len(rows) + 1, None, "-", "-", "MaxRetriesExceeded", req.get("final_error")])
        if rows:
            lines.append(text_table(["attempt", "time", "host", "node", "result", "error"], rows, max_width=100))
        if sch and sch.get("filters"):
            lines.append("Filters of the failing scheduling pass (%s host(s) at start):"
                         % ("?" if sch.get("starting_hosts") is None else sch["starting_hosts"]))
            frows = []
            for f in sch["filters"]:
                frows.append([f["filter"], f.get("start"), f.get("end"),
                              _hosts(f["hosts"]) if f.get("hosts") is not None else "(debug log only)",
                              _hosts(f["removed"]) if f.get("removed") is not None else
                              ("(debug log only)" if f.get("hosts") is None else "-")])
            lines.append(text_table(["filter", "start", "end", "passed", "removed"], frows))
    if history.get("notes"):
        lines.append("")
        lines.extend("Note: %s" % n for n in history["notes"])
    return "\n".join(lines)


def _no_host_reason(sch, req):
    if sch:
        if sch.get("placement_no_candidates"):
            return "placement returned no allocation candidates"
        if sch.get("emptied_by"):
            return "filter %s left 0 hosts" % sch["emptied_by"]
        if sch.get("not_enough_hosts"):
            return "%(available)d host(s) available, %(requested)d requested" % sch["not_enough_hosts"]
        if sch.get("claim_failed"):
            return "could not claim resources in placement on any host"
    return req.get("final_error")


def attempts_from_log(records, instance_uuid=None, request_id=None):
    """For the filter plugin: per request id, the attempts and failing pass found in the records."""
    recs = [_as_record(r) for r in records]
    if request_id:
        recs = [r for r in recs if r.request_id == request_id or r.global_request_id == request_id]
    groups = group_records(recs, [request_id] if request_id else [], instance_uuid) if instance_uuid or request_id \
        else _all_groups(recs)
    if instance_uuid and not request_id and None not in groups:
        # scheduling lines pasted without their context bracket: no request id to group by;
        # kept when they name the instance, or when no line of the text has a request id
        loose = [r for r in recs if not r.request_id and novalog.classify(r) is not None]
        if loose and (not any(r.request_id for r in recs) or
                      any(r.instance == instance_uuid or instance_uuid in r.message for r in loose)):
            groups[None] = loose
    out = []
    for rid, group in groups.items():
        part = attempts_from_records(group, instance_uuid=instance_uuid)
        out.append({"request_id": rid, "attempts": part["attempts"], "final": part["final"],
                    "scheduling_passes": part["passes"], "notes": part["notes"], "records": len(group)})
    out.sort(key=lambda g: _first_time(groups[g["request_id"]]) or "")
    return out


def _all_groups(recs):
    """{request_id: records}; records without a request id (pasted without their context
    bracket) form one group under None, kept when they hold scheduling events."""
    groups = {}
    loose = []
    for rec in recs:
        if rec.request_id:
            groups.setdefault(rec.request_id, []).append(rec)
        elif novalog.classify(rec) is not None:
            loose.append(rec)
    if loose:
        groups[None] = loose
    return groups
