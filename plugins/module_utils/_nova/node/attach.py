# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Attach compute-node facts (``ansible_facts.nova_compute``) to a cloud snapshot's hosts.

Private library code: plain Python, no Ansible imports. Used by ``hypervisor_info`` and the
``hypervisors`` inventory plugin (options ``node_facts`` / ``node_facts_dir``). Each snapshot
host whose name matches a facts entry gets ``node`` (the facts as gathered) and, when it has
no ``numa`` from a better source yet, ``numa`` from ``numa_state.cells_from_facts``.

Names are matched as an operator would expect: the key of the mapping (an inventory host
name, or the file name in a fact-cache directory), then the facts' own names (Nova's
``[DEFAULT] host``, the hostname, the FQDN), each also by its short form (up to the first dot),
against the snapshot host's ``name`` (the service host), then its ``nodename``.
"""

from __future__ import annotations

import json
import os

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state

# fact-cache files bigger than this are not node facts (a guard against reading a wrong directory)
MAX_FACT_FILE = 64 * 1024 * 1024


class NodeFactsError(ValueError):
    """A bad node_facts / node_facts_dir value (the message names the option)."""


def unwrap(value):
    """The ``nova_compute`` facts inside what an operator may hand over: the facts themselves,
    a host's ``ansible_facts`` (or a fact-cache entry) holding ``nova_compute`` /
    ``ansible_nova_compute``, or a registered module result. None when there are none."""
    if not isinstance(value, dict):
        return None
    for key in ("ansible_facts",):
        if isinstance(value.get(key), dict):
            value = value[key]
    for key in ("nova_compute", "ansible_nova_compute"):
        if isinstance(value.get(key), dict):
            return value[key]
    if "schema_version" in value and "warnings" in value:
        return value
    return None


def load_dir(path, warnings):
    """``{file name: nova_compute facts}`` from a fact-cache directory (the ``jsonfile`` cache
    plugin writes one JSON file per host, named after it, optionally with a prefix)."""
    if not isinstance(path, str) or not os.path.isdir(path):
        raise NodeFactsError("node_facts_dir: %r is not a directory" % (path,))
    out = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if not os.path.isfile(full) or name.startswith("."):
            continue
        try:
            if os.path.getsize(full) > MAX_FACT_FILE:
                warnings.append("node_facts_dir: %s is too big for a fact-cache file; skipped" % name)
                continue
            with open(full, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append("node_facts_dir: %s is not a readable JSON fact-cache file (%s); skipped"
                            % (name, getattr(exc, "strerror", None) or exc))
            continue
        facts = unwrap(data)
        if facts is not None:
            out[name] = facts
    return out


def _names(key, facts):
    names = [key]
    n = facts.get("names") or {}
    names += [n.get("nova_host"), n.get("hostname"), n.get("fqdn")]
    out = []
    for name in names:
        if isinstance(name, str) and name:
            for cand in (name, name.split(".")[0]):
                if cand not in out:
                    out.append(cand)
    return out


def index(facts_by_host):
    """Name -> (key, facts); the first entry claiming a name keeps it."""
    out = {}
    for key, value in facts_by_host.items():
        facts = unwrap(value)
        if facts is None:
            continue
        for name in _names(str(key), facts):
            out.setdefault(name, (key, facts))
    return out


def attach(snapshot, facts_by_host, warnings):
    """Set ``node`` (and ``numa`` when missing) on the snapshot hosts that have facts, in place.

    ``facts_by_host``: a mapping name -> facts (any form :func:`unwrap` accepts). Returns the
    list of facts keys that matched no snapshot host (also reported in ``warnings``)."""
    if not isinstance(facts_by_host, dict):
        raise NodeFactsError("node_facts: expected a mapping of host name to its nova_compute facts, got %s"
                             % type(facts_by_host).__name__)
    by_name = index(facts_by_host)
    used = set()
    for host in snapshot.get("hosts") or []:
        found = None
        for name in (host.get("name"), host.get("nodename")):
            if isinstance(name, str):
                found = by_name.get(name) or by_name.get(name.split(".")[0])
            if found:
                break
        if not found:
            continue
        key, facts = found
        used.add(key)
        host["node"] = facts
        if host.get("numa") is None:
            host["numa"] = numa_state.cells_from_facts(facts)
    unmatched = [k for k in facts_by_host if k not in used and unwrap(facts_by_host[k]) is not None]
    if unmatched:
        warnings.append("node facts of %s match no compute host of the snapshot" % ", ".join(sorted(map(str, unmatched))))
    bad = [k for k in facts_by_host if unwrap(facts_by_host[k]) is None]
    if bad:
        warnings.append("node facts: %s hold no nova_compute facts; ignored" % ", ".join(sorted(map(str, bad))))
    return unmatched


def from_options(snapshot, node_facts=None, node_facts_dir=None):
    """Apply the two options (either or both; the mapping wins for a name in both) to a snapshot
    in place; warnings go to the snapshot's ``warnings``."""
    if node_facts is None and node_facts_dir is None:
        return snapshot
    warnings = snapshot.setdefault("warnings", [])
    merged = {}
    if node_facts_dir is not None:
        merged.update(load_dir(node_facts_dir, warnings))
    if node_facts is not None:
        if not isinstance(node_facts, dict):
            raise NodeFactsError("node_facts: expected a mapping of host name to its nova_compute facts, got %s"
                                 % type(node_facts).__name__)
        merged.update(node_facts)
    attach(snapshot, merged, warnings)
    return snapshot
