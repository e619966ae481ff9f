# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Text for people: the one-line summary and PRS-style tables, in plain Python."""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import table as _tables
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import shape as _shape

_SYMBOL = {"pass": ".", "fail": "X", "unknown": "?", "error": "E", "not_evaluated": "-", "skipped": "~"}


def _unknown_names(report):
    return ", ".join(u["name"] for u in report.get("unknowns") or []) or "the unknown checks"


def _pass_text(report):
    many = len(report.get("unknowns") or []) > 1
    return "%s pass%s" % (_unknown_names(report), "" if many else "es")


def summary_line(report):
    """'0/12 hosts fit m1.xlarge in az1: 5 insufficient MEMORY_MB, 3 disabled, 4 not in AZ az1'.

    Hosts whose verdict depends on an unknown check never count as fitting: they are
    "M more only if <check> passes", and the request then fits "unknown".
    """
    req = report["request"]
    text = "%d/%d hosts fit %s" % (report["hosts_valid"], report["hosts_total"], req["flavor"])
    if req["count"] > 1:
        text += " x%d" % req["count"]
    if req.get("forced_host") or req.get("forced_node"):
        text += " on %s" % (req.get("forced_host") or req.get("forced_node"))
    if req["availability_zone"]:
        text += " in %s" % req["availability_zone"]
    if report.get("hosts_maybe"):
        text += ", %d more only if %s" % (report["hosts_maybe"], _pass_text(report))
    if report["reasons"]:
        text += ": " + ", ".join("%d %s" % (r["hosts"], r["reason"]) for r in report["reasons"])
    fits = report["fits"]
    failed = report.get("failed_instance") or {}
    if fits is None:
        text += "; fits: unknown (decided by %s)" % _unknown_names(report)
    elif fits is False and failed.get("error"):
        text += "; the server goes to ERROR at nova-compute: %s" % failed["error"]
    elif req["count"] > 1 and not fits:
        why = ", ".join("%d %s" % (r["hosts"], r["reason"]) for r in failed.get("reasons", []))
        then = (" (then %s)" % why) if why else ""
        text += "; only %d of %d instances placed%s" % (report["placed"], req["count"], then)
    elif fits is False and report["hosts_valid"]:
        why = ", ".join("%d %s" % (r["hosts"], r["reason"]) for r in failed.get("reasons", []))
        text += "; no host can take it%s" % ((" (%s)" % why) if why else "")
    if fits and report["placements"]:
        hosts = []
        for p in report["placements"]:
            if p["host"] not in hosts:
                hosts.append(p["host"])
        text += "; -> %s" % ", ".join(hosts[:5]) + (" ..." if len(hosts) > 5 else "")
    if report.get("warnings"):
        text += " [assuming Nova's default scheduler configuration]" if any(
            "assuming Nova" in w for w in report["warnings"]) else ""
    return text


def _table(headers, rows):
    return _tables.table(headers, rows)


def _clip(text, width):
    text = str(text)
    return text if len(text) <= width else text[:width - 3] + "..."


