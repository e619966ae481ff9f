# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One self-contained HTML file of the fleet and of scheduling explanations.

Private library code over plain data: a cloud snapshot (docs/snapshot.md) and explanations
(docs/explain.md) in, an HTML string out. Generated with Jinja2 (autoescape on: host names and
API data are untrusted); no network, no external file: CSS and script are inline
(html_report_assets.py). Capacity numbers come from capacity.resource_view / capacity.totals,
headroom from facts.headroom or the explanation's own: nothing is computed a second way.

The bulky part (hosts, verdict rows, cell reasons) is embedded once as compact JSON that the
inline script draws: verdicts as one character per check, reasons as indexes into a table of
distinct strings, so 10,000 hosts stay a few MB and open quickly.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity as _cap
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import facts as _facts
from ansible_collections.stackops.nova.plugins.module_utils._nova.report import html_report_assets as _assets
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import snapshot as _snapshot
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import render as _render
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import shape as _shape

try:
    import jinja2
    from markupsafe import Markup
    HAS_JINJA2 = True
except ImportError:  # pragma: no cover - the controller always has Jinja2 (ansible-core needs it)
    HAS_JINJA2 = False

REPORT_VERSION = 1

# One character per verdict in the embedded rows; the legend and the text table use render's symbols.
VERDICT_CODES = {"pass": "p", "fail": "f", "unknown": "u", "error": "e", "not_evaluated": "n", "skipped": "s"}
KIND_CODES = {None: "-", "static": "S", "dynamic": "D"}
MAX_LIST = 50          # near misses / relaxation hosts shown as HTML rows
MAX_RANKING = 5        # weighed hosts shown per placed instance


class ReportError(ValueError):
    """Input the report cannot be made from; the message names the argument."""


class _Strings:
    """Distinct strings, each stored once; rows refer to them by index."""

    def __init__(self):
        self.index = {}
        self.items = []

    def add(self, text):
        text = "" if text is None else str(text)
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.items)
            self.items.append(text)
        return found


def _label(name, nodename):
    return name if not nodename or nodename == name else "%s/%s" % (name, nodename)


def _with_views(host):
    """The host with each resource class as capacity.resource_view computes it (placement's rule);
    a class whose inventory is unusable is dropped, a usage that is not known stays None."""
    views = {}
    for rc, inventory in (host.get("resources") or {}).items():
        try:
            view = _cap.resource_view(inventory, inventory.get("used") or 0)
        except _cap.CapacityError:
            continue
        if inventory.get("used") is None:
            view["used"] = None
        views[rc] = view
    return dict(host, resources=views)


def _bar(view):
    """One resource class of one host as a bar: used, free, reserved (after the ratio), full scale."""
    if view is None:
        return None
    # The bar spans the whole inventory after the ratio; the reserved part is what the ratio
    # makes of the reserved amount. Both through capacity.capacity, placement's rule.
    full = _cap.capacity(view["total"], 0, view["allocation_ratio"])
    return [view["used"], view["free"] if view["used"] is not None else view["capacity"], full - view["capacity"],
            full, view["total"], view["reserved"], view["allocation_ratio"], view["capacity"]]


def _classes(hosts):
    seen = set()
    for host in hosts:
        seen.update((host.get("resources") or {}).keys())
    standard = [rc for rc in _cap.STANDARD_CLASSES if rc in seen]
    return standard + sorted(seen - set(standard))


def _totals_rows(groups, classes):
    """Per AZ or aggregate: capacity.totals of its hosts, as bar cells."""
    rows = []
    for name in sorted(groups):
        sums = _cap.totals(groups[name], classes)
        cells = []
        for rc in classes:
            item = sums.get(rc)
            cells.append(None if not item else [item["used"], item["free"], item["capacity"], item["reserved"],
                                                item["total"], item["providers"]])
        rows.append([name, len(groups[name]), cells])
    return rows


def _headroom_columns(hosts, flavors, headroom, explanations):
    """Columns of 'how many more fit' per host: from hypervisor_info's headroom results, from
    flavors (facts.headroom over capacity.flavor_request) and from each explanation."""
    columns = []
    for index, item in enumerate(headroom):
        if not isinstance(item, dict) or not isinstance(item.get("hosts"), list):
            raise ReportError("headroom[%d] must be hypervisor_info's headroom result (with 'hosts')" % index)
        fits = {}
        for entry in item["hosts"]:
            fits[(entry.get("name"), entry.get("nodename"))] = None if entry.get("count") is None else entry.get("fits", 0)
        name = (item.get("flavor") or {}).get("name") or "flavor %d" % (index + 1)
        columns.append({"title": "+" + str(name), "fits": fits, "total": item.get("total")})
    for index, flavor in enumerate(flavors):
        if not isinstance(flavor, dict):
            raise ReportError("flavors[%d] must be an inline flavor (a mapping with vcpus, ram, disk)" % index)
        try:
            request = _cap.flavor_request(flavor)
        except _cap.CapacityError as exc:
            raise ReportError("flavors[%d]: %s" % (index, exc)) from None
        room = _facts.headroom(hosts, request)
        fits = {(e["name"], e["nodename"]): (None if e["count"] is None else e["fits"]) for e in room["hosts"]}
        columns.append({"title": "+" + str(flavor.get("name") or "flavor %d" % (index + 1)), "fits": fits,
                        "total": room["total"]})
    for index, explanation in enumerate(explanations):
        head = explanation.get("headroom")
        if not head:
            continue
        per_host = head.get("per_host") or {}
        fits = {}
        for entry in explanation["hosts"]:
            label = _label(entry["host"], entry.get("nodename"))
            fits[(entry["host"], entry.get("nodename"))] = per_host.get(label, per_host.get(entry["host"], 0))
        columns.append({"title": "+%s (E%d)" % ((explanation.get("request") or {}).get("flavor") or "request", index + 1),
                        "fits": fits, "total": head.get("total")})
    return columns


