# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of ``stackops.nova.scheduling_explain``: an offline explanation on the controller.

An offline explanation (a snapshot, an inline flavor, no image name to look up) reads no cloud:
it is pure computation over a document. When the task also runs on the controller itself (a
local connection, no privilege escalation, not async), the action plugin calls the same library
functions as the module (``explain/task.py``) in the controller's process: no module is packed,
started or fed the snapshot as JSON. Everything else (a cloud to read, another host, become,
async) runs the module as usual.

Only a successful explanation is answered here. Whenever anything fails (an option, the
snapshot, the request) the module is run instead, so errors, their wording and the masking of
credentials are the module's, one code path.
"""

from __future__ import annotations

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.stackops.nova.plugins.module_utils._nova.common.api import auth_argument_spec
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import task as _task

display = Display()

MODULE = "stackops.nova.scheduling_explain"


class ActionModule(ActionBase):
    """Run an offline explanation here; hand anything else to the module."""

    TRANSFERS_FILES = False
    _supports_check_mode = True  # it reads, never changes
    _supports_async = True  # async runs the module

    def _runs_here(self):
        # ansible.builtin.local: the task's host is the controller (as ActionBase's own check)
        return (getattr(self._connection, "transport", None) == "local"
                and not self._play_context.become
                and not self._task.async_val
                and _task.is_offline(self._task.args))

    def _explain_here(self):
        """The result, or None when anything is off (the module then says what)."""
        spec = auth_argument_spec()
        spec.update(_task.OPTIONS)
        args = dict(self._task.args)
        snapshot = args.get("snapshot")
        warnings = []
        try:
            if snapshot is not None:
                # the play's data (tagged, maybe lazily templated) becomes a plain copy, the task's own to
                # complete (a module gets the same through JSON); the options are checked without it, as
                # the validator deep-copies what it checks (the snapshot is checked by its schema below)
                args["snapshot"] = {}
                snapshot = json.loads(json.dumps(snapshot))
            validation = ArgumentSpecValidator(spec, mutually_exclusive=_task.MUTUALLY_EXCLUSIVE).validate(args)
            if validation.error_messages:  # the module reports them, secrets masked
                raise ValueError("the options need the module's checks")
            params = validation.validated_parameters
            if snapshot is not None:
                params["snapshot"] = snapshot
            scheduler = _task.check(params)
            result = _task.explain_offline(params, scheduler, warnings.append)
        except Exception as exc:  # the module gives the error (the same call fails the same way)
            display.vvv("scheduling_explain: running the module (%s)" % exc.__class__.__name__)
            return None
        result["changed"] = False
        if warnings:
            result["warnings"] = warnings
        return result

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # not used
        here = self._explain_here() if self._runs_here() else None
        if here is not None:
            result.update(here)
            return result
        # as ansible.builtin.normal does for any module
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name=MODULE, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
