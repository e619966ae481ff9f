"""Real Nova log output for the parser tests, produced by Nova's own code and oslo.log.

Nothing here is hand-written log text: the lines come from oslo.log's ContextFormatter
(with nova's default ``logging_context_format_string``, a pid-less variant, devstack's
settings) or its JSONFormatter, fed by Nova 34's own code paths (``nova.filters`` filtering
real ``HostState`` objects through real filter classes, ``nova.scheduler.utils.populate_retry``,
``SchedulerManager._ensure_sufficient_hosts``, nova's exceptions) and, where a code path
needs a whole cloud, by Nova's own message templates read from its source with ``ast``
and logged through the module's own logger.

``generate(variant)`` returns ``(text, facts)``.
"""

from __future__ import annotations

import ast
import io
import logging
import os
import sys
import traceback

os.environ.setdefault("OS_NOVA_DISABLE_EVENTLET_PATCHING", "1")

REQ_RESCHEDULE = "req-0a0a0a0a-1111-4111-8111-000000000001"
REQ_PLACEMENT = "req-0b0b0b0b-2222-4222-8222-000000000002"
REQ_FILTER = "req-0c0c0c0c-3333-4333-8333-000000000003"
GLOBAL_REQ = "req-9f9f9f9f-9999-4999-8999-000000000009"
INST_RESCHEDULE = "11111111-aaaa-4aaa-8aaa-111111111111"
INST_PLACEMENT = "22222222-bbbb-4bbb-8bbb-222222222222"
INST_FILTER = "33333333-cccc-4ccc-8ccc-333333333333"
USER = "4f1d2c3b4a5e4f60a1b2c3d4e5f60718"
PROJECT = "9a8b7c6d5e4f40312233445566778899"
HOSTS = [("compute1", "compute1"), ("compute2", "compute2"), ("compute3", "compute3")]

VARIANTS = ("default", "nopid", "journald", "devstack", "json")

DEVSTACK = {
    "logging_context_format_string": "%(color)s%(levelname)s %(name)s [%(global_request_id)s %(request_id)s "
                                     "%(project_name)s %(user_name)s%(color)s] %(instance)s%(color)s%(message)s",
    "logging_default_format_string": "%(color)s%(levelname)s %(name)s [-%(color)s] %(instance)s%(color)s%(message)s",
    "logging_debug_format_suffix": "{{(pid=%(process)d) %(funcName)s %(pathname)s:%(lineno)d}}",
    "logging_exception_prefix": "ERROR %(name)s %(instance)s",
}
NOPID = {
    "logging_context_format_string": "%(asctime)s.%(msecs)03d %(levelname)s %(name)s [%(global_request_id)s "
                                     "%(request_id)s %(user_identity)s] %(instance)s%(message)s",
    "logging_default_format_string": "%(asctime)s.%(msecs)03d %(levelname)s %(name)s [-] %(instance)s%(message)s",
    "logging_exception_prefix": "%(asctime)s.%(msecs)03d ERROR %(name)s %(instance)s",
}


def nova_templates(module_relpath):
    """{first words: template} of the string literals passed to LOG.* in a nova source file."""
    import nova
    path = os.path.join(os.path.dirname(nova.__file__), module_relpath)
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "LOG" and node.args:
            arg = node.args[0]
            try:
                value = ast.literal_eval(arg)
            except ValueError:
                continue
            if isinstance(value, str):
                out.append((node.func.attr, value))
    return out


def template(module_relpath, startswith):
    for level, text in nova_templates(module_relpath):
        if text.startswith(startswith):
            return level, text
    raise LookupError("no LOG call starting with %r in nova/%s" % (startswith, module_relpath))


def _conf(overrides):
    from oslo_config import cfg
    from oslo_log import log as oslo_log
    conf = cfg.ConfigOpts()
    oslo_log.register_options(conf)
    conf([], project="nova")
    for key, value in overrides.items():
        conf.set_override(key, value)
    return conf


