# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nova's request filters (nova/scheduler/request_filter.py), evaluated per host.

Nova turns them into the placement query (member_of, required and forbidden root
traits); here each one becomes a column so that a host's exclusion has a name and a
reason. Order and conditions follow ``ALL_REQUEST_FILTERS`` of nova 34.
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.hosts import aggregate_metadata

TENANT_METADATA_KEY = "filter_tenant_id"

# transform_image_metadata (image_metadata_prefilter): image property -> trait prefix.
IMAGE_METADATA_TRAITS = (
    ("hw_cdrom_bus", "COMPUTE_STORAGE_BUS"),
    ("hw_disk_bus", "COMPUTE_STORAGE_BUS"),
    ("hw_video_model", "COMPUTE_GRAPHICS_MODEL"),
    ("hw_vif_model", "COMPUTE_NET_VIF_MODEL"),
    ("hw_architecture", "HW_ARCH"),
    ("hw_emulation_architecture", "COMPUTE_ARCH"),
    ("hw_viommu_model", "COMPUTE_VIOMMU"),
)


def host_in_aggregates(host, aggregates):
    """Is the host's provider in one of these aggregates (placement member_of)?

    Uses the provider's placement aggregates when the snapshot has them, else the Nova
    aggregate membership (Nova mirrors host aggregates into placement).
    """
    uuids = {a.get("uuid") for a in aggregates if a.get("uuid")}
    if host.provider_aggregates is not None and uuids:
        return bool(host.provider_aggregates & uuids)
    ids = {str(a.get("id")) for a in aggregates}
    return bool(ids.intersection(host.aggregate_ids))


def _names(aggregates):
    return ", ".join(sorted(str(a.get("name") or a.get("id")) for a in aggregates))


class TenantAggregate(C.Check):
    """require_tenant_aggregate ([scheduler] limit_tenants_to_placement_aggregate)."""

    stage = "prefilter"
    name = "require_tenant_aggregate"

    def __init__(self, ctx):
        super().__init__("prefilter:tenant_aggregate")
        project = ctx.req["project_id"]
        self.required = ctx.conf["placement_aggregate_required_for_tenants"]
        aggs = []
        for agg in ctx.cloud.aggregates:
            metadata = aggregate_metadata(agg)
            # as Nova's query does: an aggregate with SOME metadata value equal to the project
            # (AggregateList.get_by_metadata(value=project)) and SOME filter_tenant_id* key, not
            # necessarily the same entry
            if any(v == project for v in metadata.values()) and any(
                    str(k).startswith(TENANT_METADATA_KEY) for k in metadata):
                aggs.append(agg)
        self.aggs = aggs
        self.project = project

    def key(self, host, ctx):
        return host.agg_key

    def evaluate(self, host, ctx, state):
        if self.aggs:
            if host_in_aggregates(host, self.aggs):
                return C.ok("in tenant aggregate %s" % _names(self.aggs))
            return C.fail(C.STATIC, "project %s is limited to aggregate(s) %s; host is not in them"
                          % (self.project, _names(self.aggs)), "not in tenant's aggregate")
        if self.required:
            return C.fail(C.STATIC, "no aggregate has filter_tenant_id=%s and placement_aggregate_required_for_"
                          "tenants is true (RequestFilterFailed: No hosts available for tenant)" % self.project,
                          "no aggregate for tenant")
        return C.ok("no aggregate is dedicated to project %s" % self.project)