def _fleet(snapshot, flavors, headroom, explanations):
    hosts = [_with_views(host) for host in snapshot["hosts"]]
    classes = _classes(hosts)
    aggregates = snapshot.get("aggregates") or []
    agg_names = [str(a.get("name")) for a in aggregates]
    agg_index = {a.get("id"): i for i, a in enumerate(aggregates)}
    by_name = {}
    for i, aggregate in enumerate(aggregates):
        for host in aggregate.get("hosts") or []:
            by_name.setdefault(host, set()).add(i)
    columns = _headroom_columns(hosts, flavors, headroom, explanations)
    rows = []
    by_az, by_agg = {}, {}
    for host in hosts:
        service = host.get("service") or {}
        aggs = set(agg_index[a] for a in host.get("aggregates") or [] if a in agg_index) | by_name.get(host["name"], set())
        az = host.get("availability_zone") or ""
        resources = host.get("resources") or {}
        bars = [_bar(resources.get(rc)) for rc in classes]
        status = service.get("status") or "?"
        state = "down" if service.get("forced_down") else (service.get("state") or host.get("hypervisor_state") or "?")
        rows.append([host["name"], host["nodename"] if host["nodename"] != host["name"] else "", az, sorted(aggs),
                     status, state, service.get("disabled_reason") or "", host.get("num_instances"), bars,
                     [col["fits"].get((host["name"], host["nodename"])) for col in columns]])
        by_az.setdefault(az or "(none)", []).append(host)
        for i in aggs:
            by_agg.setdefault(agg_names[i], []).append(host)
    return {
        "classes": classes,
        "aggregates": agg_names,
        "azs": sorted(set(r[2] for r in rows)),
        "hosts": rows,
        "headroom": [{"title": c["title"], "total": c["total"]} for c in columns],
        "totals": {"az": _totals_rows(by_az, classes), "aggregate": _totals_rows(by_agg, classes)},
        "overall": _totals_rows({"all hosts": hosts}, classes)[0],
    }


def _unwrap(explanation, index):
    """An explanation, or scheduling_explain's result holding one under 'explanation'."""
    if isinstance(explanation, dict) and "hosts" not in explanation and isinstance(explanation.get("explanation"), dict):
        explanation = explanation["explanation"]
    if not isinstance(explanation, dict) or not isinstance(explanation.get("hosts"), list) \
            or not isinstance(explanation.get("checks"), list):
        raise ReportError("explanations[%d] must be an explanation (the stackops.nova.explain filter's result, "
                          "or scheduling_explain's result or its 'explanation')" % index)
    try:
        return _shape.expand(explanation)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ReportError("explanations[%d] is a malformed compact explanation (cells, rows, hosts[].row): %r"
                          % (index, exc)) from None


def _matrix(explanation, index, fleet_aggs):
    """The compact rows of one explanation for the inline script."""
    checks = explanation["checks"]
    ids = [c["id"] for c in checks]
    strings = _Strings()
    rows = []
    for entry in explanation["hosts"]:
        cells = entry.get("checks") or {}
        codes = []
        reasons = []
        for cid in ids:
            cell = cells.get(cid) or {}
            verdict = cell.get("verdict")
            codes.append(VERDICT_CODES.get(verdict, "u") + KIND_CODES.get(cell.get("kind"), "-"))
            text = cell.get("reason") or ("no data for this check" if not cell else "")
            if cell.get("short"):
                text = "%s: %s" % (cell["short"], text)
            reasons.append(strings.add(text))
        status = "chosen" if entry.get("chosen") else ("fits" if entry.get("fits") else (entry.get("kind") or "fail"))
        rows.append([entry["host"], entry.get("nodename") if entry.get("nodename") != entry["host"] else "",
                     entry.get("availability_zone") or "",
                     fleet_aggs.get((entry["host"], entry.get("nodename") or entry["host"]), []),
                     status, "".join(codes), reasons, 1 if entry.get("uncertain") else 0])
    return {
        "id": "e%d" % (index + 1),
        "checks": [[c["id"], c.get("stage") or "", c.get("name") or c["id"], c.get("note") or ""] for c in checks],
        "strings": strings.items,
        "rows": rows,
    }


