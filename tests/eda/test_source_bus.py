"""stackops.nova.notifications against a real RabbitMQ: envelopes as oslo.messaging's rabbit
driver publishes them, bad messages, a broker that stops and comes back.

The publisher here is aio-pika writing exactly what oslo.messaging writes (topic exchange
"nova", routing key "versioned_notifications.<priority>", body {"oslo.version": "2.0",
"oslo.message": "..."}); test_eda_e2e.py has Nova itself publish.
"""

import asyncio
import json
import logging

import pytest

from conftest import load_source

aio_pika = pytest.importorskip("aio_pika")

PLUGIN = load_source("notifications")


def notification(event_type, seq, priority="INFO"):
    message = {"message_id": "m-%d" % seq, "publisher_id": "nova-compute:cmp-%d" % seq,
               "event_type": event_type, "priority": priority, "timestamp": "2026-12-02 10:00:00",
               "_context_request_id": "req-%d" % seq,
               "payload": {"nova_object.name": "InstanceActionPayload", "nova_object.namespace": "nova",
                           "nova_object.version": "1.8",
                           "nova_object.data": {"uuid": "u-%d" % seq, "state": "active", "task_state": None,
                                                "host": "cmp-%d" % seq, "fault": None}}}
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


async def publish(url, bodies, priority="info"):
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("nova", aio_pika.ExchangeType.TOPIC, durable=False)
        for body in bodies:
            await exchange.publish(aio_pika.Message(body=body), routing_key="versioned_notifications.%s" % priority)


async def wait_for(predicate, timeout, what):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        await asyncio.sleep(0.05)


class PutOnly:
    """Like ansible-rulebook's FilteredQueue: put() only, no qsize()."""

    def __init__(self, queue):
        self.queue = queue

    async def put(self, event):
        await self.queue.put(event)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 240))


def test_filters_bad_input_and_keeps_running(broker, caplog):
    caplog.set_level(logging.INFO, logger="stackops.nova.notifications")

    async def scenario():
        queue = asyncio.Queue()
        conf = PLUGIN["settings"]({"url": broker.url, "queue": "eda-test-bad", "event_types": ["instance.*"],
                                   "exclude_event_types": "instance.exists"})
        source = PLUGIN["NotificationSource"](queue, conf)
        task = asyncio.create_task(source.run())
        await asyncio.wait_for(source.connected.wait(), 30)
        await publish(broker.url, [
            b"{this is not json",
            json.dumps({"oslo.version": "2.0", "oslo.message": "{broken"}).encode(),
            json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps({"method": "ping"})}).encode(),
            notification("instance.create.end", 1),
            notification("instance.exists", 2),             # excluded
            notification("aggregate.create.end", 3),        # not included
            notification("instance.teleport.end", 4),       # unknown to Nova: passed on
            json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(
                {"event_type": "compute.instance.create.end", "payload": {"instance_id": "x"},
                 "publisher_id": "compute.cmp-5"})}).encode(),  # legacy payload
        ])
        await wait_for(lambda: source.counts["received"] == 8, 30, "8 messages")
        task.cancel()
        events = [queue.get_nowait() for _i in range(queue.qsize())]
        return source, events

    source, events = run(scenario())
    assert [e["event_type"] for e in events] == ["instance.create.end", "instance.teleport.end"]
    assert events[0]["instance"]["uuid"] == "u-1"
    assert events[0]["request_id"] == "req-1"
    assert events[0]["publisher"] == {"binary": "nova-compute", "host": "cmp-1"}
    assert events[0]["routing_key"] == "versioned_notifications.info"
    assert source.counts == {"received": 8, "put": 2, "filtered": 3, "rejected": 3, "connections": 1}
    text = caplog.text
    assert "is not valid JSON" in text
    assert "oslo.message field is not valid JSON" in text
    assert "no event_type" in text
    assert broker.url not in text and "eda-test-secret" not in text


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="url argument is required"):
        PLUGIN["settings"]({})
    with pytest.raises(ValueError, match="must start with amqp://"):
        PLUGIN["settings"]({"url": "rabbit://u:secretpw@h/"})
    with pytest.raises(ValueError, match="unknown argument.*exchnage"):
        PLUGIN["settings"]({"url": "amqp://h/", "exchnage": "nova"})
    with pytest.raises(ValueError, match="prefetch must be an integer"):
        PLUGIN["settings"]({"url": "amqp://h/", "prefetch": "many"})
    try:
        PLUGIN["settings"]({"url": "rabbit://u:secretpw@h/"})
    except ValueError as exc:
        assert "secretpw" not in str(exc)


def test_broker_goes_away_and_comes_back(broker, caplog):
    """Every event published is delivered, before and after a broker restart; the source logs the
    loss and the reconnection and never stops. Events are acknowledged only once on the queue, so
    the queue (durable here) keeps what was published while the source was disconnected."""
    caplog.set_level(logging.INFO, logger="stackops.nova.notifications")

    async def scenario():
        queue = asyncio.Queue()
        conf = PLUGIN["settings"]({"url": broker.url, "queue": "eda-test-restart", "durable": True,
                                   "reconnect_delay": 0.5, "reconnect_delay_max": 2})
        source = PLUGIN["NotificationSource"](PutOnly(queue), conf)
        task = asyncio.create_task(source.run())
        await asyncio.wait_for(source.connected.wait(), 30)
        await publish(broker.url, [notification("instance.create.end", i) for i in range(20)])
        await wait_for(lambda: queue.qsize() == 20, 30, "20 events before the restart")

        await asyncio.to_thread(broker.stop)
        await wait_for(lambda: not source.connected.is_set(), 30, "the source to notice")
        assert not task.done()
        await asyncio.to_thread(broker.start)
        await asyncio.wait_for(source.connected.wait(), 90)
        await publish(broker.url, [notification("instance.create.end", i) for i in range(20, 40)])
        await wait_for(lambda: queue.qsize() == 40, 30, "20 events after the restart")
        task.cancel()
        return source, [queue.get_nowait() for _i in range(queue.qsize())]

    source, events = run(scenario())
    assert sorted(int(e["instance"]["uuid"][2:]) for e in events) == list(range(40))
    assert source.counts["connections"] == 2
    assert "lost the connection to amqp://stackops:***@127.0.0.1" in caplog.text
    assert "eda-test-secret" not in caplog.text


def test_unreachable_broker_backs_off(caplog):
    caplog.set_level(logging.INFO, logger="stackops.nova.notifications")

    async def scenario():
        conf = PLUGIN["settings"]({"url": "amqp://u:topsecret@127.0.0.1:1/", "reconnect_delay": 0.1,
                                   "reconnect_delay_max": 0.4})
        source = PLUGIN["NotificationSource"](asyncio.Queue(), conf)
        task = asyncio.create_task(source.run())
        await asyncio.sleep(2)
        assert not task.done()
        task.cancel()

    run(scenario())
    lines = [r.getMessage() for r in caplog.records if "cannot consume from" in r.getMessage()]
    assert len(lines) >= 3
    assert "reconnecting in 0.1s" in lines[0] and "reconnecting in 0.4s" in lines[-1]
    assert "topsecret" not in caplog.text
