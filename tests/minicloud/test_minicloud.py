"""Self-test of minicloud against topologies/test.yml (real keystone, placement, nova).

Run by tests/bin/10-minicloud.sh; needs nothing else running. Each test
asserts something a broken minicloud (or a broken topology loader) would get
wrong.
"""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import pytest_plugin  # noqa: E402
import mc_topology  # noqa: E402

# the session fixtures (a started topologies/test.yml cloud)
minicloud = pytest_plugin.minicloud
minicloud_conn = pytest_plugin.minicloud_conn

pytestmark = pytest.mark.minicloud

TOPO = mc_topology.load(os.path.join(HERE, 'topologies', 'test.yml'))
HOSTS = {h['name']: h for h in TOPO['hosts']}
CMV = '2.90'
IMAGE = mc_topology.DEFAULT_IMAGE
# logging_context_format_string / logging_default_format_string (with the
# [request ids] part) and logging_exception_prefix (traceback lines, without)
OSLO_LINE = re.compile(
    r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\d+) '
    r'(DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE) (\S+) (\[([^\]]*)\] )?')


def _get(proxy, url, mv=None):
    r = proxy.get(url, microversion=mv, raise_exc=False)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def _services(conn):
    return {s['host']: s for s in _get(
        conn.compute, '/os-services?binary=nova-compute', '2.53')['services']}


def _rp(conn, name):
    rps = _get(conn.placement, '/resource_providers?name=%s' % name,
               '1.39')['resource_providers']
    assert len(rps) == 1, rps
    return rps[0]


def _boot(conn, name, flavor, az=None, timeout=60):
    flavor_id = conn.compute.find_flavor(flavor, ignore_missing=False).id
    body = {'server': {'name': name, 'flavorRef': flavor_id,
                       'imageRef': IMAGE, 'networks': 'none'}}
    if az:
        body['server']['availability_zone'] = az
    r = conn.compute.post('/servers', json=body, microversion=CMV,
                          raise_exc=False)
    assert r.status_code == 202, r.text
    sid = r.json()['server']['id']
    deadline = time.time() + timeout
    while True:
        s = _get(conn.compute, '/servers/%s' % sid, CMV)['server']
        if s['status'] in ('ACTIVE', 'ERROR'):
            return s
        assert time.time() < deadline, 'server %s still %s' % (
            name, s['status'])
        time.sleep(0.3)


def _delete(conn, sid):
    conn.compute.delete('/servers/%s' % sid, raise_exc=False)


# ---------------------------------------------------------------- keystone
def test_keystone_password_auth(minicloud):
    with open(minicloud.clouds_yaml) as f:
        clouds = yaml.safe_load(f)['clouds']
    assert {'minicloud', 'minicloud-demo', 'minicloud-ops'} <= set(clouds)
    assert 'compute_api_version' not in clouds['minicloud']
    assert oct(os.stat(minicloud.clouds_yaml).st_mode & 0o777) == '0o600'
    admin = minicloud.conn()
    assert admin.authorize()
    roles = admin.session.auth.get_access(admin.session).role_names
    assert 'admin' in roles
    demo = minicloud.conn('minicloud-demo')
    access = demo.session.auth.get_access(demo.session)
    assert access.project_name == 'demo' and 'admin' not in access.role_names
    # a wrong password is refused by the real keystone
    body = json.dumps({'auth': {'identity': {'methods': ['password'],
                       'password': {'user': {'name': 'admin', 'domain': {
                           'id': 'default'}, 'password': 'wrong'}}}}})
    req = urllib.request.Request(
        'http://127.0.0.1:%d/v3/auth/tokens' % minicloud.ports['keystone'],
        data=body.encode(), method='POST',
        headers={'Content-Type': 'application/json'})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 401


# --------------------------------------------------------------- services
def test_computes_of_the_topology_are_up(minicloud_conn):
    svcs = _services(minicloud_conn)
    assert set(svcs) == set(HOSTS)
    assert {h: s['state'] for h, s in svcs.items()} == {h: 'up' for h in HOSTS}


