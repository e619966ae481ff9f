# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nova_option_check: the library's nova.conf option checks for the roles (docs in the .yml sidecar)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import option_check as _check
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import scheduler_options as _options


def nova_option_check(items):
    """A list of checks ({label, check, value, ...}) -> the list of problems (empty: all fine)."""
    try:
        return _check.check_items(items)
    except _check.CheckError as exc:
        raise AnsibleFilterError("nova_option_check: %s" % exc) from None


def nova_scheduler_conf(items):
    """[{option, value, label[, section]}] -> nova_config options with the table's sections and value text."""
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, dict) and "option" in i for i in items):
        raise AnsibleFilterError("nova_scheduler_conf: the input must be a list of mappings with option and value")
    try:
        return _options.conf_items(items)
    except _options.OptionError as exc:
        raise AnsibleFilterError("nova_scheduler_conf: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"nova_option_check": nova_option_check, "nova_scheduler_conf": nova_scheduler_conf}
