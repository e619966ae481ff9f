"""The nova process of minicloud: API (WSGI) + conductor + scheduler + computes.

All nova services share one process (native threading, ``fake:/`` RPC
transport). Glance and Neutron are nova's in-tree test fixtures. The computes
use ``fake.MiniCloudDriver`` (below), a FakeDriver that reports per-host
inventory, traits and build failures from the topology.

Runs inside ``mc_server.py nova``; the threading backend is already selected.
"""

import copy
import functools
import http.server
import json
import logging as std_logging
from logging import handlers as std_handlers
import os
import threading
import time
import traceback

from oslo_config import cfg
from oslo_log import log as logging

import mc_common

CONF = cfg.CONF
LOG = logging.getLogger('minicloud.nova')

_TLS = threading.local()          # .svc: which nova service runs this thread
PAUSED_HEARTBEATS = set()         # compute hosts whose heartbeat is stopped
SERVICES = {}                     # host -> nova.service.Service (computes)
HOST_SPECS = {}                   # host -> topology host dict
OTHER_SERVICES = []               # conductor, scheduler

LOG_FILES = ('api', 'conductor', 'scheduler', 'compute')
_PROCESS_START = time.time()

_API_SIDE = ('nova.compute.api', 'nova.compute.rpcapi',
             'nova.compute.instance_list', 'nova.compute.multi_cell_list',
             'nova.compute.instance_actions', 'nova.compute.utils')


def _route(name):
    svc = getattr(_TLS, 'svc', None)
    if svc in LOG_FILES:
        return svc
    if name.startswith('nova.conductor'):
        return 'conductor'
    if name.startswith(('nova.scheduler.client',)):
        return 'compute'
    if name.startswith(('nova.scheduler', 'nova.filters', 'nova.weights')):
        return 'scheduler'
    if name.startswith(_API_SIDE):
        return 'api'
    if name.startswith(('nova.compute', 'nova.virt', 'nova.network',
                        'nova.pci', 'nova.image', 'os_brick',
                        'minicloud.driver')):
        return 'compute'
    return 'api'


class _RouteFilter(std_logging.Filter):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def filter(self, record):
        r = getattr(record, '_mc_route', None)
        if r is None:
            r = _route(record.name)
            record._mc_route = r
        return r == self.target


def _setup_logging(log_dir):
    """oslo.log is set up with log_file=nova-api.log; split it in four."""
    root = std_logging.getLogger()
    formatter = None
    for h in list(root.handlers):
        if isinstance(h, std_logging.FileHandler):
            formatter = h.formatter
            root.removeHandler(h)
            h.close()
    if formatter is None:
        raise RuntimeError('oslo.log did not set up a file handler')
    for target in LOG_FILES:
        h = std_handlers.WatchedFileHandler(
            os.path.join(log_dir, 'nova-%s.log' % target))
        h.setFormatter(formatter)
        h.addFilter(_RouteFilter(target))
        root.addHandler(h)


def _tagged(svc):
    class _Tag:
        def __enter__(self):
            self.old = getattr(_TLS, 'svc', None)
            _TLS.svc = svc

        def __exit__(self, *a):
            _TLS.svc = self.old
    return _Tag()