class _Capture:
    """Attach one oslo.log formatter to the 'nova' logger for the duration of a scenario."""

    def __init__(self, variant):
        from oslo_log import formatters
        self.variant = variant
        self.buf = io.StringIO()
        self.handler = logging.StreamHandler(self.buf)
        if variant == "json":
            self.handler.setFormatter(formatters.JSONFormatter())
        else:
            overrides = {"default": {}, "journald": {}, "nopid": NOPID, "devstack": DEVSTACK}[variant]
            conf = _conf(overrides)
            self.handler.setFormatter(formatters.ContextFormatter(project="nova", version="34.0.0", config=conf,
                                                                  datefmt=conf.log_date_format))
        self.logger = logging.getLogger("nova")

    def __enter__(self):
        self.old_level = self.logger.level
        self.old_propagate = self.logger.propagate
        self.logger.propagate = False
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.old_level)
        self.logger.propagate = self.old_propagate

    def text(self):
        value = self.buf.getvalue()
        if self.variant in ("journald", "devstack"):
            ident = "nova-scheduler"
            value = "".join("Nov 21 14:20:46 ctl1 %s[%d]: %s\n" % (ident, os.getpid(), line)
                            for line in value.splitlines())
        return value


def _context(request_id, global_request_id=None):
    from nova import context as nova_context
    ctx = nova_context.RequestContext(user_id=USER, project_id=PROJECT, request_id=request_id,
                                      global_request_id=global_request_id, user_name="demo", is_admin=False,
                                      project_name="demo")
    ctx.update_store()
    return ctx


def _host_states():
    from nova.scheduler import host_manager
    states = []
    for i, (host, node) in enumerate(HOSTS):
        hs = host_manager.HostState(host, node, "cell-uuid")
        hs.free_ram_mb = 4096 * (i + 1)
        hs.free_disk_mb = 40960
        hs.num_instances = 0
        hs.aggregates = []
        hs.allocation_candidates = [{"allocations": {}}]
        states.append(hs)
    return states


def _spec(instance_uuid, extra_specs=None):
    from nova import objects
    objects.register_all()
    return objects.RequestSpec(instance_uuid=instance_uuid, scheduler_hints={},
                               flavor=objects.Flavor(extra_specs=extra_specs or {}, memory_mb=512, vcpus=1,
                                                     root_gb=1, ephemeral_gb=0, swap=0))


def _real_filtering(spec, states, remove_with_instances=None):
    """nova.filters.get_filtered_objects over real filter classes; returns what survived."""
    from nova.scheduler import filters
    from nova.scheduler.filters import aggregate_instance_extra_specs, all_hosts_filter, num_instances_filter
    if remove_with_instances:
        for hs in states:
            if hs.host in remove_with_instances:
                hs.num_instances = 10 ** 6
    handler = filters.HostFilterHandler()
    chain = [all_hosts_filter.AllHostsFilter(), num_instances_filter.NumInstancesFilter(),
             aggregate_instance_extra_specs.AggregateInstanceExtraSpecsFilter()]
    return handler.get_filtered_objects(chain, states, spec, 0)


def _format_exc(exc):
    try:
        raise exc
    except Exception:
        return traceback.format_exception(*sys.exc_info())