def render_table(report, max_hosts=40, reason_width=90):
    """The full human report: summary, per-check table, host matrix, near misses, relaxations, headroom."""
    out = [report.get("summary") or summary_line(report), ""]
    checks = report["checks"]
    entries = report["hosts"]
    cells_of = _shape.cell_rows(report)  # per host, its cells in the order of checks (either shape)
    # PRS-style: each check and the hosts it lets through / stops.
    rows = []
    for i, check in enumerate(checks):
        verdicts = [cells[i]["verdict"] for cells in cells_of]
        passed = sum(1 for v in verdicts if v in ("pass", "skipped"))
        unsure = sum(1 for v in verdicts if v in ("unknown", "not_evaluated"))
        stopped = [h["host"] for h, v in zip(entries, verdicts) if v in ("fail", "error")]
        rows.append(["c%d" % (i + 1), check["stage"], check["name"], "%d" % passed, "%d" % unsure,
                     "%d" % len(stopped), _clip(", ".join(stopped) or "-", 60)])
    out.append(_table(["#", "stage", "check", "pass", "unknown", "fail", "hosts stopped"], rows))
    out.append("")
    # Host x check matrix.
    failures = [sum(1 for c in cells if c["verdict"] in ("fail", "error")) for cells in cells_of]
    order = sorted(range(len(entries)), key=lambda n: (not entries[n]["chosen"], not entries[n]["fits"],
                                                       failures[n], entries[n]["host"]))
    shown = order[:max_hosts]
    rows = []
    for n in shown:
        h, cells = entries[n], cells_of[n]
        symbols = "".join(_SYMBOL.get(cell["verdict"], "?") for cell in cells)
        first = None
        for c, cell in zip(checks, cells):
            if cell["verdict"] in ("fail", "error"):
                first = "%s: %s" % (c["name"], cell["reason"])
                break
        if h["chosen"]:
            verdict = "CHOSEN" if h["fits"] else "CHOSEN if ?"
        else:
            verdict = "fits" if h["fits"] else ("unknown" if h["fits"] is None else (h["kind"] or "fail"))
        label = h["host"] if h["host"] == h["nodename"] else "%s/%s" % (h["host"], h["nodename"])
        rows.append([label, verdict, symbols, "%d" % failures[n], _clip(first or "-", reason_width)])
    out.append(_table(["host", "verdict", "c1..c%d" % len(checks), "fails", "first failure (numbers)"], rows))
    if len(order) > len(shown):
        out.append("... %d more host(s) not shown" % (len(order) - len(shown)))
    out.append("legend: . pass  X fail  ? unknown  E Nova errors  - not evaluated  ~ skipped (forced host); "
               "stage claim = nova-compute's checks on the chosen host")
    if report.get("near_misses"):
        out.append("")
        out.append("near misses (one failing check):")
        for m in report["near_misses"][:10]:
            by = ""
            if m.get("short_by"):
                by = " (short by %s)" % ", ".join("%s %d" % kv for kv in m["short_by"].items())
            out.append("  %s: %s%s - %s" % (m["host"], m["check"], by, m["reason"]))
    if report.get("relaxations"):
        out.append("")
        out.append("what would make it fit (each verified by re-running the engine):")
        for r in report["relaxations"]:
            out.append("  - %s -> %d host(s): %s" % (r["change"], r["hosts_valid"], _clip(", ".join(r["hosts"]), 60)))
    elif report["fits"] is False:
        out.append("")
        out.append("no single relaxation the engine tries makes this request fit")
    if report.get("unknowns"):
        out.append("")
        out.append("unknown (these hosts fit only if the check passes; what would decide it):")
        for u in report["unknowns"]:
            out.append("  - %s on %d host(s): %s; decided by %s" % (u["name"], u["hosts"], u["reason"],
                                                                    u["decided_by"]))
    if report.get("relaxations_note"):
        out.append("relaxations %s" % report["relaxations_note"])
    head = report.get("headroom")
    if head:
        out.append("")
        per = sorted(head["per_host"].items(), key=lambda kv: (-kv[1], kv[0]))
        hosts = (": " + ", ".join("%s %d" % kv for kv in per[:8]) + (" ..." if len(per) > 8 else "")) if per else ""
        if head.get("unknown"):
            maybe = head.get("total_if_unknowns_pass")
            out.append("headroom: unknown: %d certain%s; %s more only if %s" % (
                head["total"], hosts, "an unknown number" if maybe is None else "%d" % (maybe - head["total"]),
                _pass_text(report)))
        else:
            out.append("headroom: %d more of this request fit now%s" % (head["total"], hosts))
        if head.get("note"):
            out.append("headroom note: %s" % head["note"])
    if report.get("placements") and report["count"] > 1:
        out.append("")
        out.append("instance by instance: " + ", ".join("#%d -> %s" % (p["instance"], p["host"])
                                                        for p in report["placements"]))
    if report.get("warnings") or report.get("notes"):
        out.append("")
        for warning in report.get("warnings") or []:
            out.append("WARNING: %s" % warning)
        for note in report.get("notes") or []:
            out.append("note: %s" % note)
    return "\n".join(out)