def _install_patches():
    """Tag threads with their service (for the log split) and make
    heartbeats controllable; log exceptions of spawned threads."""
    from nova import manager
    from nova import service
    from nova.servicegroup.drivers import db as sg_db
    from nova import thread_pool_factory as tpf

    orig_start = manager.Manager._record_task_start

    def _record_task_start(self, *a, **kw):
        _TLS.svc = getattr(self, 'service_name', None)
        return orig_start(self, *a, **kw)
    manager.Manager._record_task_start = _record_task_start

    orig_periodic = service.Service.periodic_tasks

    def periodic_tasks(self, raise_on_error=False):
        with _tagged(getattr(self.manager, 'service_name', None)):
            return orig_periodic(self, raise_on_error=raise_on_error)
    service.Service.periodic_tasks = periodic_tasks

    orig_report = sg_db.DbDriver._report_state

    def _report_state(self, svc):
        tag = (svc.binary or '').replace('nova-', '')
        with _tagged(tag if tag in LOG_FILES else 'api'):
            if svc.binary == 'nova-compute' and svc.host in PAUSED_HEARTBEATS:
                LOG.debug('minicloud: heartbeat of %s paused (compute-stop)',
                          svc.host)
                return
            return orig_report(self, svc)
    sg_db.DbDriver._report_state = _report_state

    orig_spawn_on = tpf.spawn_on

    def spawn_on(executor_type, func, *args, **kwargs):
        tag = getattr(_TLS, 'svc', None)

        @functools.wraps(func)
        def _wrapper(*a, **kw):
            _TLS.svc = tag
            try:
                return func(*a, **kw)
            except Exception:
                LOG.exception('minicloud: exception in spawned thread %s',
                              getattr(func, '__name__', func))
                raise
            finally:
                _TLS.svc = None
        return orig_spawn_on(executor_type, _wrapper, *args, **kwargs)
    tpf.spawn_on = spawn_on

    # The resource tracker serialises on one process-wide lock named
    # "compute_resources": right for one compute per process, but here every
    # compute of the cloud would queue behind every other's claims (40
    # concurrent boots waited up to 50 s). Give each ResourceTracker (one per
    # compute service) its own lock, as separate processes would have.
    import re
    from nova.compute import resource_tracker as rt_mod
    with open(rt_mod.__file__) as f:
        names = re.findall(r'@utils\.synchronized\(COMPUTE_RESOURCE_SEMAPHORE'
                           r'[^)]*\)\s*\n\s*def (\w+)', f.read())
    for name in names:
        inner = rt_mod.ResourceTracker.__dict__[name].__wrapped__

        def _per_host(inner):
            @functools.wraps(inner)
            def locked(self, *a, **kw):
                lock = self.__dict__.get('_minicloud_lock') or \
                    self.__dict__.setdefault('_minicloud_lock',
                                             threading.RLock())
                with lock:
                    return inner(self, *a, **kw)
            return locked
        setattr(rt_mod.ResourceTracker, name, _per_host(inner))
    LOG.debug('minicloud: per-compute resource tracker lock for %s', names)

    # oslo.messaging's fake driver: every RPC listener polls its queues
    # every 50 ms (idle CPU, and 25 ms average latency per call: 200
    # hypervisor details = 200 calls). Wake listeners when a message is
    # delivered instead; the sleep stays as a fallback.
    from oslo_messaging._drivers import impl_fake
    rpc_cond = threading.Condition()
    orig_deliver = impl_fake.FakeExchange.deliver_message

    def deliver_message(self, *a, **kw):
        r = orig_deliver(self, *a, **kw)
        with rpc_cond:
            rpc_cond.notify_all()
        return r
    impl_fake.FakeExchange.deliver_message = deliver_message

    class _WakeOnDelivery:
        time = staticmethod(time.time)

        @staticmethod
        def sleep(pause):
            with rpc_cond:
                rpc_cond.wait(pause if pause < 0.05 else 0.2)
    impl_fake.time = _WakeOnDelivery

    # No compute_id file per host (ComputeNodeIdFixture's job).
    from nova.compute import manager as compute_manager
    from nova.virt import node
    node.LOCAL_NODE_UUID = None
    node.read_local_node_uuid = lambda: None
    node.write_local_node_uuid = lambda uuid: None
    compute_manager.ComputeManager._ensure_existing_node_identity = (
        lambda self, service_ref: None)


