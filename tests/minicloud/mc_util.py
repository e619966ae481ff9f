"""Small helpers shared by minicloudctl, mc_apply and harness (no OpenStack
imports at module level)."""

import sys


class StartError(Exception):
    """minicloud could not start; ``log`` names the log file to read."""

    def __init__(self, msg, log=None):
        super().__init__(msg)
        self.log = log


def say(msg):
    sys.stderr.write('minicloud: %s\n' % msg)
    sys.stderr.flush()


def sdk_conn(clouds_yaml, cloud='minicloud'):
    """An openstacksdk Connection to ``cloud`` of a clouds.yaml file."""
    import openstack
    from openstack import config as os_config
    region = os_config.OpenStackConfig(
        config_files=[clouds_yaml], load_envvars=False,
        load_yaml_config=True).get_one(cloud=cloud)
    return openstack.connection.Connection(config=region)
