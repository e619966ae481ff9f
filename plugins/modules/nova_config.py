#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nova_config
short_description: Safely set options in nova.conf, validated by the host's own Nova
version_added: "0.1.0"
description:
  - Sets or removes the given options in an oslo.config file such as C(/etc/nova/nova.conf).
    Only the lines of those options change; every other line, comment and blank line is kept
    byte for byte. A missing option is written under its commented template line
    (C(#option = <default>)) when the file has one, otherwise at the end of its section.
  - Before the file is replaced, the candidate is written to a temporary file in the same
    directory and checked with the host's own Nova (O(nova_python)) - each managed option must
    be an option of the installed Nova and every option value in the file must load (the
    checks C(nova-compute) does at start, such as C(could not convert string to float), C(Valid values
    are ...)). CPU set options are checked against the host's CPUs. Only when all checks pass
    is the temporary file renamed over the original (atomic, same owner, group and mode). On
    any failure the original file is left exactly as it was. Messages name O(path) and the
    section, option and line as they stand in it (never the temporary file).
  - Only what would break Nova refuses the edit (a value Nova cannot load, a host filter the
    scheduler cannot load, a bad CPU set). Names in the file that Nova does not read (left over
    from older releases, typos) only produce warnings, with the release that retired them and
    what replaced them when known; Nova ignores such options.
  - Changed or added lines keep the file's own style (C(key=value) or C(key = value)).
  - A O(path) that is a symbolic link is followed (O(follow)) - the file it points to is edited
    in place and the link stays a link, so services reading either name see the change.
  - Values containing a line break or another control character are refused, so a value can
    never smuggle a C([section]) header or another option into the file.
author:
  - stackops.nova developers (@stackops)
options:
  path:
    description: The file to edit. It must exist.
    type: path
    default: /etc/nova/nova.conf
  options:
    description:
      - The options to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      section:
        description: The section, for example V(DEFAULT), V(libvirt), V(filter_scheduler).
        type: str
        required: true
      option:
        description: The option name.
        type: str
        required: true
      value:
        description:
          - The value. Booleans are written as V(true)/V(false); a list writes one line per
            element (for multi-valued options such as C([filter_scheduler] available_filters));
            write list options such as C(enabled_filters) as one comma-separated string.
          - V(null) removes the option (same as O(options[].state=absent)).
        type: raw
      state:
        description: Whether the option is present with O(options[].value) or absent.
        type: str
        choices: [present, absent]
        default: present
      label:
        description:
          - The name the user knows this value by (for example a role variable); error
            messages use it.
        type: str
  backup:
    description: Keep a timestamped copy of the original file when it changes.
    type: bool
    default: false
  validate:
    description:
      - Check the candidate file with the host's Nova before putting it in place.
      - Turn off only for a host without Nova installed.
    type: bool
    default: true
  nova_python:
    description:
      - The Python interpreter that can import C(nova) (a virtualenv's python with
        openstack-ansible or kolla images). Defaults to the interpreter running this module.
    type: path
  config_files_after:
    description:
      - Further files that the service loads after O(path) (for example Debian's
        C(/etc/nova/nova-compute.conf)). Values there win; they are loaded for the check, and a
        managed option that one of them also sets produces a warning.
    type: list
    elements: path
    default: []
  validate_names:
    description:
      - Check every option name of the file against the options of Nova's own option namespaces
        (the list of Nova's C(nova-config-generator.conf) when the host has it, otherwise a copy
        of it kept in this collection; only namespaces installed on the host are used) - the
        lookup C(oslo-config-validator) does. Names Nova does not read are reported as warnings
        (returned in RV(unknown_options)); they never refuse the edit.
    type: bool
    default: true
  validator:
    description:
      - Not used since 0.2.0 (names are checked inside O(nova_python) with oslo.config's own
        option listing, see O(validate_names)); accepted so that 0.1.0 playbooks keep working.
    type: str
    default: oslo-config-validator
  validator_namespaces:
    description:
      - The option namespaces (C(oslo.config.opts) entry points) whose options are valid names.
        Default - Nova's own generator namespace list (see O(validate_names)).
    type: list
    elements: str
  follow:
    description:
      - When O(path) is a symbolic link, edit the file it points to and keep the link (as
        Ansible's file modules do with C(follow)). With V(false) a symbolic link is refused
        rather than replaced by a regular file.
    type: bool
    default: true
  check_cpu_sets:
    description:
      - Check C([compute] cpu_dedicated_set), C([compute] cpu_shared_set) and
        C([DEFAULT] vcpu_pin_set) of the candidate file against the host's CPUs
        (O(host_cpus)) - syntax as Nova parses it, no index beyond the host, no overlap.
    type: bool
    default: true
  host_cpus:
    description:
      - The host's CPU indexes as a CPU list (V(0-63)). Defaults to the content of
        C(/sys/devices/system/cpu/present).
    type: str
  check_scheduler_filters:
    description:
      - Check that every filter of C([filter_scheduler] enabled_filters) can be loaded by the
        installed Nova from C([filter_scheduler] available_filters), as C(nova-scheduler) does at
        start. A removed filter fails with the release that removed it and what replaced it.
    type: bool
    default: false
  removed_upstream_filters:
    description:
      - What to do with an enabled filter that the installed Nova still has but a later Nova
        removed (for example C(AvailabilityZoneFilter) on Nova older than 28.0).
    type: str
    choices: [warn, fail, ignore]
    default: warn
attributes:
  check_mode:
    support: full
    description: The candidate is built and validated; nothing is written.
  diff_mode:
    support: full
    description: Shows the file before and after the edit.
  idempotent:
    support: full
    description: Options already holding their values leave the file untouched.
  platform:
    support: full
    platforms: posix
    description: Hosts with Nova installed (its Python must import C(nova)).
notes:
  - The check loads Nova's option registry in a separate process, which takes a few seconds.
seealso:
  - module: stackops.nova.live_migration_preflight
"""

EXAMPLES = r"""
- name: Let placement own the allocation ratios, seed them at provider creation
  stackops.nova.nova_config:
    options:
      - {section: DEFAULT, option: initial_cpu_allocation_ratio, value: "4.0"}
      - {section: DEFAULT, option: cpu_allocation_ratio, state: absent}
      - {section: compute, option: cpu_dedicated_set, value: "2-7,^4"}
    backup: true

- name: Scheduler filters, checked against the installed nova
  stackops.nova.nova_config:
    options:
      - section: filter_scheduler
        option: enabled_filters
        value: ComputeFilter,ImagePropertiesFilter
        label: nova_scheduler_enabled_filters
    check_scheduler_filters: true
"""

RETURN = r"""
changes:
  description: The options whose lines changed, with the values before and after (lists, one element per line).
  returned: always
  type: list
  elements: dict
  sample: [{"section": "DEFAULT", "option": "initial_cpu_allocation_ratio", "before": [], "after": ["4.0"]}]
values:
  description: The values the installed Nova reads for the managed options from the candidate file (typed).
  returned: when validation ran
  type: dict
  sample: {"DEFAULT.initial_cpu_allocation_ratio": 4.0}
nova_version:
  description: The version of the Nova that validated the file.
  returned: when validation ran
  type: str
  sample: 26.2.2
backup_file:
  description: The backup of the original file.
  returned: when a backup was made
  type: str
filters:
  description: Host filters the installed Nova can load and the enabled ones.
  returned: when O(check_scheduler_filters) is set and validation ran
  type: dict
unknown_options:
  description:
    - The option names of the file that Nova does not read (each also a warning), as they stand
      in the file - V(section), V(option), V(line) - and V(renamed) when it is a deprecated
      name of a current option. Nova ignores them.
  returned: when O(validate_names) is set and validation ran
  type: list
  elements: dict
  sample: [{"section": "DEFAULT", "option": "verbose", "line": 12}]
namespaces:
  description: The option namespaces whose options were taken as valid names.
  returned: when O(validate_names) is set and validation ran
  type: list
  elements: str
path:
  description: The file edited, when O(path) is a symbolic link (the link itself is kept).
  returned: when O(path) is a symbolic link
  type: str
"""

import os
import subprocess
import sys
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.stackops.nova.plugins.module_utils._nova.common.cpuset import CpuSpecError, check_cpu_sets
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf import (
    NovaConf, NovaConfError, apply_changes)
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf_check import (
    filter_problems, loader_argv, loader_problems, loader_warnings, name_warnings, parse_loader_output)
from ansible_collections.stackops.nova.plugins.module_utils._nova.common.releases import REMOVED_FILTERS, RETIRED_OPTIONS

CPU_SET_OPTIONS = (("compute", "cpu_dedicated_set"), ("compute", "cpu_shared_set"), ("DEFAULT", "vcpu_pin_set"))


def _last(conf, section, option):
    values = conf.get(section, option)
    return values[-1] if values else None


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


class Runner:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.warnings = []
        self.result = {"changed": False, "changes": []}
        self.path = module.params["path"]

    def fail(self, msg, **kw):
        # Nothing was written: report the intended changes, but changed=false.
        self.module.fail_json(msg=msg, **dict(self.result, changed=False, **kw))

    def labels(self):
        out = {}
        for item in self.p["options"]:
            out["%s.%s" % (item["section"], item["option"])] = item.get("label") or "[%s] %s" % (
                item["section"], item["option"])
        return out

    def host_cpus(self):
        if self.p["host_cpus"] is not None:
            return self.p["host_cpus"]
        try:
            with open("/sys/devices/system/cpu/present") as f:
                return f.read().strip()
        except OSError as exc:
            self.fail("cannot read the host's CPUs from /sys/devices/system/cpu/present (%s); set host_cpus"
                      % to_native(exc))

    def check_cpus(self, new_text):
        conf = NovaConf(new_text)
        specs = {name: _last(conf, section, name) for section, name in CPU_SET_OPTIONS}
        if all(v is None for v in specs.values()):
            return
        labels = self.labels()
        try:
            check_cpu_sets(self.host_cpus(), dedicated=specs["cpu_dedicated_set"],
                           shared=specs["cpu_shared_set"], vcpu_pin_set=specs["vcpu_pin_set"])
        except CpuSpecError as exc:
            text = str(exc)
            names = [labels[k] for k in ("compute.cpu_dedicated_set", "compute.cpu_shared_set",
                                         "DEFAULT.vcpu_pin_set") if k in labels and k.split(".")[1] in text]
            self.fail("%s%s; %s left unchanged" % (", ".join(names) + ": " if names else "", text, self.path))

    def validate(self, candidate, after):
        python = self.p["nova_python"] or sys.executable
        managed = [(i["section"], i["option"]) for i in self.p["options"]
                   if i["state"] == "present" and i.get("value") is not None]
        files = [candidate] + list(self.p["config_files_after"])
        conf = NovaConf(after)
        entries = [(sec, opt, line) for sec, opt, line in conf.names() if sec is not None]
        names = entries if self.p["validate_names"] else None
        try:
            proc = subprocess.run(loader_argv(python, files, managed, self.p["check_scheduler_filters"],
                                              names=names, namespaces=self.p["validator_namespaces"],
                                              auth_types={sec: v[-1] for sec in conf.sections() if sec
                                                          for v in [conf.get(sec, "auth_type")] if v}),
                                  capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.fail("cannot run nova's option loader with %s: %s" % (python, to_native(exc)))
        try:
            report = parse_loader_output(proc.stdout)
        except ValueError:
            self.fail("nova's option loader (%s) failed: %s"
                      % (python, (proc.stderr or "")[-2000:].replace(candidate, self.path)))
        labels = self.labels()

        def locate(section, option, aliases):
            # the entry as it stands in the user's file: last one wins, as oslo.config reads it
            wanted = [(section, option)] + [tuple(a) for a in aliases]
            hit = None
            for sec, opt, line in entries:
                if (sec, opt) in wanted:
                    hit = (sec, opt, line)
            return hit

        problems = loader_problems(report, labels, candidate=candidate, path=self.path, locate=locate)
        warnings = loader_warnings(report, labels)
        if self.p["check_scheduler_filters"]:
            label = labels.get("filter_scheduler.enabled_filters", "[filter_scheduler] enabled_filters")
            errs, warns = filter_problems(report, REMOVED_FILTERS, label, self.p["removed_upstream_filters"])
            problems += errs
            warnings += warns
            self.result["filters"] = report.get("filters")
        for dep in report.get("deprecated", []):
            key = "%s.%s" % (dep["section"], dep["option"])
            warnings.append("%s: [%s] %s is deprecated in nova %s%s" % (
                labels.get(key, key), dep["section"], dep["option"], report.get("nova_version"),
                (": " + " ".join(dep["reason"].split())) if dep.get("reason") else ""))
        if problems:
            self.fail("; ".join(problems) + "; %s left unchanged" % self.path,
                      nova_version=report.get("nova_version"))
        if self.p["validate_names"]:
            managed_keys = set(managed)
            unknown = [u for u in report.get("unknown_names") or [] if (u["section"], u["option"]) not in managed_keys]
            warnings += name_warnings(dict(report, unknown_names=unknown), self.path, RETIRED_OPTIONS)
            if report.get("names_error"):
                warnings.append("option names not checked: %s" % report["names_error"])
            self.result["unknown_options"] = [dict(u) for u in unknown]
            self.result["namespaces"] = report.get("namespaces")
        self.result["values"] = report.get("values", {})
        self.result["nova_version"] = report.get("nova_version")
        self.warnings += warnings

    def overridden(self, changed):
        for path in self.p["config_files_after"]:
            try:
                other = NovaConf(_read(path))
            except (OSError, UnicodeDecodeError):
                continue
            for item in self.p["options"]:
                if other.get(item["section"], item["option"]):
                    self.warnings.append("[%s] %s is also set in %s, which is loaded after %s and wins"
                                         % (item["section"], item["option"], path, self.p["path"]))

    def run(self):
        given = self.p["path"]
        path = given
        if os.path.islink(given):
            if not self.p["follow"]:
                self.fail("%s is a symbolic link (to %s); set follow: true to edit the file it points to, "
                          "keeping the link" % (given, os.readlink(given)))
            path = os.path.realpath(given)
            self.result["path"] = path
        self.path = path
        if os.path.isdir(path):
            self.fail("%s is a directory; path must be the nova.conf file itself" % given)
        if not os.path.exists(path):
            self.fail("%s does not exist (install nova first)" % given if path == given else
                      "%s is a symbolic link to %s, which does not exist" % (given, path))
        if not os.path.isfile(path):
            self.fail("%s is not a regular file" % given)
        try:
            before = _read(path)
        except (OSError, UnicodeDecodeError) as exc:
            self.fail("cannot read %s: %s" % (path, to_native(exc)))
        changes = [{"section": i["section"], "option": i["option"], "value": i.get("value"),
                    "state": i["state"], "label": i.get("label")} for i in self.p["options"]]
        try:
            after, changed = apply_changes(before, changes)
        except NovaConfError as exc:
            self.fail("%s; %s left unchanged" % (to_native(exc), path))
        self.result["changes"] = changed
        self.overridden(changed)
        if self.p["check_cpu_sets"]:
            self.check_cpus(after)
        if after == before:
            self.finish()
        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = {"before": before, "after": after,
                                   "before_header": path, "after_header": path}
        st = os.stat(path)
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".candidate",
                                   dir=None if self.module.check_mode else (os.path.dirname(path) or "."))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(after.encode("utf-8"))
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                pass
            if self.p["validate"]:
                self.validate(tmp, after)
            if self.module.check_mode:
                self.finish()
            if self.p["backup"]:
                self.result["backup_file"] = self.module.backup_local(path)
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.finish()

    def finish(self):
        for w in self.warnings:
            self.module.warn(w)
        self.module.exit_json(**self.result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/nova/nova.conf"),
            options=dict(type="list", elements="dict", required=True, options=dict(
                section=dict(type="str", required=True),
                option=dict(type="str", required=True),
                value=dict(type="raw"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                label=dict(type="str"),
            )),
            backup=dict(type="bool", default=False),
            validate=dict(type="bool", default=True),
            nova_python=dict(type="path"),
            config_files_after=dict(type="list", elements="path", default=[]),
            validate_names=dict(type="bool", default=True),
            validator=dict(type="str", default="oslo-config-validator"),
            validator_namespaces=dict(type="list", elements="str"),
            follow=dict(type="bool", default=True),
            check_cpu_sets=dict(type="bool", default=True),
            host_cpus=dict(type="str"),
            check_scheduler_filters=dict(type="bool", default=False),
            removed_upstream_filters=dict(type="str", choices=["warn", "fail", "ignore"], default="warn"),
        ),
        supports_check_mode=True,
    )
    Runner(module).run()


if __name__ == "__main__":
    main()
