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
JSON = 'json'   # any YAML value that has a JSON form (e.g. a [pci] device_spec)

# A NUMA cell of a host (see README.md "NUMA and PCI"): its host CPUs as a
# cpuset string ("0-3,8-11"), memory, SMT siblings and huge pages.
NUMA_CELL = {'cpus': STR, 'memory_mb': INT, 'siblings': [[INT]],
             'hugepages': [{'size_kb': INT, 'total': INT, 'reserved': INT}],
             'reserved_4k_pages': INT, 'socket': INT}
NUMA = {'cells': [NUMA_CELL], 'cpu_dedicated_set': STR,
        'cpu_shared_set': STR}
PCI_DEVICE = {'vendor_id': STR, 'product_id': STR, 'numa_node': INT,
              'count': INT, 'dev_type': STR, 'bus': INT}
PCI_DEV_TYPES = ('type-PCI', 'type-PF', 'type-VF')

HOST = {
    'name': STR, 'vcpus': INT, 'memory_mb': INT, 'local_gb': INT,
    'nodes': INT, 'cpu_allocation_ratio': NUM, 'ram_allocation_ratio': NUM,
    'disk_allocation_ratio': NUM, 'reserved_host_memory_mb': INT,
    'reserved_host_disk_mb': INT, 'reserved_host_cpus': INT,
    'traits': [STR], 'disabled': STR, 'fail_builds': BOOL,
    'hypervisor_type': STR, 'numa': NUMA, 'pci_devices': [PCI_DEVICE], 'pcpus': INT,
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
    'start_timeout': INT, 'pci': {'device_spec': [JSON], 'alias': [JSON]},
}
REQUIRED = {
    '': ['hosts'], 'hosts': ['name', 'vcpus', 'memory_mb', 'local_gb'],
    'aggregates': ['name'], 'flavors': ['name', 'vcpus', 'ram', 'disk'],
    'projects': ['name'], 'projects.users': ['name', 'password'],
    'server_groups': ['name', 'policy'], 'servers': ['name', 'flavor'],
    'images': ['id', 'name'], 'hosts.numa': ['cells'],
    'hosts.numa.cells': ['cpus', 'memory_mb'],
    'hosts.numa.cells.hugepages': ['size_kb', 'total'],
    'hosts.pci_devices': ['vendor_id', 'product_id'],
}
POLICIES = ('affinity', 'anti-affinity', 'soft-affinity',
            'soft-anti-affinity')

# The GlanceFixture's own images (nova/tests/fixtures/glance.py).
DEFAULT_IMAGE = '76fa36fc-c930-4bf3-8c8a-ea2a2420deb6'


def _typename(v):
    return type(v).__name__


def _check(value, schema, path, reqkey):
    if schema == JSON:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise TopologyError('%s: expected a JSON-compatible value, got %s'
                                % (path, _typename(value)))
        return
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
        if h.get('numa'):
            _check_numa(h, p)
        for j, d in enumerate(h.get('pci_devices') or []):
            _check_pci_device(d, '%s.pci_devices[%d]' % (p, j),
                              h.get('numa'))
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


def cpuset(text, path):
    """A cpuset string ("0-3,^2,8") as a set, with nova's own parser."""
    from nova import exception
    from nova.virt import hardware
    try:
        return hardware.parse_cpu_spec(str(text))
    except exception.Invalid as e:
        raise TopologyError('%s: %r is not a CPU set: %s' % (path, text, e))


def numa_cpu_sets(numa):
    """(online, shared, dedicated, pcpu_inventory) CPU id sets of a host,
    as nova's libvirt driver derives them from [compute] cpu_shared_set /
    cpu_dedicated_set (no vcpu_pin_set): shared = cpu_shared_set, else none
    when cpu_dedicated_set is set, else every CPU; dedicated =
    cpu_dedicated_set, else (legacy) the shared CPUs when cpu_shared_set is
    unset. PCPU inventory is cpu_dedicated_set only."""
    online = set()
    for i, c in enumerate(numa['cells']):
        online |= cpuset(c['cpus'], 'numa.cells[%d].cpus' % i)
    ded_set = numa.get('cpu_dedicated_set')
    shr_set = numa.get('cpu_shared_set')
    dedicated = cpuset(ded_set, 'numa.cpu_dedicated_set') if ded_set \
        else set()
    if shr_set:
        shared = cpuset(shr_set, 'numa.cpu_shared_set')
    elif ded_set:
        shared = set()
    else:
        shared = set(online)
    pcpus = set(dedicated)
    if not ded_set and not shr_set:
        dedicated = set(shared)
    return online, shared, dedicated, pcpus


