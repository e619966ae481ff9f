"""live_migration_preflight: the name Nova uses for a destination, from its config files.

The reading moved to the library (_nova/node/preflight_probe.py, _nova/node/preflight.py); the
module keeps the old names importable.
"""

from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight
from ansible_collections.stackops.nova.plugins.module_utils._nova.node import preflight_probe
from ansible_collections.stackops.nova.plugins.modules import live_migration_preflight as lmp


def test_later_files_win_and_defaults(tmp_path):
    a = tmp_path / "nova.conf"
    b = tmp_path / "nova-compute.conf"
    a.write_text("[DEFAULT]\nhost = c1\nconfig_drive_format = vfat\n[libvirt]\nlive_migration_scheme = tcp\n")
    b.write_text("[libvirt]\nlive_migration_inbound_addr = c1.migration\n")
    conf = preflight_probe.read_conf([str(a), str(b), str(tmp_path / "missing.conf")])
    assert conf[("libvirt", "live_migration_inbound_addr")] == "c1.migration"
    assert conf[("DEFAULT", "host")] == "c1"
    assert conf[("DEFAULT", "config_drive_format")] == "vfat"
    assert conf[("libvirt", "live_migration_uri")] is None
    assert lmp.read_conf is preflight_probe.read_conf


def test_version_tuple():
    assert preflight.version_tuple("9.0.0") >= (1, 2, 17)
    assert preflight.version_tuple("1.2.16") < (1, 2, 17)
    assert preflight.version_tuple(None) is None
    assert lmp._version_tuple is preflight.version_tuple
