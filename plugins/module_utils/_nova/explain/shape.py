# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two shapes of an explanation's host x check matrix (docs/explain.md, "detail").

``full`` (explain_version 1 as it always was): every host carries its own ``checks``
mapping (check id -> cell), ``failed`` and ``uncertain``. At 2,000 hosts x 14 checks that
is about 4 MB of JSON, most of it the same cells again and again.

``compact`` (``detail: compact``): the same information with nothing repeated:

- ``cells``: each distinct cell once (``verdict``, ``kind``, ``reason``, ``short``);
- ``rows``: each distinct verdict row once, as a list of indexes into ``cells``, one per
  check in the order of ``checks`` (a host's ``failed`` and ``uncertain`` check ids are the
  checks whose cell's verdict is fail/error, unknown/not_evaluated);
- ``hosts``: per host only what is its own: ``host``, ``nodename``, ``availability_zone``,
  ``fits``, ``kind``, ``chosen`` and ``row`` (an index into ``rows``).

:func:`expand` turns a compact explanation into the full one (the report and the text
table accept both). Every dict returned is new: nothing is shared with another call.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C

FULL = "full"
COMPACT = "compact"
DETAILS = (COMPACT, FULL)
_BAD = (C.FAIL, C.ERROR)
_UNSURE = (C.UNKNOWN, C.NOT_EVALUATED)


def _row_facts(row):
    """The host kind (static when any failing check is static) and the failure labels of a row."""
    labels = [(c.get("short") or c["reason"], c["kind"]) for c in row if c["verdict"] in _BAD]
    if not labels:
        return None, None, labels
    kind = C.STATIC if any(c["kind"] == C.STATIC for c in row if c["verdict"] in _BAD) else C.DYNAMIC
    return kind, labels[0], labels


def matrix_out(hosts, matrix, check_ids, fits_of, chosen):
    """The compact matrix of one engine pass, with the summary's histograms.

    ``hosts``: the cloud's hosts in order; ``matrix[host.index]``: its row of cells;
    ``fits_of(host)``: True / None / False; ``chosen``: the (host, nodename) pairs placed.
    Returns ``(cells, rows, hosts_out, primary_counts, all_counts, kinds)``; the cells are
    plain dicts made here (the engine's read-only cells are never handed out).
    """
    cell_at = {}
    by_value = {}
    cells = []
    row_at = {}
    rows = []
    row_labels = []
    hosts_out = []
    primary_counts = {}
    all_counts = {}
    kinds = {}
    for host in hosts:
        row = matrix[host.index]
        refs = []
        for the_cell in row:
            index = cell_at.get(id(the_cell))
            if index is None:
                value = (the_cell["verdict"], the_cell["kind"], the_cell["reason"], the_cell.get("short"))
                index = by_value.get(value)
                if index is None:
                    index = by_value[value] = len(cells)
                    cells.append(dict(the_cell))
                cell_at[id(the_cell)] = index
            refs.append(index)
        refs = tuple(refs)
        number = row_at.get(refs)
        if number is None:
            kind, primary, labels = _row_facts(row)
            number = row_at[refs] = len(rows)
            rows.append(list(refs))
            row_labels.append((kind, primary, labels))
        kind, primary, labels = row_labels[number]
        if primary is not None:
            primary_counts[primary[0]] = primary_counts.get(primary[0], 0) + 1
            kinds.setdefault(primary[0], primary[1])
            for label, label_kind in labels:
                all_counts[label] = all_counts.get(label, 0) + 1
                kinds.setdefault(label, label_kind)
        hosts_out.append({
            "host": host.name,
            "nodename": host.nodename,
            "availability_zone": host.az,
            "fits": fits_of(host),
            "kind": kind,
            "chosen": (host.name, host.nodename) in chosen,
            "row": number,
        })
    return cells, rows, hosts_out, primary_counts, all_counts, kinds


def is_compact(explanation):
    return isinstance(explanation, dict) and isinstance(explanation.get("rows"), list) \
        and isinstance(explanation.get("cells"), list)


def expand(explanation):
    """The full shape of ``explanation`` (returned as it is when it is full already).

    Hosts with the same row share its cell dicts (one explanation's own objects), never
    the compact explanation's: changing the result changes neither.
    """
    if not is_compact(explanation):
        return explanation
    ids = [c["id"] for c in explanation["checks"]]
    cells = [dict(c) for c in explanation["cells"]]
    rows = []
    for row in explanation["rows"]:
        if len(row) != len(ids):
            raise ValueError("a row has %d cells for %d checks" % (len(row), len(ids)))
        rows.append(({ids[i]: cells[ref] for i, ref in enumerate(row)},
                     [ids[i] for i, ref in enumerate(row) if cells[ref]["verdict"] in _BAD],
                     [ids[i] for i, ref in enumerate(row) if cells[ref]["verdict"] in _UNSURE]))
    hosts = []
    for entry in explanation["hosts"]:
        checks, failed, uncertain = rows[entry["row"]]
        hosts.append({
            "host": entry["host"],
            "nodename": entry.get("nodename"),
            "availability_zone": entry.get("availability_zone"),
            "fits": entry.get("fits"),
            "kind": entry.get("kind"),
            "failed": list(failed),
            "uncertain": list(uncertain),
            "chosen": entry.get("chosen", False),
            "checks": dict(checks),
        })
    out = {k: v for k, v in explanation.items() if k not in ("cells", "rows")}
    out["detail"] = FULL
    out["hosts"] = hosts
    return out


def cell_rows(explanation):
    """Per host (in the order of ``hosts``), its cells as a list in the order of ``checks``.

    No copy: hosts with the same row share the list (read it, do not change it).
    """
    if is_compact(explanation):
        cells = explanation["cells"]
        rows = [[cells[ref] for ref in row] for row in explanation["rows"]]
        return [rows[entry["row"]] for entry in explanation["hosts"]]
    ids = [c["id"] for c in explanation["checks"]]
    return [[entry["checks"][cid] for cid in ids] for entry in explanation["hosts"]]


def host_cells(explanation, entry):
    """``{check id: cell}`` of one host entry of either shape."""
    if "row" in entry and is_compact(explanation):
        ids = [c["id"] for c in explanation["checks"]]
        row = explanation["rows"][entry["row"]]
        return {ids[i]: explanation["cells"][ref] for i, ref in enumerate(row)}
    return entry.get("checks") or {}
