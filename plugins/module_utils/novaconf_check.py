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
            err = {"section": gname, "option": name, "message": msg}
            if err not in out["errors"]:
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

DEFAULT_VALIDATOR_NAMESPACES = (
    "nova.conf", "oslo.log", "oslo.messaging", "oslo.concurrency", "oslo.policy",
    "oslo.middleware", "keystonemiddleware.auth_token", "osprofiler", "oslo.reports",
)


def loader_argv(python, files, managed, want_filters):
    """The command that runs LOADER with ``python`` over ``files`` (candidate first)."""
    return [python, "-c", LOADER, json.dumps(list(files)),
            json.dumps([list(m) for m in managed]), "1" if want_filters else "0"]


def parse_loader_output(stdout):
    """The JSON report LOADER printed (its last non-empty line), or raise ValueError."""
    for line in reversed((stdout or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no report from nova's option loader")


def loader_problems(report, labels):
    """Turn a LOADER report into a list of messages (empty: the file is fine for Nova).

    ``labels`` maps ``section.option`` to the name the user knows (a role variable).
    """
    problems = []
    if report.get("fatal"):
        return [report["fatal"]]
    for section, option in report.get("unknown", []):
        key = "%s.%s" % (section, option)
        problems.append("%s: [%s] %s is not an option of the installed nova %s"
                        % (labels.get(key, key), section, option, report.get("nova_version") or ""))
    for key, new in sorted(report.get("renamed", {}).items()):
        section, option = key.split(".", 1)
        problems.append("%s: [%s] %s is a deprecated name; nova %s calls it %s"
                        % (labels.get(key, key), section, option, report.get("nova_version") or "", new))
    for err in report.get("errors", []):
        key = "%s.%s" % (err["section"], err["option"])
        problems.append("%s: nova rejects the value of [%s] %s: %s"
                        % (labels.get(key, key), err["section"], err["option"], err["message"]))
    return problems


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
