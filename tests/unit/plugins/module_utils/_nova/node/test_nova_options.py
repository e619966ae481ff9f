"""nova_options: effective values against oslo.config loading Nova's own options (the oracle), CPU
set checks against Nova's libvirt driver, device_spec matching, reserved huge pages against
nova.virt.hardware."""

import json
import os
import types
import warnings

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import nova_options as no


def _oslo(files, dirs=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oslo_config import cfg
        import nova.conf
    conf = cfg.ConfigOpts()
    for name in dir(nova.conf):
        mod = getattr(nova.conf, name)
        if isinstance(mod, types.ModuleType) and hasattr(mod, "register_opts"):
            try:
                mod.register_opts(conf)
            except Exception:  # a module needing something else registered first: not ours
                pass
    conf(args=[], default_config_files=list(files), default_config_dirs=list(dirs),
         project="nova", validate_default_values=True)
    return conf


FILE_A = """[DEFAULT]
cpu_allocation_ratio = 2.0
reserved_host_memory_mb = 2048
reserved_huge_pages = node:0,size:2048,count:64
host = compute-a
config_drive_format = vfat
[compute]
cpu_dedicated_set = 2-7
cpu_shared_set = 0,1
[pci]
device_spec = {"vendor_id": "8086", "product_id": "154c", "physical_network": "physnet1"}
alias = {"name": "nic", "vendor_id": "8086", "product_id": "154c", "device_type": "type-VF"}
[libvirt]
live_migration_inbound_addr = compute-a.lm.example
cpu_mode = host-model
"""

FILE_B = """[DEFAULT]
cpu_allocation_ratio = 4.0
reserved_huge_pages = node:1,size:1GB,count:2
force_config_drive = yes
[pci]
device_spec = [{"address": "0000:00:1f.*"}]
[libvirt]
live_migration_with_native_tls = true
"""

DIR_C = {"10-ratio.conf": "[DEFAULT]\nram_allocation_ratio = 1.5\n",
         "20-later.conf": "[DEFAULT]\nram_allocation_ratio = 1.25\nreserved_host_disk_mb = 100\n",
         "ignored.txt": "[DEFAULT]\nram_allocation_ratio = 9\n"}


@pytest.fixture
def confs(tmp_path):
    a = tmp_path / "nova.conf"
    a.write_text(FILE_A)
    b = tmp_path / "nova-compute.conf"
    b.write_text(FILE_B)
    d = tmp_path / "nova.conf.d"
    d.mkdir()
    for name, text in DIR_C.items():
        (d / name).write_text(text)
    return str(a), str(b), str(d)


def test_effective_values_match_oslo_config(confs):
    a, b, d = confs
    w = []
    eff, files = no.read_options([a, b, d], w)  # as oslo.config reads default files, then default dirs
    assert w == [] and files[:2] == [a, b] and files[2:] == [d + "/10-ratio.conf", d + "/20-later.conf"]
    no.apply_release_defaults(eff, 34)  # the virtualenv's Nova
    conf = _oslo([a, b], [d])
    compared = 0
    for (section, option), (kind, default) in no.OPTIONS.items():
        if (section, option) == ("DEFAULT", "my_ip") and eff[(section, option)] is None:
            continue  # unset: Nova's default is computed from this machine's addresses
        if option in ("passthrough_whitelist", "cpu_model"):
            continue  # deprecated names: oslo.config answers with the new option's value
        group = conf if section == "DEFAULT" else getattr(conf, section)
        try:
            theirs = getattr(group, option)
        except Exception:
            continue  # an option this Nova no longer registers (the legacy names)
        ours = eff[(section, option)]
        if kind == "multi":
            if option == "reserved_huge_pages":
                theirs = [",".join("%s:%s" % kv for kv in item.items()) for item in theirs]
            assert ours == list(theirs), option
        elif section == "compute" or option in ("vcpu_pin_set",):
            assert ours == theirs, option
        else:
            assert ours == theirs, (section, option, ours, theirs)
        compared += 1
    assert compared >= 30


def test_default_paths_from_the_running_nova_compute(tmp_path, write):
    write(tmp_path, "proc/1/cmdline", "/sbin/init\0")
    write(tmp_path, "proc/77/cmdline",
          "/usr/bin/python3\0/usr/bin/nova-compute\0--config-file=/etc/nova/nova.conf\0"
          "--config-dir\0/etc/nova/extra.d\0--config-file\0/etc/nova/nova-compute.conf\0")
    paths, how = no.default_paths(root=str(tmp_path), proc_root=str(tmp_path))
    # files and directories of the command line in their order, no default ones
    assert paths == ["/etc/nova/nova.conf", "/etc/nova/extra.d", "/etc/nova/nova-compute.conf"]
    assert "running nova-compute" in how
    # Debian's unit: two --config-file, no --config-dir: the default directory comes first
    write(tmp_path, "proc/77/cmdline",
          "/usr/bin/python3\0/usr/bin/nova-compute\0--config-file=/etc/nova/nova.conf\0"
          "--config-file=/etc/nova/nova-compute.conf\0")
    os.makedirs(str(tmp_path / "etc/nova/nova.conf.d"))
    paths, how = no.default_paths(root=str(tmp_path), proc_root=str(tmp_path))
    assert paths == ["/etc/nova/nova.conf.d", "/etc/nova/nova.conf", "/etc/nova/nova-compute.conf"]


def test_the_order_is_oslo_configs(tmp_path):
    """Debian's order (default dir, then the command line's files) against oslo.config itself."""
    d = tmp_path / "nova.conf.d"
    d.mkdir()
    (d / "10.conf").write_text("[DEFAULT]\nreserved_host_memory_mb = 1\ncpu_allocation_ratio = 3.0\n")
    main = tmp_path / "nova.conf"
    main.write_text("[DEFAULT]\nreserved_host_memory_mb = 2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oslo_config import cfg
        import nova.conf.compute
    conf = cfg.ConfigOpts()
    nova.conf.compute.register_opts(conf)
    conf(args=["--config-file", str(main)], default_config_files=[], default_config_dirs=[str(d)], project="nova")
    eff, dummy = no.read_options([str(d), str(main)], [])
    assert (eff[("DEFAULT", "reserved_host_memory_mb")], eff[("DEFAULT", "cpu_allocation_ratio")]) == \
        (conf.reserved_host_memory_mb, conf.cpu_allocation_ratio) == (2, 3.0)


def test_default_paths_without_a_process(tmp_path, write):
    write(tmp_path, "etc/nova/nova.conf", "")
    write(tmp_path, "etc/nova/nova-compute.conf", "")
    paths, how = no.default_paths(root=str(tmp_path), proc_root=str(tmp_path))
    assert paths == ["/etc/nova/nova.conf", "/etc/nova/nova-compute.conf"] and how == "default locations"
    eff, files = no.read_options(paths, [], root=str(tmp_path))
    assert files == paths


def test_missing_unreadable_and_bad_values_are_warnings(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_bytes(b"[DEFAULT]\nreserved_host_memory_mb = lots\n[libvirt]\nlive_migration_tunnelled = maybe\n")
    latin = tmp_path / "latin.conf"
    latin.write_bytes(b"[DEFAULT]\nhost = caf\xe9\n")
    w = []
    eff, files = no.read_options([str(tmp_path / "absent.conf"), str(bad), str(latin)], w)
    assert files == [str(bad)]
    assert eff[("DEFAULT", "reserved_host_memory_mb")] == 512  # Nova's default
    assert eff[("libvirt", "live_migration_tunnelled")] is False
    text = "\n".join(w)
    assert "absent.conf does not exist" in text and "latin.conf could not be read" in text
    assert "'lots' is not a valid int" in text and "'maybe' is not a valid bool" in text


def _nova_driver(online, dedicated=None, shared=None, pin=None, reserved_cpus=0):
    """Nova's LibvirtDriver CPU set methods with the options set (the oracle)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nova.conf
        from nova.virt.libvirt import driver as lvdriver
    conf = nova.conf.CONF
    conf.set_override("cpu_dedicated_set", dedicated, group="compute")
    conf.set_override("cpu_shared_set", shared, group="compute")
    conf.set_override("vcpu_pin_set", pin)
    conf.set_override("reserved_host_cpus", reserved_cpus)

    class Host:
        def get_online_cpus(self):
            return set(online)

        get_available_cpus = get_online_cpus
    drv = lvdriver.LibvirtDriver.__new__(lvdriver.LibvirtDriver)
    drv._host = Host()
    return drv


def _nova_verdict(online, **opts):
    from nova import exception
    drv = _nova_driver(online, **opts)
    try:
        drv._check_cpu_set_configuration()
        return "ok", sorted(drv._get_vcpu_available()), sorted(drv._get_pcpu_available())
    except (exception.Invalid, exception.InvalidConfiguration):
        return "refused", None, None
    finally:
        import nova.conf
        for name, group in (("cpu_dedicated_set", "compute"), ("cpu_shared_set", "compute")):
            nova.conf.CONF.clear_override(name, group=group)
        nova.conf.CONF.clear_override("vcpu_pin_set")
        nova.conf.CONF.clear_override("reserved_host_cpus")


CPU_CASES = [
    dict(),
    dict(dedicated="2-7"),
    dict(dedicated="2-7", shared="0-1"),
    dict(dedicated="2-7", shared="1-2"),
    dict(dedicated="2-9"),
    dict(shared="0-3,^2"),
    dict(pin="1-5"),
    dict(pin="1-5", shared="0"),
    dict(pin="1-5", dedicated="6-7"),
    dict(pin="0-99"),
    dict(dedicated="6", reserved_cpus=1),
    dict(shared="^1"),
    dict(dedicated="3", shared="0-2,4-7"),
    dict(dedicated="0-5", online=[0, 1, 2, 3, 6, 7]),
    dict(shared="x"),
]


@pytest.mark.parametrize("case", CPU_CASES, ids=[json.dumps(c, sort_keys=True) for c in CPU_CASES])
def test_cpu_sets_agree_with_novas_driver(case):
    case = dict(case)
    online = case.pop("online", list(range(8)))
    verdict, vcpus, pcpus = _nova_verdict(online, **case)
    eff = {("compute", "cpu_dedicated_set"): case.get("dedicated"), ("compute", "cpu_shared_set"): case.get("shared"),
           ("DEFAULT", "vcpu_pin_set"): case.get("pin"), ("DEFAULT", "reserved_host_cpus"): case.get("reserved_cpus", 0)}
    ours = no.cpu_sets(eff, present=list(range(8)), online=online, isolated=[])
    assert ("refused" if ours["errors"] else "ok") == verdict, ours["errors"]
    if verdict == "ok":
        assert ours["vcpus"] == vcpus and ours["pcpus"] == pcpus


def test_cpu_set_messages_name_the_option():
    eff = {("compute", "cpu_dedicated_set"): "4-9", ("compute", "cpu_shared_set"): None,
           ("DEFAULT", "vcpu_pin_set"): None}
    out = no.cpu_sets(eff, present=list(range(8)), online=list(range(8)), isolated=[6, 7])
    assert out["errors"] == ["[compute] cpu_dedicated_set names CPU(s) 8-9 that this host does not have (present: 0-7)"]
    assert out["cpu_dedicated_set"] == {"text": "4-9", "cpus": [4, 5, 6, 7, 8, 9]}
    eff[("compute", "cpu_dedicated_set")] = "4-7"
    out = no.cpu_sets(eff, present=list(range(8)), online=list(range(8)), isolated=[6, 7])
    assert out["errors"] == [] and "4-5 are not isolated" in out["notes"][0]
    assert no.cpu_sets(eff, present=None, online=None, isolated=None)["vcpus"] is None


@pytest.mark.parametrize("values", [
    ["node:0,size:2048,count:64"],
    ["node:0,size:2048,count:64", "node:1,size:1GB,count:2"],
    ["node:0,size:2MB,count:8"],
    ["node:0,size:1048576,count:1", "node:0,size:2048,count:3"],
])
def test_reserved_huge_pages_as_nova_reads_them(values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nova.conf
        from nova.virt import hardware
    conf = nova.conf.CONF
    conf.set_override("reserved_huge_pages", [dict(p.split(":") for p in v.split(",")) for v in values])
    try:
        theirs = {node: dict(sizes) for node, sizes in hardware.numa_get_reserved_huge_pages().items()}
    finally:
        conf.clear_override("reserved_huge_pages")
    w = []
    assert no.reserved_huge_pages(values, w) == theirs and w == []


def test_reserved_huge_pages_garbage_is_a_warning():
    w = []
    assert no.reserved_huge_pages(["node:0,size:big,count:1", "size:2048"], w) == {}
    assert len(w) == 2


def test_allocation_ratios():
    eff = {("DEFAULT", "cpu_allocation_ratio"): 16.0, ("DEFAULT", "initial_cpu_allocation_ratio"): 4.0,
           ("DEFAULT", "ram_allocation_ratio"): None, ("DEFAULT", "initial_ram_allocation_ratio"): 1.0,
           ("DEFAULT", "disk_allocation_ratio"): 0.0, ("DEFAULT", "initial_disk_allocation_ratio"): 1.0}
    out = no.allocation_ratios(eff)
    assert out["VCPU"]["effective"] == 16.0 and out["VCPU"]["source"] == "cpu_allocation_ratio"
    assert out["MEMORY_MB"]["effective"] is None and out["MEMORY_MB"]["initial"] == 1.0
    assert out["DISK_GB"]["effective"] is None  # 0.0 is Nova's legacy "unset"
    assert out["PCPU"]["effective"] == 1.0


DEVICES = [
    {"address": "0000:3b:00.0", "vendor_id": "8086", "product_id": "1572", "numa_node": 1, "physfn": None,
     "dev_type": "type-PF", "net": ["ens1f0"]},
    {"address": "0000:3b:02.0", "vendor_id": "8086", "product_id": "154c", "numa_node": 1,
     "physfn": "0000:3b:00.0", "dev_type": "type-VF", "net": []},
    {"address": "0000:3b:02.1", "vendor_id": "8086", "product_id": "154c", "numa_node": 1,
     "physfn": "0000:3b:00.0", "dev_type": "type-VF", "net": []},
    {"address": "0000:af:00.0", "vendor_id": "10de", "product_id": "1eb8", "numa_node": 0, "physfn": None,
     "dev_type": "type-PCI", "net": []},
]


@pytest.mark.parametrize("spec, expected", [
    ({"vendor_id": "8086", "product_id": "154c"}, ["0000:3b:02.0", "0000:3b:02.1"]),
    ({"vendor_id": "8086"}, ["0000:3b:00.0", "0000:3b:02.0", "0000:3b:02.1"]),
    ({"vendor_id": "*", "product_id": "1eb8"}, ["0000:af:00.0"]),
    ({"address": "0000:3b:00.0"}, ["0000:3b:00.0", "0000:3b:02.0", "0000:3b:02.1"]),  # a PF address takes its VFs
    ({"address": "*:3b:02.*"}, ["0000:3b:02.0", "0000:3b:02.1"]),
    ({"address": {"domain": "0000", "bus": "af", "slot": "00", "function": "0"}}, ["0000:af:00.0"]),
    ({"address": {"bus": "3b", "slot": "02", "function": "[0-1]"}}, ["0000:3b:02.0", "0000:3b:02.1"]),
    ({"devname": "ens1f0"}, ["0000:3b:00.0", "0000:3b:02.0", "0000:3b:02.1"]),
    ({"vendor_id": "15b3"}, []),
])
def test_device_spec_matching(spec, expected):
    w = []
    out = no.pci_config({("pci", "device_spec"): [json.dumps(spec)]}, [dict(d) for d in DEVICES], w)
    assert out["device_spec"][0]["matches"] == expected and w == []
    assert [m["address"] for m in out["matched_devices"]] == expected
    if not expected:
        assert "selects no device" in out["notes"][0]


def test_device_spec_tags_legacy_name_and_bad_json():
    w = []
    out = no.pci_config({("pci", "passthrough_whitelist"): ['{"vendor_id": "10de", "physical_network": null}',
                                                            "{not json"],
                         ("pci", "alias"): ['{"name": "gpu", "vendor_id": "10de", "product_id": "1eb8"}']},
                        [dict(d) for d in DEVICES], w)
    assert out["matched_devices"][0]["tags"] == {"physical_network": None}
    assert out["alias"] == [{"name": "gpu", "vendor_id": "10de", "product_id": "1eb8"}]
    assert "pre-Zed name" in out["notes"][0]
    assert "is not JSON" in w[0]


@pytest.mark.parametrize("major, cpu, ram", [(None, 4.0, 1.0), (34, 4.0, 1.0), (27, 4.0, 1.0), (26, 16.0, 1.5),
                                             (20, 16.0, 1.5)])
def test_initial_ratio_defaults_follow_the_nodes_nova(major, cpu, ram):
    eff = {("DEFAULT", "initial_cpu_allocation_ratio"): None, ("DEFAULT", "initial_ram_allocation_ratio"): None}
    no.apply_release_defaults(eff, major)
    assert (eff[("DEFAULT", "initial_cpu_allocation_ratio")], eff[("DEFAULT", "initial_ram_allocation_ratio")]) == (cpu, ram)
    eff = {("DEFAULT", "initial_cpu_allocation_ratio"): 2.0, ("DEFAULT", "initial_ram_allocation_ratio"): None}
    assert no.apply_release_defaults(eff, 26)[("DEFAULT", "initial_cpu_allocation_ratio")] == 2.0