def _section(explanation, index):
    """What the template renders as HTML for one explanation (small, capped lists)."""
    request = explanation.get("request") or {}
    placements = []
    for p in explanation.get("placements") or []:
        placements.append({"instance": p.get("instance"), "host": _label(p.get("host"), p.get("nodename")),
                           "weight": p.get("weight"), "candidates": p.get("candidates"),
                           "after_filters": p.get("after_filters"),
                           "ranking": [{"host": _label(r.get("host"), r.get("nodename")), "weight": r.get("weight"),
                                        "scores": r.get("scores") or {}}
                                       for r in (p.get("ranking") or [])[:MAX_RANKING]]})
    head = explanation.get("headroom") or {}
    return {
        "id": "e%d" % (index + 1),
        "summary": explanation.get("summary") or _render.summary_line(explanation),
        "fits": bool(explanation.get("fits")),
        "request": request,
        "hosts_total": explanation.get("hosts_total"),
        "hosts_valid": explanation.get("hosts_valid"),
        "reasons": explanation.get("all_reasons") or explanation.get("reasons") or [],
        "pipeline": explanation.get("nova_pipeline") or [],
        "near_misses": (explanation.get("near_misses") or [])[:MAX_LIST],
        "near_misses_total": len(explanation.get("near_misses") or []),
        "relaxations": explanation.get("relaxations") or [],
        "placements": placements,
        "failed_instance": explanation.get("failed_instance"),
        "headroom_total": head.get("total"),
        "notes": explanation.get("notes") or [],
        "max_list": MAX_LIST,
    }


def build(snapshot=None, explanations=None, flavors=None, headroom=None, title=None, generated_at=None):
    """The data of a report: ``{"page": ..., "data": ...}`` (page for the template, data for the script).

    ``snapshot``: a cloud snapshot (validated); ``explanations``: explanations (or
    scheduling_explain results); ``flavors``: inline flavors for headroom columns;
    ``headroom``: hypervisor_info headroom result(s). At least a snapshot or one explanation.
    """
    explanations = explanations if explanations is not None else []
    if isinstance(explanations, dict):
        explanations = [explanations]
    if not isinstance(explanations, list):
        raise ReportError("explanations must be a list of explanations")
    explanations = [_unwrap(e, i) for i, e in enumerate(explanations)]
    flavors = flavors or []
    if isinstance(flavors, dict):
        flavors = [flavors]
    if not isinstance(flavors, list):
        raise ReportError("flavors must be a list of inline flavors")
    headroom = headroom or []
    if isinstance(headroom, dict):
        headroom = [headroom]
    if not isinstance(headroom, list):
        raise ReportError("headroom must be hypervisor_info's headroom result or a list of them")
    if snapshot is None and not explanations:
        raise ReportError("give a snapshot, explanations, or both")
    fleet = None
    warnings = []
    source = {}
    fleet_aggs = {}
    if snapshot is not None:
        try:
            snapshot = _snapshot.validate(snapshot, "snapshot")
        except _snapshot.SnapshotError as exc:
            raise ReportError(str(exc)) from None
        fleet = _fleet(snapshot, flavors, headroom, explanations)
        for row, host in zip(fleet["hosts"], snapshot["hosts"]):
            fleet_aggs[(host["name"], host["nodename"])] = row[3]
        warnings = snapshot.get("warnings") or []
        source = snapshot.get("source") or {}
        generated_at = generated_at or snapshot.get("generated_at")
    elif flavors or headroom:
        raise ReportError("flavors and headroom need a snapshot (the fleet part of the report)")
    data = {
        "report_version": REPORT_VERSION,
        "fleet": fleet,
        "aggregates": fleet["aggregates"] if fleet else [],
        "explanations": [_matrix(e, i, fleet_aggs) for i, e in enumerate(explanations)],
        "symbols": {code: _render._SYMBOL.get(verdict, "?") for verdict, code in VERDICT_CODES.items()},
    }
    page = {
        "title": title or "Nova fleet and scheduling report",
        "generated_at": generated_at,
        "source": source,
        "warnings": warnings,
        "hosts": len(snapshot["hosts"]) if snapshot is not None else None,
        "sections": [_section(e, i) for i, e in enumerate(explanations)],
        "has_fleet": fleet is not None,
        "classes": fleet["classes"] if fleet else [],
    }
    return {"page": page, "data": data}


def render(snapshot=None, explanations=None, flavors=None, headroom=None, title=None, generated_at=None):
    """The report as one HTML document (a string). Raises :class:`ReportError` on bad input."""
    if not HAS_JINJA2:  # pragma: no cover
        raise ReportError("the HTML report needs the Python library Jinja2")
    model = build(snapshot, explanations, flavors, headroom, title, generated_at)
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}
    template = env.from_string(_assets.TEMPLATE)
    return template.render(page=model["page"], data=model["data"], css=Markup(_assets.CSS),
                           script=Markup(_assets.SCRIPT))