def generate(variant="default"):
    """Run the three scenarios through Nova's code with one formatter; return (text, facts)."""
    from oslo_context import context as oslo_context
    from nova import exception
    from nova.compute import manager as compute_manager
    from nova.conductor import manager as conductor_manager
    from nova.scheduler import manager as scheduler_manager
    from nova.scheduler import utils as scheduler_utils
    from nova.scheduler import weights
    from nova import filters as nova_filters  # noqa: F401  (the logger under test)

    previous = oslo_context.get_current()
    facts = {}
    try:
        with _Capture(variant) as cap:
            # 1. a build rescheduled from compute1 to compute2, then out of retries
            _context(REQ_RESCHEDULE, GLOBAL_REQ)
            states = _host_states()
            spec = _spec(INST_RESCHEDULE)
            lvl, tpl = template("scheduler/manager.py", "Starting to schedule for instances")
            scheduler_manager.LOG.debug(tpl, [INST_RESCHEDULE])
            survivors = _real_filtering(spec, states)
            weighed = [weights.WeighedHost(hs, float(len(survivors) - i)) for i, hs in enumerate(survivors)]
            _lvl, tpl = template("scheduler/manager.py", "Weighed ")
            scheduler_manager.LOG.debug(tpl, {"hosts": weighed})
            _lvl, tpl = template("scheduler/manager.py", "Selected host: ")
            scheduler_manager.LOG.debug(tpl, {"host": survivors[0]}, instance_uuid=INST_RESCHEDULE)
            _lvl, tpl = template("conductor/manager.py", "Selected host: %s; Selected node")
            inst = {"uuid": INST_RESCHEDULE}
            conductor_manager.LOG.debug(tpl, "compute1", "compute1", [("compute2", "compute2"),
                                                                      ("compute3", "compute3")], instance=inst)
            retry = {"num_attempts": 1, "hosts": [["compute1", "compute1"]]}
            for attempt, (host, node) in enumerate(HOSTS, start=1):
                # compute: the claim fails in the driver, the build is re-scheduled
                unavailable = exception.ComputeResourcesUnavailable(reason="FakeRescheduleDriver")
                compute_manager.LOG.debug(unavailable.format_message(), instance=inst)
                resched = exception.RescheduledException(instance_uuid=INST_RESCHEDULE,
                                                         reason=unavailable.format_message())
                compute_manager.LOG.debug(resched.format_message(), instance=inst)
                retry["exc"] = _format_exc(resched)
                retry["exc_reason"] = resched.kwargs["reason"]
                props = {"retry": retry}
                try:
                    scheduler_utils.populate_retry(props, INST_RESCHEDULE)   # logs "Error from last host"
                except exception.MaxRetriesExceeded as exc:
                    try:
                        raise exc
                    except exception.MaxRetriesExceeded:
                        _lvl, tpl = template("scheduler/utils.py", "Failed to %(service)s_%(method)s")
                        scheduler_utils.LOG.warning(tpl, {"service": "compute_task", "method": "build_instances",
                                                          "ex": exc})
                        _lvl, tpl = template("scheduler/utils.py", "Setting instance to %s state")
                        scheduler_utils.LOG.warning(tpl, "ERROR", instance_uuid=INST_RESCHEDULE)
                    facts["reschedule_fault"] = exc.format_message()
                    break
                if attempt < len(HOSTS):
                    nxt = HOSTS[attempt]
                    alts = list(HOSTS[attempt + 1:])
                    conductor_manager.LOG.debug(
                        template("conductor/manager.py", "Selected host: %s; Selected node")[1],
                        nxt[0], nxt[1], alts, instance=inst)
                    retry["hosts"].append(list(nxt))
            facts["reschedule_hosts"] = [h for h, _n in HOSTS]

            # 2. placement returns no candidates
            _context(REQ_PLACEMENT)
            scheduler_manager.LOG.debug(template("scheduler/manager.py", "Starting to schedule for instances")[1],
                                        [INST_PLACEMENT])
            _lvl, tpl = template("scheduler/manager.py", "Got no allocation candidates")
            scheduler_manager.LOG.info(tpl)
            try:
                raise exception.NoValidHost(reason="")
            except exception.NoValidHost as exc:
                conductor_manager.LOG.exception(template("conductor/manager.py", "Failed to schedule instances")[1])
                facts["placement_fault"] = exc.format_message()

            # 3. a filter removes every host (real filtering, real _ensure_sufficient_hosts)
            _context(REQ_FILTER)
            scheduler_manager.LOG.debug(template("scheduler/manager.py", "Starting to schedule for instances")[1],
                                        [INST_FILTER])
            spec = _spec(INST_FILTER, {"aggregate_instance_extra_specs:ssd": "true"})
            survivors = _real_filtering(spec, _host_states(), remove_with_instances={"compute3"})
            assert survivors == []

            class _Mgr:
                pass
            try:
                scheduler_manager.SchedulerManager._ensure_sufficient_hosts(_Mgr(), None, [], 1)
            except exception.NoValidHost as exc:
                try:
                    raise exc
                except exception.NoValidHost:
                    conductor_manager.LOG.exception(template("conductor/manager.py",
                                                             "Failed to schedule instances")[1])
                facts["filter_fault"] = exc.format_message()
            text = cap.text()
    finally:
        if previous is not None:
            previous.update_store()
        else:
            from oslo_context import context as oc
            oc._request_store.context = None
    return text, facts


if __name__ == "__main__":  # pragma: no cover - a way to look at the output
    print(generate(sys.argv[1] if len(sys.argv) > 1 else "default")[0])
