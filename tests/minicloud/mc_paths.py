"""Which host paths would keystone, placement and nova use with minicloud's config?

minicloud must own every path it uses: a fresh machine has no /etc/keystone,
/etc/nova, /var/lib/nova, and a build machine that has them must not lend them.
This walks every option each service registers (the oslo.config generator
namespaces of its sample config, through their ``oslo.config.opts`` entry
points, from the pinned versions in the virtualenv), loads the config file
minicloud writes for it, and lists each option whose *effective* value
(``$state_path``-style substitutions resolved) is

* an absolute path outside the state directory and outside the virtualenv
  (``sys.prefix``: what ``make`` installs), or
* a relative name that oslo.config resolves with ``CONF.find_file``, whose
  search falls back to ``~/.<project>/``, ``~/``, ``/etc/<project>/`` and
  ``/etc/`` (policy files, paste config).

``UNUSED`` lists the ones minicloud leaves at their default on purpose, each
with the reason it is never read. tests/minicloud/test_paths.py fails when the
walk finds a path that minicloud neither sets nor lists there.

Run as ``python mc_paths.py SERVICE CONF_FILE STATE_DIR``: prints a JSON list
of [group, option, value]. (A subprocess per service: nova's and keystone's
options each go on one fresh ConfigOpts, away from the caller's.)
"""

import copy
import json
import os
import sys

# The namespaces of each project's own oslo-config-generator file (the sample
# config it ships), plus the libraries each server really loads.
NAMESPACES = {
    'keystone': ('keystone', 'oslo.cache', 'oslo.log', 'oslo.messaging',
                 'oslo.policy', 'oslo.db', 'oslo.middleware', 'osprofiler',
                 'oslo.concurrency', 'keystonemiddleware.auth_token'),
    'placement': ('placement.conf', 'keystonemiddleware.auth_token',
                  'oslo.log', 'oslo.middleware', 'oslo.policy', 'osprofiler',
                  'oslo.db', 'oslo.concurrency', 'oslo.cache'),
    'nova': ('nova.conf', 'oslo.log', 'oslo.messaging', 'oslo.policy',
             'oslo.privsep', 'oslo.service.periodic_task',
             'oslo.service.service', 'oslo.db', 'oslo.cache',
             'oslo.middleware', 'oslo.concurrency',
             'keystonemiddleware.auth_token', 'osprofiler', 'os_vif',
             'os_brick', 'castellan.config', 'oslo.limit', 'oslo.reports',
             'oslo.versionedobjects'),
}

# Options whose relative value oslo.config looks up in the host's config dirs.
FIND_FILE = {('oslo_policy', 'policy_file'), ('oslo_policy', 'policy_dirs'),
             ('wsgi', 'api_paste_config')}

# Left at a host default on purpose: (group, option) -> why it is never read.
_FAKE = 'only the %s virt driver reads it; minicloud runs the fake driver'
UNUSED = {
    'keystone': {
        ('oslo_middleware', 'http_basic_auth_user_file'):
            'HTTP basic auth middleware; keystone does not load it',
    },
    'placement': {
        ('oslo_middleware', 'http_basic_auth_user_file'):
            'HTTP basic auth middleware; placement does not load it',
    },
    'nova': {
        ('oslo_middleware', 'http_basic_auth_user_file'):
            'HTTP basic auth middleware; not in nova\'s api-paste.ini',
        ('libvirt', 'rng_dev_path'): _FAKE % 'libvirt',
        ('libvirt', 'vzstorage_log_path'): _FAKE % 'libvirt',
        ('vmware', 'serial_log_dir'): _FAKE % 'VMware',
        ('DEFAULT', 'web'): 'console proxies (noVNC/spice web root); '
                            'minicloud runs none',
    },
}


def load_opts(namespaces):
    from importlib.metadata import entry_points
    eps = {e.name: e for e in entry_points(group='oslo.config.opts')}
    for ns in namespaces:
        if ns not in eps:
            raise SystemExit('oslo.config.opts entry point %r not installed'
                             % ns)
        for group, opts in eps[ns].load()():
            yield getattr(group, 'name', group) or 'DEFAULT', group, opts


def _inside(path, roots):
    p = os.path.realpath(path)
    return any(p == r or p.startswith(r + os.sep) for r in roots)


def host_paths(service, conf_file, state_dir):
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    seen = set()
    for gname, group, opts in load_opts(NAMESPACES[service]):
        for o in opts:
            if (gname, o.dest) in seen:
                continue
            seen.add((gname, o.dest))
            if o.required:      # only defaults matter here, not completeness
                o = copy.copy(o)
                o.required = False
            try:
                conf.register_opt(o, group=None if gname == 'DEFAULT'
                                  else group)
            except cfg.DuplicateOptError:
                pass
    conf(args=[], project=service, default_config_files=[conf_file],
         default_config_dirs=[])
    roots = [os.path.realpath(state_dir), os.path.realpath(sys.prefix)]
    found = []
    for gname, name in sorted(seen, key=lambda k: (k[0], k[1])):
        try:
            grp = conf if gname == 'DEFAULT' else conf[gname]
            value = getattr(grp, name)
        except Exception:       # noqa: BLE001 - an opt that needs more setup
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if not isinstance(v, str):
                continue
            if not v and (gname, name) in FIND_FILE:
                # '' resolves to the first config dir found: a host one
                found.append([gname, name, v])
                break
            if v.startswith('/') and not _inside(v, roots):
                found.append([gname, name, v])
                break
            if (gname, name) in FIND_FILE and not v.startswith('/'):
                found.append([gname, name, v])
                break
    return found


if __name__ == '__main__':
    os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
    import warnings
    warnings.simplefilter('ignore')
    svc, cf, sd = sys.argv[1:4]
    print(json.dumps(host_paths(svc, cf, sd)))