class AvailabilityZone(C.Check):
    """map_az_to_placement_aggregate: AZ -> member_of the AZ's aggregates."""

    stage = "prefilter"
    name = "map_az_to_placement_aggregate"

    def __init__(self, ctx):
        super().__init__("prefilter:availability_zone")
        self.az = ctx.req["availability_zone"]
        self.aggs = ctx.cloud.az_aggregates(self.az) if self.az else []
        # Nova's API accepts an AZ that some compute is in (hosts outside AZ aggregates are in
        # default_availability_zone); anything else is a 400 before scheduling.
        self.exists = not self.az or bool(self.aggs) or self.az in ctx.cloud.zones
        self.note = None
        if self.az and not self.aggs and self.exists:
            self.note = ("no aggregate has availability_zone=%s: Nova adds no member_of, so every host "
                         "qualifies (create an aggregate to confine the default AZ)" % self.az)

    def key(self, host, ctx):
        return (host.agg_key, host.provider_aggregates)

    def evaluate(self, host, ctx, state):
        if not self.az:
            return C.ok("no availability zone requested")
        if not self.exists:
            return C.fail(C.STATIC, "availability zone %s does not exist (Nova's API refuses the request)"
                          % self.az, "AZ %s does not exist" % self.az)
        if not self.aggs:
            return C.ok("AZ %s has no aggregate: no restriction" % self.az)
        if host_in_aggregates(host, self.aggs):
            return C.ok("in AZ %s (aggregate %s)" % (self.az, _names(self.aggs)))
        return C.fail(C.STATIC, "host is in AZ %s, not in %s (aggregate(s) %s)" % (host.az, self.az, _names(self.aggs)),
                      "not in AZ %s" % self.az)

    def describe(self):
        result = super().describe()
        if self.note:
            result["note"] = self.note
        return result


class ForcedHost(C.Check):
    """``--availability-zone az:host[:node]``: only that host (filters are then skipped).

    With ``requested=True`` it is the ``host`` / ``hypervisor_hostname`` of microversion
    2.74 (a requested destination: placement ``in_tree``, the host filters still run).
    """

    stage = "prefilter"
    name = "forced_host"

    def __init__(self, ctx, requested=False):
        super().__init__("prefilter:requested_destination" if requested else "prefilter:forced_host",
                         "requested_destination" if requested else None)
        req = ctx.req
        self.host = req["requested_host"] if requested else req["forced_host"]
        self.node = req["requested_node"] if requested else req["forced_node"]
        self.requested = requested
        self.note = None if requested else req.get("az_note")

    def key(self, host, ctx):
        return (host.name, host.nodename)

    def evaluate(self, host, ctx, state):
        wanted = "%s%s" % (self.host or "*", (":" + self.node) if self.node else "")
        what = "requests" if self.requested else "forces"
        if self.host and host.name != self.host:
            return C.fail(C.STATIC, "the request %s host %s" % (what, wanted), "not the %s host" % (
                "requested" if self.requested else "forced"))
        if self.node and host.nodename != self.node:
            return C.fail(C.STATIC, "the request %s node %s" % (what, wanted), "not the %s node" % (
                "requested" if self.requested else "forced"))
        if self.requested:
            return C.ok("requested destination %s (the host filters still run)" % wanted)
        return C.ok("forced destination %s (host filters are skipped)" % wanted)

    def describe(self):
        result = super().describe()
        if self.note:
            result["note"] = self.note
        return result


class RequiredRootTrait(C.Check):
    """A prefilter that adds a required (or forbidden) trait on the compute node provider."""

    stage = "prefilter"

    def __init__(self, check_id, name, traits, forbidden=False, why=""):
        super().__init__(check_id, name)
        self.traits = tuple(sorted(traits))
        self.forbidden = forbidden
        self.why = why

    def key(self, host, ctx):
        return (host.traits, host.disabled)

    def evaluate(self, host, ctx, state):
        if host.traits is None:
            return C.unknown("provider traits unknown; %s needs %s" % (self.why, ", ".join(self.traits)))
        if self.forbidden:
            present = [t for t in self.traits if t in host.traits]
            if present:
                return C.fail(C.STATIC, "provider has forbidden trait %s (%s)" % (", ".join(present), self.why),
                              "has trait %s" % present[0])
            return C.ok("no trait %s" % ", ".join(self.traits))
        missing = [t for t in self.traits if t not in host.traits]
        if missing:
            return C.fail(C.STATIC, "provider lacks trait %s (%s)" % (", ".join(missing), self.why),
                          "missing trait %s" % missing[0])
        return C.ok("has %s" % ", ".join(self.traits))


