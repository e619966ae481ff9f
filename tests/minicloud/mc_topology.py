"""Load and check a minicloud topology file (YAML). See README.md.

Every wrong key or type fails with TopologyError naming it, e.g.
``hosts[2].vcpus: expected an integer, got 'four'``.
"""

import hashlib
import json

import yaml


class TopologyError(ValueError):
    pass


INT, NUM, STR, BOOL = 'int', 'number', 'string', 'bool'

HOST = {
    'name': STR, 'vcpus': INT, 'memory_mb': INT, 'local_gb': INT,
    'nodes': INT, 'cpu_allocation_ratio': NUM, 'ram_allocation_ratio': NUM,
    'disk_allocation_ratio': NUM, 'reserved_host_memory_mb': INT,
    'reserved_host_disk_mb': INT, 'reserved_host_cpus': INT,
    'traits': [STR], 'disabled': STR, 'fail_builds': BOOL,
    'hypervisor_type': STR, 'pcpus': INT,
    'max_unit': {'*': INT}, 'step_size': {'*': INT},
}
AGGREGATE = {'name': STR, 'availability_zone': STR, 'hosts': [STR],
             'metadata': {'*': STR}}
FLAVOR = {'name': STR, 'vcpus': INT, 'ram': INT, 'disk': INT,
          'ephemeral': INT, 'swap': INT, 'extra_specs': {'*': STR},
          'is_public': BOOL, 'id': STR, 'description': STR}
PROJECT = {'name': STR, 'description': STR,
           'users': [{'name': STR, 'password': STR, 'roles': [STR]}]}
SERVER_GROUP = {'name': STR, 'policy': STR, 'rules': {'*': INT},
                'project': STR}
SERVER = {'name': STR, 'flavor': STR, 'image': STR,
          'availability_zone': STR, 'group': STR, 'count': INT,
          'project': STR, 'expect': STR, 'hints': {'*': STR},
          'metadata': {'*': STR}}
IMAGE = {'id': STR, 'name': STR, 'min_ram': INT, 'min_disk': INT,
         'size': INT, 'container_format': STR, 'disk_format': STR,
         'properties': {'*': STR}}
PORTS = {'base': INT, 'keystone': INT, 'placement': INT, 'nova': INT,
         'control': INT}
TOPOLOGY = {
    'name': STR, 'description': STR,
    'hosts': [HOST], 'aggregates': [AGGREGATE], 'flavors': [FLAVOR],
    'projects': [PROJECT], 'server_groups': [SERVER_GROUP],
    'servers': [SERVER], 'images': [IMAGE], 'ports': PORTS,
    'scheduler': {'*': 'any'}, 'nova_conf': {'*': {'*': 'any'}},
    'debug': BOOL, 'quotas': {'*': INT}, 'boot_timeout': INT,
    'start_timeout': INT,
}
REQUIRED = {
    '': ['hosts'], 'hosts': ['name', 'vcpus', 'memory_mb', 'local_gb'],
    'aggregates': ['name'], 'flavors': ['name', 'vcpus', 'ram', 'disk'],
    'projects': ['name'], 'projects.users': ['name', 'password'],
    'server_groups': ['name', 'policy'], 'servers': ['name', 'flavor'],
    'images': ['id', 'name'],
}
POLICIES = ('affinity', 'anti-affinity', 'soft-affinity',
            'soft-anti-affinity')

# The GlanceFixture's own images (nova/tests/fixtures/glance.py).
DEFAULT_IMAGE = '76fa36fc-c930-4bf3-8c8a-ea2a2420deb6'


def _typename(v):
    return type(v).__name__


def _check(value, schema, path, reqkey):
    if schema == 'any':
        if not isinstance(value, (str, int, float, bool, list)):
            raise TopologyError('%s: expected a scalar or a list, got %s'
                                % (path, _typename(value)))
        return
    if schema == INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TopologyError('%s: expected an integer, got %r'
                                % (path, value))
        return
    if schema == NUM:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TopologyError('%s: expected a number, got %r'
                                % (path, value))
        return
    if schema == STR:
        # YAML turns `true`/`1` into bool/int: accept scalars, keep strings
        if isinstance(value, (dict, list)) or value is None:
            raise TopologyError('%s: expected a string, got %s'
                                % (path, _typename(value)))
        return
    if schema == BOOL:
        if not isinstance(value, bool):
            raise TopologyError('%s: expected true or false, got %r'
                                % (path, value))
        return
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise TopologyError('%s: expected a list, got %s'
                                % (path, _typename(value)))
        for i, item in enumerate(value):
            _check(item, schema[0], '%s[%d]' % (path, i), reqkey)
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise TopologyError('%s: expected a mapping, got %s'
                                % (path, _typename(value)))
        if '*' in schema:
            for k, v in value.items():
                _check(v, schema['*'], '%s.%s' % (path, k), reqkey)
            return
        for k, v in value.items():
            if k not in schema:
                raise TopologyError(
                    '%s: unknown key %r (allowed: %s)' % (
                        path or 'topology', k, ', '.join(sorted(schema))))
            sub = '%s.%s' % (reqkey, k) if reqkey else k
            _check(v, schema[k], '%s.%s' % (path, k) if path else k, sub)
        for k in REQUIRED.get(reqkey, []):
            if k not in value:
                raise TopologyError('%s: missing required key %r'
                                    % (path or 'topology', k))
        return
    raise AssertionError(schema)


