"""minicloud owns every path it uses (tests/minicloud/mc_paths.py).

For keystone, placement and nova: the config minicloud writes, loaded with
every option the pinned versions register; every effective value that is a
host path (absolute outside the state dir and the virtualenv, or a relative
policy/paste name oslo.config would look up in /etc/<project>, ~/...) must be
one minicloud lists as unused, with its reason. A new version that adds such a
default fails here until minicloud sets it into the state dir or says why it is
never read.
"""

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import mc_paths  # noqa: E402


def _ctl():
    loader = importlib.machinery.SourceFileLoader(
        'minicloudctl_paths', os.path.join(HERE, 'minicloudctl'))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


CTL = _ctl()


def _conf(service, state_dir):
    u = CTL.urls(CTL.DEFAULT_PORTS)
    return {'keystone': lambda: CTL.keystone_conf(state_dir),
            'placement': lambda: CTL.placement_conf(state_dir, u),
            'nova': lambda: CTL.nova_conf(state_dir, u, {})}[service]()


def walk(service, sections, state_dir):
    path = os.path.join(state_dir, '%s.conf' % service)
    with open(path, 'w') as f:
        f.write(CTL.ini(sections))
    r = subprocess.run([sys.executable, os.path.join(HERE, 'mc_paths.py'),
                        service, path, state_dir],
                       capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    return {(g, o): v for g, o, v in json.loads(r.stdout)}


@pytest.mark.parametrize('service', ['keystone', 'placement', 'nova'])
def test_every_host_path_is_set_or_unused(service, tmp_path):
    found = walk(service, _conf(service, str(tmp_path)), str(tmp_path))
    unused = mc_paths.UNUSED[service]
    new = {k: v for k, v in found.items() if k not in unused}
    assert not new, (
        '%s options with a host path that minicloud neither sets into the '
        'state dir nor lists in mc_paths.UNUSED: %s' % (service, new))
    stale = sorted(set(unused) - set(found))
    assert not stale, 'mc_paths.UNUSED lists options that no longer have ' \
        'a host path: %s' % stale


def test_walk_finds_the_defaults(tmp_path):
    """The walk is not blind: with minicloud's path settings removed it
    reports keystone's key repositories (fernet_receipts is what broke a
    fresh machine), policy file and nova's lock/state paths as host paths."""
    ks = _conf('keystone', str(tmp_path))
    for sec in ('fernet_receipts', 'fernet_tokens', 'credential',
                'oslo_policy'):
        del ks[sec]
    found = walk('keystone', ks, str(tmp_path))
    assert found[('fernet_receipts', 'key_repository')] == \
        '/etc/keystone/fernet-keys/'
    assert found[('fernet_tokens', 'key_repository')] == \
        '/etc/keystone/fernet-keys/'
    assert ('credential', 'key_repository') in found
    assert found[('oslo_policy', 'policy_file')] == 'policy.yaml'

    nova = _conf('nova', str(tmp_path))
    del nova['DEFAULT']['rootwrap_config']
    del nova['compute']['provider_config_location']
    found = walk('nova', nova, str(tmp_path))
    assert found[('DEFAULT', 'rootwrap_config')] == '/etc/nova/rootwrap.conf'
    assert found[('compute', 'provider_config_location')].startswith(
        '/etc/nova/')
    # $state_path substitutions are resolved: with state_path in the state
    # dir, instances_path and the mount bases are not host paths.
    assert ('DEFAULT', 'instances_path') not in found
    assert ('libvirt', 'nfs_mount_point_base') not in found


def test_servers_skip_the_host_config_search(tmp_path):
    """oslo.config looks for <project>.conf and <project>.conf.d/ in ~/.<project>, ~, /etc/<project>
    and /etc when a service is not told where its config is. minicloud's servers name their
    files and turn that search off: a nova.conf and a nova.conf.d in HOME are not read."""
    home = tmp_path / 'home'
    (home / '.nova' / 'nova.conf.d').mkdir(parents=True)
    (home / '.nova' / 'nova.conf').write_text('[DEFAULT]\nhost = from-home\n')
    (home / '.nova' / 'nova.conf.d' / 'x.conf').write_text(
        '[DEFAULT]\nhost = from-home-dir\n')
    code = '''
import sys
sys.path.insert(0, %r)
from oslo_config import cfg
def seen():
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.StrOpt('host', default='default'))
    conf(args=[], project='nova')
    return conf.host
before = seen()
import mc_server
mc_server.own_config_search()
print(before, seen())
''' % HERE
    env = dict(os.environ, HOME=str(home))
    r = subprocess.run([sys.executable, '-c', code], capture_output=True,
                       text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    before, after = r.stdout.split()
    assert before == 'from-home-dir'        # oslo.config's own search finds them
    assert after == 'default'               # minicloud's servers do not
