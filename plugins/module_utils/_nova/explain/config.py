# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scheduler configuration the engine evaluates with, and the image property table.

A configuration is the ``scheduler`` mapping documented in docs/snapshot.md; every key
left out takes Nova's default for the target release. Errors raise :class:`ExplainError`
naming the key.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.common import releases
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import novaconf as _novaconf
from ansible_collections.stackops.nova.plugins.module_utils._nova.conf import scheduler_options as _options


class ExplainError(ValueError):
    """Bad explain input (request, snapshot or scheduler configuration); the message names it."""


# [filter_scheduler], [scheduler], [DEFAULT] and [workarounds] options the engine models, with
# their defaults, types and sections from the one option table (_nova/conf/scheduler_options.py).
_WEIGHT_NAMES = ("ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier",
                 "io_ops_weight_multiplier", "soft_affinity_weight_multiplier",
                 "soft_anti_affinity_weight_multiplier", "build_failure_weight_multiplier",
                 "num_instances_weight_multiplier", "hypervisor_version_weight_multiplier",
                 "image_props_weight_multiplier")
DEFAULT_WEIGHTS = {name: _options.OPTIONS[name]["default"] for name in _WEIGHT_NAMES}

_OPTION_NAMES = ("host_subset_size", "max_io_ops_per_host", "max_instances_per_host", "isolated_images",
                 "isolated_hosts", "restrict_isolated_hosts_to_isolated_images",
                 "aggregate_image_properties_isolation_namespace",
                 "aggregate_image_properties_isolation_separator", "image_properties_default_architecture",
                 "max_attempts", "max_placement_results", "limit_tenants_to_placement_aggregate",
                 "placement_aggregate_required_for_tenants", "enable_isolated_aggregate_filtering",
                 "query_placement_for_image_type_support", "image_metadata_prefilter",
                 "default_availability_zone", "shuffle_best_same_weighed_hosts",
                 "disable_fallback_pcpu_query", "disable_group_policy_check_upcall",
                 "packing_host_numa_cells_allocation_strategy",  # [compute]: NUMATopologyFilter's cell order
                 # Stein..2023.1 only: the AZ prefilter was opt-in before AvailabilityZoneFilter left.
                 "query_placement_for_availability_zone",
                 # Legacy options, used only when the target release still had the filters.
                 "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")
DEFAULTS = {name: _options.OPTIONS[name]["default"] for name in _OPTION_NAMES}

# Options kept as given (None = not known); their modules parse them and name them in errors.
# pci_alias: [pci] alias (JSON strings); pci_in_placement: [filter_scheduler] pci_in_placement;
# metrics_weight_setting: [metrics] weight_setting; query_placement_for_routed_network_aggregates:
# [scheduler]; compute_service_min_version: the lowest nova-compute service version (owner_nova_filter).
RAW_KEYS = ("pci_alias", "pci_in_placement", "metrics_weight_setting",
            "query_placement_for_routed_network_aggregates", "compute_service_min_version")


def _of_type(*kinds):
    return tuple(name for name in _OPTION_NAMES if _options.OPTIONS[name]["type"] in kinds)


_BOOL_KEYS = _of_type("bool")
_INT_KEYS = _of_type("int")
_LIST_KEYS = _of_type("list")
_FLOAT_KEYS = _of_type("float")

# Keys of the scheduler mapping that bring a nova.conf: its text (the engine reads it), or a
# path (read by the scheduling_explain module on its host, which passes the text on).
NOVA_CONF_TEXT = "nova_conf_text"
NOVA_CONF_PATH = "nova_conf"


def default_filters(major):
    """Nova's default enabled_filters for a nova major version (None = latest).

    Up to Rocky (18) the default also held RamFilter and DiskFilter; RetryFilter left with
    Victoria (22) and AvailabilityZoneFilter with 2023.2 (28).
    """
    tail = list(releases.DEFAULT_ENABLED_FILTERS)
    if major is None or major >= 28:
        return tail
    if major >= 22:
        return ["AvailabilityZoneFilter"] + tail
    if major >= 19:
        return ["RetryFilter", "AvailabilityZoneFilter"] + tail
    return ["RetryFilter", "AvailabilityZoneFilter", "RamFilter", "DiskFilter"] + tail


def _bool(value, key):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ExplainError("scheduler.%s must be a boolean, got %r" % (key, value))


def _int(value, key):
    if isinstance(value, bool):
        raise ExplainError("scheduler.%s must be an integer, got %r" % (key, value))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ExplainError("scheduler.%s must be an integer, got %r" % (key, value)) from None
    return number