def test_disabled_compute_has_its_reason(minicloud_conn):
    svcs = _services(minicloud_conn)
    assert svcs['c-off']['status'] == 'disabled'
    assert svcs['c-off']['disabled_reason'] == HOSTS['c-off']['disabled']
    assert all(s['status'] == 'enabled' for h, s in svcs.items()
               if h != 'c-off')
    # nova mirrors a disabled service as a trait on its provider
    deadline = time.time() + 20
    while True:
        rp = _rp(minicloud_conn, 'c-off')
        traits = _get(minicloud_conn.placement, '/resource_providers/%s/'
                      'traits' % rp['uuid'], '1.39')['traits']
        if 'COMPUTE_STATUS_DISABLED' in traits:
            break
        assert time.time() < deadline, traits
        time.sleep(0.5)


# -------------------------------------------------------------- placement
def _inventory(conn, host):
    rp = _rp(conn, host)
    return rp, _get(conn.placement, '/resource_providers/%s/inventories'
                    % rp['uuid'], '1.39')['inventories']


def _expected_inventory(h):
    return {
        'VCPU': (h['vcpus'], h.get('reserved_host_cpus', 0),
                 float(h.get('cpu_allocation_ratio', 4.0))),
        'MEMORY_MB': (h['memory_mb'], h.get('reserved_host_memory_mb', 512),
                      float(h.get('ram_allocation_ratio', 1.0))),
        'DISK_GB': (h['local_gb'],
                    -(-h.get('reserved_host_disk_mb', 0) // 1024),
                    float(h.get('disk_allocation_ratio', 1.0))),
    }


@pytest.mark.parametrize('host', ['c-large', 'c-medium', 'c-small'])
def test_placement_inventory_matches_topology(minicloud, minicloud_conn, host):
    want = _expected_inventory(HOSTS[host])
    inv = _inventory(minicloud_conn, host)[1]
    got = {rc: (i['total'], i['reserved'], i['allocation_ratio'])
           for rc, i in inv.items()}
    assert got == want
    # per-host values survive the resource tracker's next update
    minicloud.compute_update(host)
    inv = _inventory(minicloud_conn, host)[1]
    assert {rc: (i['total'], i['reserved'], i['allocation_ratio'])
            for rc, i in inv.items()} == want


def test_custom_traits_on_provider(minicloud_conn):
    rp = _rp(minicloud_conn, 'c-large')
    traits = _get(minicloud_conn.placement, '/resource_providers/%s/traits'
                  % rp['uuid'], '1.39')['traits']
    assert {'CUSTOM_SSD', 'CUSTOM_RACK_A'} <= set(traits)
    rp = _rp(minicloud_conn, 'c-medium')
    traits = _get(minicloud_conn.placement, '/resource_providers/%s/traits'
                  % rp['uuid'], '1.39')['traits']
    assert 'CUSTOM_SSD' not in traits


# ------------------------------------------------------ aggregates and AZs
def test_aggregates_and_availability_zones(minicloud_conn):
    aggs = {a['name']: a for a in _get(minicloud_conn.compute,
                                       '/os-aggregates', '2.41')['aggregates']}
    for a in TOPO['aggregates']:
        got = aggs[a['name']]
        assert sorted(got['hosts']) == sorted(a['hosts'])
        assert got['availability_zone'] == a.get('availability_zone')
        meta = dict(got['metadata'])
        meta.pop('availability_zone', None)
        assert meta == a.get('metadata', {})
    zones = {}
    for z in _get(minicloud_conn.compute,
                  '/os-availability-zone/detail')['availabilityZoneInfo']:
        # a zone appears twice when it has enabled and disabled services
        zones.setdefault(z['zoneName'], set()).update(z['hosts'] or {})
    assert zones['az1'] == {'c-large', 'c-medium'}
    # nova leaves disabled services out of an available zone's host list...
    assert zones['az2'] == {'c-small', 'c-flaky'}
    # ...but the service itself is in its aggregate's zone
    assert _services(minicloud_conn)['c-off']['zone'] == 'az2'
    # the AZ is mirrored into placement (member_of prefilter)
    rp = _rp(minicloud_conn, 'c-large')
    paggs = _get(minicloud_conn.placement, '/resource_providers/%s/'
                 'aggregates' % rp['uuid'], '1.39')['aggregates']
    assert aggs['agg-az1']['uuid'] in paggs


# ----------------------------------------------------------------- servers
def test_topology_servers_active_in_the_right_places(minicloud_conn):
    servers = {s['name']: s for s in _get(
        minicloud_conn.compute, '/servers/detail?all_tenants=1',
        CMV)['servers']}
    for name in ('web-1', 'web-2', 'db', 'app', 'worker', 'job'):
        assert servers[name]['status'] == 'ACTIVE', servers[name]
    for name in ('web-1', 'web-2', 'job'):
        assert servers[name]['OS-EXT-AZ:availability_zone'] == 'az1'
    # anti-affinity with max_server_per_host 1: two hosts
    assert servers['web-1']['OS-EXT-SRV-ATTR:host'] != \
        servers['web-2']['OS-EXT-SRV-ATTR:host']
    # flavor extra spec ssd=true -> the only host in agg-ssd
    assert servers['db']['OS-EXT-SRV-ATTR:host'] == 'c-large'
    assert servers['worker']['OS-EXT-SRV-ATTR:host'] == 'c-small'
    groups = {g['name']: g for g in _get(
        minicloud_conn.compute, '/os-server-groups?all_projects=True',
        '2.64')['server_groups']}
    assert groups['spread']['rules'] == {'max_server_per_host': 1}
    assert len(groups['spread']['members']) == 2
    assert groups['together']['policy'] == 'affinity'


def test_too_big_flavor_is_novalidhost_from_placement(minicloud):
    s = minicloud.boot('toobig', 'm1.toobig')
    try:
        assert s['status'] == 'ERROR'
        assert s['fault']['message'] == 'No valid host was found. '
        log = minicloud.log('nova-scheduler')
        assert 'Got no allocation candidates from the Placement API' in log
    finally:
        minicloud.delete_server(s['id'])


def test_fail_builds_host_leads_to_reschedule(minicloud, minicloud_conn):
    s = _boot(minicloud_conn, 'resched', 'm1.tiny', az='az2')
    try:
        assert s['status'] == 'ACTIVE', s.get('fault')
        assert s['OS-EXT-SRV-ATTR:host'] == 'c-small'
        actions = _get(minicloud_conn.compute, '/servers/%s/os-instance-'
                       'actions' % s['id'], '2.84')['instanceActions']
        create = [a for a in actions if a['action'] == 'create'][0]
        events = _get(minicloud_conn.compute, '/servers/%s/os-instance-'
                      'actions/%s' % (s['id'], create['request_id']),
                      '2.84')['instanceAction']['events']
        # one build attempt per host: first c-flaky, then the alternate
        builds = {e['host'] for e in events
                  if e['event'] == 'compute__do_build_and_run_instance'}
        assert builds == {'c-flaky', 'c-small'}, events
        log = minicloud.log('nova-compute')
        assert re.search(r'\[instance: %s\] .*minicloud fail_builds host '
                         r'c-flaky' % s['id'], log) or \
            re.search(r'fail_builds\): instance %s' % s['id'], log)
        # the conductor took the alternate host after the failure
        assert re.search(r'\[instance: %s\] Error from last host: c-flaky'
                         % s['id'], minicloud.log('nova-conductor'))
    finally:
        _delete(minicloud_conn, s['id'])


# -------------------------------------------------------------------- logs
def test_logs_are_oslo_format_and_split_by_service(minicloud):
    names = {}
    for svc in ('api', 'conductor', 'scheduler', 'compute'):
        lines = minicloud.log('nova-%s' % svc).splitlines()
        assert lines, svc
        parsed = [OSLO_LINE.match(ln) for ln in lines[:200]]
        assert all(parsed), [ln for ln, m in zip(lines, parsed) if not m][:3]
        names[svc] = {m.group(3) for m in parsed}
    assert any(n.startswith('nova.scheduler') for n in names['scheduler'])
    assert 'nova.filters' in {OSLO_LINE.match(ln).group(3) for ln in
                              minicloud.log('nova-scheduler').splitlines()}
    assert any(n.startswith('nova.conductor') for n in names['conductor'])
    assert any(n.startswith('nova.compute') for n in names['compute'])
    for other in ('keystone', 'placement'):
        first = minicloud.log(other).splitlines()[0]
        assert OSLO_LINE.match(first), first


# ------------------------------------------------- control channel (last)
def test_compute_stop_makes_service_down_and_start_up(minicloud):
    minicloud.compute_stop('c-medium')
    try:
        svc = minicloud.wait_for_service_state('c-medium', 'down', timeout=60)
        assert svc['status'] == 'enabled'
        # the others keep reporting
        assert _services(minicloud.conn())['c-large']['state'] == 'up'
    finally:
        minicloud.compute_start('c-medium')
    minicloud.wait_for_service_state('c-medium', 'up', timeout=30)
