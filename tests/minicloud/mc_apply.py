"""Apply a topology to a freshly started minicloud through its real APIs.

Waits for the compute services and the placement providers, then creates
flavors, aggregates (AZs), disables services, creates server groups and boots
the topology's servers (openstacksdk; as admin or the owning project's user).
"""

import time

import mc_topology
from mc_util import StartError, sdk_conn

COMPUTE_MV = '2.90'
PLACEMENT_MV = '1.39'


class ApplyError(StartError):
    pass


def _req(proxy, method, url, json=None, mv=None, ok=(200, 201, 202, 204)):
    kw = {'raise_exc': False}
    if mv:
        kw['microversion'] = mv
    if json is not None:
        kw['json'] = json
    r = proxy.request(url, method, **kw)
    if r.status_code not in ok:
        raise ApplyError('%s %s -> %s: %s' % (
            method, url, r.status_code, r.text[:500]))
    try:
        return r.json() if r.content else None
    except ValueError:
        return None


def _cloud_for(project):
    if project in (None, 'admin'):
        return 'minicloud'
    return 'minicloud-%s' % project


def apply(starter, topo, urls):
    logs = starter.p['logs']
    conns = {}

    def conn(project=None):
        name = _cloud_for(project)
        if name not in conns:
            conns[name] = sdk_conn(starter.p['clouds'], name)
        return conns[name]

    def fail(msg, log='nova-api.log'):
        import os
        raise StartError(msg, os.path.join(logs, log))

    admin = conn()
    c = admin.compute
    hosts = [h['name'] for h in topo['hosts']]

    # 1. every compute service up, every node a resource provider
    def computes_up():
        data = _req(c, 'GET', '/os-services?binary=nova-compute', mv='2.53')
        up = {s['host'] for s in data['services'] if s['state'] == 'up'}
        return set(hosts) <= up
    try:
        starter.wait('compute services', 'nova', computes_up, interval=0.3)
    except ApplyError as e:
        fail('compute API: %s' % e)
    nodes = set(mc_topology.node_names(topo))

    def providers():
        data = _req(admin.placement, 'GET', '/resource_providers',
                    mv=PLACEMENT_MV)
        return nodes <= {rp['name'] for rp in data['resource_providers']}
    starter.wait('resource providers in placement', 'nova', providers,
                 interval=0.3)
    starter.times['computes_up'] = round(time.time() - starter.t0, 2)

    def mark(what):
        starter.times[what] = round(time.time() - starter.t0, 2)

    # 2. flavors
    flavor_ids = {}
    for f in topo.get('flavors') or []:
        body = {'name': f['name'], 'vcpus': f['vcpus'], 'ram': f['ram'],
                'disk': f['disk'],
                'OS-FLV-EXT-DATA:ephemeral': f.get('ephemeral', 0),
                'swap': f.get('swap', 0),
                'os-flavor-access:is_public': f.get('is_public', True)}
        if f.get('id'):
            body['id'] = str(f['id'])
        if f.get('description'):
            body['description'] = f['description']
        d = _req(c, 'POST', '/flavors', {'flavor': body}, mv='2.55')
        fid = d['flavor']['id']
        flavor_ids[f['name']] = fid
        if f.get('extra_specs'):
            _req(c, 'POST', '/flavors/%s/os-extra_specs' % fid,
                 {'extra_specs': f['extra_specs']}, mv='2.55')

    mark('flavors')

    # 3. aggregates and availability zones
    for a in topo.get('aggregates') or []:
        body = {'name': a['name']}
        if a.get('availability_zone'):
            body['availability_zone'] = a['availability_zone']
        d = _req(c, 'POST', '/os-aggregates', {'aggregate': body})
        aid = d['aggregate']['id']
        for h in a.get('hosts') or []:
            _req(c, 'POST', '/os-aggregates/%s/action' % aid,
                 {'add_host': {'host': str(h)}})
        if a.get('metadata'):
            _req(c, 'POST', '/os-aggregates/%s/action' % aid,
                 {'set_metadata': {'metadata': a['metadata']}})

    mark('aggregates')

    # 4. disabled services
    services = {s['host']: s for s in _req(
        c, 'GET', '/os-services?binary=nova-compute', mv='2.53')['services']}
    for h in topo['hosts']:
        if h.get('disabled'):
            _req(c, 'PUT', '/os-services/%s' % services[h['name']]['id'],
                 {'status': 'disabled',
                  'disabled_reason': str(h['disabled'])}, mv='2.53')

    # 5. server groups
    group_ids = {}
    for g in topo.get('server_groups') or []:
        body = {'name': g['name'], 'policy': g['policy']}
        if g.get('rules'):
            body['rules'] = g['rules']
        d = _req(conn(g.get('project')).compute, 'POST', '/os-server-groups',
                 {'server_group': body}, mv='2.64')
        group_ids[g['name']] = d['server_group']['id']

    mark('groups')

    # 6. servers
    servers = topo.get('servers') or []
    if not servers:
        return
    images = {i['name']: i['id'] for i in topo.get('images') or []}
    if topo.get('aggregates'):
        time.sleep(0.5)    # let the scheduler get the aggregate fan-out
    expected = {}
    for s in servers:
        image = s.get('image') or mc_topology.DEFAULT_IMAGE
        image = images.get(image, image)
        body = {'name': s['name'], 'flavorRef': flavor_ids[s['flavor']],
                'imageRef': image, 'networks': 'none'}
        count = s.get('count', 1)
        if count > 1:
            body['min_count'] = body['max_count'] = count
        if s.get('availability_zone'):
            body['availability_zone'] = s['availability_zone']
        if s.get('metadata'):
            body['metadata'] = s['metadata']
        req = {'server': body}
        hints = dict(s.get('hints') or {})
        if s.get('group'):
            hints['group'] = group_ids[s['group']]
        if hints:
            req['os:scheduler_hints'] = hints
        _req(conn(s.get('project')).compute, 'POST', '/servers', req,
             mv=COMPUTE_MV)
        names = ([s['name']] if count == 1 else
                 ['%s-%d' % (s['name'], i) for i in range(1, count + 1)])
        for n in names:
            expected[n] = s.get('expect', 'active').upper()
    mark('servers_posted')
    deadline = time.time() + min(topo.get('boot_timeout', 120),
                                 max(starter.left(), 5))
    while True:
        starter.check_procs()
        data = _req(c, 'GET', '/servers/detail?all_tenants=1',
                    mv=COMPUTE_MV)['servers']
        by_name = {sv['name']: sv for sv in data}
        pending = [n for n in expected
                   if by_name.get(n, {}).get('status') not in
                   ('ACTIVE', 'ERROR')]
        if not pending:
            break
        if time.time() > deadline:
            fail('servers still building after the boot timeout: %s'
                 % ', '.join(sorted(pending)), 'nova-compute.log')
        time.sleep(0.5)
    wrong = []
    for n, want in expected.items():
        sv = by_name[n]
        if sv['status'] != want:
            fault = (sv.get('fault') or {}).get('message', '')
            wrong.append('%s is %s, expected %s%s' % (
                n, sv['status'], want, (' (fault: %s)' % fault)
                if fault else ''))
    if wrong:
        fail('topology servers: ' + '; '.join(wrong), 'nova-scheduler.log')
    starter.times['servers'] = len(expected)
    mark('servers_done')
