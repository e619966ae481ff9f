"""libvirt_caps parsers on real capabilities documents (tests/unit/data/real/libvirt/SOURCES.md).

The expected figures were read off each document by hand; Nova's own parser
(nova.virt.libvirt.config.LibvirtConfigCaps) reads the same documents as a second opinion.
"""

import os
import warnings

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import libvirt_caps as lc

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "data", "real", "libvirt")


def _read(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


CAPS = sorted(f for f in os.listdir(DATA) if f.endswith(".xml") and "domcaps" not in f)

# file -> (arch, vendor, model, cells, cpus per cell, sockets seen, thread sibling size, huge page sizes)
EXPECTED = {
    "testhost-debian12-libvirt9-caps.xml": ("x86_64", "AMD", "kvm64", 1, [2], {0}, 1, [2048, 1048576]),
    "libvirt-caps-qemu-real-full-amd-host.xml": ("x86_64", "AMD", "Opteron_G3-v1", 1, [32], {0}, 2, [2048, 1048576]),
    "libvirt-vircaps-x86_64-resctrl-amd-2socket.xml": ("x86_64", None, None, 2, [32, 32], {0, 1}, 2, [2048, 1048576]),
    "libvirt-caps-test3-westmere-2socket.xml": ("x86_64", "Intel", "Westmere", 2, [12, 12], {None}, None, []),
    "libvirt-vircaps-aarch64-basic-4cell-nosmt.xml": ("aarch64", None, None, 4, [4, 4, 4, 4], {0, 1, 2, 3}, 1,
                                                      [2048, 1048576]),
}


def test_corpus_is_complete():
    assert sorted(EXPECTED) == CAPS


@pytest.mark.parametrize("name", CAPS)
def test_real_capabilities(name):
    caps = lc.parse_capabilities(_read(name))
    arch, vendor, model, ncells, per_cell, sockets, threads, huge = EXPECTED[name]
    assert caps["cpu"]["arch"] == arch
    assert caps["cpu"]["vendor"] == vendor
    assert caps["cpu"]["model"] == model
    assert len(caps["cells"]) == ncells
    assert [len(c["cpus"]) for c in caps["cells"]] == per_cell
    assert {cpu["socket_id"] for c in caps["cells"] for cpu in c["cpus"]} == sockets
    sizes = {len(cpu["siblings"]) for c in caps["cells"] for cpu in c["cpus"] if cpu["siblings"]}
    assert sizes == ({threads} if threads else set())
    for cell in caps["cells"]:
        assert sorted(p["size_kb"] for p in cell["pages"] if p["size_kb"] != 4) == huge
    # every CPU id appears once
    ids = [cpu["id"] for c in caps["cells"] for cpu in c["cpus"]]
    assert len(ids) == len(set(ids))
    # the <cpu> element round-trips as text a peer's libvirt can compare
    assert caps["cpu"]["xml"].startswith("<cpu>") and caps["cpu"]["xml"].endswith("</cpu>")
    assert lc.parse_capabilities("<capabilities><host>%s</host></capabilities>"
                                 % caps["cpu"]["xml"])["cpu"]["model"] == model


@pytest.mark.parametrize("name", CAPS)
def test_agrees_with_novas_parser(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nova.virt.libvirt import config as vconfig
    text = _read(name)
    theirs = vconfig.LibvirtConfigCaps()
    theirs.parse_str(text)
    ours = lc.parse_capabilities(text)
    assert ours["cpu"]["model"] == theirs.host.cpu.model
    assert ours["cpu"]["vendor"] == theirs.host.cpu.vendor
    assert set(ours["cpu"]["features"]) == {f.name for f in theirs.host.cpu.features}
    tcells = theirs.host.topology.cells
    assert [c["id"] for c in ours["cells"]] == [c.id for c in tcells]
    for oc, tc in zip(ours["cells"], tcells):
        assert oc["memory_kb"] == (tc.memory or None)
        assert [x["id"] for x in oc["cpus"]] == [x.id for x in tc.cpus]
        assert [set(x["siblings"]) for x in oc["cpus"]] == [set(x.siblings or ()) for x in tc.cpus]
        assert [(p["size_kb"], p["count"]) for p in oc["pages"]] == [(p.size, p.total) for p in tc.mempages]


def test_details_of_two_documents():
    amd = lc.parse_capabilities(_read("libvirt-caps-qemu-real-full-amd-host.xml"))
    assert amd["cpu"]["topology"] == {"sockets": 1, "dies": 1, "clusters": 1, "cores": 16, "threads": 2}
    assert amd["cpu"]["microcode"] == "188760099"
    assert amd["cpu"]["signature"] == {"family": 26, "model": 68, "stepping": 0}
    assert len(amd["cpu"]["features"]) == 117 and "avx512f" in amd["cpu"]["features"]
    assert amd["cells"][0]["memory_kb"] == 63393224
    assert amd["cells"][0]["distances"] == {"0": 10}
    assert amd["cells"][0]["cpus"][17] == {"id": 17, "socket_id": 0, "die_id": 0, "core_id": 1, "siblings": [1, 17]}
    assert amd["migration"] == {"live": True, "uri_transports": ["tcp", "rdma"]}
    assert amd["secmodels"] == ["selinux", "dac"]
    assert amd["guests"] == []
    wsm = lc.parse_capabilities(_read("libvirt-caps-test3-westmere-2socket.xml"))
    assert [x["id"] for x in wsm["cells"][1]["cpus"]] == list(range(1, 24, 2))
    assert wsm["cells"][0]["cpus"][0] == {"id": 0, "socket_id": None, "die_id": None, "core_id": None, "siblings": []}
    host = lc.parse_capabilities(_read("testhost-debian12-libvirt9-caps.xml"))
    assert host["guests"] and {"qemu"} <= set(host["guests"][0]["domain_types"])


def test_domain_capabilities_of_the_test_host():
    dc = lc.parse_domain_capabilities(_read("testhost-debian12-libvirt9-domcaps.xml"))
    assert dc["emulator"] == "/usr/bin/qemu-system-x86_64"
    assert dc["arch"] == "x86_64" and dc["domain"] == "qemu"
    hm = dc["host_model"]
    assert hm["supported"] and hm["model"] == "EPYC" and hm["vendor"] == "AMD" and hm["fallback"] == "forbid"
    assert set(hm["features"].values()) <= {"require", "disable"}
    assert hm["features"]["acpi"] == "require"
    assert any(m["name"] == "qemu64" for m in dc["custom_models"])


def test_virsh_version():
    v = lc.parse_virsh_version(_read("testhost-debian12-libvirt9-virsh-version.txt"))
    assert v == {"library": "9.0.0", "api": "9.0.0", "hypervisor_type": "QEMU", "hypervisor": "7.2.22"}
    assert lc.parse_virsh_version("") == {"library": None, "api": None, "hypervisor_type": None, "hypervisor": None}
    assert lc.version_text(9000000) == "9.0.0" and lc.version_text(7002022) == "7.2.22"
    assert lc.version_text(None) is None


@pytest.mark.parametrize("text", ["", "   ", "<capabilities>", "<domain/>", "not xml", "<capabilities/>", None])
def test_bad_documents_raise_our_error(text):
    with pytest.raises(lc.LibvirtCapsError):
        lc.parse_capabilities(text)


def test_domain_capabilities_errors_and_minimal():
    with pytest.raises(lc.LibvirtCapsError):
        lc.parse_domain_capabilities("<capabilities/>")
    assert lc.parse_domain_capabilities("<domainCapabilities/>")["host_model"] is None


def test_a_pinned_guest():
    xml = """<domain type='kvm'><name>instance-1</name><memory unit='KiB'>2097152</memory>
      <vcpu placement='static'>2</vcpu>
      <cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='36'/><emulatorpin cpuset='4,36'/></cputune>
      <numatune><memory mode='strict' nodeset='0'/><memnode cellid='0' mode='strict' nodeset='0'/></numatune>
      <memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages></memoryBacking>
      <cpu><numa><cell id='0' cpus='0-1' memory='2097152' unit='KiB'/></numa></cpu></domain>"""
    d = lc.parse_domain(xml)
    assert d["vcpupin"] == {0: [4], 1: [36]} and d["emulatorpin"] == [4, 36]
    assert d["memnodes"] == {0: [0]} and d["cells"] == [{"id": 0, "cpus": [0, 1], "memory_kb": 2097152}]
    assert d["hugepages"] and d["vcpus"] == 2 and d["memory_kb"] == 2097152


class _FakeConn:
    def __init__(self, caps):
        self.caps = caps

    def getCapabilities(self):
        return self.caps

    def getLibVersion(self):
        return 9000000

    def getVersion(self):
        return 7002022

    def getType(self):
        return "QEMU"

    def listAllDomains(self, flags):
        return []

    def getDomainCapabilities(self, *args):
        raise RuntimeError("operation forbidden: read only access prevents virConnectGetDomainCapabilities")

    def close(self):
        pass


class _FakeLibvirt:
    """Stands in for the libvirt module: only the calls LibvirtReader makes."""

    def __init__(self, caps, fail_open=False):
        self.caps, self.fail_open = caps, fail_open

    def openReadOnly(self, uri):
        if self.fail_open:
            raise RuntimeError("Failed to connect socket to '/var/run/libvirt/libvirt-sock-ro': No such file")
        return _FakeConn(self.caps)

    def open(self, uri):
        raise RuntimeError("authentication unavailable")


def test_reader_through_the_python_binding():
    w = []
    r = lc.LibvirtReader(libvirt_module=_FakeLibvirt("<capabilities/>"))
    assert r.open(w) and r.via == "libvirt-python"
    assert r.versions(w) == {"library": "9.0.0", "hypervisor": "7.2.22", "hypervisor_type": "QEMU"}
    assert r.domain_capabilities(w, virt_type="kvm") is None
    assert any("domain capabilities could not be read" in x for x in w)


def test_reader_falls_back_to_virsh_and_says_why():
    calls = []

    def run(argv, timeout):
        calls.append(argv)
        if argv[-1] == "uri":
            return 0, "qemu:///system\n", ""
        if "capabilities" in argv:
            return 0, _read("testhost-debian12-libvirt9-caps.xml"), ""
        if "version" in argv:
            return 0, _read("testhost-debian12-libvirt9-virsh-version.txt"), ""
        if "domcapabilities" in argv:
            return (1, "", "error: invalid argument: the accel 'kvm' is not supported") if "--virttype" in argv \
                else (0, _read("testhost-debian12-libvirt9-domcaps.xml"), "")
        if "list" in argv:
            return 0, "\n", ""
        return 1, "", "unexpected"
    w = []
    r = lc.LibvirtReader(run=run, libvirt_module=_FakeLibvirt(None, fail_open=True))
    assert r.open(w) and r.via == "virsh"
    assert "libvirt-python could not open" in w[0]
    assert lc.parse_capabilities(r.capabilities(w))["cpu"]["model"] == "kvm64"
    assert r.versions(w) == {"library": "9.0.0", "hypervisor": "7.2.22", "hypervisor_type": "QEMU"}
    assert "EPYC" in r.domain_capabilities(w, virt_type="kvm")
    assert "not available" in w[-1] and "kvm" in w[-1]
    assert r.domains(w) == []
    assert all("-r" in c for c in calls if "domcapabilities" not in c)


def test_reader_without_any_libvirt():
    w = []
    r = lc.LibvirtReader(virsh="/nonexistent/virsh", libvirt_module=_FakeLibvirt(None, fail_open=True))
    assert r.open(w) is False
    assert "not reachable" in w[-1] and "not installed" in w[-1]
