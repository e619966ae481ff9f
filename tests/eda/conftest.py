"""Fixtures of the EDA tests: a real RabbitMQ on loopback (Debian's rabbitmq-server, started and
stopped here by pid), the event source plugins loaded from extensions/eda."""

import os
import runpy
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import rabbit  # noqa: E402

RABBIT_PORT = int(os.environ.get("EDA_RABBIT_PORT", "25500"))
STATE = os.path.join(REPO, ".cache", "eda")
SOURCES = os.path.join(REPO, "extensions", "eda", "plugins", "event_source")


@pytest.fixture(scope="session")
def broker():
    # The default ports lie in Linux's ephemeral range, where an outgoing connection of any
    # process may hold one for a while: take the next triple when one is taken.
    for offset in range(0, 50, 10):
        port = RABBIT_PORT + offset
        mq = rabbit.RabbitMQ(os.path.join(STATE, "rabbit-%d" % port), port)
        try:
            mq.start()
            break
        except RuntimeError as exc:
            mq.close()
            if "is taken" not in str(exc) or offset == 40:
                pytest.fail("RabbitMQ did not start: %s" % exc, pytrace=False)
    try:
        yield mq
    finally:
        mq.close()


def load_source(name):
    """The plugin module as ansible-rulebook loads it (runpy.run_path on the file)."""
    return runpy.run_path(os.path.join(SOURCES, name + ".py"))
