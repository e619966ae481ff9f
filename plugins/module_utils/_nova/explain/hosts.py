# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Snapshot hosts as the scheduler sees them: one light object per compute node.

Built once per snapshot (and shared by every engine run on it): the merged aggregate
metadata, the availability zone, the service state, and the attributes Nova's
``HostState`` would carry, derived from the placement inventories and usages.
"""

from __future__ import annotations

import json

from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import capacity
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.config import ExplainError

# Attribute names of nova.scheduler.host_manager.HostState (nova 34): what
# ComputeCapabilitiesFilter's ``hasattr(host_state, key)`` and JsonFilter's ``$var`` see.
HOST_STATE_ATTRS = (
    "host", "nodename", "uuid", "total_usable_ram_mb", "total_usable_disk_gb", "disk_mb_used",
    "free_ram_mb", "free_disk_mb", "vcpus_total", "vcpus_used", "pci_stats", "numa_topology",
    "num_instances", "num_io_ops", "failed_builds", "host_ip", "hypervisor_type",
    "hypervisor_version", "hypervisor_hostname", "cpu_info", "supported_instances", "limits",
    "metrics", "aggregates", "instances", "ram_allocation_ratio", "cpu_allocation_ratio",
    "disk_allocation_ratio", "cell_uuid", "updated", "allocation_candidates", "service", "stats",
)
# Methods of HostState: hasattr() is true for them too.
HOST_STATE_METHODS = ("update", "consume_from_request")


class Host:
    """One compute node of the snapshot (read-only once built)."""

    __slots__ = ("index", "name", "nodename", "label", "raw", "resources", "traits", "provider_aggregates",
                 "aggregate_ids", "aggregates", "agg_metadata", "az", "service", "disabled", "up",
                 "disabled_reason", "instances", "num_instances", "num_io_ops", "failed_builds", "attrs",
                 "agg_key", "memo")

    def __init__(self, index, raw, aggregates_by_id, aggregates_by_host, default_az):
        if not isinstance(raw, dict):
            raise ExplainError("snapshot.hosts[%d] must be a mapping" % index)
        name = raw.get("name")
        if not name:
            raise ExplainError("snapshot.hosts[%d].name is required" % index)
        self.index = index
        self.raw = raw
        self.memo = {}  # values computed from this host alone, kept across engine passes
        self.name = str(name)
        self.nodename = str(raw.get("nodename") or name)
        self.label = self.name if self.nodename == self.name else "%s/%s" % (self.name, self.nodename)
        resources = raw.get("resources") or {}
        if not isinstance(resources, dict):
            raise ExplainError("snapshot.hosts[%d].resources must be a mapping" % index)
        self.resources = resources
        traits = raw.get("traits")
        self.traits = frozenset(traits) if traits is not None else None
        pa = raw.get("provider_aggregates")
        self.provider_aggregates = frozenset(pa) if pa is not None else None
        ids = raw.get("aggregates")
        if ids is None:
            aggs = aggregates_by_host.get(self.name, [])
        else:
            aggs = [aggregates_by_id[i] for i in ids if i in aggregates_by_id]
            # also aggregates listing the host by name (snapshots may carry only one side)
            seen = {id(a) for a in aggs}
            aggs += [a for a in aggregates_by_host.get(self.name, []) if id(a) not in seen]
        self.aggregates = aggs
        self.aggregate_ids = tuple(sorted(str(a.get("id")) for a in aggs))
        self.agg_key = self.aggregate_ids
        metadata = {}
        for agg in aggs:
            for key, value in aggregate_metadata(agg).items():
                metadata.setdefault(key, set()).update(x.strip() for x in str(value).split(","))
        self.agg_metadata = metadata
        az = raw.get("availability_zone")
        if not az:
            zones = sorted({a.get("availability_zone") or (a.get("metadata") or {}).get("availability_zone")
                            for a in aggs} - {None, ""})
            az = ",".join(zones) if zones else default_az
        self.az = az
        service = raw.get("service")
        self.service = service
        if service is None:
            self.disabled = None
            self.up = None
            self.disabled_reason = None
        else:
            self.disabled = service.get("status") == "disabled"
            self.disabled_reason = service.get("disabled_reason")
            state = service.get("state")
            self.up = None if state is None else (state == "up" and not service.get("forced_down"))
        instances = raw.get("instances")
        self.instances = frozenset(instances) if instances is not None else None
        self.num_instances = raw.get("num_instances")
        if self.num_instances is None and instances is not None:
            self.num_instances = len(instances)
        self.num_io_ops = raw.get("num_io_ops")
        self.failed_builds = raw.get("failed_builds") or 0
        self.attrs = None

    def view(self, rc):
        return self.resources.get(rc)

    def host_state_attrs(self):
        """HostState-like attributes (computed once, on demand)."""
        if self.attrs is not None:
            return self.attrs
        raw = self.raw
        cpu_info = raw.get("cpu_info")
        attrs = capacity.host_state_figures(self.resources)
        attrs.update({
            "host": self.name,
            "nodename": self.nodename,
            "uuid": raw.get("provider_uuid") or raw.get("hypervisor_id"),
            "pci_stats": None,
            "numa_topology": None,
            "num_instances": self.num_instances or 0,
            "num_io_ops": self.num_io_ops or 0,
            "failed_builds": self.failed_builds,
            "host_ip": raw.get("host_ip"),
            "hypervisor_type": raw.get("hypervisor_type"),
            "hypervisor_version": raw.get("hypervisor_version"),
            "hypervisor_hostname": self.nodename,
            # Nova's HostState.cpu_info is the compute node's JSON text
            "cpu_info": json.dumps(cpu_info) if isinstance(cpu_info, dict) else cpu_info,
            "supported_instances": raw.get("supported_instances"),
            "limits": {},
            "metrics": None,
            "aggregates": self.aggregates,
            "instances": dict.fromkeys(self.instances or ()),
            "cell_uuid": raw.get("cell_uuid"),
            "updated": None,
            "allocation_candidates": [],
            "service": service_dict(self.service),
            "stats": raw.get("stats") or {},
        })
        self.attrs = attrs
        return attrs


def aggregate_metadata(agg):
    """An aggregate's metadata, with its availability_zone field folded in as Nova stores it."""
    metadata = agg.get("metadata") or {}
    az = agg.get("availability_zone")
    if az and "availability_zone" not in metadata:
        metadata = dict(metadata, availability_zone=az)
    return metadata


