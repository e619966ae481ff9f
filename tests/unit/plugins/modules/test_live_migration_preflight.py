"""live_migration_preflight: the name Nova uses for a destination, from its config files."""

from ansible_collections.stackops.nova.plugins.modules import live_migration_preflight as lmp


def test_later_files_win_and_defaults(tmp_path):
    a = tmp_path / "nova.conf"
    b = tmp_path / "nova-compute.conf"
    a.write_text("[DEFAULT]\nhost = c1\nconfig_drive_format = vfat\n[libvirt]\nlive_migration_scheme = tcp\n")
    b.write_text("[libvirt]\nlive_migration_inbound_addr = c1.migration\n")
    conf = lmp.read_conf([str(a), str(b), str(tmp_path / "missing.conf")])
    assert conf[("libvirt", "live_migration_inbound_addr")] == "c1.migration"
    assert conf[("DEFAULT", "host")] == "c1"
    assert conf[("DEFAULT", "config_drive_format")] == "vfat"
    assert conf[("libvirt", "live_migration_uri")] is None


def test_version_tuple():
    assert lmp._version_tuple("9.0.0") >= (1, 2, 17)
    assert lmp._version_tuple("1.2.16") < (1, 2, 17)
    assert lmp._version_tuple(None) is None
