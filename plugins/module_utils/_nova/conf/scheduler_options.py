# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scheduler's nova.conf options: one table, read by everything that knows a scheduler option.

Private library code: plain Python, no Ansible imports and no import of the rest of the
collection (minicloud loads this file by its path). Its users: the explain engine
(``_nova/explain/config.py``: defaults and types), the roles (the ``nova_option_check`` filter),
the nova.conf read path of explain (:func:`read_nova_conf`), minicloud's topology loader (the
option -> section map) and docs/explain.md. ``tests/unit/.../conf/test_scheduler_options.py``
checks it against the options nova 34 registers (section, type, default, bounds).

Each entry: ``section`` (nova.conf section), ``type`` (``bool``, ``int``, ``float``, ``str``,
``list``: comma-separated, ``multistr``: one line per value), ``default`` (nova 34's; for an
option nova 34 no longer has, the last release's), ``min``/``choices`` when Nova bounds it,
``releases`` (``[first, last]`` nova major versions that register it; ``None`` = before the oldest
release checked (26) / still in the newest (34)), ``deprecated_names`` (older
``[section, name]`` spellings, see :data:`DEPRECATED_NAMES_GONE_BY`) and ``engine`` (True when
the explain engine models it).
"""

from __future__ import annotations

import re

# The pre-Pike (16.0) [DEFAULT] spellings Nova kept as deprecated aliases when the options moved
# to [scheduler] / [filter_scheduler]. nova 26 (checked on the molecule test hosts) and nova 34
# register none of them any more: a target release from this one on ignores them.
DEPRECATED_NAMES_GONE_BY = 26
# A release older than this one used the [DEFAULT] names as the real names.
SECTIONS_SINCE = 16

_D = "DEFAULT"
_FS = "filter_scheduler"
_S = "scheduler"
_ARCHES = ("alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32", "m68k",
           "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el", "openrisc", "parisc",
           "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb", "s390", "s390x", "sh4", "sh4eb",
           "sparc", "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb")


def _opt(section, kind, default, engine=False, releases=(None, None), deprecated=None, option=None,
         still_read=False, **bounds):
    entry = {"section": section, "type": kind, "default": default, "releases": list(releases),
             "deprecated_names": [list(d) for d in (deprecated or [])], "engine": engine}
    if still_read:  # nova 34 still reads the deprecated names (as [DEFAULT] pci_alias)
        entry["deprecated_still_read"] = True
    if option is not None:  # the engine's key differs from nova.conf's name ([pci] alias -> pci_alias)
        entry["option"] = option
    entry.update(bounds)
    return entry


OPTIONS = {
    # ---- [scheduler] ------------------------------------------------------------------------
    "max_attempts": _opt(_S, "int", 3, True, deprecated=[(_D, "scheduler_max_attempts")], min=1),
    "discover_hosts_in_cells_interval": _opt(_S, "int", -1, min=-1),
    "max_placement_results": _opt(_S, "int", 1000, True, min=1),
    "workers": _opt(_S, "int", None, min=0),
    "query_placement_for_routed_network_aggregates": _opt(_S, "bool", False),
    "limit_tenants_to_placement_aggregate": _opt(_S, "bool", False, True),
    "placement_aggregate_required_for_tenants": _opt(_S, "bool", False, True),
    "query_placement_for_image_type_support": _opt(_S, "bool", False, True),
    "enable_isolated_aggregate_filtering": _opt(_S, "bool", False, True),
    "image_metadata_prefilter": _opt(_S, "bool", False, True),
    # Stein..2023.1: the AZ request filter was opt-in until AvailabilityZoneFilter left (2023.2).
    "query_placement_for_availability_zone": _opt(_S, "bool", False, True, releases=(None, 27)),
    # ---- [filter_scheduler] -----------------------------------------------------------------
    "host_subset_size": _opt(_FS, "int", 1, True, deprecated=[(_D, "scheduler_host_subset_size")], min=1),
    "max_io_ops_per_host": _opt(_FS, "int", 8, True, deprecated=[(_D, "max_io_ops_per_host")], min=0),
    "max_instances_per_host": _opt(_FS, "int", 50, True, deprecated=[(_D, "max_instances_per_host")], min=1),
    "track_instance_changes": _opt(_FS, "bool", True, deprecated=[(_D, "scheduler_tracks_instance_changes")]),
    "available_filters": _opt(_FS, "multistr", ["nova.scheduler.filters.all_filters"],
                              deprecated=[(_D, "scheduler_available_filters")]),
    "enabled_filters": _opt(_FS, "list", ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                                          "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"],
                            True, deprecated=[(_D, "scheduler_default_filters")]),
    "weight_classes": _opt(_FS, "list", ["nova.scheduler.weights.all_weighers"], True,
                           deprecated=[(_D, "scheduler_weight_classes")]),
    "ram_weight_multiplier": _opt(_FS, "float", 1.0, True, deprecated=[(_D, "ram_weight_multiplier")]),
    "cpu_weight_multiplier": _opt(_FS, "float", 1.0, True),
    "disk_weight_multiplier": _opt(_FS, "float", 1.0, True, deprecated=[(_D, "disk_weight_multiplier")]),
    "hypervisor_version_weight_multiplier": _opt(_FS, "float", 1.0, True, releases=(28, None)),
    "num_instances_weight_multiplier": _opt(_FS, "float", 0.0, True, releases=(28, None)),
    "io_ops_weight_multiplier": _opt(_FS, "float", -1.0, True, deprecated=[(_D, "io_ops_weight_multiplier")]),
    # Absent from nova 26, present in 34 (both checked); 29 (2024.1) is the release notes' word.
    "image_props_weight_multiplier": _opt(_FS, "float", 0.0, True, releases=(29, None)),
    "image_props_weight_setting": _opt(_FS, "list", [], releases=(29, None)),
    "pci_weight_multiplier": _opt(_FS, "float", 1.0, min=0.0),
    "soft_affinity_weight_multiplier": _opt(_FS, "float", 1.0, True, min=0.0,
                                            deprecated=[(_D, "soft_affinity_weight_multiplier")]),
    "soft_anti_affinity_weight_multiplier": _opt(_FS, "float", 1.0, True, min=0.0,
                                                 deprecated=[(_D, "soft_anti_affinity_weight_multiplier")]),
    "build_failure_weight_multiplier": _opt(_FS, "float", 1000000.0, True),
    "cross_cell_move_weight_multiplier": _opt(_FS, "float", 1000000.0),
    "shuffle_best_same_weighed_hosts": _opt(_FS, "bool", False, True),
    "image_properties_default_architecture": _opt(_FS, "str", None, True, choices=list(_ARCHES)),
    "isolated_images": _opt(_FS, "list", [], True, deprecated=[(_D, "isolated_images")]),
    "isolated_hosts": _opt(_FS, "list", [], True, deprecated=[(_D, "isolated_hosts")]),
    "restrict_isolated_hosts_to_isolated_images": _opt(
        _FS, "bool", True, True, deprecated=[(_D, "restrict_isolated_hosts_to_isolated_images")]),
    "aggregate_image_properties_isolation_namespace": _opt(
        _FS, "str", None, True, deprecated=[(_D, "aggregate_image_properties_isolation_namespace")]),
    "aggregate_image_properties_isolation_separator": _opt(
        _FS, "str", ".", True, deprecated=[(_D, "aggregate_image_properties_isolation_separator")]),
    # Absent from nova 26, present in 34 (both checked); PCI in placement came with 2023.1.
    "pci_in_placement": _opt(_FS, "bool", False, releases=(27, None)),
    # ---- [DEFAULT] and [workarounds] options the scheduler reads --------------------------------
    "default_availability_zone": _opt(_D, "str", "nova", True),
    "default_schedule_zone": _opt(_D, "str", None),
    # Read by the scheduler only for the legacy Core/Ram/DiskFilter of older releases.
    "cpu_allocation_ratio": _opt(_D, "float", None, True, min=0.0),
    "ram_allocation_ratio": _opt(_D, "float", None, True, min=0.0),
    "disk_allocation_ratio": _opt(_D, "float", None, True, min=0.0),
    "disable_fallback_pcpu_query": _opt("workarounds", "bool", False, True),
    # nova-compute's claim-time server group check (the explain engine's claim stage).
    "disable_group_policy_check_upcall": _opt("workarounds", "bool", False, True),
    # ---- [compute], [pci] and [metrics] options the scheduler's filters read ---------------------
    # NUMATopologyFilter's cell order (explain/numa.py)
    "packing_host_numa_cells_allocation_strategy": _opt("compute", "bool", False, True),
    # PciPassthroughFilter's aliases (explain/pci.py), the JSON strings as written
    "pci_alias": _opt("pci", "multistr", [], True, option="alias", deprecated=[(_D, "pci_alias")],
                      still_read=True),
    # MetricsFilter (explain/metrics.py)
    "metrics_weight_setting": _opt("metrics", "list", [], True, option="weight_setting"),
}


def option_name(name):
    """nova.conf's own name of table entry ``name`` (they differ only where the engine's key
    says which section it comes from, as ``pci_alias`` for ``[pci] alias``)."""
    return OPTIONS[name].get("option", name)


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class OptionError(ValueError):
    """A value (or a nova.conf) that Nova would not accept; the message names the option."""


def exists_in(name, major=None):
    """Whether nova ``major`` (None: the newest known) registers option ``name``."""
    entry = OPTIONS.get(name)
    if entry is None:
        return False
    first, last = entry["releases"]
    if major is None:
        return last is None
    return (first is None or major >= first) and (last is None or major <= last)


def sections(major=None):
    """``{option: section}`` of the options nova ``major`` registers (minicloud's topology key map)."""
    return {name: entry["section"] for name, entry in OPTIONS.items() if exists_in(name, major)}


def convert(name, value, label=None):
    """``value`` as Nova reads option ``name`` (a string from nova.conf, or a YAML value).

    Raises :class:`OptionError` naming ``label`` (default ``[section] name``)."""
    entry = OPTIONS[name]
    label = label or "[%s] %s" % (entry["section"], entry.get("option", name))
    kind = entry["type"]
    if value is None:
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise OptionError("%s must be a boolean (true/false), got %r" % (label, value))
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise OptionError("%s must be %s, got %r" % (label, "an integer" if kind == "int" else "a number", value))
        try:
            number = int(str(value).strip()) if kind == "int" else float(str(value).strip())
        except (TypeError, ValueError):
            raise OptionError("%s must be %s, got %r"
                              % (label, "an integer" if kind == "int" else "a number", value)) from None
        if "min" in entry and number < entry["min"]:
            raise OptionError("%s must be %s or more, got %r" % (label, entry["min"], value))
        return number
    if kind in ("list", "multistr"):
        if isinstance(value, str):
            items = value.split(",") if kind == "list" else [value]
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            raise OptionError("%s must be a list (or a comma-separated string), got %r" % (label, value))
        return [str(item).strip() for item in items if str(item).strip()]
    text = str(value)
    if entry.get("choices") and text not in entry["choices"]:
        raise OptionError("%s must be one of %s, got %r" % (label, ", ".join(entry["choices"]), value))
    return text


def check(name, value, label=None, major=None):
    """Problems (a list of messages, empty when fine) of setting option ``name`` to ``value``.

    ``label`` is the name the user knows (a role variable). An option the target release does
    not have is a problem; so is a value Nova would reject."""
    label = label or name
    entry = OPTIONS.get(name)
    if entry is None:
        return ["%s: %s is not a scheduler option of nova.conf (known: %s)"
                % (label, name, ", ".join(sorted(OPTIONS)))]
    if not exists_in(name, major):
        first, last = entry["releases"]
        when = ("only from nova %s on" % first) if first is not None and (major or 34) < first \
            else "only up to nova %s" % last
        return ["%s: [%s] %s exists %s" % (label, entry["section"], name, when)]
    try:
        convert(name, value, label)
    except OptionError as exc:
        return [str(exc)]
    return []


def _texts(value, parameter):
    """[(where, text)] of one scheduler's files, in load order."""
    if isinstance(value, str):
        return [(parameter, value)]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return [("%s[%d]" % (parameter, i), v) for i, v in enumerate(value)]
    raise OptionError("%s must be the text of a nova.conf, or a list of texts (the files one scheduler loads, "
                      "in order), got %s" % (parameter, type(value).__name__))


def read_nova_conf(value, major=None, parameter="nova_conf_text", conf_class=None):
    """The scheduler options of a nova.conf, as ``(values, warnings)``.

    ``value``: the file's text, a list of texts (the files one nova-scheduler loads, later
    files winning, as oslo.config's ``--config-file``), or ``{host: text or list}`` for the
    scheduler hosts of a cloud (they must agree: a difference is an error naming the hosts and
    the options). ``values`` maps option name -> value converted with the table's type; options
    the file does not set are left out (the caller's defaults apply). A deprecated name is read
    only when the target release ``major`` still reads it, else it is reported and ignored, as
    Nova does. ``conf_class`` is the nova.conf reader (``_nova/conf/novaconf.NovaConf``).
    """
    if isinstance(value, dict):
        if not value:
            raise OptionError("%s: the mapping of scheduler hosts to nova.conf texts is empty" % parameter)
        results = {}
        for host in sorted(value, key=str):
            results[host] = read_nova_conf(value[host], major, "%s.%s" % (parameter, host), conf_class)
        hosts = list(results)
        first = results[hosts[0]][0]
        differ = []
        for host in hosts[1:]:
            other = results[host][0]
            for name in sorted(set(first) | set(other)):
                if first.get(name) != other.get(name):
                    differ.append("[%s] %s is %r on %s and %r on %s" % (
                        OPTIONS[name]["section"], name, first.get(name, "(default)"), hosts[0],
                        other.get(name, "(default)"), host))
        if differ:
            raise OptionError("%s: the scheduler hosts disagree (each would schedule differently): %s; explain one "
                              "host's configuration at a time" % (parameter, "; ".join(differ)))
        warnings = []
        for host in hosts:
            warnings.extend(w for w in results[host][1] if w not in warnings)
        return first, warnings
    texts = _texts(value, parameter)
    if conf_class is None:
        raise OptionError("read_nova_conf needs the nova.conf reader class (conf_class)")
    values, warnings = {}, []
    old_names = major is not None and major < SECTIONS_SINCE
    defaults = {(entry["section"] if entry["section"] == "DEFAULT" else entry["section"].lower(), option_name(name)):
                entry["default"] for name, entry in OPTIONS.items() if entry["type"] != "multistr"}
    for where, text in texts:
        conf = conf_class(text)
        errors = conf.parse_errors() if hasattr(conf, "parse_errors") else []
        if errors:
            raise OptionError("%s: oslo.config cannot parse this file, so Nova would not start with it: %s" % (
                where, "; ".join("line %d: %s: %r" % (n, msg, line[:120]) for n, msg, line in errors[:5])))
        read = conf.values if hasattr(conf, "values") else conf.get
        for name, entry in OPTIONS.items():
            if not exists_in(name, major):
                if read(entry["section"], option_name(name)):
                    warnings.append("%s: [%s] %s is not an option of nova %s; nova ignores it"
                                    % (where, entry["section"], option_name(name), major if major is not None else 34))
                continue
            raw = _resolved(conf, read(entry["section"], option_name(name)), entry["section"], defaults, where,
                            option_name(name), warnings)
            for section, old in entry["deprecated_names"]:
                found = _resolved(conf, read(section, old), section, defaults, where, old, warnings)
                if not found:
                    continue
                if old_names or entry.get("deprecated_still_read") or \
                        (major is not None and major < DEPRECATED_NAMES_GONE_BY):
                    if not raw:
                        raw = found
                        if not old_names:
                            warnings.append("%s: [%s] %s is a deprecated name of [%s] %s (read as such)"
                                            % (where, section, old, entry["section"], name))
                else:
                    warnings.append("%s: [%s] %s is the old name of [%s] %s; nova %s no longer reads it "
                                    "(ignored)" % (where, section, old, entry["section"], name,
                                                   major if major is not None else 34))
            if not raw:
                continue
            label = "%s: [%s] %s" % (where, entry["section"], option_name(name))
            value = raw if entry["type"] == "multistr" else raw[-1]
            try:
                values[name] = convert(name, value, label)
            except OptionError as exc:
                if not isinstance(value, str) or not _INLINE_COMMENT.search(value):
                    raise
                raise OptionError("%s (oslo.config has no inline comments: everything after the separator, the "
                                  "'#' or ';' part included, is the value)" % exc) from None
    return values, warnings


_INLINE_COMMENT = re.compile(r"\s[#;]")


def _resolved(conf, raw, section, defaults, where, option, warnings):
    """``raw`` (the file's values of one option) with ``$name`` references replaced as
    oslo.config does; an option whose reference cannot be resolved here is left out (its
    value in Nova is not known), with a warning."""
    if not raw or not hasattr(conf, "resolve") or not any("$" in v for v in raw):
        return raw
    out = []
    for value in raw:
        resolved, unknown = conf.resolve(value, section, defaults)
        if unknown is not None:
            warnings.append("%s: [%s] %s = %s refers to $%s, which this file does not set and whose default is "
                            "not known here; the option is left out (its value in Nova is unknown)"
                            % (where, section, option, value, unknown))
            return []
        out.append(resolved)
    return out


def render(name, value):
    """The nova.conf text of ``value`` for option ``name`` (a list of lines for a multi-string)."""
    kind = OPTIONS[name]["type"] if name in OPTIONS else None
    value = convert(name, value) if kind else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "multistr":
        return list(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def conf_items(items):
    """Role inputs -> nova_config options: each ``{option, value, label[, section]}`` gets the
    option's section from the table (``section`` is the fallback for an option the table does not
    know, such as an out-of-tree weigher's multiplier) and its value rendered as nova.conf text."""
    out = []
    for item in items:
        name = item["option"]
        if name in OPTIONS:
            section = OPTIONS[name]["section"]
        elif item.get("section"):
            section = item["section"]
        else:
            raise OptionError("%s: %s is not a scheduler option of nova.conf" % (item.get("label") or name, name))
        value = item.get("value")
        if name in OPTIONS:
            value = render(name, value)
        elif not isinstance(value, str):
            value = "true" if value is True else "false" if value is False else str(value)
        out.append({"section": section, "option": name, "value": value, "label": item.get("label") or name})
    return out


def markdown_table():
    """The table as the Markdown of docs/explain.md (generated from OPTIONS; a unit test compares)."""
    def text(value):
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ", ".join(value) if value else "(empty)"
        return str(value)

    lines = ["| option | section | type | default | releases | old names | explain |",
             "|---|---|---|---|---|---|---|"]
    for name in sorted(OPTIONS, key=lambda n: (OPTIONS[n]["section"], n)):
        entry = OPTIONS[name]
        first, last = entry["releases"]
        kind = entry["type"] + (" >= %s" % entry["min"] if "min" in entry else "") + \
            (" (choice)" if entry.get("choices") else "")
        lines.append("| `%s` | `[%s]` | %s | %s | %s..%s | %s | %s |" % (
            name if option_name(name) == name else "%s` as `%s" % (option_name(name), name), entry["section"],
            kind, text(entry["default"]), text(first), text(last),
            ", ".join("`[%s] %s`" % tuple(d) for d in entry["deprecated_names"]) or "-",
            "yes" if entry["engine"] else "-"))
    return "\n".join(lines) + "\n"
