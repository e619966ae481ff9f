"""The topology loader: shipped files load, bad input fails naming the key.

No cloud needed (run by tests/bin/10-minicloud.sh before the cloud tests).
"""

import copy
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import mc_topology  # noqa: E402

BASE = {'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096,
                   'local_gb': 10}]}


def topo(**extra):
    t = copy.deepcopy(BASE)
    t.update(copy.deepcopy(extra))
    return t


@pytest.mark.parametrize('name', ['demo', 'test', 'scale200', 'numa', '../../e2e/topologies/headroom'])
def test_shipped_topologies_load(name):
    t = mc_topology.load(os.path.join(HERE, 'topologies', '%s.yml' % name))
    assert t['hosts']


def test_scale200_has_200_nodes():
    t = mc_topology.load(os.path.join(HERE, 'topologies', 'scale200.yml'))
    nodes = mc_topology.node_names(t)
    assert len(nodes) == 200 and nodes[0] == 'scale-a-n0001'


@pytest.mark.parametrize('bad, message', [
    ({'hosts': [{'name': 'a', 'vcpus': 'four', 'memory_mb': 4096,
                 'local_gb': 10}]},
     "hosts[0].vcpus: expected an integer, got 'four'"),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'colour': 'red'}]},
     "hosts[0]: unknown key 'colour'"),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'local_gb': 10}]},
     "hosts[0]: missing required key 'memory_mb'"),
    ({'hostz': []}, "topology: unknown key 'hostz'"),
    (topo(flavors=[{'name': 'f', 'vcpus': 1, 'ram': 1, 'disk': 1,
                    'is_public': 'yes'}]),
     "flavors[0].is_public: expected true or false, got 'yes'"),
    (topo(aggregates=[{'name': 'x', 'hosts': ['nope']}]),
     "aggregates[0].hosts[0]: unknown host 'nope'"),
    (topo(servers=[{'name': 's', 'flavor': 'nope'}]),
     "servers[0].flavor: unknown flavor 'nope'"),
    (topo(server_groups=[{'name': 'g', 'policy': 'spread'}]),
     "server_groups[0].policy: 'spread' is not one of"),
    (topo(scheduler={'enabled_filters': ['RamFilter']}),
     'RamFilter was removed from nova in Train (20.0)'),
    (topo(scheduler={'enabled_filters': ['NoSuchFilter']}),
     "'NoSuchFilter' is not one of nova's filters"),
    (topo(scheduler={'max_atempts': 3}),
     'scheduler.max_atempts: not a nova [scheduler] / [filter_scheduler] '
     'option'),
    (topo(ports={'base': 70000}), 'ports.base: 70000 is not a TCP port'),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 512,
                 'local_gb': 10}]},
     'hosts[0].reserved_host_memory_mb: must be below memory_mb (512)'),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'traits': ['SSD']}]},
     "hosts[0].traits[0]: 'SSD' is not a custom trait"),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'max_unit': {'GPU': 1}}]},
     'hosts[0].max_unit.GPU: not one of VCPU, PCPU, MEMORY_MB, DISK_GB'),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'step_size': {'MEMORY_MB': 0}}]},
     'hosts[0].step_size.MEMORY_MB: must be >= 1'),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'max_unit': {'PCPU': 2}}]},
     'hosts[0].max_unit.PCPU: the host has no pcpus'),
])
def test_bad_topology_names_the_key(bad, message):
    with pytest.raises(mc_topology.TopologyError) as e:
        mc_topology.validate(bad)
    assert message in str(e.value)


def test_scheduler_options_go_to_their_nova_sections():
    groups = mc_topology.scheduler_option_groups()
    assert groups['enabled_filters'] == 'filter_scheduler'
    assert groups['max_attempts'] == 'scheduler'
    assert groups['limit_tenants_to_placement_aggregate'] == 'scheduler'


