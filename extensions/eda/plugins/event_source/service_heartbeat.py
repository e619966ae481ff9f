# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stackops.nova.service_heartbeat: ``service.down`` / ``service.up`` events from Nova's services API.

Nova sends ``service.update`` only when an operator changes a service (disabled,
disabled_reason, forced_down), not when a compute stops heartbeating: the API's ``state``
(``down`` after ``service_down_time`` without a heartbeat) is the only signal. This source polls
the services API every O(interval) seconds and emits one event per transition::

    {"event_type": "service.down", "previous_state": "up",
     "service": {"binary": "nova-compute", "host": "cmp-3", "state": "down", "status": "enabled",
                 "zone": "az1", "forced_down": false, "updated_at": "...", ...},
     "publisher": {"binary": "nova-compute", "host": "cmp-3"}}

``service.up`` when it comes back, ``service.deleted`` when it disappears from the list.

Arguments:

cloud          clouds.yaml entry (default: the OS_* environment / OS_CLOUD); the other
               connection options of the collection's modules (auth, region_name, interface,
               validate_certs, ca_cert, api_timeout) are accepted too
interval       seconds between polls (default 30); Nova marks a service down after
               service_down_time (default 60 s) without a heartbeat
binary         only services of this binary or list of binaries (default nova-compute)
host           only hosts matching this shell glob or list of globs
emit_initial   on the first poll, emit service.down for every service already down (default false)

Errors reading the API are logged (without credentials) and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

try:
    from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _connection
except ImportError:  # ansible-rulebook runs the file with runpy: find the collection root
    _here = os.path.abspath(__file__)
    while os.path.basename(_here) not in ("ansible_collections", "") and _here != os.path.dirname(_here):
        _here = os.path.dirname(_here)
    if os.path.basename(_here) != "ansible_collections":
        raise
    sys.path.insert(0, os.path.dirname(_here))
    from ansible_collections.stackops.nova.plugins.module_utils._nova.common import connection as _connection
from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import notifications as _notif  # noqa: E402
from ansible_collections.stackops.nova.plugins.module_utils._nova.cloud import services as _services  # noqa: E402

LOG = logging.getLogger("stackops.nova.service_heartbeat")

OWN_ARGS = ("interval", "binary", "host", "emit_initial")


def settings(args):
    args = dict(args or {})
    unknown = sorted(set(args) - set(OWN_ARGS) - set(_connection.AUTH_OPTIONS))
    if unknown:
        raise ValueError("stackops.nova.service_heartbeat: unknown argument(s) %s; known: %s"
                         % (", ".join(unknown), ", ".join(sorted(OWN_ARGS + _connection.AUTH_OPTIONS))))
    try:
        interval = float(args.get("interval", 30))
    except (TypeError, ValueError):
        raise ValueError("stackops.nova.service_heartbeat: interval must be a number of seconds") from None
    if interval <= 0:
        raise ValueError("stackops.nova.service_heartbeat: interval must be positive")
    return {
        "interval": interval,
        "binary": args.get("binary", "nova-compute"),
        "host": args.get("host"),
        "emit_initial": bool(args.get("emit_initial", False)),
        "auth": {key: args.get(key) for key in _connection.AUTH_OPTIONS},
    }


class Poller:
    """Reads the services (blocking, in a worker thread); reconnects after an error."""

    def __init__(self, conf):
        self.conf = conf
        self.conn = None

    def poll(self):
        if self.conn is None:
            self.conn = _connection.connect(self.conf["auth"])
        try:
            records = _connection.retry(lambda: list(self.conn.compute.services()), what="list Nova's services")
        except Exception:
            self.conn = None
            raise
        services = [_services.normalize_service(record) for record in records]
        binaries = self.conf["binary"]
        return _services.select_services(services, host=self.conf["host"], binary=binaries or None)


async def main(queue, args):
    """ansible-rulebook's entry point."""
    conf = settings(args)
    poller = Poller(conf)
    previous = None
    while True:
        try:
            services = await asyncio.to_thread(poller.poll)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the API is down, auth expired ...: log and try again
            error = exc if isinstance(exc, _connection.NovaError) else _connection.describe_error(
                exc, what="list Nova's services")
            LOG.warning("stackops.nova.service_heartbeat: %s; next try in %.0fs", error.message, conf["interval"])
        else:
            events, previous = _notif.service_transitions(previous, services, initial=conf["emit_initial"])
            for event in events:
                LOG.info("stackops.nova.service_heartbeat: %s %s", event["event_type"], _notif.service_key(event["service"]))
                await queue.put(event)
        await asyncio.sleep(conf["interval"])


if __name__ == "__main__":  # a quick look: python service_heartbeat.py CLOUD
    class _Print:
        @staticmethod
        async def put(event):
            print(event)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_Print(), {"cloud": sys.argv[1] if len(sys.argv) > 1 else None, "interval": 5}))
