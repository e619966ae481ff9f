"""Python helper for tests that need a minicloud.

    from harness import Cloud            # tests/minicloud on sys.path
    cloud = Cloud(state_dir, topology)   # topology: a path or a name in topologies/
    cloud.start()                        # idempotent; returns the clouds.yaml path
    srv = cloud.boot('x', 'm1.tiny', az='az1')   # ACTIVE or ERROR (with fault)
    conn = cloud.conn()                  # openstacksdk Connection, cloud 'minicloud'
    cloud.compute_stop('c-small')        # its service goes 'down' after ~8 s
    cloud.compute_start('c-small')
    cloud.log_dir                        # DIR/logs (keystone.log, nova-*.log, ...)
    cloud.stop()

Everything goes through ``minicloudctl`` (a subprocess), so the servers never
live in the test process.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CTL = os.path.join(HERE, 'minicloudctl')
TOPOLOGIES = os.path.join(HERE, 'topologies')


def default_state_root():
    """<repo>/.cache/minicloud (computed from this file's location)."""
    return os.path.join(REPO, '.cache', 'minicloud')


def topology_path(topology):
    if os.path.sep in topology or topology.endswith(('.yml', '.yaml')):
        return os.path.abspath(topology)
    return os.path.join(TOPOLOGIES, '%s.yml' % topology)


class MinicloudError(RuntimeError):
    pass


class Cloud:
    def __init__(self, state_dir=None, topology='test', port_base=None,
                 python=None, timeout=None):
        self.topology = topology_path(topology)
        name = os.path.splitext(os.path.basename(self.topology))[0]
        self.state_dir = os.path.abspath(
            state_dir or os.path.join(default_state_root(), name))
        self.port_base = port_base
        self.python = python or sys.executable
        self.timeout = timeout
        self.start_seconds = None

    # ------------------------------------------------------------ control
    def _ctl(self, *args, check=True, capture=True):
        cmd = [self.python, CTL] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None,
                           stderr=subprocess.PIPE if capture else None,
                           text=True, check=False)
        if check and r.returncode != 0:
            raise MinicloudError('%s failed (exit %d):\n%s%s' % (
                ' '.join(cmd[1:]), r.returncode, r.stdout or '',
                r.stderr or ''))
        return r

    def start(self):
        args = ['start', '--topology', self.topology, '--state-dir',
                self.state_dir]
        if self.timeout:
            args += ['--timeout', str(self.timeout)]
        if self.port_base is not None:
            args += ['--port-base', str(self.port_base)]
        t0 = time.time()
        r = self._ctl(*args)
        self.start_seconds = time.time() - t0
        sys.stderr.write(r.stderr)
        return r.stdout.strip().splitlines()[-1]

    def stop(self):
        self._ctl('stop', '--state-dir', self.state_dir)

    def status(self):
        r = self._ctl('status', '--state-dir', self.state_dir, check=False)
        return json.loads(r.stdout)

    def compute_stop(self, host):
        self._ctl('compute-stop', '--state-dir', self.state_dir, '--host',
                  host)

    def compute_start(self, host):
        self._ctl('compute-start', '--state-dir', self.state_dir, '--host',
                  host)

    def compute_update(self, host):
        """Run the compute's resource tracker update (placement sync) now."""
        self._ctl('compute-update', '--state-dir', self.state_dir, '--host',
                  host)

    def update_resources(self, hosts):
        """Run each compute's resource tracker update (update_available_resource, the periodic
        task's own call) now, straight through the control port: no subprocess per host."""
        import urllib.request
        port = self.ports['control']
        for host in hosts:
            req = urllib.request.Request('http://127.0.0.1:%d/compute/%s/update-resources'
                                         % (port, host), data=b'', method='POST')
            with urllib.request.urlopen(req, timeout=120) as response:
                if response.status != 200:
                    raise MinicloudError('update-resources %s: HTTP %d' % (host, response.status))

    # -------------------------------------------------------------- access
    @property
    def clouds_yaml(self):
        return os.path.join(self.state_dir, 'clouds.yaml')

    @property
    def log_dir(self):
        return os.path.join(self.state_dir, 'logs')

    def log(self, name):
        """Text of a log file: 'nova-scheduler', 'placement', ..."""
        with open(os.path.join(self.log_dir, '%s.log' % name)) as f:
            return f.read()

    @property
    def state(self):
        with open(os.path.join(self.state_dir, 'state.json')) as f:
            return json.load(f)

    @property
    def ports(self):
        return self.state['ports']

    def env(self, cloud='minicloud'):
        """Environment for openstack CLI / ansible against this cloud."""
        return dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds_yaml,
                    OS_CLOUD=cloud)

    def conn(self, cloud='minicloud'):
        sys.path.insert(0, HERE) if HERE not in sys.path else None
        from mc_util import sdk_conn
        return sdk_conn(self.clouds_yaml, cloud)

    def nova_conf(self):
        """The cloud's nova.conf as a configparser (e.g. the effective
        [filter_scheduler] enabled_filters)."""
        import configparser
        cp = configparser.ConfigParser(interpolation=None)
        cp.read(os.path.join(self.state_dir, 'etc', 'nova.conf'))
        return cp

    def boot(self, name, flavor, image=None, az=None, hints=None,
             cloud='minicloud', wait=True, timeout=120, microversion='2.90'):
        """Boot a server (networks 'none'); wait until ACTIVE or ERROR.

        Returns the server dict of the compute API (with 'fault' on ERROR).
        """
        conn = self.conn(cloud)
        if not image:
            sys.path.insert(0, HERE) if HERE not in sys.path else None
            import mc_topology
            image = mc_topology.DEFAULT_IMAGE
        flavor_id = conn.compute.find_flavor(flavor, ignore_missing=False).id
        body = {'server': {'name': name, 'flavorRef': flavor_id,
                           'imageRef': image, 'networks': 'none'}}
        if az:
            body['server']['availability_zone'] = az
        if hints:
            body['os:scheduler_hints'] = hints
        r = conn.compute.post('/servers', json=body,
                              microversion=microversion, raise_exc=False)
        if r.status_code != 202:
            raise MinicloudError('boot %s: %s %s' % (name, r.status_code,
                                                     r.text))
        sid = r.json()['server']['id']
        deadline = time.time() + timeout
        while True:
            srv = conn.compute.get('/servers/%s' % sid,
                                   microversion=microversion).json()['server']
            if not wait or srv['status'] in ('ACTIVE', 'ERROR'):
                return srv
            if time.time() > deadline:
                raise MinicloudError('server %s still %s after %ds' % (
                    name, srv['status'], timeout))
            time.sleep(0.3)

    def delete_server(self, server_id, cloud='minicloud', wait=True,
                      timeout=60):
        conn = self.conn(cloud)
        conn.compute.delete('/servers/%s' % server_id, raise_exc=False)
        deadline = time.time() + timeout
        while wait and time.time() < deadline:
            r = conn.compute.get('/servers/%s' % server_id, raise_exc=False)
            if r.status_code == 404:
                return
            time.sleep(0.3)

    def wait_for_service_state(self, host, state, timeout=30,
                               binary='nova-compute'):
        """Wait until the API reports ``host``'s service ``state``."""
        conn = self.conn()
        deadline = time.time() + timeout
        while True:
            r = conn.compute.get('/os-services?binary=%s&host=%s'
                                 % (binary, host), microversion='2.53')
            svcs = r.json()['services']
            if svcs and svcs[0]['state'] == state:
                return svcs[0]
            if time.time() > deadline:
                raise MinicloudError('%s %s did not become %s in %ds: %s' % (
                    binary, host, state, timeout, svcs))
            time.sleep(0.5)

    def ansible_env(self, **extra):
        """Environment for ansible-playbook against this cloud: its clouds.yaml only (no
        other OS_* variables), the collection from the repository, the test ansible.cfg."""
        env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
        env.update(OS_CLIENT_CONFIG_FILE=self.clouds_yaml,
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
                   ANSIBLE_CONFIG=os.path.join(REPO, 'tests', 'ansible.cfg'),
                   ANSIBLE_NOCOLOR='1')
        env.update(extra)
        return env


def module_cloud(prefix, topology, port_base, state_dir, timeout=300):
    """Generator for a pytest fixture: a started Cloud, stopped afterwards.

    ``PREFIX_STATE_DIR``, ``PREFIX_PORT_BASE`` and ``PREFIX_KEEP=1`` (or ``MINICLOUD_KEEP=1``)
    override the state dir, the port base, and keep the cloud running afterwards::

        @pytest.fixture(scope='module')
        def cloud():
            yield from harness.module_cloud('FACTS', TOPOLOGY, 18000, '.cache/facts-it')
    """
    import pytest
    cloud = Cloud(state_dir=os.environ.get(prefix + '_STATE_DIR') or os.path.join(REPO, state_dir),
                  topology=topology, port_base=int(os.environ.get(prefix + '_PORT_BASE', port_base)),
                  timeout=timeout)
    try:
        cloud.start()
    except MinicloudError as exc:
        pytest.fail('minicloud did not start: %s' % exc, pytrace=False)
    try:
        yield cloud
    finally:
        if '1' not in (os.environ.get(prefix + '_KEEP'), os.environ.get('MINICLOUD_KEEP')):
            cloud.stop()
