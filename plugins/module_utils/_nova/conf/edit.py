# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Editing nova.conf safely: plan the change, check it with the host's own Nova, apply it.

The service behind the ``nova_config`` module (which only parses its arguments, calls
:meth:`ConfEdit.run` and returns): reading the file (following a symbolic link when
allowed), :func:`novaconf.apply_changes`, the CPU set checks against the host's CPUs
(``/sys/devices/system/cpu/present`` unless given), the candidate written to a temporary file
next to the original, Nova's option loader run on it with the host's Python
(``novaconf_check.loader_argv``, in a subprocess), the user's ``validator`` command on it (as
``ansible.builtin.template``'s ``validate``: ``%s`` is the candidate's path, a non-zero exit
refuses the edit), and the atomic replacement.

Failures raise :class:`EditError` with the result so far (nothing written); the caller's
``replace(tmp, path)`` and ``backup(path)`` do the writing (the module passes
``AnsibleModule.atomic_move`` and ``backup_local``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.cpuset import CpuSpecError, check_cpu_sets
from ansible_collections.stackops.nova.plugins.module_utils._nova.common.releases import REMOVED_FILTERS, RETIRED_OPTIONS
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf import (
    NovaConf, NovaConfError, apply_changes)
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf.novaconf_check import (
    filter_problems, loader_argv, loader_problems, loader_warnings, name_warnings, parse_loader_output)

CPU_SET_OPTIONS = (("compute", "cpu_dedicated_set"), ("compute", "cpu_shared_set"), ("DEFAULT", "vcpu_pin_set"))
HOST_CPUS_FILE = "/sys/devices/system/cpu/present"
LOADER_TIMEOUT = 300
# nova_config's former validator default (never run): still accepted, ignored with a warning
OLD_VALIDATOR_DEFAULT = "oslo-config-validator"


class EditError(Exception):
    """The edit cannot be made; ``result``: what was found so far (``changed`` is false)."""

    def __init__(self, message, result):
        super().__init__(message)
        self.message = message
        self.result = result


def _last(conf, section, option):
    values = conf.get(section, option)
    return values[-1] if values else None


def read_text(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def host_cpus(given=None):
    """The host's CPUs as the kernel lists them (``0-7``), or ``given``; OSError when unreadable."""
    if given is not None:
        return given
    with open(HOST_CPUS_FILE) as handle:
        return handle.read().strip()


class ConfEdit:
    """One edit of one nova.conf; ``params`` are the nova_config module's options.

    :meth:`run` returns ``(result, warnings)``; it raises :class:`EditError` (nothing
    written) when the edit would be wrong. ``check_mode``: the candidate is still validated,
    in a temporary directory, and nothing is replaced. ``diff``: the result gets ``diff``.
    """

    def __init__(self, params, check_mode=False, diff=False, replace=None, backup=None):
        self.p = params
        self.check_mode = check_mode
        self.diff = diff
        self.replace = replace
        self.backup = backup
        self.warnings = []
        self.result = {"changed": False, "changes": []}
        self.path = params["path"]

    def fail(self, message, **extra):
        raise EditError(message, dict(self.result, changed=False, **extra))

    def labels(self):
        out = {}
        for item in self.p["options"]:
            out["%s.%s" % (item["section"], item["option"])] = item.get("label") or "[%s] %s" % (
                item["section"], item["option"])
        return out

    def host_cpus(self):
        try:
            return host_cpus(self.p.get("host_cpus"))
        except OSError as exc:
            self.fail("cannot read the host's CPUs from %s (%s); set host_cpus" % (HOST_CPUS_FILE, exc))

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

    def run_loader(self, candidate, after):
        """Nova's option loader on the candidate file, with the host's Python: its report."""
        python = self.p["nova_python"] or sys.executable
        managed = self.managed()
        files = [candidate] + list(self.p["config_files_after"])
        conf = NovaConf(after)
        entries = [(sec, opt, line) for sec, opt, line in conf.names() if sec is not None]
        names = entries if self.p["validate_names"] else None
        try:
            proc = subprocess.run(loader_argv(python, files, managed, self.p["check_scheduler_filters"],
                                              names=names, namespaces=self.p["validator_namespaces"],
                                              auth_types={sec: v[-1] for sec in conf.sections() if sec
                                                          for v in [conf.get(sec, "auth_type")] if v}),
                                  capture_output=True, text=True, timeout=LOADER_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.fail("cannot run nova's option loader with %s: %s" % (python, exc))
        try:
            return parse_loader_output(proc.stdout), entries
        except ValueError:
            self.fail("nova's option loader (%s) failed: %s"
                      % (python, (proc.stderr or "")[-2000:].replace(candidate, self.path)))

    def validator_argv(self):
        """The ``validator`` command as an argument list (``%s`` kept), None when there is none."""
        command = self.p.get("validator")
        if command is None or not str(command).strip():
            return None
        command = str(command)
        if command.strip() == OLD_VALIDATOR_DEFAULT:
            self.warnings.append("validator: %s (the 0.1.0 default) is ignored: option names are checked by "
                                 "validate_names; give a command with %%s to run one" % OLD_VALIDATOR_DEFAULT)
            return None
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            self.fail("validator %r cannot be split into arguments (%s); %s left unchanged" % (command, exc, self.path))
        if not any("%s" in arg for arg in argv):
            self.fail("validator %r must contain %%s (the candidate file's path), as template's validate does; %s "
                      "left unchanged" % (command, self.path))
        return argv

    def run_validator(self, argv, candidate):
        """Run ``validator`` on the candidate; EditError (nothing written) when it fails."""
        command = self.p["validator"]
        try:
            proc = subprocess.run([arg.replace("%s", candidate) for arg in argv], capture_output=True, text=True,
                                  timeout=LOADER_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.fail("validator %r did not finish in %d s; %s left unchanged" % (command, LOADER_TIMEOUT, self.path))
        except OSError as exc:
            self.fail("validator %r cannot be run: %s; %s left unchanged" % (command, exc.strerror or exc, self.path))
        self.result["validator_rc"] = proc.returncode
        if proc.returncode:
            output = ((proc.stderr or "").strip() or (proc.stdout or "").strip())[-2000:].replace(candidate, self.path)
            self.fail("validator %r refuses the new file (rc %d)%s; %s left unchanged" % (
                command, proc.returncode, ": " + output if output else "", self.path))

    def managed(self):
        return [(i["section"], i["option"]) for i in self.p["options"]
                if i["state"] == "present" and i.get("value") is not None]

    def validate(self, candidate, after):
        report, entries = self.run_loader(candidate, after)
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
            managed_keys = set(self.managed())
            unknown = [u for u in report.get("unknown_names") or [] if (u["section"], u["option"]) not in managed_keys]
            warnings += name_warnings(dict(report, unknown_names=unknown), self.path, RETIRED_OPTIONS)
            if report.get("names_error"):
                warnings.append("option names not checked: %s" % report["names_error"])
            self.result["unknown_options"] = [dict(u) for u in unknown]
            self.result["namespaces"] = report.get("namespaces")
        self.result["values"] = report.get("values", {})
        self.result["nova_version"] = report.get("nova_version")
        self.warnings += warnings

    def overridden(self):
        for path in self.p["config_files_after"]:
            try:
                other = NovaConf(read_text(path))
            except (OSError, UnicodeDecodeError):
                continue
            for item in self.p["options"]:
                if other.get(item["section"], item["option"]):
                    self.warnings.append("[%s] %s is also set in %s, which is loaded after %s and wins"
                                         % (item["section"], item["option"], path, self.p["path"]))

    def target(self):
        """The file to edit: ``path``, or the file it links to (``follow``)."""
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
        return path

    def plan(self):
        """``(path, before, after)``: the file and its text before and after the changes, checked."""
        path = self.target()
        try:
            before = read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            self.fail("cannot read %s: %s" % (path, exc))
        changes = [{"section": i["section"], "option": i["option"], "value": i.get("value"),
                    "state": i["state"], "label": i.get("label")} for i in self.p["options"]]
        try:
            after, changed = apply_changes(before, changes)
        except NovaConfError as exc:
            self.fail("%s; %s left unchanged" % (exc, path))
        self.result["changes"] = changed
        self.overridden()
        if self.p["check_cpu_sets"]:
            self.check_cpus(after)
        return path, before, after

    def run(self):
        path, before, after = self.plan()
        validator = self.validator_argv()  # a bad command fails before anything is written, changed or not
        if after == before:
            return self.result, self.warnings
        self.result["changed"] = True
        if self.diff:
            self.result["diff"] = {"before": before, "after": after, "before_header": path, "after_header": path}
        st = os.stat(path)
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".candidate",
                                   dir=None if self.check_mode else (os.path.dirname(path) or "."))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(after.encode("utf-8"))
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                pass
            if self.p["validate"]:
                self.validate(tmp, after)
            if validator is not None:
                self.run_validator(validator, tmp)
            if self.check_mode:
                return self.result, self.warnings
            if self.p["backup"]:
                self.result["backup_file"] = self.backup(path)
            self.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return self.result, self.warnings