def test_in_tree_filters_are_known():
    names = mc_topology.nova_filter_names()
    assert {'ComputeFilter', 'AggregateInstanceExtraSpecsFilter',
            'NUMATopologyFilter', 'AggregateMultiTenancyIsolation',
            'ServerGroupAntiAffinityFilter'} <= names
    assert 'RamFilter' not in names and 'AvailabilityZoneFilter' not in names


def numa_host(**numa):
    cells = numa.pop('cells', [{'cpus': '0-1', 'memory_mb': 2048},
                               {'cpus': '2-3', 'memory_mb': 2048}])
    return {'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096,
                       'local_gb': 10, 'numa': dict(numa, cells=cells)}]}


@pytest.mark.parametrize('bad, message', [
    (numa_host(cpu_dedicated_set='0-9'),
     "hosts[0].numa.cpu_dedicated_set: CPU(s) [4, 5, 6, 7, 8, 9] are in no cell"),
    (numa_host(cpu_dedicated_set='0-2', cpu_shared_set='2-3'),
     'cpu_shared_set and cpu_dedicated_set overlap ([2])'),
    (numa_host(cells=[{'cpus': '0-3', 'memory_mb': 2048},
                      {'cpus': '3', 'memory_mb': 2048}]),
     'hosts[0].numa.cells[1].cpus: CPU(s) [3] are in another cell'),
    (numa_host(cells=[{'cpus': '0-3', 'memory_mb': 4096,
                       'hugepages': [{'size_kb': 2048, 'total': 4096}]}]),
     'hosts[0].numa.cells[0].hugepages: 8388608 KB of huge pages exceed'),
    (numa_host(cells=[{'cpus': '0-2', 'memory_mb': 4096}]),
     'hosts[0].vcpus: 4, but the NUMA cells have 3 CPUs'),
    (numa_host(cells=[{'cpus': 'x', 'memory_mb': 4096}]),
     "hosts[0].numa.cells[0].cpus: 'x' is not a CPU set"),
    (numa_host(cells=[{'cpus': '0-3', 'memory_mb': 4096, 'siblings': [[0, 7]]}]),
     "hosts[0].numa.cells[0].siblings[0]: [0, 7] not all in the cell's cpus"),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'pci_devices': [{'vendor_id': '10DE', 'product_id': '1eb8'}]}]},
     "hosts[0].pci_devices[0].vendor_id: '10DE' is not 4 lowercase hex"),
    ({'hosts': [{'name': 'a', 'vcpus': 4, 'memory_mb': 4096, 'local_gb': 10,
                 'pci_devices': [{'vendor_id': '10de', 'product_id': '1eb8',
                                  'dev_type': 'gpu'}]}]},
     "hosts[0].pci_devices[0].dev_type: 'gpu' is not one of"),
    (topo(pci={'device_spec': [{'vendor_id': '10de'}], 'aliases': []}),
     "pci: unknown key 'aliases'"),
])
def test_bad_numa_and_pci(bad, message):
    with pytest.raises(mc_topology.TopologyError) as e:
        mc_topology.validate(bad)
    assert message in str(e.value)


@pytest.mark.parametrize('numa, shared, dedicated, pcpus', [
    ({}, {0, 1, 2, 3}, {0, 1, 2, 3}, set()),        # legacy: both, no PCPU
    ({'cpu_dedicated_set': '1-3'}, set(), {1, 2, 3}, {1, 2, 3}),
    ({'cpu_shared_set': '0'}, {0}, set(), set()),
    ({'cpu_shared_set': '0', 'cpu_dedicated_set': '2-3'}, {0}, {2, 3}, {2, 3}),
])
def test_cpu_sets_as_the_libvirt_driver_derives_them(numa, shared, dedicated,
                                                     pcpus):
    host = numa_host(**numa)['hosts'][0]['numa']
    _online, s, d, p = mc_topology.numa_cpu_sets(host)
    assert (s, d, p) == (shared, dedicated, pcpus)