def _check_numa(h, p):
    numa = h['numa']
    if not numa['cells']:
        raise TopologyError('%s.numa.cells: at least one cell is needed' % p)
    seen = set()
    mem = 0
    for i, c in enumerate(numa['cells']):
        cp = '%s.numa.cells[%d]' % (p, i)
        cpus = cpuset(c['cpus'], cp + '.cpus')
        if cpus & seen:
            raise TopologyError('%s.cpus: CPU(s) %s are in another cell'
                                % (cp, sorted(cpus & seen)))
        seen |= cpus
        mem += c['memory_mb']
        for j, sib in enumerate(c.get('siblings') or []):
            if not set(sib) <= cpus:
                raise TopologyError('%s.siblings[%d]: %s not all in the '
                                    'cell\'s cpus' % (cp, j, sib))
        huge = 0
        for j, hp in enumerate(c.get('hugepages') or []):
            if hp['size_kb'] <= 4:
                raise TopologyError('%s.hugepages[%d].size_kb: huge pages '
                                    'are larger than 4 KB' % (cp, j))
            if hp.get('reserved', 0) > hp['total']:
                raise TopologyError('%s.hugepages[%d].reserved: more than '
                                    'total' % (cp, j))
            huge += hp['size_kb'] * hp['total']
        if huge > c['memory_mb'] * 1024:
            raise TopologyError('%s.hugepages: %d KB of huge pages exceed '
                                'the cell memory (%d MB)'
                                % (cp, huge, c['memory_mb']))
    online, shared, dedicated, pcpus = numa_cpu_sets(numa)
    for k, cpus in (('cpu_shared_set', shared), ('cpu_dedicated_set', pcpus)):
        if not cpus <= online:
            raise TopologyError('%s.numa.%s: CPU(s) %s are in no cell'
                                % (p, k, sorted(cpus - online)))
    if numa.get('cpu_shared_set') and shared & pcpus:
        raise TopologyError('%s.numa: cpu_shared_set and cpu_dedicated_set '
                            'overlap (%s)' % (p, sorted(shared & pcpus)))
    if h['vcpus'] != len(online):
        raise TopologyError('%s.vcpus: %d, but the NUMA cells have %d CPUs '
                            '(VCPU/PCPU inventory comes from the cells)'
                            % (p, h['vcpus'], len(online)))
    if h['memory_mb'] != mem:
        raise TopologyError('%s.memory_mb: %d, but the NUMA cells have %d MB'
                            % (p, h['memory_mb'], mem))


def _check_pci_device(d, p, numa):
    d['vendor_id'] = str(d['vendor_id'])
    d['product_id'] = str(d['product_id'])
    for k in ('vendor_id', 'product_id'):
        v = d[k]
        if len(v) != 4 or any(c not in '0123456789abcdef' for c in v):
            raise TopologyError('%s.%s: %r is not 4 lowercase hex digits'
                                % (p, k, v))
    if d.get('dev_type', 'type-PCI') not in PCI_DEV_TYPES:
        raise TopologyError('%s.dev_type: %r is not one of %s'
                            % (p, d['dev_type'], ', '.join(PCI_DEV_TYPES)))
    if not 1 <= d.get('count', 1) <= 256:
        raise TopologyError('%s.count: must be between 1 and 256' % p)
    node = d.get('numa_node')
    if node is not None and numa and \
            not 0 <= node < len(numa['cells']):
        raise TopologyError('%s.numa_node: %d is not a cell of the host'
                            % (p, node))


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


def _scheduler_options():
    """The collection's scheduler option table (plugins/module_utils/_nova/conf/
    scheduler_options.py, plain Python), loaded by its path: minicloud does not need the
    collection to be installed."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins',
                        'module_utils', '_nova', 'conf', 'scheduler_options.py')
    spec = importlib.util.spec_from_file_location('_stackops_scheduler_options',
                                                  os.path.normpath(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scheduler_option_groups():
    """{option name: nova.conf section} for the ``scheduler`` key: the options of the
    collection's scheduler option table that nova 34 has."""
    return _scheduler_options().sections(34)


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