def _float(value, key):
    if isinstance(value, bool):
        raise ExplainError("scheduler.%s must be a number, got %r" % (key, value))
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        raise ExplainError("scheduler.%s must be a number, got %r" % (key, value)) from None


def _list(value, key):
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if str(item).strip()]
    raise ExplainError("scheduler.%s must be a list (or a comma-separated string), got %r" % (key, value))


def _with_nova_conf(config, major):
    """``config`` with the options of its ``nova_conf_text`` filled in (keys given beside it win).

    Returns (config, warnings). The text is read with the project's nova.conf reader and the
    option table (sections, types, deprecated names for the target release ``major``)."""
    if NOVA_CONF_PATH in config:
        raise ExplainError("scheduler.%s: a nova.conf path is read only by the stackops.nova.scheduling_explain "
                           "module; here give the file's text as scheduler.%s (for example "
                           "lookup('ansible.builtin.file', path), or slurp's content | b64decode)"
                           % (NOVA_CONF_PATH, NOVA_CONF_TEXT))
    if NOVA_CONF_TEXT not in config:
        return config, []
    try:
        values, warnings = _options.read_nova_conf(config[NOVA_CONF_TEXT], major, "scheduler." + NOVA_CONF_TEXT,
                                                   conf_class=_novaconf.NovaConf)
    except _options.OptionError as exc:
        raise ExplainError(str(exc)) from None
    merged = {}
    weights = {}
    for name, value in values.items():
        if name in DEFAULT_WEIGHTS:
            weights[name] = value
        elif name in DEFAULTS or name in ("enabled_filters", "weight_classes", "available_filters"):
            merged[name] = value
    for key, value in config.items():
        if key == NOVA_CONF_TEXT:
            continue
        if key == "weights" and isinstance(value, dict):
            weights.update(value)
            continue
        merged[key] = value
    if weights:
        merged["weights"] = weights
    return merged, warnings


def enabled_filter_names(conf):
    """The class names of a normalized scheduler's enabled filters (``nova.scheduler.filters.X`` -> ``X``)."""
    return {str(f).rsplit(".", 1)[-1] for f in conf.get("enabled_filters") or ()}


def normalize_scheduler(config, nova_release=None):
    """Return a complete scheduler configuration with Nova's defaults filled in.

    ``config`` is the ``scheduler`` mapping (or None); ``nova_release`` picks the defaults
    and which filters exist (None = the latest release the collection knows). The mapping may
    bring a scheduler's nova.conf as ``nova_conf_text`` (a text, the texts of the files one
    scheduler loads, or ``{host: text}``); the keys given beside it override what it says.
    """
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ExplainError("scheduler must be a mapping of scheduler options, got %s" % type(config).__name__)
    release = config.get("nova_release", nova_release)
    try:
        major = releases.nova_major(release)
    except ValueError as exc:
        raise ExplainError("scheduler.nova_release: %s" % exc) from None
    from_nova_conf = isinstance(config.get(NOVA_CONF_TEXT), (str, list, tuple, dict))
    config, conf_warnings = _with_nova_conf(config, major)
    result = dict(DEFAULTS)
    result["nova_release"] = release
    result["nova_major"] = major if major is not None else releases.LATEST_MAJOR
    result["config_warnings"] = conf_warnings
    result["from_nova_conf"] = from_nova_conf
    extra = {"enabled_filters", "weights", "weight_classes", "nova_release", "available_filters"} | set(RAW_KEYS)
    known = set(DEFAULTS) | set(DEFAULT_WEIGHTS) | extra
    unknown = sorted(k for k in config if k not in known)
    result["ignored_options"] = unknown
    for key in DEFAULTS:
        if key not in config or config[key] is None:
            continue
        value = config[key]
        if key in _BOOL_KEYS:
            result[key] = _bool(value, key)
        elif key in _INT_KEYS:
            result[key] = _int(value, key)
        elif key in _LIST_KEYS:
            result[key] = _list(value, key)
        elif key in _FLOAT_KEYS:
            result[key] = _float(value, key)
        else:
            result[key] = str(value)
    if result["host_subset_size"] < 1:
        result["host_subset_size"] = 1
    for key in RAW_KEYS:  # read by their own modules (pci.py, metrics.py, request_filters.py)
        result[key] = config.get(key)
    filters = config.get("enabled_filters")
    result["enabled_filters"] = default_filters(major) if filters is None else _list(filters, "enabled_filters")
    result["enabled_filters_default"] = filters is None
    weights = dict(DEFAULT_WEIGHTS)
    given = config.get("weights") or {}
    if not isinstance(given, dict):
        raise ExplainError("scheduler.weights must be a mapping of *_weight_multiplier options")
    for key, value in list(given.items()) + [(k, config[k]) for k in DEFAULT_WEIGHTS if k in config]:
        if key not in DEFAULT_WEIGHTS:
            raise ExplainError("scheduler.weights.%s is not a weigher multiplier the engine knows (known: %s)"
                               % (key, ", ".join(sorted(DEFAULT_WEIGHTS))))
        if value is not None:
            weights[key] = _float(value, "weights.%s" % key)
    result["weights"] = weights
    classes = config.get("weight_classes")
    result["weight_classes"] = ["nova.scheduler.weights.all_weighers"] if classes is None \
        else _list(classes, "weight_classes")
    return result


