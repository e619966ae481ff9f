"""preflight_probe: the node-side reads, edge cases with a fake command runner.

The real reads run on the molecule test hosts (extensions/molecule/preflight); these pin how
command output (captured on the test host, libvirt 9.0) and failures are turned into data.
"""

import socket

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight_probe as pp

VERSION = ("Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\n"
           "Running hypervisor: QEMU 7.2.22\nRunning against daemon: 9.0.0\n\n")
CAPS = ("<capabilities><host><uuid>x</uuid><cpu><arch>x86_64</arch><model>kvm64</model><vendor>AMD</vendor>"
        "<topology sockets='1' dies='1' cores='2' threads='1'/><feature name='vme'/></cpu></host></capabilities>")
IP = ("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
      "1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n"
      "2: eth0    inet 10.89.7.2/24 brd 10.89.7.255 scope global eth0\\       valid_lft forever\n"
      "2: eth0    inet6 fe80::5cd1:a7ff:fe00:9489/64 scope link \\       valid_lft forever\n")


class Fake:
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append((argv, data))
        for key, answer in self.answers.items():
            if key in " ".join(argv):
                return answer
        return 1, "", "error: unexpected %s" % argv


def test_libvirt_facts_and_addresses():
    run = Fake({"version --daemon": (0, VERSION, ""), "capabilities": (0, CAPS, ""), "ip -o addr": (0, IP, "")})
    probe = pp.Probe(run, timeout=3)
    lv = probe.libvirt_facts("qemu:///system")
    assert (lv["libvirt_version"], lv["qemu_version"]) == ("9.0.0", "7.2.22")
    assert lv["host_cpu_xml"].startswith("<cpu>") and "<model>kvm64</model>" in lv["host_cpu_xml"]
    assert run.calls[0][0][:2] == ["timeout", "3"]  # every command is bounded
    warnings = []
    assert probe.addresses(warnings) == ["10.89.7.2"] and warnings == []


def test_libvirt_down_and_timeouts_are_data():
    probe = pp.Probe(Fake({"version": (124, "", "")}))
    assert probe.libvirt_facts("qemu:///system") == {"uri": "qemu:///system", "reachable": False,
                                                     "error": "no answer (timed out)"}
    res = pp.Probe(Fake({"getent": (2, "", "")})).resolve("nowhere.test")
    assert res["addresses"] == [] and "not found" in res["error"]
    res = pp.Probe(Fake({"getent": (0, "10.89.7.3      STREAM b.lm\n10.89.7.3      DGRAM\n", "")})).resolve("b.lm")
    assert res == {"name": "b.lm", "addresses": ["10.89.7.3"], "error": None}


def test_compare_cpu_results():
    xml = {"label": "custom model qemu64", "xml": "<cpu/>"}
    cases = {
        (0, "\nCPU described in /dev/stdin is identical to the CPU provided by hypervisor on the host\n\n", ""): "identical",
        (0, "\nThe CPU provided by hypervisor on the host is a superset of CPU described in /dev/stdin\n\n", ""): "superset",
        (1, "", "error: Failed to compare hypervisor CPU with /dev/stdin\nerror: the CPU is incompatible with host "
                "CPU: Host CPU does not provide required features: pni, avx512-fp16, svm\n"): "incompatible",
        (1, "", "error: this function is not supported by the connection driver: virConnectCompareHypervisorCPU"):
            "unsupported",
        (1, "", "error: failed to connect to the hypervisor"): "error",
    }
    for answer, expected in cases.items():
        run = Fake({"hypervisor-cpu-compare": answer})
        res = pp.Probe(run).compare_cpu(xml)
        assert res["result"] == expected, answer
        assert run.calls[0][1] == "<cpu/>"  # the definition goes on stdin, no temporary file
    res = pp.Probe(Fake({"hypervisor-cpu-compare": list(cases)[2]})).compare_cpu(xml)
    assert res["message"].endswith("required features: pni, avx512-fp16, svm")


def test_connect_uses_its_own_timeout():
    before = socket.getdefaulttimeout()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        probe = pp.Probe(Fake({}), timeout=2)
        assert probe.connect(["127.0.0.1"], port)["ok"] is True
        server.close()
        closed = probe.connect(["127.0.0.1"], port)
        assert closed["ok"] is False and closed["error"]
        assert probe.connect([], port)["ok"] is None
    finally:
        server.close()
    assert socket.getdefaulttimeout() == before  # nothing process-wide


def test_run_refuses_a_peer_without_name(tmp_path):
    import pytest
    from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight
    run = Fake({"version --daemon": (0, VERSION, ""), "capabilities": (0, CAPS, ""), "ip -o addr": (0, IP, "")})
    with pytest.raises(preflight.PreflightError, match=r"peers\[0\]: every peer needs a name"):
        pp.run(pp.Probe(run), [str(tmp_path / "none.conf")], [{"host": "x"}])
    with pytest.raises(preflight.PreflightError, match=r"peers\[0\].facts: expected the peer's facts"):
        pp.run(pp.Probe(run), [str(tmp_path / "none.conf")], [{"name": "x", "facts": "no"}])