# ------------------------------------------------------------- the driver
def _define_driver():
    import os_resource_classes as orc
    from nova.compute import utils as compute_utils
    from nova import exception
    from nova.objects import fields as obj_fields
    from nova.virt import fake

    from oslo_serialization import jsonutils

    import mc_topology

    dlog = logging.getLogger('minicloud.driver')

    def host_numa_topology(spec):
        """objects.NUMATopology of a topology host, as nova's libvirt driver
        builds it (_get_host_numa_topology): cpuset/pcpuset from
        cpu_shared_set/cpu_dedicated_set, siblings limited to those CPUs,
        4 KB pages = the whole cell memory (as libvirt reports), no usage (the
        resource tracker adds it from the instances)."""
        from nova import objects
        numa = spec.get('numa')
        if not numa:
            return None
        _online, shared, dedicated, _pcpus = mc_topology.numa_cpu_sets(numa)
        cells = []
        for i, c in enumerate(numa['cells']):
            cpus = mc_topology.cpuset(c['cpus'], 'cpus')
            usable = cpus & (shared | dedicated)
            sibs = c.get('siblings') or [[cpu] for cpu in sorted(cpus)]
            sibs = [set(sib) & usable for sib in sibs]
            huge = c.get('hugepages') or []
            # libvirt counts the whole cell memory in base pages (huge
            # pages not taken off: virNumaGetPageInfo's TODO)
            small = c['memory_mb'] * 1024 // 4
            pages = [objects.NUMAPagesTopology(
                size_kb=4, total=small, used=0,
                reserved=c.get('reserved_4k_pages', 0))]
            pages += [objects.NUMAPagesTopology(
                size_kb=h['size_kb'], total=h['total'], used=0,
                reserved=h.get('reserved', 0))
                for h in sorted(huge, key=lambda x: x['size_kb'])]
            cells.append(objects.NUMACell(
                id=i, socket=c.get('socket', i),
                cpuset=cpus & shared, pcpuset=cpus & dedicated,
                memory=c['memory_mb'], cpu_usage=0, memory_usage=0,
                pinned_cpus=set(),
                siblings=sorted((x for x in sibs if x), key=min),
                mempages=pages,
                network_metadata=objects.NetworkMetadata(
                    physnets=set(), tunneled=False)))
        return objects.NUMATopology(cells=cells)

    def host_pci_devices(spec):
        """The `pci_passthrough_devices` list (libvirt's shape) of a host:
        each pci_devices entry is `count` functions on its own bus
        (0x81 + index unless `bus` is given); a VF's parent is function 0 of
        slot 0x1f on that bus (not reported itself)."""
        out = []
        for i, d in enumerate(spec.get('pci_devices') or []):
            bus = d.get('bus', 0x81 + i)
            dev_type = d.get('dev_type', 'type-PCI')
            for j in range(d.get('count', 1)):
                dev = {
                    'dev_id': 'pci_0000_%02x_%02x_%d' % (bus, j // 8, j % 8),
                    'address': '0000:%02x:%02x.%d' % (bus, j // 8, j % 8),
                    'vendor_id': d['vendor_id'],
                    'product_id': d['product_id'],
                    'numa_node': d.get('numa_node'),
                    'label': 'label_%s_%s' % (d['vendor_id'],
                                              d['product_id']),
                    'dev_type': dev_type,
                }
                if dev_type == 'type-VF':
                    dev['parent_addr'] = '0000:%02x:1f.0' % bus
                out.append(dev)
        return out

    class MiniCloudDriver(fake.FakeDriver):
        """FakeDriver with the topology's per-host resources.

        Inventory (total, reserved, allocation_ratio) and traits are
        reported per host in update_provider_tree: CONF is global in this
        process, so [DEFAULT] *_allocation_ratio / reserved_host_* cannot
        differ per host. Those CONF options stay unset, so the resource
        tracker never overwrites what this driver reports.
        """

        def __init__(self, virtapi, read_only=False):
            spec = HOST_SPECS.get(getattr(_TLS, 'creating_host', None) or
                                  CONF.host, {})
            self._mc = spec
            self.vcpus = spec.get('vcpus', 8)
            self.memory_mb = spec.get('memory_mb', 16384)
            self.local_gb = spec.get('local_gb', 500)
            self._numa = host_numa_topology(spec)
            self._pci = host_pci_devices(spec)
            super().__init__(virtapi, read_only)
            hv = spec.get('hypervisor_type')
            if hv:
                self.host_status_base['hypervisor_type'] = hv
                if obj_fields.HVType.is_valid(hv.lower()):
                    self.host_status_base['supported_instances'] = [(
                        obj_fields.Architecture.X86_64, hv.lower(),
                        obj_fields.VMMode.HVM)]

        def init_host(self, host):
            self._host = host
            n = self._mc.get('nodes')
            if n:
                self._set_nodes(['%s-n%04d' % (host, i)
                                 for i in range(1, n + 1)])
            else:
                self._set_nodes([host])

        def get_available_resource(self, nodename):
            status = super().get_available_resource(nodename)
            if status and self._numa is not None:
                status['numa_topology'] = self._numa._to_json()
            if status and self._pci:
                status['pci_passthrough_devices'] = jsonutils.dumps(
                    self._pci)
            return status

        def update_provider_tree(self, provider_tree, nodename,
                                 allocations=None):
            s = self._mc
            disk_reserved = compute_utils.convert_mb_to_ceil_gb(
                s.get('reserved_host_disk_mb', 0))
            inv = {
                orc.VCPU: {
                    'total': self.vcpus, 'min_unit': 1,
                    'max_unit': self.vcpus, 'step_size': 1,
                    'allocation_ratio': float(
                        s.get('cpu_allocation_ratio', 4.0)),
                    'reserved': s.get('reserved_host_cpus', 0)},
                orc.MEMORY_MB: {
                    'total': self.memory_mb, 'min_unit': 1,
                    'max_unit': self.memory_mb, 'step_size': 1,
                    'allocation_ratio': float(
                        s.get('ram_allocation_ratio', 1.0)),
                    'reserved': s.get('reserved_host_memory_mb', 512)},
                orc.DISK_GB: {
                    'total': self.local_gb, 'min_unit': 1,
                    'max_unit': self.local_gb, 'step_size': 1,
                    'allocation_ratio': float(
                        s.get('disk_allocation_ratio', 1.0)),
                    'reserved': disk_reserved},
            }
            if s.get('numa'):
                # libvirt: VCPU = the shared CPUs, PCPU = cpu_dedicated_set
                # (reserved_host_cpus applies to VCPU only)
                _on, shared, _ded, pcpus = mc_topology.numa_cpu_sets(
                    s['numa'])
                if shared:
                    inv[orc.VCPU].update(total=len(shared),
                                         max_unit=len(shared))
                else:
                    del inv[orc.VCPU]
                if pcpus:
                    inv[orc.PCPU] = {
                        'total': len(pcpus), 'min_unit': 1,
                        'max_unit': len(pcpus), 'step_size': 1,
                        'allocation_ratio': 1.0, 'reserved': 0}
            elif s.get('pcpus'):
                # dedicated host CPUs ([compute] cpu_dedicated_set), never
                # overcommitted
                inv[orc.PCPU] = {
                    'total': s['pcpus'], 'min_unit': 1,
                    'max_unit': s['pcpus'], 'step_size': 1,
                    'allocation_ratio': 1.0, 'reserved': 0}
            for field in ('max_unit', 'step_size'):
                for rc, value in (s.get(field) or {}).items():
                    inv[rc][field] = value
            provider_tree.update_inventory(nodename, inv)
            traits = list(s.get('traits') or [])
            if any(len(sib) > 1 for c in (s.get('numa') or {}).get('cells', [])
                   for sib in c.get('siblings') or []):
                # libvirt: HW_CPU_HYPERTHREADING when the host has SMT
                # siblings (hw:cpu_thread_policy require/isolate ask for it)
                traits.append('HW_CPU_HYPERTHREADING')
            if traits:
                provider_tree.add_traits(nodename, *traits)

        def get_host_uptime(self):
            # What libvirt returns (`uptime` output). FakeDriver raises
            # NotImplementedError, which the API (2.88+ hypervisor details)
            # catches per hypervisor after logging a traceback per RPC call.
            up = int(time.time() - _PROCESS_START) + 86400 * 42
            days, rest = divmod(up, 86400)
            fmt = (' %s up %d days, %2d:%02d,  0 users,  load average: '
                   '0.08, 0.05, 0.01')
            return fmt % (time.strftime('%H:%M:%S'), days, rest // 3600,
                          rest % 3600 // 60)

        def spawn(self, context, instance, image_meta, injected_files,
                  admin_password, allocations, network_info=None,
                  block_device_info=None, power_on=True, accel_info=None):
            if self._mc.get('fail_builds'):
                dlog.warning('minicloud: host %s fails every build '
                             '(fail_builds): instance %s', self._host,
                             instance.uuid)
                raise exception.ComputeResourcesUnavailable(
                    reason='minicloud fail_builds host %s' % self._host)
            return super().spawn(context, instance, image_meta,
                                 injected_files, admin_password, allocations,
                                 network_info, block_device_info, power_on,
                                 accel_info)

    fake.MiniCloudDriver = MiniCloudDriver
    return MiniCloudDriver


# --------------------------------------------------- glance / neutron fakes
class _FakeTest:
    """The bits of a test case nova's Glance/Neutron fixtures use."""

    def __init__(self):
        self._fixtures = []

    def useFixture(self, fixture):  # noqa: N802
        fixture.setUp()
        self._fixtures.append(fixture)
        return fixture

    def stub_out(self, old, new):
        import fixtures
        self.useFixture(fixtures.MonkeyPatch(old, new))

    def flags(self, **kw):
        group = kw.pop('group', None)
        for k, v in kw.items():
            CONF.set_override(k, v, group)


def _setup_fixtures(cfg_):
    from nova.tests.fixtures import glance as glance_fixture
    from nova.tests.fixtures import neutron as neutron_fixture

    test = _FakeTest()
    glance = test.useFixture(glance_fixture.GlanceFixture(test))
    test.useFixture(neutron_fixture.NeutronFixture(test))
    base = copy.deepcopy(glance_fixture.GlanceFixture.image3)
    for img in cfg_['topology'].get('images') or []:
        d = copy.deepcopy(base)
        d['id'] = img['id']
        d['name'] = img['name']
        for k in ('min_ram', 'min_disk', 'size', 'container_format',
                  'disk_format'):
            if k in img:
                d[k] = img[k]
        d['properties'] = dict(img.get('properties') or {})
        glance.create(None, d)
    return glance


# ------------------------------------------------------------ the databases
DB_FILES = ('nova_api.db', 'nova_cell0.db', 'nova_cell1.db')
DB_TEMPLATE_VERSION = 'v1'


def _db_template_dir(cfg_):
    from importlib import metadata
    return os.path.join(cfg_['cache_root'], 'nova-dbs-%s-%s' % (
        metadata.version('nova'), DB_TEMPLATE_VERSION))


def _save_db_template(state_dir, cfg_):
    """Snapshot the freshly migrated (still unmapped) DBs for next time."""
    import sqlite3
    final = _db_template_dir(cfg_)
    tmp = '%s.tmp-%d' % (final, os.getpid())
    try:
        os.makedirs(tmp, exist_ok=True)
        for name in DB_FILES:
            src = sqlite3.connect(os.path.join(state_dir, name))
            dst = sqlite3.connect(os.path.join(tmp, name))
            with dst:
                src.backup(dst)
            dst.execute('PRAGMA journal_mode = DELETE')
            src.close()
            dst.close()
        os.rename(tmp, final)
    except OSError as e:        # e.g. a concurrent start saved it first
        LOG.info('minicloud: nova DB template not saved: %s', e)
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def _setup_databases(state_dir, cfg_):
    import sqlite3

    from oslo_utils import uuidutils

    from nova import context as nova_context
    from nova.db import migration
    from nova import objects

    ctxt = nova_context.get_admin_context()
    t0 = time.time()
    tpl = _db_template_dir(cfg_)
    cell0 = objects.CellMapping(
        ctxt, uuid=objects.CellMapping.CELL0_UUID, name='cell0',
        transport_url='none:///',
        database_connection=cfg_['nova']['cell0_connection'])
    if os.path.isdir(tpl):
        for name in DB_FILES:
            src = sqlite3.connect(os.path.join(tpl, name))
            dst = sqlite3.connect(os.path.join(state_dir, name))
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        how = 'copied from %s' % tpl
    else:
        migration.db_sync(database='api')
        with nova_context.target_cell(ctxt, cell0) as cctxt:
            migration.db_sync(context=cctxt)
        migration.db_sync(database='main')
        _save_db_template(state_dir, cfg_)
        how = 'migrated'
    cell0.create()
    cell1 = objects.CellMapping(
        ctxt, uuid=uuidutils.generate_uuid(), name='cell1',
        transport_url=CONF.transport_url,
        database_connection=CONF.database.connection)
    cell1.create()
    LOG.info('minicloud: nova databases %s in %.1fs', how, time.time() - t0)
    return cell1


# ---------------------------------------------------------- control server
def _control_server(port):
    class H(http.server.BaseHTTPRequestHandler):
        def _reply(self, code, data):
            body = json.dumps(data).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            LOG.debug('minicloud control: ' + fmt, *args)

        def do_GET(self):  # noqa: N802
            if self.path.rstrip('/') in ('', '/status'):
                return self._reply(200, {
                    'pid': os.getpid(),
                    'computes': {h: {'heartbeat': h not in PAUSED_HEARTBEATS}
                                 for h in sorted(SERVICES)}})
            return self._reply(404, {'error': 'unknown path %s' % self.path})

        def do_POST(self):  # noqa: N802
            parts = self.path.strip('/').split('/')
            if len(parts) == 3 and parts[0] == 'compute' and \
                    parts[2] == 'update-resources':
                host = parts[1]
                if host not in SERVICES:
                    return self._reply(404, {'error': 'no compute %r' % host})
                from nova import context as nova_context
                with _tagged('compute'):
                    SERVICES[host].manager.update_available_resource(
                        nova_context.get_admin_context())
                return self._reply(200, {'host': host, 'updated': True})
            if len(parts) == 3 and parts[0] == 'compute' and \
                    parts[2] in ('stop', 'start'):
                host = parts[1]
                if host not in SERVICES:
                    return self._reply(404, {
                        'error': 'no compute service on host %r; known: %s'
                        % (host, ', '.join(sorted(SERVICES)))})
                if parts[2] == 'stop':
                    PAUSED_HEARTBEATS.add(host)
                    LOG.info('minicloud control: heartbeat of compute %s '
                             'stopped', host)
                else:
                    PAUSED_HEARTBEATS.discard(host)
                    LOG.info('minicloud control: heartbeat of compute %s '
                             'restarted', host)
                    try:
                        SERVICES[host].servicegroup_api._driver._report_state(
                            SERVICES[host])
                    except Exception:
                        LOG.exception('minicloud control: report_state')
                return self._reply(200, {'host': host,
                                         'heartbeat': parts[2] == 'start'})
            return self._reply(404, {'error': 'unknown path %s' % self.path})

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, name='minicloud-control',
                     daemon=True).start()
    return srv


def _wait_for_file(path, timeout):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            mc_common.fatal('timed out waiting for %s' % path)
        time.sleep(0.1)


# --------------------------------------------------------------------- main
def main(state_dir, cfg_):
    try:
        _main(state_dir, cfg_)
    except BaseException:      # SystemExit too: nova's driver loader exits
        # Service threads are not daemons: leave with os._exit (fatal).
        try:
            LOG.error('minicloud: nova failed to start:\n%s',
                      traceback.format_exc())
        finally:
            mc_common.fatal('nova failed to start: %s' %
                            traceback.format_exc())


def _main(state_dir, cfg_):
    from nova import config as nova_config
    nova_conf = os.path.join(state_dir, 'etc', 'nova.conf')
    nova_config.parse_args(['nova-minicloud', '--config-file', nova_conf])
    logging.setup(CONF, 'nova')
    _setup_logging(os.path.join(state_dir, 'logs'))
    from oslo_service import _options as service_opts
    try:
        CONF.register_opts(service_opts.service_opts)
    except cfg.DuplicateOptError:
        pass
    t_start = time.time()
    LOG.info('minicloud: nova process %d starting (threading mode)',
             os.getpid())

    from nova import objects
    objects.register_all()
    _install_patches()
    for h in cfg_['topology']['hosts']:
        HOST_SPECS[h['name']] = h
    _define_driver()

    cell1 = _setup_databases(state_dir, cfg_)
    _setup_fixtures(cfg_)

    # The API: a real osapi_compute paste pipeline (keystonemiddleware).
    from paste import deploy

    from nova.api.openstack import wsgi_app
    from nova import service as nova_service
    with _tagged('api'):
        wsgi_app._setup_service(CONF.host, 'osapi_compute')
        nova_service.setup_profiler('osapi_compute', CONF.host)
        app = deploy.loadapp('config:%s' % CONF.wsgi.api_paste_config,
                             name='osapi_compute')

    def api_app(environ, start_response):
        _TLS.svc = 'api'
        return app(environ, start_response)

    # The conductor and the scheduler need neither keystone nor placement to
    # start (their placement client connects on first use).
    from nova.compute import rpcapi as compute_rpcapi
    with _tagged('conductor'):
        cond = nova_service.Service.create(binary='nova-conductor',
                                           topic='conductor')
        cond.start()
    with _tagged('scheduler'):
        sched = nova_service.Service.create(binary='nova-scheduler',
                                            topic='scheduler')
        sched.start()

    # The computes report to placement as they start: wait for the go-ahead
    # from minicloudctl (keystone has the users and catalog, placement is up).
    _wait_for_file(os.path.join(state_dir, 'run', 'services.go'),
                   cfg_['timeouts']['start'])
    LOG.info('minicloud: keystone and placement ready, starting computes')
    import concurrent.futures

    def start_compute(h):
        name = h['name']
        _TLS.creating_host = name
        try:
            with _tagged('compute'):
                svc = nova_service.Service.create(
                    binary='nova-compute', host=name,
                    topic=compute_rpcapi.RPC_TOPIC,
                    topic_alt=compute_rpcapi.RPC_TOPIC_ALT)
                svc.start()
        finally:
            _TLS.creating_host = None
        SERVICES[name] = svc
        LOG.info('minicloud: compute %s started (%d node(s))', name,
                 h.get('nodes') or 1)

    workers = max(1, min(4, len(cfg_['topology']['hosts'])))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(start_compute, h)
                  for h in cfg_['topology']['hosts']]:
            f.result()

    from nova import context as nova_context
    from nova.objects import host_mapping
    ctxt = nova_context.get_admin_context()
    mapped = host_mapping.discover_hosts(ctxt, cell_uuid=cell1.uuid)
    LOG.info('minicloud: discovered %d host mapping(s)', len(mapped))

    mc_common.serve_wsgi(api_app, cfg_['ports']['nova'], 'nova-api',
                         log_requests=False)
    _control_server(cfg_['ports']['control'])
    mc_common.write_json_atomic(
        os.path.join(state_dir, 'run', 'nova.ready'),
        {'pid': os.getpid(), 'computes': sorted(SERVICES),
         'started_in': round(time.time() - t_start, 2)})
    LOG.info('minicloud: nova ready in %.1fs (api on 127.0.0.1:%d, '
             'control on 127.0.0.1:%d)', time.time() - t_start,
             cfg_['ports']['nova'], cfg_['ports']['control'])
    OTHER_SERVICES.extend([cond, sched])
    mc_common.wait_forever()