# ImageMetaProps fields of nova 34 and how Nova coerces them (generated from
# nova.objects.image_meta.ImageMetaProps.fields). AggregateImagePropertiesIsolation only
# compares aggregate keys that are such fields, against the coerced value's str().
IMAGE_PROPERTY_TYPES = {
    "hw_architecture": "arch",
    "hw_auto_disk_config": "str",
    "hw_boot_menu": "bool",
    "hw_cdrom_bus": "enum",
    "hw_cpu_cores": "int",
    "hw_cpu_max_cores": "int",
    "hw_cpu_max_sockets": "int",
    "hw_cpu_max_threads": "int",
    "hw_cpu_policy": "enum",
    "hw_cpu_realtime_mask": "str",
    "hw_cpu_sockets": "int",
    "hw_cpu_thread_policy": "enum",
    "hw_cpu_threads": "int",
    "hw_device_id": "int",
    "hw_disk_bus": "enum",
    "hw_disk_type": "str",
    "hw_emulation_architecture": "arch",
    "hw_ephemeral_encryption": "bool",
    "hw_ephemeral_encryption_format": "enum",
    "hw_ephemeral_encryption_secret_uuid": "str",
    "hw_firmware_stateless": "bool",
    "hw_firmware_type": "enum",
    "hw_floppy_bus": "enum",
    "hw_input_bus": "enum",
    "hw_ipxe_boot": "bool",
    "hw_locked_memory": "bool",
    "hw_machine_type": "str",
    "hw_maxphysaddr_bits": "int",
    "hw_maxphysaddr_mode": "enum",
    "hw_mem_encryption": "bool",
    "hw_mem_encryption_model": "enum",
    "hw_mem_page_size": "str",
    "hw_numa_cpus": "list",
    "hw_numa_mem": "list",
    "hw_numa_nodes": "int",
    "hw_pci_numa_affinity_policy": "enum",
    "hw_pmu": "bool",
    "hw_pointer_model": "enum",
    "hw_qemu_guest_agent": "bool",
    "hw_redirected_usb_ports": "int",
    "hw_rescue_bus": "enum",
    "hw_rescue_device": "enum",
    "hw_rng_model": "enum",
    "hw_scsi_model": "enum",
    "hw_serial_port_count": "int",
    "hw_sound_model": "enum",
    "hw_time_hpet": "bool",
    "hw_tpm_model": "enum",
    "hw_tpm_version": "enum",
    "hw_usb_model": "enum",
    "hw_video_model": "enum",
    "hw_video_ram": "int",
    "hw_vif_model": "enum",
    "hw_vif_multiqueue_enabled": "bool",
    "hw_viommu_model": "enum",
    "hw_virtio_packed_ring": "bool",
    "hw_vm_mode": "vmmode",
    "hw_watchdog_action": "enum",
    "img_bdm_v2": "bool",
    "img_bittorrent": "bool",
    "img_block_device_mapping": "list",
    "img_cache_in_nova": "bool",
    "img_compression_level": "int",
    "img_config_drive": "enum",
    "img_hide_hypervisor_id": "bool",
    "img_hv_requested_version": "enum",
    "img_hv_type": "hvtype",
    "img_linked_clone": "bool",
    "img_mappings": "list",
    "img_owner_id": "str",
    "img_root_device_name": "str",
    "img_signature": "str",
    "img_signature_certificate_uuid": "str",
    "img_signature_hash_method": "enum",
    "img_signature_key_type": "enum",
    "img_use_agent": "bool",
    "img_version": "int",
    "os_admin_user": "str",
    "os_command_line": "str",
    "os_distro": "str",
    "os_require_quiesce": "bool",
    "os_secure_boot": "enum",
    "os_skip_agent_inject_files_at_boot": "bool",
    "os_skip_agent_inject_ssh": "bool",
    "os_type": "enum",
    "traits_required": "list",
}
