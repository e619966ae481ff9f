# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What changed between Nova releases that the collection has to know about.

Private library code: plain data, no Ansible imports. The filter names are checked
against the installed nova by tests/unit/plugins/module_utils/test_releases.py.
"""

from __future__ import annotations

# Scheduler host filters shipped in-tree by nova 34 (2026.2), `nova.scheduler.filters.*`.
IN_TREE_FILTERS = frozenset((
    "AggregateImagePropertiesIsolation",
    "AggregateInstanceExtraSpecsFilter",
    "AggregateIoOpsFilter",
    "AggregateMultiTenancyIsolation",
    "AggregateNumInstancesFilter",
    "AggregateTypeAffinityFilter",
    "AllHostsFilter",
    "ComputeCapabilitiesFilter",
    "ComputeFilter",
    "DifferentHostFilter",
    "ImagePropertiesFilter",
    "IoOpsFilter",
    "IsolatedHostsFilter",
    "JsonFilter",
    "MetricsFilter",
    "NUMATopologyFilter",
    "NumInstancesFilter",
    "PciPassthroughFilter",
    "SameHostFilter",
    "ServerGroupAffinityFilter",
    "ServerGroupAntiAffinityFilter",
    "SimpleCIDRAffinityFilter",
))

# Nova's default [filter_scheduler] enabled_filters (unchanged since Victoria once
# AvailabilityZoneFilter left it in 2023.2).
DEFAULT_ENABLED_FILTERS = (
    "ComputeFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
)

# Filters that were removed from Nova; listing one in enabled_filters makes the scheduler
# fail at start with SchedulerHostFilterNotFound. `major` is the nova major version that
# no longer has the filter.
REMOVED_FILTERS = {
    "TrustedFilter": {
        "removed_in": "Queens (17.0)", "major": 17,
        "replaced_by": "nothing (attestation filtering was dropped)",
    },
    "ExactCoreFilter": {
        "removed_in": "Rocky (18.0)", "major": 18,
        "replaced_by": "placement VCPU inventory (baremetal flavors use resources:CUSTOM_*)",
    },
    "ExactRamFilter": {
        "removed_in": "Rocky (18.0)", "major": 18,
        "replaced_by": "placement MEMORY_MB inventory (baremetal flavors use resources:CUSTOM_*)",
    },
    "ExactDiskFilter": {
        "removed_in": "Rocky (18.0)", "major": 18,
        "replaced_by": "placement DISK_GB inventory (baremetal flavors use resources:CUSTOM_*)",
    },
    "CoreFilter": {
        "removed_in": "Train (20.0)", "major": 20,
        "replaced_by": "placement VCPU inventory and its allocation_ratio",
    },
    "RamFilter": {
        "removed_in": "Train (20.0)", "major": 20,
        "replaced_by": "placement MEMORY_MB inventory and its allocation_ratio",
    },
    "DiskFilter": {
        "removed_in": "Train (20.0)", "major": 20,
        "replaced_by": "placement DISK_GB inventory and its allocation_ratio",
    },
    "AggregateCoreFilter": {
        "removed_in": "Victoria (22.0)", "major": 22,
        "replaced_by": "per-provider VCPU allocation_ratio in placement",
    },
    "AggregateRamFilter": {
        "removed_in": "Victoria (22.0)", "major": 22,
        "replaced_by": "per-provider MEMORY_MB allocation_ratio in placement",
    },
    "AggregateDiskFilter": {
        "removed_in": "Victoria (22.0)", "major": 22,
        "replaced_by": "per-provider DISK_GB allocation_ratio in placement",
    },
    "RetryFilter": {
        "removed_in": "Victoria (22.0)", "major": 22,
        "replaced_by": "the conductor's alternate hosts ([scheduler] max_attempts)",
    },
    "AvailabilityZoneFilter": {
        "removed_in": "2023.2 Bobcat (28.0)", "major": 28,
        "replaced_by": "the map_az_to_placement_aggregate request filter (always on)",
    },
}

# Release names by nova major version, for messages.
RELEASES = {
    11: "Kilo", 12: "Liberty", 13: "Mitaka", 14: "Newton", 15: "Ocata", 16: "Pike",
    17: "Queens", 18: "Rocky", 19: "Stein", 20: "Train", 21: "Ussuri", 22: "Victoria",
    23: "Wallaby", 24: "Xena", 25: "Yoga", 26: "Zed", 27: "2023.1 Antelope",
    28: "2023.2 Bobcat", 29: "2024.1 Caracal", 30: "2024.2 Dalmatian", 31: "2025.1 Epoxy",
    32: "2025.2 Flamingo", 33: "2026.1 Gazpacho", 34: "2026.2 Hibiscus",
}

LATEST_MAJOR = 34


def nova_major(release):
    """Return the nova major version from '34.0.0', '34', 34, 'Train', '2023.2', or None."""
    if release is None or release == "":
        return None
    if isinstance(release, int):
        return release
    text = str(release).strip()
    head = text.split(".", maxsplit=1)[0]
    if head.isdigit() and int(head) < 2000:
        return int(head)
    lowered = text.lower()
    for major, name in RELEASES.items():
        names = name.lower().split()
        if lowered in names or lowered == name.lower():
            return major
    raise ValueError("unknown nova release %r (use a version such as 34.0.0 or a name such as Train)" % (release,))


def filter_removed(name, major=None):
    """The removal record of filter `name` if it no longer exists in nova `major` (default latest)."""
    record = REMOVED_FILTERS.get(name)
    if record is None:
        return None
    if major is not None and major < record["major"]:
        return None
    return record


def removed_filter_message(name):
    """A sentence for operators who still list a removed filter."""
    record = REMOVED_FILTERS[name]
    return "%s was removed from Nova in %s; use %s instead" % (name, record["removed_in"], record["replaced_by"])


# Option names that old nova.conf files still carry and that Nova 34 (or the libraries it
# loads) no longer reads. Nova ignores them, so nova_config only warns. ``removed_in`` is given
# only where the release is certain; ``hint`` says what replaced the option. A name that is
# still a *deprecated alias* of a current option is found from Nova's own option registry
# instead (and reported as renamed), so it is not listed here. Keys: "section.option", or
# "*.option" for any section.
_NOVA_NETWORK = "nova-network is gone: networking is always neutron's"
RETIRED_OPTIONS = {
    "DEFAULT.verbose": {"removed_in": "Newton (14.0, oslo.log)",
                        "hint": "logging is at INFO unless [DEFAULT] debug = true"},
    "DEFAULT.rpc_backend": {"hint": "the messaging driver comes from [DEFAULT] transport_url"},
    "DEFAULT.rabbit_host": {"hint": "use [DEFAULT] transport_url"},
    "DEFAULT.rabbit_hosts": {"hint": "use [DEFAULT] transport_url"},
    "DEFAULT.rabbit_password": {"hint": "use [DEFAULT] transport_url"},
    "DEFAULT.rabbit_userid": {"hint": "use [DEFAULT] transport_url"},
    "oslo_messaging_rabbit.rabbit_host": {"hint": "use [DEFAULT] transport_url"},
    "oslo_messaging_rabbit.rabbit_hosts": {"hint": "use [DEFAULT] transport_url"},
    "oslo_messaging_rabbit.rabbit_userid": {"hint": "use [DEFAULT] transport_url"},
    "oslo_messaging_rabbit.rabbit_password": {"hint": "use [DEFAULT] transport_url"},
    "DEFAULT.network_api_class": {"hint": _NOVA_NETWORK},
    "DEFAULT.security_group_api": {"hint": _NOVA_NETWORK},
    "DEFAULT.use_neutron": {"hint": _NOVA_NETWORK},
    "DEFAULT.firewall_driver": {"hint": "security groups are enforced by neutron"},
    "DEFAULT.linuxnet_interface_driver": {"hint": _NOVA_NETWORK},
    "DEFAULT.dhcpbridge": {"hint": _NOVA_NETWORK},
    "DEFAULT.dhcpbridge_flagfile": {"hint": _NOVA_NETWORK},
    "DEFAULT.force_dhcp_release": {"hint": _NOVA_NETWORK},
    "DEFAULT.default_floating_pool": {"hint": _NOVA_NETWORK},
    "DEFAULT.libvirt_use_virtio_for_bridges": {"hint": "libvirt options live in [libvirt]"},
    "DEFAULT.scheduler_default_filters": {"hint": "use [filter_scheduler] enabled_filters"},
    "DEFAULT.scheduler_driver": {"hint": "the filter scheduler is the only scheduler"},
    "DEFAULT.ec2_private_dns_show_ip": {"removed_in": "Mitaka (13.0, the EC2 API left Nova)",
                                        "hint": "the ec2-api project served EC2"},
    "DEFAULT.s3_host": {"removed_in": "Mitaka (13.0, the EC2 API left Nova)"},
    "DEFAULT.s3_port": {"removed_in": "Mitaka (13.0, the EC2 API left Nova)"},
    "DEFAULT.s3_listen": {"removed_in": "Mitaka (13.0, the EC2 API left Nova)"},
    "keystone_authtoken.auth_uri": {"hint": "use [keystone_authtoken] www_authenticate_uri"},
    "keystone_authtoken.signing_dir": {"hint": "PKI tokens are gone; keystonemiddleware no longer signs"},
    "neutron.url": {"hint": "use [neutron] endpoint_override, or let the service catalog find neutron"},
    "glance.api_servers": {"hint": "use [glance] endpoint_override, or let the service catalog find glance"},
    "glance.host": {"hint": "use [glance] endpoint_override, or let the service catalog find glance"},
    "DEFAULT.vnc_enabled": {"hint": "use [vnc] enabled"},
    "DEFAULT.novncproxy_base_url": {"hint": "use [vnc] novncproxy_base_url"},
    "vnc.xvpvncproxy_host": {"hint": "the XenServer VNC proxy left Nova with the XenAPI driver"},
    "vnc.xvpvncproxy_base_url": {"hint": "the XenServer VNC proxy left Nova with the XenAPI driver"},
}
