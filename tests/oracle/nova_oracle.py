"""Build Nova's own scheduler objects (HostState, RequestSpec, InstanceGroup) from snapshot data.

The oracle tests feed the SAME snapshot hosts and request to the explain engine and to
Nova's filter classes (nova.scheduler.filters.*) and compare the verdicts. Nothing here
touches a database: every filter runs on in-memory objects (ComputeFilter's servicegroup
DB driver only compares the service's last_seen_up with now).

HostState attributes are derived from the snapshot host with the formulas documented in
docs/explain.md ("HostState from a snapshot"), restated here independently of the engine.
"""

import datetime
import json
import os

os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")

_READY = {}


def nova():
    """Import nova once, register its objects, parse an empty config."""
    if _READY:
        return _READY
    import nova.conf
    from nova import objects
    objects.register_all()
    conf = nova.conf.CONF
    conf([], project="nova", default_config_files=[])
    from nova.scheduler import host_manager
    from nova.scheduler import filters as nova_filters
    import nova.scheduler.filters.all_hosts_filter  # noqa: F401 (load every module)
    _READY.update(objects=objects, conf=conf, host_manager=host_manager, filters=nova_filters,
                  classes={cls.__name__: cls for cls in nova_filters.all_filters()})
    return _READY


def set_conf(conf_values):
    """Apply [filter_scheduler] options (engine scheduler keys) as CONF overrides."""
    n = nova()
    conf = n["conf"]
    group_opts = {
        "max_instances_per_host": "filter_scheduler", "max_io_ops_per_host": "filter_scheduler",
        "isolated_hosts": "filter_scheduler", "isolated_images": "filter_scheduler",
        "restrict_isolated_hosts_to_isolated_images": "filter_scheduler",
        "aggregate_image_properties_isolation_namespace": "filter_scheduler",
        "aggregate_image_properties_isolation_separator": "filter_scheduler",
        "image_properties_default_architecture": "filter_scheduler",
    }
    conf.clear_override  # noqa: B018 (exists)
    for key, group in group_opts.items():
        conf.clear_override(key, group=group)
    for key, value in (conf_values or {}).items():
        if key in group_opts:
            conf.set_override(key, value, group=group_opts[key])


def host_state(raw, aggregates_by_id):
    """A real nova HostState for a snapshot host."""
    n = nova()
    objects = n["objects"]
    hs = n["host_manager"].HostState(raw["name"], raw.get("nodename") or raw["name"], "cell1")
    res = raw.get("resources") or {}
    mem, disk, cpu = res.get("MEMORY_MB", {}), res.get("DISK_GB", {}), res.get("VCPU", {})
    hs.uuid = raw.get("provider_uuid")
    hs.total_usable_ram_mb = mem.get("total", 0)
    hs.free_ram_mb = mem.get("total", 0) - mem.get("reserved", 0) - mem.get("used", 0)
    hs.total_usable_disk_gb = disk.get("total", 0)
    hs.free_disk_mb = (disk.get("total", 0) - disk.get("reserved", 0) - disk.get("used", 0)) * 1024
    hs.disk_mb_used = (disk.get("used", 0) + disk.get("reserved", 0)) * 1024
    hs.vcpus_total = cpu.get("total", 0)
    hs.vcpus_used = cpu.get("used", 0)
    hs.cpu_allocation_ratio = cpu.get("allocation_ratio")
    hs.ram_allocation_ratio = mem.get("allocation_ratio")
    hs.disk_allocation_ratio = disk.get("allocation_ratio")
    hs.num_instances = raw.get("num_instances") or 0
    hs.num_io_ops = raw.get("num_io_ops") or 0
    hs.failed_builds = raw.get("failed_builds") or 0
    hs.host_ip = raw.get("host_ip")
    hs.hypervisor_type = raw.get("hypervisor_type")
    hs.hypervisor_version = raw.get("hypervisor_version")
    hs.hypervisor_hostname = raw.get("nodename") or raw["name"]
    cpu_info = raw.get("cpu_info")
    hs.cpu_info = json.dumps(cpu_info) if isinstance(cpu_info, dict) else cpu_info
    hs.supported_instances = raw.get("supported_instances")
    hs.stats = dict(raw.get("stats") or {})
    service = raw.get("service") or {}
    now = datetime.datetime.utcnow()
    seen = now if service.get("state") == "up" else now - datetime.timedelta(hours=1)
    hs.service = {"disabled": service.get("status") == "disabled", "disabled_reason": service.get("disabled_reason"),
                  "forced_down": bool(service.get("forced_down")), "last_seen_up": seen, "created_at": seen,
                  "host": raw["name"], "binary": "nova-compute"}
    aggs = []
    for agg_id in raw.get("aggregates") or []:
        agg = aggregates_by_id[agg_id]
        metadata = dict(agg.get("metadata") or {})
        if agg.get("availability_zone") and "availability_zone" not in metadata:
            metadata["availability_zone"] = agg["availability_zone"]
        aggs.append(objects.Aggregate(id=agg["id"], uuid=agg.get("uuid"), name=agg.get("name"),
                                      hosts=list(agg.get("hosts") or []), metadata=metadata))
    hs.aggregates = aggs
    hs.instances = {uuid: objects.Instance(uuid=uuid) for uuid in raw.get("instances") or []}
    return hs


def request_spec(request, snapshot):
    """A real nova RequestSpec for an engine request (group hosts from the snapshot's instances)."""
    n = nova()
    objects = n["objects"]
    flavor = request["flavor"]
    fl = objects.Flavor(name=flavor.get("name", "f"), flavorid="f1", vcpus=flavor["vcpus"],
                        memory_mb=flavor["ram"], root_gb=flavor.get("disk", 0),
                        ephemeral_gb=flavor.get("ephemeral", 0), swap=flavor.get("swap", 0),
                        extra_specs=dict(flavor.get("extra_specs") or {}))
    image = request.get("image") or {}
    image_dict = {"properties": dict(image.get("properties") or {})}
    if image.get("id"):
        image_dict["id"] = image["id"]
    image_meta = objects.ImageMeta.from_dict(image_dict)
    hints = {k: (v if isinstance(v, list) else [v]) for k, v in (request.get("scheduler_hints") or {}).items()
             if k != "group"}
    spec = objects.RequestSpec(flavor=fl, image=image_meta, project_id=request.get("project_id"),
                               scheduler_hints=hints, instance_uuid="new-instance", num_instances=1)
    group_ref = (request.get("scheduler_hints") or {}).get("group")
    if group_ref:
        group = next(g for g in snapshot["server_groups"] if g["id"] == group_ref or g["name"] == group_ref)
        where = {}
        for h in snapshot["hosts"]:
            for uuid in h.get("instances") or []:
                where[uuid] = h["name"]
        hosts = sorted({where[m] for m in group["members"] if m in where})
        spec.instance_group = objects.InstanceGroup(uuid=group["id"], name=group["name"], policy=group["policy"],
                                                    policies=[group["policy"]],  # as loaded from the DB
                                                    rules=dict(group.get("rules") or {}),
                                                    members=list(group["members"]), hosts=hosts)
    else:
        spec.instance_group = None
    return spec


def nova_verdict(filter_name, hs, spec):
    """'pass' / 'fail' / 'error' from Nova's own filter class."""
    cls = nova()["classes"][filter_name]
    try:
        return "pass" if cls().host_passes(hs, spec) else "fail"
    except Exception as exc:  # noqa: BLE001 - Nova raising is a verdict too
        return "error:%s" % type(exc).__name__