def service_dict(service):
    if service is None:
        return None
    return {"disabled": service.get("status") == "disabled", "disabled_reason": service.get("disabled_reason"),
            "forced_down": bool(service.get("forced_down")), "host": service.get("host")}


def cpu_info_dict(value):
    """cpu_info as a dict (Nova stores it as a JSON string)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


class Cloud:
    """The snapshot prepared for the engine: hosts, aggregates, AZs, groups, instance -> host."""

    def __init__(self, snapshot, default_az="nova"):
        if not isinstance(snapshot, dict):
            raise ExplainError("snapshot must be a mapping (a stackops.nova cloud snapshot)")
        version = snapshot.get("snapshot_version", 1)
        if version != 1:
            raise ExplainError("snapshot_version %r is not supported (this engine reads version 1)" % (version,))
        hosts = snapshot.get("hosts")
        if not isinstance(hosts, list):
            raise ExplainError("snapshot.hosts must be a list of compute hosts")
        self.snapshot = snapshot
        aggregates = snapshot.get("aggregates") or []
        if not isinstance(aggregates, list):
            raise ExplainError("snapshot.aggregates must be a list")
        self.aggregates = aggregates
        by_id = {}
        by_host = {}
        for agg in aggregates:
            if not isinstance(agg, dict):
                raise ExplainError("snapshot.aggregates entries must be mappings")
            by_id[agg.get("id")] = agg
            for h in agg.get("hosts") or []:
                by_host.setdefault(h, []).append(agg)
        self.default_az = default_az
        self._by_id = by_id
        self._by_host = by_host
        self.hosts = [Host(i, raw, by_id, by_host, default_az) for i, raw in enumerate(hosts)]
        for host in self.hosts:
            fixed = {}
            for rc, view in host.resources.items():
                if not isinstance(view, dict):
                    raise ExplainError("snapshot.hosts[%d].resources.%s must be a mapping" % (host.index, rc))
                try:
                    fixed[rc] = capacity.as_view(view)
                except capacity.CapacityError as exc:
                    raise ExplainError("snapshot.hosts[%d].resources.%s: %s" % (host.index, rc, exc)) from None
            host.resources = fixed
        self.instance_host = {}
        for host in self.hosts:
            for uuid in host.instances or ():
                self.instance_host[uuid] = host.name
        self.server_groups = snapshot.get("server_groups") or []
        zones = set()
        for az in snapshot.get("availability_zones") or []:
            if isinstance(az, dict) and az.get("name"):
                zones.add(az["name"])
        for host in self.hosts:
            zones.update(z for z in str(host.az).split(",") if z)
        self.zones = sorted(zones)

    def with_host(self, index, raw):
        """A copy of this cloud whose host ``index`` is rebuilt from ``raw`` (other hosts shared)."""
        clone = object.__new__(Cloud)
        clone.__dict__.update(self.__dict__)
        host = Host(index, raw, self._by_id, self._by_host, self.default_az)
        host.resources = {rc: capacity.resource_view(v, v.get("used") or 0)
                          for rc, v in (raw.get("resources") or {}).items()}
        clone.hosts = list(self.hosts)
        clone.hosts[index] = host
        return clone

    def az_aggregates(self, az):
        """Aggregates whose metadata availability_zone is ``az`` (map_az_to_placement_aggregate)."""
        return [a for a in self.aggregates if aggregate_metadata(a).get("availability_zone") == az]
