"""The whole real log corpus (tests/unit/data/real/logs, sources in ../SOURCES.md): what each
line says, written down per file, and the same files in the other shapes operators paste or
ship them in (CRLF, a byte order mark, devstack's ANSI colours, docker's json-file driver,
oslo.log's own JSONFormatter) read to the same records.

EXPECTED lists, per file, the records a reader finds by hand: (level, logger, request id,
instance uuid, first 48 characters of the message's first line, scheduling event kind), and
the number of lines that are no log record at all (counted in ``ParseStats.unparsed``).
"""

import json
import logging
import pathlib

import pytest

from ansible_collections.stackops.nova.plugins.filter import nova_log
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import history
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import novalog as nl

DATA = pathlib.Path(__file__).resolve().parents[4] / "data" / "real" / "logs"

EXPECTED = {
    'bare_message_caracal_2024.log': (0, [
        (None, None, None, None, 'Filtering removed all hosts for the request with', 'filtering_removed_all'),
    ]),
    'blank_separated_devstack_kilo_2015.log': (0, [
        ('DEBUG', 'nova.filters', 'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None, 'Starting with 1 host(s)', 'hosts_start'),
        ('DEBUG', 'nova.filters', 'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None, 'Filter RetryFilter returned 1 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Filter AvailabilityZoneFilter returned 1 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None, 'Filter RamFilter returned 1 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None, 'Filter ComputeFilter returned 1 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Filter ComputeCapabilitiesFilter returned 1 host', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Filter ImagePropertiesFilter returned 1 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Filter ServerGroupAntiAffinityFilter returned 1 ', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Filter ServerGroupAffinityFilter returned 1 host', 'filter_returned'),
        ('DEBUG', 'nova.scheduler.filter_scheduler',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Filtered [(devsosci-S1200RP-SE, devsosci-S1200RP', 'filtered'),
        ('DEBUG', 'nova.scheduler.filter_scheduler',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         'Weighed [WeighedHost [host: (devsosci-S1200RP-SE', 'weighed'),
        ('INFO', 'oslo.messaging._drivers.impl_rabbit', None, None, 'Connecting to AMQP server on 192.0.2.158:5672', None),
        ('DEBUG', 'nova.openstack.common.periodic_task', None, None, 'Running periodic task SchedulerManager._run_peri', None),
        ('DEBUG', 'nova.filters', 'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None, 'Starting with 1 host(s)', 'hosts_start'),
        ('DEBUG', 'nova.scheduler.filters.retry_filter',
         'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None,
         "Host [u'devsosci-S1200RP-SE', u'devsosci-S1200RP", None),
        ('INFO', 'nova.filters', 'req-6e082969-fa5e-40da-81ea-1dbb4c7b6130', None, 'Filter RetryFilter returned 0 hosts', 'filter_returned'),
    ]),
    'capabilities_tripleo_newton_2016.log': (0, [
        ('INFO', 'nova.filters',
         'req-64944213-9771-409d-8d10-05cb66672be6', None,
         'Filter ComputeCapabilitiesFilter returned 0 host', 'filter_returned'),
        ('INFO', 'nova.filters',
         'req-64944213-9771-409d-8d10-05cb66672be6', None,
         'Filtering removed all hosts for the request with', 'filtering_removed_all'),
        ('INFO', 'nova.scheduler.host_manager',
         'req-89f3d459-6f4b-4151-94e7-03b55b98f413', None,
         "Successfully synced instances from host 'slot10.", None),
    ]),
    'custom_filter_ocata_2017.log': (0, [
        ('INFO', 'nova.myproject.specified_host_filter', None, None, 'SpecifiedHostFilter is initialized!', None),
        ('INFO', 'nova.filters', 'req-d120d748-eb65-4b86-a5ed-22673ea76a52', None, 'Filter SpecifiedHostFilter returned 0 hosts', 'filter_returned'),
    ]),
    'cut_context_icehouse_2014.log': (1, [
        ('ERROR', 'nova.scheduler.filter_scheduler',
         'req-46266cc2-ea33-418c-a00b-608e04f357c5', '8f3cdb0f-df29-4704-b617-5d81943f0121',
         'Error from last host: compute (node compute): [u', 'error_from_last_host'),
    ]),
    'docker_logs_kolla_train_2022.log': (2, [
        (None, None, None, None, 'Traceback (most recent call last):', None),
    ]),
    'flattened_paste_icehouse_2014.log': (0, [
        ('AUDIT', 'nova.service', None, None, 'Starting scheduler node (version', None),
        ('INFO', 'oslo.messaging._drivers.impl_rabbit', None, None, 'Connected to AMQP server on', None),
        ('INFO', 'nova.scheduler.filter_scheduler',
         'req-f7e08c23-7689-4a1e-8184-99761e681c1b', None,
         "Attempting to build 1 instance(s) uuids: [u'e902", None),
        ('INFO', 'nova.filters',
         'req-f7e08c23-7689-4a1e-8184-99761e681c1b', None,
         'Filter Imag ePropertiesFilter returned 0 hosts', None),  # known gap: a reflow's blank in the name
        ('WARNING', 'nova.scheduler.driver',
         'req-f7e08c23-7689-4a1e-8184-99761e681c1b', 'e902fea6-9f30-450d-985d-9aca6f1e4e10',
         'Setting instance to ERROR state.', 'error_state'),
        ('INFO', 'oslo.messaging._drivers.impl_rabbit', None, None, 'Connected to AMQP server on', None),
    ]),
    'grep_n_kolla_queens_2018.log': (0, [
        ('DEBUG', 'nova.filters', 'req-0af99b3d-73da-495c-8426-2f918439c4de', None, 'Starting with 0 host(s)', 'hosts_start'),
        ('DEBUG', 'nova.filters',
         'req-0af99b3d-73da-495c-8426-2f918439c4de', None,
         'Filtering removed all hosts for the request with', 'filtering_removed_all'),
    ]),
    'grep_r_devstack_liberty_2015.log': (0, [
        (None, None, None, None, 'There are 0 hosts available but 1 instances requ', 'not_enough_hosts'),
        ('DEBUG', 'nova.scheduler.filters.retry_filter',
         'req-a4eae3c0-822f-49a5-bd4f-63b219b320bc', None,
         "Host [u'DevStackOSDomU', u'xenti.dsl.eumel.local", None),
        ('ERROR', 'nova.scheduler.utils',
         'req-50c29e27-4982-40a9-be91-21621c351c2b', 'd0999a8c-3c01-49e5-aab5-639d2787d1ab',
         'Error from last host: DevStackOSDomU (node xenti', 'error_from_last_host'),
    ]),
    'indented_compute_trace_queens_2019.log': (0, [
        ('ERROR', 'nova.compute.manager', None, '1451041c-da04-478c-93dd-0acb60dd149a', '  File "/usr/lib/python2.7/site-packages/nova/vi', None),
    ]),
    'journald_devstack_pike_2017.log': (0, [
        ('DEBUG', 'nova.scheduler.host_manager', 'req-c8cd4884-6858-4438-ab57-07ac3adeefbe', None, 'Update host state with instances: {}', None),
        ('DEBUG', 'oslo_concurrency.lockutils',
         'req-c8cd4884-6858-4438-ab57-07ac3adeefbe', None,
         'Lock "(u\'leg-004\', u\'leg-004\')" released by "nov', None),
    ]),
    'journald_devstack_ussuri_2020.log': (0, [
        ('ERROR', 'nova.scheduler.utils',
         'req-9b59c38d-c943-4d56-82ca-5cf9f1b5bfe9', 'a5a972b4-b779-4931-94c3-c43956f4d7ee',
         'Error from last host: test-coa-5 (node test-coa-', 'error_from_last_host'),
    ]),
    'journald_traceback_devstack_2023.log': (0, [
        ('ERROR', 'nova', None, None, 'File "/opt/stack/nova/nova/scheduler/client/repo', None),
    ]),
    'message_on_next_line_queens_2018.log': (0, [
        ('DEBUG', 'nova.filters', 'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None, "Availability Zone 'nova' requested.", None),
        ('DEBUG', 'nova.filters', 'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None, 'Filter RetryFilter returned 3 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.scheduler.filters.aggregate_instance_extra_specs',
         'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None,
         '(yc-demo-compute-1, yc-demo-compute-1) ram: -477', None),
        ('DEBUG', 'nova.scheduler.filters.availability_zone_filter',
         'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None,
         "Availability Zone 'nova' requested. (yc-demo-com", None),
        ('DEBUG', 'nova.filters',
         'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None,
         'Filter AvailabilityZoneFilter returned 1 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.scheduler.filters.ram_filter',
         'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None,
         '(yc-demo-compute-2, yc-demo-compute-2) ram: -195', None),
        ('INFO', 'nova.filters', 'req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e', None, 'Filter RamFilter returned 0 hosts', 'filter_returned'),
    ]),
    'midpass_devstack_ocata_2018.log': (0, [
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter RetryFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter AvailabilityZoneFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter RamFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter DiskFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter ComputeFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ComputeCapabilitiesFilter returned 4 host', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ImagePropertiesFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAntiAffinityFilter returned 4 ', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAffinityFilter returned 4 host', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter SameHostFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter DifferentHostFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAggregateAffinityFilter return', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAggregateAntiAffinityFilter re', 'filter_returned'),
        ('DEBUG', 'nova.scheduler.filter_scheduler',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Selected host: WeighedHost [host: (ubuntu, a204e', 'scheduler_selected'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Starting with 4 host(s)', 'hosts_start'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter RetryFilter returned 4 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.scheduler.filters.ram_filter',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         '(ubuntu, a204e33f-6803-4d92-ad47-5b6928e3cede) r', None),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter RamFilter returned 3 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters', 'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None, 'Filter DiskFilter returned 3 host(s)', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAntiAffinityFilter returned 3 ', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAffinityFilter returned 3 host', 'filter_returned'),
        ('INFO', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filter ServerGroupAggregateAffinityFilter return', 'filter_returned'),
        ('DEBUG', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filtering removed all hosts for the request with', 'filtering_removed_all'),
        ('INFO', 'nova.filters',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'Filtering removed all hosts for the request with', 'filtering_removed_all'),
        ('DEBUG', 'nova.scheduler.filter_scheduler',
         'req-6b671371-ea58-4b1d-8657-a6376d2d1d88', None,
         'There are 1 hosts available but 2 instances requ', 'not_enough_hosts'),
    ]),
    'notime_devstack_mitaka_2016.log': (0, [
        ('ERROR', 'nova.scheduler.utils',
         'req-1256d890-58f6-41b8-8013-793ada1b696e', '16145ddf-99eb-4180-8a69-c8e811754297',
         'Error from last host: devstack (node devstack): ', 'error_from_last_host'),
    ]),
    'pci_stats_blank_lines_newton_2016.log': (1, [
        ('INFO', 'nova.compute.resource_tracker',
         'req-ade5f2ea-ef52-4d2d-a258-d412868a5a5f', None,
         'Final resource view: name=slot1.vepc.mnc066.mcc2', None),
        ('INFO', 'nova.compute.resource_tracker',
         'req-ade5f2ea-ef52-4d2d-a258-d412868a5a5f', None,
         'Compute_service record updated for slot1.vepc.mn', None),
        ('DEBUG', 'nova.virt.hardware', 'req-c2a6d623-fb77-430f-9775-a3ef4dcd7d1d', None, 'Require both a host and instance NUMA topology t', None),
        ('INFO', 'nova.compute.resource_tracker',
         'req-dd98154b-452f-4b8a-a426-37f1523cbd71', None,
         'Final resource view: name=slot2.vepc.mnc066.mcc2', None),
    ]),
    'ramfilter_tripleo_newton_2016.log': (0, [
        ('DEBUG', 'nova.scheduler.filters.ram_filter',
         'req-044e96a6-220f-45e8-9ca7-ee376e393d22', None,
         '(director.vepc.mnc066.mcc260.3gppnetwork.org, b5', None),
        ('INFO', 'nova.filters', 'req-044e96a6-220f-45e8-9ca7-ee376e393d22', None, 'Filter RamFilter returned 0 hosts', 'filter_returned'),
    ]),
    'rst_indented_journald_doc_2018.log': (0, [
        ('DEBUG', 'keystoneauth.session', 'req-034279a7-f2dd-40ff-9c93-75768fda494d', None, 'POST call to network for http://10.0.2.15:9696/v', None),
    ]),
    'trace_level_havana_2013.log': (0, [
        ('ERROR', 'nova.virt.libvirt.driver',
         'req-faccb823-f4de-4b6a-a5df-654a8e541507', None,
         'An error occurred while trying to launch a defin', None),
        ('ERROR', 'nova.compute.manager',
         'req-faccb823-f4de-4b6a-a5df-654a8e541507', 'c40758bc-e049-4634-bd5c-5c0a14438cce',
         'Instance failed to spawn', None),
        ('ERROR', 'nova.compute.manager',
         'req-faccb823-f4de-4b6a-a5df-654a8e541507', 'c40758bc-e049-4634-bd5c-5c0a14438cce',
         'Error: An error occurred, but the cause is unkno', None),
    ]),
    'trace_level_juno_network_2015.log': (0, [
        ('ERROR', 'nova.compute.manager', None, None, 'Instance failed network setup after 1 attempt(s)', None),
    ]),
    'trace_trailing_blank_grizzly_2013.log': (0, [
        ('TRACE', 'nova.compute.manager', None, 'c307ae2b-c09d-4c05-9525-906ed35d81c5', 'QuantumClientException: 404 Not Found', None),
    ]),
    'wrapped132_claim_pci_jammy_2023.log': (0, [
        ('ERROR', 'nova.scheduler.utils',
         'req-4c672f5e-faa3-4783-b84a-1c2d45c0b6d1', 'd54cd7b2-b2fa-4df0-b7e2-7b3f83c94333',
         "Error from last host: osfs1 (node osfs1): ['Trac", 'error_from_last_host'),
    ]),
    'wrapped_context_liberty_2016.log': (0, [
        ('WARNING', 'nova.scheduler.utils',
         'req-e21fdda8-7c6c-47d7-9137-0eaed3fc7c7c', None,
         'Failed to compute_task_build_instances: No valid', 'task_failed'),
    ]),
    'zh_cn_novalidhost_queens_2021.log': (0, [
        ('WARNING', 'nova.scheduler.filters.compute_filter',
         'req-ba7cca9e-6c0d-4a8e-b657-60673456a472', None,
         '(localhost.localdomain, localhost.localdomain) r', None),
        ('INFO', 'nova.filters', 'req-ba7cca9e-6c0d-4a8e-b657-60673456a472', None, 'Filter ComputeFilter returned 0 hosts', 'filter_returned'),
        ('INFO', 'nova.filters',
         'req-ba7cca9e-6c0d-4a8e-b657-60673456a472', None,
         'Filtering removed all hosts for the request with', 'filtering_removed_all'),
        ('WARNING', 'nova.scheduler.utils',
         'req-ba7cca9e-6c0d-4a8e-b657-60673456a472', None,
         'Failed to compute_task_build_instances: 找不到有效主机，', 'task_failed'),
        ('WARNING', 'nova.scheduler.utils',
         'req-ba7cca9e-6c0d-4a8e-b657-60673456a472', '4f75fd35-c53c-4feb-90bf-391996dee667',
         'Setting instance to ERROR state.: NoValidHost_Re', 'error_state'),
    ]),
    'zuul_logsearch_precise_journald_2021.log': (0, [
        ('ERROR', 'os_brick.initiator.connectors.iscsi', None, None, 'Command: iscsiadm -m discoverydb -o show -P 1', None),
        ('ERROR', 'os_brick.initiator.connectors.iscsi', None, None, 'Command: iscsiadm -m discoverydb -o show -P 1', None),
        ('ERROR', 'os_brick.initiator.connectors.iscsi', None, None, 'Command: iscsiadm -m discoverydb -o show -P 1', None),
    ]),
}


def _records(text):
    stats = nl.ParseStats()
    return nl.parse_text(text, stats=stats), stats


def _summary(rec):
    ev = nl.classify(rec)
    return (rec.level, rec.logger, rec.request_id, rec.instance, rec.message.split("\n")[0][:48], ev and ev["kind"])


def test_every_file_has_expectations():
    assert sorted(EXPECTED) == sorted(p.name for p in DATA.iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_what_each_line_says(name):
    unparsed, expected = EXPECTED[name]
    records, stats = _records((DATA / name).read_text(encoding="utf-8"))
    assert [_summary(r) for r in records] == expected
    assert stats.unparsed == unparsed


def _crlf(text):
    return text.replace("\n", "\r\n")


def _bom(text):
    return "\ufeff" + text


def _ansi(text):
    # devstack's coloured format: the whole line and the level coloured
    return "\n".join("\x1b[01;31m%s\x1b[00m" % line if line else line for line in text.split("\n"))


def _docker(text):
    # docker's json-file driver: one JSON object per line, the line in "log" with its newline
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "\n".join(json.dumps({"log": line + "\n", "stream": "stderr", "time": "2022-09-22T10:00:%02d.000000000Z"
                                 % (i % 60)}) for i, line in enumerate(lines)) + "\n"


SHAPES = {"crlf": _crlf, "bom": _bom, "ansi": _ansi, "docker-json-file": _docker}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_other_shapes_read_to_the_same_records(name, shape):
    text = (DATA / name).read_text(encoding="utf-8")
    plain, plain_stats = _records(text)
    shaped, stats = _records(SHAPES[shape](text))
    assert [r.to_dict() for r in shaped] == [r.to_dict() for r in plain]
    assert stats.unparsed == plain_stats.unparsed
    # and the scheduling view does not change either
    assert nova_log.scheduling_attempts(SHAPES[shape](text)) == nova_log.scheduling_attempts(text)


def _oslo_json_lines(records):
    formatters = pytest.importorskip("oslo_log.formatters")
    context = pytest.importorskip("oslo_context.context")
    fmt = formatters.JSONFormatter()
    out = []
    for rec in records:
        level = logging.getLevelName("WARNING" if rec.level in ("AUDIT", "TRACE") else rec.level)
        lr = logging.LogRecord(rec.logger, level, "/usr/lib/python3/dist-packages/nova/x.py", 1, "%s",
                               (rec.message,), None, func=rec.func or "f")
        lr.context = None       # not the thread's current context of another test
        if rec.request_id:
            lr.context = context.RequestContext(request_id=rec.request_id, user_id=rec.user, project_id=rec.project,
                                                overwrite=False)
        if rec.instance:
            lr.extra = {"instance_uuid": rec.instance}
        out.append(fmt.format(lr))
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_oslo_json_formatter_output_of_the_same_records(name):
    # the records re-emitted by oslo.log's own JSONFormatter (as operators who ship logs to
    # fluentd / ELK configure it) read back to the same fields
    records = [r for r in _records((DATA / name).read_text(encoding="utf-8"))[0] if r.logger and r.level]
    lines = _oslo_json_lines(records)
    back, stats = _records("\n".join(lines))
    assert stats.unparsed == 0 and stats.json_errors == 0
    assert [(r.logger, r.request_id, r.instance, r.message) for r in back] == \
        [(r.logger, r.request_id, r.instance, r.message) for r in records]


# -- one test per kind of damage found in the corpus ----------------------------------------------
def _text(name):
    return (DATA / name).read_text(encoding="utf-8")


def test_paste_that_lost_its_line_breaks_is_split_at_each_header():
    records, stats = _records(_text("flattened_paste_icehouse_2014.log"))
    assert len(records) == 6 and stats.unparsed == 0
    assert records[0].time == "2014-10-10 09:03:58.830"          # behind a Markdown "> "
    warn = records[4]
    assert warn.level == "WARNING" and warn.instance == "e902fea6-9f30-450d-985d-9aca6f1e4e10"
    assert warn.message == "Setting instance to ERROR state."      # "]  [instance: ...]" (two blanks)
    # a header behind a journald prefix is one record, never split
    line = "Nov 21 14:20:46 ctl1 nova-scheduler[77]: " + _text("ramfilter_tripleo_newton_2016.log").splitlines()[1]
    (rec,) = nl.parse_text(line)
    assert rec.host == "ctl1" and rec.message == "Filter RamFilter returned 0 hosts"


def test_fixed_width_wrap_and_cut_timestamp():
    (rec,), stats = _records(_text("wrapped132_claim_pci_jammy_2023.log"))
    assert stats.unparsed == 0
    assert rec.time == "11-28 17:02:11.853" and rec.pid == 1109   # "023-11-28": the year's first digit cut
    assert rec.user == "658ba1b46eb04903a0dc86a4b77842e1" and rec.project == "e452b873d3ac4ef48d5edf7f9de8db1b"
    assert "\n" not in rec.message                                  # the 132-column pieces joined back
    (rec2,) = nl.parse_text(_text("wrapped132_claim_pci_jammy_2023.log"), year=2023)
    assert rec2.time == "2023-11-28 17:02:11.853"
    (group,) = nova_log.scheduling_attempts(_text("wrapped132_claim_pci_jammy_2023.log"))
    (att,) = group["attempts"]
    assert att["host"] == "osfs1" and att["error"] == "Insufficient compute resources: Claim pci failed."


def test_header_whose_context_or_message_is_on_the_next_line():
    records, stats = _records(_text("message_on_next_line_queens_2018.log"))
    assert stats.unparsed == 0 and all(r.request_id for r in records)
    assert records[1].message == "Filter RetryFilter returned 3 host(s)" and records[1].func == "get_filtered_objects"
    extra_specs = records[2]                                        # "logger\n [req-...] message"
    assert extra_specs.logger.endswith("aggregate_instance_extra_specs") and extra_specs.func == "host_passes"
    assert records[3].func == "host_passes"                          # the suffix on a line of its own
    assert records[5].time is None and records[5].logger == "nova.scheduler.filters.ram_filter"  # date cut off
    (group,) = nova_log.scheduling_attempts(_text("message_on_next_line_queens_2018.log"))
    assert group["request_id"] == "req-91b63cbe-2c92-4ecb-b9ea-652e6a192e2e"
    assert group["final"]["kind"] == "no_valid_host"
    assert group["scheduling_passes"][-1]["emptied_by"] == "RamFilter"


def test_blank_lines_between_records_are_not_message():
    records, _stats = _records(_text("blank_separated_devstack_kilo_2015.log"))
    assert not any(r.message.endswith("\n") for r in records)
    assert records[0].message == "Starting with 1 host(s)"
    (group,) = nova_log.scheduling_attempts(_text("blank_separated_devstack_kilo_2015.log"))
    first, second = group["scheduling_passes"]
    assert first["weighed"] == [{"host": "devsosci-S1200RP-SE", "node": "devsosci-S1200RP-SE", "weight": 1.0}]
    assert len(first["filters"]) == 8
    assert second["emptied_by"] == "RetryFilter"


def test_traceback_lines_keep_their_indentation():
    (rec,), _stats = _records(_text("trace_level_juno_network_2015.log"))
    assert rec.traceback.splitlines()[1] == \
        '  File "/usr/lib/python2.7/dist-packages/nova/compute/manager.py", line 1770, in _allocate_network_async'
    assert rec.traceback.splitlines()[2] == "    dhcp_options=dhcp_options)"
    (rec,), _stats = _records(_text("journald_traceback_devstack_2023.log"))
    assert rec.traceback.splitlines()[0] == "    client = self._adapter or utils.get_sdk_adapter('placement')"


def test_traceback_without_any_header_is_one_record():
    records, stats = _records(_text("docker_logs_kolla_train_2022.log"))
    (rec,) = records
    assert rec.level is None and rec.message.startswith("Traceback (most recent call last):")
    assert rec.message.splitlines()[-1] == "    six.reraise(*exc_info)"
    assert stats.unparsed == 2                                       # kolla's "+ exec" and "Running command:"
    # kept as raw text, with their line numbers
    assert stats.to_dict()["unparsed_lines"] == [{"line": 1, "text": "+ exec nova-compute"},
                                                 {"line": 2, "text": "Running command: 'nova-compute'"}]


def test_log_search_prefix_before_journald_precise_time():
    records, stats = _records(_text("zuul_logsearch_precise_journald_2021.log"))
    assert stats.unparsed == 0 and len(records) == 3
    assert records[0].time == "05-29 08:46:26.211445" and records[0].service == "nova-compute"
    assert records[0].pid == 108320 and records[0].host == "ubuntu-focal-rax-iad-0024867410"


def test_unreadable_lines_are_counted_never_raised():
    # every excerpt cut at every byte: no exception, every line accounted for
    for path in sorted(DATA.iterdir()):
        text = path.read_text(encoding="utf-8")
        for cut in range(0, len(text), 97):
            stats = nl.ParseStats()
            nl.parse_text(text[cut:], stats=stats)
            nova_log.scheduling_attempts(text[cut:])
            assert stats.lines == len(text[cut:].splitlines())


def test_history_of_the_wrapped_claim_failure():
    # server_history's classification of the real wrapped conductor line: the claim failure
    # behind the reschedule is the reason given, not the wrap's debris
    records = nl.parse_file(str(DATA / "wrapped132_claim_pci_jammy_2023.log"), year=2023)
    server = {"id": "d54cd7b2-b2fa-4df0-b7e2-7b3f83c94333", "name": "vm3", "status": "ERROR",
              "fault": {"code": 500, "message": "Exceeded maximum number of retries. Exhausted all hosts available "
                                                "for retrying build failures for instance "
                                                "d54cd7b2-b2fa-4df0-b7e2-7b3f83c94333."}}
    action = {"action": "create", "request_id": "req-4c672f5e-faa3-4783-b84a-1c2d45c0b6d1",
              "start_time": "2023-11-28T17:02:05.000000", "events": []}
    out = history.build_history(server, [action], records)
    assert out["outcome"] == "max_retries"
    assert out["summary"].endswith("last error on osfs1: Insufficient compute resources: Claim pci failed.")


def test_command_output_pasted_after_a_blank_line_ends_the_record():
    records, stats = _records(_text("pci_stats_blank_lines_newton_2016.log"))
    updated = records[1]
    assert updated.message == "Compute_service record updated for slot1.vepc.mnc066.mcc260.3gppnetwork.org:" \
                              "slot1.vepc.mnc066.mcc260.3gppnetwork.org"
    assert stats.unparsed == 1                       # the "| fault |" table: not a log line
    # a message that really goes on after a blank line (pci_stats=...) keeps its lines
    assert records[3].message.splitlines()[-1].startswith("PciDevicePool(count=5,")
