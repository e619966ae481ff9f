"""pytest plugin: a session-scoped ``minicloud`` fixture (a harness.Cloud).

Use it from a conftest.py:

    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[N] / 'tests' / 'minicloud'))
    pytest_plugins = ['pytest_plugin']

or ``pytest -p pytest_plugin`` with tests/minicloud on PYTHONPATH.

The fixture starts topologies/test.yml (override with env MINICLOUD_TOPOLOGY)
in <repo>/.cache/minicloud/<topology name> (env MINICLOUD_STATE_DIR), port base
15000 (env MINICLOUD_PORT_BASE), and stops it when the session ends unless
MINICLOUD_KEEP=1. A cloud already running there (same topology) is reused.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import harness  # noqa: E402


DEFAULT_PORT_BASE = 15000     # away from the demo cloud's default ports


def make_cloud():
    port_base = os.environ.get('MINICLOUD_PORT_BASE')
    return harness.Cloud(
        state_dir=os.environ.get('MINICLOUD_STATE_DIR') or None,
        topology=os.environ.get('MINICLOUD_TOPOLOGY', 'test'),
        port_base=int(port_base) if port_base else DEFAULT_PORT_BASE)


@pytest.fixture(scope='session')
def minicloud():
    cloud = make_cloud()
    try:
        cloud.start()
    except harness.MinicloudError as e:
        pytest.fail('minicloud did not start: %s' % e, pytrace=False)
    try:
        yield cloud
    finally:
        if os.environ.get('MINICLOUD_KEEP') != '1':
            cloud.stop()


@pytest.fixture(scope='session')
def minicloud_conn(minicloud):
    """openstacksdk Connection (admin, cloud 'minicloud')."""
    return minicloud.conn()
