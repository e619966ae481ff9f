"""facts.gather on built trees: the whole shape, subsets, and every missing part a warning."""

import json
import os

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import facts as nf
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import libvirt_caps as lc
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import numa_state

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "data", "real", "libvirt")

NOVA_CONF = """[DEFAULT]
host = compute-x
reserved_host_memory_mb = 4096
[compute]
cpu_dedicated_set = 2-3,6-7,10-11,14-15
cpu_shared_set = 0-1,8-9
[pci]
device_spec = {"vendor_id": "8086", "product_id": "154c", "physical_network": "physnet1"}
[libvirt]
live_migration_inbound_addr = localhost
"""


class _Reader:
    """A LibvirtReader stand-in serving the test host's real documents."""

    uri = "qemu:///system"

    def __init__(self, ok=True):
        self.ok = ok
        self.via = None

    def open(self, warnings):
        if not self.ok:
            warnings.append("libvirt: not reachable at qemu:///system (virsh is not installed)")
            return False
        self.via = "virsh"
        return True

    def capabilities(self, warnings):
        with open(os.path.join(DATA, "testhost-debian12-libvirt9-caps.xml")) as f:
            return f.read()

    def domain_capabilities(self, warnings, virt_type=None):
        with open(os.path.join(DATA, "testhost-debian12-libvirt9-domcaps.xml")) as f:
            return f.read()

    def versions(self, warnings):
        return {"library": "9.0.0", "hypervisor": "7.2.22", "hypervisor_type": "QEMU"}

    def domains(self, warnings):
        return []

    def close(self):
        pass


@pytest.fixture
def host(tmp_path, build_tree):
    root = build_tree(tmp_path / "root", isolated="2-3,6-7,10-11,14-15",
                      cmdline="ro isolcpus=managed_irq,2-3,6-7,10-11,14-15 nohz_full=2-3",
                      hugepages={0: {2048: (1024, 1000)}, 1: {2048: (1024, 1024)}})
    conf = tmp_path / "nova.conf"
    conf.write_text(NOVA_CONF)
    return str(root), str(conf)


def _gather(root, conf, **extra):
    opts = {"sysfs_root": root, "proc_root": root, "nova_conf": [conf], "libvirt_reader": _Reader(),
            "gather_service": False}
    opts.update(extra)
    return nf.gather(opts)


def test_the_whole_shape(host):
    root, conf = host
    f = _gather(root, conf)
    assert set(f) == {"schema_version", "subsets", "warnings", "cpu", "numa", "nova", "pci", "libvirt", "names",
                      "guests"}
    json.dumps(f)  # facts must be JSON
    cpu = f["cpu"]
    assert cpu["model"] == "kvm64" and cpu["vendor"] == "AMD" and "avx2" in cpu["features"]
    assert cpu["host_model"]["model"] == "EPYC"
    assert cpu["isolated"] == [2, 3, 6, 7, 10, 11, 14, 15] and cpu["nohz_full"] == [2, 3]
    assert cpu["isolcpus_flags"] == ["managed_irq"]
    # libvirt's <topology> wins for sockets/cores/threads when it is there (the test host's document)
    assert (cpu["sockets"], cpu["cores"], cpu["threads"]) == (1, 2, 1) and cpu["topology_source"] == "libvirt"
    assert [c["id"] for c in f["numa"]["cells"]] == [0, 1] and f["numa"]["source"] == "sysfs"
    assert f["numa"]["cells"][0]["hugepages"][0] == {"size_kb": 2048, "total": 1024, "free": 1000}
    nova = f["nova"]
    assert nova["cpu_dedicated_set"] == [2, 3, 6, 7, 10, 11, 14, 15] and nova["cpu_shared_set_text"] == "0-1,8-9"
    assert nova["vcpus"] == [0, 1, 8, 9] and nova["pcpus"] == [2, 3, 6, 7, 10, 11, 14, 15]
    assert nova["errors"] == [] and nova["notes"] == []
    assert nova["reserved_host_memory_mb"] == 4096 and nova["config_files"] == [conf]
    assert [m["address"] for m in nova["pci"]["matched_devices"]] == ["0000:3b:02.0", "0000:3b:02.1"]
    assert nova["pci"]["matched_devices"][0]["tags"] == {"physical_network": "physnet1"}
    assert nova["live_migration"]["scheme"] == "tcp" and nova["config_drive_format"] == "iso9660"
    assert f["libvirt"]["version"] == "9.0.0" and f["libvirt"]["qemu_version"] == "7.2.22"
    assert f["libvirt"]["listeners"] == [{"port": 16509, "address": "0.0.0.0", "family": "ipv4", "transport": "tcp"},
                                         {"port": 16514, "address": "::", "family": "ipv6", "transport": "tls"}]
    assert f["libvirt"]["cpu_xml"].startswith("<cpu>")
    assert f["names"]["nova_host"] == "compute-x" and f["names"]["migration_name"] == "localhost"
    assert f["names"]["addresses"]["localhost"]  # resolves on any machine
    assert f["guests"] == []
    # the snapshot's numa from these facts
    numa = numa_state.cells_from_facts(f)
    assert numa["unknown"] is None and numa["cells"][0]["pcpuset"] == [2, 3, 10, 11]
    assert numa["cells"][0]["mempages"][1] == {"size_kb": 2048, "total": 1024, "used": 24, "reserved": 0}