def _stringify(d, *keys):
    for k in keys:
        if isinstance(d.get(k), dict):
            d[k] = {str(a): (('true' if b else 'false')
                             if isinstance(b, bool) else str(b))
                    for a, b in d[k].items()}


def validate(topo):
    if not isinstance(topo, dict):
        raise TopologyError('topology: expected a mapping at the top level')
    _check(topo, TOPOLOGY, '', '')
    hosts = topo['hosts']
    if not hosts:
        raise TopologyError('hosts: at least one compute host is needed')
    names = set()
    for i, h in enumerate(hosts):
        p = 'hosts[%d]' % i
        h['name'] = str(h['name'])
        if h['name'] in names:
            raise TopologyError('%s.name: duplicate host %r' % (p, h['name']))
        names.add(h['name'])
        for k in ('vcpus', 'memory_mb', 'local_gb'):
            if h[k] < 1:
                raise TopologyError('%s.%s: must be >= 1' % (p, k))
        if h.get('nodes') is not None and not 1 <= h['nodes'] <= 2000:
            raise TopologyError('%s.nodes: must be between 1 and 2000' % p)
        if h.get('reserved_host_memory_mb', 512) >= h['memory_mb']:
            raise TopologyError(
                '%s.reserved_host_memory_mb: must be below memory_mb (%d); '
                'nova reserves 512 MB when it is not set' % (p, h['memory_mb']))
        if h.get('reserved_host_cpus', 0) >= h['vcpus']:
            raise TopologyError('%s.reserved_host_cpus: must be below vcpus'
                                % p)
        if h.get('reserved_host_disk_mb', 0) >= h['local_gb'] * 1024:
            raise TopologyError('%s.reserved_host_disk_mb: must be below '
                                'local_gb * 1024' % p)
        if h.get('pcpus') is not None and h['pcpus'] < 1:
            raise TopologyError('%s.pcpus: must be >= 1' % p)
        for k in ('max_unit', 'step_size'):
            for rc, v in (h.get(k) or {}).items():
                if rc not in ('VCPU', 'PCPU', 'MEMORY_MB', 'DISK_GB'):
                    raise TopologyError('%s.%s.%s: not one of VCPU, PCPU, '
                                        'MEMORY_MB, DISK_GB' % (p, k, rc))
                if v < 1:
                    raise TopologyError('%s.%s.%s: must be >= 1'
                                        % (p, k, rc))
                if rc == 'PCPU' and not h.get('pcpus'):
                    raise TopologyError('%s.%s.PCPU: the host has no pcpus'
                                        % (p, k))
        for k in ('cpu_allocation_ratio', 'ram_allocation_ratio',
                  'disk_allocation_ratio'):
            if k in h and h[k] <= 0:
                raise TopologyError('%s.%s: must be > 0' % (p, k))
        for j, t in enumerate(h.get('traits') or []):
            t = str(t)
            if not t.startswith('CUSTOM_') or not t[7:] or \
                    not all(c.isupper() or c.isdigit() or c == '_'
                            for c in t[7:]):
                raise TopologyError(
                    '%s.traits[%d]: %r is not a custom trait '
                    '(CUSTOM_[A-Z0-9_]+)' % (p, j, t))
    for i, a in enumerate(topo.get('aggregates') or []):
        _stringify(a, 'metadata')
        for j, h in enumerate(a.get('hosts') or []):
            if str(h) not in names:
                raise TopologyError('aggregates[%d].hosts[%d]: unknown host %r'
                                    % (i, j, h))
    flavors = set()
    for i, f in enumerate(topo.get('flavors') or []):
        _stringify(f, 'extra_specs')
        f['name'] = str(f['name'])
        if f['name'] in flavors:
            raise TopologyError('flavors[%d].name: duplicate flavor %r'
                                % (i, f['name']))
        flavors.add(f['name'])
    projects = {'admin', 'demo'}
    for p in topo.get('projects') or []:
        if p['name'] in projects:
            raise TopologyError('projects: %r is built in (admin and demo '
                                'always exist)' % p['name'])
        projects.add(p['name'])
    groups = set()
    for i, g in enumerate(topo.get('server_groups') or []):
        if g['policy'] not in POLICIES:
            raise TopologyError('server_groups[%d].policy: %r is not one of %s'
                                % (i, g['policy'], ', '.join(POLICIES)))
        if g.get('project', 'admin') not in projects:
            raise TopologyError('server_groups[%d].project: unknown project %r'
                                % (i, g['project']))
        groups.add(g['name'])
    images = {DEFAULT_IMAGE} | {i['id'] for i in topo.get('images') or []} | \
        {i['name'] for i in topo.get('images') or []}
    for i, s in enumerate(topo.get('servers') or []):
        p = 'servers[%d]' % i
        if s['flavor'] not in flavors:
            raise TopologyError('%s.flavor: unknown flavor %r (define it '
                                'under flavors)' % (p, s['flavor']))
        if s.get('group') and s['group'] not in groups:
            raise TopologyError('%s.group: unknown server group %r'
                                % (p, s['group']))
        if s.get('project', 'admin') not in projects:
            raise TopologyError('%s.project: unknown project %r'
                                % (p, s['project']))
        if s.get('expect', 'active') not in ('active', 'error'):
            raise TopologyError('%s.expect: must be active or error' % p)
        if s.get('count', 1) < 1:
            raise TopologyError('%s.count: must be >= 1' % p)
        _stringify(s, 'hints', 'metadata')
    ports = topo.get('ports') or {}
    for k, v in ports.items():
        if not 1 <= v <= 65535:
            raise TopologyError('ports.%s: %d is not a TCP port' % (k, v))
    sched = topo.get('scheduler') or {}
    for i, f in enumerate(sched.get('enabled_filters') or []):
        _check_filter(str(f), 'scheduler.enabled_filters[%d]' % i)
    known = scheduler_option_groups()
    for k in sched:
        if k not in known:
            raise TopologyError(
                'scheduler.%s: not a nova [scheduler] / [filter_scheduler] '
                'option (known: %s)' % (k, ', '.join(sorted(known))))
    return topo