class ComputeStatus(C.Check):
    """compute_status_filter: forbids COMPUTE_STATUS_DISABLED (always on)."""

    stage = "prefilter"
    name = "compute_status_filter"

    def __init__(self, ctx):
        super().__init__("prefilter:compute_status")

    def key(self, host, ctx):
        return (host.traits is not None and "COMPUTE_STATUS_DISABLED" in host.traits, host.disabled,
                host.disabled_reason)

    def evaluate(self, host, ctx, state):
        if host.traits is not None:
            if "COMPUTE_STATUS_DISABLED" in host.traits:
                reason = "compute service disabled"
                if host.disabled_reason:
                    reason += " (%s)" % host.disabled_reason
                return C.fail(C.STATIC, reason + ": provider has trait COMPUTE_STATUS_DISABLED", "disabled")
            return C.ok("no COMPUTE_STATUS_DISABLED trait")
        if host.disabled is None:
            return C.unknown("provider traits and service status unknown")
        if host.disabled:
            return C.fail(C.STATIC, "compute service disabled%s" % (
                " (%s)" % host.disabled_reason if host.disabled_reason else ""), "disabled")
        return C.ok("service enabled (traits unknown)")


class IsolatedAggregates(C.Check):
    """isolate_aggregates ([scheduler] enable_isolated_aggregate_filtering)."""

    stage = "prefilter"
    name = "isolate_aggregates"

    def __init__(self, ctx, required_traits):
        super().__init__("prefilter:isolated_aggregates")
        keys = {"trait:%s" % t for t in required_traits}
        self.aggs = []
        for agg in ctx.cloud.aggregates:
            metadata = aggregate_metadata(agg)
            for key, value in metadata.items():
                if key.startswith("trait:") and value == "required" and key not in keys:
                    self.aggs.append((agg, key))
                    break

    def key(self, host, ctx):
        return (host.agg_key, host.provider_aggregates)

    def evaluate(self, host, ctx, state):
        hits = [(a, k) for a, k in self.aggs if host_in_aggregates(host, [a])]
        if hits:
            agg, key = hits[0]
            return C.fail(C.STATIC, "aggregate %s is isolated (%s=required) and the request does not require %s"
                          % (agg.get("name") or agg.get("id"), key, key[len("trait:"):]),
                          "isolated aggregate")
        return C.ok("in no isolated aggregate")


def image_metadata_traits(properties):
    traits = []
    for key, prefix in IMAGE_METADATA_TRAITS:
        if properties.get(key):
            traits.append("%s_%s" % (prefix, str(properties[key]).replace("-", "_").upper()))
    return traits


def build(ctx):
    """The prefilter columns for this request and configuration, in Nova's order."""
    conf = ctx.conf
    req = ctx.req
    result = []
    if conf["limit_tenants_to_placement_aggregate"]:
        result.append(TenantAggregate(ctx))
    major = conf["nova_major"]
    if major >= 28 or conf["query_placement_for_availability_zone"]:
        result.append(AvailabilityZone(ctx))
    elif req["availability_zone"]:
        result.append(C.ConstantCheck(
            "prefilter:availability_zone", "map_az_to_placement_aggregate",
            C.ok("not applied before 2023.2 unless query_placement_for_availability_zone; "
                 "AvailabilityZoneFilter checks the AZ"), stage="prefilter"))
    if req["forced_host"] or req["forced_node"]:
        result.append(ForcedHost(ctx))
    if req.get("requested_host") or req.get("requested_node"):
        result.append(ForcedHost(ctx, requested=True))
    if conf["query_placement_for_image_type_support"] and not req["is_bfv"] and req["image"].get("disk_format"):
        trait = "COMPUTE_IMAGE_TYPE_%s" % str(req["image"]["disk_format"]).upper()
        result.append(RequiredRootTrait("prefilter:image_type", "require_image_type_support", [trait],
                                        why="image disk_format %s" % req["image"]["disk_format"]))
    if major >= 20:  # compute_status_filter appeared in Train
        result.append(ComputeStatus(ctx))
    if conf["enable_isolated_aggregate_filtering"]:
        result.append(IsolatedAggregates(ctx, req["placement"]["required_traits"]))
    if conf["image_metadata_prefilter"]:
        traits = image_metadata_traits(req["image"]["properties"])
        if traits:
            result.append(RequiredRootTrait("prefilter:image_metadata", "transform_image_metadata", traits,
                                            why="image metadata prefilter"))
    if req["flavor"]["extra_specs"].get("accel:device_profile"):
        result.append(RequiredRootTrait("prefilter:accelerators", "accelerators_filter", ["COMPUTE_ACCELERATORS"],
                                        why="accel:device_profile"))
    return result
