"""preflight: the pairwise live-migration checks over gathered facts and probes.

The CPU definitions the preflight asks the destination's libvirt to compare are checked
against the XML Nova itself builds (nova.virt.libvirt.config, installed in the virtualenv) for
real host CPUs published in libvirt's test data and read from the molecule test host.
"""

import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight as pf

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "data", "real", "libvirt-cpu")
REAL = sorted(f for f in os.listdir(DATA) if f.endswith(".xml"))

# Printed by `virsh hypervisor-cpu-compare --error` on the test host (libvirt 9.0).
MSG_CUSTOM = ("the CPU is incompatible with host CPU: Host CPU does not provide required features: "
              "vme, rdseed, sha-ni, avx512-fp16, xsavec, fxsr_opt, misalignsse, 3dnowprefetch, osvw")
MSG_ONE = "the CPU is incompatible with host CPU: Host CPU does not provide required features: avx512-fp16"


def real(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def canon(xml):
    return ET.canonicalize(xml, strip_text=True)


def facts(**over):
    """Compute-node facts in compute_facts' shape (overrides by path: nova__libvirt__cpu_mode=...)."""
    base = {
        "libvirt": {"version": "9.0.0", "qemu_version": "7.2.22", "cpu_xml": real("epyc-vm-testhost-caps.xml"),
                    "listeners": []},
        "nova": {"config_drive_format": "vfat", "host": None,
                 "libvirt": {"virt_type": "kvm", "cpu_mode": None, "cpu_models": [], "cpu_model_extra_flags": []},
                 "live_migration": {"live_migration_scheme": "tcp", "live_migration_inbound_addr": None,
                                    "live_migration_uri": None, "live_migration_with_native_tls": False},
                 "workarounds": {}},
        "names": {"hostname": "c1", "local_addresses": ["192.0.2.1"]},
        "warnings": [],
    }
    for path, value in over.items():
        node = base
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return base


def view(name="c1", **over):
    return pf.host_view(name, facts(**over))


# -- Nova's own XML --------------------------------------------------------------------------

def _nova_source_cpu_xml(host_xml):
    """What nova's _compare_cpu builds from a source's cpu_info (host_cpu_str path)."""
    from nova.virt.libvirt import config as vconfig
    caps_cpu = vconfig.LibvirtConfigCPU()
    caps_cpu.parse_str(host_xml)
    cpu = vconfig.LibvirtConfigCPU()
    cpu.arch, cpu.model, cpu.vendor = caps_cpu.arch, caps_cpu.model, caps_cpu.vendor
    cpu.sockets, cpu.cores, cpu.threads = caps_cpu.sockets, caps_cpu.cores, caps_cpu.threads
    for f in {f.name for f in caps_cpu.features}:
        cpu.add_feature(vconfig.LibvirtConfigCPUFeature(f))
    return cpu.to_xml()


@pytest.mark.parametrize("name", REAL)
def test_source_cpu_xml_is_novas(name):
    assert canon(pf.nova_host_cpu_xml(real(name))) == canon(_nova_source_cpu_xml(real(name)))


@pytest.mark.parametrize("model,flags", [("qemu64", []), ("EPYC", ["+avx512-fp16", "-vme", "pcid", "PCID"]),
                                         ("Skylake-Client", ["-hle", "-rtm"])])
def test_custom_cpu_xml_is_novas(model, flags):
    from nova.virt.libvirt import config as vconfig
    from nova.virt.libvirt.driver import LibvirtDriver
    cpu = vconfig.LibvirtConfigGuestCPU()
    cpu.mode, cpu.model = "custom", model
    for flag in {f.lower() for f in flags}:  # _get_guest_cpu_model_config lowers and dedups
        cpu.add_feature(LibvirtDriver._prepare_cpu_flag(None, flag))
    ours = pf.nova_custom_cpu_xml(model, [f.lower() for f in flags])
    assert canon(ours) == canon(cpu.to_xml())


# -- what is compared, by cpu_mode -----------------------------------------------------------

def test_definitions_follow_cpu_mode():
    host = pf.cpu_definitions(view())
    assert host["nova_compares"] and len(host["definitions"]) == 1
    assert "<model>kvm64</model>" in host["definitions"][0]["xml"]
    assert "cpu_mode unset: host-model" in host["definitions"][0]["label"]

    custom = pf.cpu_definitions(view(nova__libvirt__cpu_mode="custom",
                                     nova__libvirt__cpu_models=["qemu64", "EPYC"],
                                     nova__libvirt__cpu_model_extra_flags=["+AVX512-FP16"]))
    labels = [d["label"] for d in custom["definitions"]]
    assert labels == ["custom model qemu64 with +avx512-fp16", "custom model EPYC with +avx512-fp16"]
    assert "name=\"avx512-fp16\" policy=\"require\"" in custom["definitions"][0]["xml"]

    passthrough = pf.cpu_definitions(view(nova__libvirt__cpu_mode="host-passthrough"))
    assert len(passthrough["definitions"]) == 1 and "identical CPUs" in passthrough["note"]

    none = pf.cpu_definitions(view(nova__libvirt__cpu_mode="none"))
    assert "<model>kvm64</model>" in none["definitions"][0]["xml"]  # no vcpu_model: cpu_info compared

    qemu = pf.cpu_definitions(view(nova__libvirt__virt_type="qemu"))
    assert qemu["definitions"] == [] and not qemu["nova_compares"] and "emulated" in qemu["note"]

    skip = pf.cpu_definitions(view(nova__workarounds__skip_cpu_compare_on_dest=True))
    assert not skip["nova_compares"] and skip["definitions"] and "skip_cpu_compare_on_dest" in skip["note"]


def test_missing_features_from_libvirts_message():
    assert pf.missing_features(MSG_ONE) == ["avx512-fp16"]
    assert pf.missing_features(MSG_CUSTOM)[3] == "avx512-fp16"
    assert len(pf.missing_features(MSG_CUSTOM)) == 9
    assert pf.missing_features("CPU described in x is incompatible") == []
    assert pf.missing_features(None) == []


def test_features_lacking_between_real_cpus():
    lacking = pf.features_lacking(real("skylake-client-i5-6600.xml"), real("sandybridge-i7-2600.xml"))
    assert {"clflushopt", "xsaves", "tsc_adjust", "pdpe1gb"} <= set(lacking)
    assert "vmx" not in lacking
    assert pf.features_lacking(real("sandybridge-i7-2600.xml"), real("sandybridge-i7-2600.xml")) == []


def test_parse_cpu_xml_accepts_capabilities_and_refuses_garbage():
    caps = "<capabilities><host><cpu><arch>x86_64</arch><model>EPYC</model></cpu></host></capabilities>"
    assert pf.parse_cpu_xml(caps)["model"] == "EPYC"
    with pytest.raises(pf.PreflightError, match="does not parse"):
        pf.parse_cpu_xml("<cpu>")
    with pytest.raises(pf.PreflightError, match="no <cpu>"):
        pf.parse_cpu_xml("<domain/>")


# -- the CPU verdict -------------------------------------------------------------------------

def test_cpu_check_names_missing_features_and_passes_superset():
    src = view("a", nova__libvirt__cpu_mode="custom", nova__libvirt__cpu_models=["qemu64"],
               nova__libvirt__cpu_model_extra_flags=["avx512-fp16"])
    dst = view("b")
    bad = pf.check_cpu(src, dst, [{"label": "custom model qemu64 with avx512-fp16", "result": "incompatible",
                                   "message": MSG_ONE}])
    assert bad["verdict"] == "fail" and bad["missing_features"] == ["avx512-fp16"]
    assert "missing avx512-fp16" in bad["evidence"]
    good = pf.check_cpu(dst, src, [{"label": "host CPU", "result": "superset"}])
    assert good["verdict"] == "pass"
    unmeasured = pf.check_cpu(src, dst, None)
    assert unmeasured["verdict"] == "unknown"
    odd = pf.check_cpu(dst, src, [{"label": "host CPU", "result": "unsupported", "message": "no support"}])
    assert odd["verdict"] == "unknown"
    qemu = pf.check_cpu(view("q", nova__libvirt__virt_type="qemu"), dst, None)
    assert qemu["verdict"] == "pass" and "emulated" in qemu["evidence"]


def test_cpu_check_reports_host_feature_difference_as_evidence():
    src = view("sky", libvirt__cpu_xml=real("skylake-client-i5-6600.xml"))
    dst = view("sandy", libvirt__cpu_xml=real("sandybridge-i7-2600.xml"))
    res = pf.check_cpu(src, dst, [{"label": "host CPU of sky", "result": "incompatible",
                                   "message": "Host CPU does not provide required features: clflushopt, xsaves"}])
    assert res["verdict"] == "fail"
    assert "clflushopt" in res["features_not_in_destination_host_cpu"]


# -- the other checks ------------------------------------------------------------------------

def test_versions_destination_not_older():
    assert pf.check_versions(view(), view())["verdict"] == "pass"
    older = pf.check_versions(view(), view(libvirt__qemu_version="6.2.0"))
    assert older["verdict"] == "fail" and "QEMU 7.2.22 -> 6.2.0: the destination is older" in older["evidence"]
    assert pf.check_versions(view(libvirt__version="8.0.0"), view())["verdict"] == "pass"
    assert pf.check_versions(view(libvirt__version=None), view())["verdict"] == "unknown"
    assert pf.version_tuple("9.0.0") == (9, 0, 0) and pf.version_tuple("9.x") is None


def test_names_both_ways():
    a = view("a", nova__live_migration__live_migration_inbound_addr="a.lm", names__local_addresses=["192.0.2.1"])
    b = view("b", nova__live_migration__live_migration_inbound_addr="b.lm", names__local_addresses=["192.0.2.2"])
    ok = {"resolve": {"name": "b.lm", "addresses": ["192.0.2.2"], "error": None}}
    back = {"resolve": {"name": "a.lm", "addresses": ["192.0.2.1"], "error": None}}
    assert pf.check_names(a, b, ok, back)["verdict"] == "pass"
    missing = {"resolve": {"name": "b.lm", "addresses": [], "error": "not found"}}
    res = pf.check_names(a, b, missing, back)
    assert res["verdict"] == "fail" and res["unresolved"] == ["b.lm"] and "a cannot resolve b.lm" in res["evidence"]
    wrong = {"resolve": {"name": "b.lm", "addresses": ["192.0.2.9"], "error": None}}
    assert "none of them an address of b" in pf.check_names(a, b, wrong, back)["evidence"]
    assert pf.check_names(a, b, ok, None)["verdict"] == "unknown"


def test_migration_name_and_port_follow_nova():
    assert view(nova__live_migration__live_migration_inbound_addr="x.lm")["migration_name"] == "x.lm"
    assert view(nova__host="novahost")["migration_name"] == "novahost"
    assert view()["migration_name"] == "c1"
    assert view(nova__live_migration__live_migration_scheme="tls")["port"] == 16514
    # native TLS encrypts QEMU's streams; Nova's libvirt URI keeps live_migration_scheme (tcp)
    assert view(nova__live_migration__live_migration_with_native_tls=True)["port"] == 16509
    uri = view(nova__live_migration__live_migration_uri="qemu+ssh://%s/system")
    assert (uri["scheme"], uri["port"]) == ("ssh", 22)
    assert view(libvirt__listeners=[{"transport": "tcp", "port": 16600}])["port"] == 16600
    # the short names some callers use
    short = pf.host_view("s", {"nova": {"live_migration": {"inbound_addr": "s.lm", "cpu_mode": "custom",
                                                           "cpu_models": "EPYC, qemu64"}}})
    assert (short["migration_name"], short["cpu_mode"], short["cpu_models"]) == ("s.lm", "custom", ["EPYC", "qemu64"])


def test_own_addresses_from_compute_facts_names():
    names = {"hostname": "c1", "addresses": {"c1": ["127.0.1.1"], "c1.lm": ["10.0.0.5", "fd00::5"]},
             "my_ip": "10.0.0.6"}
    assert view(names=names)["addresses"] == ["10.0.0.5", "10.0.0.6", "fd00::5"]
    assert view(names={"hostname": "c1"})["addresses"] == []


def test_reachable():
    a, b = view("a"), view("b")
    assert pf.check_reachable(a, b, {"connect": {"address": "192.0.2.2", "port": 16509, "ok": True}})["verdict"] == "pass"
    refused = pf.check_reachable(a, b, {"connect": {"address": "192.0.2.2", "port": 16509, "ok": False,
                                                    "error": "Connection refused"}})
    assert refused["verdict"] == "fail" and "Connection refused" in refused["evidence"]
    by_addr = pf.check_reachable(a, b, {"connect": {"address": None, "port": 16509, "ok": None},
                                        "connect_by_address": {"address": "192.0.2.2", "port": 16509, "ok": True}})
    assert by_addr["verdict"] == "pass" and "by address" in by_addr["evidence"]
    assert pf.check_reachable(a, b, None)["verdict"] == "unknown"


def test_config_drive_and_cpu_config():
    assert pf.check_config_drive(view(), view())["verdict"] == "pass"
    iso = pf.check_config_drive(view("a"), view("b", nova__config_drive_format="iso9660"))
    assert iso["verdict"] == "fail" and "b: config_drive_format iso9660, expected vfat" in iso["evidence"]
    unset = pf.check_config_drive(view("a", nova__config_drive_format=None), view("b"))
    assert "iso9660 (Nova's default)" in unset["evidence"]
    assert pf.check_cpu_config(view(), view())["verdict"] == "pass"
    diff = pf.check_cpu_config(view("a", nova__libvirt__cpu_mode="custom",
                                    nova__libvirt__cpu_models=["EPYC"]), view("b"))
    assert diff["verdict"] == "fail" and "cpu_mode custom" in diff["evidence"]


def test_numa_placeholder_is_unknown_with_reason():
    res = pf.check_numa_guests(view(), view())
    assert res["verdict"] == "unknown" and "no guest given" in res["evidence"]


# -- pairs -----------------------------------------------------------------------------------

def _result(host, addr, peers):
    f = facts(names__hostname=host, names__local_addresses=[addr])
    return {"local": {"facts": f}, "peers": peers}


def test_pairs_from_results_and_table():
    res_a = _result("a", "192.0.2.1", [{"host": "b", "probes": {
        "resolve": {"name": "b", "addresses": ["192.0.2.2"], "error": None},
        "connect": {"address": "192.0.2.2", "port": 16509, "ok": True},
        "cpu_compare": [{"label": "host CPU of b", "result": "identical"}]}}])
    res_b = _result("b", "192.0.2.2", [{"host": "a", "probes": {
        "resolve": {"name": "a", "addresses": [], "error": "not found"},
        "connect": {"address": None, "port": 16509, "ok": None},
        "connect_by_address": {"address": "192.0.2.1", "port": 16509, "ok": True},
        "cpu_compare": [{"label": "host CPU of a", "result": "incompatible", "message": MSG_ONE}]}}])
    f, probes = pf.from_results({"a": res_a, "b": res_b})
    reports = pf.pairs_report(f, probes)
    assert [(r["source"], r["destination"]) for r in reports] == [("a", "b"), ("b", "a")]
    ab, ba = reports
    assert ab["checks"]["cpu"]["verdict"] == "fail"  # b compared a's CPU: a -> b fails
    assert ab["checks"]["cpu"]["missing_features"] == ["avx512-fp16"]
    assert ab["checks"]["names"]["unresolved"] == ["a"]  # b cannot resolve a: both pairs say so
    assert ba["checks"]["names"]["unresolved"] == ["a"]
    assert ba["checks"]["cpu"]["verdict"] == "pass"
    assert ba["checks"]["libvirt_reachable"]["verdict"] == "pass"
    assert ab["verdict"] == "fail" and any("avx512-fp16" in p for p in ab["problems"])
    assert ab["warnings"] == []
    f["a"]["warnings"] = ["libvirt: qemu:///system does not answer: no answer (timed out)"]
    f["a"]["libvirt"]["version"] = None
    again = pf.pair_report("a", "b", f, probes)
    assert again["checks"]["versions"]["verdict"] == "unknown"
    assert again["warnings"] == ["a: libvirt: qemu:///system does not answer: no answer (timed out)"]
    headers, rows = pf.table(reports)
    assert headers[:3] == ["source", "destination", "verdict"] and rows[0][:4] == ["a", "b", "fail", "fail"]
    with pytest.raises(pf.PreflightError, match="b: its live_migration_preflight result has no local.facts"):
        pf.from_results({"a": res_a, "b": {"skipped": True}})
    with pytest.raises(pf.PreflightError, match="facts of x"):
        pf.host_view("x", "text")