def test_nothing_available_is_warnings_only(tmp_path):
    f = nf.gather({"sysfs_root": str(tmp_path), "proc_root": str(tmp_path),
                   "nova_conf": [str(tmp_path / "nova.conf")], "libvirt_reader": _Reader(ok=False),
                   "gather_service": False})
    text = "\n".join(f["warnings"])
    for needle in ("libvirt: not reachable", "/sys/devices/system/cpu/present does not exist",
                   "/sys/devices/system/node does not exist", "/sys/bus/pci/devices does not exist",
                   "/proc/cmdline does not exist", "nova.conf does not exist",
                   "no configuration file could be read"):
        assert needle in text, text
    assert f["numa"]["cells"] is None and f["pci"]["devices"] is None and f["guests"] is None
    assert f["libvirt"]["available"] is False and f["cpu"]["model"] is None
    assert f["nova"]["vcpus"] is None and f["nova"]["cpu_dedicated_set"] is None
    assert numa_state.cells_from_facts(f)["unknown"]


def test_cpu_set_beyond_the_host_is_an_error_in_the_facts(host, tmp_path):
    root, conf = host
    bad = tmp_path / "bad.conf"
    bad.write_text("[compute]\ncpu_dedicated_set = 12-31\n")
    f = _gather(root, conf, nova_conf=[conf, str(bad)])
    assert f["nova"]["errors"][0].startswith("[compute] cpu_dedicated_set names CPU(s) 16-31 that this host does not have")
    assert "invalid" in numa_state.cells_from_facts(f)["unknown"]


@pytest.mark.parametrize("subsets, keys", [
    (["cpu"], {"cpu", "guests"}),
    (["numa", "nova"], {"numa", "nova", "guests"}),
    (["all", "!libvirt", "!names"], {"cpu", "numa", "nova", "pci", "guests"}),
    (["pci"], {"pci"}),
])
def test_subsets(host, subsets, keys):
    root, conf = host
    f = _gather(root, conf, gather_subset=subsets)
    assert set(f) - {"schema_version", "subsets", "warnings"} == keys


@pytest.mark.parametrize("bad, needle", [
    (["cpus"], "unknown subset 'cpus'"),
    ([], "non-empty list"),
    ("all", "non-empty list"),
    ([3], "3 is not a string"),
])
def test_bad_subsets_name_the_option(bad, needle):
    with pytest.raises(nf.FactsError) as exc:
        nf.check_subsets(bad)
    assert str(exc.value).startswith("gather_subset:") and needle in str(exc.value)


def test_libvirt_reader_failure_modes_are_warnings(host):
    root, conf = host

    class Broken(_Reader):
        def capabilities(self, warnings):
            return "<capabilities><host>"

        def domain_capabilities(self, warnings, virt_type=None):
            return None

    f = _gather(root, conf, libvirt_reader=Broken())
    assert any("capabilities XML does not parse" in w for w in f["warnings"])
    assert f["cpu"]["model"] is None and f["cpu"]["topology_source"] == "sysfs" and f["cpu"]["sockets"] == 2


def test_virsh_version_text_parser_on_the_real_reader_path(host):
    # the module's own reader against a virsh that does not exist: one warning, no exception
    root, conf = host
    f = _gather(root, conf, libvirt_reader=lc.LibvirtReader(virsh="/nonexistent/virsh", libvirt_module=_NoBinding()))
    assert any("not installed" in w for w in f["warnings"])


class _NoBinding:
    def openReadOnly(self, uri):
        raise RuntimeError("no libvirtd")