REMOVED_FILTERS = {
    'CoreFilter': 'Train (20.0); placement checks VCPU',
    'RamFilter': 'Train (20.0); placement checks MEMORY_MB',
    'DiskFilter': 'Train (20.0); placement checks DISK_GB',
    'AggregateCoreFilter': 'Victoria (22.0); use per-provider ratios',
    'AggregateRamFilter': 'Victoria (22.0); use per-provider ratios',
    'AggregateDiskFilter': 'Victoria (22.0); use per-provider ratios',
    'RetryFilter': 'Victoria (22.0); the conductor uses alternates',
    'AvailabilityZoneFilter': '2023.2 (28.0); the map_az_to_placement_'
                              'aggregate prefilter does it',
    'ExactCoreFilter': 'Rocky (18.0)', 'ExactRamFilter': 'Rocky (18.0)',
    'ExactDiskFilter': 'Rocky (18.0)', 'TrustedFilter': 'Queens (17.0)',
}


def nova_filter_names():
    """Class names of nova's in-tree host filters (read from the source)."""
    import importlib.util
    import os
    import re
    spec = importlib.util.find_spec('nova')
    d = os.path.join(list(spec.submodule_search_locations)[0], 'scheduler',
                     'filters')
    names = set()
    for fn in os.listdir(d):
        if fn.endswith('.py'):
            with open(os.path.join(d, fn)) as f:
                names.update(re.findall(
                    r'^class ([A-Z]\w*)\(\s*[\w.]*Filter\b', f.read(), re.M))
    names.discard('BaseHostFilter')
    return names


def _check_filter(name, path):
    if name in REMOVED_FILTERS:
        raise TopologyError('%s: %s was removed from nova in %s; listing it '
                            'makes the scheduler fail at start'
                            % (path, name, REMOVED_FILTERS[name]))
    known = nova_filter_names()
    if known and name not in known:
        raise TopologyError('%s: %r is not one of nova\'s filters (%s)'
                            % (path, name, ', '.join(sorted(known))))


def scheduler_option_groups():
    """{option name: nova.conf section} for the ``scheduler`` key."""
    from nova.conf import scheduler as sch
    out = {o.name: 'filter_scheduler' for o in sch.filter_scheduler_opts}
    out.update({o.name: 'scheduler' for o in sch.scheduler_opts})
    out['default_availability_zone'] = 'DEFAULT'
    out['default_schedule_zone'] = 'DEFAULT'
    return out


def load(path):
    try:
        with open(path) as f:
            topo = yaml.safe_load(f)
    except OSError as e:
        raise TopologyError('cannot read topology %s: %s' % (path, e.strerror))
    except yaml.YAMLError as e:
        raise TopologyError('topology %s is not valid YAML: %s' % (path, e))
    try:
        return validate(topo)
    except TopologyError as e:
        raise TopologyError('topology %s: %s' % (path, e))


def digest(topo):
    return hashlib.sha256(json.dumps(topo, sort_keys=True).encode()
                          ).hexdigest()[:16]


def node_names(topo):
    out = []
    for h in topo['hosts']:
        n = h.get('nodes')
        out.extend(['%s-n%04d' % (h['name'], i) for i in range(1, n + 1)]
                   if n else [h['name']])
    return out
