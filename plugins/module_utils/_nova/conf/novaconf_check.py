# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checking a candidate nova.conf with the target's own Nova, before it is put in place.

Private library code: plain Python, no Ansible imports. ``LOADER`` is a small program run with
the Python interpreter that has Nova installed (``python3`` on Debian hosts, a virtualenv's
python with kolla/openstack-ansible); it loads Nova's real option registry with the candidate
file and reports, as JSON on its last output line:

- which managed options Nova does not know (``unknown``), or knows under a newer name;
- every option whose value Nova cannot convert (``errors``: "could not convert string to
  float: 'abc'", "Valid values are [...]");
- the values Nova reads for the managed options (``values``), deprecated ones (``deprecated``);
- with filter checking on, the scheduler host filters the installed Nova can load from
  ``[filter_scheduler] available_filters`` (the same lookup nova-scheduler does at start).
"""

from __future__ import annotations

import json

LOADER = r'''
import json, logging, sys, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
files = json.loads(sys.argv[1]); managed = json.loads(sys.argv[2]); want_filters = sys.argv[3] == "1"
out = {"errors": [], "unknown": [], "renamed": {}, "deprecated": [], "values": {},
       "nova_version": None, "filters": None}
def done():
    print(json.dumps(out, default=str))
    sys.exit(0)
try:
    from oslo_config import cfg
    import nova.conf
    from nova import version as nova_version
    out["nova_version"] = nova_version.version_string()
except Exception as exc:
    out["fatal"] = "cannot load nova's option registry with %s: %s" % (sys.executable, exc)
    done()
CONF = nova.conf.CONF
try:
    from oslo_log import log as oslo_log
    oslo_log.register_options(CONF)
except Exception:
    pass
def all_opts():
    for name, info in list(CONF._opts.items()):
        yield "DEFAULT", name, info["opt"]
    for gname, group in list(CONF._groups.items()):
        for name, info in list(group._opts.items()):
            yield gname, name, info["opt"]

def load(file_set):
    """Parse file_set and read every option; record each value nova cannot convert."""
    CONF.clear()
    try:
        CONF([], project="nova", default_config_files=file_set, default_config_dirs=[], use_env=False)
    except Exception as exc:
        out["fatal"] = "nova cannot parse %s: %s" % (", ".join(file_set), exc)
        done()
    for gname, name, opt in all_opts():
        try:
            getattr(CONF, name) if gname == "DEFAULT" else getattr(CONF[gname], name)
        except Exception as exc:
            msg = str(exc)
            if " is not valid: " in msg:
                msg = msg.split(" is not valid: ", 1)[-1]
            err = {"section": gname, "option": name, "message": msg,
                   "aliases": [[d.group or gname, d.name or name] for d in (opt.deprecated_opts or [])]}
            if not any(e["section"] == gname and e["option"] == name and e["message"] == msg
                       for e in out["errors"]):
                out["errors"].append(err)

# The candidate alone (what services loading only nova.conf see: a value overridden by a later
# file must still be valid), then with the files loaded after it (the effective values).
load(files[:1])
if len(files) > 1:
    load(files)

deprecated_names = {}
for gname, name, opt in all_opts():
    for d in opt.deprecated_opts or []:
        deprecated_names[(d.group or gname, d.name or name)] = (gname, name)

for section, option in managed:
    group = None if section == "DEFAULT" else section
    try:
        info = CONF._get_opt_info(option, group)
    except Exception:
        if (section, option) in deprecated_names:
            out["renamed"]["%s.%s" % (section, option)] = "[%s] %s" % deprecated_names[(section, option)]
        else:
            out["unknown"].append([section, option])
        continue
    if info["opt"].deprecated_for_removal:
        out["deprecated"].append({"section": section, "option": option,
                                  "reason": info["opt"].deprecated_reason or ""})
    try:
        value = getattr(CONF, option) if group is None else getattr(CONF[group], option)
        if isinstance(value, (set, frozenset, tuple)):
            value = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        out["values"]["%s.%s" % (section, option)] = value
    except Exception:
        pass

names_req = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
if names_req is not None:
    # Every option name of the file, checked against the options of Nova's own generator
    # namespaces (what oslo-config-validator does, with Nova's list): unknown names and
    # deprecated names are reported with their section and line, never refused here.
    import os
    ns = names_req.get("namespaces")
    source = "validator_namespaces"
    if not ns:
        ns, source = None, None
        base = os.path.dirname(os.path.abspath(nova.__file__))
        for cand in (os.path.join(base, "..", "etc", "nova", "nova-config-generator.conf"),
                     os.path.join(sys.prefix, "etc", "nova", "nova-config-generator.conf"),
                     "/usr/local/etc/nova/nova-config-generator.conf",
                     "/etc/nova/nova-config-generator.conf",
                     "/usr/share/nova/nova-config-generator.conf"):
            try:
                with open(cand) as handle:
                    found = [ln.split("=", 1)[1].strip() for ln in handle
                             if ln.split("=", 1)[0].strip() == "namespace" and "=" in ln]
            except OSError:
                continue
            if found:
                ns, source = found, os.path.normpath(cand)
                break
        if not ns:
            ns, source = names_req.get("fallback") or [], "built-in copy of nova's nova-config-generator.conf"
    try:
        from importlib.metadata import entry_points
        try:
            installed = {e.name for e in entry_points(group="oslo.config.opts")}
        except TypeError:
            installed = {e.name for e in entry_points().get("oslo.config.opts", [])}
    except Exception:
        installed = set(ns)
    out["namespaces"] = [n for n in ns if n in installed]
    out["namespaces_missing"] = [n for n in ns if n not in installed]
    out["namespaces_source"] = source
    known = set()
    renamed = {}
    def learn(gname, opt):
        known.add((gname, opt.dest))
        known.add((gname, opt.name))
        for d in getattr(opt, "deprecated_opts", None) or []:
            key = (d.group or gname, d.name or opt.name)
            if key not in known:
                renamed[key] = (gname, opt.dest)
    try:
        from oslo_config import generator
        for _ns, groups in generator._list_opts(out["namespaces"]):
            for group, opts in groups:
                gname = "DEFAULT" if group is None else (group if isinstance(group, str) else group.name)
                for opt in opts:
                    learn(gname, opt)
    except Exception as exc:
        out["names_error"] = "cannot list the options of %s: %s" % (", ".join(out["namespaces"]), exc)
    for gname, name, opt in all_opts():
        learn(gname, opt)
    # Options registered at run time, not listed by any namespace: the keystoneauth plugin
    # named by a section's auth_type ([keystone_authtoken], [neutron], [placement], ...), and
    # the oslo.privsep options of a privsep context's own section ([privsep_osbrick],
    # [vif_plug_ovs_privileged], ...).
    for section, plugin in (names_req.get("auth_types") or {}).items():
        try:
            from keystoneauth1 import loading as ks_loading
            for opt in ks_loading.get_auth_plugin_conf_options(plugin):
                learn(section, opt)
            for opt in ks_loading.get_auth_common_conf_options() + ks_loading.get_session_conf_options():
                learn(section, opt)
        except Exception:
            pass
    try:
        from oslo_privsep import priv_context
        privsep_opts = list(priv_context.OPTS)
    except Exception:
        privsep_opts = []
    for section in {n[0] for n in names_req.get("names", [])}:
        if section.startswith("privsep") or section.endswith("_privileged"):
            for opt in privsep_opts:
                learn(section, opt)
    unknown = []
    for section, option, line in names_req.get("names", []):
        if (section, option) in known:
            continue
        if (section, option) in renamed:
            new_group, new_name = renamed[(section, option)]
            unknown.append({"section": section, "option": option, "line": line,
                            "renamed": "[%s] %s" % (new_group, new_name)})
        else:
            unknown.append({"section": section, "option": option, "line": line})
    out["unknown_names"] = unknown

if want_filters:
    try:
        from nova.scheduler import filters as nova_filters
        classes = nova_filters.HostFilterHandler().get_matching_classes(
            CONF.filter_scheduler.available_filters)
        out["filters"] = {"available": sorted({c.__name__ for c in classes}),
                          "enabled": list(CONF.filter_scheduler.enabled_filters)}
    except Exception as exc:
        out["errors"].append({"section": "filter_scheduler", "option": "available_filters",
                              "message": "nova cannot load the host filters: %s" % (exc,)})
done()
'''

# Nova's own option namespaces, as its etc/nova/nova-config-generator.conf lists them (openstack/
# nova master, read 2026-12), used when that file is not installed on the host (wheels and
# distribution packages do not ship it); plus the two libraries whose options nova services
# read at run time without listing them there: os_vif (nova-compute plugs VIFs with it) and
# oslo.limit (unified limits). Namespaces not installed on the host are left out.
NOVA_GENERATOR_NAMESPACES = (
    "nova.conf", "oslo.log", "oslo.messaging", "oslo.policy", "oslo.privsep",
    "oslo.service.periodic_task", "oslo.service.service", "oslo.middleware", "oslo.concurrency",
    "keystonemiddleware.auth_token", "osprofiler", "os_vif", "oslo.limit",
)
# kept for imports of 0.1.0
DEFAULT_VALIDATOR_NAMESPACES = NOVA_GENERATOR_NAMESPACES


def loader_argv(python, files, managed, want_filters, names=None, namespaces=None, auth_types=None):
    """The command that runs LOADER with ``python`` over ``files`` (candidate first).

    ``names``: ``[(section, option, line)]`` of the user's file to check against Nova's option
    namespaces (``namespaces``, default: Nova's generator list found on the host)."""
    argv = [python, "-c", LOADER, json.dumps(list(files)),
            json.dumps([list(m) for m in managed]), "1" if want_filters else "0"]
    if names is not None:
        argv.append(json.dumps({"names": [list(n) for n in names], "namespaces": list(namespaces or []),
                                "fallback": list(NOVA_GENERATOR_NAMESPACES), "auth_types": auth_types or {}}))
    return argv


def name_warnings(report, path, retired):
    """Warnings for the option names of the file Nova does not read (``report['unknown_names']``).

    ``retired`` is releases.RETIRED_OPTIONS. Names are given as they stand in the file, with
    their line; Nova ignores such options, so they never refuse an edit."""
    version = report.get("nova_version") or ""
    out = []
    unknown = report.get("unknown_names") or []
    for item in unknown:
        where = "%s line %s: [%s] %s" % (path, item.get("line"), item["section"], item["option"])
        if item.get("renamed"):
            out.append("%s is a deprecated name; nova %s reads it as %s (rename it before that name is removed)"
                       % (where, version, item["renamed"]))
            continue
        record = retired.get("%s.%s" % (item["section"], item["option"])) or \
            retired.get("*.%s" % item["option"])
        if record:
            out.append("%s is not read by nova %s (%s%s); nova ignores it"
                       % (where, version, "removed in %s" % record["removed_in"] if record.get("removed_in")
                          else "retired", "; %s" % record["hint"] if record.get("hint") else ""))
        else:
            out.append("%s is not an option of nova %s or of the libraries it loads; nova ignores it"
                       % (where, version))
    return out


def parse_loader_output(stdout):
    """The JSON report LOADER printed (its last non-empty line), or raise ValueError."""
    for line in reversed((stdout or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no report from nova's option loader")


def loader_problems(report, labels, candidate=None, path=None, locate=None):
    """Turn a LOADER report into a list of messages (empty: the file is fine for Nova).

    ``labels`` maps ``section.option`` to the name the user knows (a role variable). The name
    of the temporary ``candidate`` file is replaced by the user's ``path`` in every message.
    ``locate(section, option, aliases)`` returns ``(section, option, line)`` of the entry as it
    stands in the user's file (a deprecated name, another section), or None.
    """
    problems = []
    if report.get("fatal"):
        fatal = report["fatal"]
        if candidate and path:
            fatal = fatal.replace(candidate, path)
        return [fatal]
    version = report.get("nova_version") or ""
    for section, option in report.get("unknown", []):
        key = "%s.%s" % (section, option)
        problems.append("%s: [%s] %s is not an option of the installed nova %s"
                        % (labels.get(key, key), section, option, version))
    for err in report.get("errors", []):
        key = "%s.%s" % (err["section"], err["option"])
        where = "[%s] %s" % (err["section"], err["option"])
        found = locate(err["section"], err["option"], err.get("aliases") or []) if locate else None
        if found:
            where = "[%s] %s (%s line %s)" % (found[0], found[1], path or "the file", found[2])
            key = key if key in labels else "%s.%s" % (found[0], found[1])
        problems.append("%s: nova rejects the value of %s: %s" % (labels.get(key, where), where, err["message"]))
    return problems


def loader_warnings(report, labels):
    """Warnings of a LOADER report for the managed options: deprecated names Nova still reads."""
    out = []
    for key, new in sorted(report.get("renamed", {}).items()):
        section, option = key.split(".", 1)
        out.append("%s: [%s] %s is a deprecated name; nova %s reads it as %s"
                   % (labels.get(key, key), section, option, report.get("nova_version") or "", new))
    return out


def filter_problems(report, removed_filters, label, removed_upstream="warn"):
    """Check enabled filters against what the installed Nova can load.

    ``removed_filters`` is releases.REMOVED_FILTERS. Returns (errors, warnings).
    A filter the installed Nova lacks is always an error (nova-scheduler would not start);
    a filter it still has but a later Nova removed is a warning, an error, or ignored per
    ``removed_upstream``.
    """
    errors, warnings = [], []
    filters = report.get("filters")
    if not filters:
        return errors, warnings
    available = set(filters["available"])
    version = report.get("nova_version") or "?"
    for name in filters["enabled"]:
        record = removed_filters.get(name)
        if name not in available:
            if record:
                errors.append("%s: %s was removed from Nova in %s and is replaced by %s; the installed "
                              "nova %s does not have it (nova-scheduler would not start)"
                              % (label, name, record["removed_in"], record["replaced_by"], version))
            else:
                errors.append("%s: %s is not a host filter the installed nova %s can load from "
                              "[filter_scheduler] available_filters (available: %s)"
                              % (label, name, version, ", ".join(sorted(available))))
        elif record and removed_upstream != "ignore":
            msg = ("%s: %s still exists in the installed nova %s but was removed in %s (replaced by %s); "
                   "nova-scheduler will not start after an upgrade" % (label, name, version,
                                                                       record["removed_in"], record["replaced_by"]))
            (errors if removed_upstream == "fail" else warnings).append(msg)
    return errors, warnings
