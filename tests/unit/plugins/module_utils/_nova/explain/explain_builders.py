"""Small snapshot builders for the explain engine's unit tests."""

import copy


def resources(vcpu=16, ram=65536, disk=500, used_vcpu=0, used_ram=0, used_disk=0, cpu_ratio=4.0, ram_ratio=1.0,
              disk_ratio=1.0, reserved_ram=512, pcpu=None, used_pcpu=0):
    res = {
        "VCPU": {"total": vcpu, "reserved": 0, "allocation_ratio": cpu_ratio, "used": used_vcpu, "min_unit": 1,
                 "max_unit": vcpu, "step_size": 1},
        "MEMORY_MB": {"total": ram, "reserved": reserved_ram, "allocation_ratio": ram_ratio, "used": used_ram,
                      "min_unit": 1, "max_unit": ram, "step_size": 1},
        "DISK_GB": {"total": disk, "reserved": 0, "allocation_ratio": disk_ratio, "used": used_disk, "min_unit": 1,
                    "max_unit": disk, "step_size": 1},
    }
    if pcpu:
        res["PCPU"] = {"total": pcpu, "reserved": 0, "allocation_ratio": 1.0, "used": used_pcpu, "min_unit": 1,
                       "max_unit": pcpu, "step_size": 1}
    return res


def host(name, az="nova", aggregates=(), status="enabled", state="up", traits=(), instances=(), num_io_ops=0,
         host_ip="192.0.2.1", **res):
    traits = list(traits)
    if status == "disabled":
        traits.append("COMPUTE_STATUS_DISABLED")
    return {
        "name": name, "nodename": name, "provider_uuid": "rp-" + name, "hypervisor_type": "QEMU",
        "hypervisor_version": 8002000, "host_ip": host_ip,
        "service": {"status": status, "state": state, "zone": az, "disabled_reason": "maintenance" if status == "disabled" else None,
                    "forced_down": False},
        "availability_zone": az, "aggregates": list(aggregates), "resources": resources(**res),
        "traits": traits, "provider_aggregates": None, "instances": list(instances),
        "num_instances": len(instances), "num_io_ops": num_io_ops, "stats": {},
        "supported_instances": [["x86_64", "qemu", "hvm"]],
    }


def aggregate(agg_id, name, hosts, az=None, metadata=None):
    md = dict(metadata or {})
    if az:
        md["availability_zone"] = az
    return {"id": agg_id, "uuid": "agg-%s" % agg_id, "name": name, "availability_zone": az, "hosts": list(hosts),
            "metadata": md}


def snapshot(hosts, aggregates=(), server_groups=(), scheduler=None, release=None):
    return {"snapshot_version": 1, "source": {"nova_release": release}, "scheduler": scheduler,
            "hosts": copy.deepcopy(list(hosts)), "aggregates": copy.deepcopy(list(aggregates)),
            "availability_zones": [], "server_groups": copy.deepcopy(list(server_groups))}


def flavor(name="m1.small", vcpus=1, ram=2048, disk=20, **extra_specs):
    return {"name": name, "vcpus": vcpus, "ram": ram, "disk": disk, "extra_specs": dict(extra_specs)}


def twelve_hosts():
    """The issue's example: 0/12 fit m1.xlarge in az1 (5 memory, 3 disabled, 4 other AZ)."""
    hosts = []
    for i in range(5):
        hosts.append(host("full%d" % i, az="az1", aggregates=[1], used_ram=60000))
    for i in range(3):
        hosts.append(host("off%d" % i, az="az1", aggregates=[1], status="disabled"))
    for i in range(4):
        hosts.append(host("other%d" % i, az="az2", aggregates=[2]))
    aggs = [aggregate(1, "rack1", [h["name"] for h in hosts[:8]], az="az1"),
            aggregate(2, "rack2", [h["name"] for h in hosts[8:]], az="az2")]
    return snapshot(hosts, aggs)
