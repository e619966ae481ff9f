# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stackops.nova.notifications: Nova's versioned notifications as Event-Driven Ansible events.

Consumes the notifications Nova publishes on the message bus (RabbitMQ, AMQP 0-9-1) to the
topic exchange O(exchange) (Nova's ``control_exchange``, default ``nova``) with routing keys
``<topic>.<priority>`` (topic ``versioned_notifications``), unwraps oslo.messaging's envelope
and puts one event per notification on the queue::

    {"event_type": "compute_task.build_instances.error", "priority": "ERROR",
     "publisher": {"binary": "nova-conductor", "host": "controller"},
     "request_id": "req-...", "instance": {"uuid": "...", "state": "error", ...},
     "fault": {"exception": "NoValidHost", "message": "...", ...},
     "service": null, "request": {"flavor": {...}, "availability_zone": null, ...},
     "payload_type": "ComputeTaskPayload", "payload": {<the raw payload>}, ...}

Arguments (all optional but ``url``):

url                   amqp://user:password@host:5672/vhost (the password is never logged)
exchange              the exchange Nova publishes to (default ``nova``)
topics                notification topics (default ``versioned_notifications``); a list or
                      comma-separated string
priorities            routing-key priorities to bind (default every oslo.messaging priority)
queue                 the queue to declare and consume (default ``stackops-nova-eda``): a queue
                      of its own, bound to ``<topic>.<priority>``; events published while the
                      source is stopped wait there (it is not auto-deleted)
durable               declare the queue durable (default false)
exchange_durable      must match oslo.messaging's ``[oslo_messaging_rabbit] amqp_durable_queues``
                      (default false, as oslo.messaging's)
event_types           only these event types: shell globs (default ``*``)
exclude_event_types   never these event types: shell globs
prefetch              unacknowledged messages in flight (default 50)
max_pending           wait (without acknowledging) while this many events sit unread on the
                      rulebook's queue (default 1000): a slow rulebook slows the consumer
                      instead of growing memory; the messages wait in RabbitMQ
reconnect_delay       first wait before reconnecting, seconds (default 1), doubled on each
                      failure up to reconnect_delay_max (default 30)

A message is acknowledged only after its event is on the queue (or after it was filtered out):
a crash or a lost connection before that redelivers it. A message that is not a notification
(not JSON, no event_type) is logged and rejected without requeueing (dead-lettered when the
queue has a dead-letter exchange).

Example rulebook source::

    sources:
      - stackops.nova.notifications:
          url: "{{ NOVA_NOTIFICATIONS_URL }}"
          event_types: ["compute_task.*.error", "instance.*.error", "service.update"]
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

try:
    from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import notifications as _notif
except ImportError:  # ansible-rulebook runs the file with runpy: find the collection root
    _here = os.path.abspath(__file__)
    while os.path.basename(_here) not in ("ansible_collections", "") and _here != os.path.dirname(_here):
        _here = os.path.dirname(_here)
    if os.path.basename(_here) != "ansible_collections":
        raise
    sys.path.insert(0, os.path.dirname(_here))
    from ansible_collections.stackops.nova.plugins.module_utils._nova.logs import notifications as _notif

LOG = logging.getLogger("stackops.nova.notifications")

DEFAULTS = {
    "exchange": "nova",
    "topics": "versioned_notifications",
    "priorities": None,
    "queue": "stackops-nova-eda",
    "durable": False,
    "exchange_durable": False,
    "event_types": None,
    "exclude_event_types": None,
    "prefetch": 50,
    "max_pending": 1000,
    "reconnect_delay": 1.0,
    "reconnect_delay_max": 30.0,
}


class ArgumentError(ValueError):
    pass


def settings(args):
    """The plugin's arguments with defaults, checked; raises ArgumentError naming the argument."""
    args = dict(args or {})
    url = args.pop("url", None)
    if not url or not isinstance(url, str):
        raise ArgumentError("stackops.nova.notifications: the url argument is required "
                            "(amqp://user:password@host:5672/vhost)")
    if not url.startswith(("amqp://", "amqps://")):
        raise ArgumentError("stackops.nova.notifications: url must start with amqp:// or amqps:// (got %s)"
                            % _notif.redact_url(url).split("://", 1)[0])
    unknown = sorted(set(args) - set(DEFAULTS))
    if unknown:
        raise ArgumentError("stackops.nova.notifications: unknown argument(s) %s; known: url, %s"
                            % (", ".join(unknown), ", ".join(sorted(DEFAULTS))))
    conf = dict(DEFAULTS, **args)
    conf["url"] = url
    for name in ("prefetch", "max_pending"):
        try:
            conf[name] = int(conf[name])
        except (TypeError, ValueError):
            raise ArgumentError("stackops.nova.notifications: %s must be an integer" % name) from None
        if conf[name] < 1:
            raise ArgumentError("stackops.nova.notifications: %s must be at least 1" % name)
    for name in ("reconnect_delay", "reconnect_delay_max"):
        try:
            conf[name] = float(conf[name])
        except (TypeError, ValueError):
            raise ArgumentError("stackops.nova.notifications: %s must be a number of seconds" % name) from None
    conf["routing_keys"] = _notif.routing_keys(conf["topics"], conf["priorities"])
    if not conf["routing_keys"]:
        raise ArgumentError("stackops.nova.notifications: topics must name at least one topic")
    conf["wanted"] = _notif.event_filter(conf["event_types"], conf["exclude_event_types"])
    return conf


class NotificationSource:
    """The consumer: connect, bind, consume, put, acknowledge; reconnect with backoff."""

    def __init__(self, queue, conf):
        self.queue = queue
        self.conf = conf
        self.safe_url = _notif.redact_url(conf["url"])
        self.counts = {"received": 0, "put": 0, "filtered": 0, "rejected": 0, "connections": 0}
        self._legacy_seen = set()
        self.connected = asyncio.Event()

    def _safe(self, exc):
        return "%s: %s" % (type(exc).__name__, _notif.redact_text(exc, self.conf["url"]) or "no detail")

    async def run(self):
        delay = self.conf["reconnect_delay"]
        while True:
            try:
                await self._consume()
                reason = "the broker closed the connection"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every broker/network failure: log, wait, retry
                reason = self._safe(exc)
            if self.connected.is_set():
                what = "lost the connection to"
                delay = self.conf["reconnect_delay"]
            else:
                what = "cannot consume from"
            self.connected.clear()
            LOG.warning("stackops.nova.notifications: %s %s (%s); reconnecting in %.1fs",
                        what, self.safe_url, reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.conf["reconnect_delay_max"])

    async def _consume(self):
        import aio_pika  # pylint: disable=import-outside-toplevel

        connection = await aio_pika.connect(self.conf["url"], timeout=10)
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.conf["prefetch"])
            exchange = await channel.declare_exchange(
                self.conf["exchange"], aio_pika.ExchangeType.TOPIC, durable=self.conf["exchange_durable"])
            queue = await channel.declare_queue(self.conf["queue"], durable=self.conf["durable"],
                                                auto_delete=False)
            for key in self.conf["routing_keys"]:
                await queue.bind(exchange, routing_key=key)
            self.counts["connections"] += 1
            self.connected.set()
            LOG.info("stackops.nova.notifications: consuming queue %s on %s (exchange %s, keys %s)",
                     self.conf["queue"], self.safe_url, self.conf["exchange"], ", ".join(self.conf["routing_keys"]))
            async with queue.iterator() as messages:
                async for message in messages:
                    try:
                        await self.handle(message)
                    except Exception as exc:
                        LOG.error("stackops.nova.notifications: failed to pass on message %s (%s); "
                                  "it stays unacknowledged and comes back after reconnecting",
                                  message.message_id or "without id", self._safe(exc))
                        raise
        finally:
            if not connection.is_closed:
                await connection.close()

    async def handle(self, message):
        self.counts["received"] += 1
        try:
            event = _notif.parse(message.body, routing_key=message.routing_key)
        except _notif.NotificationError as exc:
            self.counts["rejected"] += 1
            LOG.warning("stackops.nova.notifications: rejected message %s (routing key %s, %d bytes): %s",
                        message.message_id or "without id", message.routing_key, len(message.body or b""), exc)
            await message.reject(requeue=False)
            return
        except Exception as exc:  # a payload shape the normaliser does not expect: never a redelivery loop
            self.counts["rejected"] += 1
            LOG.error("stackops.nova.notifications: cannot normalise message %s (routing key %s): %s",
                      message.message_id or "without id", message.routing_key, self._safe(exc))
            await message.reject(requeue=False)
            return
        if not self.conf["wanted"](event["event_type"]):
            self.counts["filtered"] += 1
            await message.ack()
            return
        if event["payload_type"] is None and event["event_type"] not in self._legacy_seen:
            self._legacy_seen.add(event["event_type"])
            LOG.warning("stackops.nova.notifications: event type %s has no versioned (nova object) payload; "
                        "passed on with the generic fields only", event["event_type"])
        event["redelivered"] = bool(message.redelivered)
        while _pending(self.queue) >= self.conf["max_pending"]:
            await asyncio.sleep(0.05)
        await self.queue.put(event)
        self.counts["put"] += 1
        await message.ack()


def _pending(queue):
    """Events waiting on the rulebook's queue (ansible-rulebook wraps its asyncio.Queue in a
    FilteredQueue without qsize: look through it); 0 when unknown."""
    for candidate in (queue, getattr(queue, "queue", None)):
        qsize = getattr(candidate, "qsize", None)
        if callable(qsize):
            return qsize()
    return 0


async def main(queue, args):
    """ansible-rulebook's entry point."""
    source = NotificationSource(queue, settings(args))
    await source.run()


if __name__ == "__main__":  # a quick look at the events: python notifications.py amqp://...
    class _Print:
        @staticmethod
        def qsize():
            return 0

        @staticmethod
        async def put(event):
            print(event)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_Print(), {"url": sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NOVA_NOTIFICATIONS_URL")}))
