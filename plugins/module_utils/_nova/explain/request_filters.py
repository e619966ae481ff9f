# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The request filters of nova 34's ``ALL_REQUEST_FILTERS`` after ``accelerators_filter``.

packed_virtqueue_filter, routed_networks_filter, remote_managed_ports_filter,
ephemeral_encryption_filter, virtio_sound_filter, tpm_secret_security_filter and
owner_nova_filter. Each adds required root traits (or ``member_of`` aggregates) to the
placement query when the flavor, image, ports or the compute versions ask for it.
:func:`additions` says what each adds (tests/oracle/test_request_filters_oracle.py
compares it with Nova's functions on generated RequestSpecs); :func:`build` turns the
additions into prefilter columns.

Request data the engine reads beyond the flavor and image: ``request.networks``, a list of
``{port_id, network_id, remote_managed, aggregates}`` (``remote_managed``: the port's
vnic_type is remote-managed; ``aggregates``: the placement aggregates of the network's or
subnet's segments). Scheduler options: ``query_placement_for_routed_network_aggregates``
and ``compute_service_min_version`` (the lowest nova-compute service version in all cells).
"""

from __future__ import annotations

from ansible_collections.stackops.nova.plugins.module_utils._nova.explain import checks as C
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.prefilters import RequiredRootTrait
from ansible_collections.stackops.nova.plugins.module_utils._nova.explain.prefilters import host_in_aggregates

NAMES = ("packed_virtqueue_filter", "routed_networks_filter", "remote_managed_ports_filter",
         "ephemeral_encryption_filter", "virtio_sound_filter", "tpm_secret_security_filter", "owner_nova_filter")
MIN_COMPUTE_VERSION_OWNER_TRAIT = 73  # nova.scheduler.request_filter
EPH_FORMATS = ("plain", "luks", "luksv2")  # fields.BlockDeviceEncryptionFormatType.ALL
SOUND_MODELS = ("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio")
TPM_VERSIONS = ("1.2", "2.0")
TPM_MODELS = ("tpm-tis", "tpm-crb")
TPM_SECURITY = {"user": "COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER",
                "host": "COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST",
                "deployment": "COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT"}
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


class NovaRefuses(Exception):
    """Nova raises (FlavorImageConflict, Invalid, RequestFilterFailed): the request fails."""


def _bool(value):
    """strutils.bool_from_string (not strict)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _image_bool(props, key):
    """An image boolean as ImageMetaProps coerces it (FlexibleBooleanField), or None."""
    if key not in props or props[key] is None:
        return None
    return _bool(props[key])


def _unique(specs, props, key):
    """hardware._get_unique_flavor_image_meta (prefix hw)."""
    flavor_value = specs.get("hw:" + key)
    image_value = props.get("hw_" + key)
    if image_value and flavor_value and image_value != flavor_value:
        raise NovaRefuses("FlavorImageConflict: flavor hw:%s=%s, image hw_%s=%s" % (
            key, flavor_value, key, image_value))
    return flavor_value or image_value


def packed_virtqueue(specs, props):
    """hardware.get_packed_virtqueue_constraint."""
    flavor_text = specs.get("hw:virtio_packed_ring")
    flavor_value = None if flavor_text is None else _bool(flavor_text)
    image_value = _image_bool(props, "hw_virtio_packed_ring")
    if image_value is not None and flavor_value is not None and image_value != flavor_value:
        raise NovaRefuses("FlavorImageConflict: flavor hw:virtio_packed_ring=%s, image hw_virtio_packed_ring=%s"
                          % (flavor_value, image_value))
    return bool(flavor_value or image_value)


def ephemeral_encryption(specs, props):
    """get_ephemeral_encryption_constraint + get_ephemeral_encryption_format -> traits."""
    flavor_text = specs.get("hw:ephemeral_encryption")
    flavor_value = None if flavor_text is None else _bool(flavor_text)
    image_value = _image_bool(props, "hw_ephemeral_encryption")
    if flavor_value is not None and image_value is not None and flavor_value != image_value:
        raise NovaRefuses("FlavorImageConflict: flavor hw:ephemeral_encryption=%s, image hw_ephemeral_encryption=%s"
                          % (flavor_text, image_value))
    if not (flavor_value or image_value):
        return []
    traits = ["COMPUTE_EPHEMERAL_ENCRYPTION"]
    fmt = _unique(specs, props, "ephemeral_encryption_format")
    if fmt:
        if fmt not in EPH_FORMATS:
            raise NovaRefuses("Invalid ephemeral encryption format %s. Allowed values: %s" % (
                fmt, ", ".join(EPH_FORMATS)))
        traits.append("COMPUTE_EPHEMERAL_ENCRYPTION_%s" % fmt.upper())
    return traits


def sound_model(specs, props):
    model = _unique(specs, props, "sound_model")
    if model and model not in SOUND_MODELS:
        raise NovaRefuses("Invalid sound device model %r. Allowed values: %s." % (model, ", ".join(SOUND_MODELS)))
    return model


def tpm_traits(specs, props):
    """get_vtpm_constraint + get_tpm_secret_security_constraint -> traits."""
    version = _unique(specs, props, "tpm_version")
    if version is None:
        return []
    if version not in TPM_VERSIONS:
        raise NovaRefuses("Invalid TPM version %r. Allowed values: %s." % (version, ", ".join(TPM_VERSIONS)))
    model = _unique(specs, props, "tpm_model")
    if model is not None:
        if model not in TPM_MODELS:
            raise NovaRefuses("Invalid TPM model %r. Allowed values: %s." % (model, ", ".join(TPM_MODELS)))
        if model == "tpm-crb" and version != "2.0":
            raise NovaRefuses("TPM model CRB is only valid with TPM version 2.0.")
    security = specs.get("hw:tpm_secret_security") or "user"
    if security not in TPM_SECURITY:
        raise NovaRefuses("RequestFilterFailed: TPM secret security '%s' is not supported." % security)
    return [TPM_SECURITY[security]]


def additions(req, conf):
    """What each of the seven request filters adds, in Nova's order.

    Returns a list of ``{"name", "traits", "aggregates", "state", "why"}``: ``state`` is
    ``added`` (traits / member_of added), ``none`` (the filter adds nothing), ``unknown``
    (the request or snapshot lacks what decides it) or ``error`` (Nova refuses).
    ``aggregates`` is a list of aggregate sets (each one a member_of, ANDed).
    """
    specs = req["flavor"]["extra_specs"]
    props = req["image"]["properties"]
    networks = req.get("networks")
    out = []

    def entry(name, fn):
        try:
            out.append(dict({"name": name, "traits": [], "aggregates": []}, **fn()))
        except NovaRefuses as exc:
            out.append({"name": name, "traits": [], "aggregates": [], "state": "error", "why": str(exc)})

    def packed():
        if packed_virtqueue(specs, props):
            return {"traits": ["COMPUTE_NET_VIRTIO_PACKED"], "state": "added", "why": "hw:virtio_packed_ring"}
        return {"state": "none", "why": "no packed virtqueue requested"}

    def routed():
        if not _bool(conf.get("query_placement_for_routed_network_aggregates") or False):
            return {"state": "none", "why": "[scheduler] query_placement_for_routed_network_aggregates is off"}
        if networks is None:
            return {"state": "unknown", "why": "the request's networks are not known (request.networks); each "
                    "network on routed segments adds member_of its segments' aggregates"}
        aggs = []
        for net in networks:
            if not (net.get("port_id") or net.get("network_id")):
                continue
            if net.get("aggregates") is None:
                return {"state": "unknown", "why": "segment aggregates of %s unknown (request.networks[].aggregates)"
                        % (net.get("port_id") or net.get("network_id"))}
            if net["aggregates"]:
                aggs.append(sorted(net["aggregates"]))
        if aggs:
            return {"aggregates": aggs, "state": "added", "why": "routed network segments"}
        return {"state": "none", "why": "no requested network is on routed segments"}

    def remote():
        if networks is None:
            return {"state": "none", "why": "the request names no ports (request.networks); a remote-managed port "
                    "would add COMPUTE_REMOTE_MANAGED_PORTS"}
        ports = [n for n in networks if n.get("port_id")]
        if any(p.get("remote_managed") is None for p in ports):
            return {"state": "unknown", "why": "whether port(s) are remote-managed is unknown "
                    "(request.networks[].remote_managed)"}
        if any(_bool(p["remote_managed"]) for p in ports):
            return {"traits": ["COMPUTE_REMOTE_MANAGED_PORTS"], "state": "added", "why": "a remote-managed port"}
        return {"state": "none", "why": "no remote-managed port"}

    def ephemeral():
        traits = ephemeral_encryption(specs, props)
        if traits:
            return {"traits": traits, "state": "added", "why": "ephemeral encryption requested"}
        return {"state": "none", "why": "no ephemeral encryption requested"}

    def sound():
        if sound_model(specs, props) == "virtio":
            return {"traits": ["COMPUTE_SOUND_MODEL_VIRTIO"], "state": "added", "why": "hw:sound_model=virtio"}
        return {"state": "none", "why": "no virtio sound device"}

    def tpm():
        traits = tpm_traits(specs, props)
        if traits:
            return {"traits": traits, "state": "added", "why": "vTPM with secret security %s" % (
                specs.get("hw:tpm_secret_security") or "user (default)")}
        return {"state": "none", "why": "no vTPM requested"}

    def owner():
        version = conf.get("compute_service_min_version")
        if version is None:
            return {"traits": ["OWNER_NOVA"], "state": "unknown",
                    "why": "the lowest nova-compute service version is unknown (scheduler.compute_service_min_version)"
                    "; from %d on Nova requires OWNER_NOVA" % MIN_COMPUTE_VERSION_OWNER_TRAIT}
        if int(version) < MIN_COMPUTE_VERSION_OWNER_TRAIT:
            return {"state": "none", "why": "a nova-compute is older than service version %d"
                    % MIN_COMPUTE_VERSION_OWNER_TRAIT}
        return {"traits": ["OWNER_NOVA"], "state": "added", "why": "every nova-compute reports OWNER_NOVA"}

    for name, fn in zip(NAMES, (packed, routed, remote, ephemeral, sound, tpm, owner)):
        entry(name, fn)
    return out


class _Unknowable(RequiredRootTrait):
    """A trait Nova may or may not require: hosts with it pass, the others are unknown."""

    def evaluate(self, host, ctx, state):
        if host.traits is not None and all(t in host.traits for t in self.traits):
            return C.ok("has %s (passes whether or not Nova requires it)" % ", ".join(self.traits))
        return C.unknown("%s; the host %s" % (self.why, "traits are unknown" if host.traits is None else
                                              "lacks %s" % ", ".join(self.traits)))


class MemberOf(C.Check):
    """routed_networks_filter: member_of the segments' aggregates (one set per network, ANDed)."""

    stage = "prefilter"
    name = "routed_networks_filter"

    def __init__(self, aggregates):
        super().__init__("prefilter:routed_networks")
        self.sets = aggregates

    def key(self, host, ctx):
        return (host.agg_key, host.provider_aggregates)

    def evaluate(self, host, ctx, state):
        for uuids in self.sets:
            if host.provider_aggregates is None:
                return C.unknown("provider aggregates unknown; routed networks need member_of %s" % ", ".join(uuids))
            if not host_in_aggregates(host, [{"uuid": u} for u in uuids]):
                return C.fail(C.STATIC, "not in the aggregates of the network's segments (%s)" % ", ".join(uuids),
                              "not on the routed segment")
        return C.ok("on the routed networks' segments")


def build(ctx):
    """Prefilter columns for the seven request filters (only those that add something)."""
    result = []
    for item in additions(ctx.req, ctx.conf):
        name = item["name"]
        check_id = "prefilter:%s" % name.replace("_filter", "")
        if item["state"] == "error":
            result.append(C.ConstantCheck(check_id, name, C.cell(C.ERROR, "Nova refuses the request: %s"
                                                                 % item["why"]), stage="prefilter"))
        elif item["state"] == "added" and item["traits"]:
            result.append(RequiredRootTrait(check_id, name, item["traits"], why=item["why"]))
        elif item["state"] == "added" and item["aggregates"]:
            result.append(MemberOf(item["aggregates"]))
        elif item["state"] == "unknown" and name == "owner_nova_filter":
            # Every nova-compute from service version 73 on reports OWNER_NOVA on its provider at each
            # update, and Nova requires the trait only when all of them are that new: a Nova-managed
            # host passes either way, so no column (a host without the trait runs an older compute,
            # and then Nova adds nothing). Given compute_service_min_version, the column is exact.
            continue
        elif item["state"] == "unknown" and item["traits"]:
            result.append(_Unknowable(check_id, name, item["traits"], why=item["why"]))
        elif item["state"] == "unknown":
            result.append(C.ConstantCheck(check_id, name, C.unknown(item["why"]), stage="prefilter"))
    return result
