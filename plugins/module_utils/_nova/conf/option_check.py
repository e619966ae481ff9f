# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side checks of role inputs before anything touches a host (the roles' validate.yml).

Private library code: plain Python, no Ansible imports. The ``stackops.nova.nova_option_check``
filter is a thin wrapper: each item names a value, the name the user knows it by (``label``: a
role variable) and what it must be (``check``); the answer is the list of problems, each
starting with the label. The rules are the library's own: the scheduler option table
(:mod:`scheduler_options`), nova.conf's value rules (:func:`novaconf.check_value`) and Nova's CPU
set syntax (:func:`cpuset.parse_cpu_spec`); the roles no longer repeat them in Jinja.
"""

from __future__ import annotations

import json
import math
import re

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import cpuset as _cpuset
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import novaconf as _novaconf
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import scheduler_options as _options

_CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PYTHON_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_WEIGHER = re.compile(r"^[a-z][a-z0-9_]*$")
_HOST = re.compile(r"^[A-Za-z0-9_.:-]+$")
# The [scheduler] switches of Nova's request filters (prefilters) the scheduler role manages.
PREFILTERS = ("limit_tenants_to_placement_aggregate", "placement_aggregate_required_for_tenants",
              "query_placement_for_image_type_support", "enable_isolated_aggregate_filtering",
              "image_metadata_prefilter", "query_placement_for_routed_network_aggregates",
              "query_placement_for_availability_zone")

CHECKS = ("scheduler_option", "conf_value", "cpuset", "number", "integer", "filter_names", "python_paths",
          "weight_multipliers", "prefilters", "host_address", "conf_options")


class CheckError(ValueError):
    """A check item that is itself malformed (a role bug, not a user error)."""


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _number(label, value, kind, minimum=None, above=None):
    if isinstance(value, bool):
        return ["%s must be %s, got %r" % (label, "an integer" if kind == "integer" else "a number", value)]
    try:
        number = int(str(value).strip()) if kind == "integer" else float(str(value).strip())
    except (TypeError, ValueError):
        return ["%s must be %s, got %s" % (label, "an integer" if kind == "integer" else "a number",
                                           _quote(value))]
    if isinstance(number, float) and not math.isfinite(number):
        return ["%s must be a finite number, got %s" % (label, _quote(value))]
    if minimum is not None and number < minimum:
        return ["%s must be %s or more, got %s" % (label, minimum, _quote(value))]
    if above is not None and number <= above:
        return ["%s must be a number above %s, got %s" % (label, above, _quote(value))]
    return []


def _quote(value):
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _conf_value(label, value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(p for p in _conf_value(label, item) if p not in out)
        return out
    try:
        _novaconf.check_value(label, _text(value))
    except _novaconf.NovaConfError as exc:
        detail = str(exc)
        detail = detail[len(label) + 2:] if detail.startswith(label + ": ") else detail
        return ["%s: the value %s contains a line break or control character (%s)"
                % (label, _quote(_text(value)), detail)]
    return []


def _names(label, value, pattern, what):
    if not isinstance(value, (list, tuple)):
        return ["%s must be a list, got %s" % (label, type(value).__name__)]
    out = []
    for item in value:
        text = _text(item)
        if not pattern.match(text):
            out.append("%s: %s is not %s" % (label, _quote(text), what))
    return out


def _option(name, value, label, major=None):
    """The table's check of ``value`` for option ``name``: its type and bounds, and, when the
    target release ``major`` is given, whether that release has the option (without it, the
    host's own Nova answers that when the role validates the candidate nova.conf)."""
    if major is not None or name not in _options.OPTIONS:
        return _options.check(name, value, label, major)
    try:
        _options.convert(name, value, label)
    except _options.OptionError as exc:
        return [str(exc)]
    return []


def check_item(item):
    """Problems of one item ``{label, check, value, ...}`` (empty list: fine)."""
    if not isinstance(item, dict):
        raise CheckError("each check must be a mapping with label, check and value, got %r" % (item,))
    label = item.get("label") or item.get("option") or "value"
    kind = item.get("check", "scheduler_option")
    value = item.get("value")
    if kind not in CHECKS:
        raise CheckError("%s: unknown check %r (known: %s)" % (label, kind, ", ".join(CHECKS)))
    if kind == "scheduler_option":
        option = item.get("option")
        problems = _option(option, value, label, item.get("nova_major"))
        return problems or _conf_value(label, ",".join(map(_text, value)) if isinstance(value, list) else value)
    if kind == "conf_value":
        return _conf_value(label, value)
    if kind == "cpuset":
        if value is None:
            return []
        try:
            _cpuset.parse_cpu_spec(_text(value))
        except _cpuset.CpuSpecError as exc:
            return ['%s: %s is not a CPU set such as "4-12,^8,15" (%s)' % (label, _quote(value), exc)]
        return _conf_value(label, value)
    if kind in ("number", "integer"):
        return _number(label, value, kind, item.get("min"), item.get("above"))
    if kind == "filter_names":
        return _names(label, value, _CLASS_NAME, "a filter class name (such as ComputeFilter)")
    if kind == "python_paths":
        return _names(label, value, _PYTHON_PATH, "a Python path (such as nova.scheduler.filters.all_filters)")
    if kind == "host_address":
        text = _text(value)
        if not _HOST.match(text):
            return ["%s must be a host name or an IP address, got %s" % (label, _quote(text))]
        return []
    if kind == "weight_multipliers":
        if not isinstance(value, dict):
            return ["%s must be a mapping of weigher name to multiplier, got %s" % (label, type(value).__name__)]
        out = []
        for name, multiplier in value.items():
            where = "%s.%s" % (label, name)
            if not _WEIGHER.match(str(name)) or str(name).endswith("_weight_multiplier"):
                out.append("%s: expected a weigher name without the _weight_multiplier suffix (ram, cpu, disk, "
                           "io_ops, ...)" % where)
                continue
            option = "%s_weight_multiplier" % name
            if option in _options.OPTIONS:
                out.extend(_option(option, multiplier, where, item.get("nova_major")))
            else:
                # an out-of-tree weigher: the host's nova says whether it knows the option
                out.extend(_number(where, multiplier, "number"))
        return out
    if kind == "prefilters":
        if not isinstance(value, dict):
            return ["%s must be a mapping of request filter option to boolean, got %s"
                    % (label, type(value).__name__)]
        out = []
        for name, switch in value.items():
            where = "%s.%s" % (label, name)
            if name not in PREFILTERS:
                out.append("%s: expected one of %s with a boolean value" % (where, ", ".join(PREFILTERS)))
                continue
            out.extend(_option(name, switch, where, item.get("nova_major")))
        return out
    # conf_options: a list of {section, option, value, state} (the roles' extra options)
    if not isinstance(value, (list, tuple)):
        return ["%s must be a list of {section, option, value} mappings, got %s" % (label, type(value).__name__)]
    out = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            out.append("%s[%d] must be a mapping with section, option and value" % (label, index))
            continue
        where = "%s: [%s] %s" % (label, entry.get("section", "?"), entry.get("option", "?"))
        for key in ("section", "option"):
            try:
                _novaconf.check_name(key, entry.get(key))
            except _novaconf.NovaConfError as exc:
                out.append("%s[%d]: %s" % (label, index, exc))
        raw = entry.get("value")
        for text in (raw if isinstance(raw, list) else [raw]):
            out.extend(_conf_value(where, text))
    return out


def check_items(items):
    """Problems of every item, in order (empty list: every input is fine)."""
    if not isinstance(items, (list, tuple)):
        raise CheckError("the checks must be a list of mappings, got %s" % type(items).__name__)
    out = []
    for item in items:
        out.extend(check_item(item))
    return out
